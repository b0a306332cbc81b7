"""TRL's command line: a run's settings as the YAML file `trl sft --config` reads, with its data and chat template.

Also the global batch of such a run on several processes (GPUs, or CPU processes), the gradient
accumulation that keeps it when the number of processes changes, and launching such runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import psutil
import yaml
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoTokenizer, PreTrainedTokenizerBase
from trl import SFTConfig

from helpers.chat_format import chat_format
from helpers.data import write_jsonl
from helpers.i18n import _

# SFTConfig fields a run's YAML carries over; the rest keep TRL's defaults. Evaluation is left
# out: the command line reads one training file.
_CLI_FIELDS = (
    "output_dir", "learning_rate", "lr_scheduler_type", "warmup_steps", "per_device_train_batch_size",
    "gradient_accumulation_steps", "max_steps", "num_train_epochs", "max_length", "assistant_only_loss", "eos_token",
    "padding_free", "packing", "bf16", "fp16", "activation_checkpointing", "logging_steps", "save_strategy",
    "seed", "report_to",
)


def trl_cli_settings(
    config: SFTConfig,
    model_name_or_path: str,
    train_file: str | Path,
    chat_template_file: str | Path,
    lora: LoraConfig | None = None,
) -> dict:
    """Return a run's settings as the dict that TRL's command line reads from YAML (`trl sft --config`)."""
    settings: dict = {"model_name_or_path": str(model_name_or_path)}
    settings["datasets"] = [{"path": "json", "data_files": str(train_file), "split": "train"}]
    settings["chat_template_path"] = str(chat_template_file)
    for field in _CLI_FIELDS:
        value = getattr(config, field)
        settings[field] = value.value if hasattr(value, "value") else value  # enums become plain strings
    if config.max_steps > 0:
        del settings["num_train_epochs"]
    if lora is not None:
        target = lora.target_modules
        settings |= {
            "use_peft": True,
            "lora_r": lora.r,
            "lora_alpha": lora.lora_alpha,
            "lora_dropout": lora.lora_dropout,
            "lora_target_modules": target if isinstance(target, str) else sorted(target),
        }
    return settings


def write_trl_cli_files(
    config: SFTConfig,
    model_name_or_path: str,
    train_rows: Dataset,
    folder: str | Path,
    lora: LoraConfig | None = None,
    tokenizer: PreTrainedTokenizerBase | None = None,
) -> Path:
    """Write a run's data (JSON Lines), training chat template and YAML settings for `trl sft`; return the folder.

    The template is the training template of the model's chat format (helpers.chat_format), read from
    tokenizer, or from the model's own tokenizer when none is given.
    """
    tokenizer = tokenizer or AutoTokenizer.from_pretrained(model_name_or_path)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(train_rows.select_columns(["messages"]).to_list(), folder / "train.jsonl")
    (folder / "chat_template.jinja").write_text(chat_format(tokenizer).training_template)
    settings = trl_cli_settings(config, model_name_or_path, folder / "train.jsonl", folder / "chat_template.jinja", lora)
    (folder / "sft_run.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return folder


# ── the global batch on several processes ─────────────────────────────────────────────────────────

# What `trl sft` uses for a setting the YAML leaves out: SFTConfig's own default.
_DEFAULTS = {field.name: field.default for field in dataclasses.fields(SFTConfig)}


def _setting(settings: dict, name: str) -> int:
    return settings.get(name, _DEFAULTS[name])


def _check_processes(processes: int) -> None:
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(
            _("processes is the number of training processes (GPUs): a whole number of at least 1, not {processes!r}.").format(
                processes=processes
            )
        )


def global_batch(settings: dict, processes: int = 1) -> int:
    """Return the rows one optimiser step learns from: per_device_train_batch_size × processes × gradient_accumulation_steps."""
    _check_processes(processes)
    return _setting(settings, "per_device_train_batch_size") * processes * _setting(settings, "gradient_accumulation_steps")


def _remedy(settings: dict, processes: int) -> str | None:
    """Return what keeps the one-process global batch on `processes` processes when accumulation alone cannot (None when it can)."""
    target, per_device = global_batch(settings), _setting(settings, "per_device_train_batch_size")
    if target % (per_device * processes) == 0:
        return None
    if target % processes:
        return _("use a number of processes that divides {rows}").format(rows=target)
    share = target // processes  # each process's rows per optimiser step
    size = max(size for size in range(1, per_device + 1) if share % size == 0)
    return _("set per_device_train_batch_size to {size} and gradient_accumulation_steps to {steps}").format(size=size, steps=share // size)


def accumulation_for(settings: dict, processes: int) -> int:
    """Return the gradient_accumulation_steps that keep the settings' one-process global batch on `processes` processes."""
    _check_processes(processes)
    per_device = _setting(settings, "per_device_train_batch_size")
    remedy = _remedy(settings, processes)
    if remedy is not None:
        raise ValueError(
            _(
                "No gradient_accumulation_steps keeps the global batch of {rows} rows on {processes} processes "
                "with per_device_train_batch_size {per_device}: {remedy}."
            ).format(rows=global_batch(settings), processes=processes, per_device=per_device, remedy=remedy)
        )
    return global_batch(settings) // (per_device * processes)


def batch_change(settings: dict, processes: int) -> str:
    """Return one sentence for the learner: the global batch on `processes` processes, and the accumulation that keeps it."""
    one, many = global_batch(settings), global_batch(settings, processes)
    if processes == 1:
        return _("On one process the global batch is {rows} rows per optimiser step.").format(rows=one)
    remedy = _remedy(settings, processes)
    if remedy is not None:
        return _(
            "On {processes} processes the global batch grows from {one} to {many} rows per optimiser step, "
            "and no gradient_accumulation_steps brings it back to {one}: {remedy}."
        ).format(processes=processes, one=one, many=many, remedy=remedy)
    return _(
        "On {processes} processes the global batch grows from {one} to {many} rows per optimiser step; "
        "gradient_accumulation_steps: {steps} keeps it at {one}."
    ).format(processes=processes, one=one, many=many, steps=accumulation_for(settings, processes))


# ── launching a run ───────────────────────────────────────────────────────────────────────────────

# What Trainer.save_model writes last: in the output folder itself (checkpoints go in checkpoint-N folders),
# so its presence means the run's final save is done.
SAVED_MARKER = "training_args.bin"
# How long a run's processes may take to exit once the final model is saved before the run counts as hung in
# PyTorch's teardown. A healthy two-process run exits within about 3 s of saving, even with both cores busy
# (benchmarks/cli_exit_time.py), and a hung one never does: each second of grace is a second lost per hang.
EXIT_GRACE_S = 15


@dataclasses.dataclass
class Launched:
    """One launched command: its exit code (None where it was ended), its output, and whether it hung after saving."""

    returncode: int | None
    output: str
    hung_after_saving: bool = False

    @property
    def succeeded(self) -> bool:
        """Return whether the command exited with 0, or saved its model and then hung as it tore down."""
        return self.returncode == 0 or self.hung_after_saving


def launch(
    *commands: Sequence[str], saves: str | Path, logs: str | Path, timeout_s: float | None = None, env: dict | None = None
) -> list[Launched]:
    """Return what each command did, run at once (each `trl sft` or `accelerate launch`), their output kept in logs/N.log.

    Like subprocess.run, plus what several processes need: when one command fails, or timeout_s passes, every
    one is ended with the processes it started. And when the run has saved its model in `saves` but a process
    does not exit within EXIT_GRACE_S, all are ended and the run counts as done, saying so on stderr: on a CPU,
    PyTorch now and then deadlocks as it tears down the processes' gloo group, after the work is done
    (pytorch/pytorch#75097). Not for a run that pushes to the Hub after saving.
    """
    saved_marker = Path(saves) / SAVED_MARKER
    logs = Path(logs)
    logs.mkdir(parents=True, exist_ok=True)
    running = []
    for number, command in enumerate(commands):
        with open(logs / f"{number}.log", "w") as log:
            # A session of its own: ending its group ends what it started in that group too.
            running.append(subprocess.Popen(list(command), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    started, started_at, saved_at, hung = time.monotonic(), time.time(), None, False
    started_processes: dict[int, psutil.Process] = {}
    try:
        while None in [process.poll() for process in running]:  # a list: poll every one, to see any that failed
            # torchrun starts each worker in a session of its own: remember them, to end them too.
            for process in running:
                started_processes |= started_by(process.pid)
            if any(process.returncode not in (None, 0) for process in running):
                break
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                break
            # Saved by this run: a model left in the folder by an earlier run does not count.
            if saved_at is None and saved_marker.exists() and saved_marker.stat().st_mtime >= started_at:
                saved_at = time.monotonic()
            if saved_at is not None and time.monotonic() - saved_at > EXIT_GRACE_S:
                hung = True
                break
            time.sleep(0.5)
    finally:
        end_all(running, started_processes)
    if hung:
        # Printed rather than warnings.warn: a warning from a notebook cell names the kernel's temporary file.
        print(
            _(
                "The run saved its model in {folder}, then a process did not exit within {seconds} s: PyTorch's gloo "
                "teardown hang (pytorch/pytorch#75097), which comes after the work is done. Its processes were ended."
            ).format(folder=saves, seconds=EXIT_GRACE_S),
            file=sys.stderr,
        )
    return [
        Launched(None if hung and process.returncode < 0 else process.returncode, (logs / f"{number}.log").read_text(), hung)
        for number, process in enumerate(running)
    ]


def started_by(pid: int) -> dict[int, psutil.Process]:
    """Return the processes a process started, at any depth, by id (none once it has exited)."""
    try:
        return {child.pid: child for child in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return {}


def end_all(running: Sequence[subprocess.Popen], started: dict[int, psutil.Process]) -> None:
    """End the commands still running (each with its process group) and every process they started (started_by)."""
    for process in running:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    for leftover in started.values():
        with contextlib.suppress(psutil.Error):
            if leftover.is_running():  # psutil checks that it is the process it saw, not a new one with its id
                leftover.kill()
    psutil.wait_procs(started.values(), timeout=10)
