"""The support-desk dataset of Nimbus Devices, a fictional company, generated deterministically.

The course fine-tunes a small model to answer customers in a house style that a
program can check (see helpers/house_style.py, which writes and scores replies).
Every assistant reply has five lines:

    Hello from Nimbus Support!
    Category: BILLING
    <one or two short sentences that answer the request>
    Policy: NB-101
    Best regards, Nimbus Support

Each topic has its own policy code, so getting the policy right means recognising
the topic, not just the category. The topics are data (helpers/topics.py reads
and checks them); the company's facts are in helpers/company.py.
`build_dataset()` returns train/validation/test splits; test uses different request
wordings, so it measures generalisation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from helpers.company import COMPANY, GREETING, SIGN_OFF, draw_slots
from helpers.house_style import format_reply
from helpers.topics import TOPICS, Topic

# Short on purpose: it is part of every training row and the course trains on a CPU.
SYSTEM_PROMPT = (
    f"You are the customer-service assistant of {COMPANY}, a maker of smart-home "
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
