"""Tests for helpers.training: precision from the hardware, lesson 2's settings and its model for later lessons."""

import copy
import dataclasses
import json

import pytest
import torch
import transformers.training_args
from fakes import REPLY, RUN_ON, tiny_llama
from hardware import MACHINES, pretend

from helpers.environment import Environment, detect
from helpers.recipe import RUNS, sft_config
from helpers.training import (
    pick_precision,
    score_trained_tokens_only_on_cpu,
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
    config = sft_config(env, tmp_path)
    assert (config.bf16, config.fp16) == (bf16, fp16)
    assert config.mixed_precision == ("fp16" if fp16 else "bf16" if bf16 else "no")
    assert config.use_cpu == (env.device == "cpu")
    assert config.per_device_train_batch_size * config.gradient_accumulation_steps == RUNS[env.profile]["batch"]


# A CPU without bf16, so a run trains in float32 wherever the test runs.
CPU_ENV = _env("cpu", "CPU", False)


# ── The end of the turn: SFTConfig(eos_token=...) makes a trained model stop there on its own ──


def _saved_then_reloaded(model, tokenizer, support_desk, folder, **config_overrides):
    """Build lesson 2's SFTTrainer around the model (no training), save it, and load it back."""
    from transformers import AutoModelForCausalLM
    from trl import SFTTrainer

    args = sft_config(CPU_ENV, folder / "run")
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
    from helpers.templates import END_OF_TURN

    reloaded = _saved_then_reloaded(turn_model, base_tokenizer, support_desk, tmp_path)
    assert _bare_reply(reloaded, base_tokenizer) == REPLY + END_OF_TURN
    saved = json.loads((tmp_path / "saved" / "generation_config.json").read_text())
    assert saved["eos_token_id"] == [base_tokenizer.convert_tokens_to_ids(END_OF_TURN), 0]


def test_without_eos_token_a_saved_base_model_runs_on(turn_model, base_tokenizer, support_desk, tmp_path):
    from helpers.templates import END_OF_TURN

    reloaded = _saved_then_reloaded(turn_model, base_tokenizer, support_desk, tmp_path, eos_token=None)
    assert _bare_reply(reloaded, base_tokenizer) == REPLY + END_OF_TURN + RUN_ON * 4


def test_without_autocast_gives_back_the_forward_of_before_training(training_tokenizer, support_desk, tmp_path):
    # Mixed-precision training leaves torch.autocast on the model's forward; a reloaded copy computes
    # in float32. without_autocast makes the trained model compute as the reloaded copy will.
    from transformers import LlamaForCausalLM
    from trl import SFTTrainer

    tiny = tiny_llama(training_tokenizer)
    args = dataclasses.replace(sft_config(CPU_ENV, tmp_path), max_steps=1, per_device_train_batch_size=2,
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


def test_the_precision_reason_comes_out_in_vietnamese_in_the_vietnamese_notebooks(vietnamese):
    t4 = _env("cuda", "Tesla T4", False)
    english = pick_precision(t4)[1]
    assert english == "Tesla T4 has no bf16 (a Colab T4, say): fp16 mixed precision"
    vietnamese.on()
    expected = vietnamese("{device} has no bf16 (a Colab T4, say): fp16 mixed precision").format(device="Tesla T4")
    assert pick_precision(t4)[1] == expected != english


# ── TRL's fused LM head on a CPU: only the trained tokens scored, the same loss and gradients ──


def test_trls_loss_on_a_cpu_scores_only_the_trained_tokens_and_gives_the_same_loss_and_gradients(training_tokenizer, monkeypatch):
    import trl.trainer.utils as trl_utils
    from trl.kernels.chunked_logprob import _use_triton as trls_own_choice

    assert score_trained_tokens_only_on_cpu(), "the pinned TRL should still offer the switch (helpers.training)"
    model = tiny_llama(training_tokenizer)
    trl_utils.add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))  # as SFTTrainer adds it
    ids = torch.randint(0, len(training_tokenizer), (2, 12), generator=torch.Generator().manual_seed(0))
    labels = ids.clone()
    labels[:, :7] = -100  # the prompt
    labels[1, 10:] = -100  # padding after a shorter row
    scored = []
    chunked = trl_utils._ChunkedLogProbFunction

    class CountingPositions:
        @staticmethod
        def apply(hidden, *rest):
            scored.append(hidden.shape[0])
            return chunked.apply(hidden, *rest)

    monkeypatch.setattr(trl_utils, "_ChunkedLogProbFunction", CountingPositions)

    def loss_and_gradients():
        model.zero_grad()
        outputs = model(input_ids=ids, labels=labels, fused_lm_head=True)
        outputs.loss.backward()
        return outputs, [parameter.grad.clone() for parameter in model.parameters()]

    trained_only, trained_only_gradients = loss_and_gradients()
    monkeypatch.setattr(trl_utils, "_use_triton", trls_own_choice)  # TRL's own choice on a CPU: every position
    every, every_gradients = loss_and_gradients()
    assert scored == [int((labels[:, 1:] != -100).sum()), labels[:, 1:].numel()] == [8, 22]
    assert torch.allclose(trained_only.loss, every.loss, rtol=1e-6)
    assert all(torch.allclose(a, b, rtol=1e-5, atol=1e-8) for a, b in zip(trained_only_gradients, every_gradients))
    assert torch.allclose(trained_only.entropy, every.entropy, rtol=1e-5) and torch.equal(trained_only.is_top1, every.is_top1)
