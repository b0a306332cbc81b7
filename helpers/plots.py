"""Plots the lessons draw (matplotlib), kept here so notebook cells stay about the lesson."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def token_count_histogram(total: list[int], trained: list[int], title: str = "") -> Figure:
    """Return a histogram of tokens per conversation: all tokens versus the tokens a run trains on."""
    figure, axes = plt.subplots(figsize=(7, 3.2))
    bins = range(0, max(total) + 10, 10)
    axes.hist(total, bins=bins, color="#adb5bd", label="all tokens (what the model reads)")
    axes.hist(trained, bins=bins, color="#40916c", alpha=0.85, label="trained tokens (assistant replies)")
    axes.set_xlabel("tokens per conversation")
    axes.set_ylabel("conversations")
    axes.set_title(title)
    axes.legend(frameon=False)
    figure.tight_layout()
    plt.close(figure)  # the notebook shows the returned figure once, not twice
    return figure


def loss_curves(histories: dict[str, list[dict]], title: str = "Training loss") -> Figure:
    """Return a figure of training loss against step for each run's Trainer log history."""
    figure, axes = plt.subplots(figsize=(7, 3.2))
    for name, history in histories.items():
        points = [(entry["step"], entry["loss"]) for entry in history if "loss" in entry]
        axes.plot(*zip(*points), marker="o", markersize=3, label=name)
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("loss (assistant tokens)")
    axes.set_title(title)
    axes.legend(frameon=False)
    figure.tight_layout()
    plt.close(figure)
    return figure
