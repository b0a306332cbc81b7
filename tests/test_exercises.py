"""Tests for helpers.exercises: the Feedback every check returns, and how it shows a difference."""

import polib

from helpers.exercises import Feedback, failed, first_difference, not_attempted, passed
from helpers.i18n import LANGUAGE_VARIABLE, LOCALE_DIR


def test_feedback_truthiness_follows_ok():
    assert passed("fine") and not failed("wrong") and not not_attempted("x")


def test_failed_adds_the_hint_on_its_own_line():
    assert failed("Wrong.", "try again").message == "❌ Wrong.\n💡 Hint: try again"


def test_feedback_html_escapes_the_message():
    page = Feedback(False, "❌ <b>bold</b> & co\nnext")._repr_html_()
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co<br>next" in page
    assert "<b>" not in page


def test_first_difference_points_at_the_first_differing_character():
    assert "differ at character 2" in first_difference("abcd", "abXd")  # counted from 0
    assert "differ at character 2" in first_difference("ab", "abc")


def test_the_feedback_frame_comes_out_in_vietnamese_in_the_vietnamese_notebooks(monkeypatch):
    monkeypatch.delenv(LANGUAGE_VARIABLE, raising=False)
    english = not_attempted("your answer").message, failed("Wrong.", "try again").message
    assert english == ("⏳ Not attempted yet: replace None with your answer, then run this cell again.", "❌ Wrong.\n💡 Hint: try again")
    po = polib.pofile(str(LOCALE_DIR / "vi" / "LC_MESSAGES" / "exercises.__init__.po"))
    expected = (
        "⏳ " + po.find("Not attempted yet: replace None with {what}, then run this cell again.").msgstr.format(what="your answer"),
        "❌ Wrong.\n💡 " + po.find("Hint: {hint}").msgstr.format(hint="try again"),
    )
    monkeypatch.setenv(LANGUAGE_VARIABLE, "vi")
    vietnamese = not_attempted("your answer").message, failed("Wrong.", "try again").message
    assert vietnamese == expected
    assert vietnamese[0] != english[0] and vietnamese[1] != english[1]
