"""Tests for helpers.monitoring: the history table, the two Trainer callbacks, and trackio's runs as a table.

No training runs here: TrainerState / TrainerControl objects and log histories are built by hand.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from fakes import REPLY
from transformers import TrainerControl, TrainerState

import helpers.monitoring as monitoring
from helpers.generation import prompt_messages
from helpers.monitoring import HISTORY_COLUMNS, HouseStyleCheck, LiveLossPlot, history_table

REPO = Path(__file__).resolve().parents[1]

# A Trainer log history: training logs, evaluations at steps 2 and 4 (one of them house-style checked),
# and the summary entry the trainer appends when training ends.
LOG_HISTORY = [
    {"loss": 2.0, "mean_token_accuracy": 0.50, "entropy": 1.9, "step": 1, "epoch": 0.5},
    {"loss": 1.5, "mean_token_accuracy": 0.60, "entropy": 1.6, "step": 2, "epoch": 1.0},
    {"eval_loss": 1.7, "eval_mean_token_accuracy": 0.55, "eval_entropy": 1.8, "eval_runtime": 0.4,
     "eval_format": 0.25, "eval_content": 0.125, "step": 2, "epoch": 1.0},
    {"loss": 1.0, "mean_token_accuracy": 0.70, "entropy": 1.2, "step": 3, "epoch": 1.5},
    {"loss": 0.8, "mean_token_accuracy": 0.75, "entropy": 1.0, "step": 4, "epoch": 2.0},
    {"eval_loss": 1.4, "eval_mean_token_accuracy": 0.62, "eval_entropy": 1.5, "eval_runtime": 0.4,
     "step": 4, "epoch": 2.0},
    {"train_runtime": 12.0, "train_samples_per_second": 3.0, "train_loss": 1.33, "total_flos": 1e9,
     "step": 4, "epoch": 2.0},
]


def _state(history, global_step=4, max_steps=4):
    state = TrainerState(max_steps=max_steps, global_step=global_step)
    state.log_history = [dict(entry) for entry in history]
    return state


def _legend_texts(figure):
    return [text.get_text() for text in figure.axes[0].get_legend().get_texts()]


# ── history_table ─────────────────────────────────────────────────────────────────────────────────


def test_history_table_has_one_row_per_step_training_and_validation_side_by_side():
    table = history_table(LOG_HISTORY)
    assert table.index.name == "step"
    assert list(table.index) == [1, 2, 3, 4]
    assert table.loc[2, "train loss"] == 1.5
    assert table.loc[2, "validation loss"] == 1.7
    assert table.loc[4, "validation accuracy"] == 0.62
    assert (table.loc[2, "format"], table.loc[2, "content"]) == (0.25, 0.125)
    assert table[["format", "content"]].isna().all(axis=1).tolist() == [True, False, True, True]
    assert table["validation loss"].isna().tolist() == [True, False, True, False]


def test_history_table_columns_are_renamed_in_order():
    assert list(history_table(LOG_HISTORY).columns) == list(HISTORY_COLUMNS.values())


def test_history_table_leaves_out_the_final_summary_and_unknown_keys():
    table = history_table(LOG_HISTORY)
    assert not {"train_runtime", "train_loss", "total_flos", "eval_runtime", "epoch", "step"} & set(table.columns)
    assert len(table) == 4  # the summary entry at step 4 adds no row
    assert table.loc[4, "train loss"] == 0.8  # ... and does not overwrite the logged training loss


def test_history_table_shows_only_the_columns_present():
    history = [{"loss": 2.0, "step": 1}, {"eval_loss": 2.1, "step": 1}, {"loss": 1.0, "step": 2}]
    table = history_table(history)
    assert list(table.columns) == ["train loss", "validation loss"]


def test_history_table_is_sorted_by_step():
    history = [{"loss": 1.0, "step": 5}, {"eval_loss": 2.0, "step": 0}, {"loss": 2.0, "step": 2}]
    assert list(history_table(history).index) == [0, 2, 5]


# ── LiveLossPlot: when to draw ────────────────────────────────────────────────────────────────────


class ZMQInteractiveShell:
    """A stand-in for Jupyter's kernel shell: _front_end_redraws only looks at the class name."""


class TerminalInteractiveShell:
    """A stand-in for the IPython terminal."""


@pytest.mark.parametrize("value", ["1", "true", "True", "yes", "on"])
def test_front_end_does_not_redraw_when_tqdm_is_disabled(monkeypatch, value):
    monkeypatch.setenv("TQDM_DISABLE", value)
    monkeypatch.setattr(monitoring, "get_ipython", ZMQInteractiveShell)
    assert monitoring._front_end_redraws() is False


def test_front_end_redraws_only_in_a_zmq_kernel(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setattr(monitoring, "get_ipython", ZMQInteractiveShell)
    assert monitoring._front_end_redraws() is True
    monkeypatch.setattr(monitoring, "get_ipython", TerminalInteractiveShell)
    assert monitoring._front_end_redraws() is False
    monkeypatch.setattr(monitoring, "get_ipython", lambda: None)
    assert monitoring._front_end_redraws() is False


def test_live_loss_plot_detects_live_unless_told(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setattr(monitoring, "get_ipython", ZMQInteractiveShell)
    assert LiveLossPlot().live is True
    assert LiveLossPlot(live=False).live is False
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert LiveLossPlot().live is False
    assert LiveLossPlot(live=True).live is True


def test_live_loss_plot_in_a_plain_python_process_is_not_live(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)  # progress displays on: only the missing front-end decides
    assert LiveLossPlot().live is False  # a script (this test process) has no notebook front-end to redraw in


def test_not_live_draws_nothing_on_log_and_once_at_the_end():
    plot = LiveLossPlot("A run", live=False)
    state, control = _state(LOG_HISTORY), TrainerControl()
    plot.on_log(None, state, control, logs={"loss": 0.8})
    assert plot.figure is None
    plot.on_train_end(None, state, control)
    assert plot.figure is not None
    assert plot.figure.axes[0].get_title() == "A run"
    assert "validation loss" in _legend_texts(plot.figure)


def test_in_a_plain_script_it_displays_nothing(monkeypatch, capsys):
    # Without IPython, IPython's display() would print the figure's repr; the callback must not call it.
    monkeypatch.setattr(monitoring, "get_ipython", lambda: None)
    plot = LiveLossPlot(live=True)
    state, control = _state(LOG_HISTORY), TrainerControl()
    plot.on_log(None, state, control, logs={})
    plot.on_train_end(None, state, control)
    assert plot.figure is not None
    assert capsys.readouterr().out == ""


class _Handle:
    def __init__(self):
        self.updates = []

    def update(self, figure):
        self.updates.append(figure)


def _recording_display(monkeypatch):
    shown, handle = [], _Handle()

    def display(figure, display_id=False):
        shown.append((figure, display_id))
        return handle

    monkeypatch.setattr(monitoring, "display", display)
    monkeypatch.setattr(monitoring, "get_ipython", ZMQInteractiveShell)
    return shown, handle


def test_live_displays_once_then_updates_in_place(monkeypatch):
    shown, handle = _recording_display(monkeypatch)
    plot = LiveLossPlot(live=True)
    state, control = _state(LOG_HISTORY[:2], global_step=2), TrainerControl()
    plot.on_log(None, state, control, logs={})
    first = plot.figure
    assert shown == [(first, True)]
    state.log_history = [dict(entry) for entry in LOG_HISTORY]
    plot.on_log(None, state, control, logs={})
    plot.on_train_end(None, state, control)
    assert len(shown) == 1  # one output, redrawn in place
    assert len(handle.updates) == 2 and handle.updates[-1] is plot.figure is not first


def test_not_live_in_a_notebook_displays_the_final_figure_once(monkeypatch):
    shown, handle = _recording_display(monkeypatch)
    plot = LiveLossPlot(live=False)
    state, control = _state(LOG_HISTORY), TrainerControl()
    for _ in range(3):
        plot.on_log(None, state, control, logs={})
    plot.on_train_end(None, state, control)
    assert shown == [(plot.figure, True)]
    assert handle.updates == []


@pytest.mark.parametrize(
    ("global_step", "max_steps", "stopped"),
    [(3, 10, True), (10, 10, False), (0, 10, False)],
)
def test_stopped_early_is_marked_only_when_the_run_ended_before_max_steps(global_step, max_steps, stopped):
    plot = LiveLossPlot(live=False)
    plot.on_train_end(None, _state(LOG_HISTORY, global_step=global_step, max_steps=max_steps), TrainerControl())
    marks = [text for text in _legend_texts(plot.figure) if text.startswith("stopped early")]
    assert marks == ([f"stopped early (step {global_step})"] if stopped else [])


# ── HouseStyleCheck ───────────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def check_rows(support_desk):
    return support_desk["validation"].select(range(3))


@pytest.fixture
def fake_generation(monkeypatch, check_rows):
    """Replace generation with perfect house-style replies (the rows' reference replies); record each call."""
    calls = []

    def generate_replies(model, tokenizer, prompts, max_new_tokens=96, progress=True, **kwargs):
        calls.append({"model": model, "tokenizer": tokenizer, "prompts": prompts,
                      "max_new_tokens": max_new_tokens, "progress": progress})
        return [row["messages"][-1]["content"] for row in check_rows]

    monkeypatch.setattr(monitoring, "generate_replies", generate_replies)
    return calls


def _evaluate(callback, state, step, model="model"):
    """Log an evaluation the way the Trainer does, then call on_evaluate."""
    metrics = {"eval_loss": 1.0 / step, "step": step}
    state.log_history.append({"loss": 2.0 / step, "step": step})
    state.log_history.append(metrics)
    callback.on_evaluate(None, state, TrainerControl(), model=model, metrics=metrics)


@pytest.mark.parametrize("every", [0, -1])
def test_house_style_check_rejects_every_below_one(check_rows, every):
    with pytest.raises(ValueError, match=f"every must be 1 or more.*not {every}"):
        HouseStyleCheck(check_rows, tokenizer=None, every=every)


def test_house_style_check_scores_the_1st_then_every_nth_evaluation(check_rows, fake_generation):
    callback = HouseStyleCheck(check_rows, tokenizer="tok", every=2, max_new_tokens=32)
    state = TrainerState()
    for step in (1, 2, 3, 4, 5):
        _evaluate(callback, state, step)
    evaluations = [entry for entry in state.log_history if "eval_loss" in entry]
    assert [entry.get("eval_format") for entry in evaluations] == [1.0, None, 1.0, None, 1.0]
    assert [entry.get("eval_content") for entry in evaluations] == [1.0, None, 1.0, None, 1.0]
    assert [entry for entry in state.log_history if "loss" in entry and "eval_format" in entry] == []
    assert len(fake_generation) == 3
    call = fake_generation[0]
    assert (call["model"], call["tokenizer"], call["max_new_tokens"], call["progress"]) == ("model", "tok", 32, False)
    assert call["prompts"] == [prompt_messages(row["messages"]) for row in check_rows]


def test_house_style_check_every_one_scores_every_evaluation(check_rows, fake_generation):
    callback = HouseStyleCheck(check_rows, tokenizer=None, every=1)
    state = TrainerState()
    for step in (1, 2, 3):
        _evaluate(callback, state, step)
    assert [entry.get("eval_format") for entry in state.log_history if "eval_loss" in entry] == [1.0] * 3


def test_house_style_check_writes_into_the_latest_evaluation(check_rows, fake_generation):
    callback = HouseStyleCheck(check_rows, tokenizer=None, every=1)
    state = TrainerState()
    state.log_history = [{"eval_loss": 3.0, "step": 0}, {"loss": 2.0, "step": 1}, {"eval_loss": 1.5, "step": 1}]
    callback.on_evaluate(None, state, TrainerControl(), model=None, metrics={"eval_loss": 1.5})
    assert not {"eval_format", "eval_content"} & set(state.log_history[0])
    assert (state.log_history[2]["eval_format"], state.log_history[2]["eval_content"]) == (1.0, 1.0)


def test_house_style_check_scores_bad_replies_low(check_rows, monkeypatch):
    monkeypatch.setattr(monitoring, "generate_replies", lambda *args, **kwargs: ["Sure, happy to help!"] * len(check_rows))
    callback = HouseStyleCheck(check_rows, tokenizer=None)
    state = TrainerState()
    _evaluate(callback, state, 1)
    assert (state.log_history[-1]["eval_format"], state.log_history[-1]["eval_content"]) == (0.0, 0.0)


def test_house_style_check_logs_format_and_content_apart(check_rows, monkeypatch):
    # The rows' own replies with the policy code changed: every format check passes, the content does not.
    replies = [row["messages"][-1]["content"].replace(row["policy"], "NB-000") for row in check_rows]
    replies[0] = "Sure, happy to help!"
    monkeypatch.setattr(monitoring, "generate_replies", lambda *args, **kwargs: replies)
    callback = HouseStyleCheck(check_rows, tokenizer=None)
    state = TrainerState()
    _evaluate(callback, state, 1)
    assert state.log_history[-1]["eval_format"] == pytest.approx(2 / 3)
    assert state.log_history[-1]["eval_content"] == 0.0


def test_house_style_check_keeps_each_checks_outcomes_by_step(check_rows, monkeypatch):
    perfect = [row["messages"][-1]["content"] for row in check_rows]
    answers = iter([["Sure, happy to help!"] * len(check_rows), perfect, perfect])
    monkeypatch.setattr(monitoring, "generate_replies", lambda *args, **kwargs: next(answers))
    callback = HouseStyleCheck(check_rows, tokenizer=None, every=2)
    state = TrainerState()
    for step in (0, 2, 4, 6, 8):
        state.global_step = step
        _evaluate(callback, state, step + 1)
    assert list(callback.outcomes) == [0, 4, 8]  # the 1st, 3rd and 5th evaluation
    first, last = callback.outcomes[0], callback.outcomes[8]
    assert list(first.columns) == ["format", "content", "category_correct", "policy_correct"]
    assert len(first) == len(last) == len(check_rows)  # one row per prompt, in the rows' order: they pair
    assert not first["format"].any() and last["format"].all() and last["content"].all()


# ── tracked_runs (in a subprocess: trackio reads TRACKIO_DIR when imported) ───────────────────────

_TRACKIO_SCRIPT = textwrap.dedent(
    """
    import json

    import trackio

    from helpers.monitoring import tracked_runs

    trackio.init(project="monitoring-test", name="with-global-step", embed=False)
    for global_step, loss in ((10, 2.0), (20, 1.0)):
        trackio.log({"train/loss": loss, "train/global_step": global_step})
    trackio.log({"eval/loss": 1.5, "train/global_step": 20})
    trackio.finish()

    trackio.init(project="monitoring-test", name="without-global-step", embed=False)
    trackio.log({"eval/loss": 3.0})
    trackio.log({"eval/loss": 2.5, "note": "text is not a scalar"})
    trackio.finish()

    try:
        tracked_runs("no-such-project")
        error = None
    except ValueError as caught:
        error = str(caught)
    table = tracked_runs("monitoring-test")
    print("RESULT " + json.dumps({"columns": list(table.columns), "rows": table.to_dict("records"), "error": error}))
    """
)


@pytest.fixture(scope="module")
def trackio_result(tmp_path_factory):
    root = tmp_path_factory.mktemp("trackio")
    env = os.environ | {"TRACKIO_DIR": str(root / "trackio"), "HF_HOME": str(root / "hf"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", _TRACKIO_SCRIPT], cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT ")) | {"dir": root / "trackio"}


def test_tracked_runs_of_an_unknown_project_names_it(trackio_result):
    assert "'no-such-project'" in trackio_result["error"]
    assert "report_to='trackio'" in trackio_result["error"]


def test_tracked_runs_is_a_long_table(trackio_result):
    assert trackio_result["columns"] == ["run", "step", "metric", "value"]
    assert {row["run"] for row in trackio_result["rows"]} == {"with-global-step", "without-global-step"}
    assert {row["metric"] for row in trackio_result["rows"]} == {"train/loss", "eval/loss"}  # no step, timestamp, text


def test_tracked_runs_steps_come_from_the_trainers_global_step(trackio_result):
    rows = [row for row in trackio_result["rows"] if row["run"] == "with-global-step"]
    assert sorted((row["metric"], row["step"], row["value"]) for row in rows) == [
        ("eval/loss", 20, 1.5), ("train/loss", 10, 2.0), ("train/loss", 20, 1.0),
    ]


def test_tracked_runs_without_global_step_use_trackios_own_count(trackio_result):
    rows = [row for row in trackio_result["rows"] if row["run"] == "without-global-step"]
    assert [(row["step"], row["value"]) for row in rows] == [(0, 3.0), (1, 2.5)]


def test_tracked_runs_reads_the_store_in_trackio_dir(trackio_result):
    assert any(path.suffix == ".db" for path in trackio_result["dir"].iterdir())


def test_house_style_check_scores_replies_that_stop_at_the_end_of_the_turn(
    check_rows, turn_model, base_tokenizer, monkeypatch
):
    scored = []
    def outcome_table(replies, rows):
        scored.append(replies)
        return pd.DataFrame({"format": [False] * len(rows), "content": [False] * len(rows)})

    monkeypatch.setattr(monitoring, "outcome_table", outcome_table)
    callback = HouseStyleCheck(check_rows, tokenizer=base_tokenizer, every=1, max_new_tokens=16)
    _evaluate(callback, TrainerState(), 1, model=turn_model)
    assert scored == [[REPLY] * len(check_rows)]


def test_the_default_title_speaks_vietnamese_in_the_vietnamese_notebooks(vietnamese):
    def title():
        plot = LiveLossPlot(live=False)
        plot.on_train_end(None, _state(LOG_HISTORY), TrainerControl())
        return plot.figure.axes[0].get_title()

    assert title() == "Training and validation loss"
    vietnamese.on()
    assert title() == vietnamese("Training and validation loss") != "Training and validation loss"
    vietnamese.off()
    assert title() == "Training and validation loss"
