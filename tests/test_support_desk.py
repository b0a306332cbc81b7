"""Tests for the Nimbus support-desk generator and the committed JSONL files."""

import random
from collections import Counter

import pytest

from helpers.data import load_raw_qa, load_support_desk, validate_conversation
from helpers.support_desk import (
    CATEGORIES,
    GREETING,
    POLICIES,
    SIGN_OFF,
    SPLIT_SIZES,
    SYSTEM_PROMPT,
    TOPICS,
    build_dataset,
    build_raw_qa,
    format_reply,
)


@pytest.fixture(scope="module")
def splits():
    return build_dataset()


def user_texts(rows):
    return {m["content"] for row in rows for m in row["messages"] if m["role"] == "user"}


def first_requests(rows):
    return [row["messages"][1]["content"] for row in rows]


def test_constants_are_consistent():
    assert GREETING == "Hello from Nimbus Support!"
    assert SIGN_OFF == "Best regards, Nimbus Support"
    assert set(CATEGORIES) == {"BILLING", "SHIPPING", "TECHNICAL", "RETURNS", "ACCOUNT"}
    per_category = Counter(topic.category for topic in TOPICS.values())
    assert set(per_category) == set(CATEGORIES)
    assert all(2 <= n <= 3 for n in per_category.values())
    # One policy code per topic, so the policy cannot be guessed from the category alone.
    assert len(POLICIES) == len(TOPICS)
    for topic in TOPICS.values():
        assert POLICIES[topic.policy] == topic.category
        assert not set(topic.requests) & set(topic.test_requests)


def test_system_prompt_states_the_house_style():
    assert 50 <= len(SYSTEM_PROMPT.split()) <= 90
    for text in (GREETING, SIGN_OFF, "Category:", "Policy:", *CATEGORIES):
        assert text in SYSTEM_PROMPT


def test_format_reply_has_five_lines():
    reply = format_reply("BILLING", "We refunded it.", "NB-101")
    assert reply.split("\n") == [GREETING, "Category: BILLING", "We refunded it.", "Policy: NB-101", SIGN_OFF]
    with pytest.raises(ValueError, match="BILLING"):
        format_reply("billing", "We refunded it.", "NB-101")


def test_split_sizes_and_ids(splits):
    assert {name: len(rows) for name, rows in splits.items()} == SPLIT_SIZES
    for name, rows in splits.items():
        assert [row["id"] for row in rows] == [f"{name}-{i:04d}" for i in range(1, len(rows) + 1)]


def test_rows_are_well_formed(splits):
    for rows in splits.values():
        for row in rows:
            assert set(row) == {"id", "category", "topic", "policy", "messages"}
            topic = TOPICS[row["topic"]]
            assert (row["category"], row["policy"]) == (topic.category, topic.policy)
            messages = row["messages"]
            validate_conversation(messages)
            assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
            assert [m["role"] for m in messages[1:]] == ["user", "assistant"] * ((len(messages) - 1) // 2)
            for reply in (m["content"] for m in messages if m["role"] == "assistant"):
                lines = reply.split("\n")
                assert lines[1] == f"Category: {row['category']}"
                assert lines[3] == f"Policy: {row['policy']}"
                assert 10 <= len(lines[2].split()) <= 35


def test_about_15_percent_multi_turn(splits):
    for rows in splits.values():
        share = sum(len(row["messages"]) == 5 for row in rows) / len(rows)
        assert 0.10 <= share <= 0.20
        assert all(len(row["messages"]) in (3, 5) for row in rows)


def test_categories_are_balanced(splits):
    for rows in splits.values():
        counts = Counter(row["category"] for row in rows)
        assert set(counts) == set(CATEGORIES)
        assert max(counts.values()) - min(counts.values()) <= max(5, len(rows) // 50)


def test_rows_are_short(splits):
    for rows in splits.values():
        for row in rows:
            words = sum(len(m["content"].split()) for m in row["messages"])
            assert words <= (140 if len(row["messages"]) == 3 else 180)


def test_no_leakage_between_splits(splits):
    train_users = user_texts(splits["train"])
    # Validation uses the train wordings but never repeats a train request.
    assert not set(first_requests(splits["validation"])) & set(first_requests(splits["train"]))
    # Test uses different wordings, follow-up questions included.
    assert not user_texts(splits["test"]) & train_users
    assert len(set(first_requests(splits["train"]))) == len(splits["train"])


def test_requests_are_varied(splits):
    by_topic = {}
    for row in splits["train"]:
        by_topic.setdefault(row["topic"], set()).add(row["messages"][1]["content"])
    assert set(by_topic) == set(TOPICS)
    assert all(len(texts) >= 50 for texts in by_topic.values())


def test_build_is_deterministic_and_leaves_global_rng_alone():
    random.seed(1234)
    state = random.getstate()
    assert build_dataset() == build_dataset(seed=0)
    assert build_raw_qa() == build_raw_qa(seed=0)
    assert random.getstate() == state
    assert build_dataset(seed=1)["train"] != build_dataset(seed=0)["train"]


def test_committed_files_match_the_generator(splits):
    # If this fails, run: python scripts/make_support_desk_data.py
    for name, rows in splits.items():
        assert list(load_support_desk(name)) == rows, f"{name}.jsonl is out of date"
    assert list(load_raw_qa()) == build_raw_qa(), "raw_qa.jsonl is out of date"


def test_raw_qa(splits):
    rows = build_raw_qa()
    assert 25 <= len(rows) <= 40
    assert all(set(row) == {"question", "answer", "category", "policy"} for row in rows)
    assert set(row["category"] for row in rows) == set(CATEGORIES)
    assert not {row["question"] for row in rows} & user_texts(splits["train"])
    for row in rows:
        assert row["answer"].startswith(GREETING + "\nCategory: " + row["category"] + "\n")
        assert row["answer"].endswith(f"\nPolicy: {row['policy']}\n{SIGN_OFF}")
