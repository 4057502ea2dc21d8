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
    from linearmodels.panel import PanelOLS

    data = design.data.copy()
    notes = list(design.notes)
    cohorts = data["first_treated"]
    if method == "sun_abraham" and not design.never_treated:
        last = max(design.cohorts)
        data = data[data["year"] < last]
        cohorts = data["first_treated"]
        data.loc[cohorts == last, "first_treated"] = np.nan  # the last cohort serves as control
        notes.append(f"no never-treated regions: cohort {last} is the control; years from {last} on are dropped")
        cohorts = data["first_treated"]
    event = data["year"] - cohorts
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
    treated = event.notna()
    times = [e for e in range(low, high + 1) if e != reference and (event == e).any()]
    if method == "twfe":
        columns = {f"e{e}": ((event == e) & treated).astype(float) for e in times}
        cells = [(None, e) for e in times]
    else:
        groups = sorted(data.loc[treated, "first_treated"].unique())
        cells = [(g, e) for g in groups for e in times if ((data["first_treated"] == g) & (event == e)).any()]
        columns = {f"g{int(g)}_e{e}": ((data["first_treated"] == g) & (event == e)).astype(float) for g, e in cells}
    regressors = pd.DataFrame(columns, index=data.index)
    indexed = pd.concat([data[["region", "year", design.outcome]], regressors], axis=1).set_index(["region", "year"])
    fit = PanelOLS(indexed[design.outcome], indexed[list(columns)], entity_effects=True, time_effects=True,
                   drop_absorbed=True).fit(cov_type="clustered", cluster_entity=True)
    names = list(columns)
    params, cov = fit.params.reindex(names).to_numpy(), fit.cov.reindex(index=names, columns=names).to_numpy()
    if method == "twfe":
        weights = np.eye(len(times))
        label = "dynamic TWFE (event-time dummies, linearmodels PanelOLS)"
    else:
        weights = _cohort_share_weights(data, event, cells, times)
        label = "Sun-Abraham interaction-weighted (linearmodels PanelOLS)"
    estimates, vcov = weights @ params, weights @ cov @ weights.T
    table = coefficient_table(pd.Series(estimates, index=times), pd.Series(np.sqrt(np.clip(np.diag(vcov), 0, None)), index=times),
                              alpha=alpha)
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
        n_obs=int(fit.nobs),
        n_clusters=design.n_regions,
        warnings=tuple(notes),
        reference=reference,
        overall=overall,
    )


def _cohort_share_weights(data: pd.DataFrame, event: pd.Series, cells, times) -> np.ndarray:
    """Rows: event times; columns: cohort x event-time cells; weights = share of each cohort's
    observations among treated observations at that event time (Sun & Abraham 2021)."""
    weights = np.zeros((len(times), len(cells)))
    counts = {(g, e): int(((data["first_treated"] == g) & (event == e)).sum()) for g, e in cells}
    for row, e in enumerate(times):
        columns = [j for j, (g, f) in enumerate(cells) if f == e]
        total = sum(counts[cells[j]] for j in columns)
        for j in columns:
            weights[row, j] = counts[cells[j]] / total
    return weights
