"""The alternatives to fine-tuning a practitioner weighs: a small text classifier, and an instruct model prompted.

The classifier reads what the customer wrote and predicts the category and policy code; it writes no
reply. The prompted model gets the guidelines as its system prompt and, for a few-shot prompt, some
training conversations before the customer's message; another task's prompt is built the same way, from its
own instruction and rows (helpers.bookings, or a learner's data). Both are scored like the fine-tuned model, on
the same rows, so their outcomes pair with its outcomes (helpers.intervals.paired_difference).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline, make_union
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from helpers.generation import prompt_messages, timed_turns
from helpers.house_style import expected_fields
from helpers.i18n import N_, _
from helpers.support_desk import SYSTEM_PROMPT

LABELS = ("category", "policy")


def customer_text(row: dict) -> str:
    """Return everything the customer wrote in a row's conversation (every user turn): the classifier's input."""
    return "\n".join(message["content"] for message in row["messages"] if message["role"] == "user")


def text_classifier() -> Pipeline:
    """Return an untrained classifier: TF-IDF of words and of character n-grams, then logistic regression."""
    # Character n-grams carry the product names and typos that whole words split; scikit-learn's defaults otherwise.
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
    )
    return make_pipeline(features, LogisticRegression(max_iter=2000))


def classifier_predictions(train_rows: Sequence[dict], rows: Sequence[dict]) -> pd.DataFrame:
    """Return the category and policy that classifiers trained on train_rows predict for each row."""
    train_rows, rows = list(train_rows), list(rows)
    if not train_rows or not rows:
        raise ValueError(_("a classifier needs training rows (to learn from) and rows to predict"))
    texts = [customer_text(row) for row in train_rows]
    labels = pd.DataFrame([expected_fields(row) for row in train_rows], columns=list(LABELS))
    predictions = {}
    for label in LABELS:
        if labels[label].nunique() < 2:
            raise ValueError(
                _("the training rows have one {label} only ({value}); a classifier needs at least two to tell apart").format(
                    label=label, value=labels[label].iloc[0]
                )
            )
        predictions[label] = text_classifier().fit(texts, labels[label]).predict([customer_text(row) for row in rows])
    return pd.DataFrame(predictions)


def classifier_outcomes(train_rows: Sequence[dict], rows: Sequence[dict]) -> pd.DataFrame:
    """Return, per row, whether the classifier's category and policy are right, and both (content)."""
    predicted = classifier_predictions(train_rows, rows)
    expected = pd.DataFrame([expected_fields(row) for row in rows], columns=list(LABELS))
    right = pd.DataFrame({f"{label}_correct": predicted[label] == expected[label] for label in LABELS})
    return right.assign(content=right.all(axis=1))


def few_shot_examples(train_rows: Sequence[dict], shots: int, key: str | None = "topic") -> list[dict]:
    """Return `shots` single-turn training rows, taking the rows' `key` values (topics) in turn so that each example shows another one.

    key=None takes the rows in order (rows with nothing to tell them apart, e.g. a learner's own).
    """
    by_topic: dict[str, list[dict]] = {}
    for row in train_rows:
        if sum(message["role"] == "user" for message in row["messages"]) == 1:
            by_topic.setdefault(row[key] if key else "", []).append(row)
    available = sum(len(topic_rows) for topic_rows in by_topic.values())
    if shots > available:
        raise ValueError(
            _("asked for {shots} examples, but the training rows hold {available} single-turn conversations").format(
                shots=shots, available=available
            )
        )
    examples, round_number = [], 0
    while len(examples) < shots:
        examples += [topic_rows[round_number] for topic_rows in by_topic.values() if round_number < len(topic_rows)]
        round_number += 1
    return examples[:shots]


def prompted_conversations(
    rows: Sequence[dict], examples: Sequence[dict] = (), system_prompt: str = SYSTEM_PROMPT
) -> list[list[dict]]:
    """Return each row's prompt for an instruct model: the instruction as system prompt, the examples' turns, then the row's own.

    The instruction is the support desk's guidelines unless another task's is given.
    """
    shown = [message for example in examples for message in example["messages"] if message["role"] != "system"]
    return [
        [{"role": "system", "content": system_prompt}, *shown]
        + [message for message in prompt_messages(row["messages"]) if message["role"] != "system"]
        for row in rows
    ]


def answer_with_cost(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, conversations: list[list[dict]]
) -> tuple[list[str], dict[str, float]]:
    """Return the model's replies to the conversations and what they cost: prompt tokens, seconds per reply, replies that never stopped."""
    texts = [tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False) for messages in conversations]
    prompt_tokens = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    # Replies kept in the course cache come with the seconds they took when they were generated.
    turns, seconds = timed_turns(model, tokenizer, conversations, progress=False)
    cost = {
        N_("prompt tokens (mean)"): round(sum(prompt_tokens) / len(prompt_tokens)),
        N_("seconds per reply"): round(seconds / len(conversations), 2),
        N_("never stopped"): sum(not ended for unused, ended in turns),
    }
    return [reply for reply, unused in turns], cost
