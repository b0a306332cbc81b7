"""Plots the lessons draw (matplotlib), kept here so notebook cells stay about the lesson."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from helpers.i18n import _, in_language


def token_count_histogram(
    total: list[int], trained: list[int], title: str = "", max_length: int | None = None
) -> Figure:
    """Return a histogram of tokens per conversation: all tokens versus the tokens a run trains on.

    `max_length` draws where a run with that setting cuts the conversations.
    """
    figure, axes = plt.subplots(figsize=(7, 3.2))
    bins = range(0, max(total) + 10, 10)
    axes.hist(total, bins=bins, color="#adb5bd", label=_("all tokens (what the model reads)"))
    axes.hist(trained, bins=bins, color="#40916c", alpha=0.85, label=_("trained tokens (assistant replies)"))
    if max_length is not None:
        cut = sum(length > max_length for length in total)
        label = _("max_length={max_length} ({cut} cut)").format(max_length=max_length, cut=cut)
        axes.axvline(max_length, color="#d62728", linestyle="--", label=label)
    axes.set_xlabel(_("tokens per conversation"))
    axes.set_ylabel(_("conversations"))
    axes.set_title(title)
    axes.legend(frameon=False)
    figure.tight_layout()
    plt.close(figure)  # the notebook shows the returned figure once, not twice
    return figure


def batch_layouts(lengths: list[int]) -> Figure:
    """Return a picture of conversations of these lengths in a padded batch, packed into one row, and its attention."""
    colours = ["#40916c", "#1d3557", "#e76f51", "#f4a261", "#8338ec", "#2a9d8f"]
    figure = plt.figure(figsize=(10, 3.8))
    grid = figure.add_gridspec(2, 2, width_ratios=(2.2, 1), height_ratios=(len(lengths), 1.6))
    padded, packed, attention = figure.add_subplot(grid[0, 0]), figure.add_subplot(grid[1, 0]), figure.add_subplot(grid[:, 1])
    longest, total = max(lengths), sum(lengths)
    for row, length in enumerate(lengths):
        colour = colours[row % len(colours)]
        padded.barh(row, length, color=colour, height=0.8)
        padded.barh(row, longest - length, left=length, color="#e9ecef", hatch="//", edgecolor="#adb5bd", height=0.8)
    padding = len(lengths) * longest - total
    padded.set_title(
        _("padded batch: {rows} rows × {longest} tokens, {padding} of them padding").format(
            rows=len(lengths), longest=longest, padding=padding
        ),
        fontsize="medium",
    )
    padded.invert_yaxis()
    padded.set_yticks(range(len(lengths)), [_("conversation {number}").format(number=i + 1) for i in range(len(lengths))])
    padded.set_xlim(0, total)
    start = 0
    for row, length in enumerate(lengths):
        packed.barh(0, length, left=start, color=colours[row % len(colours)], height=0.8, edgecolor="white")
        packed.text(start + 3, 0, _("position 0"), va="center", color="white", fontsize="small")
        start += length
    packed.set_title(_("packed / padding-free: 1 row × {total} tokens, no padding").format(total=total), fontsize="medium")
    packed.set_yticks([])
    packed.set_xlim(0, total)
    packed.set_xlabel(_("token position in the batch"))
    # Each token may look at earlier tokens of its own conversation only: causal, and block-diagonal.
    owner = [row for row, length in enumerate(lengths) for unused in range(length)]
    allowed = [[owner[i] == owner[j] and j <= i for j in range(total)] for i in range(total)]
    attention.imshow(allowed, cmap="Greens", interpolation="nearest")
    attention.set_title(_("attention in the packed row"), fontsize="medium")
    attention.set_xlabel(_("key position"))
    attention.set_ylabel(_("query position"))
    figure.tight_layout()
    plt.close(figure)
    return figure


def loss_curves(histories: dict[str, list[dict]], title: str | None = None) -> Figure:
    """Return a figure of training loss against step for each run's Trainer log history (title: "Training loss")."""
    title = _("Training loss") if title is None else title
    figure, axes = plt.subplots(figsize=(7, 3.2))
    for name, history in histories.items():
        points = [(entry["step"], entry["loss"]) for entry in history if "loss" in entry]
        axes.plot(*zip(*points), marker="o", markersize=3, label=in_language(name))
    axes.set_xlabel(_("optimizer step"))
    axes.set_ylabel(_("loss (assistant tokens)"))
    axes.set_title(title)
    axes.legend(frameon=False)
    figure.tight_layout()
    plt.close(figure)
    return figure


def learning_curve(measured: pd.DataFrame, this_run: pd.DataFrame, title: str = "") -> Figure:
    """Return a figure of format, category and policy by optimizer step: a benchmark's curve (lines), this run's scores (crosses)."""
    figure, axes = plt.subplots(figsize=(7, 3.2))
    for (name, values), colour in zip(measured.items(), ("#adb5bd", "#1d3557", "#40916c")):
        axes.plot(measured.index, values, marker="o", color=colour, label=in_language(name))
        axes.scatter(this_run.index, this_run[name], marker="x", s=60, color=colour)
    axes.scatter([], [], marker="x", color="black", label=_("this run"))
    axes.set_xlabel(_("optimizer step"))
    axes.set_ylabel(_("share of validation prompts"))
    axes.set_ylim(-0.03, 1.03)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title)
    axes.legend(frameon=False, loc="lower right")
    figure.tight_layout()
    plt.close(figure)
    return figure


def validation_curves(log_history: list[dict], title: str = "", stopped_at: int | None = None) -> Figure:
    """Return a figure of training and validation loss against step, the lowest validation loss marked.

    If the history holds the house-style check's shares (`eval_format`, `eval_content`), they are drawn on a second axis;
    `stopped_at` draws where early stopping ended the run.
    """
    figure, axes = plt.subplots(figsize=(7, 3.4))
    train = [(entry["step"], entry["loss"]) for entry in log_history if "loss" in entry]
    validation = [(entry["step"], entry["eval_loss"]) for entry in log_history if "eval_loss" in entry]
    if train:
        axes.plot(*zip(*train), color="#1f77b4", label=_("training loss"))
    if validation:
        axes.plot(*zip(*validation), color="#d62728", marker="o", markersize=4, label=_("validation loss"))
        best_step, best_loss = min(validation, key=lambda point: point[1])
        axes.plot(best_step, best_loss, marker="*", markersize=14, color="#d62728", linestyle="none",
                  label=_("lowest validation loss (step {step})").format(step=best_step))
    if stopped_at is not None:
        label = _("stopped early (step {step})").format(step=stopped_at)
        axes.axvline(stopped_at, color="#6c757d", linestyle="--", label=label)
    axes.set_xlabel(_("optimizer step"))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel(_("loss (assistant tokens)"))
    axes.set_title(title)
    handles, labels = axes.get_legend_handles_labels()
    # The house-style check's shares (helpers.monitoring.HouseStyleCheck) share a second axis, from 0 to 1.
    checked = [
        (points, label, colour, marker)
        for key, label, colour, marker in (
            ("eval_format", _("format"), "#40916c", "s"),
            ("eval_content", _("content"), "#8338ec", "^"),
        )
        if (points := [(entry["step"], entry[key]) for entry in log_history if key in entry])
    ]
    if checked:
        score_axes = axes.twinx()
        for points, label, colour, marker in checked:
            score_axes.plot(*zip(*points), color=colour, marker=marker, markersize=4, linestyle=":", label=label)
        score_axes.set_ylim(0, 1.05)
        score_axes.set_ylabel(_("share of checked replies passing"))
        more_handles, more_labels = score_axes.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    if handles:
        axes.legend(handles, labels, frameon=False, fontsize="small")
    figure.tight_layout()
    plt.close(figure)
    return figure


def run_comparison(runs: pd.DataFrame, metric: str, title: str = "") -> Figure:
    """Return a figure of one metric against step for every run of a long table (columns run, step, metric, value)."""
    chosen = runs[runs["metric"] == metric]
    if chosen.empty:
        known = ", ".join(sorted(runs["metric"].unique())) or _("none")
        raise ValueError(_("no run logged {metric!r}; the logged metrics are: {known}").format(metric=metric, known=known))
    figure, axes = plt.subplots(figsize=(7, 3.2))
    for name, points in chosen.groupby("run", sort=True):
        axes.plot(points["step"], points["value"], marker="o", markersize=3, label=name)
    axes.set_xlabel(_("optimizer step"))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel(metric)
    axes.set_title(title)
    axes.legend(frameon=False)
    figure.tight_layout()
    plt.close(figure)
    return figure


def criteria_bars(
    scores: dict[str, dict[str, float]], title: str | None = None, ylabel: str | None = None
) -> Figure:
    """Return a grouped bar chart of each model's score (0 to 1) on each criterion, e.g. from score_replies.

    By default the title is "House-style checks passed" and the y label "share of replies passing".
    """
    title = _("House-style checks passed") if title is None else title
    ylabel = _("share of replies passing") if ylabel is None else ylabel
    if not scores:
        raise ValueError(_("no scores to plot; pass {model name: {criterion: score}}, e.g. {'base': score_replies(...)}"))
    criteria = list(next(iter(scores.values())))
    for name, model_scores in scores.items():
        if list(model_scores) != criteria:
            raise ValueError(
                _(
                    "{name!r} has criteria {criteria}, but the first model has {first_criteria}; "
                    "score every model with the same checks"
                ).format(name=name, criteria=list(model_scores), first_criteria=criteria)
            )
    figure, axes = plt.subplots(figsize=(8, 3.4))
    width = 0.8 / len(scores)
    # Grey for the first model (usually the base), green for the next, as in the other course plots.
    colours = ["#adb5bd", "#40916c", "#1d3557", "#e76f51", "#f4a261"]
    for k, (name, model_scores) in enumerate(scores.items()):
        positions = [i + (k - (len(scores) - 1) / 2) * width for i in range(len(criteria))]
        axes.bar(positions, [model_scores[c] for c in criteria], width, color=colours[k % len(colours)], label=in_language(name))
    axes.set_xticks(range(len(criteria)), [in_language(criterion) for criterion in criteria], rotation=30, ha="right")
    axes.set_ylim(0, 1.05)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend(frameon=False, loc="upper left", bbox_to_anchor=(1, 1))  # beside the plot: bars reach 1.0
    figure.tight_layout()
    plt.close(figure)
    return figure
