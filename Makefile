# The course's two commands: `make lab` (open the lessons) and `make test` (run every test).
# Both build .venv once and reuse it until requirements.txt or pyproject.toml change.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_ARGS ?=
# Jupyter refuses to run as root unless told; containers and cloud machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
PYTEST_ARGS ?=
# `make test` runs the tests on two processes (pytest-xdist workers), each on its share of the cores: on 2 cores
# that finishes sooner than one process on both, with the same results (README, "Tests"). Two workers peak near
# 20 GiB, so a machine with less memory runs one (or set WORKERS=1 yourself).
MEMORY_GIB := $(shell awk '/^MemTotal/ {print int($$2 / 1048576)}' /proc/meminfo 2>/dev/null)
WORKERS ?= $(if $(shell [ "$(MEMORY_GIB)" -ge 22 ] 2>/dev/null && echo enough),2,1)
CORES := $(shell nproc 2>/dev/null || echo 1)
PARALLEL := $(if $(filter-out 0 1,$(WORKERS)),-n $(WORKERS))
# One process: torch's own default (every core); several: each its share (torch reads OMP_NUM_THREADS once).
SHARE := $(shell expr $(CORES) / $(WORKERS) \| 1)
# A share of one core: no thread waits for another, except in a test that asks for two (tests/test_threads.py).
# Beside the other worker's lesson its threads spun at every barrier, and it took about 100 s; told to sleep there, 28 s.
THREADS := $(if $(PARALLEL),OMP_NUM_THREADS=$(SHARE)$(if $(filter 1,$(SHARE)), OMP_WAIT_POLICY=PASSIVE))

# Tests and stored notebook outputs are made offline, without progress bars (the settings in offline.env),
# and on the CPU.
OFFLINE = $(shell grep -v '^\#' offline.env)
CPU_ONLY := CUDA_VISIBLE_DEVICES=

# glibc's malloc serves a large allocation (above a threshold it moves between 128 KiB and 32 MiB) with a fresh
# mmap, hands it back at free, and the next one is zero-filled page by page: here about a fifth of a CPU training
# step's time went to those page faults. Keeping freed memory in the heap trains 1.1 to 1.2 times faster with
# bit-identical losses and replies, for about a tenth more peak memory (README, "Tests").
# Set for every command that runs the lessons; the notebooks' kernels inherit it.
MALLOC := MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296

# `make test-gpu` keeps the GPU visible (the GPU machine is offline too).
GPU_NOTEBOOKS ?=

.PHONY: setup lab test test-fast test-notebooks test-gpu notebooks translations data clean browser

setup: $(STAMP)

# --no-compile: pip would byte-compile every module of every package (40 of its 100 s here); Python compiles the
# ones a lesson imports on first import instead, and keeps them.
$(STAMP): requirements.txt requirements-offline.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-compile -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-compile --no-deps -r requirements-offline.txt
	$(BIN)/python -m pip install --quiet --no-compile --no-deps --no-build-isolation -e .
	touch $(STAMP)

lab: setup
	$(MALLOC) JUPYTER_PLATFORM_DIRS=1 $(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

test: setup browser
	$(BIN)/ruff check .
	$(OFFLINE) $(CPU_ONLY) $(MALLOC) $(THREADS) $(BIN)/python -m pytest $(PARALLEL) --durations=25 $(PYTEST_ARGS)

# The edit loop: lint and the unit tests, without the notebooks (nbval) and the tests marked slow.
test-fast: setup
	$(BIN)/ruff check .
	$(OFFLINE) $(CPU_ONLY) $(MALLOC) $(BIN)/python -m pytest tests -o addopts= -m "not slow" $(PYTEST_ARGS)

# The middle tier: the lessons that train (helpers/course.py), run top to bottom in the `demo` profile an
# instructor uses, with their asserts (outputs not compared), in a temporary folder (scripts/test_notebooks.py).
test-notebooks: setup
	$(OFFLINE) $(CPU_ONLY) $(MALLOC) SFT_COURSE_PROFILE=demo $(BIN)/python -m scripts.test_notebooks

# The GPU lessons (helpers/course.py) in the `lesson` profile on a CUDA GPU, with their asserts: time, peak GPU memory
# and scores per notebook (scripts/test_gpu.py). Without a CUDA GPU it stops at once and says so.
test-gpu: setup
	$(OFFLINE) SFT_COURSE_PROFILE=lesson $(BIN)/python -m scripts.test_gpu $(GPU_NOTEBOOKS)

# Debian's chromium and chromedriver for tests/test_browser.py (instant once installed). Without
# root or sudo the browser test is skipped, except in CI, where it must run.
browser:
	bash scripts/install_browser.sh || [ "$$CI" != true ]

# Re-execute every notebook top to bottom and store its outputs (what nbval compares against),
# after writing the Colab badge and set-up cell into each from helpers/colab.py and building the
# Vietnamese notebooks (notebooks/vi/) from the English ones and their PO files.
notebooks: setup
	$(BIN)/python -m scripts.colab_cells
	$(BIN)/python -m scripts.translations build
	$(OFFLINE) $(CPU_ONLY) $(MALLOC) $(BIN)/python -m scripts.run_notebooks $(NOTEBOOKS)

# Refresh every PO file (locale/, helpers/locale/) from today's English, then build notebooks/vi/
# (locale/README.md: how to translate).
translations: setup
	$(BIN)/python -m scripts.translations update
	$(BIN)/python -m scripts.translations build

# Regenerate the bundled data sets (the support desk, the restaurant bookings) from their deterministic generators.
data: setup
	$(BIN)/python scripts/make_support_desk_data.py
	$(BIN)/python scripts/make_bookings_data.py

# Remove what the lessons wrote: training outputs, checkpoints, trackio runs (each folder of notebooks
# has its outputs/ beside it: helpers/course.py lists them), lesson 2's models and lesson 2b's adapters
# cached for later lessons, and the replies kept by helpers/reply_cache.py (helpers/course.py names them). The converted offline SmolLM2 stays
# (rebuilding it takes a while and it is not a lesson's result); delete $${SFT_COURSE_CACHE:-~/.cache/sft-course}
# to remove it as well. helpers/course.py needs only the standard library, so this works before `make setup`.
CACHE := $(or $(SFT_COURSE_CACHE),$(HOME)/.cache/sft-course)
clean:
	rm -rf $$($(PYTHON) -m helpers.course outputs)
	for pattern in $$($(PYTHON) -m helpers.course cached); do rm -rf "$(CACHE)"/$$pattern; done
