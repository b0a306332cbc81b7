"""Restart and run every notebook top to bottom, storing its outputs in place (what nbval replays).

Usage: make notebooks                     (all lessons and solutions)
       make notebooks NOTEBOOKS=notebooks/01_chat_templates.ipynb
"""

from __future__ import annotations

import shlex
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
import tomllib
from nbclient import NotebookClient

from helpers.course import course_notebooks

ROOT = Path(__file__).resolve().parent.parent


def cell_timeout() -> int:
    """Return the seconds a cell may run: pyproject.toml's --nbval-cell-timeout, as `make test` allows."""
    options = shlex.split(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"])
    return int(options[options.index("--nbval-cell-timeout") + 1])


def notebooks_to_run(arguments: list[str]) -> list[Path]:
    """Return the notebooks named on the command line, or every lesson and solution."""
    if arguments:
        return [Path(argument).resolve() for argument in arguments]
    return course_notebooks(ROOT)


def is_live_only(output: dict) -> bool:
    """Return whether an output only works while its kernel runs: trackio's embedded dashboard (a local URL with a session token)."""
    return "write_token=" in output.get("data", {}).get("text/html", "")


SLOW_CELL_SECONDS = 10  # cells at least this slow are listed after each notebook


def cell_seconds(cell: nbformat.NotebookNode) -> float:
    """Return how long a code cell ran, from the timestamps nbclient records."""
    times = cell.metadata.get("execution", {})
    started, ended = times.get("iopub.execute_input"), times.get("shell.execute_reply")
    if not (started and ended):
        return 0.0
    return (datetime.fromisoformat(ended.replace("Z", "+00:00")) - datetime.fromisoformat(started.replace("Z", "+00:00"))).total_seconds()


def run(path: Path) -> float:
    """Execute one notebook in a fresh kernel, in its own folder, save it, and return the seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    # nbclient stores the widgets this run displays and leaves an earlier run's otherwise: start clean.
    notebook.metadata.pop("widgets", None)
    start = time.perf_counter()
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=cell_timeout(),
        record_timing=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    finally:  # the slow cells are worth knowing when a cell fails, too
        for number, cell in enumerate(notebook.cells):
            seconds = cell_seconds(cell) if cell.cell_type == "code" else 0.0
            if seconds >= SLOW_CELL_SECONDS:
                first_line = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")), "")
                print(f"  cell {number}: {seconds:.0f} s  {first_line[:70]}", flush=True)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [output for output in cell.outputs if not is_live_only(output)]
            # Run timestamps stay out of the stored notebook, so diffs show real changes.
            cell.metadata.pop("execution", None)
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(notebook, path)
    return time.perf_counter() - start


if __name__ == "__main__":
    for path in notebooks_to_run(sys.argv[1:]):
        seconds = run(path)
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {seconds:.0f} s")
