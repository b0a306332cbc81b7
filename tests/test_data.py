"""Tests for the data loaders and the conversation validator."""

from collections import Counter

import datasets
import pytest

from helpers import data
from helpers.data import (
    DATA_DIR,
    QUIZ_SUBJECTS,
    ConversationError,
    load_bookings,
    load_general_knowledge,
    load_raw_qa,
    load_realistic_messages,
    load_smoltalk,
    load_support_desk,
    validate_conversation,
    validate_dataset,
    validate_multiple_choice,
    without_system_prompt,
)

SYSTEM = {"role": "system", "content": "Be brief."}
USER = {"role": "user", "content": "Where is my order?"}
ASSISTANT = {"role": "assistant", "content": "On its way."}


def test_data_dir_is_found_next_to_the_module():
    assert DATA_DIR.is_absolute()
    assert (DATA_DIR / "raw_qa.jsonl").is_file()
    for split in ("train", "validation", "test"):
        assert (DATA_DIR / "support_desk" / f"{split}.jsonl").is_file()


def test_load_support_desk():
    dsd = load_support_desk()
    assert isinstance(dsd, datasets.DatasetDict)
    assert list(dsd) == ["train", "validation", "test"]
    train = load_support_desk("train")
    assert isinstance(train, datasets.Dataset)
    assert train.column_names == ["id", "category", "topic", "policy", "messages"]
    assert len(train) == len(dsd["train"]) > 0
    assert train[0]["messages"][0]["role"] == "system"


def test_load_support_desk_unknown_split():
    with pytest.raises(ValueError, match="unknown split 'valid'.*train, validation, test"):
        load_support_desk("valid")


def test_realistic_messages_cover_every_topic_in_words_the_generated_data_never_uses():
    realistic = load_realistic_messages()
    assert realistic.column_names == ["id", "category", "topic", "policy", "messages"]
    support_desk = load_support_desk()
    labels = {row["topic"]: (row["category"], row["policy"]) for row in support_desk["train"]}
    assert Counter(realistic["topic"]) == {topic: 3 for topic in labels}
    assert all(labels[row["topic"]] == (row["category"], row["policy"]) for row in realistic)
    assert all([message["role"] for message in row["messages"]] == ["user"] for row in realistic)
    generated = [message["content"] for split in support_desk.values() for row in split for message in row["messages"]]
    messages = [row["messages"][0]["content"] for row in realistic]
    assert not any(message in text or text in message for message in messages for text in generated)
    mean_words = lambda texts: sum(len(text.split()) for text in texts) / len(texts)  # noqa: E731
    test_requests = [row["messages"][-2]["content"] for row in support_desk["test"]]
    assert mean_words(messages) > 1.5 * mean_words(test_requests)  # longer: context around the request


def test_load_bookings():
    bookings = load_bookings()
    assert isinstance(bookings, datasets.DatasetDict) and list(bookings) == ["train", "validation", "test"]
    assert [len(split) for split in bookings.values()] == [600, 100, 100]
    assert bookings["test"][0] == load_bookings("test")[0]
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        load_bookings("dev")


def test_load_raw_qa():
    raw = load_raw_qa()
    assert raw.column_names == ["question", "answer", "category", "policy"]
    assert len(raw) >= 20


def test_read_and_write_jsonl_round_trip(tmp_path):
    rows = [{"text": "Grüße, café ☕"}, {"n": 1, "nested": [{"a": None}]}]
    path = data.write_jsonl(rows, tmp_path / "sub" / "rows.jsonl")
    raw = path.read_bytes()
    assert raw.endswith(b"\n") and "café".encode() in raw  # UTF-8, not \u escapes
    assert data.read_jsonl(path) == rows


@pytest.mark.parametrize("value", ["1", "true", "YES", "On"])
def test_load_smoltalk_offline_error(monkeypatch, value):
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    with pytest.raises(RuntimeError, match="offline") as info:
        load_smoltalk()
    assert "load_support_desk()" in str(info.value)
    assert "HF_HUB_OFFLINE" in str(info.value)


@pytest.mark.parametrize("value", ["", "0", "false", "no"])
def test_hub_is_online_when_flag_is_off(monkeypatch, value):
    from helpers import environment

    # The course and load_smoltalk share one offline check; stub the network probe behind it.
    monkeypatch.setattr(environment, "_hub_reachable", lambda: True)
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert environment.offline_reason() == ""


@pytest.mark.parametrize(
    "messages",
    [
        [USER, ASSISTANT],
        [SYSTEM, USER, ASSISTANT],
        [SYSTEM, USER, ASSISTANT, USER, ASSISTANT],
        [USER, ASSISTANT, USER],  # a trailing question is allowed; the assistant turn is there
    ],
)
def test_valid_conversations(messages):
    assert validate_conversation(messages) is None


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ("hello", "expected a list of messages.*got str"),
        ({"role": "user"}, "expected a list of messages.*got dict"),
        ([], "conversation is empty"),
        ([USER, "hi"], "message 1 is a str, not a dict"),
        ([{"role": "user"}, ASSISTANT], "message 0 has no 'content' key"),
        ([USER, {"content": "hi"}], "message 1 has no 'role' key"),
        ([USER, {"role": "bot", "content": "hi"}], "message 1 has unknown role 'bot'; allowed roles are 'system'"),
        ([USER, SYSTEM, ASSISTANT], r"message 1 \(role 'system'\): a system message may only come first"),
        ([SYSTEM, SYSTEM, USER, ASSISTANT], r"message 1 \(role 'system'\): a system message may only come first"),
        ([ASSISTANT, USER], r"message 0 \(role 'assistant'\): expected role 'user' here.*alternate"),
        ([SYSTEM, USER, USER, ASSISTANT], r"message 2 \(role 'user'\): expected role 'assistant' here"),
        ([SYSTEM, USER, USER, ASSISTANT], r"second 'user' turn in a row; merge the two turns into one, or put the 'assistant' turn"),
        ([USER, ASSISTANT, ASSISTANT], r"message 2 \(role 'assistant'\): expected role 'user' here"),
        ([USER, ASSISTANT, ASSISTANT], r"second 'assistant' turn in a row; merge"),
        ([SYSTEM, ASSISTANT, USER], r"message 1 \(role 'assistant'\): expected role 'user' here; user and assistant turns must alternate"),
        ([USER, {"role": "assistant", "content": "  \n"}], r"message 1 \(role 'assistant'\): content is empty"),
        ([{"role": "user", "content": ""}, ASSISTANT], r"message 0 \(role 'user'\): content is empty"),
        ([{"role": "user", "content": 42}, ASSISTANT], r"message 0 \(role 'user'\): content has type int"),
        ([USER, {"role": "assistant", "content": None}], r"message 1 \(role 'assistant'\): content is None"),
        ([{"role": "user", "content": [{"type": "text"}]}, ASSISTANT], "content has type list, expected a str"),
        ([SYSTEM, USER], "no assistant turn"),
        ([SYSTEM], "no assistant turn"),
    ],
)
def test_invalid_conversations(messages, expected):
    with pytest.raises(ConversationError, match=expected):
        validate_conversation(messages)


def test_a_bad_conversation_can_be_caught_as_a_value_error():
    # Learners' code (and the datasets library) catch ValueError: a ConversationError must be one.
    with pytest.raises(ValueError, match="role"):
        validate_conversation([{"role": "robot", "content": "Hello"}])


def test_validate_dataset_accepts_the_course_data():
    validate_dataset(load_support_desk("validation"))
    validate_dataset([{"messages": [USER, ASSISTANT]}, {"messages": [SYSTEM, USER, ASSISTANT]}])


def test_validate_dataset_names_the_row():
    rows = [{"messages": [USER, ASSISTANT]}] * 3 + [{"messages": [USER, {"role": "assistant", "content": ""}]}]
    with pytest.raises(ConversationError, match=r"^row 3: message 1 \(role 'assistant'\): content is empty"):
        validate_dataset(rows)
    with pytest.raises(ConversationError, match=r"^row 3: message 1"):
        validate_dataset(datasets.Dataset.from_list(rows))
    with pytest.raises(ConversationError, match=r"^row 1: expected a dict with a 'messages' key"):
        validate_dataset([{"messages": [USER, ASSISTANT]}, {"text": "hi"}])


def test_validate_dataset_missing_column_hints_at_converting():
    with pytest.raises(ConversationError, match=r"no 'messages' column.*\['answer', 'category', 'policy', 'question'\]"):
        validate_dataset(load_raw_qa().select_columns(["answer", "category", "policy", "question"]))
    with pytest.raises(ConversationError, match="question/answer"):
        validate_dataset([{"question": "q", "answer": "a"}])
    with pytest.raises(ConversationError, match="no 'chat' column"):
        validate_dataset([{"messages": [USER, ASSISTANT]}], column="chat")


def test_validate_dataset_wrong_type():
    with pytest.raises(TypeError, match=r"DatasetDict.*ds\['train'\]"):
        validate_dataset(load_support_desk())
    with pytest.raises(TypeError, match="got str"):
        validate_dataset("train.jsonl")


def test_load_general_knowledge():
    questions = load_general_knowledge()
    assert questions.column_names == ["id", "subject", "question", "choices", "answer"]
    assert len(questions) >= 50
    assert all(len(choices) == 4 for choices in questions["choices"])
    assert len(set(questions["id"])) == len(questions)
    assert len(set(questions["subject"])) >= 5


def test_the_quiz_subjects_are_the_ones_a_figure_can_name_in_the_learners_language():
    assert set(load_general_knowledge()["subject"]) == set(QUIZ_SUBJECTS)


def test_general_knowledge_answers_are_balanced_across_positions():
    counts = Counter(load_general_knowledge()["answer"])
    assert sorted(counts) == [0, 1, 2, 3]
    assert max(counts.values()) - min(counts.values()) <= 1  # always picking "A" must not beat chance


QUESTION = {"id": "q-1", "subject": "maths", "question": "What is 1 + 1?", "choices": ["2", "3", "4", "5"], "answer": 0}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"choices": ["2", "3", "4"]}, r"row 1 \(id 'q-1'\): expected a list of 4 choices, got 3"),
        ({"choices": "2, 3, 4, 5"}, "expected a list of 4 choices, got str"),
        ({"choices": ["2", "3", "", "5"]}, "every choice must be non-empty text"),
        ({"choices": ["2", "3", "3", "5"]}, "two choices are the same"),
        ({"answer": 4}, r"answer must be the index of the right choice, 0 to 3, got 4"),
        ({"answer": "A"}, "got 'A'"),
        ({"answer": True}, "got True"),
        ({"question": " "}, "question must be non-empty text"),
    ],
)
def test_validate_multiple_choice_names_the_bad_row(change, expected):
    good = {**QUESTION, "id": "q-0"}
    with pytest.raises(ValueError, match=expected):
        validate_multiple_choice([good, {**QUESTION, **change}])


def test_validate_multiple_choice_rejects_missing_fields_and_repeated_ids():
    with pytest.raises(ValueError, match=r"row 0 \(id 'q-1'\): missing 'answer'"):
        validate_multiple_choice([{key: value for key, value in QUESTION.items() if key != "answer"}])
    with pytest.raises(ValueError, match=r"row 1 \(id 'q-1'\): the id is used twice"):
        validate_multiple_choice([QUESTION, QUESTION])
    assert validate_multiple_choice([QUESTION]) is None


def test_without_system_prompt_keeps_every_turn_but_the_guidelines():
    row = load_support_desk("train")[0]
    assert row["messages"][0]["role"] == "system"
    stripped = without_system_prompt(row)["messages"]
    assert stripped == row["messages"][1:]
    assert without_system_prompt({"messages": stripped})["messages"] == stripped  # nothing else to drop
    validate_conversation(stripped)


def test_a_message_comes_out_in_vietnamese_in_the_vietnamese_notebooks(vietnamese):
    rows = [{"messages": [USER, {"role": "assistant", "content": " "}]}]
    with pytest.raises(ConversationError) as english:
        validate_dataset(rows)
    assert str(english.value) == "row 0: message 1 (role 'assistant'): content is empty; every turn needs some text"
    where = vietnamese("message {index} (role {role!r})").format(index=1, role="assistant")
    error = vietnamese("{where}: content is empty; every turn needs some text").format(where=where)
    vietnamese.on()
    with pytest.raises(ConversationError) as translated:
        validate_dataset(rows)
    assert str(translated.value) == vietnamese("row {index}: {error}").format(index=0, error=error) != str(english.value)
