"""A model's chat format, read from its tokenizer: the template to train with, the token that ends a turn, where to stop.

The course trains every model in the model's own format. From the tokenizer's chat template,
`chat_format` finds:
- the training template: the same format with {% generation %} markers around each assistant reply,
  which assistant-only loss needs. The template itself where it has them; TRL's training variant where
  TRL knows the template (`get_training_chat_template`); the course's ChatML for SmolLM2
  (helpers.chatml), whose template TRL does not know; otherwise a clear error;
- the end-of-turn token: the special token the template closes an assistant reply with, found by
  rendering a probe conversation. It is SFTConfig's `eos_token` (TRL adds it to the trained model's
  generation config, so the model stops there) and a stop id for generation.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import trl
from jinja2 import TemplateError
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from trl.chat_template_utils import get_training_chat_template

from helpers.chatml import END_OF_TURN as CHATML_END_OF_TURN
from helpers.chatml import START_OF_TURN as CHATML_START_OF_TURN
from helpers.chatml import TRAINING_CHAT_TEMPLATE
from helpers.i18n import _

# TRL keeps the real chat templates of many families inside its package, each beside a `_training`
# variant (helpers.templates.trl_chat_template reads one).
TRL_CHAT_TEMPLATES = Path(importlib.util.find_spec("trl").origin).parent / "chat_templates"

# A reply that no template changes (no spaces to trim, no special tokens), between two user turns:
# the template closes the reply's turn before the next one opens. TRL probes the same way, because
# some templates end the last turn of a conversation differently (Phi-3 adds its eos there).
_REPLY = "chat-format-probe-reply"
_PROBE = [
    {"role": "user", "content": "chat-format-probe-question"},
    {"role": "assistant", "content": _REPLY},
    {"role": "user", "content": "chat-format-probe-thanks"},
]
# Conversations on which a template must render exactly like SmolLM2's to be trained with the course's ChatML.
_SMOLLM2_PROBES = [
    (_PROBE[:2] + [{"role": "user", "content": "again"}, {"role": "assistant", "content": "reply"}], False),
    ([{"role": "system", "content": "guidelines"}] + _PROBE[:2], False),
    (_PROBE[:1], True),
    ([{"role": "system", "content": "guidelines"}] + _PROBE, True),
]


class ChatFormatError(ValueError):
    """A model's chat format that the course cannot train or generate with; the message says why and what to do."""


@dataclass(frozen=True)
class ChatFormat:
    """A model's chat format as the course trains and generates with it (helpers.chat_format.chat_format reads it)."""

    model: str  # the tokenizer's Hub id or folder
    training_template: str | None  # its template with {% generation %} markers; None where it cannot be made trainable
    template_source: str  # where training_template came from
    end_of_turn: str  # the special token that closes an assistant reply: the one a model must learn to write
    end_of_turn_id: int
    problem: str | None = None  # why there is no training template (the error set_training_template raises)

    @property
    def eos_token(self) -> str:
        """Return SFTConfig's eos_token for this model: its end of turn, so that the trained model stops there."""
        return self.end_of_turn

    def stop_ids(self, model: PreTrainedModel) -> list[int]:
        """Return the token ids generation stops at: the model's generation config's end tokens, then the end of turn."""
        # `generate` stops only at generation_config.eos_token_id. A base model's config names its
        # end-of-document token alone, so a bare `generate` runs past the end of the assistant's turn.
        configured = model.generation_config.eos_token_id
        ids = [] if configured is None else [configured] if isinstance(configured, int) else list(configured)
        return ids if self.end_of_turn_id in ids else [*ids, self.end_of_turn_id]


def _cannot_train(model: str, missing: str) -> str:
    remedy = _(
        "Set SFT_COURSE_BASE_MODEL to a model whose template TRL knows (README.md, \"Use another model\"), or set "
        "tokenizer.chat_template to a template with {% generation %} markers around each assistant reply and its "
        "end-of-turn token (helpers/chatml.py shows one)."
    )
    return _("{model} cannot be fine-tuned by the course: {missing}. {remedy}").format(
        model=model, missing=missing, remedy=remedy
    )


def _has_chatml_tokens(tokenizer: PreTrainedTokenizerBase) -> bool:
    vocabulary = tokenizer.get_added_vocab()
    return CHATML_START_OF_TURN in vocabulary and CHATML_END_OF_TURN in vocabulary


def _render(tokenizer: PreTrainedTokenizerBase, messages: list[dict], template: str, add_generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(
        messages, chat_template=template, tokenize=False, add_generation_prompt=add_generation_prompt
    )


def _renders_like_smollm2(tokenizer: PreTrainedTokenizerBase, template: str) -> bool:
    try:
        return all(
            _render(tokenizer, messages, template, prompt) == _render(tokenizer, messages, TRAINING_CHAT_TEMPLATE, prompt)
            for messages, prompt in _SMOLLM2_PROBES
        )
    except TemplateError:
        return False


def _trl_file(template: str) -> str:
    """Return the name of the file in trl/chat_templates/ that holds the template ("?" where none does)."""
    matches = (path.name for path in sorted(TRL_CHAT_TEMPLATES.glob("*.jinja")) if path.read_text(encoding="utf-8") == template)
    return next(matches, "?")


def _training_template(tokenizer: PreTrainedTokenizerBase, own: str | None) -> tuple[str | None, str]:
    """Return (the training template or None, where it comes from)."""
    course = _("the course's ChatML for SmolLM2 (helpers/chatml.py)")
    if own is None:
        # SmolLM2's base models ship no chat template; their vocabulary has ChatML's tokens (_has_chatml_tokens).
        return TRAINING_CHAT_TEMPLATE, course
    try:
        patched = get_training_chat_template(tokenizer)
    except (ValueError, TemplateError):  # TRL does not know the template
        if _has_chatml_tokens(tokenizer) and _renders_like_smollm2(tokenizer, own):
            return TRAINING_CHAT_TEMPLATE, course
        return None, _("none")
    if patched is None:
        return own, _("the model's own template (it has {% generation %} markers)")
    return patched, _("TRL's {file}").format(file=_trl_file(patched))


def _end_of_turn(tokenizer: PreTrainedTokenizerBase, template: str) -> int | None:
    """Return the id of the special token the template closes an assistant reply with (None: it writes text first, or nothing)."""
    try:
        text = _render(tokenizer, _PROBE, template, add_generation_prompt=False)
    except TemplateError:
        return None
    if _REPLY not in text:
        return None
    special = set(tokenizer.get_added_vocab().values()) | set(tokenizer.all_special_ids)
    for token_id in tokenizer(text.split(_REPLY, 1)[1], add_special_tokens=False)["input_ids"]:
        if token_id in special:
            return token_id
        if tokenizer.decode([token_id]).strip():
            return None  # the reply runs on into plain text: no token marks where the turn ends
    return None


def _trained_end_of_turn(tokenizer: PreTrainedTokenizerBase, training_template: str) -> int | None:
    """Return the last token the training template trains in an assistant reply (trailing whitespace left out), or None."""
    encoded = tokenizer.apply_chat_template(
        _PROBE, chat_template=training_template, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    trained = [token_id for token_id, mask in zip(encoded["input_ids"], encoded["assistant_masks"]) if mask]
    while trained and not tokenizer.decode([trained[-1]]).strip():
        trained.pop()
    return trained[-1] if trained else None


def chat_format(tokenizer: PreTrainedTokenizerBase, training: bool = True) -> ChatFormat:
    """Return the chat format read from the tokenizer's chat template; raise ChatFormatError when it cannot be trained (training=True).

    With training=False (generation only) a template that cannot be made trainable is accepted:
    the format then has no training template and says why in `problem`.
    """
    model = tokenizer.name_or_path or type(tokenizer).__name__
    own = tokenizer.chat_template
    if isinstance(own, dict):  # a template shipped as named variants: the default one is the chat
        own = own.get("default")
    if own is None and not _has_chatml_tokens(tokenizer):
        raise ChatFormatError(_cannot_train(model, _("its tokenizer has no chat template")))
    training_template, source = _training_template(tokenizer, own)
    end_of_turn_id = _end_of_turn(tokenizer, own or training_template)
    if end_of_turn_id is None:
        raise ChatFormatError(
            _cannot_train(
                model,
                _("its chat template ends an assistant reply with no special token, so nothing tells the model its turn is over"),
            )
        )
    end_of_turn = tokenizer.convert_ids_to_tokens(end_of_turn_id)
    problem = None
    if training_template is None:
        problem = _cannot_train(
            model,
            _("its chat template has no {{% generation %}} markers, and TRL {version} has no training variant of it").format(
                version=trl.__version__
            ),
        )
    elif _trained_end_of_turn(tokenizer, training_template) != end_of_turn_id:
        problem = _cannot_train(
            model,
            _(
                "its training template ({source}) leaves the end-of-turn token {end_of_turn} out of the trained tokens, "
                "so a fine-tuned model would never learn to stop"
            ).format(source=source, end_of_turn=end_of_turn),
        )
        training_template = None
    if problem and training:
        raise ChatFormatError(problem)
    return ChatFormat(
        model=model,
        training_template=training_template,
        template_source=source,
        end_of_turn=end_of_turn,
        end_of_turn_id=end_of_turn_id,
        problem=problem,
    )
