"""The language of what the helpers tell the learner: English, or Vietnamese in the Vietnamese notebooks.

Messages are written in English inside `_()`; their translations live in gettext catalogues,
helpers/locale/<language>/LC_MESSAGES/*.po (one per helpers module), read with polib. The
set-up cell of a Vietnamese notebook sets SFT_COURSE_LANGUAGE=vi; English is the default.
"""

from __future__ import annotations

import gettext
import io
import os
from collections.abc import Iterable
from functools import lru_cache, reduce
from pathlib import Path

from helpers import course

LANGUAGE_VARIABLE = "SFT_COURSE_LANGUAGE"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


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
    return gettext.GNUTranslations(io.BytesIO(merged.to_binary()))


def _(message: str) -> str:
    """Return the message in the learner's language (the English itself where it has no translation)."""
    return catalogue(language()).gettext(message)


def either(items: Iterable[str]) -> str:
    """Return the items joined by "or" in the learner's language ("'a' or 'b' or 'c'")."""
    return reduce(lambda first, second: _("{first} or {second}").format(first=first, second=second), items)
