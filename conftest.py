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

