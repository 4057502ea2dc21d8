"""Callaway & Sant'Anna (2021) group-time ATTs, their aggregations and the multiplier bootstrap.

One vectorized engine produces the ATT(g,t) cells and their unit-level influence functions from
the balanced panel as unit x year arrays:

* no covariates (any ``method``: they coincide): differences of group means of the unit-level
  changes, from group sums, one pass over the units per cell;
* covariates: R did's outcome regression, standardized IPW or doubly robust estimator (DRDID,
  Sant'Anna & Zhao 2020) for every cell, cells that share a sample (same cohort, controls and
  covariate year) fitted together: one logit (IRLS exactly as statsmodels' GLM, which differences
  and R's ``glm`` follow) and one control-group regression per sample.

Everything downstream (analytic errors, aggregations with the estimated-weights
correction, multiplier bootstrap with uniform bands) is shared, and follows R's
``did`` package (``att_gt``, ``aggte``, ``mboot``). Every aggregation is a fixed linear
combination of the cells (weights from cohort shares) plus the estimated-weights term in
its influence function; clustering coarser than the region sums influence functions within
clusters (R did's ``clustervars``).

The multiplier bootstrap's random weights are fixed when the model is fitted (the seed is
drawn then if none is given), so every read of ``att_gt`` and every ``aggregate()`` call
gives the same numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, partial, wraps
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats
from threadpoolctl import ThreadpoolController

from ..errors import KzCausalWarning, SpecificationError, check_alpha, check_count, check_names, check_seed, show_rows
from ..panel import RegionPanel
from ..results import COLUMNS, EstimationResult, EventStudyResult, RegressionForm, coefficient_table
from ..design import (ControlGroup, DIDDesign, FitSettings, check_clustering, estimation_rows, few_cluster_notes,
                      positional_deprecated, renamed, require_clusters, resolve_assignment)
from .regression import cluster_sums

__all__ = ["staggered_did", "AttgtResult"]

Method = Literal["reg", "ipw", "dr"]
Aggregation = Literal["simple", "event", "group", "calendar"]
_METHOD_NAMES = {"reg": "outcome regression", "ipw": "standardized IPW", "dr": "doubly robust"}


@dataclass(frozen=True)
class CSSettings(FitSettings):
    """Everything about a CS fit except its rows: what a re-fit repeats (``random_seed``: the seed the
    bootstrap used, drawn once when none was given, so a re-fit repeats the draws)."""

    control_group: str
    method: str
    anticipation: int
    covariates: tuple[str, ...]
    base_period: str
    alpha: float
    draws: int
    random_seed: int | None
    cluster: str | None
    first_treated: str | None = None
    progress: bool = field(default=True, repr=False)


@renamed(n_boot="draws")
@positional_deprecated("first_treated")
def staggered_did(
    panel: RegionPanel,
    outcome: str,
    *,
    first_treated: str | Mapping[str, float] | None = None,
    treated: str | Sequence[str] | None = None,
    post_from: int | None = None,
    treatment: str | None = None,
    control_group: ControlGroup = "never_treated",
    method: Method = "reg",
    anticipation: int = 0,
    covariates: Sequence[str] | None = None,
    base_period: Literal["varying", "universal"] = "varying",
    cluster: str | Mapping[str, object] | None = None,
    alpha: float = 0.05,
    draws: int = 0,
    random_seed: int | None = None,
    progress: bool = True,
) -> AttgtResult:
    """Group-time average treatment effects ATT(g,t) (Callaway & Sant'Anna 2021).

    Parameters
    ----------
    panel, outcome
        The panel and outcome variable.
    first_treated, treated + post_from, treatment
        The assignment, exactly one spelling (see :mod:`kzcausal.design.assignment`): a panel
        variable (or mapping region -> year) with each region's first treated year (NaN or 0:
        never treated; before the first year: excluded; after the last: never treated, as R
        did), treated regions from one year, or a 0/1 absorbing column.
    control_group
        ``"never_treated"`` or ``"not_yet_treated"``.
    method
        ``"reg"`` (outcome regression), ``"ipw"`` (inverse probability weighting) or
        ``"dr"`` (doubly robust); without covariates all three are the same estimator.
    anticipation
        Years before adoption in which units may already react.
    covariates
        Covariates: each cell conditions on their values in the earlier of its two years (the
        base year for post-treatment cells), as R did. They must be present in every row used.
    base_period
        ``"varying"`` (R did's default: pre-period cells compare consecutive years) or
        ``"universal"`` (every cell compares with year g - 1 - anticipation, which is
        then the omitted reference; use it for event studies fed to sensitivity analyses).
    cluster
        What to cluster on, coarser than the region: a column or a mapping region -> label
        (default: the region, R did's unit).
    alpha
        1 - confidence level.
    draws
        Multiplier-bootstrap draws (Rademacher, by cluster; ``n_boot=`` is the deprecated name). With ``draws > 0``
        standard errors are the bootstrap ones and intervals of the cells are uniform
        (simultaneous) bands; with 0, analytic pointwise intervals. The draws are fixed at
        fit time: reading the result twice gives the same numbers.
    random_seed
        Seed of the bootstrap: the same seed gives identical results.
    progress
        Show a progress bar for long bootstraps.

    Returns
    -------
    AttgtResult
        ``.table`` (one row per cell, ``ATT(g,t)``, and the simple aggregate ``ATT``, the
        effect checks test), ``.att_gt`` (cells with cohort and year), ``.aggregate(...)``,
        ``.summary()``, ``.to_frame()``, ``.to_xarray()`` (cohort x year), ``.plot()``.

    References
    ----------
    Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple
    time periods. Journal of Econometrics 225(2), 200-230.
    """
    if method not in _METHOD_NAMES:
        raise SpecificationError(f"method={method!r}; use 'reg', 'ipw' or 'dr'.")
    n_boot = check_count(draws, "draws", minimum=0, fix="0 for analytic errors, or a number of draws")
    if base_period not in ("varying", "universal"):
        raise SpecificationError(f"base_period={base_period!r}; use 'varying' or 'universal'.")
    alpha, random_seed = check_alpha(alpha), check_seed(random_seed)
    anticipation = check_count(anticipation, "anticipation", minimum=0)
    covariates = check_names(covariates, "covariates", allow_empty=True)
    if outcome in covariates:
        raise SpecificationError(f"covariates={covariates!r} include the outcome {outcome!r}. Fix: leave it out.")
    check_clustering(cluster)
    assignment = resolve_assignment(panel, first_treated=first_treated, treated=treated, post_from=post_from,
                                    treatment=treatment, estimator="staggered_did")
    if n_boot:
        _check_bootstrap_size(n_boot, n_clusters=len(assignment.cohorts), n_cells=len(panel.years)**2)
    rows, notes = estimation_rows(panel, outcome, assignment, covariates=covariates, cluster=cluster)
    boot_seed = None
    if n_boot:
        boot_seed = random_seed if random_seed is not None else int(np.random.SeedSequence().entropy % 2**63)
    settings = CSSettings(control_group=control_group, method=method, anticipation=anticipation,
                          covariates=tuple(covariates), base_period=base_period, alpha=alpha, draws=int(n_boot),
                          random_seed=boot_seed, progress=progress, first_treated=assignment.source,
                          cluster=cluster if isinstance(cluster, str) or cluster is None else "cluster")
    return _fit_attgt(rows, outcome, settings, warn=True, notes=notes,
                      codes=(panel.codes_of(rows.index), panel.region_codes[1]))


#: the largest multiplier-bootstrap draw matrix (n_boot x cells, float64) kept in memory
MAX_BOOTSTRAP_BYTES = 2 * 1024**3
#: multiply-adds the multiplier bootstrap may take (n_boot x clusters x cells); about a minute on one core
MAX_BOOTSTRAP_WORK = 6e10


def _check_bootstrap_size(n_boot: int, *, n_clusters: int, n_cells: int) -> None:
    """Refuse a bootstrap that cannot fit in memory or would take minutes, before any work (``n_cells``
    bounds the cells plus aggregates from above: years squared)."""
    size, work = 8.0 * n_boot * n_cells, float(n_boot) * n_clusters * n_cells
    if size > MAX_BOOTSTRAP_BYTES or work > MAX_BOOTSTRAP_WORK:
        cap = int(min(MAX_BOOTSTRAP_BYTES / (8.0 * n_cells), MAX_BOOTSTRAP_WORK / (n_clusters * n_cells)))
        raise SpecificationError(f"draws={n_boot:,} would need up to {size / 1024**3:.1f} GiB and "
                                 f"{work:.2g} multiply-adds ({n_clusters:,} clusters x up to {n_cells:,} cells); "
                                 f"the cap is draws={cap:,}. Fix: use at most that many draws (999 to 9,999 are "
                                 "plenty for 5% tests and bands).")


def _one_blas_thread(function):
    """Run ``function`` with BLAS on one thread.

    Its products are tall and skinny (units x cells: Gram matrices of influence functions, one
    regression per sample), where threads gain little on an idle machine (x1.5 measured at
    1,000,000 x 37) and lose up to 10x on a busy one, threaded OpenBLAS spinning against other
    processes (measured: the 100,000 x 10 fit took 0.7-1.2 s on one thread, 6-7 s on two, while a
    second process kept both cores busy). The previous setting is restored on return.
    """
    @wraps(function)
    def single_threaded(*args, **kwargs):
        with _blas_controller().limit(limits=1, user_api="blas"):
            return function(*args, **kwargs)
    return single_threaded


@cache
def _blas_controller():
    """The process's thread pools, found once (finding them reads /proc each time: ~5 ms a fit)."""
    return ThreadpoolController()


@_one_blas_thread
def _fit_attgt(rows: pd.DataFrame, outcome: str, settings: CSSettings, *,
               warn: bool = False, notes: tuple[str, ...] = (),
               codes: tuple[np.ndarray, pd.Index] | None = None) -> AttgtResult:
    """ATT(g,t) on estimation rows ``region, year, <outcome>, cohort (inf: never)[, cluster][, covariates]``."""
    with warnings.catch_warnings():
        if not warn:
            warnings.simplefilter("ignore", KzCausalWarning)
        design = DIDDesign.from_frame(rows, outcome, control_group=settings.control_group,
                                      anticipation=settings.anticipation, notes=notes, codes=codes)
    notes = list(design.notes)
    frame, cohorts, dropped = _balance(design.data, design)
    if dropped:
        notes.append(f"dropped {len(dropped)} region(s) not observed in every year (CS needs a balanced "
                     f"panel): {dropped[:10]}")
        if warn:
            warnings.warn(notes[-1], KzCausalWarning, stacklevel=3)
    covariates = list(settings.covariates)
    if covariates:
        cells, influence, units = _cells_conditional(frame, design, covariates, settings.method,
                                                     settings.base_period, cohorts)
        engine = f"kzcausal vectorized {_METHOD_NAMES[settings.method]}"
        delta = plan = None
    else:
        cells, influence, units, delta, plan = _cells_unconditional(frame, design, settings.base_period, cohorts)
        engine = "kzcausal vectorized group means"
    n_years = len(design.years)  # the rows are balanced and sorted: each unit's first row is every n_years-th
    labels = (frame["cluster"] if "cluster" in frame else frame["region"]).iloc[::n_years].to_numpy()
    clusters, cluster_labels = pd.factorize(labels)
    require_clusters(len(cluster_labels))
    notes += few_cluster_notes(len(cluster_labels), int(np.isfinite(units).sum()))
    data = DIDDesign.estimation_rows(frame)
    control = settings.control_group.replace("_", "-")
    cluster_name = settings.cluster or "region"
    base = AttgtResult(
        table=pd.DataFrame(columns=COLUMNS), vcov=pd.DataFrame(), effect=("ATT",),
        method=f"Callaway-Sant'Anna ATT(g,t), {settings.method}, {control} controls [{engine}]"
               + (f", {cluster_name}-clustered" if cluster_name != "region" else ""),
        spec={"estimator": "staggered_did", "outcome": outcome, **settings.display()}, n_obs=len(frame), n_clusters=len(cluster_labels), cluster=cluster_name,
        alpha=settings.alpha, outcome=outcome,
        caveats=tuple(notes), data=data,
        refitter=partial(_fit_attgt, settings=settings),
        cells=cells, influence=influence, unit_cohorts=units, unit_clusters=clusters,
        cluster_labels=tuple(cluster_labels), settings=settings, design=design, delta=delta, plan=plan)
    return base._finish()


def _refit_aggregate(rows: pd.DataFrame, outcome: str, *, settings: CSSettings, kind: str, min_e, max_e):
    return _fit_attgt(rows, outcome, settings).aggregate(kind, min_e=min_e, max_e=max_e)


def _stacked_cells(*, delta: np.ndarray, cohort: np.ndarray, year: np.ndarray, base: np.ndarray, units: np.ndarray,
                   clusters: np.ndarray, labels: tuple, never_only: bool, anticipation: int,
                   weights: np.ndarray) -> RegressionForm:
    """Every cell as its 2x2 regression ``delta_i = a_c + b_c 1[unit i in cohort g] + e``, stacked.

    Each cell's rows are its treated and control units; the cell intercepts are partialled out
    (within-cell demeaning), so ``b_c`` is the cell's ATT and ``weights' b`` the effect. Rows are
    clustered by their unit's cluster, as the influence functions are.
    """
    group = np.where(np.isnan(units), np.inf, units)
    never = np.isinf(group)
    unit_rows, cell_rows, treated_rows = [], [], []
    for c in np.flatnonzero(weights):
        treated = group == cohort[c]
        control = never if never_only else never | ((group > max(year[c], base[c]) + anticipation) & ~treated)
        members = np.flatnonzero(treated | control)
        unit_rows.append(members)
        cell_rows.append(np.full(len(members), c))
        treated_rows.append(treated[members])
    unit_of, cell_of = np.concatenate(unit_rows), np.concatenate(cell_rows)
    used, column = np.unique(cell_of, return_inverse=True)
    X = np.zeros((len(unit_of), len(used)))
    X[np.arange(len(unit_of)), column] = np.concatenate(treated_rows)
    y = delta[unit_of, cell_of]

    def project(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, float)
        flat = values.reshape(len(column), -1)
        sums = np.zeros((len(used), flat.shape[1]))
        np.add.at(sums, column, flat)
        means = sums / np.bincount(column)[:, None]
        return (flat - means[column]).reshape(values.shape)

    return RegressionForm(X=project(X), y=project(y), R=weights[used], clusters=np.asarray(clusters)[unit_of],
                          labels=tuple(labels), project=project)


def _permuted_effects(labels: np.ndarray, *, delta: np.ndarray, cohort: np.ndarray, year: np.ndarray,
                      base: np.ndarray, never_only: bool, anticipation: int, weights: np.ndarray) -> np.ndarray:
    """The effect (``weights @ ATT(g,t)``) under each row of ``labels`` (assignments x units; inf: never).

    Without covariates every cell is a difference of group means of the fixed unit-level
    changes ``delta`` (units x cells), and under a reassignment of cohort labels the cohort
    shares, hence the aggregation weights, do not change: one matrix product per cell.
    """
    labels = np.where(np.isnan(labels), np.inf, np.asarray(labels, float))
    out = np.zeros(len(labels))
    never = np.isinf(labels)
    for c in np.flatnonzero(weights):
        treated = labels == cohort[c]
        if never_only:
            control = never
        else:
            control = never | ((labels > max(year[c], base[c]) + anticipation) & ~treated)
        with np.errstate(invalid="ignore", divide="ignore"):
            att = (treated @ delta[:, c]) / treated.sum(axis=1) - (control @ delta[:, c]) / control.sum(axis=1)
        out += weights[c] * att
    return out


# ---------------------------------------------------------------- engines
def _balance(frame: pd.DataFrame, design: DIDDesign) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Keep regions observed in every year; rows stay sorted by region, then year."""
    years = np.asarray(design.years)
    cohorts = design.region_cohorts.to_numpy(float)  # one per region, in the rows' (sorted) order
    n, n_years = len(cohorts), len(years)
    # Rows sorted by region then year, no region-year twice: if every block of n_years rows holds exactly the
    # years in order, each block is one region and the panel is balanced. Checking this is one integer
    # comparison instead of hashing every region name.
    if n_years > 1 and len(frame) == n * n_years and (frame["year"].to_numpy().reshape(n, n_years) == years).all():
        return frame, cohorts, []
    codes, regions = pd.factorize(frame["region"])
    complete = np.bincount(codes) == n_years
    short = list(regions[~complete])
    if short:
        frame = frame[complete[codes]]
    cohorts = design.region_cohorts.reindex(regions[complete]).to_numpy(float)
    return frame, cohorts, short


def _cell_plan(design: DIDDesign, base_period: str) -> list[tuple[int, int, int]]:
    """(cohort, year, base year) for every cell, as R did's ``att_gt``.

    Varying base: a year before adoption (``t < g``, anticipation years included) is compared with
    the year before it; a later year with the last year before ``g - anticipation``.
    """
    years = design.years
    plan = []
    for g in design.cohorts:
        last_pre = [y for y in years if y < g - design.anticipation]
        if not last_pre:
            continue
        if base_period == "universal":
            plan += [(g, t, last_pre[-1]) for t in years if t != last_pre[-1]]
            continue
        for position, t in enumerate(years[1:], start=1):
            base = years[position - 1] if t < g else last_pre[-1]
            plan.append((g, t, base))
    return plan


class _Cells:
    """The balanced panel as unit x year arrays and what every cell compares.

    Units are coded by cohort group (``0 .. K-1``: the cohorts in order, ``K``: never treated);
    a cell's treated units are one group and its controls a set of groups, so group sums give
    every mean a cell needs and one gather per cell gives its unit-level influence function.
    """

    def __init__(self, frame: pd.DataFrame, design: DIDDesign, base_period: str, cohorts: np.ndarray):
        self.years = np.asarray(design.years)
        self.n = len(cohorts)
        self.y = frame[design.outcome].to_numpy(float).reshape(self.n, len(self.years))  # balanced, sorted
        self.levels = np.asarray(design.cohorts, float)
        treated = ~np.isnan(cohorts)
        self.code = np.full(self.n, len(self.levels), dtype=np.intp)
        self.code[treated] = np.searchsorted(self.levels, cohorts[treated])
        self.counts = np.bincount(self.code, minlength=len(self.levels) + 1)
        plan = np.array(_cell_plan(design, base_period), dtype=float).reshape(-1, 3)
        self.cohort, self.year, self.base = plan[:, 0], plan[:, 1], plan[:, 2]
        column = {year: i for i, year in enumerate(self.years)}
        self.t_col = np.array([column[v] for v in self.year], dtype=np.intp)
        self.b_col = np.array([column[v] for v in self.base], dtype=np.intp)
        self.group = np.searchsorted(self.levels, self.cohort)
        # controls of each cell by group: never treated, plus (not yet treated) cohorts adopting after
        # max(t, base) + anticipation
        controls = np.zeros((len(plan), len(self.levels) + 1), bool)
        controls[:, -1] = True
        if design.control_group == "not_yet_treated":
            threshold = np.maximum(self.year, self.base) + design.anticipation
            controls[:, :-1] = (self.levels[None, :] > threshold[:, None]) & (
                np.arange(len(self.levels))[None, :] != self.group[:, None])
        self.controls = controls
        self.n_treated = self.counts[self.group]
        self.n_control = controls.astype(np.int64) @ self.counts
        self.keep = (self.n_control > 0) & (self.n_treated > 0)  # cells with treated and control units

    def table(self, att: np.ndarray, keep: np.ndarray) -> pd.DataFrame:
        cells = pd.DataFrame({"cohort": self.cohort.astype(int), "year": self.year.astype(int),
                              "base_year": self.base.astype(int), "att": att, "n_treated": self.n_treated,
                              "n_control": self.n_control})
        return cells[keep].reset_index(drop=True)


def _cells_unconditional(frame: pd.DataFrame, design: DIDDesign, base_period: str, cohorts: np.ndarray
                         ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, _Cells]:
    """Every cell as a difference of group means of the unit-level changes, and its influence function
    ``n * w_i * (change_i - own group's mean)`` with ``w`` = 1/n_treated, -1/n_control or 0."""
    plan = _Cells(frame, design, base_period, cohorts)
    att, influence, changes = _group_mean_cells(plan, np.flatnonzero(plan.keep), plan.y)
    return plan.table(att, plan.keep), influence, cohorts, changes, plan


def _group_mean_cells(plan: _Cells, used: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cells ``used`` of the unit x year outcomes ``y``: ATT of every cell (NaN where not used), the
    influence functions and the unit-level changes of the used ones (units x used cells)."""
    n, groups = plan.n, len(plan.counts)
    influence = np.empty((n, len(used)), order="F")  # column by column
    changes = np.empty((n, len(used)), order="F")  # the unit-level changes behind each cell, before centring
    att = np.full(len(plan.cohort), np.nan)
    for j, c in enumerate(used):
        change = changes[:, j]
        np.subtract(y[:, plan.t_col[c]], y[:, plan.b_col[c]], out=change)
        sums = np.bincount(plan.code, weights=change, minlength=groups)
        control = plan.controls[c]
        mean_treated = sums[plan.group[c]] / plan.n_treated[c]
        mean_control = sums[control].sum() / plan.n_control[c]
        att[c] = mean_treated - mean_control
        scale, centre = np.zeros(groups), np.zeros(groups)
        scale[control], centre[control] = -n / plan.n_control[c], mean_control
        scale[plan.group[c]], centre[plan.group[c]] = n / plan.n_treated[c], mean_treated
        np.multiply(scale[plan.code], change - centre[plan.code], out=influence[:, j])
    return att, influence, changes


def _cells_conditional(frame: pd.DataFrame, design: DIDDesign, covariates: list[str], method: Method,
                       base_period: str, cohorts: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Every cell with covariates: outcome regression, standardized IPW or doubly robust (R did's
    ``est_method`` = ``"reg"``, ``"ipw"``, ``"dr"``; Sant'Anna & Zhao 2020), vectorized.

    A cell compares the change ``y_t - y_base`` of its cohort and its controls given the covariates
    in the earlier of the two years (R did and differences). Cells with the same units and the same
    covariate values (every cell of a cohort, when the covariates do not change over time and the
    controls are the never treated) share one propensity score and one control-group regression
    design, so they are fitted together: one logit and one pseudo-inverse per distinct sample.
    """
    plan = _Cells(frame, design, base_period, cohorts)
    n, n_years = plan.n, len(plan.years)
    values = frame[covariates].to_numpy(float)
    if np.isnan(values).any():
        rows = frame.loc[np.isnan(values).any(axis=1), ["region", "year", *covariates]]
        raise SpecificationError(f"covariates {covariates} are missing in {len(rows)} row(s):\n{show_rows(rows)}\n"
                                 "Fix: fill them in, drop those regions from the panel, or leave out the covariate.")
    x = values.reshape(n, n_years, len(covariates))
    time_varying = not (x == x[:, :1, :]).all()
    keep = plan.keep
    column = np.cumsum(keep) - 1  # a kept cell's column in the influence matrix
    samples: dict[tuple, list[int]] = {}
    for c in np.flatnonzero(keep):
        period = min(plan.t_col[c], plan.b_col[c]) if time_varying else 0
        samples.setdefault((plan.group[c], plan.controls[c].tobytes(), period), []).append(c)
    estimator = _ESTIMATORS[method]
    influence = np.zeros((n, int(keep.sum())), order="F")
    att = np.full(len(plan.cohort), np.nan)
    failed = []
    for (group, _, period), cells in samples.items():
        treated = plan.code == group
        members = np.flatnonzero(treated | plan.controls[cells[0]][plan.code])
        d = treated[members].astype(float)
        z = np.column_stack([np.ones(len(members)), x[members, period, :]])
        change = plan.y[members][:, plan.t_col[cells]] - plan.y[members][:, plan.b_col[cells]]
        try:
            estimates, unit_influence = estimator(change, z, d)
        except np.linalg.LinAlgError as exc:
            failed += [(int(plan.cohort[c]), int(plan.year[c]), str(exc)) for c in cells]
            continue
        att[cells] = estimates
        # the cell's influence on its own sample, rescaled to all n units (R did: n / n_cell)
        influence[np.ix_(members, column[cells])] = unit_influence * (n / len(members))
    if failed:
        raise SpecificationError(f"could not estimate {len(failed)} cell(s), e.g. {failed[:3]}: the covariates are "
                                 "collinear within a cell's regions, or too few regions for them. Fix: fewer "
                                 "covariates, or none.")
    return plan.table(att, keep), influence, cohorts


def _logit(d: np.ndarray, z: np.ndarray, *, tol: float = 1e-8, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Logit propensity score and the covariance of its coefficients, by IRLS step for step as statsmodels'
    ``GLM(Binomial)`` (the first stage of R did, DRDID and differences): the same start, the same
    deviance stopping rule, and the covariance from the weights of the last iteration, so that the
    influence functions agree to rounding error, not just to the IRLS tolerance."""
    _require_full_rank(z)
    eps = np.finfo(float).eps
    mu = (d + 0.5) / 2
    eta = np.log(mu / (1 - mu))
    deviance = _binomial_deviance(d, mu)
    for _ in range(max_iter):
        p = np.clip(mu, eps, 1 - eps)
        derivative = 1 / (p * (1 - p))
        weight = 1 / (derivative**2 * (p * (1 - p)))
        root = np.sqrt(weight)
        beta = np.linalg.lstsq(z * root[:, None], (eta + derivative * (d - mu)) * root, rcond=-1)[0]
        eta = z @ beta
        mu = 1 / (1 + np.exp(-eta))
        previous, deviance = deviance, _binomial_deviance(d, mu)
        if abs(deviance - previous) <= tol:
            break
    covariance = np.linalg.inv((z * weight[:, None]).T @ z)
    return np.where(mu > 1 - 1e-16, 1.0, mu), covariance


def _require_full_rank(z: np.ndarray) -> None:
    """Collinear covariates (or fewer units than coefficients) leave the first stage unidentified."""
    rank = np.linalg.matrix_rank(z)
    if rank < z.shape[1]:
        raise np.linalg.LinAlgError(f"{z.shape[1] - 1} covariate(s) and an intercept have rank {rank} in {len(z)} rows")


def _binomial_deviance(d: np.ndarray, mu: np.ndarray) -> float:
    eps = np.finfo(float).eps
    treated = np.clip(d / (mu + 1e-20), eps, np.inf)
    untreated = np.clip((1 - d) / (1 - mu + 1e-20), eps, np.inf)
    return float(2 * np.sum(d * np.log(treated) + (1 - d) * np.log(untreated)))


def _control_regression(change: np.ndarray, z: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fitted changes from OLS of the change on the covariates among the controls (m x cells), and
    ``z_i' (Z_c'Z_c / m)^-1``, the part of each unit's OLS influence shared by every cell (m x k)."""
    control = d == 0
    z_control = z[control]
    _require_full_rank(z_control)
    fitted = z @ (np.linalg.pinv(z_control) @ change[control])
    bread = np.linalg.inv(z_control.T @ z_control / len(d))
    return fitted, z @ bread


def _outcome_regression(change: np.ndarray, z: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R DRDID's ``reg_did_panel`` for every column of ``change`` (m x cells): ATTs and influence (m x cells)."""
    m = len(d)
    fitted, lever = _control_regression(change, z, d)
    share = d.mean()
    eta_treated = d @ change / m / share
    eta_control = d @ fitted / m / share
    ols = (1 - d)[:, None] * (change - fitted) * (lever @ (d @ z / m))[:, None]  # estimation effect of beta
    treat = d[:, None] * (change - eta_treated) / share
    control = (d[:, None] * (fitted - eta_control) + ols) / share
    return eta_treated - eta_control, treat - control


def _inverse_probability(change: np.ndarray, z: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R DRDID's ``std_ipw_did_panel`` (normalized weights) for every column of ``change``."""
    m = len(d)
    score, covariance = _logit(d, z)
    w_treated, w_control = d, score * (1 - d) / (1 - score)
    mean_treated, mean_control = w_treated.mean(), w_control.mean()
    eta_treated = w_treated @ change / m / mean_treated
    eta_control = w_control @ change / m / mean_control
    pscore = ((d - score)[:, None] * z) @ (covariance * m)  # asymptotic linear representation of the logit
    centred = change - eta_control
    treat = w_treated[:, None] * (change - eta_treated) / mean_treated
    control = (w_control[:, None] * centred + pscore @ (z.T @ (w_control[:, None] * centred) / m)) / mean_control
    return eta_treated - eta_control, treat - control


def _doubly_robust(change: np.ndarray, z: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R DRDID's ``drdid_panel`` (Sant'Anna & Zhao 2020, traditional) for every column of ``change``."""
    m = len(d)
    score, covariance = _logit(d, z)
    fitted, lever = _control_regression(change, z, d)
    residual = change - fitted
    w_treated, w_control = d, score * (1 - d) / (1 - score)
    mean_treated, mean_control = w_treated.mean(), w_control.mean()
    eta_treated = w_treated @ residual / m / mean_treated
    eta_control = w_control @ residual / m / mean_control
    ols = (1 - d)[:, None] * residual  # times z_i' bread: each unit's influence on the OLS coefficients
    pscore = ((d - score)[:, None] * z) @ (covariance * m).T
    centred = residual - eta_control
    treat = (w_treated[:, None] * (residual - eta_treated)
             - ols * (lever @ (w_treated @ z / m))[:, None]) / mean_treated
    control = (w_control[:, None] * centred + pscore @ (z.T @ (w_control[:, None] * centred) / m)
               - ols * (lever @ (w_control @ z / m))[:, None]) / mean_control
    return eta_treated - eta_control, treat - control


_ESTIMATORS = {"reg": _outcome_regression, "ipw": _inverse_probability, "dr": _doubly_robust}


# ---------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class AttgtResult(EstimationResult):
    """ATT(g,t) cells with influence functions; aggregate with :meth:`aggregate`.

    ``table`` holds one row per cell (``ATT(g,t)``) and the simple aggregation ``ATT``
    (the effect); ``att_gt`` the cells with their cohort, year and base year.
    """

    cells: pd.DataFrame = field(default=None, repr=False)
    influence: np.ndarray = field(default=None, repr=False)
    unit_cohorts: np.ndarray = field(default=None, repr=False)
    unit_clusters: np.ndarray = field(default=None, repr=False)
    cluster_labels: tuple = field(default=(), repr=False)
    settings: CSSettings = field(default=None, repr=False)
    design: DIDDesign = field(default=None, repr=False)
    delta: np.ndarray | None = field(default=None, repr=False)
    plan: _Cells | None = field(default=None, repr=False)
    att_gt: pd.DataFrame = field(default=None, repr=False)

    def _finish(self) -> AttgtResult:
        """Fill the table, the covariance, ``att_gt``, the effect's scores and the permutation shortcut."""
        att = self.cells["att"].to_numpy()
        terms, weights, wif = self._weights("simple", None, None)
        simple_inf = self.influence @ weights.T + wif
        # the covariance of the cells and the simple ATT, by blocks (no n x (cells + 1) copy)
        cells_summed, simple_summed = self._cluster_influence(self.influence), self._cluster_influence(simple_inf)
        cross = cells_summed.T @ simple_summed
        vcov = np.block([[cells_summed.T @ cells_summed, cross], [cross.T, simple_summed.T @ simple_summed]])
        vcov /= self.n_units**2
        variance = np.diag(vcov)
        cell_table = self._inference(att, self.influence, variance=variance[:-1])
        cell_table.index = pd.Index([f"ATT({g},{t})" for g, t in zip(self.cells["cohort"], self.cells["year"])],
                                    name="term")
        simple = self._inference(weights @ att, simple_inf, variance=variance[-1:])
        simple.index = pd.Index(terms, name="term")
        table = pd.concat([cell_table, simple])
        att_gt = pd.concat([self.cells[["cohort", "year", "base_year"]].assign(
            event_time=self.cells["year"] - self.cells["cohort"]), cell_table.reset_index(drop=True)], axis=1)
        updates = dict(table=table, vcov=pd.DataFrame(vcov, index=table.index, columns=table.index), att_gt=att_gt,
                       scores=self._scores(terms, simple_inf), permuted=self._permuter(weights[0]),
                       regression=self._regression(weights[0]),
                       outcome_refitter=None if self.plan is None or self.settings.draws else self._outcome_effects)
        for name, value in updates.items():
            object.__setattr__(self, name, value)
        self.__post_init__()  # the degenerate-effect check, now that the table exists
        return self

    def _outcome_effects(self, outcomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The simple ATT and its analytic standard error for each column of ``outcomes`` (rows as
        :attr:`data`: balanced, by region then year), cohorts and cells unchanged: what ``refit``
        gives column by column (no covariates, no bootstrap), without rebuilding the frames."""
        plan = self.plan
        used = np.flatnonzero(plan.keep)
        estimates, errors = np.empty(outcomes.shape[1]), np.empty(outcomes.shape[1])
        for m, column in enumerate(outcomes.T):
            att, influence, _ = _group_mean_cells(plan, used, column.reshape(plan.n, len(plan.years)))
            _, weights, wif = self._weights("simple", None, None, att=att[used])
            summed = self._cluster_influence((influence @ weights[0] + wif[:, 0])[:, None])
            estimates[m] = weights[0] @ att[used]
            errors[m] = np.sqrt(np.sum(summed**2)) / self.n_units
        return estimates, np.where(errors > 1e-12 * np.maximum(1.0, np.abs(estimates)), errors, np.nan)

    # ------------------------------------------------------------- inference
    @property
    def n_units(self) -> int:
        return self.influence.shape[0]

    def _cluster_influence(self, influence: np.ndarray) -> np.ndarray:
        if len(self.cluster_labels) == self.n_units:  # one cluster per unit, in unit order
            return influence
        return cluster_sums(influence, self.unit_clusters, len(self.cluster_labels))

    def _vcov(self, influence: np.ndarray) -> np.ndarray:
        summed = self._cluster_influence(influence)
        return summed.T @ summed / self.n_units**2

    def _scores(self, terms: list[str], influence: np.ndarray) -> pd.DataFrame:
        summed = self._cluster_influence(influence.reshape(self.n_units, -1))
        index = pd.Index(self.cluster_labels, name="cluster")
        return pd.DataFrame(summed / self.n_units, index=index, columns=terms)

    def _inference(self, estimates, influence: np.ndarray, variance: np.ndarray | None = None) -> pd.DataFrame:
        """Errors and intervals; ``variance`` (the covariance's diagonal), when known, saves a pass over the units."""
        estimates = np.atleast_1d(np.asarray(estimates, float))
        n = self.n_units
        if self.settings.draws:
            summed = self._cluster_influence(influence.reshape(n, -1))
            se, critical = multiplier_bootstrap(summed, self.settings.draws, self.settings.alpha,
                                                self.settings.random_seed, progress=self.settings.progress, n_units=n)
        elif variance is not None:
            se, critical = np.sqrt(variance), None
        else:
            summed = self._cluster_influence(influence.reshape(n, -1))
            se, critical = np.sqrt(np.einsum("ij,ij->j", summed, summed)) / n, None
        se = np.where(se > 1e-12 * np.maximum(1.0, np.abs(estimates)), se, np.nan)
        return coefficient_table(pd.Series(estimates), pd.Series(se), alpha=self.settings.alpha, critical=critical)

    def _cell_arguments(self, weights: np.ndarray) -> dict:
        """What the shortcuts need about the cells: unit changes, cohort, year, base year, control rule."""
        cells = self.cells
        return dict(delta=self.delta, cohort=cells["cohort"].to_numpy(float), year=cells["year"].to_numpy(float),
                    base=cells["base_year"].to_numpy(float), never_only=self.settings.control_group == "never_treated",
                    anticipation=self.settings.anticipation, weights=np.asarray(weights, float))

    def _permuter(self, weights: np.ndarray):
        """The fast reassignment shortcut (no covariates: cells are differences of group means)."""
        return None if self.delta is None else partial(_permuted_effects, **self._cell_arguments(weights))

    def _regression(self, weights: np.ndarray):
        """The effect as a combination of the cells' 2x2 regressions, stacked (no covariates only)."""
        if self.delta is None:
            return None
        return partial(_stacked_cells, units=self.unit_cohorts, clusters=self.unit_clusters,
                       labels=self.cluster_labels, **self._cell_arguments(weights))

    # ------------------------------------------------------------- aggregation
    def _weights(self, kind: str, min_e, max_e, att: np.ndarray | None = None) -> tuple[list, np.ndarray, np.ndarray]:
        """Terms, their weights over the cells (terms x cells) and the estimated-weights influence (n x terms)
        at the cells' estimates ``att`` (default: this result's)."""
        cells = self.cells
        cohort, year = cells["cohort"].to_numpy(), cells["year"].to_numpy()
        att = cells["att"].to_numpy() if att is None else att
        event = year - cohort
        window = np.ones(len(cells), bool)
        if min_e is not None:
            window &= event >= min_e
        if max_e is not None:
            window &= event <= max_e
        group_share = {g: float(np.mean(self.unit_cohorts == g)) for g in np.unique(cohort)}
        share = np.array([group_share[g] for g in cohort])
        post = (year >= cohort) & window
        n = self.n_units

        def share_weighted(mask):
            keep = np.flatnonzero(mask)
            if not len(keep):
                raise SpecificationError("no ATT(g,t) cells to aggregate in this window.")
            w = np.zeros(len(cells))
            w[keep] = share[keep] / share[keep].sum()
            return w, self._wif(share[keep], cohort[keep], att[keep])

        def with_overall(terms, pairs, overall):
            w = np.array([p[0] for p in pairs])
            wif = np.column_stack([p[1] for p in pairs])
            if overall is not None:
                w_o, wif_o = overall(w, wif)
                w, wif = np.vstack([w, w_o]), np.column_stack([wif, wif_o])
                terms = [*terms, "overall"]
            return terms, w, wif

        if kind == "simple":
            w, wif = share_weighted(post)
            return ["ATT"], w[None, :], wif[:, None]
        if kind == "group":
            groups = sorted(np.unique(cohort[post]))
            pairs = []
            for g in groups:
                w = np.where(post & (cohort == g), 1.0, 0.0)
                pairs.append((w / w.sum(), np.zeros(n)))
            shares = np.array([group_share[g] for g in groups])

            def overall(w, wif):
                weights = shares / shares.sum()
                return weights @ w, wif @ weights + self._wif(shares, np.array(groups), w @ att)
            return with_overall([f"cohort {g}" for g in groups], pairs, overall)
        if kind == "calendar":
            times = sorted(np.unique(year[post]))
            pairs = [share_weighted(post & (year == t)) for t in times]
            return with_overall([str(t) for t in times], pairs, lambda w, wif: (w.mean(axis=0), wif.mean(axis=1)))
        if kind == "event":
            times = sorted(np.unique(event[window]))
            pairs = [share_weighted(window & (event == e)) for e in times]
            post_e = np.array(times) >= 0
            if not post_e.any():
                return times, np.array([p[0] for p in pairs]), np.column_stack([p[1] for p in pairs])
            return with_overall(times, pairs, lambda w, wif: (w[post_e].mean(axis=0), wif[:, post_e].mean(axis=1)))
        raise SpecificationError(f"aggregate({kind!r}); use 'simple', 'event', 'group' or 'calendar'.")

    def _wif(self, shares: np.ndarray, cohorts: np.ndarray, estimates: np.ndarray) -> np.ndarray:
        """Influence of estimating the cohort-share weights (R did's ``wif``), times the estimates.

        R did builds ``1[G_i = g_j] - share_j`` for every unit i and cell j (n x cells); every term of
        ``wif @ estimates`` only needs, for unit i's cohort, the sum of the estimates of its cells and
        their number, so this is two lookups per unit.
        """
        total = shares.sum()
        levels, cell_level = np.unique(cohorts, return_inverse=True)
        estimate_sum = np.bincount(cell_level, weights=estimates, minlength=len(levels))
        cell_count = np.bincount(cell_level, minlength=len(levels)).astype(float)
        position = np.minimum(np.searchsorted(levels, self.unit_cohorts), len(levels) - 1)
        member = levels[position] == self.unit_cohorts  # False for the never treated (NaN) and other cohorts
        own_sum = np.where(member, estimate_sum[position], 0.0)
        own_count = np.where(member, cell_count[position], 0.0)
        weighted = shares @ estimates
        return (own_sum - weighted) / total - (own_count - total) * weighted / total**2

    @_one_blas_thread
    def aggregate(self, kind: Aggregation = "simple", *, min_e: int | None = None,
                  max_e: int | None = None) -> EstimationResult:
        """Aggregate ATT(g,t) as R did's ``aggte``: ``simple``, ``event``, ``group`` or ``calendar``.

        Weights are cohort shares; their estimation enters the influence function.
        ``event`` returns an :class:`~kzcausal.results.EventStudyResult` (coefficients and
        covariance by event time, optionally restricted to ``min_e <= e <= max_e``; its
        ``overall`` is the mean of the post-period event-time effects, as R did); the others an
        :class:`~kzcausal.results.EstimationResult` whose effect is ``ATT`` (simple) or
        ``overall`` (the cohort-share weighted mean of the cohort effects, or the mean of the
        calendar-year effects).
        """
        for name, bound in (("min_e", min_e), ("max_e", max_e)):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, np.integer))):
                raise SpecificationError(f"{name}={bound!r}; use a whole number of years relative to adoption "
                                         "(e.g. min_e=-3, max_e=5), or None for no bound.")
        if min_e is not None and max_e is not None and min_e > max_e:
            raise SpecificationError(f"min_e={min_e} > max_e={max_e}: the event-time window is empty. Fix: pass "
                                     "min_e <= max_e.")
        if kind == "event" and (min_e is not None or max_e is not None):
            times = (self.cells["year"] - self.cells["cohort"]).to_numpy()
            inside = (times >= (min_e if min_e is not None else -np.inf)) & (times <= (
                max_e if max_e is not None else np.inf))
            if not inside.any():
                raise SpecificationError(f"no ATT(g,t) cell has an event time in [{min_e}, {max_e}]; the cells' event "
                                         f"times run from {int(times.min())} to {int(times.max())}. Fix: choose "
                                         "min_e and max_e in that range.")
        terms, weights, wif = self._weights(kind, min_e, max_e)
        att = self.cells["att"].to_numpy()
        estimates = weights @ att
        influence = self.influence @ weights.T + wif
        settings = self.settings
        common = dict(spec={**self.spec, "aggregation": kind, "min_e": min_e, "max_e": max_e},
                      n_obs=self.n_obs, n_clusters=self.n_clusters, cluster=self.cluster, caveats=self.caveats,
                      alpha=self.alpha, outcome=self.outcome,
                      data=self.data, refitter=partial(_refit_aggregate, settings=settings, kind=kind,
                                                       min_e=min_e, max_e=max_e))
        if kind == "event":
            has_overall = terms[-1] == "overall"
            times = terms[:-1] if has_overall else terms
            k = len(times)
            table = self._inference(estimates[:k], influence[:, :k])
            table.index = pd.Index(times, name="event_time")
            overall = (self._inference(estimates[k:], influence[:, k:]).iloc[0] if has_overall
                       else pd.Series(np.nan, index=COLUMNS))
            effect_w = weights[k] if has_overall else np.zeros(weights.shape[1])
            return EventStudyResult(
                table=table, vcov=pd.DataFrame(self._vcov(influence[:, :k]), index=times, columns=times),
                method=f"{self.method}; event-time aggregation", effect=("overall",),
                scores=self._scores(["overall"], influence[:, k:]) if has_overall else None,
                permuted=self._permuter(effect_w) if has_overall else None,
                regression=self._regression(effect_w) if has_overall else None,
                reference=-1 - settings.anticipation, overall=overall[COLUMNS], base_period=settings.base_period,
                overall_estimand="mean of the post-period event-time effects (R did's dynamic overall ATT)",
                **common)
        table = self._inference(estimates, influence)
        table.index = pd.Index(terms, name="term")
        effect = terms[-1]
        return EstimationResult(
            table=table, vcov=pd.DataFrame(self._vcov(influence), index=terms, columns=terms),
            method=f"{self.method}; {kind} aggregation", effect=(effect,),
            scores=self._scores([effect], influence[:, -1]), permuted=self._permuter(weights[-1]),
            regression=self._regression(weights[-1]), **common)

    # ------------------------------------------------------------- display
    def to_frame(self) -> pd.DataFrame:
        """Tidy table: term (``ATT(g,t)`` and ``ATT``), cohort, year, estimate, errors, method."""
        frame = super().to_frame()
        cells = self.att_gt
        frame["cohort"] = list(cells["cohort"]) + [np.nan]
        frame["year"] = list(cells["year"]) + [np.nan]
        frame["event_time"] = list(cells["event_time"]) + [np.nan]
        return frame[["term", "cohort", "year", "event_time", *COLUMNS, "method"]]

    def to_xarray(self) -> xr.Dataset:
        """ATT(g,t) as ``cohort x year`` arrays (estimate, std_error, ci_low, ci_high, p_value)."""
        ds = self.att_gt.set_index(["cohort", "year"])[COLUMNS].to_xarray()
        ds.attrs.update(method=self.method, ATT=float(self.table.loc["ATT", "estimate"]))
        return ds

    def summary(self) -> str:
        lines = [self.method, f"regions: {self.n_units}, clusters: {self.n_clusters} ({self.cluster}), "
                              f"cells: {len(self.cells)}", self.design.describe(), "",
                 self.att_gt.to_string(index=False, float_format=lambda x: f"{x:.4f}")]
        simple = self.table.loc["ATT"]
        lines += ["", f"simple aggregation: ATT = {simple['estimate']:.4f} (se {simple['std_error']:.4f}), "
                      f"[{simple['ci_low']:.4f}, {simple['ci_high']:.4f}]"]
        return "\n".join(lines + ([""] + [f"! {n}" for n in self.caveats] if self.caveats else []))

    def __repr__(self) -> str:
        return f"<AttgtResult {self.method}: {len(self.cells)} cells, {self.n_units} regions>"

    def plot(self, ax=None):
        """ATT(g,t) by year, one colour per cohort (pre-periods hollow), adoption marked; returns the Axes."""
        import matplotlib.pyplot as plt

        table = self.att_gt
        cohorts = sorted(table["cohort"].unique())
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.8))
        ax.axhline(0, color="0.5", lw=0.8)
        width = 0.6 / max(len(cohorts), 1)
        for i, g in enumerate(cohorts):
            part = table[table["cohort"] == g]
            x = part["year"] + (i - (len(cohorts) - 1) / 2) * width
            color = f"C{i % 10}"
            ax.axvline(g - 0.5, color=color, ls=":", lw=0.8)
            pre = (part["year"] < g).to_numpy()
            ax.errorbar(x, part["estimate"],
                        yerr=[part["estimate"] - part["ci_low"], part["ci_high"] - part["estimate"]],
                        fmt="none", ecolor=color, capsize=2, lw=1)
            ax.plot(x[~pre], part["estimate"][~pre], "o", color=color, label=f"cohort {g}")
            ax.plot(x[pre], part["estimate"][pre], "o", mfc="white", color=color)
        ax.set_xlabel("year")
        ax.set_ylabel("ATT(g,t)")
        ax.set_title(f"ATT(g,t); simple ATT = {self.table.loc['ATT', 'estimate']:.3g}", fontsize="small")
        ax.legend(fontsize="x-small")
        return ax


def multiplier_bootstrap(influence: np.ndarray, n_boot: int, alpha: float, random_seed: int | None, *,
                         progress: bool = True, chunk: int = 250, n_units: int | None = None
                         ) -> tuple[np.ndarray, float]:
    """Rademacher multiplier bootstrap of influence functions (R did's ``mboot``).

    ``influence`` has one row per unit or per cluster (influence summed within clusters;
    ``n_units`` is then the number of units). Returns bootstrap standard errors
    (interquartile range / 1.349, over sqrt(n)) and the critical value of the uniform band:
    the 1 - alpha quantile of the maximum t-statistic across columns.
    """
    from tqdm.auto import tqdm

    rows, k = influence.shape
    n = n_units or rows
    rng = np.random.default_rng(random_seed)
    draws = np.empty((n_boot, k))
    chunks = range(0, n_boot, chunk)
    show = progress and rows * n_boot * k > 5e8
    for start in tqdm(chunks, desc="multiplier bootstrap", disable=not show, leave=False):
        size = min(chunk, n_boot - start)
        weights = rng.choice(np.array([-1.0, 1.0]), size=(size, rows))
        draws[start:start + size] = weights @ influence / np.sqrt(n)
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0)
    sigma = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    usable = sigma > np.sqrt(np.finfo(float).eps) * 10
    t_max = np.max(np.abs(draws[:, usable] / sigma[usable]), axis=1) if usable.any() else np.zeros(n_boot)
    critical = float(np.quantile(t_max, 1 - alpha))
    return np.where(usable, sigma / np.sqrt(n), np.nan), critical
