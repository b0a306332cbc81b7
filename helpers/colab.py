"""Colab: the "Open in Colab" badge and the set-up cell every notebook starts with, written from one address.

`scripts/colab_cells.py` writes both into the notebooks; tests/test_colab.py checks that they match.
This module imports only the standard library: on Colab it runs before the course's packages exist.
A notebook of a translated edition (notebooks/vi/...) gets a set-up cell in its language, which
sets the language the helpers speak.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers.course import LANGUAGES, edition_language
from helpers.i18n import LANGUAGE_VARIABLE, _, catalogue

# The course's repository: the one place its address is written.
REPO_URL = "https://github.com/sft-course/sft-course"
BRANCH = "main"
CHECKOUT = "/content/sft-course"  # where the set-up cell clones the course on Colab

SETUP_CELL_ID = "colab-setup"
BADGE_PREFIX = "[![Open In Colab]"

# Not installed on Colab: its own CUDA torch and its own notebook stack (replacing them breaks Colab's
# front-end), and the tools only the course's tests use.
NOT_ON_COLAB = ("torch", "ipykernel", "ipython", "ipywidgets", "jupyterlab", "nbclient", "nbformat", "nbval", "pytest", "selenium", "ruff")


def colab_url(notebook: str) -> str:
    """Return the address that opens a notebook (a path such as "notebooks/01_chat_templates.ipynb") in Colab."""
    owner_and_name = REPO_URL.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{owner_and_name}/blob/{BRANCH}/{notebook}"


def badge_markdown(notebook: str) -> str:
    """Return the markdown of the "Open in Colab" badge for a notebook."""
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook)})"


def colab_requirements(requirements_file: str | Path) -> list[str]:
    """Return the course's pinned requirements that Colab needs: all but its own torch, notebook stack and test tools."""
    pins = []
    for line in Path(requirements_file).read_text().splitlines():
        requirement = line.split("#")[0].strip()
        name = requirement.split("==")[0].strip().lower()
        if requirement and name not in NOT_ON_COLAB:
            pins.append(requirement)
    return pins


def setup_commands(checkout: str | Path = CHECKOUT) -> list[list[str]]:
    """Return the commands that install the course into Colab's Python: its pins (not torch), then the helpers."""
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    return [
        pip + colab_requirements(Path(checkout) / "requirements.txt"),
        pip + ["--no-deps", "--editable", str(checkout)],
    ]


def install_on_colab(checkout: str | Path = CHECKOUT) -> None:
    """Install the course on Colab, then restart the Python session so that the new packages load."""
    for command in setup_commands(checkout):
        subprocess.run(command, check=True)
    print(_("The course is installed. Colab restarts the session now: run this cell again, then carry on."))
    sys.stdout.flush()
    # Packages Colab had already imported (numpy, transformers, ...) only change after a restart.
    os.kill(os.getpid(), 9)


def setup_cell(notebook: str) -> str:
    """Return the set-up cell for a notebook (a path such as "notebooks/solutions/02_..._solutions.ipynb")."""
    # Colab starts in /content: moving into the notebook's own folder makes every relative path
    # (outputs/..., ../outputs/...) mean on Colab what it means in JupyterLab and under nbval.
    folder = Path(notebook).parent.as_posix()
    language = edition_language(notebook)
    _ = catalogue(language).gettext  # the comments are in the edition's language, whatever the helpers speak now
    chosen = ""
    if language != LANGUAGES[0]:
        chosen = f'os.environ["{LANGUAGE_VARIABLE}"] = "{language}"  # {_("the helpers speak the language of this notebook")}\n'
    return f'''# {_("Set-up. On Colab: fetch the course and install its packages, once (keeping Colab's own torch).")}
# {_("On your own machine `make lab` has installed everything, and this cell does nothing.")}
import os
import subprocess
import sys

{chosen}if "google.colab" in sys.modules:
    if not os.path.isdir("{CHECKOUT}"):
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", "{BRANCH}", "{REPO_URL}", "{CHECKOUT}"], check=True)
        sys.path.insert(0, "{CHECKOUT}")
        from helpers.colab import install_on_colab

        install_on_colab()
    os.chdir("{CHECKOUT}/{folder}")'''


def without_badge(source: str) -> str:
    """Return a title cell's text without its "Open in Colab" badge line (each notebook has its own badge)."""
    lines = source.splitlines()
    if lines and lines[0].startswith(BADGE_PREFIX):
        lines = lines[2:] if len(lines) > 1 and not lines[1].strip() else lines[1:]
    return "\n".join(lines)


def with_colab_cells(notebook, relative_path: str) -> bool:
    """Put the badge and the set-up cell in a notebook (an nbformat NotebookNode, in place); return whether anything changed."""
    import nbformat  # not needed on Colab, where only install_on_colab runs

    title = notebook.cells[0]
    new_title = "\n".join([badge_markdown(relative_path), "", without_badge(title.source)])
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
