"""The language of what the helpers tell the learner: English, or Vietnamese in the Vietnamese notebooks.

Messages are written in English inside `_()`; their translations live in gettext catalogues,
helpers/locale/<language>/LC_MESSAGES/*.po (one per helpers module), read with polib. The
set-up cell of a Vietnamese notebook sets SFT_COURSE_LANGUAGE=vi; English is the default.

A table's row and column labels are often keys the code looks up, so they stay English in the code
(marked `N_()` in the helpers; the notebooks' own are the "label" entries of their PO files) and
are translated where a table is shown: in a translated edition IPython shows every DataFrame
through `labelled()`.
"""

from __future__ import annotations

import gettext
import io
import os
import sys
from collections.abc import Iterable
from functools import lru_cache, reduce
from pathlib import Path
from typing import TYPE_CHECKING

from helpers import course

if TYPE_CHECKING:
    import pandas as pd

LANGUAGE_VARIABLE = "SFT_COURSE_LANGUAGE"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# The notebooks' catalogues (scripts/translations.py), in a checkout of the course: their "label" entries name tables' rows and columns.
NOTEBOOK_LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LABEL_CONTEXT = "label"


def language() -> str:
    """Return the language the helpers speak now: $SFT_COURSE_LANGUAGE, or the course's own (English)."""
    chosen = os.environ.get(LANGUAGE_VARIABLE, "").strip().lower() or course.LANGUAGES[0]
    if chosen not in course.LANGUAGES:
        raise ValueError(f"{LANGUAGE_VARIABLE}={chosen!r}: the course speaks {' and '.join(course.LANGUAGES)}. Set one of them.")
    return chosen


@lru_cache
def catalogue(language_code: str) -> gettext.NullTranslations:
    """Return the gettext catalogue of a language: every PO file of helpers/locale/<language>/LC_MESSAGES, merged."""
    if language_code == course.LANGUAGES[0]:
        return gettext.NullTranslations()
    import polib  # only the Vietnamese edition needs it (and Colab's first set-up cell runs without it)

    merged = polib.POFile()
    merged.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
    for path in sorted((LOCALE_DIR / language_code / "LC_MESSAGES").glob("*.po")):
        for entry in polib.pofile(str(path)).translated_entries():
            merged.append(entry)
    known = {entry.msgid for entry in merged}
    for path in sorted((NOTEBOOK_LOCALE_DIR / language_code / "LC_MESSAGES").rglob("*.po")):
        for entry in polib.pofile(str(path)).translated_entries():
            if entry.msgctxt == LABEL_CONTEXT and entry.msgid not in known:
                merged.append(polib.POEntry(msgid=entry.msgid, msgstr=entry.msgstr))
                known.add(entry.msgid)
    return gettext.GNUTranslations(io.BytesIO(merged.to_binary()))


def _(message: str) -> str:
    """Return the message in the learner's language (the English itself where it has no translation)."""
    return catalogue(language()).gettext(message)


def either(items: Iterable[str]) -> str:
    """Return the items joined by "or" in the learner's language ("'a' or 'b' or 'c'")."""
    return reduce(lambda first, second: _("{first} or {second}").format(first=first, second=second), items)


def N_(message: str) -> str:
    """Return the message unchanged, marked for translation where it is shown (gettext's N_): a label the code looks up."""
    return message


def in_language(label: object) -> object:
    """Return a table's or a figure's label in the learner's language (anything but a string as it is)."""
    return _(label) if isinstance(label, str) else label


def labelled(table: pd.DataFrame) -> pd.DataFrame:
    """Return a table with its row and column labels, and their names, in the learner's language."""
    shown = table.rename(index=in_language, columns=in_language)
    shown.index.names = [in_language(name) for name in shown.index.names]
    shown.columns.names = [in_language(name) for name in shown.columns.names]
    return shown


def show_tables_in_language() -> None:
    """Have IPython show every DataFrame through labelled() in a translated edition (in English, or outside IPython, nothing)."""
    if language() == course.LANGUAGES[0] or "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    import pandas as pd  # only here: Colab's first set-up cell imports this module before the course's packages exist

    formatters = shell.display_formatter.formatters
    formatters["text/html"].for_type(pd.DataFrame, lambda table: labelled(table)._repr_html_())
    formatters["text/plain"].for_type(pd.DataFrame, lambda table, printer, cycle: printer.text(repr(labelled(table))))


show_tables_in_language()
