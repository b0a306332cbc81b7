"""Tests for helpers.exercises: the Feedback every check returns, and how it shows a difference."""

from helpers.exercises import Feedback, failed, first_difference, not_attempted, passed


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


def test_the_feedback_frame_comes_out_in_vietnamese_in_the_vietnamese_notebooks(vietnamese):
    english = not_attempted("your answer").message, failed("Wrong.", "try again").message
    assert english == ("⏳ Not attempted yet: replace None with your answer, then run this cell again.", "❌ Wrong.\n💡 Hint: try again")
    expected = (
        "⏳ " + vietnamese("Not attempted yet: replace None with {what}, then run this cell again.").format(what="your answer"),
        "❌ Wrong.\n💡 " + vietnamese("Hint: {hint}").format(hint="try again"),
    )
    vietnamese.on()
    translated = not_attempted("your answer").message, failed("Wrong.", "try again").message
    assert translated == expected
    assert translated[0] != english[0] and translated[1] != english[1]
