"""The `lesson` profile (what a GPU runs) executed here on the CPU, its sizes capped.

`make test` otherwise runs every notebook in the `quick` profile, so a wrong key or a bad setting
in a `lesson` entry would only show on a GPU. This test runs each notebook that has a profile cell
(lessons 2, 3 and 4 today), every cell top to bottom with its asserts, in a fresh kernel with
SFT_COURSE_PROFILE=lesson, in a temporary folder; the stored notebooks are not touched.

What the test changes, in memory only:
- After each profile cell (`NAME = {"quick": {...}, "lesson": {...}, "demo": {...}}[env.profile]`)
  it appends two lines: an assert that the profile is `lesson`, and one that sets NAME to the
  `lesson` entry with its *sizes* capped: every key that
  ends in "steps" or "rows" takes the smallest value any profile gives it (the `demo` or `quick`
  size). Every other `lesson` setting (batch, micro_batch, ...) is kept. Sizes are capped because
  the lesson's 250 steps and 100 prompts would take an hour on this CPU. Steps are capped to what
  the CPU profiles run, not lower, because the cells assert that the model learns ("the loss
  should at least halve", "the house-style score rises by 0.35"), and a CPU profile's step count
  is the least that the course knows to pass them (lesson 2 with 6 steps of 8 conversations did
  not halve its loss). Measured on 2 CPU cores: lesson 2 374 s, lesson 3 344 s, lesson 4 68 s.
- A first cell points `helpers.training.LESSON2_MODEL_DIR` at this test's folder, so lesson 4
  evaluates the model that the capped lesson 2 saved there (as the lessons chain in notebooks/)
  instead of the repository's notebooks/outputs.

What it assumes of a notebook: a profile cell is a top-level `NAME = {...}[env.profile]` whose
dict holds only literals, with the profiles "quick", "lesson" and "demo" setting the same keys;
step and row counts are integers under keys ending in "steps" or "rows"; `env` is the notebook's
`detect()` result; lesson 2 saves its model to outputs/smollm2-support-desk (relative to the
notebook) and helpers.training.LESSON2_MODEL_DIR is where lesson 4 looks for it.

Not covered here: the lesson-scale numbers themselves (steps, rows), GPU precision (fp16/bf16 on
CUDA), GPU memory and time. `make test-gpu` (scripts/test_gpu.py) runs the real profile on a GPU.
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

from helpers import training

ROOT = Path(__file__).resolve().parent.parent
ALL_NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))
SIZE_SUFFIXES = ("steps", "rows")
PROFILE = "lesson"


def profile_cells(source: str) -> list[tuple[str, dict[str, dict]]]:
    """Return (name, {profile: settings}) for each `NAME = {...}[env.profile]` statement in a cell's source."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:  # IPython-only syntax: not a profile cell
        return []
    found = []
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Subscript)
            and ast.unparse(node.value.slice) == "env.profile"
        ):
            # The per-profile dict is evaluated on its own: it must not depend on anything but literals.
            table = eval(compile(ast.Expression(node.value.value), "<profile cell>", "eval"), {})
            found.append((node.targets[0].id, table))
    return found


def capped(profiles: dict[str, dict]) -> dict:
    """Return the `lesson` settings with each step and row count lowered to the smallest any profile uses."""
    lesson = profiles[PROFILE]
    result = {}
    for key, value in lesson.items():
        if key.endswith(SIZE_SUFFIXES) and isinstance(value, int):
            value = min([value] + [settings[key] for settings in profiles.values() if key in settings])
        result[key] = value
    return result


def notebooks_with_profile_cells() -> list[Path]:
    return [path for path in ALL_NOTEBOOKS if any(profile_cells(cell.source) for cell in _code_cells(path))]


def _code_cells(path: Path) -> list:
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


NOTEBOOKS = notebooks_with_profile_cells()


def test_the_training_lessons_have_profile_cells():
    names = [path.name[:2] for path in NOTEBOOKS]
    assert {"02", "03", "04"} <= set(names), f"expected profile cells in lessons 2 to 4, found them in {names}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_profile_sets_the_same_keys(path):
    # A key the lesson entry lacks (or misspells) fails only when that profile runs: catch it here, at once.
    for cell in _code_cells(path):
        for name, profiles in profile_cells(cell.source):
            assert set(profiles) == {"quick", "lesson", "demo"}, f"{path.name}: {name} has profiles {sorted(profiles)}"
            keys = {profile: sorted(settings) for profile, settings in profiles.items()}
            assert len({tuple(k) for k in keys.values()}) == 1, f"{path.name}: {name}'s profiles differ in keys: {keys}"


def rewritten(path: Path, lesson2_model_dir: Path) -> tuple[nbformat.NotebookNode, dict[str, dict]]:
    """Return the notebook with its profile cells capped (and lesson 2's model folder redirected), and the caps."""
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
    assert hasattr(training, "LESSON2_MODEL_DIR"), "helpers.training.LESSON2_MODEL_DIR is gone: update this test"
    setup = nbformat.v4.new_code_cell(
        "import helpers.training\n"
        f"helpers.training.LESSON2_MODEL_DIR = __import__('pathlib').Path({str(lesson2_model_dir)!r})"
    )
    setup.metadata["injected_by_test"] = True
    notebook.cells.insert(0, setup)
    return notebook, caps


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One folder for the whole module, so lesson 4 finds the model the capped lesson 2 saved."""
    return tmp_path_factory.mktemp("lesson-profile")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_in_the_lesson_profile_capped(path, workdir, monkeypatch):
    monkeypatch.setenv("SFT_COURSE_PROFILE", PROFILE)
    notebook, caps = rewritten(path, workdir / "outputs" / "smollm2-support-desk")
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=900, record_timing=False, resources={"metadata": {"path": str(workdir)}}
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        original = [cell for cell in notebook.cells if not cell.metadata.get("injected_by_test")]
        failed = next(
            (index for index, cell in enumerate(original)
             if any(output.output_type == "error" for output in cell.get("outputs", []))),
            None,
        )
        pytest.fail(
            f"{path.name}, cell {failed} (0-based, as stored), run with SFT_COURSE_PROFILE={PROFILE} and "
            f"{json.dumps(caps)}:\n" + re.sub(r"\x1b\[[0-9;]*m", "", str(error)),  # without terminal colours
            pytrace=False,
        )
    print(f"{path.name}: {time.perf_counter() - start:.0f} s with {json.dumps(caps)}")
