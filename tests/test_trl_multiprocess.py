"""TRL's command line beyond one process: `trl sft` on two CPU processes, then on two "machines" of this host.

The run is the one helpers.trl_cli writes, for a tiny model and a few steps, started by helpers.trl_cli.launch as
lesson 2b starts it. The processes talk through gloo on 127.0.0.1; each command is ended, with the processes it
started, if it fails or runs past TIMEOUT_S. A run that saved its model and then hangs as PyTorch tears down its gloo
process group (pytorch/pytorch#75097, now and then on a loaded CPU) has done what these tests check, and launch ends it.
"""

import json
import os
import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from fakes import saved_tiny_llama
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig

from helpers.models import load_tokenizer
from helpers.templates import END_OF_TURN, set_training_template
from helpers.trl_cli import Launched, global_batch, launch, write_trl_cli_files

pytestmark = pytest.mark.slow

PROCESSES = 2
ROWS = 16  # a whole number of global batches, so that the logged epoch counts the rows each step learned from
TIMEOUT_S = 300
TRL = str(Path(sys.executable).parent / "trl")
TRAINER_BANNER = "***** Running training *****"  # transformers' Trainer logs it at info level, in each process


@pytest.fixture(scope="module")
def run_files(tmp_path_factory, support_desk):
    """A tiny model saved with the base tokenizer, and the files of a 2-step run that trains it on ROWS conversations."""
    root = tmp_path_factory.mktemp("trl_multiprocess")
    tokenizer = set_training_template(load_tokenizer("base", verbose=False))
    # saved_tiny_llama gives the model the tokenizer's own ids: LlamaConfig's default end-of-sequence id happens to be
    # <|im_end|>'s, which the run must add.
    model = saved_tiny_llama(root / "tiny", tokenizer)
    config = SFTConfig(
        output_dir=str(root / "unused"), learning_rate=1e-4, max_steps=2, per_device_train_batch_size=2,
        gradient_accumulation_steps=2, max_length=256, assistant_only_loss=True, eos_token=END_OF_TURN,
        activation_checkpointing=False, logging_steps=1, save_strategy="steps", report_to="none", use_cpu=True, bf16=False,
    )
    folder = write_trl_cli_files(config, model, support_desk["train"].select(range(ROWS)), root / "cli")
    return SimpleNamespace(
        yaml=folder / "sft_run.yaml", settings=yaml.safe_load((folder / "sft_run.yaml").read_text()),
        end_of_turn=tokenizer.convert_tokens_to_ids(END_OF_TURN),
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _loopback_only() -> dict[str, str]:
    # gloo picks its network interface from the host name unless told; the loopback one keeps it on this host.
    names = [name for _, name in socket.if_nameindex() if name.startswith("lo")]
    return {"GLOO_SOCKET_IFNAME": names[0]} if names else {}


def _trl_sft(files, output_dir: Path, *launch_flags: str) -> list[str]:
    """Return `trl sft` on the written YAML, saving under output_dir, with accelerate's launch flags."""
    steps = str(files.settings["max_steps"])
    return [
        TRL, "sft", "--config", str(files.yaml), "--output_dir", str(output_dir), "--use_cpu", "true",
        # A checkpoint at the last step keeps trainer_state.json; info logs show what each process did.
        "--save_steps", steps, "--log_level", "info", "--log_level_replica", "info", *launch_flags,
    ]


def _launch(commands_for, folder: Path) -> tuple[list[Launched], Path]:
    """Return what the commands did, commands_for(output_dir, port) run at once under folder, and their output_dir."""
    output_dir = folder / "run"
    commands = commands_for(output_dir, str(_free_port()))
    return launch(*commands, saves=output_dir, logs=folder / "logs", timeout_s=TIMEOUT_S, env=os.environ | _loopback_only()), output_dir


def _assert_succeeded(results: list[Launched]) -> None:
    failed = [f"exit code {run.returncode}:\n{run.output[-3000:]}" for run in results if not run.succeeded]
    assert not failed, "\n\n".join(failed)


def _assert_trained_together(output_dir: Path, output: str, files) -> None:
    """Both processes trained one run: its global batch, one loss per logged step, a model that stops at the end of the turn."""
    settings = files.settings
    expected_batch = global_batch(settings, PROCESSES)
    assert output.count(TRAINER_BANNER) == PROCESSES
    assert output.count(f"Total train batch size (w. parallel, distributed & accumulation) = {expected_batch}") == PROCESSES
    checkpoint = output_dir / f"checkpoint-{settings['max_steps']}"
    # Each process saves its random state in a checkpoint, under its rank.
    assert sorted(path.name for path in checkpoint.glob("rng_state*.pth")) == [f"rng_state_{rank}.pth" for rank in range(PROCESSES)]
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    losses = [entry for entry in state["log_history"] if "loss" in entry]
    logged_steps = list(range(settings["logging_steps"], settings["max_steps"] + 1, settings["logging_steps"]))
    assert [entry["step"] for entry in losses] == logged_steps
    assert output.count("{'loss': ") == len(logged_steps)  # printed by rank 0 only, not once per process
    # The epoch counts the rows seen: each optimiser step learned from one global batch.
    assert [entry["epoch"] * ROWS for entry in losses] == pytest.approx([step * expected_batch for step in logged_steps])
    model = AutoModelForCausalLM.from_pretrained(output_dir)
    eos = model.generation_config.eos_token_id
    assert files.end_of_turn in (eos if isinstance(eos, list) else [eos])
    assert AutoTokenizer.from_pretrained(output_dir).eos_token == END_OF_TURN


def test_the_tiny_model_does_not_stop_at_the_end_of_the_turn_before_training(run_files):
    """So the check after training sees what the run's eos_token did, not what the model already had."""
    eos = AutoModelForCausalLM.from_pretrained(run_files.settings["model_name_or_path"]).generation_config.eos_token_id
    assert run_files.end_of_turn not in (eos if isinstance(eos, list) else [eos])


def test_trl_sft_on_two_cpu_processes(run_files, tmp_path):
    """`trl sft --config ... --use_cpu true --multi_gpu --num_processes 2`: torchrun starts 2 processes, gloo joins them."""
    def commands_for(output_dir, port):
        return [_trl_sft(run_files, output_dir, "--multi_gpu", "--num_processes", str(PROCESSES), "--main_process_port", port)]

    results, output_dir = _launch(commands_for, tmp_path)
    _assert_succeeded(results)
    _assert_trained_together(output_dir, results[0].output, run_files)


def test_trl_sft_on_two_machines_of_one_process_each(run_files, tmp_path):
    """The multi-node flags, both "machines" on 127.0.0.1: the same command on each, but for --machine_rank."""
    def commands_for(output_dir, port):
        return [
            _trl_sft(
                run_files, output_dir, "--multi_gpu", "--num_processes", str(PROCESSES), "--num_machines", str(PROCESSES),
                "--machine_rank", str(rank), "--main_process_ip", "127.0.0.1", "--main_process_port", port,
            )
            for rank in range(PROCESSES)
        ]

    results, output_dir = _launch(commands_for, tmp_path)
    _assert_succeeded(results)
    main_output, other_output = (run.output for run in results)
    _assert_trained_together(output_dir, main_output + other_output, run_files)
    # Rank 0's machine saved the run; the other one, logging at the same level, saved nothing.
    assert f"Saving model checkpoint to {output_dir}" in main_output
    assert "Saving model checkpoint" not in other_output
