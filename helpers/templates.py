"""Chat templates: the model's training template installed, other families' real ones (from TRL), the trained-token view."""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, field

from transformers import AutoTokenizer, PreTrainedTokenizerBase

from helpers.chat_format import TRL_CHAT_TEMPLATES, chat_format

# SmolLM2's format is described in helpers.chatml (every other model's is read from its tokenizer,
# helpers.chat_format); the lessons import these names from here.
from helpers.chatml import END_OF_TURN as END_OF_TURN
from helpers.chatml import SMOLLM2_DEFAULT_SYSTEM as SMOLLM2_DEFAULT_SYSTEM
from helpers.chatml import TRAINING_CHAT_TEMPLATE as TRAINING_CHAT_TEMPLATE
from helpers.i18n import _

_GENERATION_MARKER = re.compile(r"\{%-?\s*generation\s*-?%\}")


def has_generation_markers(template: str) -> bool:
    """Return True when the template marks assistant turns with {% generation %} (whitespace control allowed)."""
    return _GENERATION_MARKER.search(template) is not None


def set_training_template(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Return the same tokenizer, changed in place: its model's training template (helpers.chat_format) set as its chat template.

    For SmolLM2 that is the course's ChatML (TRAINING_CHAT_TEMPLATE); a template that cannot be made
    trainable raises ChatFormatError, saying what is missing and what to do.
    """
    tokenizer.chat_template = chat_format(tokenizer).training_template
    return tokenizer


@dataclass
class TokenView:
    """Tokens of a rendered conversation, each marked trained (True) or not; shows as coloured HTML."""

    tokens: list[str]
    trained: list[bool]
    note: str = ""  # a caveat shown with the view (offline: whose tokenizer split the text)

    @property
    def n_trained(self) -> int:
        return sum(self.trained)

    def _count(self) -> str:
        return _("{trained} of {total} tokens trained").format(trained=self.n_trained, total=len(self.tokens))

    def _repr_html_(self) -> str:
        spans = []
        for token, trained in zip(self.tokens, self.trained):
            style = "background:#b7e4c7;color:#081c15" if trained else "background:#e9ecef;color:#6c757d"
            text = html.escape(token).replace("\n", "↵\n")
            spans.append(f'<span style="{style};border-radius:3px;margin:0 1px">{text}</span>')
        legend = (
            f'<div style="margin-bottom:6px;font-family:sans-serif">'
            f'<span style="background:#b7e4c7;padding:0 4px">{_("trained on")}</span> '
            f'<span style="background:#e9ecef;color:#6c757d;padding:0 4px">{_("context only")}</span> '
            f"· {self._count()}</div>"
        )
        if self.note:
            note_style = "margin-bottom:6px;font-family:sans-serif;color:#6c757d"
            legend += f'<div style="{note_style}"><i>{html.escape(self.note)}</i></div>'
        body = "".join(spans)
        return f'{legend}<div style="font-family:monospace;white-space:pre-wrap;line-height:1.9">{body}</div>'

    def __repr__(self) -> str:
        # Plain-text view for terminals: trained tokens inside [[ ]].
        parts, inside = [], False
        for token, trained in zip(self.tokens, self.trained):
            if trained != inside:
                parts.append("[[" if trained else "]]")
                inside = trained
            parts.append(token)
        if inside:
            parts.append("]]")
        note = f"({self.note})\n" if self.note else ""
        return f"{self._count()}:\n{note}" + "".join(parts)


def trained_tokens(
    tokenizer: PreTrainedTokenizerBase,
    messages: list[dict],
    chat_template: str | None = None,
    add_generation_prompt: bool = False,
    special_tokens: dict[str, str] | None = None,
) -> TokenView:
    """Return the conversation's tokens, each marked by whether a run with assistant-only loss trains on it."""
    template = chat_template or tokenizer.chat_template
    if not template:
        raise ValueError(
            _(
                "This tokenizer has no chat template. Pass one with chat_template=..., or install the course's "
                "with helpers.templates.set_training_template(tokenizer)."
            )
        )
    if not has_generation_markers(template):
        raise ValueError(
            _(
                "This chat template has no {% generation %} markers, so transformers cannot tell which tokens are "
                "the assistant's. Use helpers.templates.set_training_template(tokenizer) or add the markers."
            )
        )
    encoded = tokenizer.apply_chat_template(
        messages,
        chat_template=template,
        add_generation_prompt=add_generation_prompt,
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
        **(special_tokens or {}),  # another family's bos/eos when this tokenizer is not its own
    )
    ids = encoded["input_ids"]
    tokens = [tokenizer.decode([token_id]) for token_id in ids]
    return TokenView(tokens=tokens, trained=[bool(m) for m in encoded["assistant_masks"]])


def training_row_view(tokenizer: PreTrainedTokenizerBase, row: dict) -> TokenView:
    """Return a row of SFTTrainer's prepared dataset as tokens, each marked trained where its label is not -100."""
    # TRL folds the assistant mask into `labels` when it prepares the data: -100 is the loss's "ignore".
    tokens = [tokenizer.decode([token_id]) for token_id in row["input_ids"]]
    return TokenView(tokens=tokens, trained=[label != -100 for label in row["labels"]])


# ── other families: their real templates ─────────────────────────────────────────────────────────

# TRL keeps the real chat templates of many families inside its package, byte for byte as their
# checkpoints ship them, each beside a `_training` variant with {% generation %} markers (the
# README.md in that folder says where each came from). SFTTrainer recognises a model by comparing
# its template with these files, so reading them from the installed TRL (never a copy in this repo)
# keeps lesson 1 showing exactly what this TRL knows (TRL_CHAT_TEMPLATES: that folder).


def trl_chat_template(name: str) -> str:
    """Return the text of the chat template TRL ships as trl/chat_templates/<name>.jinja."""
    path = TRL_CHAT_TEMPLATES / f"{name}.jinja"
    if not path.is_file():
        known = ", ".join(sorted(path.stem for path in TRL_CHAT_TEMPLATES.glob("*.jinja")))
        raise ValueError(_("TRL ships no chat template named {name!r}. The ones it ships: {known}.").format(name=name, known=known))
    return path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Family:
    """A model family's chat format: its real template from TRL offline, its tokenizer from the Hub online."""

    name: str
    hub_id: str  # public and not gated: loaded online
    end_of_turn: str  # the token that closes an assistant reply, the one a model must learn to write
    trl_template: str | None = None  # its file in trl/chat_templates/ (None: SmolLM2, whose template TRL does not ship)
    source: str | None = None  # the checkpoint TRL names as the template's origin (it may be gated)
    # Tokens the template writes through `bos_token`/`eos_token`. Offline another family's tokenizer
    # renders the template, and would otherwise fill in its own (SmolLM2's bos is <|im_start|>).
    special_tokens: dict[str, str] = field(default_factory=dict)

    def chat_template(self, tokenizer: PreTrainedTokenizerBase) -> str:
        """Return the family's real template: TRL's copy, or for SmolLM2 the tokenizer's own."""
        return trl_chat_template(self.trl_template) if self.trl_template else tokenizer.chat_template

    def training_template(self) -> str:
        """Return the family's template with {% generation %} markers: TRL's `_training` variant, or the course's."""
        return trl_chat_template(f"{self.trl_template}_training") if self.trl_template else TRAINING_CHAT_TEMPLATE


# Online, lesson 1 loads each hub_id. Where the checkpoint TRL copied a template from is gated
# (Meta's and Google's are), hub_id is TRL's public test copy of that checkpoint's tokenizer
# (trl-internal-testing, made by TRL's scripts/generate_tiny_models.py), so no login is needed.
# Mistral is not here: TRL ships no plain Mistral template, and mistralai's checkpoints are gated.
FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family("ChatML (SmolLM2, Qwen)", hub_id="HuggingFaceTB/SmolLM2-135M-Instruct", end_of_turn=END_OF_TURN),
        Family(
            "Llama 3",
            hub_id="trl-internal-testing/tiny-LlamaForCausalLM-3",
            end_of_turn="<|eot_id|>",
            trl_template="llama3",
            source="meta-llama/Meta-Llama-3-8B-Instruct",
            special_tokens={"bos_token": "<|begin_of_text|>"},
        ),
        Family(
            "Phi-3",
            hub_id="microsoft/Phi-3-mini-4k-instruct",
            end_of_turn="<|end|>",
            trl_template="phi3",
            source="microsoft/Phi-3-mini-4k-instruct",
            special_tokens={"eos_token": "<|endoftext|>"},
        ),
        Family(
            "Gemma 1/2",
            hub_id="trl-internal-testing/tiny-Gemma2ForCausalLM",
            end_of_turn="<end_of_turn>",
            trl_template="gemma",
            source="google/gemma-2-2b-it",
            special_tokens={"bos_token": "<bos>"},
        ),
        Family(
            "Gemma 3",
            hub_id="trl-internal-testing/tiny-Gemma3ForConditionalGeneration",
            end_of_turn="<end_of_turn>",
            trl_template="gemma3",
            source="google/gemma-3-4b-it",
            special_tokens={"bos_token": "<bos>"},
        ),
    )
}


def family_named(name: str) -> Family:
    """Return the family called name, with a clear error for a name the course does not know."""
    if name not in FAMILIES:
        raise ValueError(
            _("No family named {name!r}. The course knows: {known}.").format(
                name=name, known=", ".join(repr(n) for n in FAMILIES)
            )
        )
    return FAMILIES[name]


@functools.lru_cache(maxsize=None)
def _hub_tokenizer(hub_id: str) -> PreTrainedTokenizerBase | None:
    try:
        return AutoTokenizer.from_pretrained(hub_id)
    except (OSError, ValueError) as error:  # no network after all, a moved repo: fall back, do not stop the lesson
        print(
            _("Could not load {hub_id} from the Hub ({error}); using TRL's copy of its template.").format(
                hub_id=hub_id, error=type(error).__name__
            )
        )
        return None


def _renderer(
    family: Family, tokenizer: PreTrainedTokenizerBase, online: bool, training: bool
) -> tuple[PreTrainedTokenizerBase, str | None, dict[str, str], bool]:
    """Return (tokenizer, template or None for its own, special tokens, whether it is the family's tokenizer)."""
    training_template = family.training_template() if training else None
    hub = _hub_tokenizer(family.hub_id) if online else None
    if hub is not None:
        # The Hub tokenizer brings its own template (None: use it) and its own bos/eos. TRL's copy
        # stands in for a repo that keeps its template with its processor, out of AutoTokenizer's reach.
        own_template = None if hub.chat_template else family.chat_template(tokenizer)
        return hub, training_template or own_template, {}, True
    template = training_template or family.chat_template(tokenizer)
    return tokenizer, template, family.special_tokens, family.trl_template is None


def render_family(
    name: str,
    messages: list[dict],
    tokenizer: PreTrainedTokenizerBase,
    online: bool = False,
    add_generation_prompt: bool = False,
) -> str:
    """Return the conversation in a family's real format (Hub tokenizer online, TRL's copy of the template offline).

    Like the real template, it raises jinja2.TemplateError for a conversation the family refuses
    (Gemma 1/2: a system message).
    """
    family_tokenizer, template, special_tokens, unused = _renderer(family_named(name), tokenizer, online, training=False)
    return family_tokenizer.apply_chat_template(
        messages, chat_template=template, tokenize=False, add_generation_prompt=add_generation_prompt, **special_tokens
    )


def family_trained_tokens(
    name: str,
    messages: list[dict],
    tokenizer: PreTrainedTokenizerBase,
    online: bool = False,
    add_generation_prompt: bool = False,
) -> TokenView:
    """Return the conversation's tokens under a family's training template, each marked trained or not."""
    family = family_named(name)
    family_tokenizer, template, special_tokens, own = _renderer(family, tokenizer, online, training=True)
    view = trained_tokens(
        family_tokenizer, messages, chat_template=template, add_generation_prompt=add_generation_prompt,
        special_tokens=special_tokens,
    )
    if not own:
        view.note = _(
            "These are SmolLM2's tokens: it does not know {family}'s special tokens, so {end_of_turn} "
            "shows as several pieces, where {family}'s own tokenizer (loaded online) reads one token."
        ).format(family=family.name, end_of_turn=family.end_of_turn)
    return view
