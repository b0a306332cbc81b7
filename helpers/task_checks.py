"""A task's own check: a small function that judges one reply against its reference, and a table of its outcomes.

A check takes (reply, reference) and returns {outcome: passed}, e.g. {"format": True, "content": False},
or a single bool (read as "content"). `outcome_table` applies one to every reply, giving one row per
reply and one True/False column per outcome: what helpers.intervals turns into rates with intervals
and paired differences, as helpers.house_style.outcome_table does for the support desk.

`json_fields` is the check of a task whose replies are a JSON record (the bookings task): "format" is
whether the reply is one JSON object and nothing else; each field is checked on its own, in the first
JSON object found anywhere in the reply (format-free: code fences or a sentence around it do not
count against the content); "content" is every field right.

`save_task_scores` keeps a run's outcomes on the test prompts beside its model (task_scores.json), with the
prompted model's and the target, so that the run can be graded from its folder alone
(helpers.exercises.own_task.check_saved_run).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from helpers.i18n import N_, _

Check = Callable[[str, str], "dict[str, bool] | bool"]
_DECODER = json.JSONDecoder()
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def json_object(reply: str) -> dict | None:
    """Return the first JSON object written anywhere in the reply, or None where there is none."""
    start = reply.find("{")
    while start != -1:
        try:
            found, unused = _DECODER.raw_decode(reply, start)
        except json.JSONDecodeError:
            found = None
        if isinstance(found, dict):
            return found
        start = reply.find("{", start + 1)
    return None


def reference_record(reference: str) -> dict:
    """Return a reference reply's JSON record; raise ValueError where the reference is not one JSON object."""
    try:
        record = json.loads(reference)
    except json.JSONDecodeError as err:
        raise ValueError(
            _("the reference is not JSON ({error}): {reference!r}; a JSON check needs references that are JSON objects").format(
                error=err.msg, reference=reference
            )
        ) from None
    if not isinstance(record, dict) or not record:
        raise ValueError(
            _("the reference is {reference!r}, not a JSON object with fields; a JSON check needs references like {example}").format(
                reference=reference, example='{"name": "Maya", "people": 4}'
            )
        )
    return record


def _number(item: object) -> float | None:
    """Return a number, or a text that is only a number (digits, a sign, a decimal point), as a float; None for anything else."""
    if isinstance(item, (int, float)) and not isinstance(item, bool):
        return float(item)
    if isinstance(item, str) and _NUMBER.fullmatch(item.strip()):
        return float(item)
    return None


def same_value(value: object, expected: object) -> bool:
    """Return True when a reply's value is the expected one, forgiving case, surrounding spaces and a number written as text."""
    if _number(value) is not None and _number(expected) is not None:
        return _number(value) == _number(expected)

    def plain(item: object) -> str:
        text = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
        return " ".join(text.split()).casefold()

    return plain(value) == plain(expected)


def json_fields(reply: str, reference: str) -> dict[str, bool]:
    """Return {"format", "<field>_correct" for each field of the reference, "content"} for one reply."""
    if not isinstance(reply, str):
        raise TypeError(_("reply must be a str, got {type}; pass only the generated text").format(type=type(reply).__name__))
    expected = reference_record(reference)
    try:
        whole = json.loads(reply)
    except json.JSONDecodeError:
        whole = None
    found = json_object(reply) or {}
    fields = {f"{field}_correct": field in found and same_value(found[field], value) for field, value in expected.items()}
    return {N_("format"): isinstance(whole, dict), **fields, N_("content"): all(fields.values())}


def exact_match(reply: str, reference: str) -> dict[str, bool]:
    """Return {"content": the reply is the reference}, surrounding whitespace forgiven."""
    return {N_("content"): reply.strip() == reference.strip()}


def outcome_table(replies: Sequence[str], references: Sequence[str], check: Check = json_fields) -> pd.DataFrame:
    """Return one row per reply and one True/False column per outcome of the check (json_fields unless given)."""
    replies, references = list(replies), list(references)
    if len(replies) != len(references):
        raise ValueError(
            _("got {replies} replies but {references} references; pass one reference per reply").format(
                replies=len(replies), references=len(references)
            )
        )
    if not replies:
        raise ValueError(_("no replies to score"))
    outcomes = []
    for i, (reply, reference) in enumerate(zip(replies, references)):
        try:
            outcome = check(reply, reference)
        except (ValueError, TypeError) as err:
            raise type(err)(_("reply {index}: {error}").format(index=i, error=err)) from None
        outcome = {"content": outcome} if isinstance(outcome, bool) else outcome
        if not isinstance(outcome, dict) or not all(isinstance(passed, bool) for passed in outcome.values()):
            raise TypeError(
                _("the check returned {value!r} for reply {index}; a check returns True/False, or a dict of them").format(
                    value=outcome, index=i
                )
            )
        outcomes.append(outcome)
    columns = list(dict.fromkeys(name for outcome in outcomes for name in outcome))
    if any(list(outcome) != columns for outcome in outcomes):
        raise ValueError(
            _("the check returned different outcomes for different replies (first: {first}); it must return the same keys each time")
            .format(first=list(outcomes[0]))
        )
    return pd.DataFrame(outcomes, columns=columns)


def reference_replies(rows: Sequence[dict]) -> list[str]:
    """Return each row's reference: the content of its conversation's final assistant turn."""
    references = []
    for i, row in enumerate(rows):
        messages = row["messages"]
        if not messages or messages[-1]["role"] != "assistant":
            raise ValueError(
                _("row {index}: the conversation does not end with an assistant turn: it has no reference reply").format(index=i)
            )
        references.append(messages[-1]["content"])
    return references


def most_common_record(references: Sequence[str]) -> str:
    """Return the no-model baseline's reply: a JSON record of each field's most common value in the references."""
    records = [reference_record(reference) for reference in references]
    if not records:
        raise ValueError(_("a most-common baseline needs reference replies to count"))
    fields = dict.fromkeys(field for record in records for field in record)
    counted = {field: Counter(json.dumps(record[field]) for record in records if field in record) for field in fields}
    return json.dumps({field: json.loads(counts.most_common(1)[0][0]) for field, counts in counted.items()}, ensure_ascii=False)


# ── a run's scores, saved beside its model ───────────────────────────────────────────────────────
SCORES_FILE = "task_scores.json"  # beside a model lesson 5 saved: its check's outcomes on the test prompts, and the target


def _columns(outcomes: pd.DataFrame, name: str) -> dict[str, list[bool]]:
    """Return a table of True/False outcomes as {outcome: [bool, ...]}; raise ValueError where it has no "content" column."""
    if not isinstance(outcomes, pd.DataFrame) or "content" not in outcomes:
        raise ValueError(
            _("{name} must be an outcome table with a 'content' column (outcome_table(...) gives one)").format(name=name)
        )
    return {column: [bool(passed) for passed in outcomes[column]] for column in outcomes.columns}


def save_task_scores(folder: str | Path, fine_tuned: pd.DataFrame, prompted: pd.DataFrame, target: float) -> Path:
    """Return the path of task_scores.json, written into folder: the target, and both outcome tables on the same test prompts.

    The prompted model may have answered only the first of the fine-tune's prompts: the two pair on those.
    """
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 <= target <= 1:
        raise ValueError(_("target must be a share between 0 and 1 (e.g. 0.5), got {target!r}").format(target=target))
    scores = {"target": float(target), "fine-tuned": _columns(fine_tuned, "fine_tuned"), "prompted": _columns(prompted, "prompted")}
    if len(scores["prompted"]["content"]) > len(scores["fine-tuned"]["content"]):
        raise ValueError(_("the prompted model answered more prompts than the fine-tune; pass the fine-tune's outcomes on all of them"))
    path = Path(folder) / SCORES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(scores, indent=1) + "\n", encoding="utf-8")
    return path


def read_task_scores(folder: str | Path) -> dict:
    """Return the scores saved beside a model by save_task_scores; raise FileNotFoundError, saying what to run, where there are none."""
    path = Path(folder) / SCORES_FILE
    if not path.is_file():
        raise FileNotFoundError(
            _("{folder} holds no {file}; run lesson 5's save cell, which writes it beside the model").format(
                folder=Path(folder).as_posix(), file=SCORES_FILE
            )
        )
    return json.loads(path.read_text(encoding="utf-8"))
