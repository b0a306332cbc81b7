"""The translated editions: PO files from the English notebooks, and translated notebooks from both.

Usage (from the repository root):
       python -m scripts.translations update     refresh every PO file from today's English notebooks and helpers
       python -m scripts.translations update-notebooks | update-helpers   only those
       python -m scripts.translations build      write notebooks/<language>/ from the English notebooks and PO files
       python -m scripts.translations readme     say which sections of README.<language>.md are out of step with README.md
       (`make translations` runs both; `make notebooks` builds, then executes the notebooks)

Every language of helpers.course.LANGUAGES but the first (English) gets its edition. One gettext PO
file per notebook, in locale/<language>/LC_MESSAGES/ under the notebook's own path
(notebooks/01_chat_templates.ipynb -> locale/vi/LC_MESSAGES/notebooks/01_chat_templates.po), the
way Sphinx and Jupyter Book keep theirs. Each markdown cell is one entry, keyed by its English text;
each comment in a code cell is one entry in the context "comment"; each string literal a code cell
shows the learner (printed, a table's rows or columns, a figure's title or axis) is one entry in the
context "string", unless the code also uses that string as a value (a key it looks up), which stays
English. Nothing else is translated: a Vietnamese notebook runs the English code, and
tests/test_translations.py compares their syntax trees, the shown strings and comments aside.

When the English of a cell changes, `update` keeps the old translation beside the new text, marked
fuzzy (with the old English as #| msgid): a translator checks it and removes the flag. Until then
the Vietnamese notebook shows the English text, and tests/test_translations.py names the cell.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import io
import re
import sys
import tokenize
from pathlib import Path

import nbformat
import polib

from helpers import course
from helpers.colab import SETUP_CELL_ID, with_colab_cells, without_badge
from helpers.course import NOTEBOOKS, edition_folder, edition_notebooks
from helpers.i18n import LABEL_CONTEXT
from scripts.notebook_source import is_magic, without_magics

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "locale"
COMMENT_CONTEXT = "comment"
STRING_CONTEXT = "string"
# Comments that are instructions to a tool, not to the reader: never translated.
TOOL_COMMENTS = ("NBVAL_", "noqa", "type:", "fmt:")


def translated_languages() -> tuple[str, ...]:
    """Return the languages whose editions are built from the English: all of helpers.course.LANGUAGES but the first."""
    return course.LANGUAGES[1:]


def english_notebooks() -> list[Path]:
    """Return the English lessons and solutions, in the order they are run."""
    return [ROOT / path for path in edition_notebooks(course.LANGUAGES[0])]


def translated_path(english: Path, language: str) -> Path:
    """Return where a notebook's translation lives: notebooks/<language>/ mirrors notebooks/."""
    return ROOT / edition_folder(language) / english.relative_to(ROOT / NOTEBOOKS)


def po_path(english: Path, language: str) -> Path:
    """Return the PO file of a notebook: locale/<language>/LC_MESSAGES/<the notebook's path>.po."""
    return LOCALE_DIR / language / "LC_MESSAGES" / english.relative_to(ROOT).with_suffix(".po")


def comments(source: str) -> list[tuple[int, int, str]]:
    """Return (line number from 0, column, text after "# ") for each comment a reader should read in a code cell."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(without_magics(source)).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []
    found = []
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        text = token.string[1:].strip()
        if text and not text.startswith(TOOL_COMMENTS):
            found.append((token.start[0] - 1, token.start[1], text))
    return found


def code_tokens(source: str) -> list[tuple[int, str]]:
    """Return a code cell's tokens without its comments and line breaks (IPython's %/! lines kept as text): what runs."""
    magics = [line for line in source.splitlines() if is_magic(line)]
    tokens = tokenize.generate_tokens(io.StringIO(without_magics(source)).readline)
    kept = [(token.type, token.string) for token in tokens if token.type not in (tokenize.COMMENT, tokenize.NL)]
    return kept + [(0, magic) for magic in magics]


def with_comments(source: str, translate) -> str:
    """Return a code cell's source with each readable comment replaced by translate(text) (its code untouched)."""
    lines = source.split("\n")
    for number, column, text in comments(source):
        translated = translate(text)
        if translated != text:
            lines[number] = lines[number][:column] + "# " + translated
    return "\n".join(lines)


# Where a string literal in a code cell is text the learner reads rather than a value the code uses. The
# English code is never changed; the edition's code differs from it only in these literals (and comments).
DISPLAY_CALLS = ("print", "LiveLossPlot")  # every positional argument is shown as it is
DISPLAY_KEYWORDS = ("title", "xlabel", "ylabel", "label", "name")  # a figure's or a table's own labels
TABLE_CALLS = ("score_table", "interval_table", "loss_curves", "criteria_bars", "DataFrame")  # a dict's keys name rows, columns or curves


def _called(call: ast.Call) -> str:
    """Return the name a call is made by: `print` for print(...), `DataFrame` for pd.DataFrame(...)."""
    return call.func.id if isinstance(call.func, ast.Name) else call.func.attr if isinstance(call.func, ast.Attribute) else ""


def _shown(node: ast.expr) -> list[ast.expr]:
    """Return the string literals an expression shows as they are: itself, or the parts of a + or a conditional."""
    if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return [node]
    if isinstance(node, ast.IfExp):
        return _shown(node.body) + _shown(node.orelse)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _shown(node.left) + _shown(node.right)
    return []


def displayed(tree: ast.AST) -> list[ast.expr]:
    """Return the string literals (plain or f-strings) a cell shows the learner: printed, a figure's or table's labels."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _called(node)
        if name in DISPLAY_CALLS:
            found += [shown for argument in node.args for shown in _shown(argument)]
        if name in TABLE_CALLS:
            keys = [key for argument in node.args if isinstance(argument, ast.Dict) for key in argument.keys if key is not None]
            found += [key for key in keys if _shown(key) == [key]]
        found += [shown for keyword in node.keywords if keyword.arg in DISPLAY_KEYWORDS for shown in _shown(keyword.value)]
    return found


def _offset(line: str, byte_column: int) -> int:
    """Return the character column of a byte column (ast counts UTF-8 bytes; tokenize counts characters)."""
    return len(line.encode()[:byte_column].decode())


def _string_tokens(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Return where each string literal of Python source starts and ends, (row, column), an f-string whole."""
    found, depth, start = [], 0, (0, 0)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        kind = tokenize.tok_name[token.type]
        if kind == "FSTRING_START":  # Python 3.12 splits an f-string into tokens
            start = token.start if depth == 0 else start
            depth += 1
        elif kind == "FSTRING_END":
            depth -= 1
            if depth == 0:
                found.append((start, token.end))
        elif token.type == tokenize.STRING and depth == 0:
            found.append((token.start, token.end))
    return found


def values_in_use(sources: list[str]) -> set[str]:
    """Return the strings a notebook's code uses as values (keys, arguments, comparisons): never translated where shown."""
    used = set()
    for source in sources:
        tree = _parsed(source)
        shown = {id(node) for literal in displayed(tree) for node in ast.walk(literal)}
        constants = [node for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
        used |= {node.value for node in constants if id(node) not in shown}
    return used


def _parsed(source: str) -> ast.Module:
    """Return a code cell's syntax tree (an empty one where it is not Python)."""
    try:
        return ast.parse(without_magics(source))
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


def strings(source: str, in_use: set[str] = frozenset()) -> list[tuple[int, int, int, str]]:
    """Return (line from 0, start column, end column, text) for each string literal a code cell shows the learner,
    the text as written between its quotes; literals the notebook also uses as values (in_use) stay out."""
    python = without_magics(source)
    lines = python.split("\n")
    try:
        tokens = _string_tokens(python)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []
    found = []
    for node in displayed(_parsed(source)):
        if isinstance(node, ast.Constant) and node.value in in_use:
            continue
        first = (node.lineno, _offset(lines[node.lineno - 1], node.col_offset))
        last = (node.end_lineno, _offset(lines[node.end_lineno - 1], node.end_col_offset))
        for start, end in tokens:
            if first <= start and end <= last and start[0] == end[0]:
                literal = lines[start[0] - 1][start[1]:end[1]]
                prefix = re.match(r"[A-Za-z]*", literal).group()
                quote = literal[len(prefix):len(prefix) + 3] if literal[len(prefix):].startswith(('"""', "'''")) else literal[len(prefix)]
                text = literal[len(prefix) + len(quote):len(literal) - len(quote)]
                if "b" not in prefix.lower() and re.search(r"[A-Za-z]{2}", re.sub(r"\{[^{}]*\}", "", text)):
                    found.append((start[0] - 1, start[1] + len(prefix) + len(quote), end[1] - len(quote), text))
    return sorted(set(found))


def with_strings(source: str, translate, in_use: set[str] = frozenset()) -> str:
    """Return a code cell's source with each string literal it shows replaced by translate(text) (its code untouched)."""
    lines = source.split("\n")
    for line, start, end, text in reversed(strings(source, in_use)):
        lines[line] = lines[line][:start] + translate(text) + lines[line][end:]
    return "\n".join(lines)


def code_shape(source: str) -> str:
    """Return what every edition of a code cell must share: its syntax tree with the strings it shows blanked (an
    f-string kept as its expressions, in any order) and its IPython lines. Only comments and shown strings may differ."""
    tree = _parsed(source)
    for node in displayed(tree):
        if isinstance(node, ast.Constant):
            node.value = ""
            continue
        values = [value for value in node.values if isinstance(value, ast.FormattedValue)]
        for value in values:  # f"{'no GPU' if ... else ...}": the words chosen are shown too
            for choice in _shown(value.value) if isinstance(value.value, ast.IfExp) else []:
                if isinstance(choice, ast.Constant):
                    choice.value = ""
        node.values = sorted(values, key=ast.dump)
    return ast.dump(tree) + repr([line.strip() for line in source.split("\n") if is_magic(line)])


def _is_text(node: ast.AST) -> bool:
    """Return whether a node is a plain string literal."""
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def labels(source: str, in_use: set[str] = frozenset()) -> list[str]:
    """Return the labels a code cell gives a table's rows or columns that stay English in its code (the code uses them
    as keys) and are translated where the table is shown (helpers.i18n.labelled): shown strings the notebook also uses
    as values, the keys of dicts inside a table's data, names paired with values, renamed columns, columns assigned to."""
    tree = _parsed(source)
    found = [node.value for node in displayed(tree) if _is_text(node) and node.value in in_use]
    named_dicts = {node.targets[0].id: node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                   and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Dict)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) in TABLE_CALLS:
            inner = [part for argument in node.args for part in ast.walk(argument) if isinstance(part, ast.Dict) and part is not argument]
            found += [key.value for dictionary in inner for key in dictionary.keys if key is not None and _is_text(key)]
        if isinstance(node, ast.Call) and _called(node) in TABLE_CALLS + ("difference_table",):
            # rules = {"raw": ...}; difference_table({rule: ... for rule in rules}): the keys of a dict the table is built from
            sources = [named_dicts[part.id] for argument in node.args for part in ast.walk(argument)
                       if isinstance(part, ast.Name) and part.id in named_dicts]
            found += [key.value for dictionary in sources for key in dictionary.keys if key is not None and _is_text(key)]
        elif isinstance(node, ast.Call) and _called(node) == "rename":
            renamed = [keyword.value for keyword in node.keywords if keyword.arg in ("index", "columns")]
            found += [value.value for mapping in renamed if isinstance(mapping, ast.Dict) for value in mapping.values if _is_text(value)]
        elif isinstance(node, ast.Tuple) and len(node.elts) == 2 and _is_text(node.elts[0]) and not isinstance(node.elts[1], ast.Constant):
            found.append(node.elts[0].value)  # ("base", base_scores): a name paired with what it names
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name):
            found += [node.slice.value] if _is_text(node.slice) else []  # table["checks passed"] = ...
    return list(dict.fromkeys(text for text in found if re.search(r"[A-Za-z]{2}", text)))


def code_cells(notebook: nbformat.NotebookNode) -> list[str]:
    """Return the sources of a notebook's code cells that an edition translates (all but the set-up cell)."""
    return [cell.source for cell in notebook.cells if cell.cell_type == "code" and cell.get("id") != SETUP_CELL_ID]


def entries(notebook: nbformat.NotebookNode, where: str) -> list[polib.POEntry]:
    """Return the notebook's translatable text as PO entries (msgstr empty), in cell order."""
    found: dict[tuple[str | None, str], polib.POEntry] = {}
    in_use = values_in_use(code_cells(notebook))
    for number, cell in enumerate(notebook.cells):
        occurrence = (where, f"{number}:{cell.get('id', '')}")
        texts = []
        if cell.cell_type == "markdown":
            texts = [(None, without_badge(cell.source) if number == 0 else cell.source)]
        elif cell.cell_type == "code" and cell.get("id") != SETUP_CELL_ID:
            texts = [(STRING_CONTEXT, text) for *_, text in strings(cell.source, in_use)]
            texts += [(LABEL_CONTEXT, text) for text in labels(cell.source, in_use)]
            texts += [(COMMENT_CONTEXT, text) for _, _, text in comments(cell.source)]
        for context, text in texts:
            if not text.strip():
                continue
            entry = found.setdefault((context, text), polib.POEntry(msgctxt=context, msgid=text, msgstr=""))
            entry.occurrences.append(occurrence)
    return list(found.values())


def updated_po(english: Path, old: polib.POFile | None, language: str) -> polib.POFile:
    """Return the notebook's PO file for today's English: translations kept, changed cells' old ones marked fuzzy."""
    where = english.relative_to(ROOT).as_posix()
    po = new_po(language)
    known = {(e.msgctxt, e.msgid): e for e in old if not e.obsolete} if old is not None else {}
    # The translation a cell had, found by its place (cell id): used when its English changed.
    by_cell = {}
    for entry in known.values():
        for _, place in entry.occurrences:
            by_cell.setdefault((entry.msgctxt, place.split(":", 1)[-1]), entry)
    for entry in entries(nbformat.read(english, as_version=4), where):
        before = known.get((entry.msgctxt, entry.msgid))
        if before is not None:
            entry.msgstr, entry.flags, entry.tcomment = before.msgstr, list(before.flags), before.tcomment
        else:
            cell_id = entry.occurrences[0][1].split(":", 1)[-1]
            earlier = by_cell.get((entry.msgctxt, cell_id)) if entry.msgctxt is None else None
            if earlier is not None and earlier.msgstr:
                entry.msgstr, entry.previous_msgid = earlier.msgstr, earlier.msgid
                entry.flags = ["fuzzy"]
        po.append(entry)
    return po


def translation_of(po: polib.POFile, context: str | None, text: str) -> str | None:
    """Return the finished translation of a text (None when it has none, or only a fuzzy one)."""
    entry = po.find(text, msgctxt=context) if context else po.find(text)
    if entry is None or entry.msgctxt != context or not entry.msgstr or "fuzzy" in entry.flags:
        return None
    return entry.msgstr


def built(english: Path, po: polib.POFile, language: str, stored: nbformat.NotebookNode | None = None) -> nbformat.NotebookNode:
    """Return the translated notebook: English code with translated comments, translated markdown, the edition's
    badge and set-up cell, and the edition's stored outputs of every code cell whose code (comments aside) is unchanged."""
    notebook = nbformat.read(english, as_version=4)
    in_use = values_in_use(code_cells(notebook))
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            text = without_badge(cell.source) if number == 0 else cell.source
            cell.source = translation_of(po, None, text) or text
        elif cell.cell_type == "code" and cell.get("id") != SETUP_CELL_ID:
            shown = with_strings(cell.source, lambda text: translation_of(po, STRING_CONTEXT, text) or text, in_use)
            if code_shape(shown) != code_shape(cell.source):
                raise ValueError(f"{english.name}, cell {number}: a string's translation changes the code (a quote in it?)")
            cell.source = with_comments(shown, lambda text: translation_of(po, COMMENT_CONTEXT, text) or text)
    with_colab_cells(notebook, translated_path(english, language).relative_to(ROOT).as_posix())
    # The widgets' saved state belongs to the outputs that show them: the edition's own run, never the English.
    notebook.metadata.pop("widgets", None)
    if stored is not None and "widgets" in stored.metadata:
        notebook.metadata["widgets"] = stored.metadata["widgets"]
    previous = {cell.get("id"): cell for cell in stored.cells} if stored is not None else {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        before = previous.get(cell.get("id"))
        # A comment's new translation changes no output: only a change to the code itself needs a re-run.
        if before is not None and before.cell_type == "code" and code_tokens(before.source) == code_tokens(cell.source):
            cell.outputs, cell.execution_count = before.outputs, before.execution_count
        else:
            cell.outputs, cell.execution_count = [], None
    return notebook


HELPERS = ROOT / "helpers"


def helper_modules() -> list[Path]:
    """Return the helpers modules, whose messages marked _("...") the learner reads."""
    return sorted(HELPERS.rglob("*.py"))


def helper_po_path(module: Path, language: str) -> Path:
    """Return a helpers module's catalogue: helpers/locale/<language>/LC_MESSAGES/<module, dotted>.po."""
    dotted = ".".join(module.relative_to(HELPERS).with_suffix("").parts)
    return HELPERS / "locale" / language / "LC_MESSAGES" / f"{dotted}.po"


def helper_messages(module: Path) -> list[polib.POEntry]:
    """Return the messages a helpers module marks for translation, _("...") or N_("..."), as PO entries (msgstr empty)."""
    found: dict[str, polib.POEntry] = {}
    where = module.relative_to(ROOT).as_posix()
    for node in ast.walk(ast.parse(module.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("_", "N_")  # N_: a label translated where it is shown (helpers.i18n)
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            entry = found.setdefault(node.args[0].value, polib.POEntry(msgid=node.args[0].value, msgstr=""))
            entry.occurrences.append((where, str(node.lineno)))
    return sorted(found.values(), key=lambda entry: int(entry.occurrences[0][1]))


def new_po(language: str) -> polib.POFile:
    """Return an empty PO file of a language with the course's header."""
    po = polib.POFile(wrapwidth=0)
    po.metadata = {
        "Project-Id-Version": "sft-course",
        "Language": language,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
    }
    return po


def updated_helper_po(
    module: Path, old: polib.POFile | None, language: str, elsewhere: dict[str, polib.POEntry] | None = None
) -> polib.POFile:
    """Return a module's catalogue for today's messages: translations kept, a changed message's old one marked fuzzy.

    elsewhere: the other modules' translated entries, by message: a message moved from another module keeps its translation.
    """
    po = new_po(language)
    known = {entry.msgid: entry for entry in old if not entry.obsolete and entry.msgstr} if old is not None else {}
    current = helper_messages(module)
    gone = [msgid for msgid in known if msgid not in {entry.msgid for entry in current}]
    for entry in current:
        before = known.get(entry.msgid) or (elsewhere or {}).get(entry.msgid)
        if before is not None:
            entry.msgstr, entry.flags = before.msgstr, list(before.flags)
        else:
            close = difflib.get_close_matches(entry.msgid, gone, n=1, cutoff=0.8)
            if close:
                entry.msgstr, entry.previous_msgid, entry.flags = known[close[0]].msgstr, close[0], ["fuzzy"]
        po.append(entry)
    return po


def save(po: polib.POFile, path: Path) -> None:
    """Write a PO file and say how much of it is left to translate or check."""
    path.parent.mkdir(parents=True, exist_ok=True)
    po.save(str(path))
    missing = sum(1 for entry in po if not entry.msgstr or "fuzzy" in entry.flags)
    print(f"{path.relative_to(ROOT)}: {len(po)} entries, {missing} to translate or check")


def update_notebooks() -> None:
    """Rewrite every notebook's PO file, in every translated language, from today's English."""
    for language in translated_languages():
        for english in english_notebooks():
            path = po_path(english, language)
            save(updated_po(english, polib.pofile(str(path), wrapwidth=0) if path.exists() else None, language), path)


def update_helpers() -> None:
    """Rewrite every helpers module's catalogue, in every translated language, from today's messages."""
    for language in translated_languages():
        old = {path: polib.pofile(str(path), wrapwidth=0) for path in (HELPERS / "locale" / language / "LC_MESSAGES").glob("*.po")}
        # Every catalogue's translations, a gone module's too: a message moved to another module keeps its translation.
        everywhere = {entry.msgid: entry for po in old.values() for entry in po if entry.msgstr and not entry.obsolete}
        for module in helper_modules():
            path = helper_po_path(module, language)
            po = updated_helper_po(module, old.get(path), language, everywhere)
            if len(po):
                save(po, path)
            elif path.exists():
                path.unlink()


def build() -> None:
    """Write every translated notebook from its English notebook and PO file."""
    for language in translated_languages():
        for english in english_notebooks():
            build_one(english, language)


def build_one(english: Path, language: str) -> None:
    """Write one translated notebook from its English notebook and PO file (if it changed)."""
    target = translated_path(english, language)
    po = polib.pofile(str(po_path(english, language)), wrapwidth=0) if po_path(english, language).exists() else polib.POFile()
    stored = nbformat.read(target, as_version=4) if target.exists() else None
    notebook = built(english, po, language, stored)
    target.parent.mkdir(parents=True, exist_ok=True)
    if stored is None or nbformat.writes(notebook) != nbformat.writes(stored):
        nbformat.write(notebook, target)
        print(f"{target.relative_to(ROOT)}: written")


# ── the README ───────────────────────────────────────────────────────────────────────────────────
README = ROOT / "README.md"
# A translated README renders the English one section by section, the long technical sections as summaries. Under
# each of its headings it names the English sections it renders and a fingerprint of their text, so that a change
# to README.md fails tests/test_translations.py until the translation is brought in step.
README_KEY = re.compile(r"<!-- en: (?P<title>.+?) (?P<key>[0-9a-f]{8}) -->")


def translated_readme(language: str) -> Path:
    """Return where a language's README lives: README.<language>.md beside README.md."""
    return ROOT / f"README.{language}.md"


def readme_sections(text: str) -> dict[str, str]:
    """Return a README's sections (a heading and the text up to the next one) by heading title; code blocks are text."""
    sections: dict[str, list[str]] = {}
    title, fenced = "", False
    for line in text.split("\n"):
        fenced ^= line.startswith("```")
        heading = None if fenced else re.match(r"#+ (.+)", line)
        if heading:
            title = heading.group(1).strip()
        sections.setdefault(title, []).append(line)
    return {title: "\n".join(lines).strip() for title, lines in sections.items() if title}


def section_key(text: str) -> str:
    """Return the fingerprint of an English section: any change to its text, line breaks aside, changes it."""
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:8]


def stale_readme_keys(language: str, readme: Path | None = None, translated: Path | None = None) -> list[str]:
    """Return what keeps a translated README out of step with README.md: an English section it renders nowhere, a key
    naming no English section, a key whose English changed since (each problem says which key to write once fixed)."""
    english = readme_sections((readme or README).read_text())
    keys = README_KEY.findall((translated or translated_readme(language)).read_text())
    keyed = {title for title, _ in keys}
    problems = [
        f"README.md section {title!r} is rendered nowhere: translate or summarise it under the key <!-- en: {title} {section_key(text)} -->"
        for title, text in english.items()
        if title not in keyed
    ]
    for title, key in keys:
        if title not in english:
            problems.append(f"<!-- en: {title} {key} -->: README.md has no section {title!r} any more")
        elif key != section_key(english[title]):
            problems.append(f"README.md section {title!r} changed: update the translation, then key it {section_key(english[title])}")
    return problems


def check_readmes() -> None:
    """Print what keeps each translated README out of step with README.md (and fail if anything does)."""
    problems = [f"README.{language}.md: {problem}" for language in translated_languages() for problem in stale_readme_keys(language)]
    print("\n".join(problems) or "every translated README is in step with README.md")
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    commands = {
        "update": lambda: (update_notebooks(), update_helpers()),
        "update-notebooks": update_notebooks,
        "update-helpers": update_helpers,
        "build": build,
        "readme": check_readmes,
    }
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]]()
