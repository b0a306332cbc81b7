"""Tests for helpers.templates: the training ChatML template, other families' real templates, the trained-token view."""

import copy
from pathlib import Path

import pytest
import trl
from fakes import tiny_llama
from jinja2 import TemplateError
from transformers import AutoTokenizer
from trl.chat_template_utils import get_training_chat_template

from helpers import templates
from helpers.data import SPLITS
from helpers.environment import offline_reason
from helpers.support_desk import SYSTEM_PROMPT
from helpers.templates import (
    FAMILIES,
    SMOLLM2_DEFAULT_SYSTEM,
    TRAINING_CHAT_TEMPLATE,
    TokenView,
    family_named,
    family_trained_tokens,
    render_family,
    set_training_template,
    trained_tokens,
    training_row_view,
    trl_chat_template,
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
    assert get_training_chat_template(set_training_template(copy.deepcopy(tokenizer))) is None


def test_trl_rejects_smollm2_original_template(tokenizer):
    with pytest.raises(ValueError, match="not training-compatible"):
        get_training_chat_template(copy.deepcopy(tokenizer))


def test_set_training_template_installs_and_returns_the_tokenizer(tokenizer):
    copied = copy.deepcopy(tokenizer)
    assert set_training_template(copied) is copied
    assert copied.chat_template == TRAINING_CHAT_TEMPLATE
    assert tokenizer.chat_template != TRAINING_CHAT_TEMPLATE  # the shared fixture is untouched


def test_trained_tokens_rejects_a_template_without_generation_markers(tokenizer):
    with pytest.raises(ValueError, match=r"no \{% generation %\} markers.*set_training_template"):
        trained_tokens(tokenizer, [{"role": "user", "content": "Hi"}])  # SmolLM2's own template


def test_trained_tokens_rejects_a_tokenizer_without_chat_template(tokenizer):
    bare = copy.deepcopy(tokenizer)
    bare.chat_template = None
    with pytest.raises(ValueError, match="no chat template.*chat_template=.*set_training_template"):
        trained_tokens(bare, [{"role": "user", "content": "Hi"}])


def test_trained_tokens_accepts_whitespace_trimmed_generation_markers(tokenizer):
    template = TRAINING_CHAT_TEMPLATE.replace("{% generation %}", "{%- generation -%}")
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    assert trained_tokens(tokenizer, messages, chat_template=template).n_trained > 0


# ── other families: TRL's real templates ──────────────────────────────────────────────────────────

# Where TRL took each template from: the checkpoints its scripts/check_chat_templates.py (REPOS)
# checks every week against the files in trl/chat_templates/ (TRL 1.16; chat_templates/README.md
# names the same for Gemma and Gemma 3).
TRL_TEMPLATE_SOURCES = {
    "llama3": "meta-llama/Meta-Llama-3-8B-Instruct",
    "phi3": "microsoft/Phi-3-mini-4k-instruct",
    "gemma": "google/gemma-2-2b-it",
    "gemma3": "google/gemma-3-4b-it",
}
# TRL's public test copies of those checkpoints' tokenizers: its scripts/generate_tiny_models.py
# builds each from AutoTokenizer.from_pretrained(source) and pushes it to trl-internal-testing.
TRL_TEST_COPIES = {
    "meta-llama/Meta-Llama-3-8B-Instruct": "trl-internal-testing/tiny-LlamaForCausalLM-3",
    "google/gemma-2-2b-it": "trl-internal-testing/tiny-Gemma2ForCausalLM",
    "google/gemma-3-4b-it": "trl-internal-testing/tiny-Gemma3ForConditionalGeneration",
}
GATED_ORGS = ("meta-llama/", "google/", "mistralai/")  # their checkpoints ask for a login and accepted terms

FROM_TRL = [name for name, family in FAMILIES.items() if family.trl_template]
TRL_DIR = Path(trl.__file__).parent / "chat_templates"

FAMILY_CHAT = [
    {"role": "system", "content": "Sys words here"},
    {"role": "user", "content": "User asks this"},
    {"role": "assistant", "content": "Reply says that"},
]
NO_SYSTEM = FAMILY_CHAT[1:]
# What TRL's training variants put inside {% generation %}: the reply, its end-of-turn token and,
# for some, what follows it (Gemma's newline, Phi-3's newline and eos).
FAMILY_TRAINED = {
    "ChatML (SmolLM2, Qwen)": "Reply says that<|im_end|>",
    "Llama 3": "Reply says that<|eot_id|>",
    "Phi-3": "Reply says that<|end|>\n<|endoftext|>",
    "Gemma 1/2": "Reply says that<end_of_turn>\n",
    "Gemma 3": "Reply says that<end_of_turn>\n",
}
FAMILY_ASSISTANT_HEADER = {
    "ChatML (SmolLM2, Qwen)": "<|im_start|>assistant\n",
    "Llama 3": "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "Phi-3": "<|assistant|>\n",
    "Gemma 1/2": "<start_of_turn>model\n",
    "Gemma 3": "<start_of_turn>model\n",
}


@pytest.mark.parametrize("name", FROM_TRL)
def test_offline_templates_are_trls_files(tokenizer, name):
    family = FAMILIES[name]
    assert family.chat_template(tokenizer) == (TRL_DIR / f"{family.trl_template}.jinja").read_text(encoding="utf-8")
    training = (TRL_DIR / f"{family.trl_template}_training.jinja").read_text(encoding="utf-8")
    assert family.training_template() == training


@pytest.mark.parametrize("name", FROM_TRL)
def test_trl_recognises_each_offline_template(tokenizer, name):
    # TRL identifies a model by exact comparison with its stored copies: a template that is not
    # TRL's real file gets "not training-compatible" here instead of TRL's training variant.
    family = FAMILIES[name]
    carrier = copy.deepcopy(tokenizer)
    carrier.chat_template = family.chat_template(tokenizer)
    assert get_training_chat_template(carrier) == family.training_template()


@pytest.mark.parametrize("name", FROM_TRL)
def test_online_tokenizers_ship_the_same_template(name):
    # Offline we cannot download: what makes the two routes one text is that each hub_id is the
    # checkpoint TRL copied the template from or TRL's own test copy of its tokenizer.
    family = FAMILIES[name]
    assert family.source == TRL_TEMPLATE_SOURCES[family.trl_template]
    assert family.hub_id in {family.source, TRL_TEST_COPIES.get(family.source)}
    assert not family.hub_id.startswith(GATED_ORGS)


def test_smollm2_family_uses_the_tokenizers_own_template(tokenizer, training_tokenizer):
    family = FAMILIES["ChatML (SmolLM2, Qwen)"]
    assert family.chat_template(tokenizer) == tokenizer.chat_template
    assert family.training_template() == TRAINING_CHAT_TEMPLATE
    assert family.hub_id == "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.mark.parametrize("name", FROM_TRL)
def test_special_tokens_are_the_ones_the_template_writes(name):
    family = FAMILIES[name]
    assert family.special_tokens, "every TRL template here writes bos_token or eos_token"
    for key in family.special_tokens:
        assert key in family.chat_template(None)


@pytest.mark.skipif(bool(offline_reason()), reason="needs the Hugging Face Hub (unset HF_HUB_OFFLINE to run)")
@pytest.mark.parametrize("name", FROM_TRL)
def test_hub_tokenizer_template_is_trls_file_online(name):
    family = FAMILIES[name]
    hub = AutoTokenizer.from_pretrained(family.hub_id)
    if hub.chat_template is not None:  # a processor repo keeps it from AutoTokenizer (render_family falls back)
        assert hub.chat_template == family.chat_template(None)
    for key, token in family.special_tokens.items():
        assert getattr(hub, key) == token


def test_trl_chat_template_names_what_trl_ships_on_a_typo():
    with pytest.raises(ValueError, match=r"no chat template named 'lama3'.*llama3"):
        trl_chat_template("lama3")


def test_family_named_lists_the_families_on_a_typo():
    with pytest.raises(ValueError, match=r"No family named 'Gemma'.*'Gemma 1/2'"):
        family_named("Gemma")


# system prompts: what each real template does with one


@pytest.mark.parametrize("name", ["ChatML (SmolLM2, Qwen)", "Llama 3", "Phi-3"])
def test_system_prompt_is_its_own_turn(tokenizer, name):
    text = render_family(name, FAMILY_CHAT, tokenizer)
    assert text.index("Sys words here") < text.index("User asks this")
    system_header = {
        "ChatML (SmolLM2, Qwen)": "<|im_start|>system\n",
        "Llama 3": "<|start_header_id|>system",
        "Phi-3": "<|system|>\n",
    }
    assert system_header[name] in text


def test_gemma_1_2_refuses_a_system_prompt(tokenizer):
    with pytest.raises(TemplateError, match="System role not supported"):
        render_family("Gemma 1/2", FAMILY_CHAT, tokenizer)
    assert render_family("Gemma 1/2", NO_SYSTEM, tokenizer).startswith("<bos><start_of_turn>user\nUser asks this")


def test_gemma_3_folds_the_system_prompt_into_the_first_user_turn(tokenizer):
    text = render_family("Gemma 3", FAMILY_CHAT, tokenizer)
    assert text.startswith("<bos><start_of_turn>user\nSys words here\n\nUser asks this<end_of_turn>\n")
    assert "system" not in text


def test_folding_it_yourself_makes_gemma_1_2_render_like_gemma_3(tokenizer):
    folded = [{"role": "user", "content": "Sys words here\n\nUser asks this"}, FAMILY_CHAT[2]]
    assert render_family("Gemma 1/2", folded, tokenizer) == render_family("Gemma 3", FAMILY_CHAT, tokenizer)


def test_qwen_2_5_writes_smollm2s_chatml_with_its_own_default_system_prompt(tokenizer):
    qwen = trl_chat_template("qwen2_5")
    assert _render(tokenizer, FAMILY_CHAT, qwen) == _render(tokenizer, FAMILY_CHAT)
    assert "You are Qwen, created by Alibaba Cloud." in _render(tokenizer, NO_SYSTEM, qwen)
    assert SMOLLM2_DEFAULT_SYSTEM in _render(tokenizer, NO_SYSTEM)


@pytest.mark.parametrize("name", FROM_TRL)
def test_offline_rendering_writes_the_familys_own_bos_and_eos(tokenizer, name):
    text = render_family(name, NO_SYSTEM, tokenizer)
    assert tokenizer.bos_token not in text and tokenizer.eos_token not in text  # none of SmolLM2's
    for token in FAMILIES[name].special_tokens.values():
        assert token in text


# trained tokens and generation prompts, with each family's training template


@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_training_template_trains_on_the_reply_and_its_end(tokenizer, name):
    view = family_trained_tokens(name, NO_SYSTEM, tokenizer)
    trained_text = "".join(token for token, trained in zip(view.tokens, view.trained) if trained)
    assert trained_text == FAMILY_TRAINED[name]
    assert trained_text.startswith("Reply says that" + FAMILIES[name].end_of_turn)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_training_variant_renders_like_the_real_template(tokenizer, name):
    family = FAMILIES[name]
    for add_generation_prompt in (False, True):
        real = render_family(name, NO_SYSTEM, tokenizer, add_generation_prompt=add_generation_prompt)
        training = tokenizer.apply_chat_template(
            NO_SYSTEM,
            chat_template=family.training_template(),
            tokenize=False,
            add_generation_prompt=add_generation_prompt,
            **family.special_tokens,
        )
        assert real == training


@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_generation_prompt_ends_with_the_assistant_header(tokenizer, name):
    text = render_family(name, NO_SYSTEM[:1], tokenizer, add_generation_prompt=True)
    assert text.endswith(FAMILY_ASSISTANT_HEADER[name])
    assert family_trained_tokens(name, NO_SYSTEM[:1], tokenizer, add_generation_prompt=True).n_trained == 0


def test_offline_token_view_says_whose_tokenizer_split_the_text(tokenizer):
    llama = family_trained_tokens("Llama 3", NO_SYSTEM, tokenizer)
    assert "SmolLM2's tokens" in llama.note and "<|eot_id|> shows as several pieces" in llama.note
    assert llama.tokens.count("<|eot_id|>") == 0  # split: no single token is the whole marker
    assert family_trained_tokens("ChatML (SmolLM2, Qwen)", NO_SYSTEM, tokenizer).note == ""


# the online route, with the Hub replaced by a local tokenizer


@pytest.fixture
def fake_hub(monkeypatch, tokenizer):
    """Make _hub_tokenizer return a copy of SmolLM2's tokenizer carrying the family's real template and bos."""
    loaded = []

    def load(hub_id):
        loaded.append(hub_id)
        family = next(family for family in FAMILIES.values() if family.hub_id == hub_id)
        hub = copy.deepcopy(tokenizer)
        hub.chat_template = family.chat_template(tokenizer)
        return hub

    monkeypatch.setattr(templates, "_hub_tokenizer", load)
    return loaded


def test_online_renders_with_the_hub_tokenizer(tokenizer, fake_hub):
    text = render_family("Llama 3", NO_SYSTEM, tokenizer, online=True)
    assert fake_hub == ["trl-internal-testing/tiny-LlamaForCausalLM-3"]
    assert text.startswith(tokenizer.bos_token + "<|start_header_id|>")  # the Hub tokenizer's own bos, not ours
    assert family_trained_tokens("Llama 3", NO_SYSTEM, tokenizer, online=True).note == ""


def test_online_falls_back_to_trls_copy_when_the_hub_fails(monkeypatch, tokenizer, capsys):
    def unreachable(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(templates.AutoTokenizer, "from_pretrained", unreachable)
    templates._hub_tokenizer.cache_clear()
    try:
        text = render_family("Gemma 3", NO_SYSTEM, tokenizer, online=True)
    finally:
        templates._hub_tokenizer.cache_clear()
    assert text == render_family("Gemma 3", NO_SYSTEM, tokenizer)
    assert "Could not load trl-internal-testing/tiny-Gemma3ForConditionalGeneration" in capsys.readouterr().out


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


def test_token_view_shows_its_note_in_html_and_text(view):
    view.note = "SmolLM2's <tokens>"
    assert "SmolLM2&#x27;s &lt;tokens&gt;" in view._repr_html_()
    assert repr(view).splitlines()[1] == "(SmolLM2's <tokens>)"


def test_training_row_view_shows_what_sfttrainer_trains_on(training_tokenizer, support_desk, tmp_path):
    # The row SFTTrainer prepares carries labels (-100 where the loss ignores a token); the view marks the
    # same tokens as lesson 1's trained_tokens does from the template's {% generation %} markers.
    from trl import SFTConfig, SFTTrainer

    tiny = tiny_llama(training_tokenizer)
    rows = support_desk["train"].select(range(2))
    config = SFTConfig(output_dir=str(tmp_path), assistant_only_loss=True, use_cpu=True, bf16=False, report_to="none")
    prepared = SFTTrainer(model=tiny, args=config, train_dataset=rows, processing_class=copy.deepcopy(training_tokenizer))
    for row, messages in zip(prepared.train_dataset, rows["messages"]):
        view = training_row_view(training_tokenizer, row)
        assert view.trained == trained_tokens(training_tokenizer, messages).trained
        assert view.n_trained == sum(label != -100 for label in row["labels"]) > 0


def test_the_token_view_speaks_vietnamese_in_the_vietnamese_notebooks(vietnamese):
    view = TokenView(tokens=["Hi", "!"], trained=[False, True])
    english = repr(view)
    assert english == "1 of 2 tokens trained:\nHi[[!]]"
    vietnamese.on()
    count = vietnamese("{trained} of {total} tokens trained").format(trained=1, total=2)
    assert repr(view) == count + ":\nHi[[!]]" != english
    assert vietnamese("context only") in view._repr_html_()
