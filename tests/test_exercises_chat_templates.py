"""Tests for helpers.exercises.chat_templates: lesson 1's checks, with the notebooks' training-template tokenizer."""


from feedback_asserts import fails_with, in_vietnamese

from helpers.exercises import chat_templates as check
from helpers.support_desk import SYSTEM_PROMPT

EASY_CONVERSATION = [
    {"role": "system", "content": SYSTEM_PROMPT},
    {"role": "user", "content": "Where is my order #48213?"},
]
# The hard exercise answered as a learner might: written here, independently of the check's own
# reference, in other Jinja (attribute access, ~ to join, the header inside each branch).
LEARNER_ANSWER = (
    "{%- if messages[0].role != 'system' -%}{{ '<|system|>\\n" + check.ZEPHYR_DEFAULT_SYSTEM + "</s>\\n' }}{%- endif -%}"
    "{%- for message in messages -%}"
    "{%- if message.role == 'assistant' -%}"
    "{{ '<|assistant|>\\n' }}{% generation %}{{ message.content ~ '</s>' }}{% endgeneration %}{{ '\\n' }}"
    "{%- else -%}{{ '<|' ~ message.role ~ '|>\\n' ~ message.content ~ '</s>\\n' }}{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|assistant|>\\n' }}{%- endif -%}"
)


# ── Feedback ──────────────────────────────────────────────────────────────────────────────────────


# ── easy: add_generation_prompt ───────────────────────────────────────────────────────────────────


def test_easy_not_attempted(training_tokenizer):
    feedback = check.check_generation_prompt(None, training_tokenizer, EASY_CONVERSATION)
    assert not feedback and "Not attempted" in feedback.message


def test_easy_correct(training_tokenizer):
    answer = training_tokenizer.apply_chat_template(EASY_CONVERSATION, tokenize=False, add_generation_prompt=True)
    feedback = check.check_generation_prompt(answer, training_tokenizer, EASY_CONVERSATION)
    assert feedback and feedback.message.startswith("✅")


def test_easy_token_ids_instead_of_text(training_tokenizer):
    answer = training_tokenizer.apply_chat_template(EASY_CONVERSATION, add_generation_prompt=True)
    fails_with(check.check_generation_prompt(answer, training_tokenizer, EASY_CONVERSATION), "tokenize=False")


def test_easy_missing_generation_prompt(training_tokenizer):
    answer = training_tokenizer.apply_chat_template(EASY_CONVERSATION, tokenize=False)
    fails_with(
        check.check_generation_prompt(answer, training_tokenizer, EASY_CONVERSATION),
        "stops after the last user turn",
        "add_generation_prompt=True",
    )


def test_easy_other_text_shows_the_difference(training_tokenizer):
    answer = training_tokenizer.apply_chat_template(EASY_CONVERSATION[1:], tokenize=False, add_generation_prompt=True)
    fails_with(check.check_generation_prompt(answer, training_tokenizer, EASY_CONVERSATION), "differ at character")


# ── medium: counting tokens ───────────────────────────────────────────────────────────────────────


def test_medium_not_attempted(training_tokenizer):
    feedback = check.check_token_counts(None, training_tokenizer)
    assert not feedback and "Not attempted" in feedback.message


def test_medium_correct(training_tokenizer):
    feedback = check.check_token_counts(
        lambda row: len(training_tokenizer.apply_chat_template(row["messages"])["input_ids"]), training_tokenizer
    )
    assert feedback and feedback.message.startswith("✅")
    assert "all 100 validation rows" in feedback.message


def test_medium_len_of_batch_encoding(training_tokenizer):
    feedback = check.check_token_counts(
        lambda row: len(training_tokenizer.apply_chat_template(row["messages"])), training_tokenizer
    )
    fails_with(feedback, "got 2", "BatchEncoding")


def test_medium_counting_with_generation_prompt(training_tokenizer):
    feedback = check.check_token_counts(
        lambda row: len(training_tokenizer.apply_chat_template(row["messages"], add_generation_prompt=True)["input_ids"]),
        training_tokenizer,
    )
    fails_with(feedback, "includes a generation prompt")


def test_medium_counting_characters(training_tokenizer):
    feedback = check.check_token_counts(
        lambda row: len(training_tokenizer.apply_chat_template(row["messages"], tokenize=False)), training_tokenizer
    )
    fails_with(feedback, "the number of characters")


def test_medium_function_that_raises(training_tokenizer):
    feedback = check.check_token_counts(lambda row: row["text"], training_tokenizer)
    fails_with(feedback, "count_tokens raised KeyError", "validation row 0")


def test_medium_not_an_int(training_tokenizer):
    fails_with(check.check_token_counts(lambda row: "many", training_tokenizer), "should return an int")


def test_medium_off_by_one(training_tokenizer):
    feedback = check.check_token_counts(
        lambda row: len(training_tokenizer.apply_chat_template(row["messages"])["input_ids"]) + 1, training_tokenizer
    )
    fails_with(feedback, "Row 0: expected")


# ── hard: a Zephyr training template ──────────────────────────────────────────────────────────────


def test_hard_not_attempted(training_tokenizer):
    feedback = check.check_training_template(None, training_tokenizer)
    assert not feedback and "Not attempted" in feedback.message


def test_hard_correct(training_tokenizer):
    feedback = check.check_training_template(LEARNER_ANSWER, training_tokenizer)
    assert feedback and feedback.message.startswith("✅")


def test_hard_not_a_string(training_tokenizer):
    fails_with(check.check_training_template(42, training_tokenizer), "Expected a template string")


def test_hard_no_generation_markers(training_tokenizer):
    # A template that never mentions generation at all (nor add_generation_prompt).
    template = "{% for message in messages %}{{ message['content'] }}{% endfor %}"
    fails_with(check.check_training_template(template, training_tokenizer), "no {% generation %} markers")


def test_hard_reference_text_without_generation_markers(training_tokenizer):
    template = LEARNER_ANSWER.replace("{% generation %}", "").replace("{% endgeneration %}", "")
    fails_with(check.check_training_template(template, training_tokenizer), "no {% generation %} markers")


def test_hard_correct_with_whitespace_trimmed_markers(training_tokenizer):
    template = LEARNER_ANSWER.replace("{% generation %}", "{%- generation -%}").replace(
        "{% endgeneration %}", "{%- endgeneration -%}"
    )
    assert check.check_training_template(template, training_tokenizer)


def test_hard_wrong_end_token(training_tokenizer):
    template = LEARNER_ANSWER.replace("</s>", "<|end|>")
    fails_with(
        check.check_training_template(template, training_tokenizer),
        "rendering without add_generation_prompt is off",
        "differ at character",
    )


def test_hard_missing_generation_prompt(training_tokenizer):
    template = LEARNER_ANSWER.replace("{%- if add_generation_prompt -%}{{ '<|assistant|>\\n' }}{%- endif -%}", "")
    assert template != LEARNER_ANSWER
    fails_with(
        check.check_training_template(template, training_tokenizer), "rendering with add_generation_prompt is off"
    )


def test_hard_newline_inside_the_generation_block(training_tokenizer):
    template = LEARNER_ANSWER.replace("'</s>' }}{% endgeneration %}{{ '\\n' }}", "'</s>\\n' }}{% endgeneration %}")
    assert template != LEARNER_ANSWER
    fails_with(
        check.check_training_template(template, training_tokenizer),
        "The text is right but the trained tokens are not",
        "'\\n'",
        "the newline after stays outside",
    )


def test_hard_jinja_syntax_error(training_tokenizer):
    template = LEARNER_ANSWER.replace("{%- endfor -%}", "{%- endfor")
    fails_with(check.check_training_template(template, training_tokenizer), "Jinja could not render the template")


# ── the Vietnamese edition ────────────────────────────────────────────────────────────────────────


def test_a_check_speaks_vietnamese_in_the_vietnamese_notebooks(vietnamese, training_tokenizer):
    english = check.check_training_template(42, training_tokenizer).message
    assert english == "❌ Expected a template string, got int."
    expected = in_vietnamese(vietnamese, "Expected a template string, got {type_name}.", type_name="int")
    vietnamese.on()
    assert check.check_training_template(42, training_tokenizer).message == expected != english
