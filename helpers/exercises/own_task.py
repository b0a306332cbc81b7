"""Checks for lesson 5's exercises (your own task), and the grade of a run the lesson saved.

The exercises' files are written from the bundled bookings data (helpers/data_files/bookings/), so every
check knows what a right answer holds: a CSV file whose columns have other names (medium), and a JSON Lines
file with three broken lines (hard). `check_saved_run` grades a run from the scores saved beside its model
(helpers.task_checks.save_task_scores): an instructor who hands lesson 5 out as an assignment runs it on the
learner's folder.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path

import datasets
import numpy as np
import pandas as pd

from helpers.data import BOOKINGS_DIR, read_jsonl
from helpers.exercises import Feedback, failed, not_attempted, passed
from helpers.i18n import _
from helpers.intervals import paired_difference, wilson_interval
from helpers.own_data import DataError, read_rows, to_messages, validate_rows
from helpers.task_checks import json_fields, outcome_table, read_task_scores

# ── easy: a regex check of one field ────────────────────────────────────────────────────────────
_REFERENCE = '{"name": "Maya", "people": 4, "day": "Friday", "time": "19:30"}'
_NOON = '{"name": "Tom", "people": 2, "day": "Monday", "time": "12:00"}'


def _time_cases() -> list[tuple[str, str, bool, str]]:
    """Return the cases a time check is tried on: (reply, reference, is the time right, the hint where a check gets it wrong)."""
    return [
        (_REFERENCE, _REFERENCE, True, _("the reply's time is the reference's: that is a pass.")),
        ('{"name":"Maya","people":4,"day":"Friday","time":"19:30"}', _REFERENCE, True,
         _("JSON may be written without spaces: allow any spaces around the colon (\\s*).")),
        ('Booked! {"name": "Maya", "people": 4, "day": "Friday", "time": "19:30"}', _REFERENCE, True,
         _("the check is format-free: words around the record do not make its time wrong (re.search, not re.fullmatch).")),
        ('{"name": "Maya", "people": 4, "day": "Friday", "time": "18:30"}', _REFERENCE, False,
         _("compare the reply's time with the reference's time; finding a time is not enough.")),
        ('{"name": "Maya", "people": 4, "day": "Friday", "time": "7:30pm"}', _REFERENCE, False,
         _("a time the model did not convert to 24 hours is wrong.")),
        ('{"name": "Maya", "people": 4, "day": "Friday"}', _REFERENCE, False,
         _("a reply without a time field is wrong: return False where the regex finds nothing.")),
        ('{"name": "Maya at 19:30", "people": 4, "day": "Friday", "time": "20:00"}', _REFERENCE, False,
         _('read the time from the "time" field, not the first HH:MM anywhere in the reply.')),
        (_NOON, _NOON, True, _("read the expected time from the reference too, not from a fixed value.")),
    ]


def check_time_check(
    function: Callable[[str, str], bool] | None, replies: list[str] | None = None, references: list[str] | None = None
) -> Feedback:
    """Return Feedback, truthy when function(reply, reference) says whether the reply's "time" field is the reference's (easy).

    Given replies (the fine-tune's, in the lesson) and their references, it also compares the function with json_fields' time_correct
    on them.
    """
    if function is None:
        return not_attempted(_("your function time_check(reply, reference)"))
    if not callable(function):
        return failed(_("Expected a function, got {type_name}.").format(type_name=type(function).__name__))
    cases = _time_cases()
    for reply, reference, expected, hint in cases:
        try:
            got = function(reply, reference)
        except Exception as error:  # the learner's code: report any failure kindly
            return failed(
                _("time_check raised {error_type}: {error} (on the reply {reply}).").format(
                    error_type=type(error).__name__, error=error, reply=reply
                ),
                _("a regex that finds nothing returns None: check for that before calling .group()."),
            )
        if not isinstance(got, (bool, np.bool_)):
            return failed(
                _("time_check returned {value!r}; a check returns True or False.").format(value=got),
                _("bool(...) or a comparison (==) gives True or False."),
            )
        if got != expected:
            return failed(
                _("For the reply {reply} against the reference {reference}, your check says {got}.").format(
                    reply=reply, reference=reference, got=got
                ),
                hint,
            )
    if replies is None or references is None:
        return passed(_("Your check gets all {count} cases right.").format(count=len(cases)))
    try:
        ours = [bool(function(reply, reference)) for reply, reference in zip(replies, references)]
    except Exception as error:  # the learner's code: report any failure kindly
        return failed(
            _("time_check passes every case but raised {error_type} on the replies it was given: {error}").format(
                error_type=type(error).__name__, error=error
            ),
            _("a regex that finds nothing returns None: check for that before calling .group()."),
        )
    theirs = outcome_table(replies, references, json_fields)["time_correct"].tolist()
    disagree = [reply for reply, mine, course in zip(replies, ours, theirs) if mine != course]
    if disagree:
        return failed(
            _(
                "Your check gets every case right, but on the replies it was given it disagrees with json_fields on "
                "{count} of {total}, e.g. {reply}."
            ).format(count=len(disagree), total=len(replies), reply=disagree[0]),
            _("print that reply and its reference: which check reads it right?"),
        )
    return passed(
        _(
            "Your check gets all {count} cases right, and it agrees with json_fields' time_correct on all {total} replies "
            "it was given: the time is right in {rate:.2f} of them."
        ).format(count=len(cases), total=len(replies), rate=sum(ours) / len(ours))
    )


# ── medium: a CSV file whose columns have other names ───────────────────────────────────────────
GUEST_FILE = "guest_bookings.csv"
GUEST_COLUMNS = ("received", "guest message", "booking")  # a date, the guest's words, the booking record
_GUEST_ROWS = 8


def _guest_rows() -> list[dict]:
    """Return the rows of the guest file: the first bookings validation rows, each with the date it was received."""
    rows = read_jsonl(BOOKINGS_DIR / "validation.jsonl")[:_GUEST_ROWS]
    return [
        {"received": f"2026-03-{day:02d}", "guest message": row["messages"][1]["content"], "booking": row["messages"][2]["content"]}
        for day, row in enumerate(rows, start=1)
    ]


def write_guest_csv(folder: str | Path = "outputs") -> Path:
    """Return the path of the medium exercise's CSV file (written into folder): columns received, guest message, booking."""
    path = Path(folder) / GUEST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(GUEST_COLUMNS))
        writer.writeheader()
        writer.writerows(_guest_rows())
    return path


def _turns(row: object) -> list[dict] | None:
    """Return a converted row's turns without a system prompt, or None where it is not a dict with a list of messages."""
    messages = row.get("messages") if isinstance(row, dict) else None
    if not isinstance(messages, list):
        return None
    return [message for message in messages if not (isinstance(message, dict) and message.get("role") == "system")]


def check_csv_mapping(conversations: list[dict] | datasets.Dataset | None) -> Feedback:
    """Return Feedback, truthy when conversations are the guest file's rows, each the guest's message then its booking (medium)."""
    if conversations is None:
        return not_attempted(_("the file's rows as conversations (to_messages of read_rows)"))
    if isinstance(conversations, datasets.Dataset):
        conversations = conversations.to_list()
    if not isinstance(conversations, list):
        return failed(
            _("Expected a list of conversations, got {type_name}.").format(type_name=type(conversations).__name__),
            _("to_messages returns a list: pass what it returns."),
        )
    expected = _guest_rows()
    if len(conversations) != len(expected):
        return failed(
            _("{count} conversations, but the file has {rows} rows: every row should become one conversation.").format(
                count=len(conversations), rows=len(expected)
            )
        )
    for index, (row, wanted) in enumerate(zip(conversations, expected)):
        turns = _turns(row)
        if turns is None:
            return failed(
                _("Row {index} has no list of 'messages'.").format(index=index),
                _("pass the rows through to_messages(rows, user=..., assistant=...)."),
            )
        contents = [message.get("content") if isinstance(message, dict) else None for message in turns]
        roles = [message.get("role") if isinstance(message, dict) else None for message in turns]
        if roles == ["user", "assistant"] and contents == [wanted["guest message"], wanted["booking"]]:
            continue
        if wanted["received"] in contents:
            return failed(
                _("Row {index} holds {date!r}, the date the message was received, as one of its turns.").format(
                    index=index, date=wanted["received"]
                ),
                _("the guest's words are in the 'guest message' column, the reply to learn in 'booking'."),
            )
        if contents == [wanted["booking"], wanted["guest message"]]:
            return failed(
                _("Row {index} has the booking as the user's turn and the guest's message as the reply.").format(index=index),
                _("user= names the column the model reads, assistant= the column it learns to write."),
            )
        return failed(
            _("Row {index} is not the guest's message followed by its booking: {turns}").format(index=index, turns=turns),
            _("to_messages(rows, user='guest message', assistant='booking')."),
        )
    try:
        validate_rows(conversations)
    except DataError as error:
        return failed(str(error))
    return passed(
        _(
            "{count} conversations, each a guest's message and its booking record: the columns are mapped. "
            "The same call maps your own file's columns."
        ).format(count=len(conversations))
    )


# ── hard: repair a broken file ──────────────────────────────────────────────────────────────────
BROKEN_FILE = "broken_bookings.jsonl"
_FIRST_ROW, _BROKEN_ROWS = 20, 10  # the bookings validation rows the broken file is made from
# What is wrong with the broken file, by line (counted from 1): saved in Windows-1252, two user turns in a row, no reply.
NOT_UTF8_LINE, TWO_TURNS_LINE, EMPTY_REPLY_LINE = 3, 6, 8
_NEW_NAME = "José"  # a name with a letter outside ASCII, which Windows-1252 writes as a byte UTF-8 cannot read


def _repaired_turns() -> list[list[dict]]:
    """Return the broken file's conversations as they should be after the repair (each a user turn and its booking)."""
    rows = read_jsonl(BOOKINGS_DIR / "validation.jsonl")[_FIRST_ROW : _FIRST_ROW + _BROKEN_ROWS]
    conversations = [[message for message in row["messages"] if message["role"] != "system"] for row in rows]
    user, assistant = conversations[NOT_UTF8_LINE - 1]
    record = json.loads(assistant["content"])
    user["content"] = user["content"].replace(record["name"], _NEW_NAME)
    assistant["content"] = json.dumps({**record, "name": _NEW_NAME}, ensure_ascii=False)
    return conversations


def _split_turn(text: str) -> list[str]:
    """Return a message as the two messages a guest might have sent: split after its last sentence, else in the middle."""
    ends = [match.end() for match in re.finditer(r"[.!?] ", text)]
    if ends:
        return [text[: ends[-1]].strip(), text[ends[-1] :].strip()]
    words = text.split()
    return [" ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2 :])]


def write_broken_file(folder: str | Path = "outputs") -> Path:
    """Return the path of the hard exercise's JSON Lines file (written into folder): 10 bookings, three of them broken."""
    lines = []
    for number, (user, assistant) in enumerate(_repaired_turns(), start=1):
        messages = [user, assistant]
        if number == TWO_TURNS_LINE:
            messages = [{"role": "user", "content": part} for part in _split_turn(user["content"])] + [assistant]
        elif number == EMPTY_REPLY_LINE:
            messages = [user, {"role": "assistant", "content": ""}]
        text = json.dumps({"messages": messages}, ensure_ascii=False)
        lines.append(text.encode("cp1252" if number == NOT_UTF8_LINE else "utf-8"))
    path = Path(folder) / BROKEN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _plain(text: object) -> str:
    """Return a turn's text with its spaces and line breaks made single spaces (how two merged turns are compared)."""
    return " ".join(text.split()) if isinstance(text, str) else ""


def check_repaired_file(path: str | Path | None) -> Feedback:
    """Return Feedback, truthy when the file at path is the broken file repaired: it loads, and no row was lost or changed (hard)."""
    if path is None:
        return not_attempted(_("the path of your repaired file"))
    path = Path(path)
    if path.name == BROKEN_FILE:
        return failed(
            _("That is the broken file itself."),
            _("write the repaired rows to a new file, e.g. outputs/repaired_bookings.jsonl, and pass its path."),
        )
    if not path.is_file():
        return failed(_("There is no file {path}.").format(path=path.as_posix()), _("write your repaired copy first, then pass its path."))
    try:
        conversations = to_messages(read_rows(path))
        validate_rows(conversations)
    except DataError as error:
        return failed(_("Your file still stops the lesson: {error}").format(error=error), _("repair that line, and try again."))
    found = {}
    for row in conversations:
        turns = _turns(row)
        found[_plain(turns[0]["content"])] = turns
    expected = _repaired_turns()
    hints = {
        NOT_UTF8_LINE: _("decode that line as Windows-1252 (raw_line.decode('cp1252')): a program that does not write UTF-8 saved it."),
        TWO_TURNS_LINE: _("the guest sent one message in two parts: merge the two user turns into one."),
    }
    for number, (user, assistant) in enumerate(expected, start=1):
        turns = found.pop(_plain(user["content"]), None)
        if number == EMPTY_REPLY_LINE:
            if turns is not None and not json_fields(turns[-1]["content"], assistant["content"])["content"]:
                return failed(
                    _("Line {line}'s reply is {reply!r}, not the booking its message asks for.").format(
                        line=number, reply=turns[-1]["content"]
                    ),
                    _("write the booking the message asks for, or remove the row: it has nothing to learn from."),
                )
            continue
        if turns is None or [turn["content"] for turn in turns[1:]] != [assistant["content"]]:
            garbled = number == NOT_UTF8_LINE and any(_NEW_NAME not in text and "Jos" in text for text in found)
            if garbled:
                return failed(
                    _("The guest on line {line} is called {name}, but your file spells the name otherwise.").format(
                        line=number, name=_NEW_NAME
                    ),
                    hints[NOT_UTF8_LINE],
                )
            return failed(
                _("The row from line {line} of the broken file is missing, or its turns changed.").format(line=number),
                hints.get(number, _("repair a row rather than drop it: only a row with nothing to learn from may go.")),
            )
    if found:
        return failed(
            _("Your file has {count} rows the broken file did not have, e.g. {text!r}.").format(count=len(found), text=next(iter(found))),
            _("keep the broken file's rows only, repaired."),
        )
    kept = len(conversations)
    fate = _("removed") if kept == len(expected) - 1 else _("given its booking")
    return passed(
        _(
            "Your file loads and every row passes: {count} conversations, the name on line {utf8} read right, the two turns "
            "of line {turns} merged, and the row without a reply (line {empty}) {fate}. Nothing was lost on the way."
        ).format(count=kept, utf8=NOT_UTF8_LINE, turns=TWO_TURNS_LINE, empty=EMPTY_REPLY_LINE, fate=fate)
    )


# ── an instructor's grade: the scores saved beside a run's model ────────────────────────────────


def check_saved_run(folder: str | Path | None) -> Feedback:
    """Return Feedback, truthy when the run saved in folder reached its target and beat the prompted baseline beyond noise."""
    if folder is None:
        return not_attempted(_("the folder your run saved its model in"))
    try:
        scores = read_task_scores(folder)
    except FileNotFoundError as error:
        return failed(str(error))
    tuned, prompted, target = scores["fine-tuned"]["content"], scores["prompted"]["content"], scores["target"]
    low, high = wilson_interval(sum(tuned), len(tuned))
    rate = sum(tuned) / len(tuned)
    if rate < target:
        return failed(
            _(
                "The fine-tune passes the check on {rate:.2f} ({low:.2f}–{high:.2f}) of {count} test prompts, under the "
                "target of {target:.2f}."
            ).format(rate=rate, low=low, high=high, count=len(tuned), target=target),
            _("read the worst replies: more rows, more steps, or clearer references are the usual fixes."),
        )
    gain = paired_difference(pd.Series(tuned[: len(prompted)]), pd.Series(prompted))
    if gain["low"] <= 0:
        return failed(
            _(
                "The fine-tune reaches the target ({rate:.2f}), but it is not ahead of the prompted model beyond noise: "
                "{difference:+.2f} ({low:+.2f} to {high:+.2f}) on the same {count} prompts."
            ).format(rate=rate, difference=gain["difference"], low=gain["low"], high=gain["high"], count=len(prompted)),
            _("if prompting does as well, fine-tuning may not be needed; if not, more prompts narrow the interval."),
        )
    return passed(
        _(
            "Target met: {rate:.2f} ({low:.2f}–{high:.2f}) of {count} test prompts against a target of {target:.2f}, and "
            "{difference:+.2f} ({difference_low:+.2f} to {difference_high:+.2f}) ahead of the prompted model on the same "
            "{paired} prompts."
        ).format(
            rate=rate, low=low, high=high, count=len(tuned), target=target, difference=gain["difference"],
            difference_low=gain["low"], difference_high=gain["high"], paired=len(prompted),
        )
    )
