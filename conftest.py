"""pytest set-up shared by the unit tests and nbval."""

import os

# Tests run offline on the CPU whichever way pytest is started (make test sets these too).
for name, value in {
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TQDM_DISABLE": "1",
    "CUDA_VISIBLE_DEVICES": "",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "JUPYTER_PLATFORM_DIRS": "1",
}.items():
    os.environ.setdefault(name, value)


def pytest_collectstart(collector):
    # Library warnings on stderr vary between runs and machines; the lesson's claims are
    # checked by stdout, rich outputs and asserts, so nbval leaves stderr out of the comparison.
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
