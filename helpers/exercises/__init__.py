"""Exercise checks, one module per lesson; each check returns Feedback that shows as a coloured note."""

from __future__ import annotations

import html
from dataclasses import dataclass

from helpers.i18n import _


@dataclass(frozen=True)
class Feedback:
    """The outcome of a check: truthy when correct; shows its message when it is a cell's last value."""

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        colour = "#2d6a4f" if self.ok else "#9d0208" if self.message.startswith("❌") else "#7f5539"
        text = html.escape(self.message).replace("\n", "<br>")
        return f'<div style="border-left:4px solid {colour};padding:4px 10px;font-family:sans-serif">{text}</div>'


def passed(message: str) -> Feedback:
    """Return a success Feedback."""
    return Feedback(True, f"✅ {message}")


def failed(message: str, hint: str = "") -> Feedback:
    """Return a failure Feedback saying what is wrong (and a hint)."""
    return Feedback(False, f"❌ {message}" + ("\n💡 " + _("Hint: {hint}").format(hint=hint) if hint else ""))


def not_attempted(what: str) -> Feedback:
    """Return a nudge for an exercise still left as None."""
    return Feedback(False, "⏳ " + _("Not attempted yet: replace None with {what}, then run this cell again.").format(what=what))


def first_difference(expected: str, got: str, context: int = 25) -> str:
    """Return a short description of where two strings first differ."""
    index = next((i for i, (a, b) in enumerate(zip(expected, got)) if a != b), min(len(expected), len(got)))
    start = max(0, index - context)
    return _("they differ at character {index}:\n   expected …{expected}\n   got      …{got}").format(
        index=index, expected=repr(expected[start:index + context]), got=repr(got[start:index + context])
    )
