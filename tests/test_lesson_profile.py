"""The `lesson` profile (what a GPU runs) on the CPU: its settings checked, and run where it differs from `quick`.

`make test` runs every notebook in the `quick` profile, so a wrong key or a bad setting in a
`lesson` entry would only show on a GPU. A profile cell is a top-level
`NAME = {"quick": {...}, "lesson": {...}, "demo": {...}}[env.profile]` whose dict holds only literals.

- Every profile of a cell must set the same keys (a misspelt key fails at once, here).
- The `lesson` entry is *capped*: every size (a key ending in "steps", "rows" or "batch") takes the
  `quick` value where that is smaller, since the lesson's hundreds of steps would take an hour on
  this CPU. Not lower than `quick`: the cells assert that the model learns the task, and `quick`
  is the smallest run the course measured to pass those asserts (the `demo` run learns the
  format only, and its cells skip the content asserts).
- A notebook whose capped `lesson` entry still differs from its `quick` entry (a setting that is
  not a size) runs here, every cell top to bottom with its asserts, in a fresh kernel with
  SFT_COURSE_PROFILE=lesson, in a temporary folder. A notebook whose `lesson` entry differs only
  in sizes is the `quick` run once capped, which nbval already runs: it is listed, not run again.
  Today lessons 3 and 4 differ only in sizes, and so does lesson 2's recipe (helpers.recipe.RUNS),
  which lessons 2 and 2b read.
- Every notebook runs in one temporary folder, so lesson 4 finds the model that a capped lesson 2
  saved there (in outputs/smollm2-support-desk, relative to the notebook, as in notebooks/).

Not covered here: the lesson-scale numbers themselves (steps, rows, batches), GPU precision
(fp16/bf16 on CUDA), GPU memory and time. `make test-gpu` (scripts/test_gpu.py) runs the real
profile on a GPU.
"""

from __future__ import annotations

import ast
import json
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from helpers.course import LESSONS, course_notebooks, lesson_notebook
from helpers.recipe import RUNS
from scripts.notebook_source import without_magics

ROOT = Path(__file__).resolve().parent.parent
ALL_NOTEBOOKS = course_notebooks(ROOT)
SIZE_SUFFIXES = ("steps", "rows", "batch")
PROFILE = "lesson"


def profile_cells(source: str) -> list[tuple[str, dict[str, dict]]]:
    """Return (name, {profile: settings}) for each `NAME = {...}[env.profile]` statement in a cell's source."""
    try:
        tree = ast.parse(without_magics(source))
    except SyntaxError:  # IPython-only syntax: not a profile cell
        return []
    found = []
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Subscript)
            and isinstance(node.value.value, ast.Dict)  # not `RUN = RUNS[env.profile]`, a table kept elsewhere
            and ast.unparse(node.value.slice) == "env.profile"
        ):
            # The per-profile dict is evaluated on its own: it must not depend on anything but literals.
            table = eval(compile(ast.Expression(node.value.value), "<profile cell>", "eval"), {})
            found.append((node.targets[0].id, table))
    return found


def capped(profiles: dict[str, dict]) -> dict:
    """Return the `lesson` settings with each size (steps, rows, batch) lowered to the `quick` profile's where that is smaller."""
    lesson, quick = profiles[PROFILE], profiles["quick"]
    result = {}
    for key, value in lesson.items():
        if key.endswith(SIZE_SUFFIXES) and isinstance(value, int):
            value = min(value, quick[key])
        result[key] = value
    return result


def notebooks_with_profile_cells() -> list[Path]:
    return [path for path in ALL_NOTEBOOKS if any(profile_cells(cell.source) for cell in _code_cells(path))]


def _code_cells(path: Path) -> list:
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


NOTEBOOKS = notebooks_with_profile_cells()


def differs_beyond_sizes(path: Path) -> bool:
    """Return whether any capped `lesson` entry of the notebook differs from its `quick` entry."""
    return any(
        capped(profiles) != profiles["quick"] for cell in _code_cells(path) for _, profiles in profile_cells(cell.source)
    )


NOTEBOOKS_TO_RUN = [path for path in NOTEBOOKS if differs_beyond_sizes(path)]


def test_the_training_lessons_have_profile_cells_or_read_lesson_2s_recipe():
    for lesson in LESSONS:
        path = ROOT / lesson_notebook(lesson)
        if lesson.trains:
            reads_recipe = any("from helpers.recipe import" in cell.source for cell in _code_cells(path))
            assert path in NOTEBOOKS or reads_recipe, f"{path.name} trains, but sizes its run neither by profile nor by helpers.recipe"


def test_lesson_2s_recipe_differs_between_lesson_and_quick_only_in_sizes():
    # Lessons 2 and 2b size their run by helpers.recipe.RUNS: capped, its `lesson` run is the `quick` run
    # nbval already runs. A setting that is not a size would need a lesson-profile run here.
    assert capped(RUNS) == RUNS["quick"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_profile_sets_the_same_keys(path):
    # A key the lesson entry lacks (or misspells) fails only when that profile runs: catch it here, at once.
    for cell in _code_cells(path):
        for name, profiles in profile_cells(cell.source):
            assert set(profiles) == {"quick", "lesson", "demo"}, f"{path.name}: {name} has profiles {sorted(profiles)}"
            keys = {profile: sorted(settings) for profile, settings in profiles.items()}
            assert len({tuple(k) for k in keys.values()}) == 1, f"{path.name}: {name}'s profiles differ in keys: {keys}"


def rewritten(path: Path) -> tuple[nbformat.NotebookNode, dict[str, dict]]:
    """Return the notebook with its profile cells capped, and the caps."""
    notebook = nbformat.read(path, as_version=4)
    caps = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for name, profiles in profile_cells(cell.source):
            caps[name] = capped(profiles)
            cell.source += (
                f"\n\n# tests/test_lesson_profile.py: the {PROFILE} profile with its sizes capped\n"
                f"assert env.profile == {PROFILE!r}, env.profile\n"
                f"{name} = {caps[name]!r}\n"
            )
    return notebook, caps


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One folder for the whole module, so lesson 4 finds the model the capped lesson 2 saved."""
    return tmp_path_factory.mktemp("lesson-profile")


def test_capping_keeps_what_is_not_a_size():
    profiles = {
        "quick": {"steps": 60, "batch": 4, "micro_batch": 4, "lr": 1},
        "lesson": {"steps": 125, "batch": 8, "micro_batch": 8, "lr": 2},
    }
    assert capped(profiles) == {"steps": 60, "batch": 4, "micro_batch": 4, "lr": 2}
    assert capped({"quick": {"steps": 60}, "lesson": {"steps": 20}}) == {"steps": 20}


@pytest.mark.parametrize("path", NOTEBOOKS_TO_RUN, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_notebook_runs_in_the_lesson_profile_capped(path, workdir, monkeypatch, pytestconfig):
    monkeypatch.setenv("SFT_COURSE_PROFILE", PROFILE)
    notebook, caps = rewritten(path)
    timeout = pytestconfig.getoption("nbval_cell_timeout")  # pyproject.toml's, as nbval uses it
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=timeout, record_timing=False, resources={"metadata": {"path": str(workdir)}}
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        failed = next(
            (index for index, cell in enumerate(notebook.cells)
             if any(output.output_type == "error" for output in cell.get("outputs", []))),
            None,
        )
        pytest.fail(
            f"{path.name}, cell {failed} (0-based, as stored), run with SFT_COURSE_PROFILE={PROFILE} and "
            f"{json.dumps(caps)}:\n" + re.sub(r"\x1b\[[0-9;]*m", "", str(error)),  # without terminal colours
            pytrace=False,
        )
    print(f"{path.name}: {time.perf_counter() - start:.0f} s with {json.dumps(caps)}")
