"""Which layers of a model a LoRA adapter can target: the linear layers of its attention blocks, found in the model itself.

The course's LoRA runs target "all-linear", which peft resolves for any architecture. Naming layers
is what differs between architectures (q_proj, k_proj, v_proj, o_proj in Llama, Qwen and Gemma;
qkv_proj and o_proj in Phi-3), so the names are read from the model rather than written down.
"""

from __future__ import annotations

from torch import nn
from transformers import PreTrainedModel
from transformers.pytorch_utils import Conv1D


def attention_projections(model: PreTrainedModel) -> list[str]:
    """Return the names (sorted) of the linear layers inside the model's attention blocks, as LoraConfig's target_modules takes them."""
    names = set()
    for path, module in model.named_modules():
        *parents, name = path.split(".")
        # GPT-2-like models write their projections as Conv1D, which peft adapts like a linear layer.
        if isinstance(module, (nn.Linear, Conv1D)) and any("attn" in part or "attention" in part for part in parents):
            names.add(name)
    return sorted(names)
