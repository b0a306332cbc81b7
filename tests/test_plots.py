"""Tests for helpers.plots."""

import pandas as pd
import pytest
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from helpers.plots import batch_layouts, criteria_bars, learning_curve, run_comparison, token_count_histogram, validation_curves


def test_token_count_histogram_draws_two_labelled_histograms():
    figure = token_count_histogram([120, 150, 300], [40, 55, 90], title="Train split")
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 1
    axes = figure.axes[0]
    assert sum(isinstance(container, BarContainer) for container in axes.containers) == 2
    assert axes.get_xlabel() == "tokens per conversation"
    assert axes.get_ylabel() == "conversations"
    assert axes.get_title() == "Train split"
    assert len(axes.get_legend().get_texts()) == 2


def test_criteria_bars_draws_one_bar_group_per_model():
    scores = {"base": {"greeting": 0.1, "sign_off": 0.0}, "fine-tuned": {"greeting": 0.9, "sign_off": 1.0}}
    figure = criteria_bars(scores, title="House style")
    axes = figure.axes[0]
    bars = [container for container in axes.containers if isinstance(container, BarContainer)]
    assert [len(container) for container in bars] == [2, 2]
    assert [bar.get_height() for bar in bars[1]] == [0.9, 1.0]
    assert [label.get_text() for label in axes.get_xticklabels()] == ["greeting", "sign_off"]
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["base", "fine-tuned"]
    assert axes.get_title() == "House style"
    assert axes.get_ylim() == (0, 1.05)


def test_criteria_bars_rejects_models_scored_on_different_checks():
    with pytest.raises(ValueError, match="'tuned' has criteria.*same checks"):
        criteria_bars({"base": {"greeting": 0.1}, "tuned": {"sign_off": 1.0}})


# ── validation_curves and run_comparison (lesson 3) ───────────────────────────────────────────────

VALIDATION_HISTORY = [
    {"loss": 2.0, "step": 1},
    {"eval_loss": 1.6, "step": 1},
    {"loss": 1.2, "step": 2},
    {"eval_loss": 1.3, "step": 2},
    {"loss": 0.6, "step": 3},
    {"eval_loss": 1.5, "step": 3},
    {"train_runtime": 3.0, "train_loss": 1.3, "step": 3},
]


def _labels(axes):
    return [text.get_text() for text in axes.get_legend().get_texts()]


def _line(axes, label):
    return next(line for line in axes.get_lines() if line.get_label() == label)


def test_validation_curves_draw_training_and_validation_loss():
    figure = validation_curves(VALIDATION_HISTORY, title="LoRA run")
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 1  # no house-style scores: no second axis
    axes = figure.axes[0]
    assert axes.get_title() == "LoRA run"
    assert axes.get_xlabel() == "optimizer step"
    assert _labels(axes) == ["training loss", "validation loss", "lowest validation loss (step 2)"]
    assert list(_line(axes, "training loss").get_xdata()) == [1, 2, 3]
    assert list(_line(axes, "training loss").get_ydata()) == [2.0, 1.2, 0.6]
    assert list(_line(axes, "validation loss").get_ydata()) == [1.6, 1.3, 1.5]


def test_validation_curves_star_the_lowest_validation_loss():
    star = _line(validation_curves(VALIDATION_HISTORY).axes[0], "lowest validation loss (step 2)")
    assert star.get_marker() == "*"
    assert (list(star.get_xdata()), list(star.get_ydata())) == ([2], [1.3])


def test_validation_curves_mark_where_training_stopped():
    plain = validation_curves(VALIDATION_HISTORY)
    assert not any("stopped early" in label for label in _labels(plain.axes[0]))
    stopped = validation_curves(VALIDATION_HISTORY, stopped_at=3)
    assert _labels(stopped.axes[0])[-1] == "stopped early (step 3)"


def test_validation_curves_draw_format_and_content_on_a_second_axis():
    history = [dict(entry) for entry in VALIDATION_HISTORY]
    history[1] |= {"eval_format": 0.2, "eval_content": 0.1}
    history[5] |= {"eval_format": 0.9, "eval_content": 0.3}
    figure = validation_curves(history)
    assert len(figure.axes) == 2
    axes, score_axes = figure.axes
    assert _labels(axes) == [
        "training loss", "validation loss", "lowest validation loss (step 2)", "format", "content",
    ]
    assert score_axes.get_ylim() == (0, 1.05)
    assert score_axes.get_ylabel() == "share of checked replies passing"
    format_line, content_line = _line(score_axes, "format"), _line(score_axes, "content")
    assert (list(format_line.get_xdata()), list(format_line.get_ydata())) == ([1, 3], [0.2, 0.9])
    assert (list(content_line.get_xdata()), list(content_line.get_ydata())) == ([1, 3], [0.1, 0.3])


def test_validation_curves_draw_whichever_share_was_logged():
    history = [dict(entry) for entry in VALIDATION_HISTORY]
    history[1]["eval_format"] = 0.5
    figure = validation_curves(history)
    assert [line.get_label() for line in figure.axes[1].get_lines()] == ["format"]


def test_validation_curves_without_evaluations_draw_training_loss_only():
    figure = validation_curves([entry for entry in VALIDATION_HISTORY if "eval_loss" not in entry])
    assert _labels(figure.axes[0]) == ["training loss"]


RUNS = pd.DataFrame(
    [
        {"run": "lr=0.001", "step": 10, "metric": "train/loss", "value": 1.5},
        {"run": "lr=0.001", "step": 20, "metric": "train/loss", "value": 0.9},
        {"run": "lr=0.0001", "step": 10, "metric": "train/loss", "value": 2.0},
        {"run": "lr=0.0001", "step": 20, "metric": "train/loss", "value": 1.9},
        {"run": "lr=0.001", "step": 20, "metric": "eval/loss", "value": 1.1},
    ]
)


def test_run_comparison_draws_one_line_per_run():
    figure = run_comparison(RUNS, "train/loss", title="Two learning rates")
    axes = figure.axes[0]
    assert axes.get_title() == "Two learning rates"
    assert axes.get_ylabel() == "train/loss"
    assert _labels(axes) == ["lr=0.0001", "lr=0.001"]
    assert list(_line(axes, "lr=0.001").get_xdata()) == [10, 20]
    assert list(_line(axes, "lr=0.001").get_ydata()) == [1.5, 0.9]


def test_run_comparison_draws_only_the_runs_that_logged_the_metric():
    assert _labels(run_comparison(RUNS, "eval/loss").axes[0]) == ["lr=0.001"]


def test_run_comparison_unknown_metric_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"no run logged 'eval/accuracy'; the logged metrics are: eval/loss, train/loss"):
        run_comparison(RUNS, "eval/accuracy")


def test_run_comparison_of_an_empty_table():
    with pytest.raises(ValueError, match="the logged metrics are: none"):
        run_comparison(RUNS.iloc[0:0], "train/loss")


def test_token_count_histogram_marks_max_length_and_counts_what_it_cuts():
    axes = token_count_histogram([120, 150, 300], [40, 55, 90], max_length=140).axes[0]
    assert [line.get_xdata()[0] for line in axes.get_lines()] == [140]
    assert "max_length=140 (2 cut)" in [text.get_text() for text in axes.get_legend().get_texts()]


def test_batch_layouts_shows_the_padding_the_packed_row_and_block_diagonal_attention():
    figure = batch_layouts([3, 5, 2])
    padded, packed, attention = figure.axes
    assert padded.get_title() == "padded batch: 3 rows × 5 tokens, 5 of them padding"
    assert packed.get_title() == "packed / padding-free: 1 row × 10 tokens, no padding"
    allowed = attention.get_images()[0].get_array()
    # Token 3 (the first of conversation 2) sees itself only; the last token sees its own conversation's two.
    assert allowed[3].tolist() == [False, False, False, True] + [False] * 6
    assert allowed[9].tolist() == [False] * 8 + [True, True]


def test_axis_labels_speak_vietnamese_in_the_vietnamese_notebooks(vietnamese):
    def labels():
        axes = token_count_histogram([120, 150, 300], [40, 55, 90], title="Train split").axes[0]
        return axes.get_xlabel(), axes.get_title()

    assert labels() == ("tokens per conversation", "Train split")
    vietnamese.on()
    assert vietnamese("tokens per conversation") != "tokens per conversation"
    assert labels() == (vietnamese("tokens per conversation"), "Train split")  # the title is the notebook's: not translated here
    vietnamese.off()
    assert labels() == ("tokens per conversation", "Train split")


def test_learning_curve_draws_the_measured_lines_and_this_runs_points():
    measured = pd.DataFrame({"format": [0.9, 1.0], "category_correct": [0.5, 0.9], "policy_correct": [0.2, 0.8]}, index=[20, 40])
    this_run = pd.DataFrame({"format": [0.0, 1.0], "category_correct": [0.0, 1.0], "policy_correct": [0.0, 0.9]}, index=[0, 40])
    axes = learning_curve(measured, this_run, title="Learning").axes[0]
    assert [list(line.get_ydata()) for line in axes.get_lines()] == [[0.9, 1.0], [0.5, 0.9], [0.2, 0.8]]
    assert [list(points.get_offsets()[:, 1]) for points in axes.collections[:3]] == [[0.0, 1.0], [0.0, 1.0], [0.0, 0.9]]
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["format", "category_correct", "policy_correct", "this run"]
