"""Tests for helpers.models: which SmolLM2 is chosen, the bundled GGUF, and the converted model."""

import filecmp
import json
from pathlib import Path

import pytest
from transformers import Trainer, TrainingArguments

from helpers import models
from helpers.models import (
    BUNDLED_INSTALL,
    ModelNotAvailable,
    base_stand_in_dir,
    bundled_gguf,
    bundled_model_dir,
    cache_dir,
    load_model_and_tokenizer,
    load_tokenizer,
    prepare_model_location,
)


@pytest.fixture(autouse=True)
def _offline_without_overrides(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("SFT_COURSE_BASE_MODEL", "SFT_COURSE_INSTRUCT_MODEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("kind", ["base", "instruct"])
def test_prepare_model_location_prefers_the_model_id_argument(monkeypatch, kind):
    monkeypatch.setenv(models.MODEL_VARIABLES[kind], "from/env")
    assert prepare_model_location(kind, model_id="my/model") == ("my/model", "passed as model_id")


@pytest.mark.parametrize("kind, variable", [("base", "SFT_COURSE_BASE_MODEL"), ("instruct", "SFT_COURSE_INSTRUCT_MODEL")])
def test_prepare_model_location_uses_the_environment_variable_next(monkeypatch, kind, variable):
    monkeypatch.setenv(variable, "org/other-model")
    location, reason = prepare_model_location(kind)
    assert location == "org/other-model"
    assert variable in reason


def test_prepare_model_location_offline_gives_the_bundled_folder():
    location, reason = prepare_model_location("instruct")
    assert Path(location) == bundled_model_dir()
    assert reason == "offline: HF_HUB_OFFLINE=1"


def test_prepare_model_location_offline_base_says_the_instruct_weights_stand_in():
    location, reason = prepare_model_location("base")
    assert Path(location) == base_stand_in_dir()
    assert "no base model is bundled" in reason


def test_the_base_stand_in_carries_the_base_models_special_tokens():
    model, tokenizer = load_model_and_tokenizer("base", verbose=False)
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == ("<|endoftext|>", "<|endoftext|>", None)
    assert (model.config.bos_token_id, model.config.eos_token_id, model.config.pad_token_id) == (0, 0, None)
    assert (model.generation_config.bos_token_id, model.generation_config.eos_token_id) == (0, 0)
    assert model.generation_config.pad_token_id is None


def test_the_base_stand_in_has_the_bundled_weights_and_the_instruct_model_keeps_its_tokens():
    weights = "model.safetensors"
    assert filecmp.cmp(base_stand_in_dir() / weights, bundled_model_dir() / weights, shallow=False)
    model, tokenizer = load_model_and_tokenizer("instruct", verbose=False)
    assert (tokenizer.eos_token, model.generation_config.eos_token_id) == ("<|im_end|>", 2)


def test_prepare_model_location_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="base, instruct.*'chat'"):
        prepare_model_location("chat")


def test_cache_dir_honours_sft_course_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SFT_COURSE_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path


def test_cache_dir_defaults_to_home_cache(monkeypatch):
    monkeypatch.delenv("SFT_COURSE_CACHE", raising=False)
    assert cache_dir() == Path.home() / ".cache" / "sft-course"


def test_bundled_gguf_without_the_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelNotAvailable) as error:
        bundled_gguf()
    assert BUNDLED_INSTALL in str(error.value)
    # ... and the file it names, in the course's folder, pins the package that bundled_gguf() looks for.
    requirements = Path(__file__).parent.parent / BUNDLED_INSTALL.split()[-1]
    pins = [line for line in requirements.read_text().splitlines() if line and not line.startswith("#")]
    assert [pin.split("==")[0].replace("-", "_") for pin in pins] == [models.BUNDLED_PACKAGE]
    assert all("==" in pin for pin in pins)


def test_bundled_gguf_is_found_when_installed():
    assert bundled_gguf().name == models.BUNDLED_GGUF


def test_converted_model_has_no_quantization_config():
    config = json.loads((bundled_model_dir() / "config.json").read_text())
    assert "quantization_config" not in config


@pytest.fixture
def base_model(base_model_and_tokenizer):
    return base_model_and_tokenizer[0]


def test_loaded_model_is_not_marked_quantized(base_model):
    assert getattr(base_model, "hf_quantizer", None) is None
    assert getattr(base_model, "is_quantized", False) is False
    assert not hasattr(base_model.config, "quantization_config")


def test_trainer_accepts_the_loaded_model(base_model, tmp_path):
    # Trainer.__init__ is what raises "cannot perform fine-tuning on purely quantized models".
    Trainer(model=base_model, args=TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none"))


@pytest.mark.slow
def test_slow_conversion_into_an_empty_cache_leaves_no_staging_folder(monkeypatch, tmp_path):
    # Converts the bundled GGUF from scratch (about 15 s).
    monkeypatch.setenv("SFT_COURSE_CACHE", str(tmp_path))
    target = bundled_model_dir()
    assert target == tmp_path / "models" / "SmolLM2-135M-Instruct-from-gguf"
    assert (target / "model.safetensors").is_file()
    assert (target / "tokenizer.json").is_file()
    assert "quantization_config" not in json.loads((target / "config.json").read_text())
    assert list((tmp_path / "models").glob(".converting-*")) == []
    assert bundled_model_dir() == target  # the second call reuses the folder


def test_which_model_and_why_comes_out_in_vietnamese_in_the_vietnamese_notebooks(vietnamese, capsys):
    folder = str(bundled_model_dir())
    load_tokenizer("instruct", model_id=folder)
    english = capsys.readouterr().out
    assert english == "Tokenizer (instruct): SmolLM2-135M-Instruct (bundled GGUF, de-quantised to float32) — passed as model_id\n"
    vietnamese.on()
    load_tokenizer("instruct", model_id=folder)
    expected = vietnamese("Tokenizer ({kind}): {model} — {why}").format(
        kind="instruct",
        model=vietnamese("SmolLM2-135M-Instruct (bundled GGUF, de-quantised to float32)"),
        why=vietnamese("passed as model_id"),
    )
    assert capsys.readouterr().out == expected + "\n" != english
