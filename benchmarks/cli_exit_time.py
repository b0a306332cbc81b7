"""How long a two-process `trl sft` run on the CPU takes to exit after saving its model, and how often it hangs.

helpers.trl_cli.launch ends a run whose processes have not exited EXIT_GRACE_S after the model was saved
(PyTorch's gloo teardown hang, pytorch/pytorch#75097). This measures what that grace must cover: lesson 2b's
command (`trl sft --use_cpu true --multi_gpu --num_processes 2`), on lesson 2's recipe for 2 steps of 4
conversations, started without launch, timed from the write of training_args.bin (Trainer.save_model's last
file) to the exit of the command. A run still running `--cap` seconds after saving counts as hung and is ended.
`--busy N` keeps N busy processes running meanwhile, as `make test`'s two workers keep the cores busy.

Usage (from the repository root; offline is fine; nothing else should run on the machine):
  .venv/bin/python benchmarks/cli_exit_time.py --runs 8 --busy 2
Writes benchmarks/results/cli_exit_time.json and prints one line per run and a summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.environment import default_environment  # noqa: E402  (imports no Hugging Face library)

default_environment(Path(__file__).resolve().parent.parent / "offline.env")  # before they are imported

from helpers.environment import detect  # noqa: E402
from helpers.models import prepare_model_location  # noqa: E402
from helpers.recipe import sft_config, training_rows  # noqa: E402
from helpers.trl_cli import SAVED_MARKER, end_all, started_by, write_trl_cli_files  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
PROCESSES = 2


def _spin() -> None:
    while True:
        pass


def one_run(folder: Path, output_dir: Path, cap_s: float) -> dict:
    """Return one run's exit code, its seconds in all, and its seconds from saving to exiting (None if it never saved)."""
    command = [
        sys.executable, "-m", "trl.cli.main", "sft", "--config", str(folder / "sft_run.yaml"), "--output_dir", str(output_dir),
        "--use_cpu", "true", "--multi_gpu", "--num_processes", str(PROCESSES),
    ]
    marker = output_dir / SAVED_MARKER
    start = time.time()
    with open(output_dir.with_suffix(".log"), "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    workers = {}
    while process.poll() is None and not (marker.exists() and time.time() - marker.stat().st_mtime > cap_s):
        workers |= started_by(process.pid)  # torchrun starts each worker in a session of its own: remember them
        time.sleep(0.1)
    hung = process.poll() is None
    end = time.time()
    end_all([process], workers)
    return {
        "returncode": process.returncode, "hung": hung, "total_s": round(end - start, 1),
        "exit_after_save_s": round(end - marker.stat().st_mtime, 2) if marker.exists() and not hung else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--busy", type=int, default=0, help="busy processes kept running meanwhile")
    parser.add_argument("--cap", type=float, default=60, help="seconds after saving that count as hung")
    args = parser.parse_args()

    env = detect()
    train_rows, unused = training_rows(8, 0)
    config = dataclasses.replace(sft_config(env, "unused", {"steps": 2, "batch": 4, "micro_batch": 2}), bf16=False, fp16=False)
    busy = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for process in busy:
        process.start()
    runs = []
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder = write_trl_cli_files(config, prepare_model_location("base")[0], train_rows, Path(scratch) / "cli")
            for number in range(args.runs):
                runs.append(one_run(folder, Path(scratch) / f"run{number}", args.cap))
                print(runs[-1], flush=True)
    finally:
        for process in busy:
            process.terminate()
    healthy = [run["exit_after_save_s"] for run in runs if run["exit_after_save_s"] is not None]
    summary = {
        "runs": len(runs), "busy_processes": args.busy, "cores": os.cpu_count(), "cap_s": args.cap,
        "hung": sum(run["hung"] for run in runs), "failed": sum(not run["hung"] and run["returncode"] != 0 for run in runs),
        "exit_after_save_s": {"min": min(healthy, default=None), "max": max(healthy, default=None)},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cli_exit_time.json").write_text(json.dumps({"summary": summary, "runs": runs}, indent=1) + "\n")
    print(summary)


if __name__ == "__main__":
    main()
