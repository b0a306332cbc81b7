"""Load the course data sets and check that conversations are well formed.

The support-desk data is committed as JSONL and read with plain `json`, so loading it
needs no network and no Hugging Face cache. Positions in error messages count from 0,
like Python indexing: "row 17: message 2" is dataset[17]["messages"][2].
"""

from __future__ import annotations

import json
from pathlib import Path

import datasets

from helpers.environment import offline_reason
from helpers.i18n import N_, _

# Found next to this file, so it works from any working directory and after `pip install -e .`.
DATA_DIR = Path(__file__).resolve().parent / "data_files"
SUPPORT_DESK_DIR = DATA_DIR / "support_desk"
BOOKINGS_DIR = DATA_DIR / "bookings"  # the second task: a guest's message to a restaurant -> a JSON booking (helpers.bookings)
SPLITS = ("train", "validation", "test")
ROLES = ("system", "user", "assistant")
# The general-knowledge quiz's subjects (its rows name them), shown in the learner's language where a figure shows them.
QUIZ_SUBJECTS = (N_("everyday"), N_("geography"), N_("history"), N_("language"), N_("maths"), N_("science"))


def read_jsonl(path: str | Path) -> list[dict]:
    """Return the rows of a JSONL file (one JSON object per line) as a list of dicts."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(rows: list[dict], path: str | Path) -> Path:
    """Write rows as UTF-8 JSONL, one object per line, and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def _load_splits(folder: Path, split: str | None) -> datasets.Dataset | datasets.DatasetDict:
    """Return one split of a bundled data set (a folder of train/validation/test JSONL files), or all three."""
    if split is None:
        return datasets.DatasetDict({name: _load_splits(folder, name) for name in SPLITS})
    if split not in SPLITS:
        raise ValueError(
            _("unknown split {split!r}; valid splits are {splits} (or None for all)").format(
                split=split, splits=", ".join(SPLITS)
            )
        )
    return datasets.Dataset.from_list(read_jsonl(folder / f"{split}.jsonl"))


def load_support_desk(split: str | None = None) -> datasets.Dataset | datasets.DatasetDict:
    """Return one split of the Nimbus support-desk data, or all three as a DatasetDict."""
    return _load_splits(SUPPORT_DESK_DIR, split)


def load_bookings(split: str | None = None) -> datasets.Dataset | datasets.DatasetDict:
    """Return one split of the restaurant-booking data (columns id, template, messages), or all three as a DatasetDict."""
    return _load_splits(BOOKINGS_DIR, split)


def without_system_prompt(row: dict) -> dict:
    """Return the row's messages without the system prompt: a fine-tuned model learns the guidelines from examples."""
    return {"messages": [message for message in row["messages"] if message["role"] != "system"]}


def load_realistic_messages() -> datasets.Dataset:
    """Return customer messages written unlike the support-desk data (longer, with context and typos), each with its category and policy."""
    # Hand-written, 3 per topic, to test generalisation beyond the generator's wordings: no reference replies,
    # so each row's messages are the prompt alone.
    return datasets.Dataset.from_list(read_jsonl(DATA_DIR / "support_desk_realistic.jsonl"))


def load_raw_qa() -> datasets.Dataset:
    """Return the small raw question/answer table (columns question, answer, category, policy)."""
    return datasets.Dataset.from_list(read_jsonl(DATA_DIR / "raw_qa.jsonl"))


def load_general_knowledge() -> datasets.Dataset:
    """Return the course's multiple-choice questions (columns id, subject, question, choices, answer)."""
    rows = read_jsonl(DATA_DIR / "general_knowledge.jsonl")
    validate_multiple_choice(rows)
    return datasets.Dataset.from_list(rows)


def validate_multiple_choice(rows: list[dict], n_choices: int = 4) -> None:
    """Return None if every row is a well-formed multiple-choice question; raise ValueError naming the first bad row."""
    seen = set()
    for i, row in enumerate(rows):
        where = f"row {i} (id {row.get('id')!r})" if isinstance(row, dict) else f"row {i}"
        if not isinstance(row, dict):
            raise ValueError(f"{where}: expected a dict, got {type(row).__name__}")
        missing = [key for key in ("id", "subject", "question", "choices", "answer") if key not in row]
        if missing:
            raise ValueError(f"{where}: missing {', '.join(repr(k) for k in missing)} (it has {sorted(row)})")
        if row["id"] in seen:
            raise ValueError(f"{where}: the id is used twice; every question needs its own id")
        seen.add(row["id"])
        if not isinstance(row["question"], str) or not row["question"].strip():
            raise ValueError(f"{where}: the question must be non-empty text")
        choices = row["choices"]
        if not isinstance(choices, list) or len(choices) != n_choices:
            count = len(choices) if isinstance(choices, list) else type(choices).__name__
            raise ValueError(f"{where}: expected a list of {n_choices} choices, got {count}")
        if not all(isinstance(choice, str) and choice.strip() for choice in choices):
            raise ValueError(f"{where}: every choice must be non-empty text, got {choices}")
        if len(set(choices)) != len(choices):
            raise ValueError(f"{where}: two choices are the same, got {choices}")
        # bool is an int in Python, but answer=True is a mistake, not the index 1.
        if not isinstance(row["answer"], int) or isinstance(row["answer"], bool) or not 0 <= row["answer"] < n_choices:
            raise ValueError(
                f"{where}: answer must be the index of the right choice, 0 to {n_choices - 1}, got {row['answer']!r}"
            )


def load_smoltalk(subset: str = "everyday-conversations", split: str = "train") -> datasets.Dataset:
    """Return a SmolTalk subset downloaded from the Hugging Face Hub (needs the network)."""
    reason = offline_reason()
    if reason:
        raise RuntimeError(
            _(
                "load_smoltalk needs the Hugging Face Hub, but the course is offline ({reason}). "
                "Use load_support_desk() for the offline data set, or go online (unset HF_HUB_OFFLINE) "
                "and restart the kernel to download SmolTalk."
            ).format(reason=reason)
        )
    return datasets.load_dataset("HuggingFaceTB/smoltalk", subset, split=split)


class ConversationError(ValueError):
    """A conversation (list of chat messages) that is not fit for training."""


def _where(i: int, message: dict) -> str:
    """Return 'message i (role 'x')' for error messages."""
    return _("message {index} (role {role!r})").format(index=i, role=message["role"])


def validate_conversation(messages: list[dict]) -> None:
    """Return None if `messages` is a valid chat; raise ConversationError saying what is wrong."""
    if not isinstance(messages, list):
        raise ConversationError(
            _("expected a list of messages (dicts with 'role' and 'content'), got {type}").format(
                type=type(messages).__name__
            )
        )
    if not messages:
        raise ConversationError(_("the conversation is empty; it needs at least a user turn and an assistant turn"))

    expected = "user"  # after an optional system message, turns go user, assistant, user, ...
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ConversationError(
                _("message {index} is a {type}, not a dict with 'role' and 'content'").format(
                    index=i, type=type(message).__name__
                )
            )
        for key in ("role", "content"):
            if key not in message:
                raise ConversationError(
                    _("message {index} has no {key!r} key (it has {keys})").format(
                        index=i, key=key, keys=sorted(message)
                    )
                )
        role, content = message["role"], message["content"]
        if role not in ROLES:
            raise ConversationError(
                _("message {index} has unknown role {role!r}; allowed roles are 'system', 'user' and 'assistant'").format(
                    index=i, role=role
                )
            )
        if role == "system":
            if i != 0:
                raise ConversationError(
                    _("{where}: a system message may only come first").format(where=_where(i, message))
                )
        elif role != expected and i > 0 and messages[i - 1].get("role") == role:
            raise ConversationError(
                _(
                    "{where}: expected role {expected!r} here, but this is the second {role!r} turn in a row; "
                    "merge the two turns into one, or put the {expected!r} turn that belongs between them"
                ).format(where=_where(i, message), expected=expected, role=role)
            )
        elif role != expected:
            raise ConversationError(
                _(
                    "{where}: expected role {expected!r} here; user and assistant turns "
                    "must alternate, starting with user (after an optional system message)"
                ).format(where=_where(i, message), expected=expected)
            )
        else:
            expected = "assistant" if role == "user" else "user"
        if not isinstance(content, str):
            if content is None:
                problem = _("{where}: content is None, expected a str (plain text)")
            else:
                problem = _("{where}: content has type {type}, expected a str (plain text)")
            raise ConversationError(problem.format(where=_where(i, message), type=type(content).__name__))
        if not content.strip():
            raise ConversationError(
                _("{where}: content is empty; every turn needs some text").format(where=_where(i, message))
            )

    if not any(message["role"] == "assistant" for message in messages):
        raise ConversationError(_("the conversation has no assistant turn, so there is nothing to learn from"))


def validate_dataset(dataset: datasets.Dataset | list[dict], column: str = "messages") -> None:
    """Return None if every row's `column` is a valid conversation; raise ConversationError otherwise."""
    if isinstance(dataset, datasets.DatasetDict):
        raise TypeError(
            _("got a DatasetDict with splits {splits}; validate one split, e.g. validate_dataset(ds['train'])").format(
                splits=list(dataset)
            )
        )
    if isinstance(dataset, datasets.Dataset):
        columns = dataset.column_names
    elif isinstance(dataset, list):
        columns = sorted({key for row in dataset if isinstance(row, dict) for key in row})
    else:
        raise TypeError(
            _("expected a datasets.Dataset or a list of dicts, got {type}").format(type=type(dataset).__name__)
        )

    if column not in columns:
        raise ConversationError(
            _(
                "no {column!r} column; the data has columns {columns}. If your rows have question/answer "
                "columns, convert each row first, e.g. {example}"
            ).format(
                column=column,
                columns=columns,
                example="messages = [{'role': 'user', 'content': question}, {'role': 'assistant', 'content': answer}]",
            )
        )
    rows = dataset[column] if isinstance(dataset, datasets.Dataset) else dataset
    for i, row in enumerate(rows):
        if isinstance(dataset, list):
            if not isinstance(row, dict) or column not in row:
                raise ConversationError(_("row {index}: expected a dict with a {column!r} key").format(index=i, column=column))
            row = row[column]
        try:
            validate_conversation(row)
        except ConversationError as err:
            raise ConversationError(_("row {index}: {error}").format(index=i, error=err)) from None
