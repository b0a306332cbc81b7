"""Run the GPU lessons in the `lesson` profile on a CUDA GPU, with their asserts; report time, GPU memory and scores.

Usage: make test-gpu                       (the lessons helpers.course marks gpu, offline, SFT_COURSE_PROFILE=lesson)
       make test-gpu GPU_NOTEBOOKS=notebooks/03_validation_monitoring.ipynb

Each notebook runs top to bottom in a fresh kernel, in notebooks/, as a learner's "Run all" would:
lesson 4 evaluates the model lesson 2 has just trained. Nothing is saved into the notebooks; what
they write goes to notebooks/outputs/ (git ignores it, `make clean` removes it). A failing cell is
shown, the other notebooks still run, and the exit status is 1.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from helpers.course import LESSONS, lesson_notebook

ROOT = Path(__file__).resolve().parent.parent

# Run first, in the notebook's kernel: keep the peak that lesson 2's PeakMemory resets, so the
# report gives the whole notebook's peak.
KEEP_PEAKS = """\
import torch as _torch
_peaks, _reset_peaks = [0], _torch.cuda.reset_peak_memory_stats
def _keep_peak_then_reset(*args, **kwargs):
    _peaks.append(_torch.cuda.max_memory_allocated())
    _reset_peaks(*args, **kwargs)
_torch.cuda.reset_peak_memory_stats = _keep_peak_then_reset
"""

# Run last: the notebook's small numeric tables (score dicts, perplexities, RUN, ...) as JSON.
REPORT = """\
import json as _json, numbers as _numbers
def _numeric(_value):
    try:
        if hasattr(_value, "to_dict") and getattr(_value, "size", 99) <= 60:  # a small pandas Series or DataFrame
            _value = _value.to_dict()
        if isinstance(_value, dict) and 0 < len(_value) <= 60:
            _items = {str(_k): _numeric(_v) for _k, _v in _value.items()}
            return _items if all(_v is not None for _v in _items.values()) else None
        if isinstance(_value, (bool, _numbers.Number)):
            return _value if isinstance(_value, (bool, int)) else round(float(_value), 4)
    except Exception:
        pass
    return None
_found = {_name: _numeric(_value) for _name, _value in list(globals().items()) if not _name.startswith("_")}
print(_json.dumps({"peak_mib": max(_peaks + [_torch.cuda.max_memory_allocated()]) / 2**20,
                   "numbers": {_name: _value for _name, _value in _found.items() if _value is not None}}))
"""


def run(path: Path) -> tuple[float, dict | None, str]:
    """Execute one notebook in memory; return its seconds, its report (None if it failed) and the error."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells = [nbformat.v4.new_code_cell(KEEP_PEAKS), *notebook.cells, nbformat.v4.new_code_cell(REPORT)]
    # Not pyproject.toml's 900 s a cell: that bounds the quick profile, and a lesson-scale cell may train longer.
    client = NotebookClient(notebook, kernel_name="python3", timeout=3600, resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        return time.perf_counter() - start, None, str(error)
    report = next(output.text for output in notebook.cells[-1].outputs if output.get("name") == "stdout")
    return time.perf_counter() - start, json.loads(report), ""


def main(arguments: list[str]) -> int:
    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else "a CUDA build"
        print(f"make test-gpu needs a CUDA GPU, and torch {torch.__version__} ({build}) sees none here; "
              "on this machine run `make test` instead (tests/test_lesson_profile.py runs the lesson profile, capped, on the CPU).",
              file=sys.stderr)
        return 1
    os.environ.setdefault("SFT_COURSE_PROFILE", "lesson")
    paths = [Path(argument).resolve() for argument in arguments] or [ROOT / lesson_notebook(lesson) for lesson in LESSONS if lesson.gpu]
    print(f"{torch.cuda.get_device_name(0)} · torch {torch.__version__} · profile {os.environ['SFT_COURSE_PROFILE']}")
    failed = []
    for path in paths:
        seconds, report, error = run(path)
        if report is None:
            failed.append(path.name)
            print(f"\n{path.name}: FAILED after {seconds:.0f} s\n{error}")
            continue
        print(f"\n{path.name}: {seconds:.0f} s, peak GPU memory {report['peak_mib']:.0f} MiB (torch, allocated)")
        for name, value in report["numbers"].items():
            print(f"  {name}: {json.dumps(value)}")
    print(f"\n{len(paths) - len(failed)} of {len(paths)} notebooks passed" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
