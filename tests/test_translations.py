"""The Vietnamese edition kept in step with the English (scripts/translations.py, helpers/i18n.py).

A test fails, naming the notebook and the cell (or the helpers module and the message), when an
English text has no Vietnamese translation or only a stale one, when a Vietnamese notebook is not
what the build makes from today's English, or when a Vietnamese code cell differs from the English
beyond its comments.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import polib
import pytest

from helpers.colab import SETUP_CELL_ID, without_badge
from scripts import translations
from scripts.translations import COMMENT_CONTEXT, code_tokens, comments, translated_path, translation_of

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = translations.english_notebooks()
MODULES = [module for module in translations.helper_modules() if translations.helper_messages(module)]
# Every translated edition is tested alike: each test runs once per language of helpers.course.LANGUAGES but English.
each_language = pytest.mark.parametrize("language", translations.translated_languages())


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _po(english: Path, language: str) -> polib.POFile:
    path = translations.po_path(english, language)
    assert path.exists(), f"{_name(english)} has no PO file: run `make translations`, then translate {_name(path)}"
    return polib.pofile(str(path), wrapwidth=0)


def _missing(po: polib.POFile, context: str | None, text: str, where: str) -> str | None:
    """Return what is wrong with a text's translation (None when it has a finished one)."""
    if translation_of(po, context, text) is not None:
        return None
    entry = po.find(text, msgctxt=context) if context else po.find(text)
    if entry is not None and entry.msgctxt == context and "fuzzy" in entry.flags:
        return f"{where}: stale translation (the English changed; check the fuzzy entry and remove the flag)"
    return f"{where}: no translation (run `make translations`, then translate it)"


@each_language
@pytest.mark.parametrize("english", ENGLISH, ids=_name)
def test_every_cell_has_a_current_translation(english, language):
    po, problems = _po(english, language), []
    for number, cell in enumerate(nbformat.read(english, as_version=4).cells):
        where = f"{_name(english)}, cell {number}"
        if cell.cell_type == "markdown":
            text = without_badge(cell.source) if number == 0 else cell.source
            problems.append(_missing(po, None, text, where) if text.strip() else None)
        elif cell.cell_type == "code" and cell.get("id") != SETUP_CELL_ID:
            problems += [_missing(po, COMMENT_CONTEXT, text, f"{where}, comment {text[:40]!r}") for _, _, text in comments(cell.source)]
    problems = [problem for problem in problems if problem]
    assert not problems, "\n".join(problems)


@each_language
@pytest.mark.parametrize("english", ENGLISH, ids=_name)
def test_the_translated_notebook_is_what_the_build_makes_from_todays_english(english, language):
    target = translated_path(english, language)
    assert target.exists(), f"{_name(target)} is missing: run `make notebooks` (or `python -m scripts.translations build`)"
    stored = nbformat.read(target, as_version=4)
    expected = translations.built(english, _po(english, language), language, stored)
    for number, (want, have) in enumerate(zip(expected.cells, stored.cells)):
        assert (have.cell_type, have.get("id"), have.source) == (want.cell_type, want.get("id"), want.source), (
            f"{_name(target)}, cell {number} is not what the build makes from today's English and PO file: "
            "run `python -m scripts.translations build`, then `make notebooks NOTEBOOKS=...` to store its outputs"
        )
    assert len(stored.cells) == len(expected.cells), f"{_name(target)} has {len(stored.cells)} cells, the build makes {len(expected.cells)}"


@each_language
@pytest.mark.parametrize("english", ENGLISH, ids=_name)
def test_translated_code_cells_are_the_english_ones_but_for_comments(english, language):
    target = translated_path(english, language)
    assert target.exists(), f"{_name(target)} is missing: run `make notebooks`"
    pairs = zip(nbformat.read(english, as_version=4).cells, nbformat.read(target, as_version=4).cells)
    for number, (theirs, ours) in enumerate(pairs):
        if theirs.cell_type != "code" or theirs.get("id") == SETUP_CELL_ID:
            continue
        assert ours.cell_type == "code", f"{_name(target)}, cell {number}: a code cell in English"
        assert code_tokens(ours.source) == code_tokens(theirs.source), (
            f"{_name(target)}, cell {number}: its code differs from the English (only comments may)"
        )


_SPANS = re.compile(r"`[^`\n]+`")
_LINKS = re.compile(r"\]\(([^)\s]+)\)")
_NUMBERS = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def _numbers(text: str) -> set[str]:
    """Return the numbers of a text, thousands separators dropped (Vietnamese prose writes 1000, not 1,000)."""
    return set(_NUMBERS.findall(_THOUSANDS.sub("", text)))


@each_language
@pytest.mark.parametrize("english", ENGLISH, ids=_name)
def test_translations_keep_the_code_links_and_numbers_of_the_english(english, language):
    """Code names, links and the numbers read off the outputs are not translated."""
    problems = []
    for entry in _po(english, language).translated_entries():
        where = f"{_name(translations.po_path(english, language))}, {entry.occurrences[0][0]} cell {entry.occurrences[0][1]}"
        if sorted(_SPANS.findall(entry.msgid)) != sorted(_SPANS.findall(entry.msgstr)):
            problems.append(f"{where}: the `code` spans differ from the English")
        if sorted(_LINKS.findall(entry.msgid)) != sorted(_LINKS.findall(entry.msgstr)):
            problems.append(f"{where}: the links differ from the English")
        lost = _numbers(entry.msgid) - _numbers(entry.msgstr)
        if lost:
            problems.append(f"{where}: numbers of the English are missing: {sorted(lost)}")
        if entry.msgctxt == COMMENT_CONTEXT and "\n" in entry.msgstr:
            problems.append(f"{where}: a comment's translation spans lines")
    assert not problems, "\n".join(problems)


_PLACEHOLDERS = re.compile(r"\{[^{}]*\}")


@each_language
@pytest.mark.parametrize("module", MODULES, ids=_name)
def test_every_helper_message_has_a_current_translation(module, language):
    path = translations.helper_po_path(module, language)
    assert path.exists(), f"{_name(module)} marks messages for translation but has no catalogue: run `make translations`"
    po = polib.pofile(str(path), wrapwidth=0)
    problems = []
    for message in translations.helper_messages(module):
        where = f"{_name(module)}:{message.occurrences[0][1]} {message.msgid[:50]!r}"
        problem = _missing(po, None, message.msgid, where)
        if problem:
            problems.append(problem)
        elif sorted(_PLACEHOLDERS.findall(message.msgid)) != sorted(_PLACEHOLDERS.findall(translation_of(po, None, message.msgid))):
            problems.append(f"{where}: the {{placeholders}} differ from the English")
    assert not problems, "\n".join(problems)


@each_language
def test_no_catalogue_is_left_from_a_module_without_messages(language):
    catalogues = {path.name for path in (ROOT / "helpers" / "locale" / language / "LC_MESSAGES").glob("*.po")}
    assert catalogues == {translations.helper_po_path(module, language).name for module in MODULES}


# ── the tools themselves ─────────────────────────────────────────────────────────────────────────


def test_comments_finds_what_a_reader_reads_and_skips_tool_comments():
    source = "# NBVAL_IGNORE_OUTPUT\n# (varies)\nx = 1  # one\n%time y = 2\nprint('# not a comment')  # noqa: E501"
    assert [(line, text) for line, _, text in comments(source)] == [(1, "(varies)"), (2, "one")]


def test_with_comments_changes_only_the_comments():
    source = "x = 1  # one\n# two\nprint('# three')"
    translated = translations.with_comments(source, lambda text: text.upper())
    assert translated == "x = 1  # ONE\n# TWO\nprint('# three')"
    assert code_tokens(translated) == code_tokens(source)


def test_a_changed_cell_keeps_its_old_translation_marked_fuzzy(tmp_path, monkeypatch):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_markdown_cell("Old text.")])
    path = tmp_path / "lesson.ipynb"
    nbformat.write(notebook, path)
    monkeypatch.setattr(translations, "ROOT", tmp_path)
    po = translations.updated_po(path, None, "vi")
    po.find("Old text.").msgstr = "Văn bản cũ."
    notebook.cells[1].source = "New text."
    nbformat.write(notebook, path)
    again = translations.updated_po(path, po, "vi")
    entry = again.find("New text.")
    assert (entry.msgstr, entry.flags, entry.previous_msgid) == ("Văn bản cũ.", ["fuzzy"], "Old text.")
    assert translation_of(again, None, "New text.") is None  # a fuzzy translation is not shown
    assert again.find("Old text.") is None


@each_language
def test_a_message_in_two_catalogues_has_one_translation(language):
    """The catalogues are merged into one at run time: the same English must not get two translations."""
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for module in MODULES:
        for entry in polib.pofile(str(translations.helper_po_path(module, language)), wrapwidth=0).translated_entries():
            first = seen.setdefault(entry.msgid, (entry.msgstr, _name(module)))
            if first[0] != entry.msgstr:
                clashes.append(f"{entry.msgid!r}: {first[1]} and {_name(module)} translate it differently")
    assert not clashes, "\n".join(clashes)


def test_the_build_keeps_the_vietnamese_runs_widgets_never_the_english(tmp_path):
    english = ENGLISH[0]
    stored = nbformat.read(translated_path(english, "vi"), as_version=4)
    stored.metadata["widgets"] = {"state": "the Vietnamese run's"}
    assert translations.built(english, _po(english, "vi"), "vi", stored).metadata["widgets"] == {"state": "the Vietnamese run's"}
    assert "widgets" not in translations.built(english, _po(english, "vi"), "vi", None).metadata


def test_a_message_moved_to_another_module_keeps_its_translation(tmp_path, monkeypatch):
    module = tmp_path / "helpers" / "moved_to.py"
    module.parent.mkdir()
    module.write_text('from helpers.i18n import _\n\nMESSAGE = _("Moved here.")\n')
    monkeypatch.setattr(translations, "ROOT", tmp_path)
    elsewhere = {"Moved here.": polib.POEntry(msgid="Moved here.", msgstr="Đã chuyển sang đây.")}
    po = translations.updated_helper_po(module, None, "vi", elsewhere)
    assert translation_of(po, None, "Moved here.") == "Đã chuyển sang đây."


@each_language
def test_the_translated_readme_renders_every_section_of_todays_readme(language):
    problems = translations.stale_readme_keys(language)
    assert not problems, "\n".join(problems) + "\n(`python -m scripts.translations readme` lists the same)"


def test_a_changed_or_new_readme_section_makes_the_translation_stale(tmp_path):
    english, translated = tmp_path / "README.md", tmp_path / "README.vi.md"
    english.write_text("# Title\n\nIntro.\n\n## Usage\n\n```bash\n# not a heading\nmake lab\n```\n")
    keys = {title: translations.section_key(text) for title, text in translations.readme_sections(english.read_text()).items()}
    assert list(keys) == ["Title", "Usage"]
    translated.write_text(f"# Tiêu đề\n<!-- en: Title {keys['Title']} -->\n\n## Cách dùng\n<!-- en: Usage {keys['Usage']} -->\n")
    assert translations.stale_readme_keys("vi", english, translated) == []
    english.write_text(english.read_text().replace("make lab", "make lab LAB_ARGS=--no-browser") + "\n## New\n\nMore.\n")
    problems = translations.stale_readme_keys("vi", english, translated)
    assert [problem.split(":")[0] for problem in problems] == [
        "README.md section 'New' is rendered nowhere",
        "README.md section 'Usage' changed",
    ]
