"""pytest set-up shared by the unit tests and nbval."""

import os
from pathlib import Path

from helpers.environment import default_environment

# Offline and without progress bars (offline.env), on the CPU, whichever way pytest is started:
# `make test` sets these too. Before any Hugging Face library is imported, since they read their
# settings once, on import (helpers.environment imports none of them). A variable already set wins.
default_environment(Path(__file__).resolve().parent / "offline.env")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def pytest_collectstart(collector):
    # Library warnings on stderr vary between runs and machines; the lesson's claims are
    # checked by stdout, rich outputs and asserts, so nbval leaves stderr out of the comparison.
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)


# nbval runs part of the Vietnamese edition, to keep `make test` short: Vietnamese lesson 1 and the
# solutions of lessons 1 and 4, the notebooks that print most of the helpers' Vietnamese (exercise
# feedback, widgets) and train nothing. The others run the English code cell for cell, which nbval
# runs in English; tests/test_translations.py checks they are today's build, and `make notebooks`
# stores them executed. (Listed here, not in a notebooks/vi/conftest.py: a third conftest module
# would shadow tests/conftest.py for the tests that import from it.)
collect_ignore = [
    "notebooks/vi/02_supervised_fine_tuning.ipynb",
    "notebooks/vi/02b_lora_and_adapters.ipynb",
    "notebooks/vi/03_validation_monitoring.ipynb",
    "notebooks/vi/04_evaluation.ipynb",
    "notebooks/vi/solutions/02_supervised_fine_tuning_solutions.ipynb",
    "notebooks/vi/solutions/02b_lora_and_adapters_solutions.ipynb",
    "notebooks/vi/solutions/03_validation_monitoring_solutions.ipynb",
]
