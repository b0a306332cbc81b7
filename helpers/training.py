"""Training for the lessons: precision from the hardware, and a trained model computing in its own precision again."""

from __future__ import annotations

from transformers import PreTrainedModel, Trainer

from helpers.environment import Environment
from helpers.i18n import _


def pick_precision(env: Environment) -> tuple[dict[str, bool], str]:
    """Return SFTConfig's precision flags for this hardware ({"bf16": ..., "fp16": ...}) and the reason."""
    if env.device == "cuda" and env.bf16:
        return {"bf16": True, "fp16": False}, _("{device} supports bf16").format(device=env.device_name)
    if env.device == "cuda":
        reason = _("{device} has no bf16 (a Colab T4, say): fp16 mixed precision").format(device=env.device_name)
        return {"bf16": False, "fp16": True}, reason
    if env.device == "cpu" and env.bf16:
        return {"bf16": True, "fp16": False}, _("this CPU computes bf16 natively (AMX or AVX512-BF16): bf16 autocast")
    return {"bf16": False, "fp16": False}, _("no fast half precision on this {device}: float32").format(device=env.device_name)


def without_autocast(trainer: Trainer) -> PreTrainedModel:
    """Return the trainer's model computing in its own precision again: train() leaves mixed precision's autocast on its forward."""
    # accelerate wraps the model's forward in torch.autocast for bf16/fp16 training and leaves it there, so
    # a model scored in the training session would compute in 16 bits, and a copy reloaded from disk not.
    return trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)
