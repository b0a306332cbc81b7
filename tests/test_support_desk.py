"""Tests for the Nimbus support-desk generator, its topics file (helpers.topics) and the committed JSONL files."""

import json
import random
from collections import Counter

import pytest

from helpers.company import CATEGORIES, GREETING, SIGN_OFF
from helpers.data import load_raw_qa, load_support_desk, validate_conversation
from helpers.support_desk import SPLIT_SIZES, SYSTEM_PROMPT, build_dataset, build_raw_qa
from helpers.topics import POLICIES, TOPICS, TOPICS_FILE, TopicDataError, load_topics, validate_topics


@pytest.fixture(scope="module")
def splits():
    return build_dataset()


def user_texts(rows):
    return {m["content"] for row in rows for m in row["messages"] if m["role"] == "user"}


def first_requests(rows):
    return [row["messages"][1]["content"] for row in rows]


@pytest.fixture
def entries():
    """A fresh copy of the topics file's entries, to break on purpose."""
    return json.loads(TOPICS_FILE.read_text(encoding="utf-8"))


def test_topics_are_consistent():
    per_category = Counter(topic.category for topic in TOPICS.values())
    assert set(per_category) == set(CATEGORIES)
    assert all(2 <= n <= 3 for n in per_category.values())
    # One policy code per topic, so the policy cannot be guessed from the category alone.
    assert len(POLICIES) == len(TOPICS)
    for topic in TOPICS.values():
        assert POLICIES[topic.policy] == topic.category
        assert not set(topic.requests) & set(topic.test_requests)


def test_system_prompt_states_the_house_style():
    assert 50 <= len(SYSTEM_PROMPT.split()) <= 90
    for text in (GREETING, SIGN_OFF, "Category:", "Policy:", *CATEGORIES):
        assert text in SYSTEM_PROMPT


def test_the_topics_file_is_what_the_generator_uses(entries):
    assert validate_topics(entries) == tuple(TOPICS.values())
    assert [topic.name for topic in TOPICS.values()] == [entry["name"] for entry in entries]  # file order, which the splits depend on


def break_category(entries):
    entries[1]["category"] = "BILING"


def reuse_policy(entries):
    entries[4]["policy"] = entries[0]["policy"]


def drop_answer(entries):
    del entries[2]["answer"]


def add_an_unknown_field(entries):
    entries[5]["notes"] = "Ask for a photo of the box."


def use_an_unknown_slot(entries):
    entries[6]["requests"][1] += " Sent from {phone}."


def use_an_unknown_slot_in_a_reply(entries):
    entries[7]["timing"] = "Within {days} days."


def reuse_a_name(entries):
    entries[9]["name"] = entries[8]["name"]


def shorten_a_policy(entries):
    entries[10]["policy"] = "NB-10"


def empty_the_test_wordings(entries):
    entries[11]["test_requests"] = []


def give_a_string_for_a_list(entries):
    entries[12]["raw_requests"] = "Please change my email."


def leave_a_brace_open(entries):
    entries[13]["answer"] = "Your order {order is on its way."


@pytest.mark.parametrize(
    ("breakage", "positions", "message"),
    [
        (break_category, [1], r"category 'BILING' is not one of BILLING, SHIPPING"),
        (reuse_policy, [4, 0], r"policy 'NB-\d{3}' is already used by topic"),
        (drop_answer, [2], r"missing field 'answer'"),
        (add_an_unknown_field, [5], r"unknown field 'notes' \(the fields are name, category,"),
        (use_an_unknown_slot, [6], r"requests\[1\] uses the slot \{phone\}, which the generator does not fill; the slots are amount,"),
        (use_an_unknown_slot_in_a_reply, [7], r"timing uses the slot \{days\}"),
        (reuse_a_name, [9, 8], r"name '\w+' is already used by topic"),
        (shorten_a_policy, [10], r"policy 'NB-10' is not a policy code like NB-101"),
        (empty_the_test_wordings, [11], r"test_requests is empty"),
        (give_a_string_for_a_list, [12], r"field 'raw_requests' must be a list of non-empty strings"),
        (leave_a_brace_open, [13], r"answer .* is not a valid template"),
    ],
)
def test_a_broken_topic_is_named_in_the_error(entries, breakage, positions, message):
    breakage(entries)
    names = [entries[i]["name"] for i in positions]
    with pytest.raises(TopicDataError, match=f"topic '{names[0]}' \\(entry \\d+\\): {message}") as error:
        validate_topics(entries)
    assert isinstance(error.value, ValueError)
    assert all(f"topic '{name}'" in str(error.value) for name in names)
    assert "1 problem(s) to fix" in str(error.value)


def test_every_problem_is_reported_at_once(entries):
    break_category(entries)
    drop_answer(entries)
    use_an_unknown_slot(entries)
    with pytest.raises(TopicDataError, match="3 problem") as error:
        validate_topics(entries, source="topics.json")
    assert str(error.value).startswith("topics.json: ")
    assert len(str(error.value).splitlines()) == 4


def test_load_topics_reads_a_file_in_its_order(tmp_path, entries):
    path = tmp_path / "topics.json"
    path.write_text(json.dumps(entries[::-1]), encoding="utf-8")
    assert [topic.name for topic in load_topics(path)] == [entry["name"] for entry in entries[::-1]]
    assert load_topics(path)[0].requests == tuple(entries[-1]["requests"])


def test_load_topics_names_the_file_it_cannot_use(tmp_path, entries):
    path = tmp_path / "topics.json"
    path.write_text(json.dumps(entries)[:-5], encoding="utf-8")
    with pytest.raises(TopicDataError, match="topics.json is not valid JSON"):
        load_topics(path)
    path.write_text(json.dumps({"topics": entries}), encoding="utf-8")
    with pytest.raises(TopicDataError, match="topics.json: expected a non-empty JSON list of topic objects"):
        load_topics(path)
    path.write_text(json.dumps([*entries, "not a topic"]), encoding="utf-8")
    with pytest.raises(TopicDataError, match=r"topics.json: 1 problem\(s\) to fix:\n- topic entry 15: expected an object"):
        load_topics(path)


def test_split_sizes_and_ids(splits):
    assert {name: len(rows) for name, rows in splits.items()} == SPLIT_SIZES
    for name, rows in splits.items():
        assert [row["id"] for row in rows] == [f"{name}-{i:04d}" for i in range(1, len(rows) + 1)]


def test_rows_are_well_formed(splits):
    for rows in splits.values():
        for row in rows:
            assert set(row) == {"id", "category", "topic", "policy", "messages"}
            topic = TOPICS[row["topic"]]
            assert (row["category"], row["policy"]) == (topic.category, topic.policy)
            messages = row["messages"]
            validate_conversation(messages)
            assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
            assert [m["role"] for m in messages[1:]] == ["user", "assistant"] * ((len(messages) - 1) // 2)
            for reply in (m["content"] for m in messages if m["role"] == "assistant"):
                lines = reply.split("\n")
                assert lines[1] == f"Category: {row['category']}"
                assert lines[3] == f"Policy: {row['policy']}"
                assert 10 <= len(lines[2].split()) <= 35


def test_about_15_percent_multi_turn(splits):
    for rows in splits.values():
        share = sum(len(row["messages"]) == 5 for row in rows) / len(rows)
        assert 0.10 <= share <= 0.20
        assert all(len(row["messages"]) in (3, 5) for row in rows)


def test_categories_are_balanced(splits):
    for rows in splits.values():
        counts = Counter(row["category"] for row in rows)
        assert set(counts) == set(CATEGORIES)
        assert max(counts.values()) - min(counts.values()) <= max(5, len(rows) // 50)


def test_rows_are_short(splits):
    for rows in splits.values():
        for row in rows:
            words = sum(len(m["content"].split()) for m in row["messages"])
            assert words <= (140 if len(row["messages"]) == 3 else 180)


def test_no_leakage_between_splits(splits):
    train_users = user_texts(splits["train"])
    # Validation uses the train wordings but never repeats a train request.
    assert not set(first_requests(splits["validation"])) & set(first_requests(splits["train"]))
    # Test uses different wordings, follow-up questions included.
    assert not user_texts(splits["test"]) & train_users
    assert len(set(first_requests(splits["train"]))) == len(splits["train"])


def test_requests_are_varied(splits):
    by_topic = {}
    for row in splits["train"]:
        by_topic.setdefault(row["topic"], set()).add(row["messages"][1]["content"])
    assert set(by_topic) == set(TOPICS)
    assert all(len(texts) >= 50 for texts in by_topic.values())


def test_build_is_deterministic_and_leaves_global_rng_alone():
    random.seed(1234)
    state = random.getstate()
    assert build_dataset() == build_dataset(seed=0)
    assert build_raw_qa() == build_raw_qa(seed=0)
    assert random.getstate() == state
    assert build_dataset(seed=1)["train"] != build_dataset(seed=0)["train"]


def test_committed_files_match_the_generator(splits):
    # If this fails, run: python scripts/make_support_desk_data.py
    for name, rows in splits.items():
        assert list(load_support_desk(name)) == rows, f"{name}.jsonl is out of date"
    assert list(load_raw_qa()) == build_raw_qa(), "raw_qa.jsonl is out of date"


def test_raw_qa(splits):
    rows = build_raw_qa()
    assert 25 <= len(rows) <= 40
    assert all(set(row) == {"question", "answer", "category", "policy"} for row in rows)
    assert set(row["category"] for row in rows) == set(CATEGORIES)
    assert not {row["question"] for row in rows} & user_texts(splits["train"])
    for row in rows:
        assert row["answer"].startswith(GREETING + "\nCategory: " + row["category"] + "\n")
        assert row["answer"].endswith(f"\nPolicy: {row['policy']}\n{SIGN_OFF}")
