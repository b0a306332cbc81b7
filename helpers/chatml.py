"""SmolLM2's chat format, ChatML: its default system prompt, its end-of-turn token, and the course's training-ready copy of its template.

The one place that describes SmolLM2's format. Every other model's format is read from its own
tokenizer (helpers.chat_format); SmolLM2 needs this description because TRL ships no training
variant of its template, and its base model ships no template at all.
"""

SMOLLM2_DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
# ChatML opens every turn with <|im_start|> and ends it with this token. A chat model stops generating
# there; a base model has never been told to (its generation config stops only at <|endoftext|>).
START_OF_TURN = "<|im_start|>"
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
