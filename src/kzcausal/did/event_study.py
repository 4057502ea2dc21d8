"""Event studies: Callaway-Sant'Anna, Sun-Abraham interaction-weighted, and dynamic TWFE.

All three return an :class:`EventStudyResult` with the event-time coefficients, their
full covariance matrix (what pre-trend tests and HonestDiD need) and the omitted
reference period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import SpecificationError
from ..panel import RegionPanel
from .design import ControlGroup, DIDDesign
from .results import coefficient_table
from .staggered import EventStudyResult, staggered_did

__all__ = ["event_study"]

EventMethod = Literal["cs", "sun_abraham", "twfe"]


def event_study(
    panel: RegionPanel,
    outcome: str,
    first_treated: str | Mapping[str, float],
    *,
    method: EventMethod = "cs",
    leads: int | None = None,
    lags: int | None = None,
    reference: int = -1,
    bin_endpoints: bool = True,
    control_group: ControlGroup = "never_treated",
    anticipation: int = 0,
    covariates: Sequence[str] | None = None,
    alpha: float = 0.05,
    n_boot: int = 0,
    random_seed: int | None = None,
) -> EventStudyResult:
    """Dynamic treatment effects by event time (years since adoption).

    Parameters
    ----------
    method
        ``"cs"``: Callaway & Sant'Anna (2021) ATT(g,t) with a universal base period,
        aggregated by event time (cohort-share weights, estimated-weights correction).
        ``"sun_abraham"``: Sun & Abraham (2021) interaction-weighted estimator: cohort x
        event-time interactions in a two-way fixed-effects regression (linearmodels),
        never-treated regions as controls (or, without them and with
        ``control_group="not_yet_treated"``, the last-treated cohort, using only years
        before it is treated), averaged with cohort-share weights;
        covariance by the delta method with the weights held fixed (as fixest's ``sunab``).
        ``"twfe"``: the dynamic two-way fixed-effects regression on event-time dummies,
        biased when effects differ across cohorts (kept for comparison).
    leads, lags
        Event-time window ``-leads <= e <= lags`` (default: every event time in the data).
    reference
        Omitted event time for the regression methods (CS uses ``-1 - anticipation``).
    bin_endpoints
        Regression methods: pool event times beyond the window into the end bins. Without
        binning, observations outside the window are dropped (and said so).
    control_group, anticipation, covariates, alpha, n_boot, random_seed
        As in :func:`staggered_did` (``n_boot`` applies to CS).

    References
    ----------
    Sun, L. & Abraham, S. (2021). Estimating dynamic treatment effects in event studies with
    heterogeneous treatment effects. Journal of Econometrics 225(2), 175-199.
    Callaway, B. & Sant'Anna, P. H. C. (2021). Journal of Econometrics 225(2), 200-230.
    """
    if method == "cs":
        if reference != -1 - anticipation:
            raise SpecificationError(f"CS event studies are relative to e = {-1 - anticipation} "
                                     "(the universal base period); leave reference at its default.")
        result = staggered_did(panel, outcome, first_treated, control_group=control_group,
                               anticipation=anticipation, covariates=covariates, base_period="universal",
                               alpha=alpha, n_boot=n_boot, random_seed=random_seed)
        return result.aggregate("event", min_e=None if leads is None else -leads, max_e=lags)
    if method not in ("sun_abraham", "twfe"):
        raise SpecificationError(f"method={method!r}; use 'cs', 'sun_abraham' or 'twfe'.")
    if covariates:
        raise SpecificationError("covariates are supported with method='cs' only.")
    design = DIDDesign.from_panel(panel, outcome, first_treated, control_group=control_group,
                                  anticipation=anticipation)
    return _regression_event_study(design, method, leads, lags, reference, bin_endpoints, alpha)


def _regression_event_study(design: DIDDesign, method: str, leads, lags, reference: int, bin_endpoints: bool,
                            alpha: float) -> EventStudyResult:
    data = design.data
    notes = list(design.notes)
    if method == "sun_abraham" and not design.never_treated:
        last = max(design.cohorts)
        data = data[data["year"] < last].assign(
            first_treated=lambda t: t["first_treated"].where(t["first_treated"] != last))
        notes.append(f"no never-treated regions: cohort {last} is the control; years from {last} on are dropped")
    event = data["year"] - data["first_treated"]
    observed = event.dropna()
    low = -leads if leads is not None else int(observed.min())
    high = lags if lags is not None else int(observed.max())
    if not low <= reference <= high:
        raise SpecificationError(f"reference={reference} lies outside the window [{low}, {high}].")
    outside = event.notna() & ((event < low) | (event > high))
    if outside.any() and not bin_endpoints:
        notes.append(f"dropped {int(outside.sum())} treated observation(s) outside the window [{low}, {high}]")
        data, event = data[~outside], event[~outside]
    event = event.clip(lower=low, upper=high)
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
    params, cov, nobs = _fit_cells(data, design.outcome, row_cell, len(cells))
    if method == "twfe":
        weights = np.eye(len(times))
        label = "dynamic TWFE (event-time dummies)"
    else:
        weights = _cohort_share_weights(row_cell, cells, times)
        label = "Sun-Abraham interaction-weighted"
    estimates, vcov = weights @ params, weights @ cov @ weights.T
    table = coefficient_table(pd.Series(estimates, index=times),
                              pd.Series(np.sqrt(np.clip(np.diag(vcov), 0, None)), index=times), alpha=alpha)
    table.index.name = "event_time"
    post = np.array(times) >= 0
    overall = (float(estimates[post].mean()), float(np.sqrt(vcov[np.ix_(post, post)].mean()))) if post.any() \
        else (np.nan, np.nan)
    notes += design.cluster_warnings()
    return EventStudyResult(
        table=table,
        vcov=pd.DataFrame(vcov, index=times, columns=times),
        method=f"{label}, region-clustered errors, reference e = {reference}"
               + (", end bins pooled" if bin_endpoints and outside.any() else ""),
        spec=dict(estimator="event_study", method=method, outcome=design.outcome, leads=leads, lags=lags,
                  reference=reference, bin_endpoints=bin_endpoints, control_group=design.control_group,
                  anticipation=design.anticipation, alpha=alpha),
        n_obs=nobs,
        n_clusters=int(data["region"].nunique()),
        warnings=tuple(notes),
        reference=reference,
        overall=overall,
    )


def _fit_cells(data: pd.DataFrame, outcome: str, row_cell: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Two-way fixed-effects regression of the outcome on k cell dummies, clustered by region.

    ``row_cell[i]`` is the dummy (column) that row i switches on, or -1. Balanced panels
    use an exact closed form: the dummies vary by cohort x year only, so the two-way within
    transformation and the cluster scores reduce to cohort x year cells; this is what makes
    50,000-region panels feasible. Unbalanced panels go through linearmodels ``PanelOLS``.
    Both give linearmodels' clustered covariance (sandwich x N / (N - df_model)).
    """
    codes, regions = pd.factorize(data["region"])
    years = np.sort(pd.unique(data["year"]))
    n, t_count = len(regions), len(years)
    if len(data) != n * t_count or (np.bincount(codes) != t_count).any():
        return _fit_cells_panelols(data, outcome, row_cell, k)
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
    scores = np.einsum("it,itk->ik", resid, Xt[profile_of])
    nobs = n * t_count
    df_model = n + t_count - 1 + k
    return beta, bread @ (scores.T @ scores) @ bread * nobs / (nobs - df_model), nobs


def _fit_cells_panelols(data: pd.DataFrame, outcome: str, row_cell: np.ndarray, k: int
                        ) -> tuple[np.ndarray, np.ndarray, int]:
    from linearmodels.panel import PanelOLS

    dummies = np.zeros((len(data), k))
    rows = np.flatnonzero(row_cell >= 0)
    dummies[rows, row_cell[rows]] = 1.0
    names = [f"c{j}" for j in range(k)]
    frame = pd.DataFrame(dummies, columns=names, index=pd.MultiIndex.from_arrays(
        [data["region"].to_numpy(), data["year"].to_numpy()], names=["region", "year"]))
    outcome_series = pd.Series(data[outcome].to_numpy(float), index=frame.index)
    fit = PanelOLS(outcome_series, frame, entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True)
    return fit.params.to_numpy(), fit.cov.to_numpy(), int(fit.nobs)


def _cohort_share_weights(row_cell: np.ndarray, cells: list, times: list[int]) -> np.ndarray:
    """Rows: event times; columns: cohort x event-time cells; weight = share of the cell's
    observations among treated observations at that event time (Sun & Abraham 2021)."""
    counts = np.bincount(row_cell[row_cell >= 0], minlength=len(cells)).astype(float)
    weights = np.zeros((len(times), len(cells)))
    for row, e in enumerate(times):
        columns = [j for j, (_, f) in enumerate(cells) if f == e]
        weights[row, columns] = counts[columns] / counts[columns].sum()
    return weights
