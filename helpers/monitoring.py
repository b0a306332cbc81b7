"""Watching a run while it trains: Trainer callbacks (a live loss plot, a house-style check) and the logs as tables."""

from __future__ import annotations

import pandas as pd
from datasets import Dataset
from IPython import get_ipython
from IPython.display import display
from transformers import PreTrainedTokenizerBase, TrainerCallback

from helpers.environment import progress_displays_off
from helpers.generation import generate_replies, prompt_messages
from helpers.house_style import outcome_table
from helpers.i18n import N_, _
from helpers.plots import validation_curves

# Trainer's log keys, renamed for a reader, in the order the history table shows them.
HISTORY_COLUMNS = {
    "loss": N_("train loss"),
    "eval_loss": N_("validation loss"),
    "mean_token_accuracy": N_("train accuracy"),
    "eval_mean_token_accuracy": N_("validation accuracy"),
    "entropy": N_("train entropy"),
    "eval_entropy": N_("validation entropy"),
    "eval_format": N_("format"),
    "eval_content": N_("content"),
}


def history_table(log_history: list[dict]) -> pd.DataFrame:
    """Return a Trainer log history as a table with one row per logged step, training and validation side by side."""
    rows: dict[int, dict] = {}
    for entry in log_history:
        values = {HISTORY_COLUMNS[key]: value for key, value in entry.items() if key in HISTORY_COLUMNS}
        if values:
            rows.setdefault(entry["step"], {}).update(values)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table = table[[column for column in HISTORY_COLUMNS.values() if column in table]]
    table.index.name = N_("step")
    return table.sort_index()


def _front_end_redraws() -> bool:
    """Return whether figures can be redrawn in place: a notebook front-end, and progress displays not turned off."""
    # Batch runs (nbval, `make notebooks`) set TQDM_DISABLE. There a redrawn figure would be one image
    # per update (nbval does not replay updates), so the plot is drawn once, at the end.
    if progress_displays_off():
        return False
    return type(get_ipython()).__name__ == "ZMQInteractiveShell"


class LiveLossPlot(TrainerCallback):
    """A callback that redraws training and validation loss in place while `trainer.train()` runs.

    In a notebook the figure updates at every log; in a batch run it is drawn once, when training ends.
    After training, `.figure` holds the final figure.
    """

    def __init__(self, title: str | None = None, live: bool | None = None):
        self.title = _("Training and validation loss") if title is None else title
        self.live = _front_end_redraws() if live is None else live
        self.figure = None
        self._display = None

    def on_log(self, args, state, control, **kwargs):
        if self.live:
            self._draw(state)

    def on_train_end(self, args, state, control, **kwargs):
        stopped_early = 0 < state.global_step < state.max_steps
        self._draw(state, stopped_at=state.global_step if stopped_early else None)

    def _draw(self, state, stopped_at: int | None = None) -> None:
        self.figure = validation_curves(state.log_history, title=self.title, stopped_at=stopped_at)
        if get_ipython() is None:
            return  # a plain script: keep the figure, print nothing
        if self._display is None:
            self._display = display(self.figure, display_id=True)
        else:
            self._display.update(self.figure)


class HouseStyleCheck(TrainerCallback):
    """A callback that, every few evaluations, generates replies to a few prompts and logs how many pass the house style.

    Two shares are added to the evaluation's entry in `trainer.state.log_history`: `eval_format` (replies
    passing every format check) and `eval_content` (right category and policy), as in lesson 2's scores.
    `.outcomes` keeps each check's per-prompt outcomes (helpers.house_style.outcome_table), keyed by step,
    so that two checks can be compared prompt by prompt (a paired difference, helpers.intervals).
    """

    def __init__(
        self, rows: Dataset, tokenizer: PreTrainedTokenizerBase, every: int = 2, max_new_tokens: int = 64
    ):
        if every < 1:
            raise ValueError(_("every must be 1 or more (check every n-th evaluation), not {every}").format(every=every))
        self.rows = list(rows)
        self.prompts = [prompt_messages(row["messages"]) for row in self.rows]
        self.tokenizer = tokenizer
        self.every = every
        self.max_new_tokens = max_new_tokens
        self.outcomes: dict[int, pd.DataFrame] = {}
        self._evaluations = 0

    def on_evaluate(self, args, state, control, model=None, **kwargs):
        self._evaluations += 1
        if (self._evaluations - 1) % self.every:
            return  # check the first evaluation, then every `every`-th one
        replies = generate_replies(
            model, self.tokenizer, self.prompts, max_new_tokens=self.max_new_tokens, progress=False
        )
        outcomes = outcome_table(replies, self.rows)
        self.outcomes[state.global_step] = outcomes
        # Trainer logs an evaluation before calling on_evaluate, so the entry to extend is the last one.
        evaluation = next((entry for entry in reversed(state.log_history) if "eval_loss" in entry), None)
        if evaluation is not None:  # None with several named validation sets (eval_<name>_loss): nothing to attach to
            evaluation["eval_format"] = float(outcomes["format"].mean())
            evaluation["eval_content"] = float(outcomes["content"].mean())


def tracked_runs(project: str) -> pd.DataFrame:
    """Return every scalar metric trackio logged in a project as a long table: run, step, metric, value."""
    import trackio

    # trackio's public Api lists runs but not their metrics; its own command line (`trackio get metric`)
    # reads them from the local store this way.
    from trackio.sqlite_storage import SQLiteStorage

    try:
        runs = [run.name for run in trackio.Api().runs(project)]
    except ValueError:
        raise ValueError(
            _("trackio has no project {project!r} here; train with report_to='trackio' first").format(project=project)
        ) from None
    rows = []
    for run in runs:
        for entry in SQLiteStorage.get_logs(project, run, scalar_only=True):
            # trackio counts its own log calls in "step"; the Trainer's optimizer step is train/global_step.
            step = entry.get("train/global_step", entry["step"])
            rows += [
                {"run": run, "step": step, "metric": metric, "value": value}
                for metric, value in entry.items()
                if metric not in ("step", "timestamp", "train/global_step") and isinstance(value, (int, float))
            ]
    return pd.DataFrame(rows, columns=["run", "step", "metric", "value"])
