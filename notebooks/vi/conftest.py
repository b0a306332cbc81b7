"""nbval runs part of the Vietnamese edition, to keep `make test` short (README: which, and why).

It runs Vietnamese lesson 1 and the solutions of lessons 1 and 4: the notebooks that print most of
what the helpers say in Vietnamese (exercise feedback, widgets) and train nothing. The others run
the English code cell for cell, which nbval already runs in English; tests/test_translations.py
checks that they are the English code and today's translation, and `make notebooks` stores them
executed.
"""

collect_ignore = [
    "02_supervised_fine_tuning.ipynb",
    "02b_lora_and_adapters.ipynb",
    "03_validation_monitoring.ipynb",
    "04_evaluation.ipynb",
    "solutions/02_supervised_fine_tuning_solutions.ipynb",
    "solutions/02b_lora_and_adapters_solutions.ipynb",
    "solutions/03_validation_monitoring_solutions.ipynb",
]
