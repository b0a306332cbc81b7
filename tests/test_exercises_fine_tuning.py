"""Tests for helpers.exercises.fine_tuning: lesson 2's checks (T4 settings, LoRA budget, LoRA on `trl sft`)."""

import copy

import pytest
from peft import LoraConfig, get_peft_model

from helpers.exercises import fine_tuning as check
from helpers.models import load_model_and_tokenizer, resolve_model
from helpers.training import QUICK_SETTINGS
from feedback_asserts import fails_with, not_attempted

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


def test_t4_fp16_without_switching_bf16_off():
    settings = {key: value for key, value in T4_SETTINGS.items() if key != "bf16"}
    fails_with(check.check_t4_settings(settings), "bf16 is on", "unless you say otherwise", "bf16=False")


def test_t4_bf16_off_without_fp16_trains_in_float32():
    settings = {key: value for key, value in T4_SETTINGS.items() if key != "fp16"}
    fails_with(check.check_t4_settings(settings), "float32", "fp16=True")


def test_t4_without_assistant_only_loss():
    settings = {key: value for key, value in T4_SETTINGS.items() if key != "assistant_only_loss"}
    fails_with(check.check_t4_settings(settings), "guidelines and questions", "assistant_only_loss=True")


def test_t4_with_a_tracker():
    fails_with(check.check_t4_settings(T4_SETTINGS | {"report_to": "wandb"}), "No tracker", 'report_to="none"')


def test_t4_with_use_cpu():
    fails_with(check.check_t4_settings(T4_SETTINGS | {"use_cpu": True}), "use_cpu=True would leave the T4 idle")


# ── medium: a LoRA budget ─────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def true_percent():
    """The trainable percentage of the rank-8 attention-only adapter, computed independently of the check."""
    model, _ = load_model_and_tokenizer("base", verbose=False)
    peft_model = get_peft_model(model, _small_lora())
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
        "model_name_or_path": resolve_model("base")[0],
        "datasets": [{"path": "json", "data_files": "train.jsonl", "split": "train"}],
        "chat_template_path": "t.jinja",
        "output_dir": str(tmp_path),
        "learning_rate": 1e-3,
        "max_steps": 14,
        "assistant_only_loss": True,
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
    fails_with(check.check_lora_cli_settings(cli_settings | {"learning_rate": QUICK_SETTINGS["learning_rate"]}), "full fine-tuning one")


def test_cli_without_template(cli_settings):
    fails_with(check.check_lora_cli_settings(_without(cli_settings, "chat_template_path")), "training-ready template")


def test_cli_without_assistant_only_loss(cli_settings):
    settings = _without(cli_settings, "assistant_only_loss")
    fails_with(check.check_lora_cli_settings(settings), "assistant_only_loss: true")


def test_cli_without_data(cli_settings):
    fails_with(check.check_lora_cli_settings(_without(cli_settings, "datasets")), "No training data")
