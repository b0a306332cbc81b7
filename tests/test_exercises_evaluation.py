"""Tests for lesson 4's exercise checks (helpers.exercises.evaluation)."""

import math

import pandas as pd
import pytest
import torch
from feedback_asserts import in_vietnamese

from helpers.evaluation import assistant_perplexity, continuation_logprobs
from helpers.exercises.evaluation import check_choice_logprob, check_disagreements, check_perplexity_by_hand

CONVERSATION = [
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris is the capital of France."},
]
QUIZ = pd.DataFrame({
    "id": ["q-1", "q-2", "q-3", "q-4"],
    "correct": [True, False, True, False],
    "correct_norm": [True, True, False, True],
})  # disagreements: q-2 and q-4 rescued by normalisation, q-3 lost by it


def test_disagreements_not_attempted():
    assert not check_disagreements(None, None, QUIZ) and "Not attempted" in repr(check_disagreements(None, "q-2", QUIZ))


def test_disagreements_correct():
    assert check_disagreements(3, "q-2", QUIZ) and check_disagreements(3, "q-4", QUIZ)


def test_disagreements_difference_in_counts_is_named():
    assert "difference in the number correct" in repr(check_disagreements(1, "q-2", QUIZ))


def test_disagreements_wrong_count():
    assert "not the number" in repr(check_disagreements(2, "q-2", QUIZ))


def test_disagreements_question_made_wrong_by_normalisation():
    assert "made the answer *wrong*" in repr(check_disagreements(3, "q-3", QUIZ))


def test_disagreements_question_without_disagreement():
    assert not check_disagreements(3, "q-1", QUIZ)


def test_perplexity_by_hand(base_model_and_tokenizer):
    model, tokenizer = base_model_and_tokenizer
    truth = assistant_perplexity(model, tokenizer, [CONVERSATION])
    assert check_perplexity_by_hand(truth * (1 + 1e-5), model, tokenizer, CONVERSATION)
    assert "exponential" in repr(check_perplexity_by_hand(math.log(truth), model, tokenizer, CONVERSATION))
    assert not check_perplexity_by_hand(truth * 1.1, model, tokenizer, CONVERSATION)
    assert "Not attempted" in repr(check_perplexity_by_hand(None, model, tokenizer, CONVERSATION))


def _choice_logprob(model, tokenizer, context, continuation, shift=1):
    context_ids = tokenizer(context)["input_ids"]
    continuation_ids = tokenizer(continuation, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([context_ids + continuation_ids])
    with torch.no_grad():
        log_probs = model(input_ids=ids).logits[0].log_softmax(dim=-1)
    return sum(log_probs[p - shift, t].item() for p, t in enumerate(continuation_ids, start=len(context_ids)))


def test_choice_logprob_correct_function_passes(base_model_and_tokenizer):
    assert check_choice_logprob(_choice_logprob, *base_model_and_tokenizer)


def test_choice_logprob_without_the_shift_fails(base_model_and_tokenizer):
    wrong = lambda *args: _choice_logprob(*args, shift=0)  # noqa: E731
    assert "score only the continuation" in repr(check_choice_logprob(wrong, *base_model_and_tokenizer))


def test_choice_logprob_positive_values_point_at_log_softmax(base_model_and_tokenizer):
    assert "log_softmax" in repr(check_choice_logprob(lambda *args: 3.0, *base_model_and_tokenizer))


def test_choice_logprob_errors_are_reported(base_model_and_tokenizer):
    def broken(model, tokenizer, context, continuation):
        raise KeyError("oops")

    assert "raised KeyError" in repr(check_choice_logprob(broken, *base_model_and_tokenizer))


def test_choice_logprob_not_attempted_and_not_callable(base_model_and_tokenizer):
    assert "Not attempted" in repr(check_choice_logprob(None, *base_model_and_tokenizer))
    assert "Expected a function" in repr(check_choice_logprob(42, *base_model_and_tokenizer))


def test_reference_function_agrees_with_the_course_scorer(base_model_and_tokenizer):
    model, tokenizer = base_model_and_tokenizer
    pair = ("Question: What do bees make?\nAnswer:", " honey")
    assert _choice_logprob(model, tokenizer, *pair) == pytest.approx(continuation_logprobs(model, tokenizer, [pair])[0], abs=1e-3)


def test_a_check_speaks_vietnamese_in_the_vietnamese_notebooks(vietnamese):
    english = check_disagreements(1, "q-2", QUIZ).message
    assert english == (
        "❌ That is the difference in the number correct, not the number of disagreements.\n"
        "💡 Hint: count the rows where the two columns differ."
    )
    expected = in_vietnamese(
        vietnamese,
        "That is the difference in the number correct, not the number of disagreements.", "count the rows where the two columns differ."
    )
    vietnamese.on()
    assert check_disagreements(1, "q-2", QUIZ).message == expected != english
