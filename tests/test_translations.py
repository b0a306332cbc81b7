"""The Vietnamese edition kept in step with the English (scripts/translations.py, helpers/i18n.py).

A test fails, naming the notebook and the cell (or the helpers module and the message), when an
English text has no Vietnamese translation or only a stale one, when a Vietnamese notebook is not
what the build makes from today's English, when a Vietnamese code cell differs from the English
beyond its comments and the strings it shows, when a Vietnamese output shows a line the course
wrote in English, or when README.vi.md is out of step with README.md.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import nbformat
import polib
import pytest

from helpers.colab import SETUP_CELL_ID, without_badge
from helpers.i18n import LABEL_CONTEXT
from scripts import translations
from scripts.translations import (
    COMMENT_CONTEXT,
    STRING_CONTEXT,
    code_shape,
    code_tokens,
    comments,
    strings,
    translated_path,
    translation_of,
)

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = translations.english_notebooks()
MODULES = [module for module in translations.helper_modules() if translations.helper_messages(module)]
# Every translated edition is tested alike: each test runs once per language of helpers.course.LANGUAGES but English.
each_language = pytest.mark.parametrize("language", translations.translated_languages())
_PLACEHOLDERS = re.compile(r"\{[^{}]*\}")


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
    notebook = nbformat.read(english, as_version=4)
    in_use = translations.values_in_use(translations.code_cells(notebook))
    for number, cell in enumerate(notebook.cells):
        where = f"{_name(english)}, cell {number}"
        if cell.cell_type == "markdown":
            text = without_badge(cell.source) if number == 0 else cell.source
            problems.append(_missing(po, None, text, where) if text.strip() else None)
        elif cell.cell_type == "code" and cell.get("id") != SETUP_CELL_ID:
            problems += [_missing(po, STRING_CONTEXT, text, f"{where}, string {text[:40]!r}") for *_, text in strings(cell.source, in_use)]
            labels = translations.labels(cell.source, in_use)
            problems += [_missing(po, LABEL_CONTEXT, text, f"{where}, label {text[:40]!r}") for text in labels]
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
def test_translated_code_cells_are_the_english_ones_but_for_shown_strings_and_comments(english, language):
    target = translated_path(english, language)
    assert target.exists(), f"{_name(target)} is missing: run `make notebooks`"
    pairs = zip(nbformat.read(english, as_version=4).cells, nbformat.read(target, as_version=4).cells)
    for number, (theirs, ours) in enumerate(pairs):
        if theirs.cell_type != "code" or theirs.get("id") == SETUP_CELL_ID:
            continue
        assert ours.cell_type == "code", f"{_name(target)}, cell {number}: a code cell in English"
        assert code_shape(ours.source) == code_shape(theirs.source), (
            f"{_name(target)}, cell {number}: its code differs from the English (only comments and the strings it shows may)"
        )


def _english_pattern(english: str, translation: str) -> re.Pattern | None:
    """Return what an English message looks like in an output, its {placeholders} any text, or None where it is too
    short to tell from other English (one word; two around placeholders) or its translation reads the same."""
    parts = [part.replace("\\n", "\n") for part in _PLACEHOLDERS.split(english)]
    words = sum(len(part.split()) for part in parts)
    if words < (2 if len(parts) == 1 else 3):
        return None
    pattern = re.compile(r"\b" + r"[^\n]*?".join(re.escape(part.strip()) for part in parts if part.strip()) + r"\b")
    return None if pattern.search(translation) else pattern


@functools.cache
def _course_english(language: str) -> tuple[tuple[re.Pattern, str], ...]:
    """Return each English message the course writes (notebooks' shown strings and table labels, helpers' messages) as a
    pattern, and the catalogue it is from."""
    found = []
    catalogues = [(translations.po_path(english, language), (STRING_CONTEXT, LABEL_CONTEXT)) for english in ENGLISH]
    catalogues += [(translations.helper_po_path(module, language), (None,)) for module in MODULES]
    for path, contexts in catalogues:
        for entry in polib.pofile(str(path), wrapwidth=0).translated_entries():
            pattern = _english_pattern(entry.msgid, entry.msgstr) if entry.msgctxt in contexts else None
            if pattern is not None:
                found.append((pattern, f"{entry.msgid[:60]!r} of {_name(path)}"))
    return tuple(found)


def _shown_text(output: nbformat.NotebookNode) -> str:
    """Return the text an output shows the learner: printed lines and the plain text of a result (tables included)."""
    if output.output_type == "stream":
        return output.text if output.name == "stdout" else ""
    return output.get("data", {}).get("text/plain", "")


@each_language
@pytest.mark.parametrize("english", ENGLISH, ids=_name)
def test_the_translated_outputs_show_no_english_the_course_wrote(english, language):
    """Every line the course itself prints or tabulates is in the edition's language (library messages aside)."""
    target = translated_path(english, language)
    course_english = _course_english(language)
    problems = []
    for number, cell in enumerate(nbformat.read(target, as_version=4).cells):
        shown = "\n".join(_shown_text(output) for output in cell.get("outputs", []))
        problems += [f"{_name(target)}, cell {number}: {where}" for pattern, where in course_english if pattern.search(shown)]
    assert not problems, "\n".join(problems) + "\nre-run the notebook (`make notebooks NOTEBOOKS=...`) after translating"


_SPANS = re.compile(r"`[^`\n]+`")
_LINKS = re.compile(r"\]\(([^)\s]+)\)")
_NUMBERS = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def _numbers(text: str) -> set[str]:
    """Return the numbers of a text, thousands separators dropped (Vietnamese prose writes 1000, not 1,000)."""
    return set(_NUMBERS.findall(_THOUSANDS.sub("", text)))


def _expressions(text: str) -> list[str]:
    """Return an f-string's {expressions}, their quoted words blanked (f"{'no GPU' if ...}" shows those words)."""
    return sorted(re.sub(r"'[^']*'|\"[^\"]*\"", "''", found) for found in _PLACEHOLDERS.findall(text))


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
        if entry.msgctxt in (COMMENT_CONTEXT, STRING_CONTEXT) and "\n" in entry.msgstr:
            problems.append(f"{where}: a comment's or a string's translation spans lines")
        if entry.msgctxt == STRING_CONTEXT and _expressions(entry.msgid) != _expressions(entry.msgstr):
            problems.append(f"{where}: the {{expressions}} of the string differ from the English (only quoted words in them may)")
    assert not problems, "\n".join(problems)



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


@each_language
def test_a_table_label_has_one_translation_in_every_catalogue(language):
    """Labels are translated where a table is shown, from one merged catalogue: the notebooks' labels and the helpers'
    messages must not give the same English two translations."""
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    catalogues = [(translations.helper_po_path(module, language), None) for module in MODULES]
    catalogues += [(translations.po_path(english, language), LABEL_CONTEXT) for english in ENGLISH]
    for path, context in catalogues:
        for entry in polib.pofile(str(path), wrapwidth=0).translated_entries():
            if entry.msgctxt == context:
                first = seen.setdefault(entry.msgid, (entry.msgstr, _name(path)))
                if first[0] != entry.msgstr:
                    clashes.append(f"{entry.msgid!r}: {first[1]} and {_name(path)} translate it differently")
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


def test_strings_finds_what_a_cell_shows_and_leaves_the_values_the_code_uses():
    source = (
        'scores = {"base": 1}\n'
        'print(f"{len(rows)} rows", "and", n)  # said\n'
        'score_table({"always the most common": baseline, "base": scores})\n'
        'plot(runs, "train/loss", title="Two runs", ylabel="loss")\n'
        'load("base")'
    )
    found = [text for *_, text in strings(source, translations.values_in_use([source]))]
    assert found == ["{len(rows)} rows", "and", "always the most common", "Two runs", "loss"]


def test_with_strings_changes_only_the_shown_strings():
    source = 'print("a × b:", f"{x:.2f} of {y}")  # c\nlookup["a × b:"]'
    translated = translations.with_strings(source, lambda text: f"<{text}>", translations.values_in_use([source]))
    assert translated == 'print("a × b:", f"<{x:.2f} of {y}>")  # c\nlookup["a × b:"]'


def test_code_shape_allows_translated_strings_and_comments_but_no_other_change():
    english = 'print(f"{n} rows of {m}", "done")  # count\nshow(title="Rows")\nx = table["rows"]'
    assert code_shape('print(f"{m} của {n} dòng", "xong")  # đếm\nshow(title="Dòng")\nx = table["rows"]') == code_shape(english)
    for drifted in (
        'print(f"{n + 1} rows of {m}", "done")\nshow(title="Rows")\nx = table["rows"]',  # an expression
        'print(f"{n} rows of {m}", "done")\nshow(title="Rows")\nx = table["dòng"]',  # a key the code looks up
        'print(f"{n} rows of {m}", "done")\nshow(title="Rows", size=2)\nx = table["rows"]',  # an argument
    ):
        assert code_shape(drifted) != code_shape(english)


def test_labels_are_the_table_labels_the_code_also_uses_as_keys():
    source = (
        'score_table({"always the most common": baseline, "base": scores})\n'
        'quiz = {name: frame for name, frame in (("harsh fine-tune", harsh), ("base", base))}\n'
        'table["checks passed"] = checks.sum(axis=1)\n'
        'drops = frame.rename(columns={"difference": "questions lost (share)"})\n'
        'pd.DataFrame({name: {"tokens": n, "trained on": m} for name in names})\n'
        'rules = {"raw": "correct", "calibrated": "correct_calibrated"}\n'
        'difference_table({rule: paired(tuned[column]) for rule, column in rules.items()})\n'
        'unrelated = {"seed": 42}\n'
        'os.environ["TRACKIO_DIR"] = "outputs"\n'
        'load("base")'
    )
    in_use = translations.values_in_use([source])
    expected = {"base", "harsh fine-tune", "checks passed", "questions lost (share)", "tokens", "trained on", "raw", "calibrated"}
    assert set(translations.labels(source, in_use)) == expected
    assert [text for *_, text in strings(source, in_use)] == ["always the most common"]
