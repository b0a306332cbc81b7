"""pytest set-up shared by the unit tests and nbval."""

import os
from pathlib import Path

from helpers.course import notebook_group, start_order
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


def pytest_sessionstart(session):
    # Offline, the first load of a course model converts the bundled one into the course cache, and in a
    # notebook that shows a progress bar nbval would see as an output. Convert them here, once, before the
    # notebooks run (before pytest-xdist starts its workers, which run them at once).
    runs_notebooks = any("notebooks" in arg or arg.endswith(".ipynb") for arg in session.config.args)
    if runs_notebooks and not hasattr(session.config, "workerinput"):
        from helpers.models import prepare_model_location

        for kind in ("base", "instruct"):
            prepare_model_location(kind)


def pytest_xdist_make_scheduler(config, log):
    # `make test WORKERS=2` runs on parallel workers (pytest-xdist). A notebook's cells must run in order in one
    # kernel, and a lesson that loads lesson 2's saved model after lesson 2: each notebook joins its group
    # (helpers.course.notebook_group), and a group runs on one worker in the order pytest collected it. Tests
    # under tests/ are shared out one by one. (xdist's own --dist loadgroup cannot do this under pytest 9.)
    # The groups start in helpers.course.start_order's order: the two editions' lesson-2 chains not side by side.
    from collections import OrderedDict

    from xdist.scheduler import LoadScopeScheduling

    class NotebookGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return notebook_group(path) if path.endswith(".ipynb") else nodeid

        def _assign_work_unit(self, node) -> None:
            if not getattr(self, "ordered", False):
                sizes = {group: len(tests) for group, tests in self.workqueue.items()}
                self.workqueue = OrderedDict((group, self.workqueue[group]) for group in start_order(sizes))
                self.ordered = True
            super()._assign_work_unit(node)

    return NotebookGroups(config, log)
