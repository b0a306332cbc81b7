"""TRL's command line: a run's settings as the YAML file `trl sft --config` reads, with its data and chat template."""

from __future__ import annotations

from pathlib import Path

import yaml
from datasets import Dataset
from peft import LoraConfig
from trl import SFTConfig

from helpers.data import write_jsonl
from helpers.templates import TRAINING_CHAT_TEMPLATE

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
