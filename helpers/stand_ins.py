"""Offline stand-ins for other model families: the bundled SmolLM2's weights in a family's real chat format.

A stand-in is the bundled SmolLM2-135M-Instruct with a family's real chat template (TRL's stored copy,
byte for byte, so that TRL recognises it as it recognises the real checkpoint's) and the family's
special tokens. SmolLM2's own special tokens that play the same part are renamed to the family's
(<|im_end|> becomes Llama 3's <|eot_id|>, keeping its trained embedding, as a real checkpoint has
trained embeddings for its own tokens), so ChatML's tokens are gone from its vocabulary; the family's
tokens SmolLM2 has no counterpart for are added (embeddings resized, each new row the mean row).
Like the SmolLM2 base stand-in (helpers.models), its tokenizer, config and generation config name the
family's *base* model's end-of-document token, so a run meets the trap a real base model sets: a bare
`generate` runs past the end of the assistant's turn until training names that token (SFTConfig's
eos_token).

To run a lesson in another family's format, point both model settings at a stand-in's folder:

    export SFT_COURSE_BASE_MODEL=$(python -m helpers.stand_ins llama3) SFT_COURSE_INSTRUCT_MODEL=$SFT_COURSE_BASE_MODEL
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tokenizers import AddedToken, Regex, Tokenizer, pre_tokenizers
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    GenerationConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
)
from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_PRE_TOKENIZER_SPLITS

from helpers.chatml import END_OF_TURN, START_OF_TURN
from helpers.i18n import _
from helpers.models import BASE_MODEL_SPECIAL_TOKENS, bundled_model_dir, cache_dir, link_or_copy, staged_folder
from helpers.templates import trl_chat_template

END_OF_DOCUMENT = BASE_MODEL_SPECIAL_TOKENS["eos_token"]  # SmolLM2's <|endoftext|>


@dataclass(frozen=True)
class StandIn:
    """What a family's base checkpoint ships that its stand-in copies: its template and its special tokens."""

    template: str  # its file in trl/chat_templates/, without .jinja
    eos_token: str  # the base model's end of a document: what its generation config stops at
    bos_token: str | None = None
    pad_token: str | None = None
    renamed: dict[str, str] = field(default_factory=dict)  # SmolLM2's token -> the family's token for the same part
    added: tuple[str, ...] = ()  # the family's tokens that SmolLM2 has no counterpart for
    # How the family's tokenizer splits text before its merges (a GGUF pre-tokenizer name), where that differs
    # from SmolLM2's at the template's seams: Llama 3 keeps "\n\n" whole, so the end of its generation prompt
    # (<|end_header_id|>\n\n) is the same token whether or not a reply follows; SmolLM2's splitting would not.
    split: str | None = None


# The special tokens are those of each family's small base checkpoint on the Hub (tokenizer_config.json,
# generation_config.json): Qwen/Qwen2.5-0.5B, meta-llama/Llama-3.2-1B, google/gemma-3-1b-pt.
STAND_INS = {
    # ChatML, as Qwen writes it: SmolLM2's vocabulary already has every token the template needs.
    "qwen2.5": StandIn(template="qwen2_5", eos_token=END_OF_DOCUMENT, pad_token=END_OF_DOCUMENT),
    "llama3": StandIn(
        template="llama3",
        eos_token="<|end_of_text|>",
        bos_token="<|begin_of_text|>",
        renamed={END_OF_DOCUMENT: "<|end_of_text|>", START_OF_TURN: "<|start_header_id|>", END_OF_TURN: "<|eot_id|>"},
        added=("<|begin_of_text|>", "<|end_header_id|>"),
        split="llama3",
    ),
    "gemma3": StandIn(
        template="gemma3",
        eos_token="<eos>",
        bos_token="<bos>",
        pad_token="<pad>",
        renamed={END_OF_DOCUMENT: "<eos>", START_OF_TURN: "<start_of_turn>", END_OF_TURN: "<end_of_turn>"},
        added=("<pad>", "<bos>"),
    ),
}


def stand_in(name: str) -> StandIn:
    """Return the stand-in called name, with a clear error for a name the course does not know."""
    if name not in STAND_INS:
        raise ValueError(
            _("No stand-in named {name!r}. The course builds: {known}.").format(name=name, known=", ".join(STAND_INS))
        )
    return STAND_INS[name]


def _renamed_tokenizer(source: Path, renamed: dict[str, str], split: str | None = None) -> PreTrainedTokenizerBase:
    """Return the tokenizer saved in source with some of its special tokens renamed (same ids), splitting text as `split` does."""
    saved = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    for token in saved["added_tokens"]:
        token["content"] = renamed.get(token["content"], token["content"])
    saved["model"]["vocab"] = {renamed.get(token, token): token_id for token, token_id in saved["model"]["vocab"].items()}
    backend = Tokenizer.from_str(json.dumps(saved))
    if split is not None:  # the real family's splitting, as transformers rebuilds it for that family's GGUF files
        backend.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(GGUF_PRE_TOKENIZER_SPLITS[split]), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    return PreTrainedTokenizerFast(tokenizer_object=backend)


def _add_embeddings(model: PreTrainedModel, new_rows: int) -> None:
    """Add new_rows rows to the model's embeddings (and output layer), each the mean of the rows before."""
    old_rows = model.get_input_embeddings().weight.shape[0]
    model.resize_token_embeddings(old_rows + new_rows, mean_resizing=False)
    with torch.no_grad():
        for matrix in {model.get_input_embeddings().weight, model.get_output_embeddings().weight}:  # one matrix when tied
            matrix[old_rows:] = matrix[:old_rows].mean(dim=0)


def stand_in_tokenizer(name: str) -> PreTrainedTokenizerBase:
    """Return a family's stand-in tokenizer ("qwen2.5", "llama3", "gemma3"): its special tokens and real chat template, no weights."""
    spec = stand_in(name)
    tokenizer = _renamed_tokenizer(bundled_model_dir(), spec.renamed, spec.split)
    tokenizer.add_tokens([AddedToken(token, special=True, normalized=False) for token in spec.added], special_tokens=True)
    tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token = spec.bos_token, spec.eos_token, spec.pad_token
    tokenizer.chat_template = trl_chat_template(spec.template)
    return tokenizer


def stand_in_dir(name: str) -> Path:
    """Return a folder holding the stand-in for a family ("qwen2.5", "llama3", "gemma3"), building it once from the bundled model."""
    spec = stand_in(name)
    # The spec's hash in the name: a changed stand-in is built anew, never read from an older build.
    version = hashlib.sha256(repr(spec).encode()).hexdigest()[:8]
    target = cache_dir() / "models" / f"SmolLM2-135M-{name}-stand-in-{version}"
    if (target / "model.safetensors").is_file():
        return target
    source = bundled_model_dir()
    tokenizer = stand_in_tokenizer(name)
    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id}
    generation = GenerationConfig.from_pretrained(source)
    generation.update(**ids)
    with staged_folder(target) as staging:
        tokenizer.save_pretrained(staging)
        if spec.added:
            model = AutoModelForCausalLM.from_pretrained(source)
            _add_embeddings(model, len(spec.added))
            model.config.update(ids)  # after resizing: a new pad id lies outside the old embeddings
            model.save_pretrained(staging)
        else:
            config = AutoConfig.from_pretrained(source)
            config.update(ids)
            config.save_pretrained(staging)
            link_or_copy(source / "model.safetensors", staging / "model.safetensors")
        generation.save_pretrained(staging)  # after the model, whose save writes its own
    return target


if __name__ == "__main__":
    # `python -m helpers.stand_ins llama3` prints the stand-in's folder (built once), for SFT_COURSE_BASE_MODEL.
    print(stand_in_dir(sys.argv[1] if len(sys.argv) > 1 else "llama3"))
