"""Tests for helpers.plots."""

from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from helpers.plots import token_count_histogram


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
