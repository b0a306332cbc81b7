"""Restart and run every notebook top to bottom, storing its outputs in place (what nbval replays).

Usage: make notebooks                     (all lessons and solutions)
       make notebooks NOTEBOOKS=notebooks/01_chat_templates.ipynb
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def notebooks_to_run(arguments: list[str]) -> list[Path]:
    """Return the notebooks named on the command line, or every lesson and solution."""
    if arguments:
        return [Path(argument).resolve() for argument in arguments]
    return sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))


def is_live_only(output: dict) -> bool:
    """Return whether an output only works while its kernel runs: trackio's embedded dashboard (a local URL with a session token)."""
    return "write_token=" in output.get("data", {}).get("text/html", "")


def run(path: Path) -> float:
    """Execute one notebook in a fresh kernel, in its own folder, save it, and return the seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    # record_timing=False keeps run timestamps out of the stored notebook, so diffs show real changes.
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=900,
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [output for output in cell.outputs if not is_live_only(output)]
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(notebook, path)
    return time.perf_counter() - start


if __name__ == "__main__":
    for path in notebooks_to_run(sys.argv[1:]):
        seconds = run(path)
        print(f"{path.relative_to(ROOT)}: {seconds:.0f} s")
