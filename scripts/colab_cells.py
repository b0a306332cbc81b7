"""Write the "Open in Colab" badge and the set-up cell (from helpers/colab.py) into every notebook.

Usage: python scripts/colab_cells.py      (`make notebooks` runs it first)
The badge goes on the first line of each notebook's title cell; the set-up cell follows the title.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from helpers.colab import badge_markdown, course_notebooks, setup_cell

ROOT = Path(__file__).resolve().parent.parent
SETUP_CELL_ID = "colab-setup"


def with_colab_cells(notebook: nbformat.NotebookNode, relative_path: str) -> bool:
    """Put the badge and the set-up cell in a notebook (in place); return whether anything changed."""
    title = notebook.cells[0]
    badge = badge_markdown(relative_path)
    lines = title.source.splitlines()
    if lines and lines[0].startswith("[![Open In Colab]"):
        lines = lines[2:] if len(lines) > 1 and not lines[1].strip() else lines[1:]
    new_title = "\n".join([badge, ""] + lines)
    changed = new_title != title.source
    title.source = new_title

    setup = setup_cell(relative_path)
    existing = [cell for cell in notebook.cells if cell.get("id") == SETUP_CELL_ID]
    if existing:
        changed |= existing[0].source != setup
        existing[0].source = setup
    else:
        cell = nbformat.v4.new_code_cell(setup)
        cell.id = SETUP_CELL_ID
        notebook.cells.insert(1, cell)
        changed = True
    return changed


if __name__ == "__main__":
    for path in course_notebooks(ROOT):
        notebook = nbformat.read(path, as_version=4)
        if with_colab_cells(notebook, path.relative_to(ROOT).as_posix()):
            nbformat.write(notebook, path)
            print(f"{path.relative_to(ROOT)}: Colab badge and set-up cell written")
