"""Interactive explorers and a chat (ipywidgets) that fall back to a static view when no front-end is attached."""

from __future__ import annotations

import html

import ipywidgets as widgets
from jinja2 import TemplateError
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from helpers.data import ROLES
from helpers.generation import generate_replies
from helpers.i18n import _
from helpers.templates import FAMILIES, family_trained_tokens, render_family


def conversation_to_text(messages: list[dict]) -> str:
    """Return the conversation as editable text, one "role: content" block per message."""
    return "\n".join(f"{message['role']}: {message['content']}" for message in messages)


def text_to_conversation(text: str) -> list[dict]:
    """Return the messages written as "role: content" blocks (a line without a role continues the last message)."""
    messages: list[dict] = []
    for number, line in enumerate(text.splitlines(), start=1):
        role, colon, content = line.partition(":")
        if colon and role.strip() in ROLES:
            messages.append({"role": role.strip(), "content": content.strip()})
        elif messages:
            messages[-1]["content"] += "\n" + line
        elif line.strip():
            raise ValueError(
                _("line {number} should start with one of {roles}").format(
                    number=number, roles=", ".join(r + ":" for r in ROLES)
                )
            )
    if not messages:
        raise ValueError(_("the conversation is empty: write at least one line such as 'user: Hello!'"))
    return messages


class TemplateExplorer(widgets.VBox):
    """Pick a template family, edit a conversation, toggle add_generation_prompt; see text and trained tokens.

    Each family renders with its real template (TRL's copy offline, its Hub tokenizer when online=True)
    and marks trained tokens with its training variant.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, messages: list[dict], online: bool = False):
        self.tokenizer, self.online = tokenizer, online
        self.family = widgets.Dropdown(options=list(FAMILIES), description=_("Family"))
        self.generation_prompt = widgets.Checkbox(value=False, description="add_generation_prompt")
        self.conversation = widgets.Textarea(
            value=conversation_to_text(messages), rows=8, layout=widgets.Layout(width="100%")
        )
        self.rendered = widgets.HTML()
        self.tokens = widgets.HTML()
        for control in (self.family, self.generation_prompt, self.conversation):
            control.observe(lambda _change: self.refresh(), names="value")
        super().__init__(
            [
                widgets.HBox([self.family, self.generation_prompt]),
                self.conversation,
                widgets.HTML("<b>" + _("Rendered text") + "</b>"),
                self.rendered,
                widgets.HTML("<b>" + _("Tokens a training run learns from") + "</b>"),
                self.tokens,
            ]
        )
        self.refresh()

    def refresh(self) -> None:
        """Re-render the text and the trained tokens from the current controls."""
        self.rendered.value, self.tokens.value = self._views()

    def _views(self) -> tuple[str, str]:
        try:
            messages = text_to_conversation(self.conversation.value)
        except ValueError as error:
            message = _("Cannot read the conversation: {error}").format(error=html.escape(str(error)))
            return f'<span style="color:#c1121f">{message}</span>', ""
        family = self.family.value
        options = {"online": self.online, "add_generation_prompt": self.generation_prompt.value}
        try:
            text = render_family(family, messages, self.tokenizer, **options)
            token_view = family_trained_tokens(family, messages, self.tokenizer, **options)
        except TemplateError as refusal:
            # A real template may refuse a conversation (Gemma 1/2: a system message): say so, as the lesson does.
            message = _("{family}'s own template refuses this conversation: {refusal}").format(
                family=family, refusal=refusal
            )
            return f'<span style="color:#c1121f">{html.escape(message)}</span>', ""
        return f"<pre>{html.escape(text)}</pre>", token_view._repr_html_()

    def _repr_mimebundle_(self, **kwargs) -> dict:
        # A live front-end (JupyterLab, Colab) shows the widget view; a saved notebook, nbval or
        # any viewer without a widget manager falls back to this static snapshot of the same views.
        bundle = super()._repr_mimebundle_(**kwargs)
        rendered, tokens = self._views()
        snapshot = _(
            "Static snapshot: family <b>{family}</b>, add_generation_prompt={add_generation_prompt}. "
            "Run the notebook to interact."
        ).format(family=html.escape(self.family.value), add_generation_prompt=self.generation_prompt.value)
        bundle["text/html"] = f"<p><i>{snapshot}</i></p>{rendered}{tokens}"
        bundle["text/plain"] = f"TemplateExplorer(family={self.family.value!r})"
        return bundle


_BUBBLE = "padding:6px 10px;border-radius:8px;margin:4px 0;white-space:pre-wrap;font-family:sans-serif;max-width:85%"
_BUBBLE_STYLES = {
    "system": "color:#6c757d;font-style:italic;font-size:90%",
    "user": f"{_BUBBLE};background:#dbe9ff;margin-left:auto",
    "assistant": f"{_BUBBLE};background:#e9ecef",
}


def chat_transcript_html(messages: list[dict]) -> str:
    """Return the conversation as HTML chat bubbles (content escaped, newlines kept)."""
    if not messages:
        return '<div style="color:#6c757d;font-family:sans-serif"><i>' + _("No messages yet.") + "</i></div>"
    bubbles = []
    for message in messages:
        label = _("system prompt:") + " " if message["role"] == "system" else ""
        style = _BUBBLE_STYLES.get(message["role"], _BUBBLE_STYLES["assistant"])
        bubbles.append(f'<div style="{style}">{label}{html.escape(message["content"])}</div>')
    return f'<div style="display:flex;flex-direction:column">{"".join(bubbles)}</div>'


class ChatWidget(widgets.VBox):
    """Chat with a model: type a message, see its reply; sliders set temperature, top_p and reply length."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        system_prompt: str | None = None,
        example: str | None = None,
    ):
        self.model, self.tokenizer, self.system_prompt = model, tokenizer, system_prompt
        self.messages: list[dict] = []
        self.transcript = widgets.HTML()
        # continuous_update=False: the value changes only on Enter (or leaving the box), which is how
        # ipywidgets 8 replaces the deprecated on_submit.
        self.input = widgets.Text(
            placeholder=_("Type a message and press Enter"), continuous_update=False, layout=widgets.Layout(flex="1")
        )
        self.send_button = widgets.Button(description=_("Send"), button_style="primary")
        self.clear_button = widgets.Button(description=_("Clear"))
        self.temperature = widgets.FloatSlider(
            value=0.0, min=0.0, max=1.5, step=0.05, description="temperature", readout_format=".2f"
        )
        self.top_p = widgets.FloatSlider(value=0.9, min=0.1, max=1.0, step=0.05, description="top_p")
        self.max_new_tokens = widgets.IntSlider(value=96, min=16, max=256, step=16, description=_("max tokens"))
        self.input.observe(lambda change: self._send_from_input(change["new"]), names="value")
        # Typing then clicking Send sends once: leaving the box already sent and emptied it.
        self.send_button.on_click(lambda _button: self._send_from_input(self.input.value))
        self.clear_button.on_click(lambda _button: self.clear())
        super().__init__(
            [
                self.transcript,
                widgets.HBox([self.input, self.send_button, self.clear_button]),
                widgets.HBox([self.temperature, self.top_p, self.max_new_tokens]),
                widgets.HTML(
                    "<small>" + _("temperature 0 = greedy: the same message always gets the same reply.") + "</small>"
                ),
            ]
        )
        self.refresh()
        if example:
            self.send(example)  # the temperature starts at 0, so this first exchange is greedy

    def conversation(self) -> list[dict]:
        """Return the messages the model sees: the system prompt (if any) and the chat so far."""
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return system + self.messages

    def send(self, text: str) -> str:
        """Return the model's reply to text, after adding both to the transcript."""
        if not text.strip():
            raise ValueError(_("the message is empty; type something for the model to answer"))
        self.messages.append({"role": "user", "content": text.strip()})
        self.refresh(pending=True)
        try:
            reply = generate_replies(
                self.model,
                self.tokenizer,
                [self.conversation()],
                max_new_tokens=self.max_new_tokens.value,
                do_sample=self.temperature.value > 0,
                temperature=self.temperature.value,
                top_p=self.top_p.value,
                progress=False,
            )[0]
        except Exception:
            self.messages.pop()  # a failed exchange leaves no unanswered message behind
            self.refresh()
            raise
        self.messages.append({"role": "assistant", "content": reply})
        self.refresh()
        return reply

    def clear(self) -> None:
        """Forget the chat so far (the system prompt stays)."""
        self.messages = []
        self.refresh()

    def refresh(self, pending: bool = False) -> None:
        """Re-render the transcript (with a "thinking" line while a reply is being generated)."""
        thinking = '<div style="color:#6c757d;font-family:sans-serif"><i>' + _("thinking…") + "</i></div>"
        waiting = thinking if pending else ""
        self.transcript.value = chat_transcript_html(self.conversation()) + waiting
        self.send_button.disabled = pending

    def _send_from_input(self, text: str) -> None:
        if not text.strip():
            return  # clearing the box after a send changes its value too
        self.input.value = ""
        try:
            self.send(text)
        except Exception as error:
            # An exception in a widget callback goes to the front-end's log, where nobody looks: show it here.
            failure = html.escape(repr(error))
            message = _("Could not generate a reply: {failure}").format(failure=failure)
            self.transcript.value += f'<div style="color:#c1121f">{message}</div>'

    def _repr_mimebundle_(self, **kwargs) -> dict:
        # Like TemplateExplorer: a saved notebook or nbval, with no widget manager, sees this snapshot.
        bundle = super()._repr_mimebundle_(**kwargs)
        temperature, top_p = self.temperature.value, self.top_p.value
        if temperature == 0:
            decoding = _("greedy")
        else:
            decoding = _("temperature {temperature:.2f}, top_p {top_p:.2f}").format(temperature=temperature, top_p=top_p)
        snapshot = _(
            "Static snapshot of the chat ({decoding}, up to {max_new_tokens} new tokens). "
            "Run the notebook to chat with the model."
        ).format(decoding=decoding, max_new_tokens=self.max_new_tokens.value)
        bundle["text/html"] = f"<p><i>{snapshot}</i></p>{chat_transcript_html(self.conversation())}"
        bundle["text/plain"] = f"ChatWidget({len(self.messages)} messages)"
        return bundle
