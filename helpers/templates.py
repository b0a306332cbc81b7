"""Chat templates: a training-ready ChatML for SmolLM2, other families' formats, and the trained-token view."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from transformers import AutoTokenizer, PreTrainedTokenizerBase

SMOLLM2_DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
# ChatML ends every turn with this token. A chat model stops generating there; a base model has
# never been told to (its generation config stops only at <|endoftext|>).
END_OF_TURN = "<|im_end|>"

# SmolLM2's own ChatML template, rewritten so that every assistant reply and its <|im_end|> sit
# inside {% generation %} markers: transformers (return_assistant_tokens_mask) and TRL
# (assistant_only_loss) read those markers to know which tokens a run learns from. For inference
# it renders exactly what SmolLM2's template renders; tests/test_templates.py checks every row.
TRAINING_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if loop.first and messages[0]['role'] != 'system' -%}"
    "{{ '<|im_start|>system\\n" + SMOLLM2_DEFAULT_SYSTEM + "<|im_end|>\\n' }}"
    "{%- endif -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{ '<|im_start|>assistant\\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\\n' }}"
    "{%- else -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)

# Other families, written by the course from each family's public prompt format (simplified:
# no tools, no dates). Each marks its assistant turns with {% generation %} so the same
# trained-token view works for all of them. Offline, these are what lesson 1 compares.
FAMILY_TEMPLATES = {
    "ChatML (SmolLM2, Qwen)": TRAINING_CHAT_TEMPLATE,
    "Llama 3": (
        "{{ '<|begin_of_text|>' }}"
        "{%- for message in messages -%}"
        "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
        "{%- if message['role'] == 'assistant' -%}"
        "{% generation %}{{ message['content'] + '<|eot_id|>' }}{% endgeneration %}"
        "{%- else -%}{{ message['content'] + '<|eot_id|>' }}{%- endif -%}"
        "{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif -%}"
    ),
    "Mistral": (
        "{{ '<s>' }}"
        "{%- for message in messages -%}"
        "{%- if message['role'] == 'user' -%}"
        "{{ '[INST] ' }}{%- if loop.index0 == 1 and messages[0]['role'] == 'system' -%}"
        "{{ messages[0]['content'] + '\\n\\n' }}{%- endif -%}{{ message['content'] + ' [/INST]' }}"
        "{%- elif message['role'] == 'assistant' -%}"
        "{% generation %}{{ message['content'] + '</s>' }}{% endgeneration %}"
        "{%- endif -%}"
        "{%- endfor -%}"
    ),
    "Gemma": (
        "{{ '<bos>' }}"
        "{%- for message in messages -%}"
        "{%- if message['role'] == 'user' -%}"
        "{{ '<start_of_turn>user\\n' }}{%- if loop.index0 == 1 and messages[0]['role'] == 'system' -%}"
        "{{ messages[0]['content'] + '\\n\\n' }}{%- endif -%}{{ message['content'] + '<end_of_turn>\\n' }}"
        "{%- elif message['role'] == 'assistant' -%}"
        "{{ '<start_of_turn>model\\n' }}{% generation %}{{ message['content'] + '<end_of_turn>' }}{% endgeneration %}"
        "{{ '\\n' }}"
        "{%- endif -%}"
        "{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\\n' }}{%- endif -%}"
    ),
    "Phi-3": (
        "{%- for message in messages -%}"
        "{{ '<|' + message['role'] + '|>\\n' }}"
        "{%- if message['role'] == 'assistant' -%}"
        "{% generation %}{{ message['content'] + '<|end|>' }}{% endgeneration %}{{ '\\n' }}"
        "{%- else -%}{{ message['content'] + '<|end|>\\n' }}{%- endif -%}"
        "{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{ '<|assistant|>\\n' }}{%- endif -%}"
    ),
}

# Online, lesson 1 loads these real tokenizers instead (all public, none gated).
FAMILY_HUB_TOKENIZERS = {
    "ChatML (SmolLM2, Qwen)": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "Llama 3": "unsloth/Llama-3.2-1B-Instruct",
    "Mistral": "unsloth/mistral-7b-instruct-v0.3",
    "Gemma": "unsloth/gemma-2-2b-it",
    "Phi-3": "microsoft/Phi-3-mini-4k-instruct",
}


_GENERATION_MARKER = re.compile(r"\{%-?\s*generation\s*-?%\}")


def has_generation_markers(template: str) -> bool:
    """Return True when the template marks assistant turns with {% generation %} (whitespace control allowed)."""
    return _GENERATION_MARKER.search(template) is not None


def use_training_template(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Return the tokenizer with the course's training-ready ChatML template installed."""
    tokenizer.chat_template = TRAINING_CHAT_TEMPLATE
    return tokenizer


def render_families(
    messages: list[dict],
    tokenizer: PreTrainedTokenizerBase,
    online: bool = False,
    add_generation_prompt: bool = False,
) -> dict[str, str]:
    """Return each family's rendering of the conversation: real Hub tokenizers online, the course's templates offline."""
    rendered = {}
    for family, template in FAMILY_TEMPLATES.items():
        if online:
            family_tokenizer, template = AutoTokenizer.from_pretrained(FAMILY_HUB_TOKENIZERS[family]), None
        else:
            # Any tokenizer renders any template string: apply_chat_template(chat_template=...).
            family_tokenizer = tokenizer
        rendered[family] = family_tokenizer.apply_chat_template(
            messages, chat_template=template, tokenize=False, add_generation_prompt=add_generation_prompt
        )
    return rendered


@dataclass
class TokenView:
    """Tokens of a rendered conversation, each marked trained (True) or not; shows as coloured HTML."""

    tokens: list[str]
    trained: list[bool]

    @property
    def n_trained(self) -> int:
        return sum(self.trained)

    def _repr_html_(self) -> str:
        spans = []
        for token, trained in zip(self.tokens, self.trained):
            style = "background:#b7e4c7;color:#081c15" if trained else "background:#e9ecef;color:#6c757d"
            text = html.escape(token).replace("\n", "↵\n")
            spans.append(f'<span style="{style};border-radius:3px;margin:0 1px">{text}</span>')
        legend = (
            f'<div style="margin-bottom:6px;font-family:sans-serif">'
            f'<span style="background:#b7e4c7;padding:0 4px">trained on</span> '
            f'<span style="background:#e9ecef;color:#6c757d;padding:0 4px">context only</span> '
            f"· {self.n_trained} of {len(self.tokens)} tokens trained</div>"
        )
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
        return f"{self.n_trained} of {len(self.tokens)} tokens trained:\n" + "".join(parts)


def trained_tokens(
    tokenizer: PreTrainedTokenizerBase,
    messages: list[dict],
    chat_template: str | None = None,
    add_generation_prompt: bool = False,
) -> TokenView:
    """Return the conversation's tokens, each marked by whether a run with assistant-only loss trains on it."""
    template = chat_template or tokenizer.chat_template
    if not template:
        raise ValueError(
            "This tokenizer has no chat template. Pass one with chat_template=..., or install the course's "
            "with helpers.templates.use_training_template(tokenizer)."
        )
    if not has_generation_markers(template):
        raise ValueError(
            "This chat template has no {% generation %} markers, so transformers cannot tell which tokens are "
            "the assistant's. Use helpers.templates.use_training_template(tokenizer) or add the markers."
        )
    encoded = tokenizer.apply_chat_template(
        messages,
        chat_template=template,
        add_generation_prompt=add_generation_prompt,
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    ids = encoded["input_ids"]
    tokens = [tokenizer.decode([token_id]) for token_id in ids]
    return TokenView(tokens=tokens, trained=[bool(m) for m in encoded["assistant_masks"]])
