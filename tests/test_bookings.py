"""Tests for the restaurant-booking generator (helpers.bookings) and its committed JSONL files."""

import json
import random
import re
from collections import Counter

import pytest

from helpers.bookings import (
    DAYS,
    FIELDS,
    NUMBER_WORDS,
    SPLIT_SIZES,
    SYSTEM_PROMPT,
    TEST_TEMPLATES,
    TIMES,
    TRAIN_TEMPLATES,
    build_dataset,
    record_json,
    written_time,
)
from helpers.data import BOOKINGS_DIR, load_bookings, read_jsonl, validate_dataset
from helpers.task_checks import outcome_table, reference_replies


@pytest.fixture(scope="module")
def splits():
    return build_dataset()


def messages_of(rows):
    return [row["messages"][1]["content"] for row in rows]


def phrases(template, words=2):
    """Return the template's fixed text between its {slots}, the pieces of at least `words` words, punctuation trimmed."""
    pieces = (piece.strip(" ,.!?:-") for piece in re.split(r"\{\w+\}", template))
    return [piece for piece in pieces if len(piece.split()) >= words]


def pattern(template):
    """Return a regular expression that matches any message written from the template."""
    return re.compile("".join(".+?" if re.fullmatch(r"\{\w+\}", part) else re.escape(part) for part in re.split(r"(\{\w+\})", template)))


def test_the_committed_files_are_what_the_generator_writes(splits):
    for split, rows in splits.items():
        assert read_jsonl(BOOKINGS_DIR / f"{split}.jsonl") == rows, f"run `make data`: {split}.jsonl is out of date"


def test_the_generator_is_deterministic_and_sized(splits):
    assert build_dataset() == splits
    assert build_dataset(seed=1) != splits
    assert {split: len(rows) for split, rows in splits.items()} == SPLIT_SIZES == {"train": 600, "validation": 100, "test": 100}


def test_load_bookings_gives_every_split_as_conversations():
    bookings = load_bookings()
    assert list(bookings) == ["train", "validation", "test"]
    assert bookings["train"].column_names == ["id", "template", "messages"]
    for split in bookings.values():
        validate_dataset(split)
    assert load_bookings("test")[0] == bookings["test"][0]


def test_every_row_is_the_instruction_a_message_and_its_record(splits):
    for rows in splits.values():
        for row in rows:
            system, user, assistant = row["messages"]
            assert (system["role"], user["role"], assistant["role"]) == ("system", "user", "assistant")
            assert system["content"] == SYSTEM_PROMPT
            record = json.loads(assistant["content"])
            assert list(record) == list(FIELDS) and assistant["content"] == record_json(record)
            assert isinstance(record["people"], int) and 2 <= record["people"] <= 12
            assert record["day"] in DAYS and record["time"] in TIMES


def test_every_value_is_in_the_message_or_directly_derived_from_it(splits):
    for rows in splits.values():
        for row in rows:
            message, record = row["messages"][1]["content"], json.loads(row["messages"][2]["content"])
            words = [word.strip(".") for word in re.findall(r"[\w:.']+", message.lower())]  # "7.30pm" stays one word
            assert record["name"] in message
            assert str(record["people"]) in words or NUMBER_WORDS[record["people"]] in words
            assert record["day"].lower() in message.lower() or record["day"][:3] in message
            # The time in 24-hour form, or a 12-hour one that says which half of the day it means.
            assert record["time"] in message or re.search(r"pm|PM|afternoon|evening|noon", message)


def test_times_are_written_the_ways_guests_write_them():
    forms = {written_time("19:30", random.Random(seed)) for seed in range(50)}
    assert forms == {"7:30pm", "7:30 pm", "7.30pm", "19:30", "half past 7 in the evening"}
    assert {written_time("12:00", random.Random(seed)) for seed in range(50)} == {"12pm", "12 pm", "12PM", "12:00", "noon"}
    assert "2 in the afternoon" in {written_time("14:00", random.Random(seed)) for seed in range(50)}


def test_the_test_split_uses_wordings_the_training_split_never_uses(splits):
    train_messages = messages_of(splits["train"])
    assert {row["template"] for row in splits["train"]}.isdisjoint({row["template"] for row in splits["test"]})
    for template in TEST_TEMPLATES:
        for phrase in phrases(template):
            assert not any(phrase.lower() in message.lower() for message in train_messages), f"{phrase!r} is in train"
        assert not any(pattern(template).fullmatch(message) for message in train_messages)
    for template in TRAIN_TEMPLATES:
        assert not any(pattern(template).fullmatch(message) for message in messages_of(splits["test"]))


def test_validation_uses_the_training_wordings_with_new_messages(splits):
    assert {row["template"] for row in splits["validation"]} == {row["template"] for row in splits["train"]}
    every = [message for rows in splits.values() for message in messages_of(rows)]
    assert len(set(every)) == len(every)


def test_every_template_is_used_equally_often(splits):
    for rows in splits.values():
        counts = Counter(row["template"] for row in rows)
        assert max(counts.values()) - min(counts.values()) <= 1


def test_the_references_score_perfectly_on_their_own_check(splits):
    references = reference_replies(splits["test"])
    assert outcome_table(references, references).all().all()
