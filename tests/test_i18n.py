"""Tests for helpers.i18n: the language setting and the gettext catalogues."""

import pandas as pd
import polib
import pytest

from helpers import i18n
from helpers.i18n import LANGUAGE_VARIABLE, _, catalogue, either, language


def test_english_is_the_default(monkeypatch):
    monkeypatch.delenv(LANGUAGE_VARIABLE, raising=False)
    assert language() == "en"
    assert _("Any message at all.") == "Any message at all."


def test_an_unknown_language_says_which_ones_exist(monkeypatch):
    monkeypatch.setenv(LANGUAGE_VARIABLE, "fr")
    with pytest.raises(ValueError, match="en and vi"):
        language()


def test_vietnamese_comes_from_the_catalogues(monkeypatch):
    first = next(
        entry
        for path in sorted((i18n.LOCALE_DIR / "vi" / "LC_MESSAGES").glob("*.po"))
        for entry in polib.pofile(str(path)).translated_entries()
    )
    monkeypatch.setenv(LANGUAGE_VARIABLE, "vi")
    assert _(first.msgid) == first.msgstr != first.msgid
    assert _("A message nobody translated.") == "A message nobody translated."


def test_a_fuzzy_translation_is_not_used(tmp_path, monkeypatch):
    folder = tmp_path / "vi" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
    po.append(polib.POEntry(msgid="Checked.", msgstr="Đã kiểm tra."))
    po.append(polib.POEntry(msgid="Changed.", msgstr="Cũ.", flags=["fuzzy"]))
    po.save(str(folder / "module.po"))
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    catalogue.cache_clear()
    try:
        assert catalogue("vi").gettext("Checked.") == "Đã kiểm tra."
        assert catalogue("vi").gettext("Changed.") == "Changed."
    finally:
        catalogue.cache_clear()


def test_either_joins_with_or_in_the_learners_language(monkeypatch):
    monkeypatch.delenv(LANGUAGE_VARIABLE, raising=False)
    assert either(["'a'"]) == "'a'"
    assert either(["'a'", "'b'", "'c'"]) == "'a' or 'b' or 'c'"
    monkeypatch.setenv(LANGUAGE_VARIABLE, "vi")
    word = catalogue("vi").gettext("{first} or {second}").format(first="", second="").strip()
    assert either(["'a'", "'b'"]) == f"'a' {word} 'b'" != "'a' or 'b'"


def test_a_label_marked_n_stays_english_in_the_code_and_is_translated_where_a_table_is_shown(monkeypatch):
    from helpers.i18n import N_, labelled
    from helpers.monitoring import HISTORY_COLUMNS

    table = pd.DataFrame({HISTORY_COLUMNS["eval_loss"]: [1.5], "a column nobody translated": [2.0]}, index=pd.Index([3], name="step"))
    monkeypatch.setenv(LANGUAGE_VARIABLE, "vi")
    assert N_("validation loss") == HISTORY_COLUMNS["eval_loss"] == "validation loss"  # the key the code looks up
    shown = labelled(table)
    assert list(shown.columns) == [_("validation loss"), "a column nobody translated"] and _("validation loss") != "validation loss"
    assert shown.index.name == _("step") != "step"
    assert table.columns[0] == "validation loss"  # the table itself keeps its keys
    monkeypatch.setenv(LANGUAGE_VARIABLE, "en")
    assert labelled(table).equals(table) and list(labelled(table).columns) == list(table.columns)


def test_the_notebooks_table_labels_are_in_the_catalogue(monkeypatch):
    label = next(
        entry
        for path in sorted((i18n.NOTEBOOK_LOCALE_DIR / "vi" / "LC_MESSAGES").rglob("*.po"))
        for entry in polib.pofile(str(path)).translated_entries()
        if entry.msgctxt == i18n.LABEL_CONTEXT and entry.msgstr != entry.msgid
    )
    monkeypatch.setenv(LANGUAGE_VARIABLE, "vi")
    assert i18n.in_language(label.msgid) == label.msgstr
    assert i18n.in_language(3) == 3
