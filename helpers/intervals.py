"""How sure is a rate measured on a few dozen prompts? Wilson intervals, and bootstrap intervals for differences."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from helpers.i18n import N_, _

Z_95 = 1.959964  # standard normal quantile for a two-sided 95% interval


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Return the (low, high) Wilson score interval of a rate: 95% by default."""
    if trials <= 0:
        raise ValueError(_("a rate needs at least one trial"))
    if not 0 <= successes <= trials:
        raise ValueError(
            _("successes must be between 0 and trials ({trials}), got {successes}").format(trials=trials, successes=successes)
        )
    rate = successes / trials
    centre = (rate + z**2 / (2 * trials)) / (1 + z**2 / trials)
    half_width = z * math.sqrt(rate * (1 - rate) / trials + z**2 / (4 * trials**2)) / (1 + z**2 / trials)
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def rates_with_intervals(passed: pd.DataFrame) -> pd.DataFrame:
    """Return each column's rate with its 95% Wilson interval, from a table of True/False outcomes."""
    table = {}
    for column in passed.columns:
        successes, trials = int(passed[column].sum()), int(passed[column].count())
        low, high = wilson_interval(successes, trials)
        table[column] = {N_("rate"): successes / trials, N_("low"): low, N_("high"): high, "n": trials}
    return pd.DataFrame(table).T


def with_interval(rate: float, low: float, high: float) -> str:
    """Return a rate and its interval as text, e.g. "0.91 (0.81–0.96)"."""
    return f"{rate:.2f} ({low:.2f}–{high:.2f})"


def rate_with_interval(passed: pd.Series) -> str:
    """Return a column of True/False outcomes as its rate and 95% Wilson interval, e.g. "0.91 (0.81–0.96)"."""
    rates = rates_with_intervals(passed.to_frame()).iloc[0]
    return with_interval(rates["rate"], rates["low"], rates["high"])


def interval_table(outcomes: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Return one column per model and one row per outcome, each cell "rate (low–high)"; blank where not measured."""
    columns = {}
    for name, passed in outcomes.items():
        rates = rates_with_intervals(passed)
        columns[name] = {row: with_interval(r["rate"], r["low"], r["high"]) for row, r in rates.iterrows()}
    return pd.DataFrame(columns).fillna("")


def paired_difference(first: pd.Series, second: pd.Series, resamples: int = 10_000, seed: int = 0) -> dict[str, float]:
    """Return the difference of two rates on the same items (first - second) with its 95% paired-bootstrap interval."""
    if len(first) != len(second) or len(first) == 0:
        raise ValueError(
            _("need the same non-empty items scored twice, got {first} and {second}").format(
                first=len(first), second=len(second)
            )
        )
    differences = first.to_numpy(dtype=float) - second.to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    # Resampling items, not the two sets separately, keeps each question's pair together.
    samples = differences[rng.integers(0, len(differences), size=(resamples, len(differences)))].mean(axis=1)
    low, high = np.quantile(samples, [0.025, 0.975])
    return {N_("difference"): differences.mean(), N_("low"): float(low), N_("high"): float(high)}


def unpaired_difference(first: pd.Series, second: pd.Series, resamples: int = 10_000, seed: int = 0) -> dict[str, float]:
    """Return the difference of two rates on different items (first - second) with its 95% bootstrap interval."""
    if len(first) == 0 or len(second) == 0:
        raise ValueError(_("need items in both sets, got {first} and {second}").format(first=len(first), second=len(second)))
    rng = np.random.default_rng(seed)
    # Each set is resampled on its own: no item of one has a partner in the other. Such an interval is
    # wider than a paired one on the same number of items, since each item's own difficulty stays in it.
    means = [
        values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)
        for values in (first.to_numpy(dtype=float), second.to_numpy(dtype=float))
    ]
    low, high = np.quantile(means[0] - means[1], [0.025, 0.975])
    difference = float(first.mean()) - float(second.mean())
    return {N_("difference"): difference, N_("low"): float(low), N_("high"): float(high)}


def verdict(difference: dict[str, float]) -> str:
    """Return what a difference's 95% interval allows us to say: ahead or behind beyond noise, or that we cannot tell."""
    if difference["low"] > 0:
        return _("higher, beyond noise")
    if difference["high"] < 0:
        return _("lower, beyond noise")
    return _("we cannot tell")


def difference_table(differences: dict[str, dict[str, float]], label: str) -> pd.DataFrame:
    """Return one row per comparison: the difference (named label), its 95% interval and the verdict, rounded for reading."""
    table = pd.DataFrame(differences).T.astype(float).round(2).rename(columns={"difference": label})
    return table.assign(**{_("verdict"): [verdict(d) for d in differences.values()]})
