"""Tests for helpers.chat_format: a model's chat format read from its tokenizer, and the clear errors where it cannot be trained."""

import copy

import pytest
import trl
from transformers import AutoTokenizer

from helpers.chat_format import ChatFormatError, chat_format
from helpers.chatml import TRAINING_CHAT_TEMPLATE
from helpers.models import load_model_and_tokenizer, load_tokenizer
from helpers.stand_ins import stand_in_dir
from helpers.templates import trl_chat_template

# SmolLM2's template with another default system prompt: still ChatML, but neither SmolLM2's nor one TRL knows.
UNKNOWN_CHATML = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a parrot.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@pytest.fixture
def own(tokenizer):
    """A copy of SmolLM2-Instruct's tokenizer, free to change."""
    return copy.deepcopy(tokenizer)


# ── SmolLM2 ──────────────────────────────────────────────────────────────────────────────────────


def test_smollm2_trains_in_the_courses_chatml_and_ends_its_turn_with_im_end(own):
    found = chat_format(own)
    assert found.training_template == TRAINING_CHAT_TEMPLATE
    assert (found.end_of_turn, found.end_of_turn_id) == ("<|im_end|>", own.convert_tokens_to_ids("<|im_end|>"))
    assert found.eos_token == "<|im_end|>"
    assert "helpers/chatml.py" in found.template_source


def test_a_smollm2_base_tokenizer_without_a_template_still_trains_in_chatml(own):
    # The real HuggingFaceTB/SmolLM2-135M ships no chat template; its vocabulary has ChatML's tokens.
    own.chat_template = None
    assert chat_format(own).training_template == TRAINING_CHAT_TEMPLATE


def test_a_saved_training_template_is_kept_as_the_models_own(own):
    own.chat_template = TRAINING_CHAT_TEMPLATE  # what lesson 2's saved model carries
    found = chat_format(own)
    assert found.training_template == TRAINING_CHAT_TEMPLATE
    assert "own template" in found.template_source


def test_reading_the_format_leaves_the_tokenizer_unchanged(own, tokenizer):
    chat_format(own)
    assert own.chat_template == tokenizer.chat_template and own.eos_token == tokenizer.eos_token


# ── other families, on their stand-ins ───────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("family", "end_of_turn", "trl_file"),
    [("qwen2.5", "<|im_end|>", "qwen2_5"), ("llama3", "<|eot_id|>", "llama3"), ("gemma3", "<end_of_turn>", "gemma3")],
)
def test_a_family_known_to_trl_trains_in_trls_variant_and_ends_with_its_own_token(family, end_of_turn, trl_file):
    family_tokenizer = AutoTokenizer.from_pretrained(stand_in_dir(family))
    found = chat_format(family_tokenizer)
    assert found.training_template == trl_chat_template(f"{trl_file}_training")
    assert found.template_source == f"TRL's {trl_file}_training.jinja"
    assert found.end_of_turn == end_of_turn == found.eos_token
    assert found.end_of_turn_id == family_tokenizer.convert_tokens_to_ids(end_of_turn)


def test_stop_ids_add_the_end_of_turn_after_the_generation_configs_own():
    model, family_tokenizer = load_model_and_tokenizer("base", model_id=str(stand_in_dir("llama3")), verbose=False)
    found = chat_format(family_tokenizer)
    end_of_text = family_tokenizer.convert_tokens_to_ids("<|end_of_text|>")
    assert model.generation_config.eos_token_id == end_of_text  # a base model's: the end of a document only
    assert found.stop_ids(model) == [end_of_text, found.end_of_turn_id]
    model.generation_config.eos_token_id = [found.end_of_turn_id, end_of_text]  # as TRL leaves a trained model
    assert found.stop_ids(model) == [found.end_of_turn_id, end_of_text]


# ── what cannot be trained: one clear message ────────────────────────────────────────────────────


def _fails(tokenizer, *phrases):
    with pytest.raises(ChatFormatError) as raised:
        chat_format(tokenizer)
    for phrase in (tokenizer.name_or_path, "cannot be fine-tuned", "SFT_COURSE_BASE_MODEL", *phrases):
        assert phrase in str(raised.value)
    return raised.value


def test_a_template_trl_does_not_know_names_the_model_what_is_missing_and_what_to_do(own):
    own.chat_template = UNKNOWN_CHATML
    _fails(own, "no {% generation %} markers", f"TRL {trl.__version__} has no training variant", "{% generation %} markers around")


def test_an_unknown_template_still_gives_the_end_of_turn_for_generation(own):
    own.chat_template = UNKNOWN_CHATML
    found = chat_format(own, training=False)
    assert found.training_template is None and found.end_of_turn == "<|im_end|>"
    assert "no {% generation %} markers" in found.problem


def test_a_tokenizer_without_template_or_chatml_tokens_is_refused():
    family_tokenizer = AutoTokenizer.from_pretrained(stand_in_dir("llama3"))
    family_tokenizer.chat_template = None
    _fails(family_tokenizer, "has no chat template")


def test_a_training_template_that_leaves_the_end_of_turn_untrained_is_refused(own):
    # Lesson 1's never_stops: <|im_end|> moved out of the {% generation %} block.
    own.chat_template = TRAINING_CHAT_TEMPLATE.replace(
        "{{ message['content'] + '<|im_end|>' }}{% endgeneration %}",
        "{{ message['content'] }}{% endgeneration %}{{ '<|im_end|>' }}",
    )
    _fails(own, "leaves the end-of-turn token <|im_end|> out of the trained tokens", "never learn to stop")


def test_a_template_that_ends_a_reply_with_plain_text_is_refused(own):
    own.chat_template = (
        "{% for message in messages %}{{ message['role'] + ': ' + message['content'] + '\\n###\\n' }}{% endfor %}"
    )
    _fails(own, "no special token")


def test_the_base_model_is_checked_when_it_is_loaded(tmp_path, tokenizer, monkeypatch):
    untrainable = copy.deepcopy(tokenizer)
    untrainable.chat_template = UNKNOWN_CHATML
    untrainable.save_pretrained(tmp_path)
    monkeypatch.setenv("SFT_COURSE_BASE_MODEL", str(tmp_path))
    with pytest.raises(ChatFormatError, match=f"{tmp_path}.*cannot be fine-tuned"):
        load_tokenizer("base", verbose=False)
    monkeypatch.setenv("SFT_COURSE_INSTRUCT_MODEL", str(tmp_path))
    assert load_tokenizer("instruct", verbose=False).chat_template == UNKNOWN_CHATML  # chat demos need no training template
