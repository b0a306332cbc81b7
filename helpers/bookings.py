"""The course's second bundled task: turning a guest's message to a restaurant into a booking record, as JSON.

A different job from the support desk: no house style to copy, but four facts to find in a short
message and write in a fixed form, each checked on its own (helpers.task_checks):

    "Table for four, Fri, 7:30pm please. Name: Maya"
    -> {"name": "Maya", "people": 4, "day": "Friday", "time": "19:30"}

Every value is in the message or directly derived from it: the number may be written as a word, the
day shortened, the time in 12-hour or 24-hour form. `build_dataset()` returns train/validation/test
splits; validation uses the training split's templates (new values), test uses templates the
training split never uses, so it measures generalisation to new wordings.
"""

from __future__ import annotations

import json
import random

RESTAURANT = "Casa Lumen"
FIELDS = ("name", "people", "day", "time")  # the record's keys, in this order
SYSTEM_PROMPT = (
    f"You take table bookings for {RESTAURANT}, open from 12:00 to 22:00. Read the guest's message and reply with the booking "
    'as one line of JSON and nothing else: {"name": <the guest\'s name>, "people": <a number>, '
    '"day": <the weekday in full, e.g. "Friday">, "time": <24-hour "HH:MM">}'
)
SPLIT_SIZES = {"train": 600, "validation": 100, "test": 100}

NAMES = (
    "Maya", "Liam", "Aisha", "Tom", "Sofia", "Kenji", "Priya", "Lucas", "Fatima", "Noah",
    "Elena", "Omar", "Grace", "Mateo", "Hana", "Jonas", "Zara", "Diego", "Ingrid", "Kwame",
    "Chloe", "Ravi", "Nora", "Pablo", "Linh", "Minh", "Olga", "Yusuf", "Freya", "Tariq",
    "Amara", "Chen", "Rosa", "Viktor", "Leila", "Sam",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
PEOPLE = range(2, 13)  # a table for 2 to 12
TIMES = [f"{hour:02d}:{minute:02d}" for hour in range(12, 22) for minute in (0, 30)]  # 12:00 to 21:30

# The messages' wordings: {name}, {people}, {day} and {time} are filled in with a value written one of several ways.
TRAIN_TEMPLATES = (
    "Hi, can I book a table for {people} on {day} at {time}? The name is {name}.",
    "Hello! I'd like to reserve a table for {people} people, {day} at {time}. Thanks, {name}",
    "Table for {people}, {day}, {time} please. Name: {name}",
    "This is {name}. Could we get a table for {people} on {day} around {time}?",
    "Do you have room for {people} of us at {time} on {day}? Booking under {name}.",
    "{name} here, booking for {people} guests on {day} at {time}.",
    "Reservation request: {people} people, {day} {time}, name {name}.",
    "Hey, it's {name} - please book us in for {day} at {time}, {people} people.",
    "Could you reserve {people} seats on {day} at {time}? It's for {name}.",
    "Good afternoon, I want to book a meal for {people} on {day}, {time}. My name is {name}.",
    "Any chance of a table at {time} on {day}? We are {people}. Thanks - {name}",
    "Booking for {name}: {people} people on {day} at {time}.",
)
# Different wording everywhere (no phrase of two words or more is shared with the training templates).
TEST_TEMPLATES = (
    "{name} speaking. We're a group of {people} hoping to come by {day} at {time}.",
    "Is anything free {day} at {time}? There will be {people} of us. Regards, {name}",
    "Please hold a spot: {day}, {time}, party of {people}, under {name}.",
    "Good day! {name} would like somewhere to sit for {people} {day} {time} if possible.",
    "We'd love to eat with you {day} - {people} adults, arriving {time}. Cheers, {name}",
    "Put me down for {day} at {time}, {people} guests, the name's {name}.",
    "Hiya, {people} hungry people, {time}, {day}? Ask for {name}.",
    "Dear team, kindly note a reservation of {people} persons for {day} at {time}. Sincerely, {name}",
)


def record_json(record: dict) -> str:
    """Return a booking record as the reply the model learns: one line of JSON, its keys in FIELDS order."""
    return json.dumps({field: record[field] for field in FIELDS}, ensure_ascii=False)


def written_people(people: int, rng: random.Random) -> str:
    """Return a number of people as a guest writes it: digits, or a word."""
    return str(people) if rng.random() < 0.6 else NUMBER_WORDS[people]


def written_day(day: str, rng: random.Random) -> str:
    """Return a weekday as a guest writes it: in full, lower case, or its three-letter short form."""
    return rng.choice((day, day, day.lower(), day[:3]))


def written_time(time: str, rng: random.Random) -> str:
    """Return a 24-hour "HH:MM" as a guest writes it: "7pm", "7:30 pm", "7.30pm", "19:30", "half past 7 in the evening", ..."""
    hour, minute = map(int, time.split(":"))
    twelve = hour - 12 if hour > 12 else hour
    # Every form says which half of the day it means, so the time is in the message, not in the opening hours.
    period = "in the afternoon" if hour < 17 else "in the evening"
    if minute == 0:
        words = "noon" if hour == 12 else f"{twelve} {period}"
        forms = (f"{twelve}pm", f"{twelve} pm", f"{twelve}PM", time, words)
    else:
        forms = (f"{twelve}:{minute:02d}pm", f"{twelve}:{minute:02d} pm", f"{twelve}.{minute:02d}pm", time, f"half past {twelve} {period}")
    return rng.choice(forms)


def draw_record(rng: random.Random) -> dict:
    """Return a random booking: name, people, day and time (24-hour)."""
    return {"name": rng.choice(NAMES), "people": rng.choice(PEOPLE), "day": rng.choice(DAYS), "time": rng.choice(TIMES)}


def message_text(template: str, record: dict, rng: random.Random) -> str:
    """Return a guest's message: the template with the record's values written the ways guests write them."""
    return template.format(
        name=record["name"],
        people=written_people(record["people"], rng),
        day=written_day(record["day"], rng),
        time=written_time(record["time"], rng),
    )


def _build_split(split: str, size: int, templates: tuple[str, ...], rng: random.Random, seen: set[str]) -> list[dict]:
    """Return `size` rows, every template used equally often (give or take one), no message twice across splits."""
    names = [index % len(templates) for index in range(size)]
    rng.shuffle(names)
    prefix = "test" if templates is TEST_TEMPLATES else "train"
    rows = []
    for i, index in enumerate(names):
        for unused in range(1000):
            record = draw_record(rng)
            message = message_text(templates[index], record, rng)
            if message not in seen:
                break
        else:  # pragma: no cover - only if the values ran out
            raise RuntimeError(f"could not find a new message for template {index}")
        seen.add(message)
        rows.append({
            "id": f"{split}-{i + 1:04d}",
            "template": f"{prefix}-{index + 1:02d}",
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": message},
                {"role": "assistant", "content": record_json(record)},
            ],
        })
    return rows


def build_dataset(seed: int = 0) -> dict[str, list[dict]]:
    """Return the booking splits {"train", "validation", "test"} as lists of rows (id, template, messages)."""
    rng = random.Random(seed)
    seen: set[str] = set()  # shared: no validation or test message repeats a training one
    return {
        "train": _build_split("train", SPLIT_SIZES["train"], TRAIN_TEMPLATES, rng, seen),
        "validation": _build_split("validation", SPLIT_SIZES["validation"], TRAIN_TEMPLATES, rng, seen),
        "test": _build_split("test", SPLIT_SIZES["test"], TEST_TEMPLATES, rng, seen),
    }
