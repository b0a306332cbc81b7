"""What a training run measured: peak memory, speed, losses, trainable parameters, the summary saved beside its model;
and what the course's benchmarks measured (benchmarks/results/)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pandas as pd
import psutil
import torch
from transformers import Trainer

from helpers.i18n import N_, _


class PeakMemory:
    """Context manager measuring the peak memory (MiB) a block adds: GPU memory on CUDA, resident memory on a CPU."""

    def __init__(self, interval_seconds: float = 0.02):
        self.interval_seconds = interval_seconds
        self.mib = 0.0

    def __enter__(self) -> PeakMemory:
        self._cuda = torch.cuda.is_available()
        if self._cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._start = torch.cuda.memory_allocated()
            return self
        # A CPU has no peak counter that can be reset, so a thread samples the resident size. Memory the process
        # had already touched and freed can be reused without growing it, so this is a lower bound; a fresh
        # kernel (a lesson) sees its training's peak.
        process = psutil.Process()
        self._start = self._peak = process.memory_info().rss
        self._stop = threading.Event()

        def sample() -> None:
            while not self._stop.wait(self.interval_seconds):
                self._peak = max(self._peak, process.memory_info().rss)

        self._sampler = threading.Thread(target=sample, daemon=True)
        self._sampler.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._cuda:
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated()
        else:
            self._stop.set()
            self._sampler.join()
            peak = self._peak
        self.mib = (peak - self._start) / 2**20


def training_speed(trainer: Trainer) -> dict[str, float]:
    """Return a finished run's seconds, tokens trained on and tokens per second (from its logged history)."""
    history = trainer.state.log_history
    seconds = next(entry["train_runtime"] for entry in reversed(history) if "train_runtime" in entry)
    tokens = max((entry["num_tokens"] for entry in history if "num_tokens" in entry), default=0)
    return {"seconds": seconds, "tokens": tokens, "tokens_per_second": tokens / seconds}


def losses(trainer: Trainer) -> list[float]:
    """Return the training losses a run logged, in order."""
    return [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]


def trainable_parameters(model: torch.nn.Module) -> int:
    """Return how many of the model's parameters training updates (requires_grad)."""
    return sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)


def run_summary(trainer: Trainer, peak_memory_mib: float) -> dict[str, float]:
    """Return what a finished run cost: trainable parameters, seconds, tokens per second, peak memory, final loss."""
    speed = training_speed(trainer)
    return {
        N_("trainable parameters (M)"): trainable_parameters(trainer.model) / 1e6,
        N_("training seconds"): speed["seconds"],
        N_("tokens per second"): speed["tokens_per_second"],
        N_("peak memory added (MiB)"): peak_memory_mib,
        N_("final training loss"): losses(trainer)[-1],
    }


RUN_SUMMARY_FILE = "run_summary.json"


def save_run_summary(summary: dict[str, float], folder: str | Path) -> Path:
    """Return the path of run_summary.json, written into the folder of the model the run saved."""
    path = Path(folder) / RUN_SUMMARY_FILE
    path.write_text(json.dumps(summary, indent=1) + "\n")
    return path


def read_run_summary(folder: str | Path) -> dict[str, float]:
    """Return the run summary saved beside a model (save_run_summary's)."""
    path = Path(folder) / RUN_SUMMARY_FILE
    if not path.exists():
        raise FileNotFoundError(
            _("{path} is missing: the run that saved this model did not record its costs. Run lesson 2 again.").format(
                path=path
            )
        )
    return json.loads(path.read_text())


BENCHMARK_RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"


def learning_curve(recipe: str, benchmark: str = "content_accuracy") -> pd.DataFrame:
    """Return a recipe's measured curve from a benchmark's results: format, category and policy on validation, by step."""
    records = [record for record in json.loads((BENCHMARK_RESULTS / f"{benchmark}.json").read_text()) if record["recipe"] == recipe]
    if not records:
        raise ValueError(_("{benchmark} measured no recipe named {recipe!r}").format(benchmark=benchmark, recipe=recipe))
    columns = {"validation_format": "format", "validation_category": "category_correct", "validation_policy": "policy_correct"}
    return pd.DataFrame(records).set_index("step")[list(columns)].rename(columns=columns)
