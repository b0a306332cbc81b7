"""Write the "Open in Colab" badge and the set-up cell (from helpers/colab.py) into every notebook.

Usage: python -m scripts.colab_cells      (`make notebooks` runs it first)
The badge goes on the first line of each notebook's title cell; the set-up cell follows the title.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from helpers.colab import with_colab_cells
from helpers.course import course_notebooks

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    for path in course_notebooks(ROOT):
        notebook = nbformat.read(path, as_version=4)
        if with_colab_cells(notebook, path.relative_to(ROOT).as_posix()):
            nbformat.write(notebook, path)
            print(f"{path.relative_to(ROOT)}: Colab badge and set-up cell written")
