"""Tests for helpers.widgets: the conversation text format, the TemplateExplorer and the ChatWidget."""

import html

import pytest
from fakes import REPLY

from helpers import widgets
from helpers.templates import FAMILIES
from helpers.widgets import ChatWidget, TemplateExplorer, conversation_to_text, text_to_conversation

CHAT = [
    {"role": "system", "content": "Answer in one sentence."},
    {"role": "user", "content": "Is my camera waterproof?"},
    {"role": "assistant", "content": "Yes, it is rated IP65."},
]


def test_conversation_text_round_trip():
    text = conversation_to_text(CHAT)
    assert text.splitlines()[1] == "user: Is my camera waterproof?"
    assert text_to_conversation(text) == CHAT


def test_a_line_without_role_continues_the_previous_message():
    messages = text_to_conversation("user: First line\nsecond line\nassistant: Ok")
    assert messages == [
        {"role": "user", "content": "First line\nsecond line"},
        {"role": "assistant", "content": "Ok"},
    ]


def test_a_colon_after_an_unknown_word_continues_the_message():
    assert text_to_conversation("user: Hi\nNote: me")[0]["content"] == "Hi\nNote: me"


def test_unknown_role_on_the_first_line_names_the_allowed_roles():
    with pytest.raises(ValueError, match="line 1 .*system:, user:, assistant:"):
        text_to_conversation("customer: Hello")


@pytest.mark.parametrize("text", ["", "\n  \n"])
def test_empty_text_raises(text):
    with pytest.raises(ValueError, match="empty"):
        text_to_conversation(text)


@pytest.fixture
def explorer(training_tokenizer):
    return TemplateExplorer(training_tokenizer, CHAT)


def test_explorer_starts_with_chatml(explorer):
    assert "&lt;|im_start|&gt;assistant" in explorer.rendered.value
    assert "tokens trained" in explorer.tokens.value


def test_explorer_refreshes_when_the_family_changes(explorer):
    explorer.family.value = "Llama 3"
    assert "&lt;|start_header_id|&gt;assistant&lt;|end_header_id|&gt;" in explorer.rendered.value
    assert "im_start" not in explorer.rendered.value


def test_explorer_refreshes_when_generation_prompt_is_toggled(explorer):
    prompt_end = "&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n</pre>"
    assert not explorer.rendered.value.endswith(prompt_end)
    explorer.generation_prompt.value = True
    assert explorer.rendered.value.endswith(prompt_end)


def test_explorer_refreshes_when_the_conversation_is_edited(explorer):
    explorer.conversation.value = "user: Brand new question"
    assert "Brand new question" in explorer.rendered.value


def test_explorer_reports_an_unreadable_conversation_instead_of_raising(explorer):
    explorer.conversation.value = "customer: Hello"
    assert "Cannot read the conversation" in explorer.rendered.value
    assert explorer.tokens.value == ""


def test_explorer_mimebundle_has_a_static_snapshot(explorer):
    bundle = explorer._repr_mimebundle_()
    assert "Static snapshot" in bundle["text/html"]
    assert "&lt;|im_start|&gt;" in bundle["text/html"]
    assert bundle["text/plain"] == "TemplateExplorer(family='ChatML (SmolLM2, Qwen)')"


def test_explorer_offers_every_family(explorer):
    assert list(explorer.family.options) == list(FAMILIES)


def test_explorer_explains_a_refusal_instead_of_raising(explorer):
    explorer.family.value = "Gemma 1/2"  # its real template refuses CHAT's system message
    refusal = "Gemma 1/2&#x27;s own template refuses this conversation: System role not supported"
    assert refusal in explorer.rendered.value
    assert explorer.tokens.value == ""
    explorer.conversation.value = "user: Is my camera waterproof?\nassistant: Yes."
    assert "&lt;start_of_turn&gt;model" in explorer.rendered.value
    assert "tokens trained" in explorer.tokens.value


def test_explorer_says_offline_counts_are_smollm2_tokens(explorer):
    assert "SmolLM2&#x27;s tokens" not in explorer.tokens.value  # SmolLM2's own format: its own tokenizer
    explorer.family.value = "Gemma 3"
    assert "SmolLM2&#x27;s tokens" in explorer.tokens.value
    assert "Answer in one sentence.\n\nIs my camera waterproof?" in explorer.rendered.value  # folded into the user turn


# ── ChatWidget: sending, clearing, the system prompt and the static snapshot ─────────────────────────


@pytest.fixture(scope="module")
def chat(instruct_model_and_tokenizer):
    """A chat with one real (greedy, short) exchange."""
    widget = ChatWidget(*instruct_model_and_tokenizer)
    widget.max_new_tokens.value = 16
    widget.reply = widget.send("Hi <b>there</b> & welcome")
    return widget


@pytest.fixture
def calls(monkeypatch):
    """Replace generation with a fake that records its arguments and replies instantly."""
    recorded = []

    def fake_generate_replies(model, tokenizer, conversations, **kwargs):
        recorded.append((conversations, kwargs))
        return ["Fake <reply>\nsecond line"]

    monkeypatch.setattr(widgets, "generate_replies", fake_generate_replies)
    return recorded


def test_send_returns_the_reply_and_shows_both_messages_escaped(chat):
    assert isinstance(chat.reply, str) and chat.reply
    assert "Hi &lt;b&gt;there&lt;/b&gt; &amp; welcome" in chat.transcript.value
    assert html.escape(chat.reply) in chat.transcript.value
    assert [message["role"] for message in chat.messages] == ["user", "assistant"]


def test_mimebundle_has_a_static_snapshot_of_the_transcript(chat):
    bundle = chat._repr_mimebundle_()
    assert "Static snapshot" in bundle["text/html"]
    assert "greedy" in bundle["text/html"]
    assert html.escape(chat.reply) in bundle["text/html"]
    assert bundle["text/plain"] == "ChatWidget(2 messages)"


def test_system_prompt_and_example_reach_generation(instruct_model_and_tokenizer, calls):
    widget = ChatWidget(*instruct_model_and_tokenizer, system_prompt="Answer briefly.", example="Hello")
    (conversations, kwargs), = calls
    assert conversations == [[{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Hello"}]]
    assert kwargs["do_sample"] is False
    assert "Fake &lt;reply&gt;\nsecond line" in widget.transcript.value
    assert "Answer briefly." in widget.transcript.value


def test_temperature_above_zero_samples(instruct_model_and_tokenizer, calls):
    widget = ChatWidget(*instruct_model_and_tokenizer)
    widget.temperature.value = 0.8
    widget.send("Hello")
    assert calls[0][1]["do_sample"] is True and calls[0][1]["temperature"] == 0.8


def test_enter_in_the_input_box_sends_and_empties_it(instruct_model_and_tokenizer, calls):
    widget = ChatWidget(*instruct_model_and_tokenizer)
    widget.input.value = "Typed message"
    assert widget.input.value == ""
    assert len(calls) == 1 and widget.messages[0]["content"] == "Typed message"


def test_clear_empties_the_transcript_but_keeps_the_system_prompt(instruct_model_and_tokenizer, calls):
    widget = ChatWidget(*instruct_model_and_tokenizer, system_prompt="Be kind.", example="Hello")
    widget.clear_button.click()
    assert widget.messages == []
    assert "Hello" not in widget.transcript.value and "Be kind." in widget.transcript.value


def test_a_failed_reply_is_shown_and_leaves_no_unanswered_message(instruct_model_and_tokenizer, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(widgets, "generate_replies", broken)
    widget = ChatWidget(*instruct_model_and_tokenizer)
    widget.input.value = "Hello"
    assert "Could not generate a reply" in widget.transcript.value and "out of memory" in widget.transcript.value
    assert widget.messages == []


def test_empty_message_raises(instruct_model_and_tokenizer):
    with pytest.raises(ValueError, match="empty"):
        ChatWidget(*instruct_model_and_tokenizer).send("   ")


def test_a_reply_stops_at_the_end_of_the_turn(turn_model, base_tokenizer):
    widget = ChatWidget(turn_model, base_tokenizer)
    widget.max_new_tokens.value = 16
    assert widget.send("Hi") == REPLY


def test_the_empty_transcript_speaks_vietnamese_in_the_vietnamese_notebooks(vietnamese):
    english = widgets.chat_transcript_html([])
    assert english == '<div style="color:#6c757d;font-family:sans-serif"><i>No messages yet.</i></div>'
    vietnamese.on()
    assert widgets.chat_transcript_html([]) == english.replace("No messages yet.", vietnamese("No messages yet.")) != english
    vietnamese.off()
    assert widgets.chat_transcript_html([]) == english
