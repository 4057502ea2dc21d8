"""Callaway & Sant'Anna (2021) group-time ATTs, their aggregations and the multiplier bootstrap.

Two engines produce the ATT(g,t) cells and their influence functions:

* no covariates, ``method="reg"``: a vectorized path of its own, group-mean differences
  and their influence functions for every (g,t) cell at once;
* covariates, or ``method="ipw"``/``"dr"``: the ``differences`` package (GPL-3.0).

Everything downstream (analytic errors, aggregations with the estimated-weights
correction, multiplier bootstrap with uniform bands) is shared, and follows R's
``did`` package (``att_gt``, ``aggte``, ``mboot``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from ..errors import KzCausalWarning, SpecificationError
from ..panel import RegionPanel
from .design import ControlGroup, DIDDesign
from .results import COLUMNS, DIDResult, coefficient_table

__all__ = ["staggered_did", "AttgtResult", "EventStudyResult"]

Method = Literal["reg", "ipw", "dr"]
Aggregation = Literal["simple", "event", "group", "calendar"]
_DIFFERENCES_METHOD = {"reg": "reg", "ipw": "std_ipw", "dr": "dr"}


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
    alpha
        1 - confidence level.
    n_boot
        Multiplier-bootstrap draws (Rademacher, clustered by region). With ``n_boot > 0``
        standard errors are the bootstrap ones and intervals are uniform (simultaneous)
        bands over the cells reported; with 0, analytic pointwise intervals.
    random_seed
        Seed of the bootstrap: the same seed gives identical results.
    progress
        Show a progress bar for long bootstraps.

    Returns
    -------
    AttgtResult
        ``.att_gt`` (one row per cell), ``.aggregate(...)``, ``.summary()``,
        ``.to_frame()``, ``.to_xarray()`` (cohort x year), ``.plot()``.

    References
    ----------
    Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple
    time periods. Journal of Econometrics 225(2), 200-230.
    """
    if method not in _DIFFERENCES_METHOD:
        raise SpecificationError(f"method={method!r}; use 'reg', 'ipw' or 'dr'.")
    if n_boot < 0:
        raise SpecificationError(f"n_boot={n_boot}; use 0 (analytic) or a positive number of draws.")
    if base_period not in ("varying", "universal"):
        raise SpecificationError(f"base_period={base_period!r}; use 'varying' or 'universal'.")
    covariates = list(covariates or [])
    design = DIDDesign.from_panel(panel, outcome, first_treated, control_group=control_group,
                                  anticipation=anticipation)
    notes = list(design.notes)
    frame = design.data
    if covariates:
        panel.require(*covariates, role="covariate")
        frame = frame.join(panel._data[covariates])  # aligned on the panel's row index
    frame, cohorts, dropped = _balance(frame, design)
    if dropped:
        notes.append(f"dropped {len(dropped)} region(s) not observed in every year (CS needs a balanced "
                     f"panel): {dropped[:10]}")
        warnings.warn(notes[-1], KzCausalWarning, stacklevel=2)
    if covariates or method != "reg":
        cells, influence, units = _cells_differences(frame, design, covariates, method, base_period, cohorts)
        engine = f"differences ({_DIFFERENCES_METHOD[method]})"
    else:
        cells, influence, units = _cells_unconditional(frame, design, base_period, cohorts)
        engine = "kzcausal vectorized group means"
    notes += design.cluster_warnings()
    return AttgtResult(
        cells=cells,
        influence=influence,
        unit_cohorts=units,
        alpha=alpha,
        n_boot=n_boot,
        random_seed=random_seed,
        progress=progress,
        method=f"Callaway-Sant'Anna ATT(g,t), {method}, {control_group.replace('_', '-')} controls [{engine}]",
        spec=dict(estimator="staggered_did", outcome=outcome, first_treated=first_treated if isinstance(
            first_treated, str) else dict(first_treated), control_group=control_group, method=method,
            anticipation=anticipation, covariates=covariates, base_period=base_period, alpha=alpha, n_boot=n_boot,
            random_seed=random_seed),
        notes=tuple(notes),
        design=design,
    )


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
                         ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
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
    return cells[keep].reset_index(drop=True), influence[:, keep], cohorts


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
class AttgtResult:
    """ATT(g,t) cells with influence functions; aggregate with :meth:`aggregate`."""

    cells: pd.DataFrame
    influence: np.ndarray = field(repr=False)
    unit_cohorts: np.ndarray = field(repr=False)
    alpha: float
    n_boot: int
    random_seed: int | None
    progress: bool
    method: str
    spec: Mapping[str, object]
    notes: tuple[str, ...]
    design: DIDDesign = field(repr=False)

    @property
    def n_units(self) -> int:
        return self.influence.shape[0]

    @property
    def att_gt(self) -> pd.DataFrame:
        """One row per (cohort, year): estimate, errors, interval (uniform with the bootstrap)."""
        table = self._inference(self.cells["att"].to_numpy(), self.influence)
        cells = self.cells[["cohort", "year", "base_year"]].assign(
            event_time=self.cells["year"] - self.cells["cohort"])
        return pd.concat([cells, table.reset_index(drop=True)], axis=1)

    @property
    def vcov(self) -> np.ndarray:
        """Analytic covariance of the ATT(g,t) cells (influence-function based)."""
        return self.influence.T @ self.influence / self.n_units**2

    def _inference(self, estimates: np.ndarray, influence: np.ndarray) -> pd.DataFrame:
        n = self.n_units
        if self.n_boot:
            se, critical = multiplier_bootstrap(influence, self.n_boot, self.alpha, self.random_seed,
                                                progress=self.progress)
        else:
            se, critical = np.sqrt((influence**2).sum(axis=0)) / n, None
        se = np.where(se > 1e-12 * np.maximum(1.0, np.abs(estimates)), se, np.nan)
        return coefficient_table(pd.Series(estimates), pd.Series(se), alpha=self.alpha, critical=critical)

    def aggregate(self, kind: Aggregation = "simple", *, min_e: int | None = None,
                  max_e: int | None = None) -> DIDResult | EventStudyResult:
        """Aggregate ATT(g,t) as R did's ``aggte``: ``simple``, ``event``, ``group`` or ``calendar``.

        Weights are cohort shares; their estimation enters the influence function.
        ``event`` returns an :class:`EventStudyResult` (coefficients and covariance by
        event time, optionally restricted to ``min_e <= e <= max_e``); the others a
        :class:`DIDResult` with the per-group (or per-year) effects and an ``overall`` row.
        """
        cells = self.cells
        cohort, year, att = cells["cohort"].to_numpy(), cells["year"].to_numpy(), cells["att"].to_numpy()
        event = year - cohort
        in_window = np.ones(len(cells), bool)
        if min_e is not None:
            in_window &= event >= min_e
        if max_e is not None:
            in_window &= event <= max_e
        group_share = {g: float(np.mean(self.unit_cohorts == g)) for g in np.unique(cohort)}
        share = np.array([group_share[g] for g in cohort])
        post = (year >= cohort) & in_window
        if kind == "simple":
            est, inf = self._weighted(np.flatnonzero(post), share, att, cohort)
            return self._result(["ATT"], [est], inf[:, None], f"{self.method}; simple aggregation")
        if kind == "group":
            groups = sorted(np.unique(cohort[post]))
            ests, infs = [], []
            for g in groups:
                keep = np.flatnonzero(post & (cohort == g))
                ests.append(att[keep].mean())
                infs.append(self.influence[:, keep].mean(axis=1))
            ests, infs = np.array(ests), np.column_stack(infs)
            weights = np.array([group_share[g] for g in groups])
            overall, overall_inf = self._reweight(ests, infs, weights, np.array(groups))
            return self._result([*(f"cohort {g}" for g in groups), "overall"], [*ests, overall],
                                np.column_stack([infs, overall_inf]), f"{self.method}; group aggregation")
        if kind == "calendar":
            times = sorted(np.unique(year[post]))
            ests, infs = self._weighted_each([post & (year == t) for t in times], share, att, cohort)
            overall, overall_inf = float(np.mean(ests)), infs.mean(axis=1)
            return self._result([*(str(t) for t in times), "overall"], [*ests, overall],
                                np.column_stack([infs, overall_inf]), f"{self.method}; calendar aggregation")
        if kind == "event":
            times = sorted(np.unique(event[in_window]))
            ests, infs = self._weighted_each([in_window & (event == e) for e in times], share, att, cohort)
            table = self._inference(ests, infs)
            table.index = pd.Index(times, name="event_time")
            vcov = infs.T @ infs / self.n_units**2
            post_e = np.array(times) >= 0
            overall = float(np.mean(ests[post_e])) if post_e.any() else np.nan
            overall_se = float(np.sqrt((infs[:, post_e].mean(axis=1) ** 2).sum()) / self.n_units) \
                if post_e.any() else np.nan
            return EventStudyResult(
                table=table,
                vcov=pd.DataFrame(vcov, index=times, columns=times),
                method=f"{self.method}; event-time aggregation",
                spec={**self.spec, "aggregation": "event", "min_e": min_e, "max_e": max_e},
                n_obs=int(self.n_units * len(self.design.years)),
                n_clusters=self.n_units,
                warnings=self.notes,
                reference=-1 - self.design.anticipation,
                overall=(overall, overall_se),
            )
        raise SpecificationError(f"aggregate({kind!r}); use 'simple', 'event', 'group' or 'calendar'.")

    def _weighted(self, keep: np.ndarray, share: np.ndarray, att: np.ndarray, cohort: np.ndarray
                  ) -> tuple[float, np.ndarray]:
        """Cohort-share weighted mean of cells ``keep``, with the estimated-weights term (R did's wif)."""
        if not len(keep):
            raise SpecificationError("no ATT(g,t) cells to aggregate in this window.")
        return self._reweight(att[keep], self.influence[:, keep], share[keep], cohort[keep])

    def _weighted_each(self, masks, share, att, cohort) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_weighted` for each boolean mask over the cells: estimates and influence columns."""
        pairs = [self._weighted(np.flatnonzero(mask), share, att, cohort) for mask in masks]
        return np.array([p[0] for p in pairs]), np.column_stack([p[1] for p in pairs])

    def _reweight(self, estimates, influence, shares, cohorts) -> tuple[float, np.ndarray]:
        total = shares.sum()
        weights = shares / total
        estimate = float(weights @ estimates)
        indicator = (self.unit_cohorts[:, None] == cohorts[None, :]).astype(float)  # n x k
        centered = indicator - shares[None, :]
        wif = centered / total - centered.sum(axis=1, keepdims=True) * (shares / total**2)[None, :]
        return estimate, influence @ weights + wif @ estimates

    def _result(self, terms, estimates, influence, method) -> DIDResult:
        table = self._inference(np.asarray(estimates, float), influence)
        table.index = pd.Index(terms, name="term")
        vcov = influence.T @ influence / self.n_units**2
        return DIDResult(table=table, vcov=pd.DataFrame(vcov, index=terms, columns=terms), method=method,
                         spec={**self.spec, "aggregation": method.rsplit("; ", 1)[-1]},
                         n_obs=int(self.n_units * len(self.design.years)), n_clusters=self.n_units,
                         warnings=self.notes)

    # ------------------------------------------------------------- display
    def to_frame(self) -> pd.DataFrame:
        """Tidy ATT(g,t) table: term ``ATT(g,t)``, cohort, year, estimate, errors, method."""
        table = self.att_gt
        terms = [f"ATT({g},{t})" for g, t in zip(table["cohort"], table["year"])]
        return table.assign(term=terms, method=self.method)[["term", "cohort", "year", "event_time", *COLUMNS,
                                                             "method"]]

    def to_xarray(self) -> xr.Dataset:
        """ATT(g,t) as ``cohort x year`` arrays (estimate, std_error, ci_low, ci_high, p_value)."""
        table = self.att_gt.set_index(["cohort", "year"])[COLUMNS]
        ds = table.to_xarray()
        ds.attrs["method"] = self.method
        return ds

    def summary(self) -> str:
        lines = [self.method, f"regions: {self.n_units}, cells: {len(self.cells)}",
                 self.design.describe(), "",
                 self.att_gt.to_string(index=False, float_format=lambda x: f"{x:.4f}")]
        simple = self.aggregate("simple").table.iloc[0]
        lines += ["", f"simple aggregation: ATT = {simple['estimate']:.4f} (se {simple['std_error']:.4f}), "
                      f"[{simple['ci_low']:.4f}, {simple['ci_high']:.4f}]"]
        return "\n".join(lines + ([""] + [f"! {n}" for n in self.notes] if self.notes else []))

    def __repr__(self) -> str:
        return f"<AttgtResult {self.method}: {len(self.cells)} cells, {self.n_units} regions>"

    def plot(self):
        """One panel per cohort: ATT(g,t) by year with intervals, adoption marked; returns the Figure."""
        import matplotlib.pyplot as plt

        table = self.att_gt
        cohorts = sorted(table["cohort"].unique())
        fig, axes = plt.subplots(len(cohorts), 1, figsize=(7, 2.2 * len(cohorts)), sharex=True, squeeze=False)
        for ax, g in zip(axes[:, 0], cohorts):
            part = table[table["cohort"] == g]
            pre = part["year"] < g
            ax.axhline(0, color="0.5", lw=0.8)
            ax.axvline(g - 0.5, color="0.3", ls=":", lw=0.8)
            for mask, color in ((pre, "C7"), (~pre, "C0")):
                ax.errorbar(part.loc[mask, "year"], part.loc[mask, "estimate"],
                            yerr=[part.loc[mask, "estimate"] - part.loc[mask, "ci_low"],
                                  part.loc[mask, "ci_high"] - part.loc[mask, "estimate"]],
                            fmt="o", color=color, capsize=2)
            ax.set_ylabel(f"cohort {g}")
        axes[-1, 0].set_xlabel("year")
        fig.suptitle("ATT(g,t)", fontsize="small")
        return fig


@dataclass(frozen=True, eq=False)
class EventStudyResult(DIDResult):
    """Dynamic effects by event time, with their full covariance matrix.

    ``reference`` is the event time the estimates are relative to (marked on plots);
    ``overall`` is the average post-period effect and its standard error.
    """

    reference: int | None = -1
    overall: tuple[float, float] = (np.nan, np.nan)

    @property
    def event_times(self) -> list[int]:
        return [int(e) for e in self.table.index]

    def to_xarray(self) -> xr.Dataset:
        ds = xr.Dataset({c: ("event_time", self.table[c].to_numpy()) for c in COLUMNS},
                        coords={"event_time": self.event_times})
        ds["vcov"] = (("event_time", "event_time2"), self.vcov.to_numpy())
        ds = ds.assign_coords(event_time2=self.event_times)
        ds.attrs.update(method=self.method, reference=self.reference if self.reference is not None else "none")
        return ds

    def plot(self, ax=None):
        """Event-study plot: zero line, reference period marked, confidence band shaded."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        e = np.array(self.event_times)
        table = self.table
        ax.axhline(0, color="0.5", lw=0.8)
        if self.reference is not None:
            ax.axvline(self.reference, color="0.3", ls=":", lw=0.8, label=f"reference (e = {self.reference})")
        ax.fill_between(e, table["ci_low"], table["ci_high"], color="C0", alpha=0.2, lw=0)
        ax.plot(e, table["estimate"], "o-", color="C0")
        ax.set_xlabel("years since adoption (event time)")
        ax.set_ylabel("effect")
        ax.set_title(self.method, fontsize="small")
        ax.legend(loc="best", fontsize="small")
        return ax


def multiplier_bootstrap(influence: np.ndarray, n_boot: int, alpha: float, random_seed: int | None, *,
                         progress: bool = True, chunk: int = 250) -> tuple[np.ndarray, float]:
    """Rademacher multiplier bootstrap of influence functions (R did's ``mboot``).

    Returns bootstrap standard errors (interquartile range / 1.349, over sqrt(n)) and the
    critical value of the uniform band: the 1 - alpha quantile of the maximum
    t-statistic across columns.
    """
    from tqdm.auto import tqdm

    n, k = influence.shape
    rng = np.random.default_rng(random_seed)
    draws = np.empty((n_boot, k))
    chunks = range(0, n_boot, chunk)
    show = progress and n * n_boot * k > 5e8
    for start in tqdm(chunks, desc="multiplier bootstrap", disable=not show, leave=False):
        size = min(chunk, n_boot - start)
        weights = rng.choice(np.array([-1.0, 1.0]), size=(size, n))
        draws[start:start + size] = weights @ influence / np.sqrt(n)
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0)
    sigma = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    usable = sigma > np.sqrt(np.finfo(float).eps) * 10
    t_max = np.max(np.abs(draws[:, usable] / sigma[usable]), axis=1) if usable.any() else np.zeros(n_boot)
    critical = float(np.quantile(t_max, 1 - alpha))
    return np.where(usable, sigma / np.sqrt(n), np.nan), critical
