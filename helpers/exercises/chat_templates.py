"""Checks for lesson 1's exercises (chat templates)."""

from __future__ import annotations

from collections.abc import Callable

from jinja2 import TemplateError
from transformers import PreTrainedTokenizerBase

from helpers.data import load_support_desk
from helpers.exercises import Feedback, failed, first_difference, not_attempted, passed
from helpers.i18n import _
from helpers.templates import has_generation_markers, trained_tokens

ZEPHYR_DEFAULT_SYSTEM = "You are a friendly support agent."

# The hard exercise's answer, kept here so the check can compare renderings and masks.
_ZEPHYR_REFERENCE = (
    "{%- if messages[0]['role'] != 'system' -%}"
    "{{ '<|system|>\\n" + ZEPHYR_DEFAULT_SYSTEM + "</s>\\n' }}"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "{{ '<|' + message['role'] + '|>\\n' }}"
    "{%- if message['role'] == 'assistant' -%}"
    "{% generation %}{{ message['content'] + '</s>' }}{% endgeneration %}{{ '\\n' }}"
    "{%- else -%}{{ message['content'] + '</s>\\n' }}{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|assistant|>\\n' }}{%- endif -%}"
)

_CHECK_CONVERSATIONS = [
    [{"role": "user", "content": "Is my router covered?"}, {"role": "assistant", "content": "Yes, for two years."}],
    [
        {"role": "system", "content": "Answer in one line."},
        {"role": "user", "content": "Hi!"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Reset steps?"},
        {"role": "assistant", "content": "Hold the button for 10 s."},
    ],
]


def check_generation_prompt(answer, tokenizer: PreTrainedTokenizerBase, conversation: list[dict]) -> Feedback:
    """Return Feedback, truthy when answer is the conversation rendered as text, ready for the model to reply (easy)."""
    if answer is None:
        return not_attempted(_("a call to tokenizer.apply_chat_template(...)"))
    expected = tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    if not isinstance(answer, str):
        return failed(
            _("Expected text (a str) but got {type_name}.").format(type_name=type(answer).__name__),
            _("pass tokenize=False to get text instead of token ids."),
        )
    if answer == tokenizer.apply_chat_template(conversation, tokenize=False):
        return failed(
            _("The conversation is rendered, but it stops after the last user turn."),
            _("add_generation_prompt=True appends the header that tells the model it is its turn to speak."),
        )
    if answer != expected:
        return failed(
            _("Not the expected text: {difference}").format(difference=first_difference(expected, answer)),
            _("render `conversation` itself."),
        )
    return passed(_("Correct: the text ends with '<|im_start|>assistant\\n', so the model knows it is its turn."))


def check_token_counts(count_tokens: Callable[[dict], int] | None, tokenizer: PreTrainedTokenizerBase) -> Feedback:
    """Return Feedback, truthy when count_tokens(row) gives the number of tokens a training run reads for a row (medium)."""
    if count_tokens is None:
        return not_attempted(_("your function count_tokens(row)"))
    rows = load_support_desk("validation")
    longest = 0
    for index, row in enumerate(rows):
        try:
            got = count_tokens(row)
        except Exception as error:  # the learner's code: report any failure kindly
            return failed(
                _("count_tokens raised {error_type}: {error} (on validation row {index}).").format(
                    error_type=type(error).__name__, error=error, index=index
                )
            )
        with_prompt = len(tokenizer.apply_chat_template(row["messages"], add_generation_prompt=True)["input_ids"])
        expected = len(tokenizer.apply_chat_template(row["messages"])["input_ids"])
        longest = max(longest, expected)
        if got == expected:
            continue
        if not isinstance(got, int):
            return failed(
                _("count_tokens should return an int, but returned {type_name} (row {index}).").format(
                    type_name=type(got).__name__, index=index
                )
            )
        if got == 2:
            return failed(
                _("Row {index}: got 2, the number of keys in what apply_chat_template returns.").format(index=index),
                _("it returns a BatchEncoding (a dict); count the ids in its 'input_ids'."),
            )
        if got == with_prompt:
            return failed(
                _("Row {index}: got {got}, which includes a generation prompt.").format(index=index, got=got),
                _("a training row already ends with the assistant's reply: leave add_generation_prompt off."),
            )
        if got == len(tokenizer.apply_chat_template(row["messages"], tokenize=False)):
            return failed(
                _("Row {index}: got {got}, the number of characters.").format(index=index, got=got),
                _("count token ids, not characters."),
            )
        return failed(
            _("Row {index}: expected {expected} tokens, got {got}.").format(index=index, expected=expected, got=got),
            _("tokenize the row's 'messages' with the chat template."),
        )
    return passed(
        _(
            "Correct on all {rows} validation rows. The longest has {longest} tokens: "
            "a max_length above that never cuts a reply short."
        ).format(rows=len(rows), longest=longest)
    )


def check_training_template(template: str | None, tokenizer: PreTrainedTokenizerBase) -> Feedback:
    """Return Feedback, truthy when template renders the Zephyr format and trains on exactly the assistant replies (hard)."""
    if template is None:
        return not_attempted(_("your Jinja template string"))
    if not isinstance(template, str):
        return failed(_("Expected a template string, got {type_name}.").format(type_name=type(template).__name__))
    if not has_generation_markers(template):
        return failed(
            _("The template has no {% generation %} markers, so no token would be trained on."),
            _("wrap each assistant reply and its </s> in {% generation %} ... {% endgeneration %}."),
        )
    for conversation in _CHECK_CONVERSATIONS:
        for add_generation_prompt in (False, True):
            expected = tokenizer.apply_chat_template(
                conversation, chat_template=_ZEPHYR_REFERENCE, tokenize=False, add_generation_prompt=add_generation_prompt
            )
            try:
                got = tokenizer.apply_chat_template(
                    conversation, chat_template=template, tokenize=False, add_generation_prompt=add_generation_prompt
                )
            except TemplateError as error:
                return failed(_("Jinja could not render the template: {error}").format(error=error))
            if got != expected:
                if add_generation_prompt:
                    problem = _("The rendering with add_generation_prompt is off: {difference}")
                else:
                    problem = _("The rendering without add_generation_prompt is off: {difference}")
                return failed(
                    problem.format(difference=first_difference(expected, got)),
                    _("compare with the format above, character by character (newlines count)."),
                )
        expected_view = trained_tokens(tokenizer, conversation, chat_template=_ZEPHYR_REFERENCE)
        got_view = trained_tokens(tokenizer, conversation, chat_template=template)
        if got_view.trained != expected_view.trained:
            wrong = [
                repr(token)
                for token, want, have in zip(got_view.tokens, expected_view.trained, got_view.trained)
                if want != have
            ]
            return failed(
                _("The text is right but the trained tokens are not: these are marked wrongly: {tokens}.").format(
                    tokens=", ".join(wrong[:8])
                ),
                _("only the assistant's reply and its </s> go inside {% generation %}; the newline after stays outside."),
            )
    return passed(_("Correct: Zephyr format, a default system prompt, and only the assistant replies are trained on."))
