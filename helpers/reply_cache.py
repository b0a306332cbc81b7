"""Greedy replies and log-likelihood scores kept on disk, keyed by everything that decides them: asked again, a model answers at once.

On a CPU, generating is a lesson's slowest step after training, and greedy replies are a pure function of the
weights, the prompts and the settings: lesson 4 asks lesson 2's models lesson 2's validation prompts again, and
re-running a cell asks the same model the same prompts. The key hashes the weights' bytes, the architecture
settings, the generation config, any adapter's state, anything left on the model's forward, the tokenized
prompts, what decodes the replies (a fast tokenizer's backend: its vocabulary and which tokens are special), the
generation settings (helpers/generation.py's code among them), the library versions and the CPU's instruction
set: change any of them and the replies are generated again. Sampled replies and models on a GPU are never kept.
Scores (helpers.evaluation: perplexity and multiple choice) are kept the same way, keyed by the model, the scored
token ids and their settings: the second edition's lesson 4 and the solutions score the same models on the same
questions. SFT_COURSE_REPLY_CACHE=off turns it off; both live in the course cache's replies/ folder (`make clean`
removes it).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch
import transformers
import trl
from peft.tuners.tuners_utils import BaseTunerLayer
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from helpers.course import CACHED_REPLIES_FOLDER
from helpers.models import cache_dir

VARIABLE = "SFT_COURSE_REPLY_CACHE"
_OFF = {"0", "off", "false", "no"}
# Config entries that name where a model came from or how it was stored, not how it computes: a model saved and
# loaded again (lesson 4's copy of lesson 2's) differs from the one in memory only in these.
_CONFIG_NOT_SHAPING = ("_name_or_path", "transformers_version", "dtype", "torch_dtype", "use_cache")
Turns = list[tuple[str, bool]]
# A fast tokenizer's settings that change decoded text outside its backend.
CLEANUP_SETTINGS = ("clean_up_tokenization_spaces", "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output")


def switched_on() -> bool:
    """Return False when SFT_COURSE_REPLY_CACHE turns the cache off (0, off, false, no); True otherwise."""
    return os.environ.get(VARIABLE, "on").strip().lower() not in _OFF


def cacheable(model: PreTrainedModel, do_sample: bool) -> bool:
    """Return True when this generation's replies may be kept: the cache is on, decoding is greedy and the model is on the CPU."""
    return switched_on() and not do_sample and all(p.device.type == "cpu" for p in model.parameters())


def model_fingerprint(model: PreTrainedModel) -> str:
    """Return a hash of what decides a model's outputs: its weights' bytes, architecture, generation config and adapter state."""
    digest = hashlib.sha256()
    seen: set[int] = set()
    for name, tensor in model.state_dict().items():
        digest.update(f"{name} {tensor.dtype} {tuple(tensor.shape)}".encode())
        if tensor.data_ptr() in seen:  # tied weights (the embeddings and the LM head): their bytes once
            continue
        seen.add(tensor.data_ptr())
        digest.update(tensor.detach().contiguous().reshape(-1).view(torch.uint8).numpy().data)
    config = {key: value for key, value in model.config.to_dict().items() if key not in _CONFIG_NOT_SHAPING}
    generation = model.generation_config.to_diff_dict() if model.generation_config is not None else {}
    generation.pop("transformers_version", None)
    # Not in the state dict: accelerate's autocast wrapper left on a trained model's forward, autocast around the
    # call, and a peft adapter switched off, merged or scaled.
    adapters = [
        [name, bool(module.disable_adapters), list(module.active_adapters), bool(module.merged), getattr(module, "scaling", None)]
        for name, module in model.named_modules()
        if isinstance(module, BaseTunerLayer)
    ]
    state = {
        "class": type(model).__name__,
        "config": config,
        "generation": generation,
        "attention": getattr(model.config, "_attn_implementation", None),
        "forward replaced": _forward_replaced(model),
        "autocast": torch.is_autocast_enabled("cpu"),
        "adapters": adapters,
    }
    digest.update(json.dumps(state, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _forward_replaced(model: PreTrainedModel) -> bool:
    """Return True when the model's forward is not its class's own (accelerate's autocast left on it, say)."""
    forward = vars(model).get("forward")
    return forward is not None and not _computes_as_class(model, forward)


def _computes_as_class(model: PreTrainedModel, forward) -> bool:
    """Return True when a forward set on the model computes what its class's forward computes, for generate's calls."""
    function = getattr(forward, "__func__", forward)
    if function is type(model).forward:  # unwrapped again (helpers.training.without_autocast), bound on the instance
        return True
    # SFTTrainer's fused-loss head (trl.trainer.utils) hands every call without fused_lm_head=True, as generate's
    # are, to the forward it replaced, unchanged: what counts is that one.
    code = getattr(function, "__code__", None)  # its __module__ is the model's (functools.wraps): read where its code is
    if code is not None and "trl" in Path(code.co_filename).parts and "original_forward" in code.co_freevars:
        replaced = function.__closure__[code.co_freevars.index("original_forward")].cell_contents
        return _computes_as_class(model, replaced)
    return False


def tokenizer_fingerprint(tokenizer: PreTrainedTokenizerBase) -> str:
    """Return a hash of what turns a reply's token ids into text: the tokenizer's vocabulary, special tokens and decoder."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        # A fast tokenizer decodes in its backend, which marks the special tokens decoding skips. Its end and pad
        # tokens (which TRL sets on the tokenizer it trains with) decide no text: generation is told where to stop.
        state = json.loads(backend.to_str())
        for per_call in ("padding", "truncation"):
            state.pop(per_call, None)
        cleanup = [getattr(tokenizer, name, None) for name in CLEANUP_SETTINGS]
        content = [type(tokenizer).__name__, state, cleanup]
    else:
        content = [type(tokenizer).__name__, sorted(tokenizer.get_vocab().items()), sorted(tokenizer.all_special_ids)]
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def _key(parts: list) -> str:
    """Return the key of a computation: a hash of its parts and of the platform it runs on."""
    platform = [torch.__version__, transformers.__version__, trl.__version__, torch.backends.cpu.get_cpu_capability()]
    return hashlib.sha256(json.dumps([*parts, platform], sort_keys=True, default=str).encode()).hexdigest()[:32]


def reply_key(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompt_ids: list[list[int]], settings: dict) -> str:
    """Return the key of a generation: a hash of the model, the tokenizer, the prompts' token ids, the settings and the platform."""
    return _key([model_fingerprint(model), tokenizer_fingerprint(tokenizer), prompt_ids, settings])


def score_key(model: PreTrainedModel, sequences: list, settings: dict) -> str:
    """Return the key of a scoring: a hash of the model, the scored token ids and masks, the settings and the platform."""
    return _key(["scores", model_fingerprint(model), sequences, settings])


def _path(key: str) -> Path:
    return cache_dir() / CACHED_REPLIES_FOLDER / f"{key}.json"


def _read(key: str) -> dict | None:
    path = _path(key)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def load(key: str) -> tuple[Turns, float] | None:
    """Return the kept (reply, ended) pairs of a generation and the seconds it took when made, or None where none are kept."""
    kept = _read(key)
    if kept is None:
        return None
    return [(reply, ended) for reply, ended in kept["turns"]], kept["seconds"]


def load_scores(key: str) -> tuple[list[float], list[int]] | None:
    """Return the kept summed log-probabilities and scored-token counts of a scoring, or None where none are kept."""
    kept = _read(key)
    return None if kept is None else (kept["sums"], kept["counts"])


def store(key: str, turns: Turns, seconds: float) -> Path | None:
    """Return the file a generation's replies and time are written to, whole or not at all; None where it cannot be written."""
    return _write(key, {"turns": turns, "seconds": seconds})


def store_scores(key: str, sums: list[float], counts: list[int]) -> Path | None:
    """Return the file a scoring's sums and counts are written to, whole or not at all; None where it cannot be written."""
    return _write(key, {"sums": sums, "counts": counts})


def _write(key: str, kept: dict) -> Path | None:
    path = _path(key)
    written = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write, then rename: two test workers or a stopped kernel never leave half a file to be read.
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, suffix=".tmp", delete=False) as file:
            written = file.name
            json.dump(kept, file, ensure_ascii=False)
        os.replace(written, path)
    except OSError:  # a full disk or a read-only cache: the results are still given, only not kept
        if written is not None:
            Path(written).unlink(missing_ok=True)  # no half-written file left behind
        return None
    return path
