"""Checks for lesson 2's exercises (supervised fine-tuning)."""

from __future__ import annotations

import copy
import dataclasses
import torch
from peft import LoraConfig, get_peft_model
from trl import DatasetMixtureConfig, ModelConfig, ScriptArguments, SFTConfig, TrlParser

from helpers.exercises import Feedback, failed, not_attempted, passed
from helpers.models import load_model_and_tokenizer
from helpers.training import QUICK_SETTINGS

# Arguments renamed across TRL/transformers releases: the old name, and what replaced it.
_RENAMED = {
    "max_seq_length": "max_length",
    "evaluation_strategy": "eval_strategy",
}
_ATTENTION = {"q_proj", "k_proj", "v_proj", "o_proj"}


def unknown_argument(settings: dict) -> Feedback | None:
    """Return failing Feedback naming the first key that is not an SFTConfig argument (or renamed), else None."""
    known = {field.name for field in dataclasses.fields(SFTConfig)}
    for name in settings:
        if name in _RENAMED and name not in known:
            return failed(f"SFTConfig has no argument {name!r} any more.", f"it is called {_RENAMED[name]} now.")
        if name not in known:
            return failed(f"SFTConfig has no argument {name!r}.", "check the spelling against the config in this lesson.")
    return None


def check_t4_settings(settings: dict | None) -> Feedback:
    """Return Feedback, truthy when settings are SFTConfig arguments fit for a Colab T4 (easy)."""
    if settings is None:
        return not_attempted("a dict of SFTConfig arguments")
    if not isinstance(settings, dict):
        return failed(f"Expected a dict of SFTConfig arguments, got {type(settings).__name__}.")
    unknown = unknown_argument(settings)
    if unknown is not None:
        return unknown
    if settings.get("bf16", True):
        return failed(
            "bf16 is on (TRL's SFTConfig turns it on unless you say otherwise), and a T4 has no bf16.",
            "set bf16=False explicitly.",
        )
    if not settings.get("fp16"):
        return failed("The T4 would train in float32: slower and twice the memory.", "fp16=True uses its half precision.")
    if not settings.get("assistant_only_loss"):
        return failed("The run would learn the guidelines and questions too.", "assistant_only_loss=True.")
    if settings.get("report_to", "none") not in ("none", ["none"], []):
        return failed("No tracker should be on unless the learner opts in.", 'report_to="none".')
    if settings.get("use_cpu"):
        return failed("use_cpu=True would leave the T4 idle.", "drop use_cpu (or set it to False).")
    return passed("A T4-ready config: fp16 mixed precision, no bf16, assistant-only loss, no tracker.")


def _trainable_percent(lora: LoraConfig) -> float:
    model, _ = load_model_and_tokenizer("base", verbose=False)
    peft_model = get_peft_model(model, copy.deepcopy(lora))
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    return 100 * trainable / sum(p.numel() for p in peft_model.parameters())


def check_lora_budget(lora: LoraConfig | None, trainable_percent: float | None) -> Feedback:
    """Return Feedback, truthy for a rank-8 attention-only LoraConfig and its correct trainable percentage (medium)."""
    if lora is None or trainable_percent is None:
        return not_attempted("your LoraConfig and your percentage")
    if not isinstance(lora, LoraConfig):
        return failed(f"Expected a peft.LoraConfig, got {type(lora).__name__}.")
    if lora.r != 8:
        return failed(f"The rank is {lora.r}; the exercise asks for 8.", "LoraConfig(r=8, ...).")
    targets = {lora.target_modules} if isinstance(lora.target_modules, str) else set(lora.target_modules or ())
    if targets != _ATTENTION:
        return failed(
            f"The adapter targets {sorted(targets)}; the exercise asks for the attention projections only.",
            f"target_modules={sorted(_ATTENTION)}.",
        )
    truth = _trainable_percent(lora)
    if abs(trainable_percent - truth) <= 0.01:
        return passed(f"Correct: {truth:.2f} % of the parameters are trained (all-linear at r=16 trains several times more).")
    if abs(trainable_percent * 100 - truth) <= 0.01:
        return failed(f"{trainable_percent} is a fraction, not a percentage.", "multiply by 100.")
    return failed(
        f"{trainable_percent} % is not what this config trains.",
        "divide the parameters with requires_grad=True by all parameters of the peft model, times 100.",
    )


def check_lora_cli_settings(settings: dict | None) -> Feedback:
    """Return Feedback, truthy when settings make `trl sft` train the lesson's LoRA run (hard)."""
    if settings is None:
        return not_attempted("a dict of settings for trl sft")
    if not isinstance(settings, dict):
        return failed(f"Expected a dict (as yaml.safe_load returns), got {type(settings).__name__}.")
    parser = TrlParser((ScriptArguments, SFTConfig, ModelConfig, DatasetMixtureConfig))
    # TRL refuses bf16 on a machine without a GPU unless use_cpu is set: add it for this check only.
    values = settings | ({} if torch.cuda.is_available() else {"use_cpu": True})
    try:
        _, config, model_config, data = parser.parse_dict(values)
    except ValueError as error:
        return failed(f"TRL's parser rejected the settings: {error}", "every key must be an argument of trl sft.")
    if not model_config.use_peft:
        return failed("LoRA is off: TRL's command line trains every weight.", "use_peft: true switches LoRA on.")
    if (model_config.lora_r, model_config.lora_alpha) != (16, 32):
        return failed(
            f"LoRA rank {model_config.lora_r} and alpha {model_config.lora_alpha}; the lesson used 16 and 32.",
            "lora_r and lora_alpha.",
        )
    targets = model_config.lora_target_modules
    if targets not in ("all-linear", ["all-linear"]):
        return failed(f"The adapter targets {targets}; the lesson adapted all linear layers.", "lora_target_modules: all-linear.")
    if not config.assistant_only_loss or not config.chat_template_path:
        return failed(
            "Assistant-only loss needs both assistant_only_loss: true and the training-ready template.",
            "keep chat_template_path from the file above.",
        )
    if not data.datasets or data.datasets[0].path != "json":
        return failed("No training data: trl sft needs a datasets entry.", "keep the datasets entry from outputs/cli/sft_run.yaml.")
    if config.learning_rate <= QUICK_SETTINGS["learning_rate"]:
        return failed(
            f"learning_rate {config.learning_rate} is the full fine-tuning one; LoRA used a larger one.",
            "copy the LoRA run's learning rate.",
        )
    return passed("TRL's parser reads a LoRA run: rank 16, alpha 32, all linear layers, assistant-only loss.")
