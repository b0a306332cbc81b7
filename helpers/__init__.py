"""Helpers for the supervised fine-tuning course: plumbing the lessons import so their own code stays visible.

Modules: environment (hardware, network, profile), models (which SmolLM2, loading it),
support_desk (the bundled dataset's company and generator), data (loaders, validation),
house_style (the reply format, its writer and its scorer), templates (chat templates, trained-token view),
generation (batched replies), training (precision, lesson 2's settings and model),
measurements (memory, speed, the run summary), trl_cli (TRL's command-line files),
monitoring (callbacks and logs while training), evaluation (perplexity, multiple choice),
intervals (confidence intervals), plots (figures), widgets (interactive explorers),
colab (the Colab badge and set-up cell), exercises (checks with feedback).
"""

import warnings

# TRL 1.16 itself still uses transformers' old gradient-checkpointing names, so every run warns
# about a rename the learner cannot act on (the lessons already use activation_checkpointing).
warnings.filterwarnings("ignore", message=r"`(is_)?gradient_checkpointing` is deprecated", category=FutureWarning)
