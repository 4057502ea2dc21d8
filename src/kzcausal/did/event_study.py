"""Event studies: Callaway-Sant'Anna, Sun-Abraham interaction-weighted, and dynamic TWFE.

All three return an :class:`EventStudyResult` with the event-time coefficients, their
full covariance matrix (what pre-trend tests and HonestDiD need) and the omitted
reference period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import SpecificationError, check_alpha, check_count, check_flag, check_names, check_seed
from ..panel import RegionPanel
from ..results import COLUMNS, EventStudyResult, RegressionForm, coefficient_table
from ..design import (SSC, ControlGroup, DIDDesign, FitSettings, check_anticipation, check_clustering, check_panel, check_ssc,
                      cohort_share_weights, estimation_rows, few_cluster_notes, positional_deprecated,
                      renamed, resolve_assignment, ssc_scale)
from .regression import cluster_sums, two_way_demean, within_ols
from .staggered import staggered_did

__all__ = ["event_study"]

EventMethod = Literal["cs", "sun_abraham", "twfe"]


@dataclass(frozen=True)
class RegressionEventSettings(FitSettings):
    """A Sun-Abraham or dynamic TWFE event study's options: what a re-fit repeats."""

    method: str
    leads: int | None
    lags: int | None
    reference: int
    bin_endpoints: bool
    control_group: str
    anticipation: int
    covariates: tuple[str, ...]
    ssc: str
    alpha: float
    cluster: str | None


@renamed(n_boot="draws")
@positional_deprecated("first_treated")
def event_study(
    panel: RegionPanel,
    outcome: str,
    *,
    first_treated: str | Mapping[str, float] | None = None,
    treated: str | Sequence[str] | None = None,
    post_from: int | None = None,
    treatment: str | None = None,
    method: EventMethod = "cs",
    leads: int | None = None,
    lags: int | None = None,
    reference: int = -1,
    bin_endpoints: bool = True,
    control_group: ControlGroup = "never_treated",
    anticipation: int = 0,
    covariates: Sequence[str] | None = None,
    cluster: str | Mapping[str, object] | None = None,
    ssc: SSC = "fixest",
    alpha: float = 0.05,
    draws: int = 0,
    random_seed: int | None = None,
) -> EventStudyResult:
    """Dynamic treatment effects by event time (years since adoption).

    Parameters
    ----------
    first_treated, treated + post_from, treatment
        The assignment, exactly one spelling, as in :func:`staggered_did`.
    method
        ``"cs"``: Callaway & Sant'Anna (2021) ATT(g,t) with a universal base period,
        aggregated by event time (cohort-share weights, estimated-weights correction);
        ``overall`` is the mean of the post-period event-time effects (R did).
        ``"sun_abraham"``: Sun & Abraham (2021) interaction-weighted estimator: cohort x
        event-time interactions in a two-way fixed-effects regression, never-treated regions
        as controls (or, without them and with ``control_group="not_yet_treated"``, the
        last-treated cohort, using only years before it is treated), averaged with
        cohort-share weights; covariance by the delta method with the weights held fixed (as
        fixest's ``sunab``); ``overall`` is fixest's ``aggregate(att)``: the post-period
        cohort x event-time effects weighted by their number of treated observations.
        ``"twfe"``: the dynamic two-way fixed-effects regression on event-time dummies,
        biased when effects differ across cohorts (kept for comparison); ``overall`` is the
        mean of the post-period coefficients.
    leads, lags
        Event-time window ``-leads <= e <= lags`` (default: every event time in the data).
    reference
        Omitted event time for the regression methods (CS uses ``-1 - anticipation``).
    bin_endpoints
        Regression methods: pool event times beyond the window into the end bins. Without
        binning, observations outside the window are dropped (and said so).
    covariates
        Time-varying controls (all methods; CS uses their base-period values).
    cluster
        What to cluster on, coarser than the region: a column or a mapping region -> label
        (default: the region).
    ssc
        Regression methods: small-sample correction of the clustered covariance,
        ``"fixest"`` (default: = R fixest / Stata ``reghdfe``), ``"linearmodels"`` or ``"none"``
        (see :mod:`kzcausal.did.regression`). CS errors are influence-function based (R did).
    control_group, anticipation, alpha, draws, random_seed
        As in :func:`staggered_did` (``draws``, the multiplier bootstrap's, applies to CS).

    References
    ----------
    Sun, L. & Abraham, S. (2021). Estimating dynamic treatment effects in event studies with
    heterogeneous treatment effects. Journal of Econometrics 225(2), 175-199.
    Callaway, B. & Sant'Anna, P. H. C. (2021). Journal of Econometrics 225(2), 200-230.
    """
    for name, value in (("leads", leads), ("lags", lags)):
        if value is not None and (not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0):
            raise SpecificationError(f"{name}={value!r}; give a non-negative whole number of years (or None).")
    if method not in ("cs", "sun_abraham", "twfe"):
        raise SpecificationError(f"method={method!r}; use 'cs', 'sun_abraham' or 'twfe'.")
    check_ssc(ssc)
    check_panel(panel)
    check_alpha(alpha)
    check_anticipation(anticipation)
    check_flag(bin_endpoints, "bin_endpoints")
    # no fixed cap: staggered_did refuses a bootstrap by its memory and work, which depend on regions and years
    check_count(draws, "draws", minimum=0, fix="draws=0 for analytic errors, 999 or 9999 for a bootstrap")
    if draws and method != "cs":
        raise SpecificationError(f"draws={draws}: the multiplier bootstrap (uniform bands) is for method='cs'; "
                                 f"method={method!r} has clustered errors. Fix: drop draws, or use method='cs'; "
                                 "for bootstrap inference on this event study use kz.wild_cluster_bootstrap(result).")
    check_seed(random_seed)
    if isinstance(reference, bool) or not isinstance(reference, (int, np.integer)) or reference >= 0:
        raise SpecificationError(f"reference={reference!r}; it must be a negative whole number of years (a pre-period "
                                 f"event time). Fix: pass reference={-1 - anticipation} (-1 - anticipation).")
    covariates = check_names(covariates, "covariates", allow_empty=True)
    if method == "cs":
        if reference != -1 - anticipation:
            raise SpecificationError(f"reference={reference}: CS event studies are relative to e = "
                                     f"{-1 - anticipation} (the universal base period, -1 - anticipation with "
                                     f"anticipation={anticipation}). Fix: pass reference={-1 - anticipation}.")
        result = staggered_did(panel, outcome, first_treated=first_treated, treated=treated, post_from=post_from,
                               treatment=treatment, control_group=control_group,
                               anticipation=anticipation, covariates=covariates, base_period="universal",
                               cluster=cluster, alpha=alpha, draws=draws, random_seed=random_seed)
        return result.aggregate("event", min_e=None if leads is None else -leads, max_e=lags)
    check_clustering(cluster)
    assignment = resolve_assignment(panel, first_treated=first_treated, treated=treated, post_from=post_from,
                                    treatment=treatment, estimator="event_study")
    rows, notes = estimation_rows(panel, outcome, assignment, covariates=covariates, cluster=cluster)
    settings = RegressionEventSettings(
        method=method, leads=leads, lags=lags, reference=reference, bin_endpoints=bin_endpoints,
        control_group=control_group, anticipation=anticipation, covariates=tuple(covariates), ssc=ssc, alpha=alpha,
        cluster=cluster if isinstance(cluster, str) or cluster is None else "cluster")
    return _regression_event_study(rows, outcome, settings=settings).noting(notes)


def _regression_event_study(rows: pd.DataFrame, outcome: str, *, settings: RegressionEventSettings) -> EventStudyResult:
    """Sun-Abraham or dynamic TWFE on estimation rows ``region, year, <outcome>, cohort[, cluster][, covariates]``."""
    method, leads, lags, reference, bin_endpoints = (settings.method, settings.leads, settings.lags,
                                                     settings.reference, settings.bin_endpoints)
    control_group, anticipation, covariates, ssc, alpha, cluster = (
        settings.control_group, settings.anticipation, settings.covariates, settings.ssc, settings.alpha,
        settings.cluster)
    design = DIDDesign.from_frame(rows, outcome, control_group=control_group, anticipation=anticipation)
    data = design.data
    notes = list(design.notes)
    # a cohort adopting after the last year is never treated in these rows (as R did recodes it): left as a
    # cohort, all its rows would be leads, collinear with its region effect
    late = (data["first_treated"] - anticipation > data["year"].max()).to_numpy()
    if late.any():
        data = data.assign(first_treated=data["first_treated"].where(~late))
    if method == "sun_abraham" and not data["first_treated"].isna().any():
        last = max(design.cohorts)
        data = data[data["year"] < last].assign(
            first_treated=lambda t: t["first_treated"].where(t["first_treated"] != last))
        notes.append(f"no never-treated regions: cohort {last} is the control; years from {last} on are dropped")
    event = data["year"] - data["first_treated"]
    observed = event.dropna()
    low = -leads if leads is not None else int(observed.min())
    high = lags if lags is not None else int(observed.max())
    if not low <= reference <= high:
        raise SpecificationError(f"reference={reference} lies outside the window [{low}, {high}] of event times "
                                 "(leads, lags). Fix: widen the window (leads >= -reference) or choose a reference "
                                 "inside it.")
    outside = event.notna() & ((event < low) | (event > high))
    if outside.any() and not bin_endpoints:
        notes.append(f"dropped {int(outside.sum())} treated observation(s) outside the window [{low}, {high}]")
        data, event = data[~outside], event[~outside]
    event = event.clip(lower=low, upper=high)
    seen = np.unique(event.dropna().to_numpy(int))
    if reference not in seen:
        pre = [int(e) for e in seen if e < 0]
        raise SpecificationError(f"reference={reference}: no treated row is observed {abs(reference)} year(s) "
                                 f"{'before' if reference < 0 else 'after'} adoption (the years are "
                                 f"{sorted(int(y) for y in pd.unique(data['year']))}), so every treated row would get "
                                 f"a dummy, collinear with the region effects. Observed event times: {seen.tolist()}. "
                                 + (f"Fix: pass reference={max(pre)} (the latest observed pre-period)." if pre else
                                    "Fix: the treated regions need an observed year before adoption."))
    times = sorted(int(e) for e in pd.unique(event.dropna()) if e != reference)
    cohort = data["first_treated"].to_numpy(float)
    if method == "twfe":
        cells = [(None, e) for e in times]
    else:
        pairs = pd.DataFrame({"g": cohort, "e": event.to_numpy()}).dropna().drop_duplicates()
        cells = sorted((float(g), int(e)) for g, e in pairs.itertuples(index=False) if e != reference)
    row_event = event.to_numpy(float)
    if method == "twfe":
        row_cell = pd.Index(times, dtype=float).get_indexer(row_event)
    else:
        row_cell = pd.MultiIndex.from_tuples(cells).get_indexer(pd.MultiIndex.from_arrays([cohort, row_event]))
    row_cell = np.where(np.isfinite(row_event), row_cell, -1)  # -1: no dummy switched on
    clusters = data["cluster"] if "cluster" in data else data["region"]
    k = len(cells)
    params, bread, sums, nobs = _fit_cells(data, outcome, row_cell, k, list(covariates), clusters)
    g_count = sums.shape[0]
    factor, df = ssc_scale(ssc, n_obs=nobs, n_clusters=g_count, k=bread.shape[0],
                           fixed_effects=(data["region"].nunique(), data["year"].nunique()), nested=(True, False))
    influence = sums @ bread  # clusters x coefficients: each cluster's influence on the estimates
    cov = influence.T @ influence * factor
    counts = np.bincount(row_cell[row_cell >= 0], minlength=k).astype(float)
    post_cells = np.array([e >= 0 for _, e in cells])
    if method == "twfe":
        weights = np.eye(len(times))
        label = "dynamic TWFE (event-time dummies)"
        overall_w = np.where(post_cells, 1.0, 0.0) / max(post_cells.sum(), 1)
        estimand = "mean of the post-period event-time coefficients"
    else:
        weights = cohort_share_weights(row_cell, cells, times)
        label = "Sun-Abraham interaction-weighted"
        overall_w = np.where(post_cells, counts, 0.0) / max(counts[post_cells].sum(), 1.0)
        estimand = "ATT: post-period cohort x event-time effects weighted by treated observations (fixest aggregate)"
    weights = np.hstack([weights, np.zeros((len(times), len(params) - k))])
    overall_w = np.concatenate([overall_w, np.zeros(len(params) - k)])
    estimates, vcov = weights @ params, weights @ cov @ weights.T
    table = coefficient_table(pd.Series(estimates, index=times),
                              pd.Series(np.sqrt(np.clip(np.diag(vcov), 0, None)), index=times), alpha=alpha, df=df)
    table.index.name = "event_time"
    if post_cells.any():
        overall = coefficient_table(pd.Series([overall_w @ params]), pd.Series([np.sqrt(overall_w @ cov @ overall_w)]),
                                    alpha=alpha, df=df).iloc[0]
    else:
        overall = pd.Series(np.nan, index=COLUMNS)
    notes += few_cluster_notes(g_count, int(design.region_cohorts.notna().sum()))
    cluster_name = cluster or "region"
    return EventStudyResult(
        table=table,
        vcov=pd.DataFrame(vcov, index=times, columns=times),
        method=f"{label}, {cluster_name}-clustered errors (ssc={ssc}), reference e = {reference}"
               + (", end bins pooled" if bin_endpoints and outside.any() else "")
               + (f", covariates {list(covariates)}" if covariates else ""),
        effect=("overall",),
        spec={"estimator": "event_study", "outcome": outcome, **settings.display()},
        alpha=alpha, ssc=ssc, covariance="cluster", outcome=outcome,
        n_obs=nobs,
        n_clusters=g_count,
        cluster=cluster_name,
        fixed_effects=("region", "year"),
        caveats=tuple(notes),
        data=DIDDesign.estimation_rows(data),
        scores=pd.DataFrame({"overall": influence @ overall_w}, index=pd.Index(pd.unique(clusters.to_numpy()),
                                                                                 name="cluster")),
        refitter=partial(_regression_event_study, settings=settings),
        regression=partial(_regression_form, data=data, outcome=outcome, row_cell=row_cell, k=k,
                           covariates=list(covariates), clusters=clusters, weights=overall_w),
        reference=reference,
        overall=overall,
        overall_estimand=estimand,
    )


def _regression_form(*, data: pd.DataFrame, outcome: str, row_cell: np.ndarray, k: int, covariates: list[str],
                     clusters: pd.Series, weights: np.ndarray) -> RegressionForm:
    """The overall effect as ``weights' beta`` in the cell-dummy regression, region and year effects partialled out."""
    both = two_way_demean(data, np.column_stack([data[outcome].to_numpy(float),
                                                 _cell_regressors(data, row_cell, k, covariates)]))
    codes, labels = pd.factorize(clusters.to_numpy())
    return RegressionForm(X=both[:, 1:], y=both[:, 0], R=weights, clusters=codes, labels=tuple(labels),
                          project=partial(two_way_demean, data))


def _cell_regressors(data: pd.DataFrame, row_cell: np.ndarray, k: int, covariates: list[str]) -> np.ndarray:
    """The k cell dummies (row i switches on column ``row_cell[i]``, none if -1), then the covariates."""
    dummies = np.zeros((len(data), k))
    on = np.flatnonzero(row_cell >= 0)
    dummies[on, row_cell[on]] = 1.0
    return np.column_stack([dummies, data[covariates].to_numpy(float)]) if covariates else dummies


def _fit_cells(data: pd.DataFrame, outcome: str, row_cell: np.ndarray, k: int, covariates: list[str],
               clusters: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Two-way fixed-effects regression of the outcome on k cell dummies (and covariates).

    ``row_cell[i]`` is the dummy (column) that row i switches on, or -1. Returns
    ``(beta, bread, cluster_scores, nobs)`` with ``bread = (X~'X~)^-1`` and ``s_g = X~_g' e_g``.
    Balanced panels without covariates use an exact closed form: the dummies vary by
    cohort x year only, so the two-way within transformation and the scores reduce to
    cohort x year cells; this is what makes 50,000-region panels feasible. Otherwise the
    regressors are demeaned by linearmodels (iterated when unbalanced).
    """
    codes, regions = pd.factorize(data["region"])
    years = np.sort(pd.unique(data["year"]))
    n, t_count = len(regions), len(years)
    if covariates or len(data) != n * t_count or (np.bincount(codes) != t_count).any():
        regressors = pd.DataFrame(_cell_regressors(data, row_cell, k, covariates), index=data.index,
                                  columns=[*(f"cell{j}" for j in range(k)), *covariates])
        beta, bread, sums, _ = within_ols(data, outcome, regressors, clusters, covariates=covariates)
        return beta, bread, sums, len(data)
    cell = row_cell.reshape(n, t_count)  # rows are sorted by region, then year
    # every region's dummy pattern over time identifies its "profile" (cohort under this design)
    profiles, profile_of = np.unique(cell, axis=0, return_inverse=True)
    profile_of = profile_of.ravel()
    counts = np.bincount(profile_of, minlength=len(profiles)).astype(float)
    X = np.zeros((len(profiles), t_count, k))
    p_idx, t_idx = np.nonzero(profiles >= 0)
    X[p_idx, t_idx, profiles[p_idx, t_idx]] = 1.0
    share = counts / n
    Xt = X - X.mean(axis=1, keepdims=True) - np.einsum("p,ptk->tk", share, X)[None] \
        + np.einsum("p,ptk->k", share, X)[None, None] / t_count
    y = data[outcome].to_numpy(float).reshape(n, t_count)
    yt = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    sums = np.zeros((len(profiles), t_count))
    np.add.at(sums, profile_of, yt)
    xtx = np.einsum("p,ptk,ptl->kl", counts, Xt, Xt)
    if np.linalg.matrix_rank(xtx) < k:
        raise SpecificationError("event-time dummies are collinear with the region and year effects (no "
                                 "never-treated regions and no binned endpoints?). Fix: restrict leads/lags with "
                                 "bin_endpoints=True, or add never-treated regions.")
    bread = np.linalg.inv(xtx)
    beta = bread @ np.einsum("ptk,pt->k", Xt, sums)
    resid = yt - np.einsum("itk,k->it", Xt[profile_of], beta)
    scores = np.einsum("it,itk->ik", resid, Xt[profile_of])  # one row per region
    region_cluster = clusters.to_numpy()[np.unique(codes, return_index=True)[1]]
    cluster_codes, cluster_labels = pd.factorize(region_cluster)
    return beta, bread, cluster_sums(scores, cluster_codes, len(cluster_labels)), n * t_count
