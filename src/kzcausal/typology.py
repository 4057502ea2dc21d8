"""Donor and recipient regions, and clusters of regions (after Argynbayeva 2025, paper 004)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.cluster.vq import kmeans2

from .errors import SpecificationError, check_count, check_names, check_seed, show_rows
from .panel import RegionPanel

__all__ = ["classify_regions"]


def classify_regions(
    panel: RegionPanel,
    *,
    index: str = "attractiveness_index",
    window: tuple[int, int] | None = None,
    n_clusters: int | None = None,
    features: Sequence[str] | None = None,
    n_init: int = 20,
    random_seed: int | None = 0,
) -> pd.DataFrame:
    """Classify regions as migration donors or recipients, and optionally cluster them.

    A region's attractiveness over the window is the ratio of summed arrivals to summed
    departures when the panel has the counts (ratios are never averaged), otherwise the
    geometric mean of the published index. Above 1 the region is a ``recipient``
    (it gains migrants on balance), below 1 a ``donor``.

    Parameters
    ----------
    panel
        The region panel.
    index
        Index variable used when the counts are absent.
    window
        First and last year (inclusive); default every year.
    n_clusters
        If given, k-means on the standardized window means of ``features``
        (default: the index), best of ``n_init`` seeded starts (k-means++).
        Clusters are numbered 1..k from the highest mean attractiveness down.
    features
        Variables to cluster on (window means per region).
    n_init, random_seed
        K-means restarts and seed; the same seed gives the same clusters.

    Returns
    -------
    pandas.DataFrame
        One row per region, sorted by attractiveness: ``region``, ``attractiveness``,
        ``method``, ``years_observed``, ``years_above_1``, ``role`` and, with
        clustering, ``cluster`` plus the feature means.

    References
    ----------
    Argynbayeva, Zh. (2025). Educational mobility and migration imbalance.
    Central Asian Economic Review, 5, 77-92.
    """
    if not isinstance(panel, RegionPanel):
        raise SpecificationError(f"panel is a {type(panel).__name__}, not a RegionPanel. Fix: build one with "
                                 "kz.read_panel(table, ...).")
    n_init = check_count(n_init, "n_init", cap=1_000, unit_cost="one k-means run", fix="20 restarts are plenty")
    check_seed(random_seed)
    if n_clusters is not None:
        n_clusters = check_count(n_clusters, "n_clusters", minimum=2, fix="e.g. n_clusters=3")
    if features is not None:
        features = check_names(features, "features")
    frame = panel.to_frame()
    if window is not None:
        if isinstance(window, (str, bytes)) or not isinstance(window, Sequence) or len(window) != 2 or not all(
                isinstance(y, numbers.Integral) and not isinstance(y, bool) for y in window):
            raise SpecificationError(f"window={window!r}; it is the first and last year, two whole numbers. Fix: pass "
                                     "e.g. window=(2015, 2022).")
        first, last = window
        if first > last:
            raise SpecificationError(f"window={window}: the first year must not be after the last. Fix: pass "
                                     f"window=({last}, {first}).")
        frame = frame[(frame["year"] >= first) & (frame["year"] <= last)]
        if frame.empty:
            raise SpecificationError(f"window={window} holds no years; the panel covers {panel.years[0]}-"
                                     f"{panel.years[-1]}. Fix: choose a window inside those years.")
    by_region = frame.groupby("region", sort=False)
    if {"arrivals", "departures"} <= set(frame.columns):
        sums = by_region[["arrivals", "departures"]].sum()
        attractiveness = sums["arrivals"] / sums["departures"]
        method = "sum(arrivals) / sum(departures)"
        yearly = frame["arrivals"] / frame["departures"]
    elif index in frame.columns:
        yearly = frame[index]
        bad = frame.loc[yearly <= 0, ["region", "year", index]]
        if len(bad):
            raise SpecificationError(f"column {index!r}: values <= 0 have no geometric mean:\n{show_rows(bad)}")
        attractiveness = np.exp(np.log(yearly).groupby(frame["region"], sort=False).mean())
        method = f"geometric mean of {index}"
    else:
        raise SpecificationError(f"the panel has neither arrivals/departures nor {index!r}; "
                                 f"variables: {panel.variables}. Fix: pass index='<attractiveness column>'.")
    observed = yearly.notna().groupby(frame["region"], sort=False).sum()
    above = (yearly > 1).groupby(frame["region"], sort=False).sum()
    result = pd.DataFrame({
        "attractiveness": attractiveness,
        "method": method,
        "years_observed": observed.astype(int),
        "years_above_1": above.astype(int),
    })
    result["role"] = np.select([result["attractiveness"] > 1, result["attractiveness"] < 1],
                               ["recipient", "donor"], "balanced")
    result.loc[result["attractiveness"].isna(), "role"] = "no data"
    if n_clusters is not None:
        panel.require(*(features or []), role="feature")
        result = result.join(_cluster(frame, by_region, result, n_clusters, features or [], n_init, random_seed))
    return (result.sort_values("attractiveness", ascending=False).rename_axis("region").reset_index())


def _cluster(frame, by_region, result, n_clusters, features, n_init, random_seed) -> pd.DataFrame:
    """Seeded k-means (best of n_init k-means++ starts) on standardized window means."""
    means = by_region[list(features)].mean() if features else pd.DataFrame(index=result.index)
    table = means.assign(attractiveness=result["attractiveness"])
    incomplete = table[table.isna().any(axis=1)]
    if len(incomplete):
        raise SpecificationError(f"cannot cluster regions with missing features in the window:\n"
                                 f"{show_rows(incomplete)}\nFix: narrow the window or choose other features.")
    if not 2 <= n_clusters < len(table):
        raise SpecificationError(f"n_clusters={n_clusters}: need 2 <= k < number of regions ({len(table)}). Fix: "
                                 f"pass n_clusters from 2 to {len(table) - 1}.")
    values = table.to_numpy(dtype=float)
    spread = values.std(axis=0)
    standardized = (values - values.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    rng = np.random.default_rng(random_seed)
    best_labels, best_inertia = None, np.inf
    for _ in range(n_init):
        centroids, labels = kmeans2(standardized, n_clusters, minit="++", seed=rng)
        inertia = float(((standardized - centroids[labels]) ** 2).sum())
        if inertia < best_inertia - 1e-12:
            best_labels, best_inertia = labels, inertia
    order = (pd.Series(table["attractiveness"].to_numpy()).groupby(best_labels).mean()
             .sort_values(ascending=False).index)
    renumber = {old: new for new, old in enumerate(order, start=1)}
    return means.assign(cluster=[renumber[label] for label in best_labels])
