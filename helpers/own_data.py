"""The learner's own data: read a file (or a Hub dataset), map its columns to `messages`, check every row, split it.

Each step stops with an error that names the row and says how to fix it; nothing is dropped silently.
A row read from a file carries where it came from ("origin": "bookings.csv line 7", counting lines
from 1 as an editor does; "row 7" for rows given as a list or a Hub dataset, counting from 0 as
Python does), and every later error names it.

    rows = read_rows("my_data.csv")             # or load_hub_rows("HuggingFaceTB/smoltalk", "everyday-conversations")
    conversations = to_messages(rows)           # question/answer, instruction/input/output, prompt/completion, messages
    validate_rows(conversations)                # every row a conversation that ends with the reply to learn
    splits = split_rows(conversations)          # train/validation/test, a fixed seed, no prompt in two splits
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Sequence
from pathlib import Path

import datasets

from helpers.data import ConversationError, validate_conversation
from helpers.environment import offline_reason
from helpers.i18n import _

ORIGIN = "origin"  # the column that says where a row came from
# The shapes to_messages recognises, by their columns: (user turn, assistant turn); messages is kept as it is.
SHAPES = {
    "messages": ("messages",),
    "prompt/completion": ("prompt", "completion"),
    "instruction/input/output": ("instruction", "output"),
    "question/answer": ("question", "answer"),
}
SUFFIXES = (".jsonl", ".json", ".csv")
SHOWN_OTHERS = 5  # how many more bad rows an error lists by name


class DataError(ConversationError):
    """Data that cannot be trained on as it is: the message names the row (its origin) and the fix."""


def _fix() -> str:
    """Return the advice every error about a row ends with."""
    return _("Fix that row in your data (or remove it) and load it again.")


def _origin(row: object, index: int) -> str:
    """Return where a row came from: its origin column, or "row <index>"."""
    return (row.get(ORIGIN) if isinstance(row, dict) else None) or _("row {index}").format(index=index)


def _decoded(path: Path) -> str:
    """Return a file's text, read as UTF-8 (a byte-order mark allowed); raise DataError naming the first line that is not."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(
            _(
                "{file} line {line} is not UTF-8 text (byte {byte} cannot be read). Save the file as UTF-8 "
                "(a spreadsheet's 'CSV UTF-8', an editor's 'Save with encoding: UTF-8') and load it again."
            ).format(file=path.name, line=line, byte=f"0x{raw[err.start]:02x}")
        ) from None


def _checked(row: object, where: str) -> dict:
    """Return a row read from a file with its origin added; raise DataError where it is not an object of named fields."""
    if not isinstance(row, dict):
        raise DataError(
            _("{where} holds a {type}, not a JSON object; each row must be one object with named fields, e.g. {example}").format(
                where=where, type=type(row).__name__, example='{"question": "...", "answer": "..."}'
            )
        )
    if ORIGIN in row:
        raise DataError(
            _("{where} has a field named {origin!r}, which the course uses to say where each row came from; rename that field").format(
                where=where, origin=ORIGIN
            )
        )
    return {**row, ORIGIN: where}


def _json_lines(text: str, name: str) -> list[dict]:
    """Return the rows of JSON Lines text (blank lines are not rows), each with its origin; raise DataError at a bad line."""
    rows = []
    # Split at "\n" only: str.splitlines() would also split at characters a JSON string may hold (U+2028, ...).
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = _("{file} line {line}").format(file=name, line=number)
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(
                _("{where} is not valid JSON ({error}, column {column}); each line must hold one JSON object, e.g. {example}").format(
                    where=where, error=err.msg, column=err.colno, example='{"question": "...", "answer": "..."}'
                )
            ) from None
        rows.append(_checked(row, where))
    return rows


def _csv_rows(text: str, name: str) -> list[dict]:
    """Return the rows of CSV text (a header row first), each with its origin; raise DataError at a row of the wrong width."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    if len(set(header)) != len(header) or not all(column.strip() for column in header):
        raise DataError(
            _("{file} line 1, the header, has an empty or repeated column name ({header}); give every column its own name").format(
                file=name, header=header
            )
        )
    rows = []
    for row in reader:
        where = _("{file} line {line}").format(file=name, line=reader.line_num)
        if None in row:
            raise DataError(
                _(
                    "{where} has {fields} fields, more than the header's {columns}: a text with a comma in it needs "
                    'double quotes around it ("Hello, world")'
                ).format(where=where, fields=len(header) + len(row[None]), columns=len(header))
            )
        missing = [column for column, value in row.items() if value is None]
        if missing:
            raise DataError(
                _("{where} has fewer fields than the header's {columns}: nothing for {missing}; fill them in or remove the row").format(
                    where=where, columns=len(header), missing=missing
                )
            )
        rows.append(_checked(row, where))
    return rows


def read_rows(path: str | Path) -> list[dict]:
    """Return the rows of a local JSON Lines (.jsonl, .json) or CSV (.csv) file, each with its origin ("file line N")."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise DataError(
            _(
                "cannot read {suffix!r} files; save your data as JSON Lines (.jsonl: one JSON object a line) "
                "or CSV (.csv: a header row, then one row a line)"
            ).format(suffix=path.suffix or path.name)
        )
    if not path.is_file():
        raise FileNotFoundError(
            _("no file {path} (looked from {folder}); check the name, or give the full path").format(path=path, folder=Path.cwd())
        )
    text = _decoded(path)
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(text, path.name)
    elif path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        items = json.loads(text)
        rows = [_checked(item, _("{file} item {index}").format(file=path.name, index=i)) for i, item in enumerate(items)]
    else:
        rows = _json_lines(text, path.name)
    if not rows:
        raise DataError(_("{file} holds no rows; put one example a line (after the header row, in a CSV file)").format(file=path.name))
    return rows


def load_hub_rows(dataset_id: str, subset: str | None = None, split: str = "train", limit: int | None = None) -> list[dict]:
    """Return the rows of a Hugging Face Hub dataset (needs the network), the first `limit` only if given, each with its origin."""
    reason = offline_reason()
    if reason:
        raise RuntimeError(
            _(
                "load_hub_rows needs the Hugging Face Hub, but the course is offline ({reason}). Save the rows as a "
                "JSON Lines or CSV file and read it with read_rows, or go online (unset HF_HUB_OFFLINE) and restart the kernel."
            ).format(reason=reason)
        )
    try:
        dataset = datasets.load_dataset(dataset_id, subset, split=split)
    except datasets.exceptions.DatasetNotFoundError:
        raise DataError(
            _("no dataset {dataset!r} on the Hugging Face Hub (or it is private: log in first); check its id, e.g. {example}").format(
                dataset=dataset_id, example="'HuggingFaceTB/smoltalk'"
            )
        ) from None
    if limit is not None:
        dataset = dataset.select(range(min(limit, len(dataset))))
    return [_checked(row, _("{dataset} row {index}").format(dataset=dataset_id, index=i)) for i, row in enumerate(dataset)]


def _shape(columns: Sequence[str], user: str | None, assistant: str | None) -> tuple[str, tuple[str, ...]]:
    """Return the shape of rows with these columns and the columns it reads; raise DataError where none fits."""
    if user or assistant:
        if not (user and assistant):
            raise DataError(_("name both columns: to_messages(rows, user='...', assistant='...')"))
        missing = [column for column in (user, assistant) if column not in columns]
        if missing:
            shown = sorted(column for column in columns if column != ORIGIN)
            raise DataError(_("no column {missing} in the rows; they have {columns}").format(missing=missing, columns=shown))
        return "columns", (user, assistant)
    for shape, needed in SHAPES.items():
        if all(column in columns for column in needed):
            return shape, needed
    known = "; ".join(" + ".join(needed) for needed in SHAPES.values())
    raise DataError(
        _(
            "the rows have the columns {columns}, which is none of the shapes the course knows ({known}). "
            "Name the columns to use: to_messages(rows, user='your question column', assistant='your answer column')"
        ).format(columns=sorted(column for column in columns if column != ORIGIN), known=known)
    )


def _text(row: dict, column: str, where: str) -> str:
    """Return a row's column as a turn's text (JSON for a number, list or object); raise DataError where it is missing or empty."""
    value = row.get(column)
    text = value if isinstance(value, str) else "" if value is None else json.dumps(value, ensure_ascii=False)
    if not text.strip():
        raise DataError(
            _("{where}: the {column!r} column is empty; every row needs it to make a conversation. {fix}").format(
                where=where, column=column, fix=_fix()
            )
        )
    return text


def _conversation(row: dict, shape: str, columns: tuple[str, ...], where: str) -> list:
    """Return a row's conversation in the given shape (not yet validated)."""
    if shape == "messages":
        messages = row.get("messages")
        if isinstance(messages, str):  # a CSV cell, or a JSON string: the list written as text
            try:
                messages = json.loads(messages)
            except json.JSONDecodeError:
                raise DataError(
                    _("{where}: the 'messages' text is not a JSON list of messages ({text!r}). {fix}").format(
                        where=where, text=messages[:60], fix=_fix()
                    )
                ) from None
        return messages
    if shape == "prompt/completion" and isinstance(row.get("prompt"), list) and isinstance(row.get("completion"), list):
        return [*row["prompt"], *row["completion"]]  # TRL's conversational prompt/completion: two lists of messages
    if shape == "instruction/input/output":
        request = _text(row, "instruction", where)
        extra = row.get("input")
        if isinstance(extra, str) and extra.strip():
            request = f"{request}\n\n{extra}"
        return [{"role": "user", "content": request}, {"role": "assistant", "content": _text(row, "output", where)}]
    user, assistant = columns
    return [{"role": "user", "content": _text(row, user, where)}, {"role": "assistant", "content": _text(row, assistant, where)}]


def to_messages(
    rows: Sequence[dict] | datasets.Dataset, user: str | None = None, assistant: str | None = None, system_prompt: str | None = None
) -> list[dict]:
    """Return each row as {"messages": [...], "origin": ...}, from its shape's columns (or the user/assistant columns named).

    A system prompt, where given, goes first in every conversation that has none.
    """
    rows = rows.to_list() if isinstance(rows, datasets.Dataset) else list(rows)
    if not rows:
        raise DataError(_("no rows to convert"))
    columns = list(dict.fromkeys(column for row in rows if isinstance(row, dict) for column in row))
    shape, needed = _shape(columns, user, assistant)
    converted = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise DataError(_("row {index} is a {type}, not a dict of columns").format(index=i, type=type(row).__name__))
        where = _origin(row, i)
        missing = [column for column in needed if column not in row]
        if missing:
            raise DataError(
                _("{where} has no {missing} (it has {columns}); every row needs the columns of its shape, {shape}. {fix}").format(
                    where=where, missing=missing, columns=sorted(column for column in row if column != ORIGIN), shape=shape, fix=_fix()
                )
            )
        messages = _conversation(row, shape, needed, where)
        has_system = isinstance(messages, list) and messages and isinstance(messages[0], dict) and messages[0].get("role") == "system"
        if system_prompt and isinstance(messages, list) and not has_system:
            messages = [{"role": "system", "content": system_prompt}, *messages]
        converted.append({"messages": messages, ORIGIN: where})
    return converted


def row_problem(row: dict) -> str | None:
    """Return what keeps one row from being a training conversation (validate_conversation's message), or None if it is fine."""
    if not isinstance(row, dict) or "messages" not in row:
        return _("expected a dict with a 'messages' key; convert the rows first with to_messages")
    try:
        validate_conversation(row["messages"])
    except ConversationError as err:
        return str(err)
    if row["messages"][-1]["role"] != "assistant":
        return _("the conversation ends with a user turn; its last turn must be the reply to learn (add it, or remove that turn)")
    return None


def validate_rows(rows: Sequence[dict] | datasets.Dataset) -> None:
    """Return None if every row is a conversation that ends with the assistant's reply; raise DataError naming every bad row."""
    rows = rows.to_list() if isinstance(rows, datasets.Dataset) else list(rows)
    if not rows:
        raise DataError(_("no rows to check"))
    problems = [(_origin(row, i), problem) for i, row in enumerate(rows) if (problem := row_problem(row))]
    if not problems:
        return
    (where, problem), others = problems[0], problems[1:]
    message = _("{where}: {problem}. {fix}").format(where=where, problem=problem.rstrip("."), fix=_fix())
    if others:
        shown = ", ".join(where for where, unused in others[:SHOWN_OTHERS]) + (", ..." if len(others) > SHOWN_OTHERS else "")
        message += " " + _("{count} more rows have problems too: {rows}.").format(count=len(others), rows=shown)
    raise DataError(message)


def prompt_key(row: dict) -> str:
    """Return what identifies a row's prompt: every turn before its final reply, system prompt aside, spaces and case ignored."""
    turns = [message["content"] for message in row["messages"][:-1] if message["role"] != "system"]
    return "\n".join(" ".join(turn.split()).casefold() for turn in turns)


def _count(size: int | float, total: int, name: str) -> int:
    """Return how many rows a split gets: a count as it is, a fraction of the total (at least one row where above 0)."""
    if isinstance(size, bool) or not isinstance(size, (int, float)) or size < 0 or (isinstance(size, float) and size >= 1):
        raise ValueError(
            _("{name} must be a number of rows (e.g. 100) or a fraction below 1 (e.g. 0.1), got {size!r}").format(name=name, size=size)
        )
    return size if isinstance(size, int) else max(1, round(size * total)) if size > 0 else 0


def split_rows(
    rows: Sequence[dict] | datasets.Dataset, validation: int | float = 0.1, test: int | float = 0.1, seed: int = 42
) -> datasets.DatasetDict:
    """Return train/validation/test splits (a number of rows or a fraction each), shuffled with the seed; a prompt's rows share a split.

    A split of size 0 is left out. The held-out splits may get a row or two more than asked, as a prompt's rows stay together.
    """
    rows = rows.to_list() if isinstance(rows, datasets.Dataset) else list(rows)
    validate_rows(rows)
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(prompt_key(row), []).append(row)
    order = list(groups.values())
    random.Random(seed).shuffle(order)
    wanted = {"test": _count(test, len(rows), "test"), "validation": _count(validation, len(rows), "validation")}
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for group in order:
        name = next((name for name, size in wanted.items() if len(splits[name]) < size), "train")
        splits[name] += group
    if not splits["train"] or any(len(splits[name]) < size for name, size in wanted.items()):
        raise DataError(
            _(
                "{rows} rows ({prompts} different prompts) are too few for {validation} validation and {test} test rows "
                "and some to train on; add rows, or ask for smaller splits"
            ).format(rows=len(rows), prompts=len(groups), validation=wanted["validation"], test=wanted["test"])
        )
    return datasets.DatasetDict({name: datasets.Dataset.from_list(split) for name, split in splits.items() if split})
