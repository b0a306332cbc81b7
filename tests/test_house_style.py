"""Tests for the house-style scorer."""

import pytest

from helpers.company import GREETING, SIGN_OFF
from helpers.house_style import (
    CRITERIA,
    MAX_WORDS,
    expected_fields,
    format_reply,
    majority_baseline,
    outcome_table,
    score_replies,
    score_reply,
    score_table,
)
from helpers.support_desk import build_dataset, build_raw_qa

GOOD = format_reply("BILLING", "We refunded the duplicate charge for order #48213.", "NB-101")


def failed(reply, category="BILLING", policy="NB-101"):
    """Names of the criteria the reply fails."""
    return {name for name, ok in score_reply(reply, category, policy).items() if not ok}


def test_format_reply_has_five_lines():
    reply = format_reply("BILLING", "We refunded it. ", "NB-101")
    assert reply.split("\n") == [GREETING, "Category: BILLING", "We refunded it.", "Policy: NB-101", SIGN_OFF]
    with pytest.raises(ValueError, match="BILLING"):
        format_reply("billing", "We refunded it.", "NB-101")
    with pytest.raises(ValueError, match="single line"):
        format_reply("BILLING", "We refunded it.\nAnything else?", "NB-101")


def test_criteria_order():
    assert CRITERIA == (
        "greeting", "category_line", "category_correct", "policy_line", "policy_correct", "sign_off", "concise",
    )


def test_every_reply_in_the_data_passes():
    for rows in build_dataset().values():
        for row in rows:
            for message in row["messages"]:
                if message["role"] == "assistant":
                    assert failed(message["content"], row["category"], row["policy"]) == set(), row["id"]
        last_replies = [row["messages"][-1]["content"] for row in rows]
        scores = score_replies(last_replies, rows)
        assert scores == {**dict.fromkeys(CRITERIA, 1.0), "format": 1.0, "content": 1.0}
    raw = build_raw_qa()
    assert set(score_replies([row["answer"] for row in raw], raw).values()) == {1.0}


def test_good_reply_passes_and_whitespace_is_forgiven():
    assert failed(GOOD) == set()
    assert failed("\n  " + GOOD.replace("\n", "  \n") + "  \n\n") == set()
    assert failed(GOOD.replace("\n", "\r\n")) == set()


def test_missing_greeting():
    assert failed(GOOD.replace(GREETING + "\n", "")) >= {"greeting", "category_line", "category_correct"}
    assert failed(GOOD.replace(GREETING, "Hi from Nimbus Support!")) == {"greeting"}


def test_wrong_policy_and_category():
    assert failed(GOOD, policy="NB-102") == {"policy_correct"}
    assert failed(GOOD, category="SHIPPING", policy="NB-101") == {"category_correct"}
    assert failed(GOOD.replace("Policy: NB-101", "Policy: NB101")) == {"policy_line", "policy_correct"}
    # Strict: lower-case tags and invented categories are not the house style.
    assert failed(GOOD.replace("BILLING", "billing")) == {"category_line", "category_correct"}
    assert failed(GOOD.replace("BILLING", "PAYMENTS")) == {"category_line", "category_correct"}


def test_lines_in_the_wrong_place():
    assert failed(GOOD.replace(SIGN_OFF, "Best regards,\nNimbus Support")) >= {"sign_off", "policy_line"}
    assert "category_line" in failed(GOOD.replace(GREETING + "\n", GREETING + "\n\n"))


def test_chatty_reply_fails_almost_everything():
    chatty = (
        "Hello! I'm sorry to hear that you were charged twice. As an AI assistant I don't have access "
        "to your account, but here are some steps you can take:\n\n1. Check your bank statement.\n"
        "2. Contact your bank to dispute the charge.\n3. Reach out to the company's billing team with "
        "your order number.\n\nI hope this helps! Let me know if you have any other questions."
    )
    assert len(chatty.split()) > MAX_WORDS
    assert failed(chatty) == set(CRITERIA)


def test_empty_reply_fails_everything():
    assert failed("") == set(CRITERIA)
    assert failed("   \n ") == set(CRITERIA)


def test_long_reply_is_not_concise():
    long_reply = format_reply("BILLING", " ".join(["word"] * MAX_WORDS), "NB-101")
    assert failed(long_reply) == {"concise"}


def test_a_reply_that_runs_past_the_sign_off_fails():
    # What a base model fine-tuned without a stop at <|im_end|> writes: its reply, then a made-up next turn.
    run_on = GOOD + "\nuser\nTom here. Is your doorbell on the new version?\nassistant\nHello from Nimb"
    assert len(run_on.split()) <= MAX_WORDS  # short enough to pass a word count alone
    assert failed(run_on) == {"policy_line", "policy_correct", "sign_off", "concise"}


def test_a_reply_of_more_or_fewer_lines_than_five_is_not_concise():
    assert failed(GOOD.replace("\nPolicy", " More words.\nPolicy")) == set()
    assert "concise" in failed(GOOD.replace("\nPolicy", "\nA sixth line.\nPolicy"))


def test_score_replies_means():
    rows = [{"category": "BILLING", "policy": "NB-101"}] * 4
    replies = [GOOD, GOOD, GOOD.replace("NB-101", "NB-102"), "Sure, happy to help!"]
    scores = score_replies(replies, rows)
    assert list(scores) == [*CRITERIA, "format", "content"]
    assert scores["greeting"] == 0.75
    assert scores["policy_line"] == 0.75
    assert scores["policy_correct"] == 0.5
    assert scores["concise"] == 0.75  # one line is short, but not the house style's five
    assert scores["format"] == 0.75  # every format check passed: the three replies in the house style
    assert scores["content"] == 0.5  # right category and right policy


def test_format_fails_on_one_format_check_and_content_on_one_content_check():
    rows = [{"category": "BILLING", "policy": "NB-101"}] * 2
    no_sign_off = GOOD.replace(SIGN_OFF, "Cheers")
    wrong_category = GOOD.replace("BILLING", "SHIPPING")
    scores = score_replies([no_sign_off, wrong_category], rows)
    assert scores["format"] == 0.5
    assert scores["content"] == 0.5


def test_majority_baseline_answers_the_most_common_category_and_policy():
    train = [{"category": "BILLING", "policy": "NB-101"}] * 3 + [{"category": "SHIPPING", "policy": "NB-202"}] * 2
    rows = [{"category": "BILLING", "policy": "NB-102"}, {"category": "BILLING", "policy": "NB-101"},
            {"category": "RETURNS", "policy": "NB-401"}, {"category": "SHIPPING", "policy": "NB-202"}]
    assert majority_baseline(train, rows) == {"category_correct": 0.5, "policy_correct": 0.25, "content": 0.25}


def test_majority_baseline_on_the_balanced_data_is_near_chance():
    splits = build_dataset()
    baseline = majority_baseline(splits["train"], splits["validation"])
    assert baseline["category_correct"] == pytest.approx(1 / 5, abs=0.05)
    assert baseline["policy_correct"] == pytest.approx(1 / 15, abs=0.05)


def test_friendly_errors():
    with pytest.raises(ValueError, match="unknown category 'Billing'.*BILLING, SHIPPING"):
        score_reply(GOOD, "Billing", "NB-101")
    with pytest.raises(ValueError, match="unknown policy 'NB-999'"):
        score_reply(GOOD, "BILLING", "NB-999")
    with pytest.raises(TypeError, match="must be a str"):
        score_reply([{"role": "assistant", "content": GOOD}], "BILLING", "NB-101")
    with pytest.raises(ValueError, match="3 replies but 2 rows"):
        score_replies([GOOD] * 3, [{"category": "BILLING", "policy": "NB-101"}] * 2)
    with pytest.raises(ValueError, match="no replies"):
        score_replies([], [])
    with pytest.raises(ValueError, match="reply 1: row has no 'policy'"):
        score_replies([GOOD, GOOD], [{"category": "BILLING", "policy": "NB-101"}, {"category": "BILLING"}])


def test_expected_fields():
    assert expected_fields({"category": "RETURNS", "policy": "NB-401", "id": "x"}) == ("RETURNS", "NB-401")


def test_score_table_puts_format_first_and_leaves_blanks_for_a_baseline():
    rows = [{"category": "BILLING", "policy": "NB-101"}] * 2
    model = score_replies([GOOD, "Sure!"], rows)
    table = score_table({"baseline": majority_baseline(rows, rows), "model": model})
    assert list(table.index) == [
        "greeting", "category_line", "policy_line", "sign_off", "concise", "format (all five)",
        "category_correct", "policy_correct", "content (both)",
    ]
    assert table.loc["greeting", "baseline"] == ""  # a baseline without a model writes no reply
    assert table.loc["content (both)", "baseline"] == "1.00"
    assert table.loc["format (all five)", "model"] == "0.50"


def test_outcome_table_is_one_row_per_reply():
    rows = [{"category": "BILLING", "policy": "NB-101"}] * 2
    outcomes = outcome_table([GOOD, GOOD.replace("NB-101", "NB-102")], rows)
    assert outcomes.to_dict("list") == {
        "format": [True, True], "content": [True, False], "category_correct": [True, True], "policy_correct": [True, False],
    }


def test_a_message_comes_out_in_vietnamese_in_the_vietnamese_notebooks(vietnamese):
    with pytest.raises(ValueError) as english:
        score_reply(GREETING, "FOOD", "NB-101")
    assert str(english.value) == "unknown category 'FOOD'; valid categories are BILLING, SHIPPING, TECHNICAL, RETURNS, ACCOUNT"
    vietnamese.on()
    with pytest.raises(ValueError) as translated:
        score_reply(GREETING, "FOOD", "NB-101")
    expected = vietnamese("unknown category {category!r}; valid categories are {categories}").format(
        category="FOOD", categories="BILLING, SHIPPING, TECHNICAL, RETURNS, ACCOUNT"
    )
    assert str(translated.value) == expected != str(english.value)
