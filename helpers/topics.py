"""The support desk's topics: one kind of customer request each, with its category and policy code.

They are data, in helpers/data_files/support_desk_topics.json, checked when this module is imported
(every problem named at once, by topic and field); TOPICS and POLICIES are what the file holds.
helpers/support_desk.py generates the dataset from them.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass, fields
from pathlib import Path

from helpers.company import CATEGORIES, POLICY_CODE, SLOTS


@dataclass(frozen=True)
class Topic:
    """One kind of customer request, with its category, policy code and wordings."""

    name: str
    category: str
    policy: str
    requests: tuple[str, ...]  # train and validation wordings
    test_requests: tuple[str, ...]  # paraphrases seen only in the test split
    raw_requests: tuple[str, ...]  # a third set, for the raw question/answer table
    answer: str
    timing: str  # answer to "how long will that take?"
    next_step: str  # answer to "do I need to do anything else?"


# Next to this file (like helpers.data.DATA_DIR), not imported from there: helpers.data pulls in torch.
TOPICS_FILE = Path(__file__).resolve().parent / "data_files" / "support_desk_topics.json"
TOPIC_FIELDS = tuple(field.name for field in fields(Topic))
_WORDING_FIELDS = ("requests", "test_requests", "raw_requests")  # lists of request templates
_REPLY_FIELDS = ("answer", "timing", "next_step")  # reply texts, filled in with the request's slots


class TopicDataError(ValueError):
    """The support-desk topics file is malformed; the message names each topic and field to fix."""


def _label(entry: object, index: int) -> str:
    """Return how error messages name a topic: by its name where it has one, always with its position."""
    name = entry.get("name") if isinstance(entry, dict) else None
    return f"topic {name!r} (entry {index})" if isinstance(name, str) else f"topic entry {index}"


def _is_text(value: object) -> bool:
    """Return whether a value is a string with something other than whitespace in it."""
    return isinstance(value, str) and bool(value.strip())


def _type_problem(name: str, value: object) -> str | None:
    """Return why a field's value has the wrong type (wordings: a list of non-empty strings; the rest: a non-empty string), or None."""
    if name in _WORDING_FIELDS:
        if not (isinstance(value, list) and all(_is_text(v) for v in value)):
            return f"field {name!r} must be a list of non-empty strings, got {value!r}"
    elif not _is_text(value):
        return f"field {name!r} must be a non-empty string, got {value!r}"
    return None


def _shape_problems(entry: dict) -> list[str]:
    """Return the topic's missing, unknown and wrongly typed fields, as messages."""
    problems = [f"missing field {name!r}" for name in TOPIC_FIELDS if name not in entry]
    problems += [f"unknown field {name!r} (the fields are {', '.join(TOPIC_FIELDS)})" for name in entry if name not in TOPIC_FIELDS]
    types = (_type_problem(name, entry[name]) for name in TOPIC_FIELDS if name in entry)
    return problems + [problem for problem in types if problem]


def _slot_problems(field: str, template: str) -> list[str]:
    """Return what is wrong with one template's {slot} placeholders: unbalanced braces or slots the generator does not fill."""
    try:
        used = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as err:
        return [f"{field} {template!r} is not a valid template ({err}); write a literal brace as {{{{ or }}}}"]
    return [
        f"{field} uses the slot {{{name}}}, which the generator does not fill; the slots are {', '.join(sorted(SLOTS))}"
        for name in dict.fromkeys(used)
        if name not in SLOTS
    ]


def _templates(entry: dict) -> list[tuple[str, str]]:
    """Return (where, template) for every text of a topic that the generator fills slots into, e.g. ("requests[2]", "...")."""
    wordings = [(f"{name}[{i}]", template) for name in _WORDING_FIELDS for i, template in enumerate(entry[name])]
    return wordings + [(name, entry[name]) for name in _REPLY_FIELDS]


def _value_problems(entry: dict) -> list[str]:
    """Return what is wrong with a well-shaped topic's values: category, policy code, empty wordings, unknown slots."""
    problems = []
    if entry["category"] not in CATEGORIES:
        problems.append(f"category {entry['category']!r} is not one of {', '.join(CATEGORIES)}")
    if not re.fullmatch(POLICY_CODE, entry["policy"]):
        problems.append(f"policy {entry['policy']!r} is not a policy code like NB-101 (it must match {POLICY_CODE})")
    problems += [f"{name} is empty; give the topic at least one wording" for name in _WORDING_FIELDS if not entry[name]]
    for where, template in _templates(entry):
        problems += _slot_problems(where, template)
    return problems


def _duplicate_problems(entries: list, field: str) -> list[str]:
    """Return a message for each topic that reuses an earlier topic's value of `field` (name or policy)."""
    first: dict[str, str] = {}
    problems = []
    for index, entry in enumerate(entries):
        value = entry.get(field) if isinstance(entry, dict) else None
        if not isinstance(value, str):
            continue
        if value in first:
            problems.append(f"{_label(entry, index)}: {field} {value!r} is already used by {first[value]}; give each topic its own {field}")
        else:
            first[value] = _label(entry, index)
    return problems


def _topic(entry: dict) -> Topic:
    """Return a checked topic entry as a Topic, its lists of wordings as tuples."""
    return Topic(**{name: tuple(entry[name]) if name in _WORDING_FIELDS else entry[name] for name in TOPIC_FIELDS})


def validate_topics(entries: object, source: str = "topics") -> tuple[Topic, ...]:
    """Return the topics as Topic objects, in file order, or raise TopicDataError listing every problem to fix."""
    if not isinstance(entries, list) or not entries:
        raise TopicDataError(f"{source}: expected a non-empty JSON list of topic objects, got {entries!r:.80}")
    problems = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(f"{_label(entry, index)}: expected an object with the fields {', '.join(TOPIC_FIELDS)}, got {entry!r:.80}")
            continue
        entry_problems = _shape_problems(entry)
        # The value checks index the fields and trust their types, so they wait until the shape is right.
        problems += [f"{_label(entry, index)}: {problem}" for problem in entry_problems or _value_problems(entry)]
    problems += _duplicate_problems(entries, "name") + _duplicate_problems(entries, "policy")
    if problems:
        raise TopicDataError(f"{source}: {len(problems)} problem(s) to fix:\n" + "\n".join(f"- {problem}" for problem in problems))
    return tuple(_topic(entry) for entry in entries)


def load_topics(path: str | Path = TOPICS_FILE) -> tuple[Topic, ...]:
    """Return the checked topics of a support-desk topics file (a JSON list with one object per topic)."""
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise TopicDataError(f"{path} is not valid JSON: {err}") from None
    return validate_topics(entries, source=str(path))


# The file's order is the generator's order: reordering the topics changes every split.
TOPICS: dict[str, Topic] = {topic.name: topic for topic in load_topics()}
POLICIES: dict[str, str] = {topic.policy: topic.category for topic in TOPICS.values()}

