"""Imputation (Borusyak, Jaravel & Spiess 2024) and two-stage (Gardner 2021) event studies.

Both estimators fit region and year effects (and covariate slopes) on the untreated
observations only, never-treated and not-yet-treated alike, and compare every treated
observation with its imputed untreated outcome ``Y_it - Yhat_it(0)``. The point estimates
agree (equal weights per treated observation); the variances differ:

* :func:`imputation_did` uses the conservative clustered variance of BJS Theorem 3 (as R
  ``didimputation`` / Stata ``did_imputation``), the pre-trend coefficients of BJS Test 1;
* :func:`two_stage_did` uses Gardner's GMM sandwich, which corrects the second-stage
  regression for the estimated first stage (as R ``did2s`` and ``pyfixest.did2s``).

Both return an :class:`~kzcausal.results.EventStudyResult` whose ``overall`` effect is the
ATT over all treated observations, with cluster scores (the score wild bootstrap: the effect
is not an OLS coefficient of the rows, so there is no regression form), a re-fitter (placebo
in time, placebo outcomes, leave-one-out) and ``permuted``, the overall effect under any
reassignment of first treated years (randomization inference without full re-fits).

Conventions shared by both: event time ``e = year - first treated year``; post-period
horizons ``0 .. lags`` (treated observations beyond ``lags`` still count as treated: they are
left out of the first stage and are part of ``overall``); pre-period coefficients for
``e = -leads .. -2``, with ``e = -1`` given no coefficient (``reference = -1``), so the
pre-trend test and HonestDiD read the leads as pre-periods relative to ``e = -1``. Rows with
a missing outcome are left out (with a warning); every treated region needs an observed
untreated year and every year with treated observations an untreated region, or the
estimators say which and how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from ..errors import SpecificationError, check_alpha, check_names, show_rows
from ..panel import RegionPanel
from ..results import COLUMNS, EventStudyResult, coefficient_table
from ..design import (SSC, DIDDesign, FitSettings, check_clustering, check_panel, check_ssc, estimation_rows,
                      few_cluster_notes, positional_deprecated, resolve_assignment, ssc_scale)
from .regression import cluster_sums

__all__ = ["imputation_did", "two_stage_did"]


# ------------------------------------------------------------------ public API
@positional_deprecated("first_treated")
def imputation_did(
    panel: RegionPanel,
    outcome: str,
    *,
    first_treated: str | Mapping[str, float] | None = None,
    treated: str | Sequence[str] | None = None,
    post_from: int | None = None,
    treatment: str | None = None,
    leads: int | None = None,
    lags: int | None = None,
    covariates: Sequence[str] = (),
    cluster: str | Mapping[str, object] | None = None,
    ssc: SSC = "fixest",
    alpha: float = 0.05,
) -> EventStudyResult:
    """Imputation event study of Borusyak, Jaravel & Spiess (2024).

    Region and year effects (and covariate slopes) are fitted by OLS on the untreated
    observations (never-treated regions and the years before adoption of the others); each
    treated observation's untreated outcome is imputed from them, and its effect is
    ``tau_it = Y_it - Yhat_it(0)``. The effect at event time ``e >= 0`` is the mean of
    ``tau_it`` over the treated observations at ``e``; ``overall`` is the ATT: the mean over
    all treated observations (equal weights per observation, the R ``didimputation`` default).

    Standard errors are the conservative clustered variance of BJS Theorem 3:
    ``sum_g (sum_{it in g} v_it eps_it)^2`` with ``v_it`` the estimator's implied weights and
    ``eps_it`` the first-stage residuals (untreated) or ``tau_it`` minus its cohort x event-time
    mean (treated), as ``didimputation``; no small-sample factor, normal inference. A cell with
    a single treated region contributes none of its own noise, so with few treated regions the
    errors are too small (a caveat says where): use :func:`kzcausal.randomization_inference`,
    which the result's ``permuted`` makes exact and fast.

    The pre-period rows (``e = -leads .. -2``) are BJS Test 1: the untreated observations'
    outcome regressed on region and year effects (and covariates) plus a dummy for each lead,
    with errors clustered as the effects (``ssc`` applies here, with t(G - 1) inference under
    ``"fixest"``). Event time ``e = -1`` gets no dummy: its observations join the baseline with
    the never-treated regions (and leads before ``-leads``), and the result's ``reference`` is
    ``-1``, so ``pretrend_test`` tests every lead and ``honest_sensitivity`` reads the leads as
    pre-periods relative to ``e = -1``. Their covariance with the post-period effects comes from
    the two sets of cluster scores. The lead and post-period coefficients are built differently
    (a regression on untreated observations vs. imputation from all of them; Roth 2024), so
    under a trending violation the bias HonestDiD extrapolates from the leads is an
    approximation.

    Parameters
    ----------
    panel, outcome, first_treated, treated + post_from, treatment
        As in :func:`kzcausal.event_study`: the assignment, exactly one spelling.
    leads, lags
        Pre-period coefficients for ``e = -leads .. -2`` and effects for ``e = 0 .. lags``
        (default: every event time in the data; ``leads=0`` or ``1``: no pre-period rows).
    covariates
        Time-varying controls of the untreated-outcome model.
    cluster
        Column coarser than the region to cluster on (default: the region).
    ssc
        Small-sample correction of the lead regression (see :mod:`kzcausal.did.regression`).
    alpha
        1 - confidence level.

    References
    ----------
    Borusyak, K., Jaravel, X. & Spiess, J. (2024). Revisiting event-study designs: robust and
    efficient estimation. Review of Economic Studies 91(6), 3253-3285.
    Roth, J. (2024). Interpreting event-studies from recent difference-in-differences methods.
    """
    settings = _settings(leads, lags, covariates, cluster, alpha, ssc=ssc)
    rows, notes = _panel_rows(panel, outcome, dict(first_treated=first_treated, treated=treated,
                                                   post_from=post_from, treatment=treatment),
                              settings.covariates, cluster, "imputation_did")
    return _fit_imputation(rows, outcome, settings=settings).noting(notes)


@positional_deprecated("first_treated")
def two_stage_did(
    panel: RegionPanel,
    outcome: str,
    *,
    first_treated: str | Mapping[str, float] | None = None,
    treated: str | Sequence[str] | None = None,
    post_from: int | None = None,
    treatment: str | None = None,
    leads: int | None = None,
    lags: int | None = None,
    covariates: Sequence[str] = (),
    cluster: str | Mapping[str, object] | None = None,
    alpha: float = 0.05,
) -> EventStudyResult:
    """Two-stage difference-in-differences of Gardner (2021).

    Stage 1 fits region and year effects (and covariate slopes) on the untreated
    observations and residualizes every observation with them; stage 2 regresses the
    residualized outcome, without intercept, on event-time dummies for ``e = -leads .. -2``
    and ``e = 0 .. lags`` (``e = -1``, the never-treated regions and event times outside the
    window get none), and, for ``overall``, on the treatment dummy alone (the ATT over all
    treated observations). The post-period coefficients equal the imputation estimates of
    :func:`imputation_did`; a lead's coefficient is the mean first-stage residual of the
    untreated observations at that event time (as R ``did2s``).

    Standard errors are Gardner's GMM sandwich with the first stage's estimation error
    propagated, clustered by region (or ``cluster``), without small-sample factor, normal
    inference: R ``did2s`` and ``pyfixest.did2s``. ``reference`` is ``-1`` (see
    :func:`imputation_did`).

    Parameters
    ----------
    panel, outcome, first_treated, leads, lags, covariates, cluster, alpha
        As in :func:`imputation_did`.

    References
    ----------
    Gardner, J. (2021). Two-stage differences in differences. arXiv:2207.05943.
    Butts, K. & Gardner, J. (2022). did2s: Two-stage difference-in-differences. The R Journal 14(3).
    """
    settings = _settings(leads, lags, covariates, cluster, alpha)
    rows, notes = _panel_rows(panel, outcome, dict(first_treated=first_treated, treated=treated,
                                                   post_from=post_from, treatment=treatment),
                              settings.covariates, cluster, "two_stage_did")
    return _fit_two_stage(rows, outcome, settings=settings).noting(notes)


# ------------------------------------------------------------------ validation
@dataclass(frozen=True)
class ImputationSettings(FitSettings):
    """The imputation and two-stage estimators' options: what a re-fit repeats (``ssc``: imputation only)."""

    leads: int | None
    lags: int | None
    covariates: tuple[str, ...]
    cluster: str | None
    alpha: float
    ssc: str | None = None


def _settings(leads, lags, covariates, cluster, alpha, ssc: str | None = None) -> ImputationSettings:
    """The arguments a re-fit repeats, validated."""
    for name, value in (("leads", leads), ("lags", lags)):
        if value is not None and (not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0):
            raise SpecificationError(f"{name}={value!r}; give a non-negative whole number of years (or None).")
    check_alpha(alpha)
    if ssc is not None:
        check_ssc(ssc)
    covariates = tuple(check_names(covariates, "covariates", allow_empty=True))
    return ImputationSettings(leads=None if leads is None else int(leads), lags=None if lags is None else int(lags),
                              covariates=covariates,
                              cluster=cluster if isinstance(cluster, str) or cluster is None else "cluster",
                              alpha=float(alpha), ssc=ssc)


def _panel_rows(panel: RegionPanel, outcome: str, assignment: dict, covariates: tuple[str, ...], cluster,
                estimator: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Estimation rows ``region, year, <outcome>, cohort`` (+ ``cluster``, covariates) and their notes."""
    check_panel(panel)
    check_clustering(cluster)
    resolved = resolve_assignment(panel, estimator=estimator, **assignment)
    return estimation_rows(panel, outcome, resolved, covariates=covariates, cluster=cluster)


# ------------------------------------------------------------------ the shared first stage
@dataclass(frozen=True, eq=False)
class _Sample:
    """The validated rows and everything both estimators compute from them."""

    data: pd.DataFrame          # design rows, sorted by region and year (first_treated: NaN never)
    notes: tuple[str, ...]
    y: np.ndarray
    cohort: np.ndarray          # first treated year (NaN: never)
    event: np.ndarray           # year - cohort (NaN: never treated)
    treated: np.ndarray         # year >= cohort
    region: np.ndarray          # region code of each row
    n_regions: int
    W: np.ndarray               # year dummies (first untreated year left out) and covariates, every row
    year_names: list[str]       # the year dummies' names
    clusters: np.ndarray        # cluster code of each row
    cluster_labels: pd.Index
    n_treated_regions: int


class _FirstStage:
    """OLS of ``y = a_region + W theta`` on the untreated rows, the region effects absorbed exactly.

    ``W`` holds the year dummies and covariates (and, for BJS Test 1, lead dummies). Rows are
    demeaned within regions (a one-way within transformation is exact), so ``theta`` solves
    ``(W~'W~) theta = W~'y~`` and ``a_r`` is the region mean of ``y - W theta``.
    """

    def __init__(self, region: np.ndarray, W: np.ndarray, n_regions: int, names: list[str]):
        self.region = region
        self.counts = np.bincount(region, minlength=n_regions).astype(float)
        sums = np.zeros((n_regions, W.shape[1]))
        np.add.at(sums, region, W)
        self.means = sums / np.maximum(self.counts, 1.0)[:, None]
        self.Wt = W - self.means[region]
        S = self.Wt.T @ self.Wt
        scale = np.sqrt(np.maximum(np.diag(S), 1e-300))
        if S.size and np.linalg.matrix_rank(S / np.outer(scale, scale), tol=1e-9) < S.shape[0]:
            size = np.maximum(np.abs(W).max(axis=0), 1.0)
            flat = [n for j, n in enumerate(names) if np.abs(self.Wt[:, j]).max() < 1e-10 * size[j]]
            extra = [n for n in names if not n.startswith("year ")]
            raise SpecificationError(
                (f"regressor(s) {flat} do not vary within regions over the untreated observations, so they are not "
                 "identified beside the region effects. Fix: drop the region-constant covariates (or use fewer "
                 "leads)." if flat else
                 f"the year effects and {extra} are collinear on the untreated observations, so the untreated "
                 "outcome model is not identified. Fix: drop redundant covariates, or use fewer leads."))
        self.S_inv = np.linalg.inv(S) if S.size else np.zeros((0, 0))

    def region_mean(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.region, weights=values, minlength=len(self.counts)) / np.maximum(self.counts, 1.0)

    def fit(self, y0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(theta, a)``: the slopes and each region's effect."""
        theta = self.S_inv @ (self.Wt.T @ y0)  # W~' y = W~' y~
        return theta, self.region_mean(y0) - self.means @ theta

    def untreated_weights(self, region: np.ndarray, W: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """``A0 (A0'A0)^-1 A' w`` for each column ``w`` of ``targets`` on rows (``region``, ``W``).

        ``A`` is the first-stage design (region dummies, ``W``); so ``w' Yhat(0)`` on those rows is
        ``u' y0`` with ``u`` the returned untreated-row weights (untreated rows x targets).
        """
        by_region = np.zeros((len(self.counts), targets.shape[1]))
        np.add.at(by_region, region, targets)
        z = self.S_inv @ ((W - self.means[region]).T @ targets)
        return by_region[self.region] / self.counts[self.region][:, None] + self.Wt @ z


def _sample(rows: pd.DataFrame, outcome: str, covariates: tuple[str, ...]) -> _Sample:
    """Validate estimation rows for imputation: every treated observation must be imputable."""
    if outcome in rows.columns and not (pd.api.types.is_numeric_dtype(rows[outcome])
                                        and not pd.api.types.is_bool_dtype(rows[outcome])):
        raise SpecificationError(f"outcome {outcome!r} is not numeric (dtype {rows[outcome].dtype}); the "
                                 "imputation estimators need a numeric outcome. Fix: convert it, e.g. "
                                 "pd.to_numeric(...), or choose another outcome.")
    absent = [c for c in covariates if c not in rows.columns]
    if absent:
        raise SpecificationError(f"covariate(s) {absent} are not in the estimation rows ({list(rows.columns)}).")
    design = DIDDesign.from_frame(rows, outcome, control_group="not_yet_treated")
    data = design.data
    y = data[outcome].to_numpy(float)
    cohort = data["first_treated"].to_numpy(float)
    years = data["year"].to_numpy()
    event = years - cohort
    treated = event >= 0
    if not treated.any():
        raise SpecificationError(f"no region is treated within the observed years ({int(years.min())}-"
                                 f"{int(years.max())}); first treated years: {design.cohorts}. Nothing to impute.")
    region, regions = pd.factorize(data["region"])
    untreated_count = np.bincount(region[~treated], minlength=len(regions))
    lacking = np.flatnonzero(untreated_count == 0)
    if len(lacking):
        bad = data.loc[np.isin(region, lacking), ["region", "year", "first_treated"]]
        raise SpecificationError(
            f"region(s) {list(regions[lacking][:5])} have no untreated year with an observed {outcome!r} "
            f"(every observed year is at or after adoption), so their untreated outcome cannot be imputed:\n"
            f"{show_rows(bad)}\nFix: supply the outcome for at least one year before adoption, or drop the "
            "region(s) from the panel.")
    untreated_years = np.unique(years[~treated])
    orphan = ~np.isin(years, untreated_years)
    if orphan.any():
        cells = (pd.DataFrame({"year": years[orphan], "cohort": cohort[orphan], "event_time": event[orphan]})
                 .drop_duplicates().astype(int).sort_values(["year", "cohort"]))
        raise SpecificationError(
            f"no untreated region is observed in year(s) {sorted(set(cells['year'].tolist()))}, so the "
            f"untreated outcome of these cohorts cannot be imputed there (no year effect):\n"
            f"{show_rows(cells.reset_index(drop=True))}\nFix: estimate on the years before {int(cells['year'].min())} "
            "(drop the later years from the panel), or add regions untreated in those years (never treated or "
            "treated later).")
    year_code = np.searchsorted(untreated_years, years)
    n_years = len(untreated_years)
    dummies = np.zeros((len(data), n_years - 1))
    later = year_code > 0
    dummies[np.flatnonzero(later), year_code[later] - 1] = 1.0
    W = np.column_stack([dummies, data[list(covariates)].to_numpy(float)]) if covariates else dummies
    cluster_values = (data["cluster"] if "cluster" in data.columns else data["region"]).to_numpy()
    clusters, labels = pd.factorize(cluster_values)
    return _Sample(data=data, notes=tuple(design.notes), y=y, cohort=cohort, event=event, treated=treated,
                   region=region, n_regions=len(regions), W=W,
                   year_names=[f"year {int(t)}" for t in untreated_years[1:]], clusters=clusters,
                   cluster_labels=pd.Index(labels, name="cluster"),
                   n_treated_regions=len(np.unique(region[treated])))


def _first_stage(sample: _Sample, covariates: tuple[str, ...]) -> tuple[_FirstStage, np.ndarray]:
    """The first stage on the untreated rows and every row's residual ``y - Yhat(0)``."""
    untreated = ~sample.treated
    names = sample.year_names + list(covariates)
    stage = _FirstStage(sample.region[untreated], sample.W[untreated], sample.n_regions, names)
    theta, level = stage.fit(sample.y[untreated])
    return stage, sample.y - (level[sample.region] + sample.W @ theta)


def _windows(sample: _Sample, leads: int | None, lags: int | None) -> tuple[list[int], list[int]]:
    """Lead event times (``-leads .. -2`` among untreated rows) and horizons (``0 .. lags`` among treated rows)."""
    pre = sample.event[~sample.treated & np.isfinite(sample.event)]
    post = sample.event[sample.treated]
    lead_times = sorted(int(e) for e in np.unique(pre) if e <= -2 and (leads is None or e >= -leads))
    horizons = sorted(int(e) for e in np.unique(post) if lags is None or e <= lags)
    return lead_times, horizons


def _indicators(event: np.ndarray, times: list[int], rows: np.ndarray) -> np.ndarray:
    """Dummies ``1[event == e]`` for each ``e`` in ``times``, switched on only in ``rows``."""
    return np.column_stack([(rows & (event == e)).astype(float) for e in times]) if times else \
        np.zeros((len(event), 0))


# ------------------------------------------------------------------ BJS imputation
def _fit_imputation(rows: pd.DataFrame, outcome: str, *, settings: ImputationSettings) -> EventStudyResult:
    """BJS imputation event study on estimation rows ``region, year, <outcome>, cohort[, cluster][, covariates]``."""
    leads, lags, covariates, cluster, ssc, alpha = (settings.leads, settings.lags, settings.covariates,
                                                    settings.cluster, settings.ssc, settings.alpha)
    sample = _sample(rows, outcome, covariates)
    stage, residual = _first_stage(sample, covariates)
    treated, untreated = sample.treated, ~sample.treated
    lead_times, horizons = _windows(sample, leads, lags)
    g_count = len(sample.cluster_labels)

    # effects: equal weights per treated observation at each horizon, and over all of them
    tau = residual[treated]
    event1 = sample.event[treated]
    targets = np.column_stack([*(np.where(event1 == h, 1.0, 0.0) for h in horizons), np.ones(len(tau))])
    targets /= targets.sum(axis=0)
    estimates = targets.T @ tau
    # BJS Theorem 3: v_it = w_it (treated), -A0 (A0'A0)^-1 A1' w (untreated); eps_it = tau_it minus its
    # cohort x event-time mean (treated; weights are equal within such a cell), the residual (untreated)
    v_untreated = -stage.untreated_weights(sample.region[treated], sample.W[treated], targets)
    cell = pd.factorize(pd.MultiIndex.from_arrays([sample.cohort[treated], event1]))[0]
    size = np.bincount(cell)
    eps_treated = tau - (np.bincount(cell, weights=tau) / size)[cell]
    single = np.isin(cell, np.flatnonzero(size == 1))
    notes = []
    if single.any():
        cohorts = sorted({int(c) for c in sample.cohort[treated][single]})
        notes.append(f"{int((size == 1).sum())} of {len(size)} cohort x event-time cells hold a single treated "
                     f"region (cohorts {cohorts}): tau minus its cell mean is 0 there, so the conservative variance "
                     "leaves out those effects' own noise and understates the error; prefer randomization inference")
    psi = (cluster_sums(targets * eps_treated[:, None], sample.clusters[treated], g_count)
           + cluster_sums(v_untreated * residual[untreated][:, None], sample.clusters[untreated], g_count))

    # BJS Test 1: leads in the untreated-outcome regression
    lead_scores = np.zeros((g_count, 0))
    lead_df = None
    gamma = np.zeros(0)
    if lead_times:
        W0 = sample.W[untreated]
        lead_dummies = _indicators(sample.event[untreated], lead_times, np.ones(int(untreated.sum()), bool))
        names = sample.year_names + list(covariates) + [f"lead e={e}" for e in lead_times]
        try:
            test = _FirstStage(sample.region[untreated], np.column_stack([W0, lead_dummies]), sample.n_regions, names)
        except SpecificationError:
            # the first stage alone is identified (fitted above), so the leads are what is collinear
            why = (" With no never-treated region, dummies for every pre-period are collinear with them (event "
                   "time = year - first treated year)." if np.isfinite(sample.cohort).all() else "")
            raise SpecificationError(
                f"the pre-trend (BJS Test 1) regression is not identified: the lead dummies {lead_times} are "
                f"collinear with the region and year effects on the untreated observations.{why} Fix: fewer leads "
                "(e.g. leads=2: e = -2 only), or add never-treated regions."
            ) from None
        theta, _ = test.fit(sample.y[untreated])
        lead_resid = sample.y[untreated] - test.region_mean(sample.y[untreated])[test.region] - test.Wt @ theta
        influence = cluster_sums(test.Wt * lead_resid[:, None], sample.clusters[untreated], g_count) @ test.S_inv
        factor, lead_df = ssc_scale(ssc, n_obs=int(untreated.sum()), n_clusters=g_count,
                                    k=len(lead_times) + len(covariates),
                                    fixed_effects=(sample.n_regions, len(sample.year_names) + 1),
                                    nested=(True, False))
        gamma = theta[-len(lead_times):]
        lead_scores = influence[:, -len(lead_times):] * np.sqrt(factor)

    times = lead_times + horizons
    scores = np.hstack([lead_scores, psi[:, :-1]])
    vcov = scores.T @ scores
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    table, overall = _tables(times, np.concatenate([gamma, estimates[:-1]]), se, estimates[-1],
                             np.sqrt(psi[:, -1] @ psi[:, -1]), alpha, len(lead_times), lead_df)
    cluster_name = cluster or "region"
    method = (f"imputation DID (Borusyak-Jaravel-Spiess), {cluster_name}-clustered conservative variance"
              + (f"; leads: Test 1 regression on untreated rows (ssc={ssc}), e = -1 in its baseline"
                 if lead_times else "")
              + (f", covariates {list(covariates)}" if covariates else ""))
    return _result(sample, outcome, "imputation_did", settings, table, vcov, overall, psi[:, -1], method,
                   partial(_fit_imputation, settings=settings), notes)


# ------------------------------------------------------------------ Gardner two-stage
def _fit_two_stage(rows: pd.DataFrame, outcome: str, *, settings: ImputationSettings) -> EventStudyResult:
    """Gardner two-stage event study on estimation rows ``region, year, <outcome>, cohort[, cluster][, covariates]``."""
    leads, lags, covariates, cluster, alpha = (settings.leads, settings.lags, settings.covariates, settings.cluster,
                                               settings.alpha)
    sample = _sample(rows, outcome, covariates)
    stage, residual = _first_stage(sample, covariates)
    treated, untreated = sample.treated, ~sample.treated
    lead_times, horizons = _windows(sample, leads, lags)
    times = lead_times + horizons
    # stage 2 columns: event-time dummies (leads on untreated rows, horizons on treated rows), then the
    # static treatment dummy for the overall ATT; each is its own no-intercept regression of the residual
    X2 = np.hstack([_indicators(sample.event, lead_times, untreated), _indicators(sample.event, horizons, treated),
                    treated[:, None].astype(float)])
    counts = X2.sum(axis=0)
    beta = (X2.T @ residual) / counts
    g_count = len(sample.cluster_labels)
    # GMM sandwich (Gardner 2021; did2s): psi_g = (X2'X2)^-1 [X2g' e2g - X2'X1 (X10'X10)^-1 X10g' e1g]
    psi = _gmm_scores(sample, stage, residual, X2, beta, counts, g_count)
    vcov = psi[:, :-1].T @ psi[:, :-1]
    regions_at = [len(np.unique(sample.region[X2[:, j] > 0])) for j in range(len(times))]
    lonely = [e for e, n in zip(times, regions_at) if n == 1]
    notes = [f"event time(s) {lonely} rest on a single region: its stage-2 residuals are 0, so the GMM errors leave "
             "out its own noise and understate the error; prefer randomization inference"] if lonely else []
    table, overall = _tables(times, beta[:-1], np.sqrt(np.clip(np.diag(vcov), 0, None)), beta[-1],
                             np.sqrt(psi[:, -1] @ psi[:, -1]), alpha, 0, None)
    cluster_name = cluster or "region"
    method = (f"two-stage DID (Gardner), {cluster_name}-clustered GMM errors"
              + (f", covariates {list(covariates)}" if covariates else ""))
    return _result(sample, outcome, "two_stage_did", settings, table, vcov, overall, psi[:, -1], method,
                   partial(_fit_two_stage, settings=settings), notes)


def _gmm_scores(sample: _Sample, stage: _FirstStage, residual: np.ndarray, X2: np.ndarray, beta: np.ndarray,
                counts: np.ndarray, g_count: int) -> np.ndarray:
    """Each cluster's influence on the stage-2 coefficients (clusters x columns of ``X2``).

    Every column of ``X2`` is its own no-intercept regression of ``residual`` (coefficient ``beta``), so
    ``X2g' e2g`` is the column's cluster sum of ``residual - beta``.
    """
    untreated = ~sample.treated
    correction = stage.untreated_weights(sample.region, sample.W, X2)  # A0 (A0'A0)^-1 X1' X2
    own = cluster_sums(X2 * residual[:, None], sample.clusters, g_count) - cluster_sums(X2, sample.clusters,
                                                                                         g_count) * beta
    first = cluster_sums(correction * residual[untreated][:, None], sample.clusters[untreated], g_count)
    return (own - first) / counts


def _tables(times: list[int], estimates: np.ndarray, std_errors: np.ndarray, overall: float, overall_se: float,
            alpha: float, n_lead: int, lead_df: float | None) -> tuple[pd.DataFrame, pd.Series]:
    """The event-time table and the overall row: leads with ``lead_df`` (t) or normal, the rest normal."""
    post = coefficient_table(pd.Series([*estimates[n_lead:], overall]), pd.Series([*std_errors[n_lead:], overall_se]),
                             alpha=alpha)
    parts = [post.iloc[:-1]]
    if n_lead:
        parts.insert(0, coefficient_table(pd.Series(estimates[:n_lead]), pd.Series(std_errors[:n_lead]), alpha=alpha,
                                          df=lead_df))
    table = pd.concat(parts) if len(parts) > 1 else parts[0]
    table.index = pd.Index(times, name="event_time")
    return table, post.iloc[-1].rename(None)


def _permuted_overall(labels: np.ndarray, *, region: np.ndarray, years: np.ndarray, y: np.ndarray,
                      covariates: np.ndarray) -> np.ndarray:
    """The overall ATT under each row of ``labels`` (assignments x regions: first treated year, inf never).

    What a re-fit computes for the effect, without its errors or event-time table (randomization
    inference): an assignment under which some treated observation cannot be imputed gives NaN, as a
    re-fit raises there. The leads do not enter the overall effect and are not checked.
    """
    year_values, year_code = np.unique(years, return_inverse=True)
    dummies = np.zeros((len(y), len(year_values) - 1))
    later = year_code > 0
    dummies[np.flatnonzero(later), year_code[later] - 1] = 1.0
    W = np.column_stack([dummies, covariates]) if covariates.shape[1] else dummies
    n_regions = labels.shape[1]
    names = [f"year {int(t)}" for t in year_values[1:]] + [f"covariate {j}" for j in range(covariates.shape[1])]
    out = np.full(len(labels), np.nan)
    for a, assignment in enumerate(labels):
        treated = years >= assignment[region]
        untreated = ~treated
        if not treated.any() or not np.isin(region[treated], region[untreated]).all() \
                or not np.isin(year_code[treated], year_code[untreated]).all():
            continue
        try:
            stage = _FirstStage(region[untreated], W[untreated], n_regions, names)
        except SpecificationError:
            continue
        theta, level = stage.fit(y[untreated])
        out[a] = np.mean(y[treated] - level[region[treated]] - W[treated] @ theta)
    return out


# ------------------------------------------------------------------ the result
def _result(sample: _Sample, outcome: str, estimator: str, settings: ImputationSettings, table: pd.DataFrame, vcov: np.ndarray,
            overall: pd.Series, overall_scores: np.ndarray, method: str, refitter, notes: list[str]
            ) -> EventStudyResult:
    times = list(table.index)
    notes = list(sample.notes) + notes
    if not (table.index >= 0).any():
        notes.append("no post-period event time in the window; widen lags")
    notes += few_cluster_notes(len(sample.cluster_labels), sample.n_treated_regions)
    return EventStudyResult(
        table=table,
        vcov=pd.DataFrame(vcov, index=times, columns=times),
        method=method,
        effect=("overall",),
        spec={"estimator": estimator, "outcome": outcome, **settings.display()},
        alpha=settings.alpha, ssc=settings.ssc, covariance="cluster", outcome=outcome,
        n_obs=len(sample.data),
        n_clusters=len(sample.cluster_labels),
        cluster=settings.cluster or "region",
        fixed_effects=("region", "year"),
        caveats=tuple(notes),
        data=DIDDesign.estimation_rows(sample.data),
        scores=pd.DataFrame({"overall": overall_scores}, index=sample.cluster_labels),
        refitter=refitter,
        permuted=partial(_permuted_overall, region=sample.region, years=sample.data["year"].to_numpy(), y=sample.y,
                         covariates=sample.W[:, len(sample.year_names):]),
        reference=-1,
        overall=overall.reindex(COLUMNS),
        overall_estimand="ATT: mean effect over all treated observations (equal weights per region-year)",
    )
