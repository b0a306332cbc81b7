"""Write and score replies in the Nimbus Support house style.

`format_reply` writes a reply in the style (the support-desk generator uses it);
`score_reply` checks one. The greeting, sign-off, categories and policy codes are the
company's (helpers/company.py, helpers/topics.py).

Each criterion is a yes/no check, so a score is easy to read: "policy_correct 0.40"
means 40% of replies named the right policy code. The checks forgive whitespace around
the whole reply and trailing spaces on lines, but are otherwise strict on purpose:
they measure whether the model learned the house style, not whether it was close.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from helpers.company import CATEGORIES, GREETING, POLICY_CODE, SIGN_OFF
from helpers.i18n import N_, _, either
from helpers.topics import POLICIES

CRITERIA = (
    N_("greeting"),  # first line is exactly the greeting
    N_("category_line"),  # line 2 is "Category: <one of CATEGORIES>"
    N_("category_correct"),  # ... and it is the expected category
    N_("policy_line"),  # second-to-last line is "Policy: NB-123"
    N_("policy_correct"),  # ... and it is the expected policy code
    N_("sign_off"),  # last line is exactly the sign-off: nothing may follow it
    N_("concise"),  # exactly REPLY_LINES lines, as the guidelines say, and at most MAX_WORDS words
)
FORMAT_CRITERIA = ("greeting", "category_line", "policy_line", "sign_off", "concise")  # copying a pattern
CONTENT_CRITERIA = ("category_correct", "policy_correct")  # understanding the request
REPLY_LINES = 5  # the guidelines' "exactly five lines"
MAX_WORDS = 60

_CATEGORY_LINE = re.compile(r"Category: (" + "|".join(CATEGORIES) + r")")
_POLICY_LINE = re.compile(rf"Policy: ({POLICY_CODE})")


def _unknown_category(category: str) -> str:
    return _("unknown category {category!r}; valid categories are {categories}").format(
        category=category, categories=", ".join(CATEGORIES)
    )


def format_reply(category: str, answer: str, policy: str) -> str:
    """Return a reply in the five-line house style."""
    if category not in CATEGORIES:
        raise ValueError(_unknown_category(category))
    if "\n" in answer:
        raise ValueError(_("the answer must be a single line (one or two short sentences)"))
    return "\n".join([GREETING, f"Category: {category}", answer.strip(), f"Policy: {policy}", SIGN_OFF])


def _lines(reply: str) -> list[str]:
    """Return the reply's lines without surrounding whitespace or trailing spaces."""
    return [line.rstrip() for line in reply.strip().splitlines()]


def score_reply(reply: str, category: str, policy: str) -> dict[str, bool]:
    """Return {criterion: passed} for one reply, given the expected category and policy."""
    if category not in CATEGORIES:
        raise ValueError(_unknown_category(category))
    if policy not in POLICIES:
        raise ValueError(
            _("unknown policy {policy!r}; valid policies are {policies}").format(
                policy=policy, policies=", ".join(sorted(POLICIES))
            )
        )
    if not isinstance(reply, str):
        raise TypeError(
            _("reply must be a str, got {type}; pass only the generated text").format(type=type(reply).__name__)
        )

    lines = _lines(reply)
    category_match = _CATEGORY_LINE.fullmatch(lines[1]) if len(lines) >= 2 else None
    policy_match = _POLICY_LINE.fullmatch(lines[-2]) if len(lines) >= 2 else None
    n_words = len(reply.split())
    return {
        "greeting": bool(lines) and lines[0] == GREETING,
        "category_line": category_match is not None,
        "category_correct": category_match is not None and category_match.group(1) == category,
        "policy_line": policy_match is not None,
        "policy_correct": policy_match is not None and policy_match.group(1) == policy,
        "sign_off": bool(lines) and lines[-1] == SIGN_OFF,
        # An empty reply is short but answers nothing, so it does not count as concise. A reply that
        # runs on past the sign-off (a model that never ends its turn) fails here and on sign_off.
        "concise": len(lines) == REPLY_LINES and 0 < n_words <= MAX_WORDS,
    }


def expected_fields(row: dict) -> tuple[str, str]:
    """Return (category, policy) that a dataset row expects its reply to have."""
    missing = [key for key in ("category", "policy") if key not in row]
    if missing:
        fields = either(map(repr, missing))
        raise ValueError(
            _(
                "row has no {fields} field (it has {keys}); "
                "score_replies needs support-desk rows with 'category' and 'policy'"
            ).format(fields=fields, keys=sorted(row))
        )
    return row["category"], row["policy"]


def criteria_table(replies: Sequence[str], rows: Sequence[dict]) -> pd.DataFrame:
    """Return one row per reply and one True/False column per criterion: which checks each reply passed."""
    if len(replies) != len(rows):
        raise ValueError(
            _("got {replies} replies but {rows} rows; pass one reply per row").format(replies=len(replies), rows=len(rows))
        )
    if len(replies) == 0:
        raise ValueError(_("no replies to score"))
    checks = []
    for i, (reply, row) in enumerate(zip(replies, rows)):
        try:
            checks.append(score_reply(reply, *expected_fields(row)))
        except (ValueError, TypeError) as err:
            raise type(err)(_("reply {index}: {error}").format(index=i, error=err)) from None
    return pd.DataFrame(checks, columns=list(CRITERIA))


def summary_checks(checks: pd.DataFrame) -> pd.DataFrame:
    """Return one row per reply with its two summaries: "format" (every format check passed) and "content" (right category and policy)."""
    return pd.DataFrame({
        N_("format"): checks[list(FORMAT_CRITERIA)].all(axis=1),
        N_("content"): checks[list(CONTENT_CRITERIA)].all(axis=1),
    })


def score_replies(replies: Sequence[str], rows: Sequence[dict]) -> dict[str, float]:
    """Return the share of replies passing each criterion, then "format" and "content" (see summary_checks)."""
    checks = criteria_table(replies, rows)
    return checks.mean().to_dict() | summary_checks(checks).mean().to_dict()


def outcome_table(replies: Sequence[str], rows: Sequence[dict]) -> pd.DataFrame:
    """Return one row per reply with True/False for format, content, category_correct and policy_correct."""
    checks = criteria_table(replies, rows)
    return pd.concat([summary_checks(checks), checks[list(CONTENT_CRITERIA)]], axis=1)


def majority_outcomes(train_rows: Sequence[dict], rows: Sequence[dict]) -> pd.DataFrame:
    """Return, per row, whether always answering the training data's most common category and policy is right."""
    train_rows, rows = list(train_rows), list(rows)
    if not train_rows or not rows:
        raise ValueError(_("a majority baseline needs training rows (to count) and rows to score"))
    category = pd.Series([row["category"] for row in train_rows]).mode()[0]
    policy = pd.Series([row["policy"] for row in train_rows]).mode()[0]
    expected = pd.DataFrame([expected_fields(row) for row in rows], columns=["category", "policy"])
    right = pd.DataFrame({"category_correct": expected["category"] == category, "policy_correct": expected["policy"] == policy})
    return right.assign(content=right.all(axis=1))


def majority_baseline(train_rows: Sequence[dict], rows: Sequence[dict]) -> dict[str, float]:
    """Return the content scores on `rows` of always answering the training data's most common category and policy."""
    return majority_outcomes(train_rows, rows).mean().to_dict()


def score_table(scores: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Return one column per model (or baseline) and one row per criterion, format first, then content; blank where not scored."""
    rows = [*FORMAT_CRITERIA, "format", *CONTENT_CRITERIA, "content"]
    table = pd.DataFrame({name: [column.get(row) for row in rows] for name, column in scores.items()}, index=rows)
    summaries = {"format": N_("format (all five)"), "content": N_("content (both)")}
    table.index = [summaries.get(row, row) for row in rows]
    return table.map(lambda value: "" if pd.isna(value) else f"{value:.2f}")
