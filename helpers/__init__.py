"""Helpers for the supervised fine-tuning course: plumbing the lessons import so their own code stays visible.

Modules: course (the lessons and the languages of their editions), environment (hardware, network, profile),
models (which SmolLM2, loading it), chatml (SmolLM2's chat format), chat_format (any model's chat format,
read from its tokenizer), stand_ins (other families' offline stand-ins), lora (what an adapter targets),
company (Nimbus's facts), topics (its request topics, from a data file),
house_style (the reply format, its writer and its scorer), support_desk (the bundled dataset's generator),
bookings (the second bundled task's generator), data (loaders, validation), own_data (the learner's own data:
read, mapped to messages, checked, split), task_checks (a task's own check of a reply, e.g. JSON fields),
templates (chat templates, trained-token view), generation (batched replies), reply_cache (greedy replies and scores kept on disk),
training (precision, mixed precision undone, TRL's loss on a CPU), recipe (lesson 2's recipe, its model found or trained),
measurements (memory, speed, the run summary), trl_cli (TRL's command-line files),
monitoring (callbacks and logs while training), evaluation (perplexity, multiple choice),
intervals (confidence intervals), plots (figures), widgets (interactive explorers),
colab (the Colab badge and set-up cell), i18n (the learner's language), exercises (checks with feedback).
"""

import warnings

# TRL 1.16 itself still uses transformers' old gradient-checkpointing names, so every run warns
# about a rename the learner cannot act on (the lessons already use activation_checkpointing).
warnings.filterwarnings("ignore", message=r"`(is_)?gradient_checkpointing` is deprecated", category=FutureWarning)
