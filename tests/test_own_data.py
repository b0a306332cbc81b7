"""Tests for the learner's own data (helpers.own_data): reading files, mapping shapes to messages, checking rows, splitting.

Each malformed file is written into tmp_path and must stop with an error that names its line and the fix.
"""

import json
from pathlib import Path
from types import SimpleNamespace

import datasets
import pytest

from helpers import own_data
from helpers.data import ConversationError, load_bookings
from helpers.own_data import (
    ORIGIN,
    DataError,
    load_hub_rows,
    prompt_key,
    read_rows,
    split_rows,
    to_messages,
    validate_rows,
)

USER = {"role": "user", "content": "Table for 2 on Friday at 7pm, name Maya"}
ASSISTANT = {"role": "assistant", "content": '{"name": "Maya", "people": 2}'}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def qa_rows(count):
    return [{"question": f"Question {i}?", "answer": f"Answer {i}."} for i in range(count)]


# ── reading files ─────────────────────────────────────────────────────────────────────────────────


def test_a_jsonl_file_is_read_row_by_row_each_row_naming_its_line(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"question": "Hi?", "answer": "Hello."}\n\n{"question": "Bye?", "answer": "Bye."}\n', encoding="utf-8")
    assert read_rows(path) == [
        {"question": "Hi?", "answer": "Hello.", ORIGIN: "data.jsonl line 1"},
        {"question": "Bye?", "answer": "Bye.", ORIGIN: "data.jsonl line 3"},  # a blank line is not a row
    ]


def test_a_jsonl_line_may_hold_any_unicode_and_windows_line_ends(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_bytes('{"question": "a\u2028b", "answer": "Hi."}\r\n{"question": "c", "answer": "d"}\r\n'.encode())
    assert [(row["question"], row[ORIGIN]) for row in read_rows(path)] == [("a\u2028b", "data.jsonl line 1"), ("c", "data.jsonl line 2")]


def test_a_csv_file_is_read_with_its_header_quoted_commas_and_all(tmp_path):
    path = write_csv(tmp_path / "data.csv", 'question,answer\n"Hi, there?",Hello.\nBye?,"Bye, now."\n')
    assert read_rows(str(path)) == [
        {"question": "Hi, there?", "answer": "Hello.", ORIGIN: "data.csv line 2"},
        {"question": "Bye?", "answer": "Bye, now.", ORIGIN: "data.csv line 3"},
    ]
    bom = tmp_path / "excel.csv"
    bom.write_bytes("\ufeffquestion,answer\nCafé?,Oui.\n".encode())  # a spreadsheet's "CSV UTF-8" starts with a byte-order mark
    assert read_rows(bom)[0]["question"] == "Café?"


def test_a_json_array_file_is_read_item_by_item(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps(qa_rows(2)), encoding="utf-8")
    assert [row[ORIGIN] for row in read_rows(path)] == ["data.json item 0", "data.json item 1"]


def test_a_non_utf8_line_is_named_with_the_fix(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes("question,answer\nHi?,Hello.\nCaf\xe9?,Oui.\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"^data.csv line 3 is not UTF-8 text \(byte 0xe9 .*Save the file as UTF-8"):
        read_rows(path)
    jsonl = tmp_path / "data.jsonl"
    jsonl.write_bytes(b'{"question": "Hi?", "answer": "Hello."}\n{"question": "Caf\xe9?", "answer": "Oui."}\n')
    with pytest.raises(DataError, match="^data.jsonl line 2 is not UTF-8"):
        read_rows(jsonl)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"question": "Hi?", "answer": "Hello."', r"data.jsonl line 2 is not valid JSON \(Expecting .*one JSON object"),
        ('["Hi?", "Hello."]', "data.jsonl line 2 holds a list, not a JSON object"),
        ('{"question": "Hi?", "origin": "web"}', "data.jsonl line 2 has a field named 'origin'.*rename that field"),
    ],
)
def test_a_bad_jsonl_line_is_named(tmp_path, line, expected):
    path = tmp_path / "data.jsonl"
    path.write_text('{"question": "Hi?", "answer": "Hello."}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=expected):
        read_rows(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("question,answer\nHi?,Hello.\nHi, there?,Hello.\n", r"data.csv line 3 has 3 fields, more than the header's 2: .*double quotes"),
        ("question,answer\nHi?,Hello.\nHi?\n", r"data.csv line 3 has fewer fields than the header's 2: nothing for \['answer'\]"),
        ("question,question\nHi?,Hello.\n", "line 1, the header, has an empty or repeated column name"),
        ("question,answer\n", "data.csv holds no rows"),
    ],
)
def test_a_bad_csv_row_is_named(tmp_path, text, expected):
    with pytest.raises(DataError, match=expected):
        read_rows(write_csv(tmp_path / "data.csv", text))


def test_an_unknown_kind_of_file_or_a_missing_one_says_what_to_do(tmp_path):
    with pytest.raises(DataError, match=r"cannot read '.xlsx' files; save your data as JSON Lines \(.jsonl"):
        read_rows(tmp_path / "data.xlsx")
    with pytest.raises(FileNotFoundError, match="no file .*missing.jsonl.*give the full path"):
        read_rows(tmp_path / "missing.jsonl")
    with pytest.raises(DataError, match="empty.jsonl holds no rows"):
        read_rows(write_csv(tmp_path / "empty.jsonl", "\n"))


# ── mapping shapes to messages ─────────────────────────────────────────────────────────────────────


def test_question_answer_columns_become_a_user_and_an_assistant_turn(tmp_path):
    rows = read_rows(write_csv(tmp_path / "qa.csv", "question,answer,topic\nHi?,Hello.,greeting\n"))
    assert to_messages(rows) == [
        {"messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}], ORIGIN: "qa.csv line 2"}
    ]
    with_system = to_messages(rows, system_prompt="Be brief.")[0]["messages"]
    assert with_system[0] == {"role": "system", "content": "Be brief."} and len(with_system) == 3


def test_instruction_input_output_rows_put_the_input_after_the_instruction():
    rows = [
        {"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour"},
        {"instruction": "Name a colour.", "input": "", "output": "Blue"},
        {"instruction": "Name a fruit.", "output": "Apple"},
    ]
    users = [row["messages"][0]["content"] for row in to_messages(rows)]
    assert users == ["Translate to French.\n\nGood morning", "Name a colour.", "Name a fruit."]


def test_prompt_completion_rows_as_text_or_as_messages():
    text = to_messages([{"prompt": "2+2?", "completion": "4"}])[0]["messages"]
    assert text == [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]
    chat = to_messages([{"prompt": [USER], "completion": [ASSISTANT]}])[0]["messages"]
    assert chat == [USER, ASSISTANT]


def test_messages_rows_are_kept_and_a_csv_cell_of_messages_is_read_as_json(tmp_path):
    assert to_messages([{"messages": [USER, ASSISTANT], "id": 3}]) == [{"messages": [USER, ASSISTANT], ORIGIN: "row 0"}]
    cell = json.dumps([USER, ASSISTANT]).replace('"', '""')
    rows = read_rows(write_csv(tmp_path / "chats.csv", f'messages\n"{cell}"\n'))
    assert to_messages(rows)[0]["messages"] == [USER, ASSISTANT]
    with pytest.raises(DataError, match="chats2.csv line 2: the 'messages' text is not a JSON list"):
        to_messages(read_rows(write_csv(tmp_path / "chats2.csv", "messages\nhello there\n")))


def test_other_columns_are_named_by_the_learner():
    rows = [{"text": "Table for 2, Fri 7pm, Maya", "label": {"name": "Maya", "people": 2}}]
    messages = to_messages(rows, user="text", assistant="label")[0]["messages"]
    assert messages[1]["content"] == '{"name": "Maya", "people": 2}'  # a JSON record becomes its JSON text
    with pytest.raises(DataError, match=r"name both columns"):
        to_messages(rows, user="text")
    with pytest.raises(DataError, match=r"no column \['reply'\] in the rows; they have \['label', 'text'\]"):
        to_messages(rows, user="text", assistant="reply")


def test_wrong_columns_are_refused_with_the_shapes_known_and_the_fix(tmp_path):
    rows = read_rows(write_csv(tmp_path / "data.csv", "text,label\nHi?,Hello.\n"))
    with pytest.raises(DataError, match=r"the rows have the columns \['label', 'text'\], which is none of the shapes") as error:
        to_messages(rows)
    assert "question + answer" in str(error.value) and "to_messages(rows, user=" in str(error.value)


def test_a_row_without_its_shapes_column_is_named(tmp_path):
    path = write_jsonl(tmp_path / "data.jsonl", [*qa_rows(2), {"question": "Where?"}])
    with pytest.raises(DataError, match=r"^data.jsonl line 3 has no \['answer'\] \(it has \['question'\]\).*question/answer"):
        to_messages(read_rows(path))


def test_an_empty_reply_is_named_with_the_fix(tmp_path):
    path = write_csv(tmp_path / "data.csv", "question,answer\nHi?,Hello.\nWhere?,\n")
    with pytest.raises(DataError, match=r"^data.csv line 3: the 'answer' column is empty.*Fix that row in your data"):
        to_messages(read_rows(path))
    empty = {"role": "assistant", "content": " "}
    jsonl = write_jsonl(tmp_path / "data.jsonl", [{"messages": [USER, ASSISTANT]}, {"messages": [USER, empty]}])
    with pytest.raises(DataError, match=r"^data.jsonl line 2: message 1 \(role 'assistant'\): content is empty"):
        validate_rows(to_messages(read_rows(jsonl)))


def test_no_rows_is_refused():
    with pytest.raises(DataError, match="no rows"):
        to_messages([])
    with pytest.raises(DataError, match="no rows"):
        validate_rows([])


# ── checking every row ─────────────────────────────────────────────────────────────────────────────


def test_two_user_turns_in_a_row_are_named_with_the_fix(tmp_path):
    rows = [{"messages": [USER, ASSISTANT]}, {"messages": [USER, {"role": "user", "content": "Also a high chair."}, ASSISTANT]}]
    conversations = to_messages(read_rows(write_jsonl(tmp_path / "chats.jsonl", rows)))
    with pytest.raises(DataError, match=r"^chats.jsonl line 2: message 1 \(role 'user'\): .*second 'user' turn in a row; merge") as error:
        validate_rows(conversations)
    assert isinstance(error.value, ConversationError) and isinstance(error.value, ValueError)


def test_every_bad_row_is_counted_and_the_first_few_named():
    good = {"messages": [USER, ASSISTANT]}
    bad = {"messages": [ASSISTANT, USER]}
    rows = to_messages([good, bad, good, *[bad] * 7])
    with pytest.raises(DataError, match=r"^row 1: message 0 .*7 more rows have problems too: row 3, row 4, row 5, row 6, row 7, \.\.\."):
        validate_rows(rows)


def test_a_conversation_must_end_with_the_reply_to_learn():
    rows = [{"messages": [USER, ASSISTANT, {"role": "user", "content": "Thanks!"}]}]
    with pytest.raises(DataError, match="row 0: the conversation ends with a user turn; its last turn must be the reply to learn"):
        validate_rows(rows)
    with pytest.raises(DataError, match="row 0: expected a dict with a 'messages' key"):
        validate_rows([{"question": "Hi?"}])


def test_the_bundled_task_passes_every_step():
    conversations = to_messages(load_bookings("validation"))
    validate_rows(conversations)
    validate_rows(datasets.Dataset.from_list(conversations))
    assert len(conversations) == 100 and conversations[0]["messages"][0]["role"] == "system"


# ── splitting ──────────────────────────────────────────────────────────────────────────────────────


def test_splits_are_sized_seeded_and_keep_every_row():
    rows = to_messages(qa_rows(100))
    splits = split_rows(rows)
    assert list(splits) == ["train", "validation", "test"]
    assert [len(splits[name]) for name in splits] == [80, 10, 10]
    assert sorted(origin for split in splits.values() for origin in split[ORIGIN]) == sorted(row[ORIGIN] for row in rows)
    assert split_rows(rows)["test"][ORIGIN] == splits["test"][ORIGIN]  # the same seed, the same split
    assert split_rows(rows, seed=1)["test"][ORIGIN] != splits["test"][ORIGIN]
    counted = split_rows(rows, validation=20, test=0)
    assert list(counted) == ["train", "validation"] and len(counted["validation"]) == 20


def test_identical_prompts_never_land_in_two_splits():
    rows = qa_rows(60) + [{"question": "  question 7? ", "answer": "Another answer."}] * 3 + qa_rows(20)
    splits = split_rows(to_messages(rows), validation=0.2, test=0.2)
    keys = {name: {prompt_key(row) for row in split} for name, split in splits.items()}
    assert not keys["train"] & keys["validation"] and not keys["train"] & keys["test"] and not keys["validation"] & keys["test"]
    assert sum(len(split) for split in splits.values()) == 83  # duplicates kept, together, not dropped
    system = {"role": "system", "content": "Be brief."}
    assert prompt_key({"messages": [system, {"role": "user", "content": "Question 7?"}, ASSISTANT]}) == "question 7?"


def test_too_few_rows_or_a_bad_size_is_refused():
    with pytest.raises(DataError, match=r"3 rows \(1 different prompts\) are too few"):
        split_rows(to_messages([{"question": "Hi?", "answer": "Hello."}] * 3))
    with pytest.raises(ValueError, match="validation must be a number of rows .* or a fraction below 1"):
        split_rows(to_messages(qa_rows(10)), validation=1.5)
    with pytest.raises(DataError, match="row 0: message 0"):
        split_rows([{"messages": [ASSISTANT, USER]}])


# ── the Hub ────────────────────────────────────────────────────────────────────────────────────────


def test_the_hub_is_refused_offline_with_what_to_do_instead(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError, match=r"load_hub_rows needs the Hugging Face Hub.*HF_HUB_OFFLINE=1.*read_rows"):
        load_hub_rows("HuggingFaceTB/smoltalk", "everyday-conversations")


def test_hub_rows_carry_their_dataset_and_row(monkeypatch):
    calls = []

    def load_dataset(dataset_id, subset, split):
        calls.append((dataset_id, subset, split))
        return datasets.Dataset.from_list([{"messages": [USER, ASSISTANT]}] * 5)

    monkeypatch.setattr(own_data, "offline_reason", lambda: "")
    monkeypatch.setattr(own_data.datasets, "load_dataset", load_dataset)
    rows = load_hub_rows("HuggingFaceTB/smoltalk", "everyday-conversations", limit=3)
    assert calls == [("HuggingFaceTB/smoltalk", "everyday-conversations", "train")]
    assert [row[ORIGIN] for row in rows] == [f"HuggingFaceTB/smoltalk row {i}" for i in range(3)]
    validate_rows(to_messages(rows))


def test_a_hub_dataset_that_is_not_there_is_named(monkeypatch):
    def load_dataset(dataset_id, subset, split):
        raise datasets.exceptions.DatasetNotFoundError(f"Dataset '{dataset_id}' doesn't exist on the Hub")

    monkeypatch.setattr(own_data, "offline_reason", lambda: "")
    monkeypatch.setattr(own_data.datasets, "load_dataset", load_dataset)
    with pytest.raises(DataError, match="no dataset 'someone/typo' on the Hugging Face Hub.*check its id"):
        load_hub_rows("someone/typo")


# ── lesson 5's own cells, fed a malformed file ─────────────────────────────────────────────────────
LESSON5 = Path(__file__).resolve().parent.parent / "notebooks" / "05_your_own_task.ipynb"
# From the cell the learner changes (DATA_FILE, COLUMNS, ...) to the split, as the lesson runs them; no model is loaded.
DATA_CELLS = ("your-task", "load", "validate", "split")
MALFORMED = [
    ("wrong columns", "data.csv", b"text,label\nHi?,Hello.\n",
     r"the rows have the columns \['label', 'text'\], which is none of the shapes.*to_messages\(rows, user="),
    ("an empty reply", "data.csv", b"question,answer\nHi?,Hello.\nWhere?,\n",
     r"^data.csv line 3: the 'answer' column is empty.*Fix that row in your data"),
    ("a non-UTF-8 line", "data.jsonl", b'{"question": "Hi?", "answer": "Hello."}\n{"question": "Caf\xe9?", "answer": "Oui."}\n',
     r"^data.jsonl line 2 is not UTF-8 text.*Save the file as UTF-8"),
    ("two user turns in a row", "data.jsonl",
     json.dumps({"messages": [USER, {"role": "user", "content": "Also a high chair."}, ASSISTANT]}).encode() + b"\n",
     r"^data.jsonl line 1: message 1 \(role 'user'\): .*second 'user' turn in a row; merge the two turns"),
]


def lesson5_cells() -> dict[str, str]:
    """Return the sources of lesson 5's code cells, by cell id."""
    cells = json.loads(LESSON5.read_text(encoding="utf-8"))["cells"]
    return {cell["id"]: "".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"}


def run_lesson5_data_cells(data_file: Path) -> dict:
    """Run lesson 5's data cells (the quick profile) on data_file, without a test file; return their variables."""
    cells = lesson5_cells()
    namespace = {"env": SimpleNamespace(profile="quick")}
    exec(cells["profile"], namespace)
    exec(cells[DATA_CELLS[0]], namespace)
    namespace.update(DATA_FILE=str(data_file), TEST_FILE=None)
    for cell_id in DATA_CELLS[1:]:
        exec(cells[cell_id], namespace)
    return namespace


@pytest.mark.parametrize(("case", "name", "content", "expected"), MALFORMED, ids=[case[0] for case in MALFORMED])
def test_the_lesson_stops_at_a_malformed_file_naming_the_row_and_the_fix(tmp_path, case, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=expected):
        run_lesson5_data_cells(path)


def test_the_lessons_data_cells_take_a_learners_file_through_to_the_splits(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_jsonl(tmp_path / "mine.jsonl", qa_rows(400))
    found = run_lesson5_data_cells(path)
    assert (len(found["train_rows"]), len(found["validation_rows"]), len(found["test_rows"])) == (240, 32, 100)
    assert not {prompt_key(row) for row in found["train_rows"]} & {prompt_key(row) for row in found["test_rows"]}
    with pytest.raises(AssertionError, match="training rows are too few"):
        run_lesson5_data_cells(write_jsonl(tmp_path / "few.jsonl", qa_rows(200)))


# ── the learner's language ─────────────────────────────────────────────────────────────────────────


def test_the_errors_come_out_in_vietnamese_in_the_vietnamese_notebooks(tmp_path, vietnamese):
    path = tmp_path / "data.csv"
    path.write_bytes("question,answer\nCaf\xe9?,Oui.\n".encode("latin-1"))
    with pytest.raises(DataError) as english:
        read_rows(path)
    vietnamese.on()
    with pytest.raises(DataError) as translated:
        read_rows(path)
    assert str(translated.value) != str(english.value) and "data.csv" in str(translated.value) and "2" in str(translated.value)
    with pytest.raises(DataError) as wrong_columns:
        to_messages([{"text": "Hi?"}])
    assert "to_messages(rows, user=" in str(wrong_columns.value) and "the rows have the columns" not in str(wrong_columns.value)
