"""Nimbus Devices: a fictional company and a deterministic support-desk dataset.

The course fine-tunes a small model to answer customers in a house style that a
program can check (see helpers/house_style.py, which writes and scores replies).
Every assistant reply has five lines:

    Hello from Nimbus Support!
    Category: BILLING
    <one or two short sentences that answer the request>
    Policy: NB-101
    Best regards, Nimbus Support

Each topic has its own policy code, so getting the policy right means recognising
the topic, not just the category. The topics are data, in
helpers/data_files/support_desk_topics.json, checked when this module is imported.
`build_dataset()` returns train/validation/test splits; test uses different request
wordings, so it measures generalisation.
"""

from __future__ import annotations

import json
import random
import re
import string
from dataclasses import dataclass, fields
from pathlib import Path

from helpers.house_style import CATEGORIES, GREETING, POLICY_CODE, SIGN_OFF, format_reply

COMPANY = "Nimbus Devices"

# Short on purpose: it is part of every training row and the course trains on a CPU.
SYSTEM_PROMPT = (
    "You are the customer-service assistant of Nimbus Devices, a maker of smart-home "
    "products. Answer every customer message in exactly five lines:\n"
    f"{GREETING}\n"
    "Category: <one tag: BILLING, SHIPPING, TECHNICAL, RETURNS or ACCOUNT>\n"
    "<one or two short sentences that answer the request, naming the product or order>\n"
    "Policy: <the policy code for the topic>\n"
    f"{SIGN_OFF}"
)

SPLIT_SIZES = {"train": 1000, "validation": 100, "test": 100}
MULTI_TURN_FRACTION = 0.15


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

# Slot values. The product's full name goes in answers; casual requests use the short one.
PRODUCTS = (
    ("Nimbus Thermostat", "thermostat"),
    ("Nimbus Router", "router"),
    ("Nimbus Camera", "camera"),
    ("Nimbus Doorbell", "doorbell"),
    ("Nimbus Smart Plug", "smart plug"),
)
FIRMWARE = {
    "Nimbus Thermostat": "3.2",
    "Nimbus Router": "5.1",
    "Nimbus Camera": "2.8",
    "Nimbus Doorbell": "1.9",
    "Nimbus Smart Plug": "1.4",
}
NAMES = (
    "Maya", "Liam", "Aisha", "Tom", "Sofia", "Kenji", "Priya", "Lucas", "Fatima", "Noah",
    "Elena", "Omar", "Grace", "Mateo", "Hana", "Jonas", "Zara", "Diego", "Ingrid", "Kwame",
    "Chloe", "Ravi", "Nora", "Pablo",
)
AMOUNTS = ("$19.99", "$24.50", "$49.00", "$59.99", "$89.00", "$99.99", "$129.00", "$149.95")
CITIES = (
    "Leeds", "Austin", "Lyon", "Porto", "Dublin", "Denver", "Utrecht", "Osaka", "Nairobi",
    "Toronto", "Perth", "Bergen",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


@dataclass(frozen=True)
class Wording:
    """A set of request wordings: the topic templates to use plus openers, closers, follow-ups."""

    field: str  # which Topic field holds the request templates
    openers: tuple[str, ...]
    closers: tuple[str, ...]
    timing_questions: tuple[str, ...]
    next_step_questions: tuple[str, ...]


TRAIN_WORDING = Wording(
    field="requests",
    openers=("", "", "Hi! ", "Hello. ", "Good morning. "),
    closers=("", "", " Thanks!", " Thank you.", " Thanks, {name}", " - {name}"),
    timing_questions=(
        "Thanks. How long will that take?",
        "OK, and how long does that usually take?",
        "Great, when can I expect that?",
    ),
    next_step_questions=(
        "Thanks. Do I need to do anything else?",
        "Is there anything else I should do?",
        "OK. Anything I need to do on my side?",
    ),
)

# Different wording everywhere, so the test split measures generalisation, not recall.
TEST_WORDING = Wording(
    field="test_requests",
    openers=("", "", "Hey. ", "Hi there. "),
    closers=("", " Cheers.", " Many thanks, {name}", " ({name})"),
    timing_questions=(
        "cool, how long til that's done?",
        "Thank you. Could you tell me the expected timeframe?",
    ),
    next_step_questions=(
        "ok so anything else i gotta do?",
        "Thank you. Is any further action required from me?",
    ),
)


def draw_slots(rng: random.Random) -> dict[str, str]:
    """Return random slot values (name, product, order number, ...) for one request."""
    name = rng.choice(NAMES)
    product, device = rng.choice(PRODUCTS)
    # Draw every slot every time, so the random stream does not depend on the topic.
    return {
        "name": name,
        "product": product,
        "device": device,
        "version": FIRMWARE[product],
        "order": str(rng.randint(10000, 99999)),
        "amount": rng.choice(AMOUNTS),
        "last4": f"{rng.randint(0, 9999):04d}",
        "city": rng.choice(CITIES),
        "email": f"{name.lower()}{rng.randint(10, 99)}@{rng.choice(EMAIL_DOMAINS)}",
    }


# Read from draw_slots itself, so the slots a template may use cannot drift from the ones the generator fills in.
SLOTS = frozenset(draw_slots(random.Random(0)))


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


def _request_text(topic: Topic, wording: Wording, slots: dict[str, str], rng: random.Random) -> str:
    """Return one user request: an opener, a topic template and a closer, slots filled in."""
    template = rng.choice(getattr(topic, wording.field))
    closers = wording.closers
    if "{name}" in template:
        # "This is Maya. ... - Maya" reads oddly, so sign with a name only once.
        closers = tuple(c for c in closers if "{name}" not in c)
    text = rng.choice(wording.openers) + template + rng.choice(closers)
    return text.format(**slots)


def _make_row(
    row_id: str, topic: Topic, wording: Wording, rng: random.Random, seen: set[str], multi_turn: bool
) -> dict:
    """Return one dataset row whose first request is not in `seen` (and add it there)."""
    for _ in range(1000):
        slots = draw_slots(rng)
        request = _request_text(topic, wording, slots, rng)
        if request not in seen:
            break
    else:  # pragma: no cover - only if the templates lose almost all their slots
        raise RuntimeError(f"could not find a new request for topic {topic.name!r}")
    seen.add(request)

    def reply(answer: str) -> str:
        return format_reply(topic.category, answer.format(**slots), topic.policy)

    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": request},
        {"role": "assistant", "content": reply(topic.answer)},
    ]
    if multi_turn:
        if rng.random() < 0.5:
            question, answer = rng.choice(wording.timing_questions), topic.timing
        else:
            question, answer = rng.choice(wording.next_step_questions), topic.next_step
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": reply(answer)}]
    return {
        "id": row_id,
        "category": topic.category,
        "topic": topic.name,
        "policy": topic.policy,
        "messages": messages,
    }


def _build_split(split: str, size: int, wording: Wording, rng: random.Random, seen: set[str]) -> list[dict]:
    """Return `size` rows with every topic (and so every category) equally often, give or take one."""
    names = list(TOPICS)
    topic_names = [names[i % len(names)] for i in range(size)]
    rng.shuffle(topic_names)
    multi = set(rng.sample(range(size), round(MULTI_TURN_FRACTION * size)))
    return [
        _make_row(f"{split}-{i + 1:04d}", TOPICS[name], wording, rng, seen, multi_turn=i in multi)
        for i, name in enumerate(topic_names)
    ]


def build_dataset(seed: int = 0) -> dict[str, list[dict]]:
    """Return the support-desk splits {"train", "validation", "test"} as lists of rows."""
    rng = random.Random(seed)
    # One shared `seen` set: no validation or test request repeats a train request.
    seen: set[str] = set()
    return {
        "train": _build_split("train", SPLIT_SIZES["train"], TRAIN_WORDING, rng, seen),
        "validation": _build_split("validation", SPLIT_SIZES["validation"], TRAIN_WORDING, rng, seen),
        "test": _build_split("test", SPLIT_SIZES["test"], TEST_WORDING, rng, seen),
    }


def build_raw_qa(seed: int = 0) -> list[dict]:
    """Return ~30 rows with raw question/answer/category/policy columns (no messages yet)."""
    rng = random.Random(seed)
    rows = []
    for topic in TOPICS.values():
        for template in topic.raw_requests:
            slots = draw_slots(rng)
            rows.append(
                {
                    "question": template.format(**slots),
                    "answer": format_reply(topic.category, topic.answer.format(**slots), topic.policy),
                    "category": topic.category,
                    "policy": topic.policy,
                }
            )
    rng.shuffle(rows)
    return rows
