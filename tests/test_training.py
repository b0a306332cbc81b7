"""Tests for helpers.training: precision, memory, speed, and the `trl sft` files (run for real once)."""

import copy
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import transformers.training_args
import yaml
from hardware import MACHINES, pretend
from peft import LoraConfig
from trl import SFTConfig

from helpers import training
from helpers.environment import Environment, detect
from helpers.models import resolve_model
from helpers.templates import TRAINING_CHAT_TEMPLATE
from helpers.training import (
    QUICK_RUN,
    QUICK_SETTINGS,
    PeakMemory,
    fine_tuned_model_dir,
    lesson2_config,
    losses,
    pick_precision,
    read_run_summary,
    run_summary,
    save_run_summary,
    training_speed,
    trl_cli_settings,
    without_autocast,
    write_trl_cli_files,
)


def _env(device, name, bf16):
    return Environment(
        platform="local", device=device, device_name=name, bf16=bf16, online=False,
        offline_reason="HF_HUB_OFFLINE=1", profile="quick", profile_reason="test",
    )


def _config(output_dir, **overrides):
    settings = dict(
        output_dir=str(output_dir), max_steps=3, learning_rate=1e-4, assistant_only_loss=True,
        activation_checkpointing=False, report_to="none", use_cpu=True,
    )
    return SFTConfig(**(settings | overrides))


LORA = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")


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


# ── PeakMemory ────────────────────────────────────────────────────────────────────────────────────


def test_peak_memory_sees_a_300_mb_tensor_on_cpu():
    assert not torch.cuda.is_available()  # conftest hides GPUs: this measures resident memory
    with PeakMemory() as peak:
        block = torch.ones(75_000_000)  # 300 MB of float32, written (so resident)
        time.sleep(0.2)
        del block
    assert peak.mib > 150


def test_peak_memory_of_an_empty_block_is_small():
    with PeakMemory() as peak:
        time.sleep(0.1)
    assert peak.mib < 50


# ── training_speed and losses ─────────────────────────────────────────────────────────────────────

LOG_HISTORY = [
    {"loss": 2.0, "num_tokens": 100, "step": 1},
    {"loss": 1.0, "num_tokens": 200, "step": 2},
    {"train_runtime": 4.0},
]


def _trainer(history):
    return SimpleNamespace(state=SimpleNamespace(log_history=history))


def test_training_speed_reads_runtime_and_tokens():
    assert training_speed(_trainer(LOG_HISTORY)) == {"seconds": 4.0, "tokens": 200, "tokens_per_second": 50.0}


def test_losses_in_logged_order():
    assert losses(_trainer(LOG_HISTORY)) == [2.0, 1.0]


# ── trl_cli_settings ──────────────────────────────────────────────────────────────────────────────


def test_cli_settings_name_model_data_and_template(tmp_path):
    settings = trl_cli_settings(_config(tmp_path), "some/model", "train.jsonl", "t.jinja")
    assert settings["model_name_or_path"] == "some/model"
    assert settings["datasets"] == [{"path": "json", "data_files": "train.jsonl", "split": "train"}]
    assert settings["chat_template_path"] == "t.jinja"


def test_cli_settings_carry_max_steps_and_drop_epochs(tmp_path):
    settings = trl_cli_settings(_config(tmp_path), "m", "train.jsonl", "t.jinja")
    assert settings["max_steps"] == 3
    assert "num_train_epochs" not in settings


def test_cli_settings_leave_out_use_cpu(tmp_path):
    assert "use_cpu" not in trl_cli_settings(_config(tmp_path), "m", "train.jsonl", "t.jinja")


def test_cli_settings_report_to_is_plain_yaml(tmp_path):
    settings = trl_cli_settings(_config(tmp_path), "m", "train.jsonl", "t.jinja")
    assert settings["report_to"] in ("none", [], ["none"])
    assert yaml.safe_load(yaml.safe_dump(settings)) == settings


def test_cli_settings_without_lora_leave_peft_off(tmp_path):
    assert "use_peft" not in trl_cli_settings(_config(tmp_path), "m", "train.jsonl", "t.jinja")


def test_cli_settings_with_lora_switch_peft_on(tmp_path):
    settings = trl_cli_settings(_config(tmp_path), "m", "train.jsonl", "t.jinja", lora=LORA)
    assert settings["use_peft"] is True
    assert (settings["lora_r"], settings["lora_alpha"], settings["lora_target_modules"]) == (16, 32, "all-linear")
    assert yaml.safe_load(yaml.safe_dump(settings)) == settings


def test_cli_settings_sort_a_list_of_lora_targets(tmp_path):
    lora = LoraConfig(r=8, target_modules=["v_proj", "q_proj"], task_type="CAUSAL_LM")
    settings = trl_cli_settings(_config(tmp_path), "m", "train.jsonl", "t.jinja", lora=lora)
    assert settings["lora_target_modules"] == ["q_proj", "v_proj"]
    yaml.safe_dump(settings)  # a set would not dump


# ── write_trl_cli_files ───────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory, support_desk):
    root = tmp_path_factory.mktemp("cli")
    rows = support_desk["train"].select(range(5))
    config = _config(root / "run")
    folder = write_trl_cli_files(config, "some/model", rows, root / "cli")
    return SimpleNamespace(folder=folder, rows=rows, config=config)


def test_written_data_holds_only_messages_one_line_per_row(cli_files):
    lines = (cli_files.folder / "train.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{"messages": row["messages"]} for row in cli_files.rows]


def test_written_template_is_the_training_template(cli_files):
    assert (cli_files.folder / "chat_template.jinja").read_text() == TRAINING_CHAT_TEMPLATE


def test_written_yaml_reads_back_as_the_settings(cli_files):
    folder = cli_files.folder
    expected = trl_cli_settings(cli_files.config, "some/model", folder / "train.jsonl", folder / "chat_template.jinja")
    assert yaml.safe_load((folder / "sft_run.yaml").read_text()) == expected


# ── the real command line ─────────────────────────────────────────────────────────────────────────


@pytest.mark.slow
def test_trl_sft_trains_from_the_written_files(tmp_path, support_desk):
    """The lesson's claim: `trl sft --config sft_run.yaml` trains this run (assistant-only loss included)."""
    config = SFTConfig(
        output_dir=str(tmp_path / "run"), learning_rate=1e-4, max_steps=2, per_device_train_batch_size=2,
        gradient_accumulation_steps=1, assistant_only_loss=True, activation_checkpointing=False, logging_steps=1,
        save_strategy="no", report_to="none", use_cpu=True, bf16=False,
    )
    folder = write_trl_cli_files(
        config, model_name_or_path=resolve_model("base")[0], train_rows=support_desk["train"].select(range(8)),
        folder=tmp_path / "cli",
    )
    command = [str(Path(sys.executable).parent / "trl"), "sft", "--config", str(folder / "sft_run.yaml"), "--use_cpu", "true"]
    result = subprocess.run(
        command, env=os.environ | {"HF_HUB_OFFLINE": "1"}, cwd=tmp_path, timeout=300, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert "train_runtime" in log
    assert "'epoch'" in log and log.count("'loss'") == 2  # logging_steps=1: one loss line per step
    saved = {path.name for path in (tmp_path / "run").iterdir()}
    assert {"config.json", "model.safetensors", "chat_template.jinja"} <= saved
    assert (tmp_path / "run" / "chat_template.jinja").read_text() == TRAINING_CHAT_TEMPLATE


def test_smollm2_own_template_cannot_do_assistant_only_loss(tokenizer, support_desk, tmp_path):
    """Why the CLI files carry a template: SmolLM2's own one has no {% generation %} markers for TRL."""
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl import SFTTrainer

    tiny = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1,
    ))
    config = _config(tmp_path, max_steps=1, save_strategy="no", bf16=False)
    with pytest.raises(ValueError, match="not training-compatible"):
        SFTTrainer(
            model=tiny, args=config, processing_class=copy.deepcopy(tokenizer),
            train_dataset=support_desk["train"].select(range(2)),
        )


def test_run_summary_reads_a_runs_costs():
    parameters = [torch.nn.Parameter(torch.zeros(2_000_000)), torch.nn.Parameter(torch.zeros(1_000_000), requires_grad=False)]
    model = SimpleNamespace(parameters=lambda: iter(parameters))
    state = SimpleNamespace(log_history=[
        {"loss": 2.0, "num_tokens": 100, "step": 1}, {"loss": 1.0, "num_tokens": 200, "step": 2}, {"train_runtime": 4.0},
    ])
    summary = run_summary(SimpleNamespace(model=model, state=state), peak_memory_mib=512.0)
    assert summary == {
        "trainable parameters (M)": 2.0,
        "training seconds": 4.0,
        "tokens per second": 50.0,
        "peak memory added (MiB)": 512.0,
        "final training loss": 1.0,
    }


def test_run_summary_is_read_back_as_saved(tmp_path):
    summary = {"trainable parameters (M)": 2.0, "training seconds": 4.5}
    save_run_summary(summary, tmp_path)
    assert read_run_summary(tmp_path) == summary
    with pytest.raises(FileNotFoundError, match="Run lesson 2 again"):
        read_run_summary(tmp_path / "elsewhere")


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
    monkeypatch.setattr(training, "LESSON2_MODEL_DIR", tmp_path)
    folder, origin = fine_tuned_model_dir(CPU_ENV)
    assert folder == tmp_path and "lesson 2's output" in origin


@pytest.mark.slow
def test_fine_tuned_model_is_trained_once_then_cached(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(training, "LESSON2_MODEL_DIR", tmp_path / "lesson-2-never-ran")
    monkeypatch.setattr(training, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(training, "QUICK_RUN", {"train_rows": 4, "steps": 1, "batch": 2, "micro_batch": 2})
    folder, origin = fine_tuned_model_dir(CPU_ENV)
    assert "trained just now" in origin and "training its run now (1 steps of 2 conversations" in capsys.readouterr().out
    assert (folder / "model.safetensors").exists() and (folder / "chat_template.jinja").exists()
    assert read_run_summary(folder)["trainable parameters (M)"] > 100  # every weight: full fine-tuning
    # Lesson 4 generates with it: it must stop at the end of the turn on its own, as lesson 2's model does.
    assert 2 in json.loads((folder / "generation_config.json").read_text())["eos_token_id"]  # <|im_end|>
    again, origin = fine_tuned_model_dir(CPU_ENV)
    assert again == folder and "trained earlier" in origin


@pytest.mark.slow
def test_an_interrupted_cache_is_not_reused_and_the_next_call_rebuilds_it(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "LESSON2_MODEL_DIR", tmp_path / "lesson-2-never-ran")
    monkeypatch.setattr(training, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(training, "QUICK_RUN", {"train_rows": 4, "steps": 1, "batch": 2, "micro_batch": 2})

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C (or a full disk) in the middle of writing the cache

    with monkeypatch.context() as during_the_save:
        during_the_save.setattr(training, "save_run_summary", interrupted)
        with pytest.raises(KeyboardInterrupt):
            fine_tuned_model_dir(CPU_ENV)
    assert list((tmp_path / "cache" / "models").iterdir()) == []  # no half-written cache, no staging folder
    folder, origin = fine_tuned_model_dir(CPU_ENV)
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
