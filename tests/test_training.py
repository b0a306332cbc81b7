"""Tests for helpers.training: precision from the hardware, lesson 2's settings and its model for later lessons."""

import copy
import dataclasses
import json
from pathlib import Path

import polib
import pytest
import torch
import transformers.training_args
from hardware import MACHINES, pretend

from helpers import training
from helpers.environment import Environment, detect
from helpers.i18n import LANGUAGE_VARIABLE, LOCALE_DIR
from helpers.measurements import read_run_summary
from helpers.training import (
    QUICK_RUN,
    QUICK_SETTINGS,
    fine_tuned_model_dir,
    lesson2_config,
    pick_precision,
    without_autocast,
)


def _env(device, name, bf16):
    return Environment(
        platform="local", device=device, device_name=name, bf16=bf16, online=False,
        offline_reason="HF_HUB_OFFLINE=1", profile="quick", profile_reason="test",
    )


# ── pick_precision ────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("device", "name", "bf16", "flags", "said"),
    [
        ("cuda", "NVIDIA A100", True, {"bf16": True, "fp16": False}, "A100"),
        ("cuda", "Tesla T4", False, {"bf16": False, "fp16": True}, "fp16"),
        ("cpu", "CPU", True, {"bf16": True, "fp16": False}, "bf16"),
        ("cpu", "CPU", False, {"bf16": False, "fp16": False}, "float32"),
        ("mps", "Apple GPU (MPS)", False, {"bf16": False, "fp16": False}, "float32"),
    ],
)
def test_precision_follows_the_hardware(device, name, bf16, flags, said):
    chosen, reason = pick_precision(_env(device, name, bf16))
    assert chosen == flags
    assert said in reason


@pytest.mark.parametrize(
    ("machine", "bf16", "fp16"),
    [
        ("T4", False, True),
        ("A100", True, False),
        ("L4", True, False),
        ("Apple MPS", False, False),
        ("CPU with AMX", True, False),
        ("CPU without bf16", False, False),
    ],
)
def test_lesson_2s_config_gets_the_precision_the_hardware_supports(monkeypatch, tmp_path, machine, bf16, fp16):
    monkeypatch.delenv("SFT_COURSE_PROFILE", raising=False)
    with monkeypatch.context() as queries:  # the device queries answer as `machine` only while detect() asks
        pretend(queries, MACHINES[machine])
        env = detect()
    if env.device == "cuda" and env.bf16:
        # TrainingArguments._validate_args (transformers 5.24) refuses bf16 without use_cpu unless
        # is_torch_bf16_gpu_available(): "Your setup doesn't support bf16/gpu". This machine has no GPU.
        # fp16 needs no such help: TrainingArguments checks it against nothing but bf16.
        monkeypatch.setattr(transformers.training_args, "is_torch_bf16_gpu_available", lambda: True)
    config = lesson2_config(env, tmp_path)
    assert (config.bf16, config.fp16) == (bf16, fp16)
    assert config.mixed_precision == ("fp16" if fp16 else "bf16" if bf16 else "no")
    assert config.use_cpu == (env.device == "cpu")
    assert config.per_device_train_batch_size * config.gradient_accumulation_steps == QUICK_RUN["batch"]


# ── lesson 2's model for later lessons ────────────────────────────────────────────────────────────

LESSON2 = Path(__file__).resolve().parent.parent / "notebooks" / "02_supervised_fine_tuning.ipynb"


def _lesson2_settings() -> tuple[dict, dict]:
    """Return lesson 2's quick RUN entry and its SFTConfig's literal keyword values, read from the notebook's code."""
    import ast

    source = "\n".join("".join(cell["source"]) for cell in json.loads(LESSON2.read_text())["cells"] if cell["cell_type"] == "code")
    tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
    run, config = {}, {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "quick" for k in node.keys):
            run = ast.literal_eval(node.values[[k.value for k in node.keys].index("quick")])
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "SFTConfig":
            for keyword in node.keywords:
                if keyword.arg and isinstance(keyword.value, ast.Constant):
                    config[keyword.arg] = keyword.value.value
    return run, config


def _run_profiles(path: Path) -> dict:
    """Return the notebook's RUN profile table ({"quick": {...}, "lesson": {...}, "demo": {...}}), read from its code."""
    import ast

    for cell in json.loads(path.read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and source.startswith("RUN = {"):
            return ast.literal_eval(source[len("RUN = "):source.rindex("[env.profile]")])
    raise AssertionError(f"{path.name} has no RUN cell")


def test_lesson_2b_trains_as_lesson_2_in_every_profile():
    # Lesson 2b's LoRA run is compared with lesson 2's model: same rows, steps and batches.
    assert _run_profiles(LESSON2.with_name("02b_lora_and_adapters.ipynb")) == _run_profiles(LESSON2)


# A CPU without bf16, so the quick run trains in float32 wherever the test runs.
CPU_ENV = _env("cpu", "CPU", False)


def test_quick_recipe_is_lesson_2s():
    run, config = _lesson2_settings()
    assert {key: run[key] for key in QUICK_RUN} == QUICK_RUN
    assert {key: config[key] for key in QUICK_SETTINGS} == QUICK_SETTINGS


def test_quick_config_accumulates_to_the_quick_batch(tmp_path):
    config = lesson2_config(CPU_ENV, tmp_path)
    assert config.per_device_train_batch_size * config.gradient_accumulation_steps == QUICK_RUN["batch"]
    assert config.use_cpu and config.report_to in ("none", ["none"], [])


def test_fine_tuned_model_prefers_lesson_2s_output(tmp_path, monkeypatch):
    (tmp_path / "model.safetensors").write_bytes(b"")
    monkeypatch.setattr(training, "cache_dir", lambda: pytest.fail("lesson 2's model is there: nothing to train"))
    folder, origin = fine_tuned_model_dir(CPU_ENV, tmp_path)
    assert folder == tmp_path and "lesson 2's output" in origin


@pytest.mark.slow
def test_fine_tuned_model_is_trained_once_then_cached(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(training, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(training, "QUICK_RUN", {"train_rows": 4, "steps": 1, "batch": 2, "micro_batch": 2})
    folder, origin = fine_tuned_model_dir(CPU_ENV, tmp_path / "lesson-2-never-ran")
    assert "trained just now" in origin and "training its run now (1 steps of 2 conversations" in capsys.readouterr().out
    assert (folder / "model.safetensors").exists() and (folder / "chat_template.jinja").exists()
    assert read_run_summary(folder)["trainable parameters (M)"] > 100  # every weight: full fine-tuning
    # Lesson 4 generates with it: it must stop at the end of the turn on its own, as lesson 2's model does.
    assert 2 in json.loads((folder / "generation_config.json").read_text())["eos_token_id"]  # <|im_end|>
    again, origin = fine_tuned_model_dir(CPU_ENV, tmp_path / "lesson-2-never-ran")
    assert again == folder and "trained earlier" in origin


@pytest.mark.slow
def test_an_interrupted_cache_is_not_reused_and_the_next_call_rebuilds_it(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(training, "QUICK_RUN", {"train_rows": 4, "steps": 1, "batch": 2, "micro_batch": 2})

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C (or a full disk) in the middle of writing the cache

    with monkeypatch.context() as during_the_save:
        during_the_save.setattr(training, "save_run_summary", interrupted)
        with pytest.raises(KeyboardInterrupt):
            fine_tuned_model_dir(CPU_ENV, tmp_path / "lesson-2-never-ran")
    assert list((tmp_path / "cache" / "models").iterdir()) == []  # no half-written cache, no staging folder
    folder, origin = fine_tuned_model_dir(CPU_ENV, tmp_path / "lesson-2-never-ran")
    assert "trained just now" in origin and read_run_summary(folder)["trainable parameters (M)"] > 100


# ── The end of the turn: SFTConfig(eos_token=...) makes a trained model stop there on its own ──


def _saved_then_reloaded(model, tokenizer, support_desk, folder, **config_overrides):
    """Build lesson 2's SFTTrainer around the model (no training), save it, and load it back."""
    from transformers import AutoModelForCausalLM
    from trl import SFTTrainer

    args = lesson2_config(CPU_ENV, folder / "run")
    args = dataclasses.replace(args, **config_overrides) if config_overrides else args
    trainer = SFTTrainer(model=model, args=args, train_dataset=support_desk["train"].select(range(2)),
                         processing_class=tokenizer)
    trainer.save_model(str(folder / "saved"))
    return AutoModelForCausalLM.from_pretrained(folder / "saved")


def _bare_reply(model, tokenizer):
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}], add_generation_prompt=True,
                                           return_tensors="pt", return_dict=True)
    output = model.generate(**prompt, max_new_tokens=6, do_sample=False)
    return tokenizer.decode(output[0, prompt["input_ids"].shape[1]:])


def test_a_saved_model_stops_at_the_end_of_the_turn_with_a_bare_generate(
    turn_model, base_tokenizer, support_desk, tmp_path
):
    from conftest import REPLY
    from helpers.templates import END_OF_TURN

    reloaded = _saved_then_reloaded(turn_model, base_tokenizer, support_desk, tmp_path)
    assert _bare_reply(reloaded, base_tokenizer) == REPLY + END_OF_TURN
    saved = json.loads((tmp_path / "saved" / "generation_config.json").read_text())
    assert saved["eos_token_id"] == [base_tokenizer.convert_tokens_to_ids(END_OF_TURN), 0]


def test_without_eos_token_a_saved_base_model_runs_on(turn_model, base_tokenizer, support_desk, tmp_path):
    from conftest import REPLY, RUN_ON
    from helpers.templates import END_OF_TURN

    reloaded = _saved_then_reloaded(turn_model, base_tokenizer, support_desk, tmp_path, eos_token=None)
    assert _bare_reply(reloaded, base_tokenizer) == REPLY + END_OF_TURN + RUN_ON * 4


def test_without_autocast_gives_back_the_forward_of_before_training(training_tokenizer, support_desk, tmp_path):
    # Mixed-precision training leaves torch.autocast on the model's forward; a reloaded copy computes
    # in float32. without_autocast makes the trained model compute as the reloaded copy will.
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl import SFTTrainer

    tiny = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(training_tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1,
    ))
    args = dataclasses.replace(lesson2_config(CPU_ENV, tmp_path), max_steps=1, per_device_train_batch_size=2,
                               bf16=True, disable_tqdm=True)  # bf16 autocast works on any CPU, if slowly
    trainer = SFTTrainer(model=tiny, args=args, train_dataset=support_desk["train"].select(range(2)),
                         processing_class=copy.deepcopy(training_tokenizer))
    trainer.train()
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        in_training_precision = tiny(input_ids=ids).logits
        reference = LlamaForCausalLM.forward(tiny, input_ids=ids).logits  # the class's own forward, never wrapped
        model = without_autocast(trainer)
        unwrapped = model(input_ids=ids).logits
    assert model is tiny
    assert torch.equal(unwrapped, reference) and not torch.equal(in_training_precision, reference)


def test_the_precision_reason_comes_out_in_vietnamese_in_the_vietnamese_notebooks(monkeypatch):
    t4 = _env("cuda", "Tesla T4", False)
    monkeypatch.delenv(LANGUAGE_VARIABLE, raising=False)
    english = pick_precision(t4)[1]
    assert english == "Tesla T4 has no bf16 (a Colab T4, say): fp16 mixed precision"
    po = polib.pofile(str(LOCALE_DIR / "vi" / "LC_MESSAGES" / "training.po"))
    monkeypatch.setenv(LANGUAGE_VARIABLE, "vi")
    expected = po.find("{device} has no bf16 (a Colab T4, say): fp16 mixed precision").msgstr.format(device="Tesla T4")
    assert pick_precision(t4)[1] == expected != english
