"""Tests for helpers.widgets.ChatWidget: sending, clearing, the system prompt and the static snapshot."""

import html

import pytest

from helpers import widgets
from helpers.widgets import ChatWidget


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
    from conftest import REPLY

    widget = ChatWidget(turn_model, base_tokenizer)
    widget.max_new_tokens.value = 16
    assert widget.send("Hi") == REPLY
