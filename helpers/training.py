"""Training for the lessons: precision from the hardware, a trained model computing in its own precision again, and
TRL's loss made to score only the trained tokens on a CPU too (done when this module is imported)."""

from __future__ import annotations

import torch
import trl.trainer.utils as trl_utils
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


def score_trained_tokens_only_on_cpu() -> bool:
    """Make TRL's fused LM head score only the trained positions on a CPU, as it does on a GPU; return whether it could."""
    # SFTTrainer computes its loss with TRL's fused LM head (trl.trainer.utils.add_fused_lm_head). On a GPU it projects
    # only the positions with a label; elsewhere it projects every position of the micro-batch, prompt and padding
    # included, to keep the tile shapes fixed for compilers (TRL's comment names Neuron). Eager PyTorch on a CPU needs
    # no fixed shapes, and in lesson 2's recipe half the positions carry no label. The loss and gradients are the same
    # to float rounding (tests/test_training.py), and a step takes less time (README, "Training speed on a CPU").
    # In trl.trainer.utils, `_use_triton` decides nothing but this choice; TRL's kernels read their own copy.
    original = getattr(trl_utils, "_use_triton", None)
    if original is None:  # another TRL: its own behaviour, unchanged
        return False
    if getattr(original, "scores_trained_tokens_on_cpu", False):
        return True

    def compact_on_cpu_too(device: torch.device) -> bool:
        return device.type == "cpu" or original(device)

    compact_on_cpu_too.scores_trained_tokens_on_cpu = True
    trl_utils._use_triton = compact_on_cpu_too
    return True


score_trained_tokens_only_on_cpu()
