"""Conventions every stored notebook keeps, so that nbval replays it and its outputs can be shared."""

import json
from pathlib import Path

import pytest

from helpers.course import course_notebooks

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = course_notebooks(ROOT)


def _code_cells(path: Path) -> list[dict]:
    return [cell for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_compared_cells_do_not_rely_on_a_trailing_semicolon(path):
    # nbval runs cells without storing history, and IPython then ignores a trailing ";":
    # the cell's value shows up in the test run although the stored notebook has none.
    for cell in _code_cells(path):
        source = "".join(cell["source"])
        if "nbval-ignore-output" not in cell["metadata"].get("tags", []):
            assert not source.rstrip().endswith(";"), f"{path.name}: ends with ';' in a compared cell:\n{source}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_nbval_markers_are_cell_tags_not_comments_a_learner_reads(path):
    for cell in _code_cells(path):
        source = "".join(cell["source"])
        assert "# NBVAL_" not in source, f"{path.name}: use the cell tag nbval-ignore-output or nbval-skip:\n{source}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_stored_outputs_carry_no_machine_paths_or_tokens(path):
    text = json.dumps([cell.get("outputs", []) for cell in _code_cells(path)])
    for marker in ("/root/", "/home/", "/work/", "/tmp/", "write_token="):
        assert marker not in text, f"{path.name}: a stored output contains {marker!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_notebooks_are_stored_run_top_to_bottom(path):
    counts = [cell["execution_count"] for cell in _code_cells(path)]
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: re-run it with `make notebooks`"
