"""Tests for the intervals module: Wilson intervals, the paired and the unpaired bootstrap."""

import pandas as pd
import pytest

from helpers.intervals import (
    difference_table,
    interval_table,
    paired_difference,
    rate_with_interval,
    rates_with_intervals,
    unpaired_difference,
    verdict,
    wilson_interval,
    with_interval,
)


def test_wilson_interval_matches_a_published_value():
    # Newcombe (1998), Statistics in Medicine 17:857, table I: 81/263 gives 0.2553 to 0.3662.
    low, high = wilson_interval(81, 263)
    assert low == pytest.approx(0.2553, abs=1e-4)
    assert high == pytest.approx(0.3662, abs=1e-4)


def test_wilson_interval_stays_inside_zero_and_one_and_narrows_with_more_trials():
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert 0.0 < wilson_interval(10, 10)[0] < 1.0
    narrow, wide = wilson_interval(600, 1000), wilson_interval(6, 10)
    assert narrow[1] - narrow[0] < wide[1] - wide[0]


def test_wilson_interval_refuses_impossible_counts():
    with pytest.raises(ValueError, match="at least one trial"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="between 0 and trials"):
        wilson_interval(11, 10)


def test_rates_with_intervals_per_column():
    table = rates_with_intervals(pd.DataFrame({"a": [True, True, False, False], "b": [True] * 4}))
    assert table.loc["a", "rate"] == 0.5
    assert table.loc["b", "rate"] == 1.0
    assert table.loc["a", "low"] < 0.5 < table.loc["a", "high"]
    assert table.loc["a", "n"] == 4
    assert with_interval(0.5, 0.25, 0.75) == "0.50 (0.25–0.75)"


def test_paired_difference_keeps_pairs_together():
    # The second model gets right exactly what the first got wrong: no noise in the pairs' difference.
    first = pd.Series([True] * 30 + [False] * 30)
    second = pd.Series([True] * 30 + [True] * 30)
    result = paired_difference(first, second)
    assert result["difference"] == -0.5
    assert result["low"] < -0.35 and result["high"] < -0.35 + 0.2
    same = paired_difference(first, first)
    assert same == {"difference": 0.0, "low": 0.0, "high": 0.0}
    with pytest.raises(ValueError, match="same non-empty items"):
        paired_difference(first, second[:10])


def test_unpaired_difference_is_wider_than_the_paired_one_and_takes_sets_of_any_size():
    # The second set is the first with 6 of its 30 misses turned right: paired, only those 6 vary.
    first = pd.Series([True] * 30 + [False] * 30)
    second = pd.Series([True] * 36 + [False] * 24)
    unpaired, paired = unpaired_difference(first, second), paired_difference(first, second)
    assert unpaired["difference"] == pytest.approx(paired["difference"]) == pytest.approx(-0.1)
    assert unpaired["high"] - unpaired["low"] > 1.5 * (paired["high"] - paired["low"])
    assert unpaired["low"] < -0.1 < unpaired["high"]
    # Two independent samples of 50%, 64 each: the interval is about +-0.17 (1.96 x sqrt(2 x 0.25 / 64)).
    half = pd.Series([True, False] * 32)
    spread = unpaired_difference(half, half.sample(frac=1, random_state=1))
    assert spread["low"] == pytest.approx(-0.17, abs=0.03) and spread["high"] == pytest.approx(0.17, abs=0.03)
    assert unpaired_difference(first, second[:10])["difference"] == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="items in both"):
        unpaired_difference(first, second[:0])


def test_interval_table_leaves_blanks_where_a_model_has_no_such_outcome():
    table = interval_table({
        "model": pd.DataFrame({"format": [True, False], "content": [True, True]}),
        "baseline": pd.DataFrame({"content": [False, False]}),
    })
    assert table.loc["format", "baseline"] == ""
    assert table.loc["content", "baseline"].startswith("0.00 (0.00–")
    assert table.loc["format", "model"].startswith("0.50 (")


def test_rate_with_interval_is_one_cell_of_interval_table():
    passed = pd.Series([True, True, False, True], name="format")
    assert rate_with_interval(passed) == interval_table({"m": passed.to_frame()}).loc["format", "m"]


def test_a_message_comes_out_in_vietnamese_in_the_vietnamese_notebooks(vietnamese):
    with pytest.raises(ValueError) as english:
        wilson_interval(5, 3)
    assert str(english.value) == "successes must be between 0 and trials (3), got 5"
    vietnamese.on()
    with pytest.raises(ValueError) as translated:
        wilson_interval(5, 3)
    expected = vietnamese("successes must be between 0 and trials ({trials}), got {successes}").format(trials=3, successes=5)
    assert str(translated.value) == expected != str(english.value)


def test_a_verdict_reads_the_interval_not_the_difference():
    assert verdict({"difference": 0.05, "low": 0.01, "high": 0.09}) == "higher, beyond noise"
    assert verdict({"difference": -0.3, "low": -0.5, "high": -0.1}) == "lower, beyond noise"
    assert verdict({"difference": 0.2, "low": -0.01, "high": 0.4}) == "we cannot tell"
    first, second = pd.Series([True] * 50 + [False] * 14), pd.Series([True] * 10 + [False] * 54)
    table = difference_table({"a minus b": paired_difference(first, second), "a minus a": paired_difference(first, first)}, "gain")
    assert list(table.columns) == ["gain", "low", "high", "verdict"]
    assert table.loc["a minus b", "gain"] == 0.62 and table.loc["a minus b", "verdict"] == "higher, beyond noise"
    assert table.loc["a minus a", "verdict"] == "we cannot tell"
