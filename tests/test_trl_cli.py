"""Tests for helpers.trl_cli: the settings and files `trl sft` reads, run for real once."""

import copy
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
import yaml
from fakes import saved_tiny_llama, tiny_llama
from peft import LoraConfig
from trl import SFTConfig

from helpers import trl_cli
from helpers.models import load_tokenizer
from helpers.templates import TRAINING_CHAT_TEMPLATE
from helpers.trl_cli import accumulation_for, batch_change, global_batch, trl_cli_settings, write_trl_cli_files


def _config(output_dir, **overrides):
    settings = dict(
        output_dir=str(output_dir), max_steps=3, learning_rate=1e-4, assistant_only_loss=True,
        activation_checkpointing=False, report_to="none", use_cpu=True,
    )
    return SFTConfig(**(settings | overrides))


LORA = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")


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
def cli_files(tmp_path_factory, support_desk, tokenizer):
    root = tmp_path_factory.mktemp("cli")
    rows = support_desk["train"].select(range(5))
    config = _config(root / "run")
    folder = write_trl_cli_files(config, "some/model", rows, root / "cli", tokenizer=tokenizer)
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


# ── the global batch on several processes ─────────────────────────────────────────────────────────


def test_global_batch_on_one_process_is_the_rows_per_device_times_accumulation():
    assert global_batch({"per_device_train_batch_size": 4, "gradient_accumulation_steps": 3}) == 12


def test_global_batch_grows_with_the_processes():
    settings = {"per_device_train_batch_size": 4, "gradient_accumulation_steps": 3}
    assert [global_batch(settings, processes) for processes in (1, 2, 8)] == [global_batch(settings) * n for n in (1, 2, 8)]


def test_global_batch_of_settings_left_out_is_trl_s_default(tmp_path):
    defaults = _config(tmp_path)  # no batch settings: TRL's defaults
    assert global_batch({}, 2) == defaults.per_device_train_batch_size * 2 * defaults.gradient_accumulation_steps


@pytest.mark.parametrize("processes", [0, -2, 1.5, True, "2"])
def test_global_batch_refuses_a_process_count_that_is_no_whole_number_from_one(processes):
    with pytest.raises(ValueError, match="whole number of at least 1"):
        global_batch({}, processes)


@pytest.mark.parametrize(("per_device", "accumulation", "processes"), [(4, 4, 2), (4, 4, 4), (2, 6, 3), (8, 1, 1)])
def test_accumulation_for_keeps_the_one_process_global_batch(per_device, accumulation, processes):
    settings = {"per_device_train_batch_size": per_device, "gradient_accumulation_steps": accumulation}
    kept = settings | {"gradient_accumulation_steps": accumulation_for(settings, processes)}
    assert global_batch(kept, processes) == global_batch(settings)


@pytest.mark.parametrize(("per_device", "accumulation", "processes"), [(4, 1, 2), (4, 4, 8), (6, 2, 4)])
def test_when_accumulation_cannot_keep_the_batch_the_advice_does(per_device, accumulation, processes):
    settings = {"per_device_train_batch_size": per_device, "gradient_accumulation_steps": accumulation}
    with pytest.raises(ValueError, match="No gradient_accumulation_steps keeps") as refused:
        accumulation_for(settings, processes)
    size, steps = re.search(r"per_device_train_batch_size to (\d+) and gradient_accumulation_steps to (\d+)", str(refused.value)).groups()
    advised = {"per_device_train_batch_size": int(size), "gradient_accumulation_steps": int(steps)}
    assert global_batch(advised, processes) == global_batch(settings)


def test_processes_that_cannot_share_the_batch_equally_are_told_to_change_their_number():
    with pytest.raises(ValueError, match="number of processes that divides 3"):
        accumulation_for({"per_device_train_batch_size": 3, "gradient_accumulation_steps": 1}, 2)


def test_batch_change_names_both_batches_and_the_accumulation_that_keeps_one():
    settings = {"per_device_train_batch_size": 4, "gradient_accumulation_steps": 4}
    sentence = batch_change(settings, 2)
    assert f"from {global_batch(settings)} to {global_batch(settings, 2)} rows" in sentence
    assert f"gradient_accumulation_steps: {accumulation_for(settings, 2)} keeps it" in sentence


def test_batch_change_gives_the_advice_when_accumulation_cannot_keep_the_batch():
    settings = {"per_device_train_batch_size": 4, "gradient_accumulation_steps": 1}
    with pytest.raises(ValueError) as refused:
        accumulation_for(settings, 2)
    advice = str(refused.value).split(": ", 1)[1]
    assert batch_change(settings, 2).endswith(advice)


def test_batch_change_on_one_process_says_the_batch_does_not_change():
    assert batch_change({"per_device_train_batch_size": 4, "gradient_accumulation_steps": 2}, 1) == (
        "On one process the global batch is 8 rows per optimiser step."
    )


def test_batch_change_speaks_vietnamese_in_the_vietnamese_notebooks(vietnamese):
    settings = {"per_device_train_batch_size": 4, "gradient_accumulation_steps": 2}
    vietnamese.on()
    assert batch_change(settings, 1) == vietnamese("On one process the global batch is {rows} rows per optimiser step.").format(rows=8)
    assert batch_change(settings, 1) != "On one process the global batch is 8 rows per optimiser step."


# ── the real command line ─────────────────────────────────────────────────────────────────────────


@pytest.mark.slow
def test_trl_sft_trains_from_the_written_files(tmp_path, support_desk):
    """The lesson's claim: `trl sft --config sft_run.yaml` trains this run (assistant-only loss included).

    On a tiny model saved with the course's base tokenizer and its own template, which the written template replaces.
    """
    tokenizer = load_tokenizer("base", verbose=False)
    assert tokenizer.chat_template != TRAINING_CHAT_TEMPLATE  # so the saved template below is the written one
    config = SFTConfig(
        output_dir=str(tmp_path / "run"), learning_rate=1e-4, max_steps=2, per_device_train_batch_size=2,
        gradient_accumulation_steps=1, assistant_only_loss=True, activation_checkpointing=False, logging_steps=1,
        save_strategy="no", report_to="none", use_cpu=True, bf16=False,
    )
    folder = write_trl_cli_files(
        config, model_name_or_path=saved_tiny_llama(tmp_path / "tiny", tokenizer), train_rows=support_desk["train"].select(range(8)),
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
    from trl import SFTTrainer

    tiny = tiny_llama(tokenizer)
    config = _config(tmp_path, max_steps=1, save_strategy="no", bf16=False)
    with pytest.raises(ValueError, match="not training-compatible"):
        SFTTrainer(
            model=tiny, args=config, processing_class=copy.deepcopy(tokenizer),
            train_dataset=support_desk["train"].select(range(2)),
        )


# ── launch ────────────────────────────────────────────────────────────────────────────────────────

# Stand-ins for a launcher, in Python: each saves (writes the marker Trainer.save_model writes last) or not, then
# exits or hangs. A hanging one may first start a "worker" in a session of its own, as torchrun does.
SAVE = "import pathlib, sys; pathlib.Path(sys.argv[1], 'training_args.bin').write_text('saved'); "
HANG = "import time; time.sleep(600)"
WORKER = (
    "import subprocess, sys; worker = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], "
    "start_new_session=True); open(sys.argv[2], 'w').write(str(worker.pid)); "
)


def _python(code: str, *args) -> list[str]:
    return [sys.executable, "-c", code, *map(str, args)]


@pytest.fixture
def short_grace(monkeypatch):
    monkeypatch.setattr(trl_cli, "EXIT_GRACE_S", 1)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_launch_returns_each_command_s_exit_code_and_output(tmp_path):
    ran = trl_cli.launch(_python(SAVE + "print('trained')", tmp_path), _python("print('other')"), saves=tmp_path, logs=tmp_path / "logs")
    assert [(run.returncode, run.output, run.succeeded, run.hung_after_saving) for run in ran] == [
        (0, "trained\n", True, False), (0, "other\n", True, False),
    ]


def test_a_run_that_saves_then_hangs_is_ended_with_its_workers_and_counts_as_done(tmp_path, short_grace, capsys):
    pid_file = tmp_path / "worker.pid"
    (run,) = trl_cli.launch(_python(WORKER + SAVE + HANG, tmp_path, pid_file), saves=tmp_path, logs=tmp_path / "logs")
    assert "pytorch/pytorch#75097" in capsys.readouterr().err
    assert (run.returncode, run.hung_after_saving, run.succeeded) == (None, True, True)
    assert _gone(int(pid_file.read_text()))


def test_a_model_an_earlier_run_saved_in_the_folder_does_not_end_a_run_still_training(tmp_path, short_grace):
    (tmp_path / trl_cli.SAVED_MARKER).write_text("an earlier run's")
    (run,) = trl_cli.launch(_python("import time; time.sleep(3); print('trained')"), saves=tmp_path, logs=tmp_path / "logs")
    assert (run.returncode, run.output, run.hung_after_saving) == (0, "trained\n", False)


def test_a_run_that_hangs_before_saving_is_ended_at_its_timeout_and_fails(tmp_path, short_grace):
    (run,) = trl_cli.launch(_python(HANG), saves=tmp_path, logs=tmp_path / "logs", timeout_s=2)
    assert (run.returncode, run.hung_after_saving, run.succeeded) == (-signal.SIGKILL, False, False)


def test_when_one_command_fails_the_others_are_ended(tmp_path):
    pid_file = tmp_path / "worker.pid"
    waiting, failing = trl_cli.launch(
        _python(WORKER + HANG, tmp_path, pid_file), _python("import time, sys; time.sleep(2); sys.exit(3)"),
        saves=tmp_path, logs=tmp_path / "logs",
    )
    assert (failing.returncode, waiting.returncode, waiting.succeeded) == (3, -signal.SIGKILL, False)
    assert _gone(int(pid_file.read_text()))
