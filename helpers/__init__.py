"""Helpers for the supervised fine-tuning course: plumbing the lessons import so their own code stays visible.

Modules: environment (hardware, network, profile), models (which SmolLM2, loading it),
support_desk (the bundled dataset's company and generator), data (loaders, validation),
house_style (the reply scorer), templates (chat templates, trained-token view),
generation (batched replies), training (precision, speed, memory, TRL command-line files),
plots (figures), widgets (interactive explorers), exercises (checks with feedback).
"""
