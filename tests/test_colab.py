"""Tests for helpers.colab and the Colab cells in every notebook: a no-op locally, the right commands on Colab."""

import os
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from helpers import colab
from helpers.colab import BRANCH, CHECKOUT, REPO_URL, badge_markdown, colab_url, setup_cell, setup_commands
from helpers.course import course_notebooks
from helpers.i18n import LANGUAGE_VARIABLE, catalogue

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = course_notebooks(ROOT)


@pytest.fixture
def recorded(monkeypatch):
    """Record subprocess.run, os.chdir and install_on_colab calls instead of running them."""
    calls = {"run": [], "chdir": [], "install": 0}
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: calls["run"].append(command))
    monkeypatch.setattr(os, "chdir", lambda path: calls["chdir"].append(path))
    monkeypatch.setattr(colab, "install_on_colab", lambda: calls.__setitem__("install", calls["install"] + 1))
    monkeypatch.setattr(sys, "path", list(sys.path))
    return calls


def _on_colab(monkeypatch, checked_out: bool):
    google = types.ModuleType("google")
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    real_isdir = os.path.isdir
    monkeypatch.setattr(os.path, "isdir", lambda path: checked_out if path == CHECKOUT else real_isdir(path))


LESSON, SOLUTION = "notebooks/01_chat_templates.ipynb", "notebooks/solutions/01_chat_templates_solutions.ipynb"


def test_setup_cell_does_nothing_locally(recorded, monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(setup_cell(LESSON), {})
    assert recorded == {"run": [], "chdir": [], "install": 0}


def test_setup_cell_on_colab_clones_installs_and_moves_into_the_notebooks(recorded, monkeypatch):
    _on_colab(monkeypatch, checked_out=False)
    exec(setup_cell(LESSON), {})
    assert recorded["run"] == [["git", "clone", "--quiet", "--depth", "1", "--branch", BRANCH, REPO_URL, CHECKOUT]]
    assert recorded["install"] == 1
    assert recorded["chdir"] == [f"{CHECKOUT}/notebooks"]


def test_setup_cell_on_colab_runs_once(recorded, monkeypatch):
    _on_colab(monkeypatch, checked_out=True)
    exec(setup_cell(LESSON), {})
    assert recorded["run"] == [] and recorded["install"] == 0
    assert recorded["chdir"] == [f"{CHECKOUT}/notebooks"]


def test_a_solution_on_colab_moves_into_its_own_folder_as_in_jupyterlab(recorded, monkeypatch):
    """So that "../outputs/..." (lesson 2's model, read by its solutions) is the same folder on Colab as locally."""
    _on_colab(monkeypatch, checked_out=True)
    exec(setup_cell(SOLUTION), {})
    assert recorded["chdir"] == [f"{CHECKOUT}/notebooks/solutions"]


def test_colab_commands_install_the_pins_but_keep_colabs_torch_and_notebook_stack():
    install_pins, install_helpers = setup_commands(ROOT)
    assert install_pins[:5] == [sys.executable, "-m", "pip", "install", "--quiet"]
    pins = install_pins[5:]
    names = {pin.split("==")[0].lower() for pin in pins}
    assert {"transformers", "trl", "peft", "datasets", "accelerate"} <= names
    assert not names & {"torch", "ipykernel", "ipywidgets", "jupyterlab", "nbval", "pytest"}
    assert all("==" in pin for pin in pins), "every package Colab installs is pinned"
    assert install_helpers[-3:] == ["--no-deps", "--editable", str(ROOT)]


def test_install_on_colab_runs_the_commands_then_restarts(monkeypatch, capsys):
    ran, killed = [], []
    monkeypatch.setattr(subprocess, "run", lambda command, check: ran.append(command))
    monkeypatch.setattr(os, "kill", lambda pid, signal: killed.append((pid, signal)))
    colab.install_on_colab(ROOT)
    assert ran == setup_commands(ROOT)
    assert killed == [(os.getpid(), 9)]
    assert "run this cell again" in capsys.readouterr().out


def test_colab_url_points_at_the_notebook_on_the_main_branch():
    url = colab_url("notebooks/01_chat_templates.ipynb")
    assert url.startswith("https://colab.research.google.com/github/")
    assert url.endswith(f"/blob/{BRANCH}/notebooks/01_chat_templates.ipynb")
    assert REPO_URL.removeprefix("https://github.com/") in url


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_notebook_opens_with_its_badge_and_the_setup_cell(path):
    notebook = nbformat.read(path, as_version=4)
    relative = path.relative_to(ROOT).as_posix()
    assert notebook.cells[0].source.splitlines()[0] == badge_markdown(relative), "run `python -m scripts.colab_cells`"
    assert notebook.cells[1].cell_type == "code" and notebook.cells[1].source == setup_cell(relative)
    assert notebook.cells[1].outputs == [], "the set-up cell prints nothing on a local machine"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_the_repository_address_comes_only_from_helpers_colab(path):
    notebook = nbformat.read(path, as_version=4)
    rest = "\n".join(cell.source for cell in notebook.cells[2:])
    assert REPO_URL.removeprefix("https://") not in rest


def test_a_vietnamese_notebooks_setup_cell_makes_the_helpers_speak_vietnamese(recorded, monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setenv(LANGUAGE_VARIABLE, "")
    exec(setup_cell("notebooks/vi/01_chat_templates.ipynb"), {})
    assert os.environ[LANGUAGE_VARIABLE] == "vi" and recorded["run"] == []  # locally too, not only on Colab
    monkeypatch.setenv(LANGUAGE_VARIABLE, "")
    exec(setup_cell(LESSON), {})
    assert os.environ[LANGUAGE_VARIABLE] == ""


def test_a_vietnamese_setup_cell_is_commented_in_vietnamese():
    english, vietnamese = setup_cell(LESSON), setup_cell("notebooks/vi/solutions/01_chat_templates_solutions.ipynb")
    assert english.splitlines()[0] != vietnamese.splitlines()[0]
    assert vietnamese.splitlines()[0] == "# " + catalogue("vi").gettext(english.splitlines()[0].removeprefix("# "))
    assert vietnamese.endswith('os.chdir("/content/sft-course/notebooks/vi/solutions")')
