"""Tests for helpers.templates: the training ChatML template, the family templates and the trained-token view."""

import copy

import pytest
from trl.chat_template_utils import get_training_chat_template

from helpers.data import SPLITS
from helpers.support_desk import SYSTEM_PROMPT
from helpers.templates import (
    FAMILY_TEMPLATES,
    SMOLLM2_DEFAULT_SYSTEM,
    TRAINING_CHAT_TEMPLATE,
    TokenView,
    render_families,
    trained_tokens,
    use_training_template,
)

END = "<|im_end|>"
HEADER = "<|im_start|>assistant\n"


# ── every conversation the course renders ─────────────────────────────────────────────────────────


def _without_system(messages):
    return [message for message in messages if message["role"] != "system"]


@pytest.fixture(scope="module")
def conversations(support_desk, raw_qa):
    """(name, messages) for every support-desk row, every raw row converted, and all of them without system."""
    found = [(row["id"], row["messages"]) for split in SPLITS for row in support_desk[split]]
    for index, row in enumerate(raw_qa):
        found.append(
            (
                f"raw-{index}",
                [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": row["question"]},
                    {"role": "assistant", "content": row["answer"]},
                ],
            )
        )
    found += [(f"{name} (no system)", _without_system(messages)) for name, messages in found]
    return found


def _render(tokenizer, messages, template=None, add_generation_prompt=False):
    return tokenizer.apply_chat_template(
        messages, tokenize=False, chat_template=template, add_generation_prompt=add_generation_prompt
    )


def test_the_corpus_covers_all_rows_multi_turn_and_no_system(conversations, support_desk, raw_qa):
    n_rows = sum(len(support_desk[split]) for split in SPLITS) + len(raw_qa)
    assert len(conversations) == 2 * n_rows
    assert any(len(messages) > 3 for _, messages in conversations)
    assert any(messages[0]["role"] == "user" for _, messages in conversations)


@pytest.mark.parametrize("add_generation_prompt", [False, True])
def test_training_template_renders_exactly_like_smollm2(tokenizer, conversations, add_generation_prompt):
    different = [
        name
        for name, messages in conversations
        if _render(tokenizer, messages, TRAINING_CHAT_TEMPLATE, add_generation_prompt)
        != _render(tokenizer, messages, None, add_generation_prompt)
    ]
    assert different == []


def test_training_template_renders_every_prompt_prefix_like_smollm2(tokenizer, conversations):
    checked, different = 0, []
    for name, messages in conversations:
        for end, message in enumerate(messages, start=1):
            if message["role"] != "user":
                continue
            prefix = messages[:end]
            checked += 1
            if _render(tokenizer, prefix, TRAINING_CHAT_TEMPLATE, True) != _render(tokenizer, prefix, None, True):
                different.append(f"{name}[:{end}]")
    assert checked > len(conversations)  # multi-turn rows have two prompt prefixes
    assert different == []


def test_training_template_adds_smollm2_default_system_prompt(tokenizer):
    text = _render(tokenizer, [{"role": "user", "content": "Hi"}], TRAINING_CHAT_TEMPLATE, True)
    assert text == f"<|im_start|>system\n{SMOLLM2_DEFAULT_SYSTEM}{END}\n<|im_start|>user\nHi{END}\n{HEADER}"


# ── which tokens are trained ──────────────────────────────────────────────────────────────────────


def _expected_trained(tokenizer, messages):
    """Return (token ids, expected trained flags), found by character offsets independently of the training template."""
    text = _render(tokenizer, messages)  # SmolLM2's own template
    spans = []
    for index, message in enumerate(messages):
        if message["role"] == "assistant":
            start = len(_render(tokenizer, messages[:index], add_generation_prompt=True))
            end = start + len(message["content"] + END)
            assert text[start:end] == message["content"] + END
            spans.append((start, end))
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    flags = []
    for token_start, token_end in encoded["offset_mapping"]:
        inside = any(start <= token_start and token_end <= end for start, end in spans)
        straddles = any(token_start < edge < token_end for span in spans for edge in span)
        assert not straddles, "a token crosses the edge of an assistant reply"
        flags.append(inside)
    return encoded["input_ids"], flags


def _mask_rows(support_desk):
    rows = [row for split in ("validation", "test") for row in support_desk[split]]
    return rows + list(support_desk["train"].select(range(0, len(support_desk["train"]), 10)))


def test_trained_text_is_the_assistant_replies_with_their_end_tokens(tokenizer, support_desk):
    wrong = []
    for row in _mask_rows(support_desk):
        view = trained_tokens(tokenizer, row["messages"], chat_template=TRAINING_CHAT_TEMPLATE)
        trained_text = "".join(token for token, trained in zip(view.tokens, view.trained) if trained)
        expected = "".join(m["content"] + END for m in row["messages"] if m["role"] == "assistant")
        if trained_text != expected:
            wrong.append(row["id"])
    assert wrong == []


def test_trained_positions_are_exactly_the_assistant_replies(tokenizer, support_desk):
    wrong = []
    for row in _mask_rows(support_desk):
        ids, expected = _expected_trained(tokenizer, row["messages"])
        view = trained_tokens(tokenizer, row["messages"], chat_template=TRAINING_CHAT_TEMPLATE)
        assert view.tokens == [tokenizer.decode([token_id]) for token_id in ids], row["id"]
        if view.trained != expected:
            wrong.append(row["id"])
    assert wrong == []


def test_mask_rows_include_multi_turn_conversations(support_desk):
    assert sum(len(row["messages"]) > 3 for row in _mask_rows(support_desk)) > 10


def test_header_and_newline_after_end_token_are_not_trained(tokenizer, support_desk):
    messages = next(row["messages"] for row in support_desk["validation"] if len(row["messages"]) > 3)
    view = trained_tokens(tokenizer, messages, chat_template=TRAINING_CHAT_TEMPLATE)
    tokens, trained = view.tokens, view.trained
    starts = [k for k in range(1, len(tokens)) if trained[k] and not trained[k - 1]]
    ends = [k for k in range(len(tokens) - 1) if trained[k] and not trained[k + 1]]
    assert len(starts) == len(ends) == 2
    for k in starts:
        header = len(tokenizer(HEADER, add_special_tokens=False)["input_ids"])  # <|im_start|> ass istant \n
        assert "".join(tokens[k - header : k]) == HEADER
        assert not any(trained[k - header : k])
    for k in ends:
        assert tokens[k] == END
        assert tokens[k + 1] == "\n" and trained[k + 1] is False


def test_nothing_is_trained_in_a_prompt_with_generation_prompt(tokenizer):
    view = trained_tokens(
        tokenizer, [{"role": "user", "content": "Hi"}], chat_template=TRAINING_CHAT_TEMPLATE, add_generation_prompt=True
    )
    assert view.n_trained == 0
    assert "".join(view.tokens).endswith(HEADER)


# ── TRL and error messages ────────────────────────────────────────────────────────────────────────


def test_trl_needs_no_patch_for_the_training_template(tokenizer):
    assert get_training_chat_template(use_training_template(copy.deepcopy(tokenizer))) is None


def test_trl_rejects_smollm2_original_template(tokenizer):
    with pytest.raises(ValueError, match="not training-compatible"):
        get_training_chat_template(copy.deepcopy(tokenizer))


def test_use_training_template_installs_and_returns_the_tokenizer(tokenizer):
    copied = copy.deepcopy(tokenizer)
    assert use_training_template(copied) is copied
    assert copied.chat_template == TRAINING_CHAT_TEMPLATE
    assert tokenizer.chat_template != TRAINING_CHAT_TEMPLATE  # the shared fixture is untouched


def test_trained_tokens_rejects_a_template_without_generation_markers(tokenizer):
    with pytest.raises(ValueError, match=r"no \{% generation %\} markers.*use_training_template"):
        trained_tokens(tokenizer, [{"role": "user", "content": "Hi"}])  # SmolLM2's own template


def test_trained_tokens_rejects_a_tokenizer_without_chat_template(tokenizer):
    bare = copy.deepcopy(tokenizer)
    bare.chat_template = None
    with pytest.raises(ValueError, match="no chat template.*chat_template=.*use_training_template"):
        trained_tokens(bare, [{"role": "user", "content": "Hi"}])


def test_trained_tokens_accepts_whitespace_trimmed_generation_markers(tokenizer):
    template = TRAINING_CHAT_TEMPLATE.replace("{% generation %}", "{%- generation -%}")
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    assert trained_tokens(tokenizer, messages, chat_template=template).n_trained > 0


# ── other families ────────────────────────────────────────────────────────────────────────────────

FAMILY_CHAT = [
    {"role": "system", "content": "Sys words here"},
    {"role": "user", "content": "User asks this"},
    {"role": "assistant", "content": "Reply says that"},
]
FAMILY_END = {
    "ChatML (SmolLM2, Qwen)": "<|im_end|>",
    "Llama 3": "<|eot_id|>",
    "Mistral": "</s>",
    "Gemma": "<end_of_turn>",
    "Phi-3": "<|end|>",
}
FAMILY_ASSISTANT_HEADER = {
    "ChatML (SmolLM2, Qwen)": "<|im_start|>assistant\n",
    "Llama 3": "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "Gemma": "<start_of_turn>model\n",
    "Phi-3": "<|assistant|>\n",
}


def test_family_lists_agree():
    assert set(FAMILY_END) == set(FAMILY_TEMPLATES)


@pytest.mark.parametrize("family", list(FAMILY_TEMPLATES))
def test_family_template_renders_all_three_contents(tokenizer, family):
    text = _render(tokenizer, FAMILY_CHAT, FAMILY_TEMPLATES[family])
    for message in FAMILY_CHAT:
        assert message["content"] in text


@pytest.mark.parametrize("family", list(FAMILY_TEMPLATES))
def test_family_template_trains_on_the_assistant_reply_only(tokenizer, family):
    view = trained_tokens(tokenizer, FAMILY_CHAT, chat_template=FAMILY_TEMPLATES[family])
    trained_text = "".join(token for token, trained in zip(view.tokens, view.trained) if trained)
    assert trained_text == "Reply says that" + FAMILY_END[family]


@pytest.mark.parametrize("family", list(FAMILY_ASSISTANT_HEADER))
def test_family_generation_prompt_ends_with_the_assistant_header(tokenizer, family):
    text = _render(tokenizer, FAMILY_CHAT, FAMILY_TEMPLATES[family], add_generation_prompt=True)
    assert text.endswith(FAMILY_END[family] + "\n" * (family != "Llama 3") + FAMILY_ASSISTANT_HEADER[family])


def test_mistral_has_no_generation_prompt(tokenizer):
    template = FAMILY_TEMPLATES["Mistral"]
    assert _render(tokenizer, FAMILY_CHAT, template, True) == _render(tokenizer, FAMILY_CHAT, template, False)


def test_render_families_offline_uses_the_course_templates(tokenizer):
    rendered = render_families(FAMILY_CHAT, tokenizer)
    assert list(rendered) == list(FAMILY_TEMPLATES)
    assert rendered["Llama 3"] == _render(tokenizer, FAMILY_CHAT, FAMILY_TEMPLATES["Llama 3"])


# ── TokenView ─────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def view():
    return TokenView(
        tokens=["<|im_start|>", "assistant", "\n", "Hi", " there", "<|im_end|>", "\n"],
        trained=[False, False, False, True, True, True, False],
    )


def test_token_view_counts_trained_tokens(view):
    assert view.n_trained == 3


def test_token_view_html_has_the_legend_and_escapes_tokens(view):
    page = view._repr_html_()
    assert "trained on" in page and "context only" in page
    assert "3 of 7 tokens trained" in page
    assert "&lt;|im_start|&gt;" in page
    assert "<|im_start|>" not in page


def test_token_view_repr_brackets_trained_spans(view):
    assert repr(view) == "3 of 7 tokens trained:\n<|im_start|>assistant\n[[Hi there<|im_end|>]]\n"


def test_token_view_repr_closes_a_span_at_the_end():
    assert repr(TokenView(tokens=["a", "b"], trained=[False, True])).endswith("a[[b]]")
