"""Tests for helpers.measurements: peak memory, speed, losses and the run summary saved beside a model."""

import os
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import torch

from helpers.measurements import PeakMemory, learning_curve, losses, read_run_summary, run_summary, save_run_summary, training_speed

# ── PeakMemory ────────────────────────────────────────────────────────────────────────────────────


# Run in a fresh interpreter: after the other tests have allocated and freed gigabytes, the process can
# reuse memory it already holds, and the resident size that PeakMemory samples on a CPU need not grow.
_PEAK_OF_A_300_MB_TENSOR = """
import time, torch
from helpers.measurements import PeakMemory
assert not torch.cuda.is_available()
with PeakMemory() as peak:
    block = torch.ones(75_000_000)  # 300 MB of float32, written (so resident)
    time.sleep(0.2)
    del block
print(peak.mib)
"""


def test_peak_memory_sees_a_300_mb_tensor_on_cpu():
    environment = os.environ | {"CUDA_VISIBLE_DEVICES": ""}  # this measures resident memory
    result = subprocess.run([sys.executable, "-c", _PEAK_OF_A_300_MB_TENSOR], capture_output=True, text=True, env=environment, check=True)
    assert float(result.stdout) > 150


def test_peak_memory_of_an_empty_block_is_small():
    with PeakMemory() as peak:
        time.sleep(0.1)
    assert peak.mib < 50


# ── training_speed and losses ─────────────────────────────────────────────────────────────────────

LOG_HISTORY = [
    {"loss": 2.0, "num_tokens": 100, "step": 1},
    {"loss": 1.0, "num_tokens": 200, "step": 2},
    {"train_runtime": 4.0},
]


def _trainer(history):
    return SimpleNamespace(state=SimpleNamespace(log_history=history))


def test_training_speed_reads_runtime_and_tokens():
    assert training_speed(_trainer(LOG_HISTORY)) == {"seconds": 4.0, "tokens": 200, "tokens_per_second": 50.0}


def test_losses_in_logged_order():
    assert losses(_trainer(LOG_HISTORY)) == [2.0, 1.0]


def test_run_summary_reads_a_runs_costs():
    parameters = [torch.nn.Parameter(torch.zeros(2_000_000)), torch.nn.Parameter(torch.zeros(1_000_000), requires_grad=False)]
    model = SimpleNamespace(parameters=lambda: iter(parameters))
    state = SimpleNamespace(log_history=[
        {"loss": 2.0, "num_tokens": 100, "step": 1}, {"loss": 1.0, "num_tokens": 200, "step": 2}, {"train_runtime": 4.0},
    ])
    summary = run_summary(SimpleNamespace(model=model, state=state), peak_memory_mib=512.0)
    assert summary == {
        "trainable parameters (M)": 2.0,
        "training seconds": 4.0,
        "tokens per second": 50.0,
        "peak memory added (MiB)": 512.0,
        "final training loss": 1.0,
    }


def test_run_summary_is_read_back_as_saved(tmp_path):
    summary = {"trainable parameters (M)": 2.0, "training seconds": 4.5}
    save_run_summary(summary, tmp_path)
    assert read_run_summary(tmp_path) == summary
    with pytest.raises(FileNotFoundError, match="Run lesson 2 again"):
        read_run_summary(tmp_path / "elsewhere")


def test_a_message_comes_out_in_vietnamese_in_the_vietnamese_notebooks(vietnamese, tmp_path):
    with pytest.raises(FileNotFoundError) as english:
        read_run_summary(tmp_path)
    path = tmp_path / "run_summary.json"
    assert str(english.value) == f"{path} is missing: the run that saved this model did not record its costs. Run lesson 2 again."
    vietnamese.on()
    with pytest.raises(FileNotFoundError) as translated:
        read_run_summary(tmp_path)
    expected = vietnamese(
        "{path} is missing: the run that saved this model did not record its costs. Run lesson 2 again."
    ).format(path=path)
    assert str(translated.value) == expected != str(english.value)


def test_lesson_2s_learning_curve_is_read_from_the_benchmarks_results():
    curve = learning_curve("lesson2_full")
    assert list(curve.columns) == ["format", "category_correct", "policy_correct"]
    assert list(curve.index) == sorted(curve.index) and len(curve) >= 3
    assert curve.iloc[0]["format"] > curve.iloc[0]["policy_correct"]  # format first, content later: the lesson's point
    with pytest.raises(ValueError, match="no recipe named 'nonsense'"):
        learning_curve("nonsense")
