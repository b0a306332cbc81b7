"""Training plumbing for the lessons: precision from the hardware, speed and memory, TRL command-line files,
and lesson 2's model for later lessons."""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading
from pathlib import Path

import psutil
import torch
import yaml
from datasets import Dataset
from peft import LoraConfig
from transformers import PreTrainedModel, PrinterCallback, Trainer
from trl import SFTConfig, SFTTrainer

from helpers.data import lesson2_rows, write_jsonl
from helpers.environment import Environment
from helpers.models import cache_dir, load_model_and_tokenizer, staged_folder
from helpers.templates import END_OF_TURN, TRAINING_CHAT_TEMPLATE, use_training_template


def pick_precision(env: Environment) -> tuple[dict[str, bool], str]:
    """Return SFTConfig's precision flags for this hardware ({"bf16": ..., "fp16": ...}) and the reason."""
    if env.device == "cuda" and env.bf16:
        return {"bf16": True, "fp16": False}, f"{env.device_name} supports bf16"
    if env.device == "cuda":
        return {"bf16": False, "fp16": True}, f"{env.device_name} has no bf16 (a Colab T4, say): fp16 mixed precision"
    if env.device == "cpu" and env.bf16:
        return {"bf16": True, "fp16": False}, "this CPU computes bf16 natively (AMX or AVX512-BF16): bf16 autocast"
    return {"bf16": False, "fp16": False}, f"no fast half precision on this {env.device_name}: float32"


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
        # A CPU has no peak counter that can be reset, so a thread samples the resident size.
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


def without_autocast(trainer: Trainer) -> PreTrainedModel:
    """Return the trainer's model computing in its own precision again: train() leaves mixed precision's autocast on its forward."""
    # accelerate wraps the model's forward in torch.autocast for bf16/fp16 training and leaves it there, so
    # a model scored in the training session would compute in 16 bits, and a copy reloaded from disk not.
    return trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)


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
        "trainable parameters (M)": trainable_parameters(trainer.model) / 1e6,
        "training seconds": speed["seconds"],
        "tokens per second": speed["tokens_per_second"],
        "peak memory added (MiB)": peak_memory_mib,
        "final training loss": losses(trainer)[-1],
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
        raise FileNotFoundError(f"{path} is missing: the run that saved this model did not record its costs. Run lesson 2 again.")
    return json.loads(path.read_text())


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
) -> Path:
    """Write a run's data (JSON Lines), training chat template and YAML settings for `trl sft`; return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(train_rows.select_columns(["messages"]).to_list(), folder / "train.jsonl")
    (folder / "chat_template.jinja").write_text(TRAINING_CHAT_TEMPLATE)
    settings = trl_cli_settings(config, model_name_or_path, folder / "train.jsonl", folder / "chat_template.jinja", lora)
    (folder / "sft_run.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return folder


# Where lesson 2 saves its fully fine-tuned model (its notebook runs in notebooks/), and where the
# course caches a stand-in when lesson 2 has not run.
LESSON2_MODEL_DIR = Path(__file__).resolve().parent.parent / "notebooks" / "outputs" / "smollm2-support-desk"
CACHED_MODEL_PREFIX = "smollm2-support-desk"  # then "-<rows>-rows", one folder per size of lesson 2's run
# Lesson 2's quick profile, as its RUN and SFTConfig cells set it (tests/test_training.py checks they agree).
QUICK_RUN = {"train_rows": 240, "steps": 60, "batch": 4, "micro_batch": 4}
QUICK_SETTINGS = {
    "learning_rate": 4e-4,
    "lr_scheduler_type": "cosine",
    "warmup_steps": 0,
    "assistant_only_loss": True,
    # TRL makes this the tokenizer's eos and adds it to the model's generation config, so the trained
    # model stops at the end of its turn: a base model's config stops only at <|endoftext|>.
    "eos_token": END_OF_TURN,
    "activation_checkpointing": False,
    "logging_steps": 5,
    "logging_first_step": True,  # step 1's loss is the untrained model's: LoRA's and full fine-tuning's agree there
    "seed": 42,
}


def lesson2_config(env: Environment, output_dir: str | Path, run: dict | None = None) -> SFTConfig:
    """Return the SFTConfig of lesson 2's full fine-tuning for a RUN entry (QUICK_RUN unless given), precision picked for this hardware."""
    run = run or QUICK_RUN
    return SFTConfig(
        output_dir=str(output_dir),
        max_steps=run["steps"],
        per_device_train_batch_size=run["micro_batch"],
        gradient_accumulation_steps=run["batch"] // run["micro_batch"],
        save_strategy="no",
        report_to="none",
        use_cpu=env.device == "cpu",
        **QUICK_SETTINGS,
        **pick_precision(env)[0],
    )


def fine_tuned_model_dir(env: Environment, run: dict | None = None) -> tuple[Path, str]:
    """Return the folder of lesson 2's model and where it came from, training its run (QUICK_RUN unless given) into a cache if absent."""
    if (LESSON2_MODEL_DIR / "model.safetensors").exists():
        return LESSON2_MODEL_DIR, "lesson 2's output (notebooks/outputs/smollm2-support-desk)"
    run = run or QUICK_RUN
    cached = cache_dir() / "models" / f"{CACHED_MODEL_PREFIX}-{run['train_rows']}-rows"
    shown = str(cached).replace(str(Path.home()), "~")
    if (cached / RUN_SUMMARY_FILE).exists():
        return cached, f"the course cache ({shown}), trained earlier because lesson 2 had not run"
    print(
        f"Lesson 2's model is not here: training its run now ({run['steps']} steps of {run['batch']} conversations; "
        f"about 4 minutes on a CPU in the quick profile), into {shown}"
    )
    model, tokenizer = load_model_and_tokenizer("base", verbose=False)
    use_training_template(tokenizer)
    train_rows, _ = lesson2_rows(run["train_rows"], 0)
    shutil.rmtree(cached, ignore_errors=True)  # a cache from before run summaries were saved
    with staged_folder(cached) as staging:
        trainer = SFTTrainer(
            model=model,
            args=dataclasses.replace(lesson2_config(env, staging / "run", run), disable_tqdm=True),
            train_dataset=train_rows,
            processing_class=tokenizer,
        )
        trainer.remove_callback(PrinterCallback)
        with PeakMemory() as memory:
            trainer.train()
        trainer.save_model(str(staging))
        save_run_summary(run_summary(trainer, memory.mib), staging)
        shutil.rmtree(staging / "run", ignore_errors=True)
    return cached, f"the course cache ({shown}), trained just now because lesson 2 had not run"
