"""Tests for helpers.evaluation: assistant-only perplexity and multiple-choice scoring by log-likelihood."""

import math

import pytest
import torch

from helpers.evaluation import (
    NULL_PROMPT,
    assistant_perplexity,
    continuation_logprobs,
    multiple_choice_prompt,
    multiple_choice_table,
)
from helpers.templates import trained_tokens

PARIS = [
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris."},
]
PIRATE = [
    {"role": "system", "content": "You are a pirate."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Ahoy, matey! What brings ye aboard today?"},
    {"role": "user", "content": "Nothing."},
    {"role": "assistant", "content": "Arr."},
]
SEA = [
    {"role": "user", "content": "Tell me about the sea in one sentence, please."},
    {"role": "assistant", "content": "The sea is vast, salty and full of life."},
]
CONVERSATIONS = [PARIS, PIRATE, SEA]  # different lengths, so a batch of all three needs padding

MOUSE = {
    "id": "t-1",
    "subject": "language",
    "question": 'What is the plural of the word "mouse"?',
    "choices": ["mouses", "meese", "mice", "mousen"],
    "answer": 2,
}
TITANIC = {
    "id": "t-2",
    "subject": "history",
    "question": "Which ship sank in 1912 after hitting an iceberg?",
    "choices": ["the Titanic", "the Mayflower", "the Victory", "the Beagle"],
    "answer": 0,
}
LETTER = {
    "id": "t-3",
    "subject": "language",
    "question": "What is the first letter of the English alphabet?",
    "choices": ["Z", "M", "Q", "A"],
    "answer": 3,
}
QUESTIONS = [MOUSE, TITANIC, LETTER]
COLUMNS = [
    "id", "subject", "question", "answer", "predicted", "predicted_norm", "correct", "correct_norm", "correct_calibrated", "margin",
]


def log_prob_of_token(model, ids, t):
    """log p(ids[t] | ids[:t]), from a forward pass over the prefix alone: no shifting to get wrong."""
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids[:t]])).logits[0, -1]
    return logits.log_softmax(-1)[ids[t]].item()


def test_perplexity_matches_a_hand_computed_value(base_model_and_tokenizer):
    model, tokenizer = base_model_and_tokenizer
    encoded = tokenizer.apply_chat_template(PARIS, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = encoded["input_ids"], encoded["assistant_masks"]
    scored = [t for t in range(len(ids)) if mask[t]]
    assert 0 < len(scored) < len(ids) / 4  # the reply and its <|im_end|>, not the prompt
    nll = -sum(log_prob_of_token(model, ids, t) for t in scored) / len(scored)
    assert assistant_perplexity(model, tokenizer, [PARIS]) == pytest.approx(math.exp(nll), rel=1e-4)


def test_perplexity_weights_conversations_by_their_assistant_tokens(base_model_and_tokenizer):
    model, tokenizer = base_model_and_tokenizer
    n = [trained_tokens(tokenizer, messages).n_trained for messages in (PARIS, PIRATE)]
    assert n[1] > n[0]  # the pirate's two replies are longer
    log_ppl = [math.log(assistant_perplexity(model, tokenizer, [messages])) for messages in (PARIS, PIRATE)]
    expected = math.exp((n[0] * log_ppl[0] + n[1] * log_ppl[1]) / (n[0] + n[1]))
    assert assistant_perplexity(model, tokenizer, [PARIS, PIRATE]) == pytest.approx(expected, rel=1e-4)


def test_batch_size_does_not_change_the_perplexity(base_model_and_tokenizer):
    alone = assistant_perplexity(*base_model_and_tokenizer, CONVERSATIONS, batch_size=1)
    batched = assistant_perplexity(*base_model_and_tokenizer, CONVERSATIONS, batch_size=3)
    assert batched == pytest.approx(alone, rel=1e-4)


def test_a_reply_the_model_expects_has_lower_perplexity_than_nonsense(base_model_and_tokenizer):
    nonsense = [PARIS[0], {"role": "assistant", "content": "Zebra quantum spoon seventeen."}]
    assert assistant_perplexity(*base_model_and_tokenizer, [PARIS]) < assistant_perplexity(*base_model_and_tokenizer, [nonsense])


def test_perplexity_restores_training_mode(base_model_and_tokenizer):
    model, tokenizer = base_model_and_tokenizer
    model.train()
    try:
        assistant_perplexity(model, tokenizer, [PARIS])
        assert model.training
    finally:
        model.eval()


def test_perplexity_needs_a_template_with_generation_markers(base_model_and_tokenizer, tokenizer):
    with pytest.raises(ValueError, match=r"no \{% generation %\} markers.*set_training_template\(tokenizer\)"):
        assistant_perplexity(base_model_and_tokenizer[0], tokenizer, [PARIS])


def test_perplexity_rejects_nothing_to_score(base_model_and_tokenizer):
    with pytest.raises(ValueError, match="no conversations"):
        assistant_perplexity(*base_model_and_tokenizer, [])
    with pytest.raises(ValueError, match="no assistant tokens"):
        assistant_perplexity(*base_model_and_tokenizer, [PARIS[:1]])


def test_continuation_logprobs_scores_only_the_continuation(base_model_and_tokenizer):
    model, tokenizer = base_model_and_tokenizer
    context, continuation = "The first three letters of the alphabet are A, B,", " C"
    ids = tokenizer(context)["input_ids"] + tokenizer(continuation, add_special_tokens=False)["input_ids"]
    expected = sum(log_prob_of_token(model, ids, t) for t in range(len(tokenizer(context)["input_ids"]), len(ids)))
    assert continuation_logprobs(model, tokenizer, [(context, continuation)]) == [pytest.approx(expected, abs=1e-4)]


def test_the_obvious_continuation_is_the_most_likely(base_model_and_tokenizer):
    context = "The first three letters of the alphabet are A, B,"
    scores = continuation_logprobs(*base_model_and_tokenizer, [(context, " C"), (context, " Z"), (context, " Q")])
    assert scores[0] > max(scores[1:])
    assert all(score < 0 for score in scores)  # log-probabilities


def test_multiple_choice_prompt_is_plain_text():
    assert multiple_choice_prompt("  What is 1 + 1? ") == "Question: What is 1 + 1?\nAnswer:"


def test_multiple_choice_table_has_one_row_per_question(base_model_and_tokenizer):
    table = multiple_choice_table(*base_model_and_tokenizer, QUESTIONS)
    assert list(table.columns) == COLUMNS
    assert table["id"].tolist() == ["t-1", "t-2", "t-3"]
    assert table["answer"].tolist() == ["mice", "the Titanic", "A"]
    assert table["predicted"].tolist() == ["mice", "the Titanic", "A"]  # easy enough for any SmolLM2
    assert table["correct"].all() and (table["margin"] > 0).all()
    assert table["correct"].mean() == 1.0


def test_calibrated_pick_subtracts_each_answers_likelihood_without_the_question(base_model_and_tokenizer):
    model, tokenizer = base_model_and_tokenizer
    row = multiple_choice_table(model, tokenizer, [TITANIC]).iloc[0]
    prompt, choices = multiple_choice_prompt(TITANIC["question"]), [" " + choice for choice in TITANIC["choices"]]
    with_question = continuation_logprobs(model, tokenizer, [(prompt, choice) for choice in choices])
    alone = continuation_logprobs(model, tokenizer, [(NULL_PROMPT, choice) for choice in choices])
    lift = [a - b for a, b in zip(with_question, alone)]
    assert row["correct_calibrated"] == (max(range(len(lift)), key=lift.__getitem__) == TITANIC["answer"])
    per_char = [a / len(" " + c) for a, c in zip(with_question, TITANIC["choices"])]
    assert row["predicted_norm"] == TITANIC["choices"][max(range(len(per_char)), key=per_char.__getitem__)]


def test_a_wrong_pick_has_a_negative_margin(base_model_and_tokenizer):
    wrong = {**LETTER, "answer": 0}  # mark "Z" as the right answer: the model still picks "A"
    row = multiple_choice_table(*base_model_and_tokenizer, [wrong]).iloc[0]
    assert row["predicted"] == "A" and not row["correct"] and row["margin"] < 0


@pytest.mark.slow
def test_batch_size_does_not_change_the_table(base_model_and_tokenizer):
    alone = multiple_choice_table(*base_model_and_tokenizer, QUESTIONS, batch_size=1)
    batched = multiple_choice_table(*base_model_and_tokenizer, QUESTIONS, batch_size=12)
    assert batched["predicted"].tolist() == alone["predicted"].tolist()
    assert batched["margin"].tolist() == pytest.approx(alone["margin"].tolist(), abs=1e-3)


def test_multiple_choice_table_leaves_out_columns_the_rows_do_not_have(base_model_and_tokenizer):
    bare = {key: MOUSE[key] for key in ("question", "choices", "answer")}
    table = multiple_choice_table(*base_model_and_tokenizer, [bare])
    assert list(table.columns) == COLUMNS[2:]


def test_multiple_choice_table_rejects_bad_input(base_model_and_tokenizer):
    with pytest.raises(ValueError, match="no questions"):
        multiple_choice_table(*base_model_and_tokenizer, [])
    with pytest.raises(ValueError, match=r"question 1 has no 'choices' field"):
        multiple_choice_table(*base_model_and_tokenizer, [MOUSE, {"question": "Why?", "answer": 0}])


def test_a_message_comes_out_in_vietnamese_in_the_vietnamese_notebooks(vietnamese):
    questions = [{"question": "Q?"}]  # the fields are checked before any model or tokenizer is used
    with pytest.raises(ValueError) as english:
        multiple_choice_table(None, None, questions)
    assert str(english.value) == "question 0 has no 'choices' or 'answer' field (it has ['question'])"
    fields = vietnamese("{first} or {second}").format(first="'choices'", second="'answer'")
    vietnamese.on()
    with pytest.raises(ValueError) as translated:
        multiple_choice_table(None, None, questions)
    expected = vietnamese("question {index} has no {fields} field (it has {keys})").format(
        index=0, fields=fields, keys=["question"]
    )
    assert str(translated.value) == expected != str(english.value)
