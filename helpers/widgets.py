"""Interactive explorers (ipywidgets) that fall back to a static view when no front-end is attached."""

from __future__ import annotations

import html

import ipywidgets as widgets
from transformers import PreTrainedTokenizerBase

from helpers.templates import FAMILY_TEMPLATES, trained_tokens

ROLES = ("system", "user", "assistant")


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
            raise ValueError(f"line {number} should start with one of {', '.join(r + ':' for r in ROLES)}")
    if not messages:
        raise ValueError("the conversation is empty: write at least one line such as 'user: Hello!'")
    return messages


class TemplateExplorer(widgets.VBox):
    """Pick a template family, edit a conversation, toggle add_generation_prompt; see text and trained tokens."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, messages: list[dict]):
        self.tokenizer = tokenizer
        self.family = widgets.Dropdown(options=list(FAMILY_TEMPLATES), description="Family")
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
                widgets.HTML("<b>Rendered text</b>"),
                self.rendered,
                widgets.HTML("<b>Tokens a training run learns from</b>"),
                self.tokens,
            ]
        )
        self.refresh()

    def refresh(self) -> None:
        """Re-render the text and the trained tokens from the current controls."""
        self.rendered.value, self.tokens.value = self._views()

    def _views(self) -> tuple[str, str]:
        template = FAMILY_TEMPLATES[self.family.value]
        try:
            messages = text_to_conversation(self.conversation.value)
        except ValueError as error:
            message = f'<span style="color:#c1121f">Cannot read the conversation: {html.escape(str(error))}</span>'
            return message, ""
        text = self.tokenizer.apply_chat_template(
            messages,
            chat_template=template,
            tokenize=False,
            add_generation_prompt=self.generation_prompt.value,
        )
        token_view = trained_tokens(
            self.tokenizer, messages, chat_template=template, add_generation_prompt=self.generation_prompt.value
        )
        return f"<pre>{html.escape(text)}</pre>", token_view._repr_html_()

    def _repr_mimebundle_(self, **kwargs) -> dict:
        # A live front-end (JupyterLab, Colab) shows the widget view; a saved notebook, nbval or
        # any viewer without a widget manager falls back to this static snapshot of the same views.
        bundle = super()._repr_mimebundle_(**kwargs)
        rendered, tokens = self._views()
        bundle["text/html"] = (
            f"<p><i>Static snapshot: family <b>{html.escape(self.family.value)}</b>, "
            f"add_generation_prompt={self.generation_prompt.value}. Run the notebook to interact.</i></p>"
            f"{rendered}{tokens}"
        )
        bundle["text/plain"] = f"TemplateExplorer(family={self.family.value!r})"
        return bundle
