"""Tests for a task's own check (helpers.task_checks): JSON fields judged one by one, and the outcome table of any check."""

import json

import pandas as pd
import pytest

from helpers.intervals import paired_difference, rates_with_intervals
from helpers.task_checks import (
    exact_match,
    json_fields,
    json_object,
    most_common_record,
    outcome_table,
    reference_record,
    reference_replies,
    same_value,
)

REFERENCE = '{"name": "Maya", "people": 4, "day": "Friday", "time": "19:30"}'
FIELDS = ["name_correct", "people_correct", "day_correct", "time_correct"]


def test_a_reply_that_is_the_reference_passes_everything():
    assert json_fields(REFERENCE, REFERENCE) == {"format": True, **dict.fromkeys(FIELDS, True), "content": True}


def test_each_field_is_judged_on_its_own():
    reply = '{"name": "Maya", "people": 4, "day": "Fri", "time": "7:30pm"}'
    assert json_fields(reply, REFERENCE) == {
        "format": True, "name_correct": True, "people_correct": True, "day_correct": False, "time_correct": False, "content": False,
    }
    missing = json_fields('{"name": "Maya"}', REFERENCE)
    assert missing["format"] and missing["name_correct"] and not missing["people_correct"] and not missing["content"]


def test_content_is_format_free_but_format_is_strict():
    for wrapped in (f"```json\n{REFERENCE}\n```", f"Here is the booking: {REFERENCE} Enjoy!", f"{{oops}} {REFERENCE}"):
        outcome = json_fields(wrapped, REFERENCE)
        assert not outcome["format"] and outcome["content"], wrapped
    assert json_fields(f"  {REFERENCE}\n", REFERENCE)["format"]  # surrounding whitespace is fine


@pytest.mark.parametrize("reply", ["", "Maya, 4, Friday, 19:30", "[1, 2]", '"Maya"', '{"name": "Maya", "people": 4', "{}"])
def test_a_reply_without_the_record_fails_every_field(reply):
    outcome = json_fields(reply, REFERENCE)
    assert not any(outcome[field] for field in [*FIELDS, "content"])
    assert outcome["format"] == (reply == "{}")


def test_values_forgive_case_spaces_and_a_number_written_as_text():
    assert same_value("maya ", "Maya") and same_value(" FRIDAY", "Friday") and same_value("19:30", "19:30")
    assert same_value("4", 4) and same_value(4.0, 4) and same_value(" 4 ", "4") and not same_value(True, 1)
    assert not same_value("four", 4) and not same_value("19.30", "19:30") and not same_value(None, "Maya")
    assert same_value([1, 2], [1, 2]) and same_value({"a": 1}, {"a": 1})


def test_json_object_finds_the_first_object_anywhere():
    assert json_object('text {"a": 1} more {"b": 2}') == {"a": 1}
    assert json_object('{not json} then {"a": {"b": 1}}') == {"a": {"b": 1}}
    assert json_object("no braces") is None and json_object("[1]") is None


@pytest.mark.parametrize(("reference", "expected"), [("Maya", "not JSON"), ("[1, 2]", "not a JSON object"), ("{}", "not a JSON object")])
def test_a_reference_that_is_not_a_json_record_is_refused(reference, expected):
    with pytest.raises(ValueError, match=expected):
        reference_record(reference)
    with pytest.raises(ValueError, match=f"^reply 1: .*{expected}"):
        outcome_table([REFERENCE, REFERENCE], [REFERENCE, reference])


def test_the_outcome_table_has_a_row_per_reply_and_a_column_per_outcome():
    replies = [REFERENCE, REFERENCE.replace("19:30", "07:30"), "I'd be glad to help!"]
    table = outcome_table(replies, [REFERENCE] * 3)
    assert list(table.columns) == ["format", *FIELDS, "content"]
    assert table.dtypes.eq(bool).all()
    assert table["content"].tolist() == [True, False, False]
    assert table["time_correct"].tolist() == [True, False, False]
    rates = rates_with_intervals(table)  # what helpers.intervals makes of it
    assert rates.loc["name_correct", "rate"] == pytest.approx(2 / 3) and rates.loc["format", "n"] == 3
    assert paired_difference(table["content"], table["format"])["difference"] == pytest.approx(-1 / 3)


def test_any_check_can_be_tabled_a_bool_reads_as_content():
    table = outcome_table(["yes", " no "], ["yes", "yes"], check=lambda reply, reference: reply == reference)
    assert table.columns.tolist() == ["content"] and table["content"].tolist() == [True, False]
    assert outcome_table(["yes", " no "], ["yes", "no"], check=exact_match)["content"].tolist() == [True, True]


def test_a_check_that_misbehaves_is_named():
    with pytest.raises(TypeError, match="returned 'yes' for reply 0"):
        outcome_table(["a"], ["a"], check=lambda reply, reference: "yes")
    with pytest.raises(ValueError, match="same keys each time"):
        outcome_table(["a", "b"], ["a", "b"], check=lambda reply, reference: {reply: True})
    with pytest.raises(ValueError, match="2 replies but 1 references"):
        outcome_table(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no replies"):
        outcome_table([], [])
    with pytest.raises(TypeError, match="reply 0: reply must be a str, got NoneType"):
        outcome_table([None], [REFERENCE])


def test_reference_replies_are_the_final_assistant_turns():
    rows = [{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": REFERENCE}]}]
    assert reference_replies(rows) == [REFERENCE]
    with pytest.raises(ValueError, match="row 1: the conversation does not end with an assistant turn"):
        reference_replies([*rows, {"messages": [{"role": "user", "content": "hi"}]}])


def test_the_most_common_record_takes_each_fields_most_common_value():
    references = [REFERENCE, REFERENCE.replace("Maya", "Tom"), REFERENCE.replace("Maya", "Tom").replace("4", "6")]
    assert json.loads(most_common_record(references)) == {"name": "Tom", "people": 4, "day": "Friday", "time": "19:30"}
    table = outcome_table([most_common_record(references)] * 3, references)
    assert isinstance(table, pd.DataFrame) and table["people_correct"].tolist() == [True, True, False]
    with pytest.raises(ValueError, match="needs reference replies"):
        most_common_record([])
