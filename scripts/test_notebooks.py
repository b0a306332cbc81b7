"""Run the lessons that train in the instructors' `demo` profile, top to bottom with their asserts: `make test-notebooks`.

Usage: make test-notebooks            (offline, on the CPU, SFT_COURSE_PROFILE=demo)

The lessons (helpers.course.LESSONS marked `trains`) are copied into a temporary folder laid out like
notebooks/ and run there in order, each in a fresh kernel, so lesson 4 finds the model the demo lesson 2
saved and nothing lands in notebooks/outputs/ (where the stored quick-profile runs keep theirs). Outputs
are not compared (`make test` does that, in the quick profile): a cell that raises, an assert included,
fails its notebook. Prints each notebook's time and closes with "N passed, N failed".
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from helpers.course import LESSONS, lesson_notebook
from scripts.run_notebooks import cell_timeout

ROOT = Path(__file__).resolve().parent.parent


def run(path: Path) -> tuple[float, str]:
    """Execute a notebook in its own folder without saving it; return its seconds and the error ("" when it passed)."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, kernel_name="python3", timeout=cell_timeout(), resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        return time.perf_counter() - start, str(error)
    return time.perf_counter() - start, ""


def main() -> int:
    if os.environ.get("SFT_COURSE_PROFILE") != "demo":
        print("make test-notebooks runs the demo profile: set SFT_COURSE_PROFILE=demo (the Makefile does).", file=sys.stderr)
        return 2
    lessons = [lesson_notebook(lesson) for lesson in LESSONS if lesson.trains]
    failed = []
    with tempfile.TemporaryDirectory(prefix="sft-course-demo-") as folder:
        for relative in lessons:
            copy = Path(folder) / relative
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / relative, copy)
            seconds, error = run(copy)
            print(f"{relative.as_posix()}: {'passed' if not error else 'FAILED'} in {seconds:.0f} s", flush=True)
            if error:
                failed.append(relative.as_posix())
                print(error, flush=True)
    print(f"{len(lessons) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
