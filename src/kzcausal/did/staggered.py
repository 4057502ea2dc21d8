"""Callaway & Sant'Anna (2021) group-time ATTs, their aggregations and the multiplier bootstrap.

Two engines produce the ATT(g,t) cells and their influence functions:

* no covariates, ``method="reg"``: a vectorized path of its own, group-mean differences
  and their influence functions for every (g,t) cell at once;
* covariates, or ``method="ipw"``/``"dr"``: the ``differences`` package (GPL-3.0).

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
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from ..errors import KzCausalWarning, SpecificationError
from ..panel import RegionPanel
from ..results import COLUMNS, EstimationResult, EventStudyResult, RegressionForm, coefficient_table
from .design import ControlGroup, DIDDesign, few_cluster_notes
from .regression import cluster_column, cluster_sums

__all__ = ["staggered_did", "AttgtResult"]

Method = Literal["reg", "ipw", "dr"]
Aggregation = Literal["simple", "event", "group", "calendar"]
_DIFFERENCES_METHOD = {"reg": "reg", "ipw": "std_ipw", "dr": "dr"}


@dataclass(frozen=True)
class _Settings:
    """Everything about a CS fit except its rows: what a re-fit repeats."""

    control_group: str
    method: str
    anticipation: int
    covariates: tuple[str, ...]
    base_period: str
    alpha: float
    n_boot: int
    boot_seed: int | None
    progress: bool


def staggered_did(
    panel: RegionPanel,
    outcome: str,
    first_treated: str | Mapping[str, float],
    *,
    control_group: ControlGroup = "never_treated",
    method: Method = "reg",
    anticipation: int = 0,
    covariates: Sequence[str] | None = None,
    base_period: Literal["varying", "universal"] = "varying",
    cluster: str | None = None,
    alpha: float = 0.05,
    n_boot: int = 0,
    random_seed: int | None = None,
    progress: bool = True,
) -> AttgtResult:
    """Group-time average treatment effects ATT(g,t) (Callaway & Sant'Anna 2021).

    Parameters
    ----------
    panel, outcome
        The panel and outcome variable.
    first_treated
        Panel variable with each region's first treated year (NaN or 0: never treated),
        or a mapping region -> year.
    control_group
        ``"never_treated"`` or ``"not_yet_treated"``.
    method
        ``"reg"`` (outcome regression), ``"ipw"`` (inverse probability weighting) or
        ``"dr"`` (doubly robust); without covariates all three are the same estimator.
    anticipation
        Years before adoption in which units may already react.
    covariates
        Pre-treatment covariates (their base-period values enter the first stage);
        estimated through the ``differences`` package.
    base_period
        ``"varying"`` (R did's default: pre-period cells compare consecutive years) or
        ``"universal"`` (every cell compares with year g - 1 - anticipation, which is
        then the omitted reference; use it for event studies fed to sensitivity analyses).
    cluster
        Column coarser than the region to cluster on (default: the region, R did's unit).
    alpha
        1 - confidence level.
    n_boot
        Multiplier-bootstrap draws (Rademacher, by cluster). With ``n_boot > 0``
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
    if method not in _DIFFERENCES_METHOD:
        raise SpecificationError(f"method={method!r}; use 'reg', 'ipw' or 'dr'.")
    if not isinstance(n_boot, (int, np.integer)) or isinstance(n_boot, bool) or n_boot < 0:
        raise SpecificationError(f"n_boot={n_boot!r}; use 0 (analytic) or a positive number of draws.")
    if base_period not in ("varying", "universal"):
        raise SpecificationError(f"base_period={base_period!r}; use 'varying' or 'universal'.")
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates or [])
    rows = DIDDesign.panel_rows(panel, outcome, first_treated)
    if covariates:
        panel.require(*covariates, role="covariate")
        rows = rows.join(panel._data[covariates])  # aligned on the panel's row index
    if cluster not in (None, "region"):
        rows["cluster"] = cluster_column(panel._data, cluster, panel.variables)
    boot_seed = None
    if n_boot:
        boot_seed = random_seed if random_seed is not None else int(np.random.SeedSequence().entropy % 2**63)
    settings = _Settings(control_group=control_group, method=method, anticipation=anticipation,
                         covariates=tuple(covariates), base_period=base_period, alpha=alpha, n_boot=int(n_boot),
                         boot_seed=boot_seed, progress=progress)
    spec = dict(estimator="staggered_did", outcome=outcome, first_treated=first_treated if isinstance(
        first_treated, str) else dict(first_treated), control_group=control_group, method=method,
        anticipation=anticipation, covariates=covariates, base_period=base_period, cluster=cluster, alpha=alpha,
        n_boot=n_boot, random_seed=random_seed)
    return _fit_attgt(rows, outcome, settings, spec, warn=True)


def _fit_attgt(rows: pd.DataFrame, outcome: str, settings: _Settings, spec: Mapping[str, object], *,
               warn: bool = False) -> AttgtResult:
    """ATT(g,t) on estimation rows ``region, year, <outcome>, cohort (inf: never)[, cluster][, covariates]``."""
    with warnings.catch_warnings():
        if not warn:
            warnings.simplefilter("ignore", KzCausalWarning)
        design = DIDDesign.from_frame(rows, outcome, control_group=settings.control_group,
                                      anticipation=settings.anticipation)
    notes = list(design.notes)
    frame, cohorts, dropped = _balance(design.data, design)
    if dropped:
        notes.append(f"dropped {len(dropped)} region(s) not observed in every year (CS needs a balanced "
                     f"panel): {dropped[:10]}")
        if warn:
            warnings.warn(notes[-1], KzCausalWarning, stacklevel=3)
    covariates = list(settings.covariates)
    if covariates or settings.method != "reg":
        cells, influence, units = _cells_differences(frame, design, covariates, settings.method,
                                                     settings.base_period, cohorts)
        engine = f"differences ({_DIFFERENCES_METHOD[settings.method]})"
        delta = None
    else:
        cells, influence, units, delta = _cells_unconditional(frame, design, settings.base_period, cohorts)
        engine = "kzcausal vectorized group means"
    unit_rows = np.unique(pd.factorize(frame["region"])[0], return_index=True)[1]
    labels = (frame["cluster"] if "cluster" in frame else frame["region"]).to_numpy()[unit_rows]
    clusters, cluster_labels = pd.factorize(labels)
    notes += few_cluster_notes(len(cluster_labels), int(np.isfinite(units).sum()))
    data = DIDDesign.estimation_rows(frame)
    control = settings.control_group.replace("_", "-")
    cluster_name = spec.get("cluster") or "region"
    base = AttgtResult(
        table=pd.DataFrame(columns=COLUMNS), vcov=pd.DataFrame(), effect=("ATT",),
        method=f"Callaway-Sant'Anna ATT(g,t), {settings.method}, {control} controls [{engine}]"
               + (f", {cluster_name}-clustered" if cluster_name != "region" else ""),
        spec={**spec, "outcome": outcome}, n_obs=len(frame), n_clusters=len(cluster_labels), cluster=cluster_name,
        caveats=tuple(notes), data=data,
        refitter=partial(_fit_attgt, settings=settings, spec=spec),
        cells=cells, influence=influence, unit_cohorts=units, unit_clusters=clusters,
        cluster_labels=tuple(cluster_labels), settings=settings, design=design, delta=delta)
    return base._finish()


def _refit_aggregate(rows: pd.DataFrame, outcome: str, *, settings: _Settings, spec, kind: str, min_e, max_e):
    return _fit_attgt(rows, outcome, settings, spec).aggregate(kind, min_e=min_e, max_e=max_e)


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
    codes, regions = pd.factorize(frame["region"])
    complete = np.bincount(codes) == len(design.years)
    short = list(regions[~complete])
    if short:
        frame = frame[complete[codes]]
    cohorts = design.region_cohorts.reindex(regions[complete]).to_numpy(float)
    return frame, cohorts, short


def _cell_plan(design: DIDDesign, base_period: str) -> list[tuple[int, int, int]]:
    """(cohort, year, base year) for every cell, as R did's ``att_gt``."""
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
            base = years[position - 1] if t < g - design.anticipation else last_pre[-1]
            plan.append((g, t, base))
    return plan


def _cells_unconditional(frame: pd.DataFrame, design: DIDDesign, base_period: str, cohorts: np.ndarray
                         ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    years = np.asarray(design.years)
    y = frame[design.outcome].to_numpy(float).reshape(len(cohorts), len(years))  # balanced, sorted
    group = np.where(np.isnan(cohorts), np.inf, cohorts)
    plan = np.array(_cell_plan(design, base_period), dtype=float).reshape(-1, 3)
    g, t, base = plan[:, 0], plan[:, 1], plan[:, 2]
    column = {year: i for i, year in enumerate(years)}
    delta = y[:, [column[v] for v in t]] - y[:, [column[v] for v in base]]  # n x cells
    treated = group[:, None] == g[None, :]
    if design.control_group == "never_treated":
        control = np.broadcast_to(np.isinf(group)[:, None], treated.shape)
    else:
        threshold = np.maximum(t, base) + design.anticipation
        control = np.isinf(group)[:, None] | ((group[:, None] > threshold[None, :]) & (group[:, None] != g[None, :]))
    n_treated, n_control = treated.sum(axis=0), control.sum(axis=0)
    keep = n_control > 0
    changes = delta[:, keep].copy()  # the unit-level changes behind each cell, before centring
    n = len(group)
    with np.errstate(invalid="ignore", divide="ignore"):
        # one weight per unit and cell: +1/n_treated for the cohort, -1/n_control for its controls, 0 otherwise
        weight = np.where(treated, 1.0 / n_treated, 0.0)
        weight -= np.where(control, 1.0 / n_control, 0.0)
        att = (weight * delta).sum(axis=0)  # = mean over treated - mean over controls
        mean_treated = np.where(treated, delta, 0.0).sum(axis=0) / n_treated
        mean_control = mean_treated - att
        # influence = n * weight * (delta - own group's mean)
        delta -= np.where(treated, mean_treated, mean_control)
        influence = delta
        influence *= weight
        influence *= n
    cells = pd.DataFrame({"cohort": g.astype(int), "year": t.astype(int), "base_year": base.astype(int),
                          "att": att, "n_treated": n_treated, "n_control": n_control})
    return cells[keep].reset_index(drop=True), influence[:, keep], cohorts, changes


def _cells_differences(frame: pd.DataFrame, design: DIDDesign, covariates: list[str], method: Method,
                       base_period: str, cohorts: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    from differences import ATTgt

    data = frame.rename(columns={"first_treated": "cohort"}).set_index(["region", "year"]).sort_index()
    formula = design.outcome + (" ~ " + " + ".join(covariates) if covariates else "")
    model = ATTgt(data=data, cohort_column="cohort", base_period=base_period, anticipation=design.anticipation)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(formula=formula, est_method=_DIFFERENCES_METHOD[method], control_group=design.control_group,
                  n_jobs=1, progress_bar=False)
    elements = model._result_dict["full_sample"]["ATTgt_ntl"]
    failed = [(e.cohort, e.time, str(e.exception)) for e in elements if e.exception is not None]
    if failed:
        raise SpecificationError(f"differences could not estimate {len(failed)} cell(s), e.g. {failed[:3]}; "
                                 "too few regions for these covariates. Fix: fewer covariates or method='reg'.")
    # differences' influence functions follow the same convention as ours: se = sqrt(sum(if^2)) / n
    influence = np.column_stack([e.influence_func.toarray().ravel() for e in elements])
    cells = pd.DataFrame({"cohort": [int(e.cohort) for e in elements], "year": [int(e.time) for e in elements],
                          "base_year": [int(e.base_period) for e in elements],
                          "att": [float(e.ATT) for e in elements],
                          "n_treated": np.nan, "n_control": np.nan})
    if influence.shape[0] != len(cohorts):  # pragma: no cover - guards differences' layout
        raise RuntimeError("differences returned an unexpected number of units")
    return cells, influence, cohorts


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
    settings: _Settings = field(default=None, repr=False)
    design: DIDDesign = field(default=None, repr=False)
    delta: np.ndarray | None = field(default=None, repr=False)
    att_gt: pd.DataFrame = field(default=None, repr=False)

    def _finish(self) -> AttgtResult:
        """Fill the table, the covariance, ``att_gt``, the effect's scores and the permutation shortcut."""
        att = self.cells["att"].to_numpy()
        cell_table = self._inference(att, self.influence)
        cell_table.index = pd.Index([f"ATT({g},{t})" for g, t in zip(self.cells["cohort"], self.cells["year"])],
                                    name="term")
        terms, weights, wif = self._weights("simple", None, None)
        simple_inf = self.influence @ weights.T + wif
        simple = self._inference(weights @ att, simple_inf)
        simple.index = pd.Index(terms, name="term")
        table = pd.concat([cell_table, simple])
        full_inf = np.column_stack([self.influence, simple_inf])
        vcov = self._vcov(full_inf)
        att_gt = pd.concat([self.cells[["cohort", "year", "base_year"]].assign(
            event_time=self.cells["year"] - self.cells["cohort"]), cell_table.reset_index(drop=True)], axis=1)
        updates = dict(table=table, vcov=pd.DataFrame(vcov, index=table.index, columns=table.index), att_gt=att_gt,
                       scores=self._scores(terms, simple_inf), permuted=self._permuter(weights[0]),
                       regression=self._regression(weights[0]))
        for name, value in updates.items():
            object.__setattr__(self, name, value)
        return self

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

    def _inference(self, estimates, influence: np.ndarray) -> pd.DataFrame:
        estimates = np.atleast_1d(np.asarray(estimates, float))
        influence = influence.reshape(self.n_units, -1)
        summed = self._cluster_influence(influence)
        n = self.n_units
        if self.settings.n_boot:
            se, critical = multiplier_bootstrap(summed, self.settings.n_boot, self.settings.alpha,
                                                self.settings.boot_seed, progress=self.settings.progress, n_units=n)
        else:
            se, critical = np.sqrt((summed**2).sum(axis=0)) / n, None
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
    def _weights(self, kind: str, min_e, max_e) -> tuple[list, np.ndarray, np.ndarray]:
        """Terms, their weights over the cells (terms x cells) and the estimated-weights influence (n x terms)."""
        cells = self.cells
        cohort, year, att = cells["cohort"].to_numpy(), cells["year"].to_numpy(), cells["att"].to_numpy()
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
        """Influence of estimating the cohort-share weights (R did's ``wif``), times the estimates."""
        total = shares.sum()
        indicator = (self.unit_cohorts[:, None] == cohorts[None, :]).astype(float)  # n x k
        centered = indicator - shares[None, :]
        wif = centered / total - centered.sum(axis=1, keepdims=True) * (shares / total**2)[None, :]
        return wif @ estimates

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
        terms, weights, wif = self._weights(kind, min_e, max_e)
        att = self.cells["att"].to_numpy()
        estimates = weights @ att
        influence = self.influence @ weights.T + wif
        settings = self.settings
        common = dict(spec={**self.spec, "aggregation": kind, "min_e": min_e, "max_e": max_e},
                      n_obs=self.n_obs, n_clusters=self.n_clusters, cluster=self.cluster, caveats=self.caveats,
                      data=self.data, refitter=partial(_refit_aggregate, settings=settings, spec=self.spec, kind=kind,
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
                reference=-1 - settings.anticipation, overall=overall[COLUMNS],
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
