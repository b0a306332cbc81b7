"""Training plumbing for the lessons: precision from the hardware, speed and memory, TRL command-line files, and lesson 2's model for later lessons."""

from __future__ import annotations

import threading
from pathlib import Path

import psutil
import torch
import yaml
from peft import LoraConfig
from datasets import Dataset
from transformers import PrinterCallback, Trainer
from trl import SFTConfig, SFTTrainer

from helpers.data import load_support_desk, without_system_prompt, write_jsonl
from helpers.environment import Environment
from helpers.models import cache_dir, load_model_and_tokenizer
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


def training_speed(trainer: Trainer) -> dict[str, float]:
    """Return a finished run's seconds, tokens trained on and tokens per second (from its logged history)."""
    history = trainer.state.log_history
    seconds = next(entry["train_runtime"] for entry in reversed(history) if "train_runtime" in entry)
    tokens = max((entry["num_tokens"] for entry in history if "num_tokens" in entry), default=0)
    return {"seconds": seconds, "tokens": tokens, "tokens_per_second": tokens / seconds}


def losses(trainer: Trainer) -> list[float]:
    """Return the training losses a run logged, in order."""
    return [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]


def run_summary(trainer: Trainer, peak_memory_mib: float, scores: dict[str, float]) -> dict[str, float]:
    """Return one column of lesson 2's comparison table: size, speed, memory, loss and scores (score_replies') of a finished run."""
    speed = training_speed(trainer)
    return {
        "trainable parameters (M)": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad) / 1e6,
        "training seconds": speed["seconds"],
        "tokens per second": speed["tokens_per_second"],
        "peak memory added (MiB)": peak_memory_mib,
        "final training loss": losses(trainer)[-1],
        "format (all five checks)": scores["format"],
        "content (category and policy right)": scores["content"],
    }


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
QUICK_MODEL_NAME = "smollm2-support-desk-quick"
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
    "seed": 42,
}


def quick_fine_tune_config(env: Environment, output_dir: str | Path) -> SFTConfig:
    """Return the SFTConfig of lesson 2's quick full fine-tuning run, with precision picked for this hardware."""
    return SFTConfig(
        output_dir=str(output_dir),
        max_steps=QUICK_RUN["steps"],
        per_device_train_batch_size=QUICK_RUN["micro_batch"],
        gradient_accumulation_steps=QUICK_RUN["batch"] // QUICK_RUN["micro_batch"],
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=env.device == "cpu",
        **QUICK_SETTINGS,
        **pick_precision(env)[0],
    )


def fine_tuned_model_dir(env: Environment) -> tuple[Path, str]:
    """Return the folder of lesson 2's fine-tuned model and where it came from, training and caching it if absent."""
    if (LESSON2_MODEL_DIR / "model.safetensors").exists():
        return LESSON2_MODEL_DIR, "lesson 2's output (notebooks/outputs/smollm2-support-desk)"
    cached = cache_dir() / "models" / QUICK_MODEL_NAME
    shown = str(cached).replace(str(Path.home()), "~")
    if (cached / "model.safetensors").exists():
        return cached, f"the course cache ({shown}), trained earlier because lesson 2 had not run"
    print(f"Lesson 2's model is not here: training its quick run now (about 5 minutes on a CPU), into {shown}")
    model, tokenizer = load_model_and_tokenizer("base", verbose=False)
    use_training_template(tokenizer)
    # Lesson 2 trains without the guidelines system prompt, and lesson 4 asks without it.
    rows = load_support_desk("train").shuffle(seed=42).select(range(QUICK_RUN["train_rows"])).map(without_system_prompt)
    trainer = SFTTrainer(
        model=model, args=quick_fine_tune_config(env, cached / "run"), train_dataset=rows, processing_class=tokenizer
    )
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    trainer.save_model(str(cached))
    return cached, f"the course cache ({shown}), trained just now because lesson 2 had not run"
