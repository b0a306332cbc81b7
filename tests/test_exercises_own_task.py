"""Tests for lesson 5's exercise checks (helpers.exercises.own_task) and the grade of a saved run; no model is loaded."""

import json
import re

import datasets
import pandas as pd
import pytest
from feedback_asserts import fails_with, in_vietnamese, not_attempted, passes

from helpers.exercises import own_task
from helpers.exercises.own_task import (
    EMPTY_REPLY_LINE,
    NOT_UTF8_LINE,
    TWO_TURNS_LINE,
    check_csv_mapping,
    check_repaired_file,
    check_saved_run,
    check_time_check,
    write_broken_file,
    write_guest_csv,
)
from helpers.own_data import DataError, read_rows, to_messages, validate_rows
from helpers.task_checks import SCORES_FILE, save_task_scores


def time_check(reply, reference):
    found = re.search(r'"time"\s*:\s*"([^"]*)"', reply)
    return found is not None and found.group(1) == json.loads(reference)["time"]


# ── easy: a regex check of the time field ───────────────────────────────────────────────────────


def test_time_check_not_attempted_and_not_a_function():
    not_attempted(check_time_check(None))
    fails_with(check_time_check("time"), "Expected a function, got str")


def test_a_right_time_check_passes_every_case():
    passes(check_time_check(time_check))


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda reply, reference: bool(re.search(r"\d\d:\d\d", reply)), "compare the reply's time with the reference's"),
        (lambda reply, reference: (re.findall(r"\d\d:\d\d", reply) or [""])[0] == json.loads(reference)["time"], "not the first HH:MM"),
        (lambda reply, reference: '"time": "' + json.loads(reference)["time"] in reply, "without spaces"),
        (lambda reply, reference: bool(re.fullmatch(r'\{.*"time"\s*:\s*"19:30"\}', reply)), "format-free"),
        (lambda reply, reference: bool(re.search(r'"time"\s*:\s*"19:30"', reply)), "from the reference too"),
    ],
)
def test_each_wrong_time_check_is_caught_with_its_hint(wrong, hint):
    fails_with(check_time_check(wrong), hint)


def test_a_time_check_that_raises_or_returns_no_bool_is_named():
    def raises(reply, reference):
        return re.search(r'"time": "(\d\d:\d\d)"', reply).group(1) == json.loads(reference)["time"]

    fails_with(check_time_check(raises), "raised AttributeError", "returns None")
    fails_with(check_time_check(lambda reply, reference: re.search(r'"time"', reply)), "a check returns True or False")


def test_on_the_fine_tunes_replies_the_check_is_compared_with_json_fields():
    references = ['{"name": "Ana", "people": 2, "day": "Monday", "time": "13:00"}'] * 3
    replies = [references[0], references[0].replace("13:00", "1:00"), 'Booked for "time": "13:00"']
    fails_with(check_time_check(time_check, replies, references), "disagrees with json_fields on 1 of 3", "time\": \"13:00")
    feedback = check_time_check(time_check, replies[:2], references[:2])
    passes(feedback)
    assert "agrees with json_fields' time_correct on all 2 replies it was given: the time is right in 0.50" in feedback.message


# ── medium: a CSV file with other column names ──────────────────────────────────────────────────


def test_the_guest_file_is_a_csv_with_three_named_columns(tmp_path):
    rows = read_rows(write_guest_csv(tmp_path))
    assert len(rows) == 8 and set(rows[0]) == {"received", "guest message", "booking", "origin"}
    assert rows[0]["origin"] == "guest_bookings.csv line 2"
    json.loads(rows[0]["booking"])  # a quoted JSON record survives the CSV
    with pytest.raises(DataError, match="none of the shapes the course knows"):
        to_messages(rows)


def test_the_mapped_columns_pass_as_a_list_or_a_dataset_with_or_without_a_system_prompt(tmp_path):
    rows = read_rows(write_guest_csv(tmp_path))
    conversations = to_messages(rows, user="guest message", assistant="booking")
    passes(check_csv_mapping(conversations))
    passes(check_csv_mapping(datasets.Dataset.from_list(conversations)))
    passes(check_csv_mapping(to_messages(rows, user="guest message", assistant="booking", system_prompt="Book tables.")))


def test_a_wrong_mapping_is_named(tmp_path):
    rows = read_rows(write_guest_csv(tmp_path))
    not_attempted(check_csv_mapping(None))
    fails_with(check_csv_mapping(to_messages(rows, user="received", assistant="booking")), "the date the message was received")
    fails_with(check_csv_mapping(to_messages(rows, user="booking", assistant="guest message")), "the booking as the user's turn")
    fails_with(check_csv_mapping(to_messages(rows, user="guest message", assistant="booking")[:5]), "5 conversations, but the file has 8")
    fails_with(check_csv_mapping(rows), "Row 0 has no list of 'messages'")
    fails_with(check_csv_mapping("rows"), "Expected a list of conversations, got str")


# ── hard: repair a broken file ──────────────────────────────────────────────────────────────────


def repaired(broken, path, decode=lambda raw: raw.decode("cp1252"), merge=True, reply=None, drop=()):
    """Write a repair of the broken file to path (the solution's steps, each of which a test can leave out)."""
    rows = []
    for number, raw in enumerate(broken.read_bytes().split(b"\n"), start=1):
        if not raw.strip() or number in drop:
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = decode(raw)
        messages = []
        for message in json.loads(text)["messages"]:
            if merge and messages and messages[-1]["role"] == message["role"] == "user":
                messages[-1] = {"role": "user", "content": messages[-1]["content"] + "\n" + message["content"]}
            else:
                messages.append(message)
        if not messages[-1]["content"].strip():
            if reply is None:
                continue
            messages[-1] = {"role": "assistant", "content": reply}
        rows.append({"messages": messages})
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def test_the_broken_file_stops_at_each_of_its_three_problems_naming_the_line(tmp_path):
    broken = write_broken_file(tmp_path)
    with pytest.raises(DataError, match=rf"^broken_bookings.jsonl line {NOT_UTF8_LINE} is not UTF-8 text"):
        read_rows(broken)
    half = repaired(broken, tmp_path / "half.jsonl", merge=False, reply="")
    with pytest.raises(DataError, match=rf"line {TWO_TURNS_LINE}: .*second 'user' turn in a row.*1 more rows .*line {EMPTY_REPLY_LINE}"):
        validate_rows(to_messages(read_rows(half)))
    assert "José" in broken.read_bytes().split(b"\n")[NOT_UTF8_LINE - 1].decode("cp1252")


def test_a_full_repair_passes_whether_the_empty_row_goes_or_gets_its_booking(tmp_path):
    broken = write_broken_file(tmp_path)
    passes(check_repaired_file(repaired(broken, tmp_path / "fixed.jsonl")))
    assert "removed" in check_repaired_file(tmp_path / "fixed.jsonl").message
    booking = own_task._repaired_turns()[EMPTY_REPLY_LINE - 1][1]["content"]
    feedback = check_repaired_file(repaired(broken, tmp_path / "fixed.jsonl", reply=booking))
    passes(feedback)
    assert "given its booking" in feedback.message
    passes(check_repaired_file(repaired(broken, tmp_path / "latin.jsonl", decode=lambda raw: raw.decode("latin-1"))))


def test_each_wrong_repair_is_named(tmp_path):
    broken = write_broken_file(tmp_path)
    not_attempted(check_repaired_file(None))
    fails_with(check_repaired_file(broken), "the broken file itself")
    fails_with(check_repaired_file(tmp_path / "nothing.jsonl"), "There is no file")
    garbled = repaired(broken, tmp_path / "garbled.jsonl", decode=lambda raw: raw.decode("utf-8", errors="replace"))
    fails_with(check_repaired_file(garbled), "called José", "cp1252")
    fails_with(check_repaired_file(repaired(broken, tmp_path / "unmerged.jsonl", merge=False)), "still stops the lesson", "line 6")
    dropped = repaired(broken, tmp_path / "dropped.jsonl", drop=(TWO_TURNS_LINE,))
    fails_with(check_repaired_file(dropped), "line 6 of the broken file is missing", "merge the two user turns")
    fails_with(check_repaired_file(repaired(broken, tmp_path / "lost.jsonl", drop=(1,))), "line 1 of the broken file", "rather than drop")
    wrong_booking = repaired(broken, tmp_path / "wrong.jsonl", reply='{"name": "Mateo", "people": 1, "day": "Monday", "time": "12:00"}')
    fails_with(check_repaired_file(wrong_booking), "Line 8's reply", "not the booking")
    extra = repaired(broken, tmp_path / "extra.jsonl")
    extra.write_text(extra.read_text(encoding="utf-8") + json.dumps({"question": "Hi", "answer": "Hello"}) + "\n", encoding="utf-8")
    fails_with(check_repaired_file(extra), "still stops the lesson")  # a row of another shape


# ── the grade of a saved run ────────────────────────────────────────────────────────────────────


def outcomes(rights: list[bool]) -> pd.DataFrame:
    return pd.DataFrame({"format": [True] * len(rights), "content": rights})


def test_a_run_that_meets_its_target_and_beats_the_prompted_model_passes(tmp_path):
    save_task_scores(tmp_path, outcomes([True] * 60 + [False] * 40), outcomes([False] * 30 + [True] * 10), target=0.5)
    feedback = check_saved_run(tmp_path)
    passes(feedback)
    assert "0.60 (0.50–0.69) of 100 test prompts against a target of 0.50" in feedback.message
    assert "on the same 40 prompts" in feedback.message


def test_a_run_under_its_target_or_level_with_prompting_fails(tmp_path):
    save_task_scores(tmp_path, outcomes([True] * 40 + [False] * 60), outcomes([False] * 40), target=0.5)
    fails_with(check_saved_run(tmp_path), "0.40", "under the target of 0.50", "read the worst replies")
    save_task_scores(tmp_path, outcomes([True] * 6 + [False] * 4), outcomes([True] * 6 + [False] * 4), target=0.5)
    fails_with(check_saved_run(tmp_path), "not ahead of the prompted model beyond noise", "+0.00")


def test_a_folder_without_scores_says_what_to_run(tmp_path):
    not_attempted(check_saved_run(None))
    fails_with(check_saved_run(tmp_path), SCORES_FILE, "save cell")


def test_the_scores_are_refused_when_malformed(tmp_path):
    with pytest.raises(ValueError, match="a share between 0 and 1"):
        save_task_scores(tmp_path, outcomes([True]), outcomes([True]), target=50)
    with pytest.raises(ValueError, match="'content' column"):
        save_task_scores(tmp_path, pd.DataFrame({"format": [True]}), outcomes([True]), target=0.5)
    with pytest.raises(ValueError, match="answered more prompts than the fine-tune"):
        save_task_scores(tmp_path, outcomes([True]), outcomes([True, False]), target=0.5)


def test_a_check_speaks_vietnamese_in_the_vietnamese_notebooks(vietnamese, tmp_path):
    rows = read_rows(write_guest_csv(tmp_path))
    wrong = to_messages(rows, user="booking", assistant="guest message")
    english = check_csv_mapping(wrong).message
    message = "Row {index} has the booking as the user's turn and the guest's message as the reply."
    hint = "user= names the column the model reads, assistant= the column it learns to write."
    assert english == "❌ " + message.format(index=0) + "\n💡 Hint: " + hint
    expected = in_vietnamese(vietnamese, message, hint, index=0)
    vietnamese.on()
    assert check_csv_mapping(wrong).message == expected != english
