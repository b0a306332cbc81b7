"""Tests for helpers.exercises.fine_tuning: lessons 2 and 2b's checks (T4 settings, a cut run, LoRA budget, ranks, `trl sft`)."""

import copy
import dataclasses

import pandas as pd
import pytest
from fakes import tiny_llama
from feedback_asserts import fails_with, in_vietnamese, not_attempted, passes
from peft import LoraConfig, get_peft_model

from helpers.environment import detect
from helpers.exercises import fine_tuning as check
from helpers.models import prepare_model_location
from helpers.recipe import SETTINGS, sft_config, training_rows

T4_SETTINGS = {
    "output_dir": "outputs/t4",
    "learning_rate": 1e-4,
    "max_steps": 250,
    "per_device_train_batch_size": 8,
    "assistant_only_loss": True,
    "fp16": True,
    "bf16": False,
    "report_to": "none",
}
ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"]


def _small_lora(**overrides):
    return LoraConfig(**({"r": 8, "lora_alpha": 16, "target_modules": ATTENTION, "task_type": "CAUSAL_LM"} | overrides))


# ── easy: SFTConfig settings for a Colab T4 ───────────────────────────────────────────────────────


def test_t4_not_attempted():
    not_attempted(check.check_t4_settings(None))


def test_t4_correct():
    feedback = check.check_t4_settings(T4_SETTINGS)
    assert feedback and feedback.message.startswith("✅")


def test_t4_not_a_dict():
    fails_with(check.check_t4_settings([("fp16", True)]), "Expected a dict", "list")


def test_t4_max_seq_length_is_called_max_length_now():
    fails_with(check.check_t4_settings(T4_SETTINGS | {"max_seq_length": 512}), "'max_seq_length' any more", "max_length now")


def test_t4_evaluation_strategy_is_called_eval_strategy_now():
    fails_with(check.check_t4_settings(T4_SETTINGS | {"evaluation_strategy": "steps"}), "eval_strategy now")


def test_t4_misspelled_argument():
    fails_with(check.check_t4_settings(T4_SETTINGS | {"learnig_rate": 1e-4}), "has no argument 'learnig_rate'", "spelling")


def test_t4_minimal_answer_passes_and_leaves_bf16_off():
    minimal = {"fp16": True, "assistant_only_loss": True, "report_to": "none"}
    feedback = check.check_t4_settings(minimal)
    assert feedback and "bf16=False" in feedback.message
    config = check.t4_config(minimal)
    assert (config.fp16, config.bf16, config.mixed_precision) == (True, False, "fp16")


def test_t4_bf16_is_emulated_on_a_t4():
    fails_with(check.check_t4_settings(T4_SETTINGS | {"fp16": False, "bf16": True}), "bf16 is on", "you set bf16=True", "emulate")


def test_t4_both_half_precisions_are_refused_by_trl():
    fails_with(check.check_t4_settings(T4_SETTINGS | {"bf16": True}), "SFTConfig refused", "At most one of fp16 and bf16")


def test_t4_no_precision_leaves_trl_default_bf16_on():
    settings = {key: value for key, value in T4_SETTINGS.items() if key not in ("fp16", "bf16")}
    fails_with(check.check_t4_settings(settings), "bf16 is on", "unless fp16 is set")


def test_t4_bf16_off_without_fp16_trains_in_float32():
    settings = {key: value for key, value in T4_SETTINGS.items() if key != "fp16"}
    fails_with(check.check_t4_settings(settings), "float32", "fp16=True")


def test_t4_without_assistant_only_loss():
    settings = {key: value for key, value in T4_SETTINGS.items() if key != "assistant_only_loss"}
    fails_with(check.check_t4_settings(settings), "guidelines and questions", "assistant_only_loss=True")


def test_t4_with_a_tracker():
    fails_with(check.check_t4_settings(T4_SETTINGS | {"report_to": "wandb"}), "A tracker is on", "wandb", 'report_to="none"')


def test_t4_with_use_cpu():
    fails_with(check.check_t4_settings(T4_SETTINGS | {"use_cpu": True}), "use_cpu=True would leave the T4 idle")


# ── medium: a LoRA budget ─────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def true_percent(base_model_and_tokenizer):
    """The trainable percentage of the rank-8 attention-only adapter, computed independently of the check."""
    peft_model = get_peft_model(copy.deepcopy(base_model_and_tokenizer[0]), _small_lora())
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    return 100 * trainable / sum(p.numel() for p in peft_model.parameters())


def test_budget_not_attempted():
    not_attempted(check.check_lora_budget(None, None))


def test_budget_percentage_without_config_is_not_attempted():
    not_attempted(check.check_lora_budget(None, 0.5))


def test_budget_correct(true_percent):
    feedback = check.check_lora_budget(_small_lora(), true_percent)
    assert feedback and feedback.message.startswith("✅")
    assert f"{true_percent:.2f} %" in feedback.message


def test_budget_rounded_to_two_decimals_is_accepted(true_percent):
    assert check.check_lora_budget(_small_lora(), round(true_percent, 2))


def test_budget_does_not_mutate_the_learners_config(true_percent):
    lora = _small_lora()
    before = copy.deepcopy(lora.to_dict())
    check.check_lora_budget(lora, true_percent)
    assert lora.to_dict() == before


def test_budget_not_a_lora_config():
    fails_with(check.check_lora_budget({"r": 8}, 0.5), "Expected a peft.LoraConfig", "dict")


def test_budget_wrong_rank():
    fails_with(check.check_lora_budget(_small_lora(r=16), 0.5), "The rank is 16", "asks for 8")


def test_budget_all_linear_targets():
    fails_with(check.check_lora_budget(_small_lora(target_modules="all-linear"), 0.5), "attention projections only")


def test_budget_fraction_instead_of_percentage(true_percent):
    fails_with(check.check_lora_budget(_small_lora(), true_percent / 100), "is a fraction", "multiply by 100")


def test_budget_wrong_number(true_percent):
    fails_with(check.check_lora_budget(_small_lora(), true_percent * 2), "is not what this config trains")


# ── hard: LoRA settings for `trl sft` ─────────────────────────────────────────────────────────────


@pytest.fixture
def cli_settings(tmp_path):
    return {
        "model_name_or_path": prepare_model_location("base")[0],
        "datasets": [{"path": "json", "data_files": "train.jsonl", "split": "train"}],
        "chat_template_path": "t.jinja",
        "output_dir": str(tmp_path),
        "learning_rate": 1e-3,
        "max_steps": 14,
        "assistant_only_loss": True,
        "eos_token": "<|im_end|>",
        "use_peft": True,
        "lora_r": 16,
        "lora_alpha": 32,
        "lora_target_modules": "all-linear",
    }


def _without(settings, key):
    return {name: value for name, value in settings.items() if name != key}


def test_cli_not_attempted():
    not_attempted(check.check_lora_cli_settings(None))


def test_cli_correct(cli_settings):
    feedback = check.check_lora_cli_settings(cli_settings)
    assert feedback and feedback.message.startswith("✅")


def test_cli_not_a_dict():
    fails_with(check.check_lora_cli_settings("use_peft: true"), "Expected a dict", "str")


def test_cli_without_use_peft(cli_settings):
    fails_with(check.check_lora_cli_settings(_without(cli_settings, "use_peft")), "LoRA is off", "use_peft: true")


def test_cli_wrong_rank(cli_settings):
    fails_with(check.check_lora_cli_settings(cli_settings | {"lora_r": 8}), "LoRA rank 8", "16 and 32")


def test_cli_attention_only_targets(cli_settings):
    targets = cli_settings | {"lora_target_modules": ATTENTION}
    fails_with(check.check_lora_cli_settings(targets), "adapted all linear layers")


def test_cli_unknown_key_is_rejected_by_trls_parser(cli_settings):
    fails_with(check.check_lora_cli_settings(cli_settings | {"lora_rank": 16}), "parser rejected", "lora_rank")


def test_cli_full_fine_tuning_learning_rate(cli_settings):
    fails_with(check.check_lora_cli_settings(cli_settings | {"learning_rate": SETTINGS["learning_rate"]}), "full fine-tuning one")


def test_cli_without_template(cli_settings):
    fails_with(check.check_lora_cli_settings(_without(cli_settings, "chat_template_path")), "training-ready template")


def test_cli_without_assistant_only_loss(cli_settings):
    settings = _without(cli_settings, "assistant_only_loss")
    fails_with(check.check_lora_cli_settings(settings), "assistant_only_loss: true")


def test_cli_without_data(cli_settings):
    fails_with(check.check_lora_cli_settings(_without(cli_settings, "datasets")), "No training data")


# ── train (lesson 2): a max_length that cuts the replies ─────────────────────────────────────────


def _tiny_trainer(tokenizer, rows, tmp_path, steps=1, peft_config=None, **changes):
    """An SFTTrainer around a tiny random Llama of the SmolLM2 vocabulary, trained for `steps` steps."""
    from trl import SFTTrainer

    tiny = tiny_llama(tokenizer)
    args = dataclasses.replace(
        sft_config(detect(), tmp_path), max_steps=steps, per_device_train_batch_size=2,
        gradient_accumulation_steps=1, bf16=False, disable_tqdm=True, **changes,
    )
    trainer = SFTTrainer(model=tiny, args=args, train_dataset=rows, processing_class=copy.deepcopy(tokenizer),
                         peft_config=peft_config)
    if steps:
        trainer.train()
    return trainer


@pytest.fixture(scope="module")
def lesson_rows():
    return training_rows(4, 4)[0]


def _replies(ended):
    return pd.DataFrame({"reply": ["…"] * len(ended), "ended": ended})


WHOLE = _replies([True] * 4)


def test_cut_not_attempted():
    not_attempted(check.check_cut_run(None, None, WHOLE))


def test_cut_run_that_cuts_the_ends_and_never_stops_passes(training_tokenizer, lesson_rows, tmp_path):
    trainer = _tiny_trainer(training_tokenizer, lesson_rows, tmp_path, max_length=100)
    feedback = check.check_cut_run(trainer, _replies([False] * 4), WHOLE)
    passes(feedback)
    assert "max_length=100 cut the end of the turn from 100% of the training rows" in feedback.message
    assert "0 of your model's 4 replies ended" in feedback.message and "ended 4 of 4" in feedback.message


def test_cut_run_whose_max_length_keeps_the_ends(training_tokenizer, lesson_rows, tmp_path):
    trainer = _tiny_trainer(training_tokenizer, lesson_rows, tmp_path, max_length=1024)
    fails_with(check.check_cut_run(trainer, _replies([False] * 4), WHOLE), "kept the end of the turn in 100%", "left side of the histogram")


def test_cut_run_whose_replies_still_end_was_trained_on_a_fine_tuned_model(training_tokenizer, lesson_rows, tmp_path):
    trainer = _tiny_trainer(training_tokenizer, lesson_rows, tmp_path, max_length=100)
    feedback = check.check_cut_run(trainer, _replies([True, True, True, False]), WHOLE)
    fails_with(feedback, "3 of your model's 4 replies ended", "fresh base model")


def test_cut_run_not_trained(training_tokenizer, lesson_rows, tmp_path):
    trainer = _tiny_trainer(training_tokenizer, lesson_rows, tmp_path, steps=0, max_length=100)
    fails_with(check.check_cut_run(trainer, _replies([False] * 4), WHOLE), "has not trained yet", ".train()")


def test_cut_run_with_scores_instead_of_replies(training_tokenizer, lesson_rows, tmp_path):
    trainer = _tiny_trainer(training_tokenizer, lesson_rows, tmp_path, max_length=100)
    fails_with(check.check_cut_run(trainer, {"sign_off": 0.0}, WHOLE), "reply_table returns", "`ended` column")


# ── train (lesson 2b): LoRA rank 4 against rank 32 ───────────────────────────────────────────────


def _rank_trainer(tokenizer, rows, tmp_path, rank, steps=1):
    lora = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules="all-linear", task_type="CAUSAL_LM")
    return _tiny_trainer(tokenizer, rows, tmp_path / f"r{rank}", steps=steps, peft_config=lora, learning_rate=2e-3)


@pytest.fixture(scope="module")
def rank_runs(training_tokenizer, lesson_rows, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ranks")
    trainers = {rank: _rank_trainer(training_tokenizer, lesson_rows, folder, rank) for rank in (4, 32)}
    return trainers, {rank: trainer.evaluate(eval_dataset=lesson_rows) for rank, trainer in trainers.items()}


def test_ranks_not_attempted():
    not_attempted(check.check_rank_runs(None, None))


def test_ranks_compared(rank_runs):
    trainers, metrics = rank_runs
    feedback = check.check_rank_runs(trainers, metrics)
    passes(feedback)
    trained = {rank: sum(p.numel() for p in t.model.parameters() if p.requires_grad) / 1e6 for rank, t in trainers.items()}
    assert f"Rank 4 trained {trained[4]:.2f}M parameters, rank 32 {trained[32]:.2f}M (8 times as many)" in feedback.message
    assert f"{metrics[4]['eval_loss']:.3f} against {metrics[32]['eval_loss']:.3f}" in feedback.message


def test_ranks_swapped(rank_runs):
    trainers, metrics = rank_runs
    fails_with(check.check_rank_runs({4: trainers[32], 32: trainers[4]}, metrics), "The trainer under 4 trains rank 32", "r=4")


def test_ranks_without_evaluation(rank_runs):
    trainers, metrics = rank_runs
    fails_with(check.check_rank_runs(trainers, {4: metrics[4], 32: {"train_loss": 1.0}}), "rank-32 metrics have no eval_loss")


def test_ranks_full_fine_tuning_is_not_an_adapter(training_tokenizer, lesson_rows, tmp_path, rank_runs):
    trainers, metrics = rank_runs
    full = _tiny_trainer(training_tokenizer, lesson_rows, tmp_path)
    fails_with(check.check_rank_runs({4: trainers[4], 32: full}, metrics), "trains no LoRA adapter", "r=32")


def test_ranks_not_keyed_by_rank(rank_runs):
    trainers, metrics = rank_runs
    fails_with(check.check_rank_runs(list(trainers.values()), metrics), "keyed by the ranks")


def test_cli_without_the_end_of_turn_token(cli_settings):
    feedback = check.check_lora_cli_settings(_without(cli_settings, "eos_token"))
    fails_with(feedback, "would not stop at the end of its turn", "eos_token: <|im_end|>")


# ── the Vietnamese edition ────────────────────────────────────────────────────────────────────────


def test_a_check_speaks_vietnamese_in_the_vietnamese_notebooks(vietnamese):
    settings = T4_SETTINGS | {"max_seq_length": 512}
    english = check.check_t4_settings(settings).message
    assert english == "❌ SFTConfig has no argument 'max_seq_length' any more.\n💡 Hint: it is called max_length now."
    expected = in_vietnamese(
        vietnamese, "SFTConfig has no argument {name} any more.", "it is called {new_name} now.",
        name="'max_seq_length'", new_name="max_length",
    )
    vietnamese.on()
    assert check.check_t4_settings(settings).message == expected != english
