"""A notebook code cell's source as Python: what the translation tooling and the tests parse."""

from __future__ import annotations

MAGIC_PREFIXES = ("%", "!")  # IPython's %magics and !shell lines: not Python


def is_magic(line: str) -> bool:
    """Return whether a line of a cell is an IPython %magic or !shell line."""
    return line.lstrip().startswith(MAGIC_PREFIXES)


def without_magics(source: str) -> str:
    """Return a cell's source with its IPython lines blanked, keeping the line count (so line numbers still match)."""
    return "\n".join("" if is_magic(line) else line for line in source.splitlines())
