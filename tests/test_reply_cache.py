"""Tests for helpers.reply_cache: greedy replies and scores are kept and given again; any change to what decides them redoes them."""

import copy

import pytest
import torch
from fakes import REPLY, tiny_llama
from peft import LoraConfig, get_peft_model
from trl.trainer.utils import add_fused_lm_head

from helpers import reply_cache
from helpers.baselines import answer_with_cost
from helpers.course import CACHED_REPLIES_FOLDER
from helpers.evaluation import continuation_logprobs, multiple_choice_table
from helpers.generation import generate_turns, timed_turns

HI = [[{"role": "user", "content": "Hi"}], [{"role": "user", "content": "Hello there, how are you?"}]]
SWITCHED_ON = reply_cache.switched_on  # the real one: conftest.py switches the cache off for the other tests


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The course cache in a temporary folder, switched on as in a lesson; returns the folder the replies go to."""
    monkeypatch.setattr(reply_cache, "cache_dir", lambda: tmp_path)
    monkeypatch.delenv(reply_cache.VARIABLE, raising=False)
    monkeypatch.setattr(reply_cache, "switched_on", SWITCHED_ON)
    return tmp_path / CACHED_REPLIES_FOLDER


def count_generate_calls(model, monkeypatch) -> list:
    """Return a list that grows by one each time model.generate runs (it still runs)."""
    calls = []
    generate = model.generate

    def counted(*args, **kwargs):
        calls.append(1)
        return generate(*args, **kwargs)

    monkeypatch.setattr(model, "generate", counted)
    return calls


def test_the_same_model_asked_the_same_prompts_answers_from_the_cache(cache, turn_model, base_tokenizer, monkeypatch):
    calls = count_generate_calls(turn_model, monkeypatch)
    first, seconds = timed_turns(turn_model, base_tokenizer, HI, max_new_tokens=4)
    again, kept_seconds = timed_turns(turn_model, base_tokenizer, HI, max_new_tokens=4)
    assert first == again and first[0] == (REPLY, True)
    assert kept_seconds == seconds  # the time it took when generated, not the time of reading it back
    assert len(calls) == 1 and len(list(cache.glob("*.json"))) == 1


def test_other_settings_or_prompts_generate_again(cache, turn_model, base_tokenizer, monkeypatch):
    calls = count_generate_calls(turn_model, monkeypatch)
    generate_turns(turn_model, base_tokenizer, HI, max_new_tokens=4)
    generate_turns(turn_model, base_tokenizer, HI, max_new_tokens=5)
    generate_turns(turn_model, base_tokenizer, HI, max_new_tokens=4, batch_size=1)
    generate_turns(turn_model, base_tokenizer, HI[:1], max_new_tokens=4)
    assert len(calls) == 1 + 1 + 2 + 1  # batch_size=1: a call per prompt
    assert len(list(cache.glob("*.json"))) == 4


def test_changed_weights_generate_again(cache, turn_model, base_tokenizer, monkeypatch):
    generate_turns(turn_model, base_tokenizer, HI, max_new_tokens=4)
    with torch.no_grad():
        turn_model.lm_head.weight[0, 0] += 1e-6  # the smallest change still changes the bytes
    calls = count_generate_calls(turn_model, monkeypatch)
    generate_turns(turn_model, base_tokenizer, HI, max_new_tokens=4)
    assert len(calls) == 1


def test_sampled_replies_and_a_switched_off_cache_keep_nothing(cache, turn_model, base_tokenizer, monkeypatch):
    generate_turns(turn_model, base_tokenizer, HI, max_new_tokens=4, do_sample=True)
    assert not cache.exists()
    monkeypatch.setenv(reply_cache.VARIABLE, "off")
    generate_turns(turn_model, base_tokenizer, HI, max_new_tokens=4)
    assert not cache.exists()


def test_a_cache_that_cannot_be_written_still_gives_the_replies(turn_model, base_tokenizer, tmp_path, monkeypatch):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    monkeypatch.setattr(reply_cache, "cache_dir", lambda: not_a_folder)
    monkeypatch.setattr(reply_cache, "switched_on", SWITCHED_ON)
    assert generate_turns(turn_model, base_tokenizer, HI, max_new_tokens=4)[0] == (REPLY, True)
    assert reply_cache.store("0" * 32, [(REPLY, True)], 1.0) is None


def test_a_write_that_fails_halfway_leaves_no_file_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(reply_cache, "cache_dir", lambda: tmp_path)

    def full_disk(source, target):
        raise OSError("No space left on device")

    monkeypatch.setattr(reply_cache.os, "replace", full_disk)
    assert reply_cache.store("0" * 32, [(REPLY, True)], 1.0) is None
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]


def test_a_model_saved_and_loaded_again_keeps_its_fingerprint(turn_model, tmp_path):
    # Lesson 4 loads lesson 2's saved model: it should find the replies lesson 2 generated in memory.
    turn_model.save_pretrained(tmp_path)
    reloaded = type(turn_model).from_pretrained(tmp_path).eval()
    assert reply_cache.model_fingerprint(reloaded) == reply_cache.model_fingerprint(turn_model)


def test_trls_fused_loss_head_and_its_end_and_pad_tokens_keep_the_fingerprints(turn_model, base_tokenizer):
    # Lesson 2 asks the model SFTTrainer left in memory (its forward patched, its tokenizer's eos and pad set);
    # lessons 2b and 4 ask a copy loaded from disk, lesson 4 with a fresh tokenizer: the same replies.
    patched, tokenizer = copy.deepcopy(turn_model), copy.deepcopy(base_tokenizer)
    add_fused_lm_head(patched)
    tokenizer.eos_token = tokenizer.pad_token = "<|im_end|>"
    assert "forward" in vars(patched)
    assert reply_cache.model_fingerprint(patched) == reply_cache.model_fingerprint(turn_model)
    assert reply_cache.tokenizer_fingerprint(tokenizer) == reply_cache.tokenizer_fingerprint(base_tokenizer)
    tokenizer.add_tokens(["<|new|>"], special_tokens=True)
    assert reply_cache.tokenizer_fingerprint(tokenizer) != reply_cache.tokenizer_fingerprint(base_tokenizer)


def test_state_outside_the_weights_changes_the_fingerprint(turn_model):
    plain = reply_cache.model_fingerprint(turn_model)
    wrapped = copy.deepcopy(turn_model)
    wrapped.forward = torch.autocast("cpu", dtype=torch.bfloat16)(wrapped.forward)  # as accelerate leaves a trained model
    assert reply_cache.model_fingerprint(wrapped) != plain
    config = LoraConfig(r=2, target_modules=["q_proj"], init_lora_weights=False)
    adapted = get_peft_model(copy.deepcopy(turn_model), config)
    on = reply_cache.model_fingerprint(adapted)
    with adapted.disable_adapter():
        assert reply_cache.model_fingerprint(adapted) != on


def test_the_prompted_models_cost_comes_with_its_kept_replies(cache, turn_model, base_tokenizer):
    replies, cost = answer_with_cost(turn_model, base_tokenizer, HI)
    again, kept_cost = answer_with_cost(turn_model, base_tokenizer, HI)
    assert again == replies and kept_cost == cost


QUIZ = [{"question": "What colour is the sky on a clear day?", "choices": ["blue", "green", "made of cheese"], "answer": 0}]


def count_forward_calls(model) -> list:
    """Return a list that grows by one each time the model's forward runs (a hook: the forward itself is untouched)."""
    calls = []
    model.register_forward_hook(lambda module, args, output: calls.append(1))
    return calls


def test_the_same_model_scoring_the_same_text_scores_from_the_cache(cache, base_tokenizer):
    model = tiny_llama(base_tokenizer).eval()
    with pytest.MonkeyPatch.context() as off:
        off.setenv(reply_cache.VARIABLE, "off")
        computed = multiple_choice_table(model, base_tokenizer, QUIZ)
    calls = count_forward_calls(model)
    first = multiple_choice_table(model, base_tokenizer, QUIZ)
    again = multiple_choice_table(model, base_tokenizer, QUIZ)
    assert len(calls) == 2  # the question's choices, then their likelihoods without it; the second table from the cache
    assert first.equals(again) and first.equals(computed)
    assert len(list(cache.glob("*.json"))) == 2


def test_other_weights_text_or_batch_size_score_again(cache, base_tokenizer):
    model = tiny_llama(base_tokenizer).eval()
    pairs = [("Question: 2 + 2?\nAnswer:", " 4"), ("Question: 2 + 3?\nAnswer:", " 5")]
    calls = count_forward_calls(model)
    first = continuation_logprobs(model, base_tokenizer, pairs)
    continuation_logprobs(model, base_tokenizer, pairs[:1])
    continuation_logprobs(model, base_tokenizer, pairs, batch_size=1)
    with torch.no_grad():
        model.lm_head.weight.mul_(2)  # sharper predictions: other scores
    changed = continuation_logprobs(model, base_tokenizer, pairs)
    assert len(calls) == 1 + 1 + 2 + 1  # batch_size=1: a forward per pair
    assert changed != first
    assert continuation_logprobs(model, base_tokenizer, pairs) == changed and len(calls) == 5  # the changed model's, kept
