"""The one result every estimator returns, and the one shape every check returns.

Data flow one way: estimator -> :class:`EstimationResult` -> checks / tables / report. A
result answers the same questions the same way whatever produced it (``summary``,
``to_frame``, ``to_xarray``, ``plot``), names the term(s) that are "the effect", carries the
rows it was estimated on and how it was clustered, and can re-estimate itself (:meth:`refit`)
on other rows, another treatment assignment or another outcome, without re-reading the panel.
Checks ask the result for what they need and never look at which estimator made it:

========================  ====================================================================
check needs               the result provides
========================  ====================================================================
re-estimation             ``refitter`` (placebo in time, placebo outcome, leave-one-out, RI)
cluster scores            ``scores``: each cluster's influence on the effect (score bootstrap)
a linear treatment term   ``linear`` (FWL shortcut: fast exact RI and the WCR bootstrap)
a regression form         ``regression``: the effect as R'beta in OLS (WCR bootstrap of any such effect)
fast reassignment         ``permuted``: the effect under many assignments at once (RI)
event-time coefficients   :class:`EventStudyResult` (pre-trend test, HonestDiD)
========================  ====================================================================
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from .design.rows import check_rows, reassign
from .errors import DegenerateEstimateWarning, SpecificationError
from .text import literal_plot

__all__ = ["EstimationResult", "EventStudyResult", "CheckResult", "LinearDesign", "RegressionForm",
           "coefficient_table", "COLUMNS"]

#: The tidy columns every result and check reports (``to_frame`` adds ``term`` and ``method``).
COLUMNS = ["estimate", "std_error", "ci_low", "ci_high", "p_value"]


def coefficient_table(estimates: pd.Series, std_errors: pd.Series, *, alpha: float = 0.05,
                      df: float | None = None, critical: float | None = None) -> pd.DataFrame:
    """Estimates with errors, two-sided p-values and confidence intervals.

    ``df`` gives Student-t inference (small-sample OLS, clustered errors with G - 1 df);
    otherwise normal. ``critical`` overrides the interval's critical value (uniform bands).
    """
    z = estimates / std_errors
    # the distribution's functions called directly: freezing one costs a millisecond per table
    sf, ppf = ((partial(stats.t.sf, df=df), partial(stats.t.ppf, df=df)) if df is not None
               else (stats.norm.sf, stats.norm.ppf))
    p_value = 2 * sf(np.abs(z))
    crit = critical if critical is not None else ppf(1 - alpha / 2)
    return pd.DataFrame({
        "estimate": estimates,
        "std_error": std_errors,
        "ci_low": estimates - crit * std_errors,
        "ci_high": estimates + crit * std_errors,
        "p_value": p_value,
    })


@dataclass(frozen=True)
class LinearDesign:
    """The effect is the OLS coefficient of ``D_it = 1[year >= cohort of region i]``.

    ``nuisance`` says what else is in the regression: ``"pooled"`` (paper 002's intercept,
    group dummy and ``1[year >= post_from]``) or ``"two_way"`` (region and year effects plus
    ``covariates``). Checks use it for the Frisch-Waugh-Lovell shortcut: every reassignment
    or bootstrap draw is then a matrix product instead of a regression.
    """

    nuisance: Literal["pooled", "two_way"]
    post_from: int | None = None
    covariates: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegressionForm:
    """The effect as ``R' beta`` in a least-squares regression, for the wild cluster bootstrap.

    ``X`` (N x k) and ``y`` (N) are the regressors and outcome with the nuisance parameters
    (fixed effects, intercepts) partialled out; ``project`` applies that same partialling-out
    (``M_Z``) to any N x m array; ``clusters`` holds each row's cluster code (0..G-1) and
    ``labels`` the cluster names. The WCR bootstrap imposes ``R' beta = theta0`` on it.
    """

    X: np.ndarray
    y: np.ndarray
    R: np.ndarray
    clusters: np.ndarray
    labels: tuple
    project: Callable[[np.ndarray], np.ndarray]


def check_result(result: object, check: str) -> None:
    """Checks take an estimator's result: refuse anything else (a DataFrame, None, a check's result) by name."""
    if not isinstance(result, EstimationResult):
        raise SpecificationError(f"{check}: result is a {type(result).__name__}, not an estimator's result. Fix: pass "
                                 f"what an estimator returns, e.g. {check}(kz.twfe(panel, 'outcome', 'treated')).")


def axes_for(ax, figsize: tuple[float, float]):
    """The Axes to draw on: ``ax`` if it is a matplotlib Axes, a new figure's if it is None."""
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if ax is None:
        return plt.subplots(figsize=figsize)[1]
    if not isinstance(ax, Axes):
        raise SpecificationError(f"ax is a {type(ax).__name__}, not a matplotlib Axes. Fix: pass ax=None (a new "
                                 "figure) or an Axes, e.g. fig, ax = plt.subplots(); result.plot(ax=ax).")
    return ax


def _interval_plot(table: pd.DataFrame, ax=None):
    """Estimates (points) and intervals (lines), one row per term, zero marked; returns the Axes."""
    ax = axes_for(ax, (6, 0.5 + 0.4 * len(table)))
    y = np.arange(len(table))[::-1]
    ax.axvline(0, color="0.5", lw=0.8)
    ax.hlines(y, table["ci_low"], table["ci_high"], color="C0")
    ax.plot(table["estimate"], y, "o", color="C0")
    ax.set_yticks(y, [str(t) for t in table.index])
    return ax


def _tidy(table: pd.DataFrame, method: str) -> pd.DataFrame:
    frame = table.reindex(columns=COLUMNS).rename_axis("term").reset_index()
    frame["term"] = frame["term"].astype(str)
    return frame.assign(method=method)


class _Table:
    """What every result and check with a ``table`` of estimates answers the same way."""

    def __init_subclass__(cls, **kwargs):
        """Every subclass's ``plot`` draws user text (region, term, outcome names) as written, never as mathtext."""
        super().__init_subclass__(**kwargs)
        plot = cls.__dict__.get("plot")
        if plot is not None and not getattr(plot, "__wrapped_literal__", False):
            cls.plot = literal_plot(plot)

    table: pd.DataFrame

    @property
    def params(self) -> pd.Series:
        """Point estimates by term."""
        return self.table["estimate"].copy()

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors by term."""
        return self.table["std_error"].copy()


def no_sampling_error(estimate, error) -> np.ndarray:
    """Where a standard error is zero, undefined or rounding noise (<= 1e-12 of max(1, |estimate|)): an outcome
    fitted exactly. The one rule the results' degenerate flag and the checks on event studies use."""
    estimate, error = np.asarray(estimate, float), np.asarray(error, float)
    return ~(error > 1e-12 * np.maximum(1.0, np.abs(estimate)))


@dataclass(frozen=True, eq=False)
class EstimationResult(_Table):
    """Estimates of one specification, with their covariance and everything checks need.

    Attributes
    ----------
    table
        One row per term: ``estimate, std_error, ci_low, ci_high, p_value``.
    vcov
        Covariance of the estimates, a DataFrame labelled by term.
    method
        Estimator and covariance, in words.
    effect
        The term(s) that are "the effect" (what checks test); the first is the headline.
    spec
        The arguments of the call that produced the result (``outcome`` always among them).
    n_obs, n_clusters, cluster
        Observations used, number of clusters and the clustering variable (``"region"`` or a
        coarser column such as a macro-region); ``cluster`` is ``None`` for unclustered errors.
    fixed_effects
        The effects absorbed by a regression (``("region", "year")``), empty for one without,
        ``None`` where the notion does not apply (group-mean or Bayesian estimators).
    caveats
        What a reader must see (few clusters, dropped rows, excluded cohorts).
    data
        The estimation rows: ``region``, ``year``, the outcome, ``cohort`` (first treated year,
        ``inf`` if never), ``cluster`` when coarser than the region, and covariates.
    scores
        Each cluster's contribution to the effect's estimation error (clusters x effect
        terms): the effect's variance is ``scores' scores`` before small-sample factors.
    refitter
        ``refitter(rows, outcome)`` re-estimates this specification on other rows; use
        :meth:`refit`.
    linear, regression, permuted
        Optional shortcuts for checks: see :class:`LinearDesign`; ``regression()`` builds the
        :class:`RegressionForm` of the effect (the WCR bootstrap); ``permuted(labels)`` gives
        the effect for each row of a (assignments x regions) matrix of cohort labels.
    outcome, alpha, ssc, covariance
        The outcome variable; 1 - the confidence level of the table's intervals; the small-sample convention of clustered
        errors (None if not clustered or not applicable); the covariance asked for (``"cluster"``,
        ``"ols"``, ``"robust"`` ...; None where the estimator has one kind). Tables, plots and checks
        read these fields, never ``spec`` (which records the call for display only).
    outcome_refitter
        Optional shortcut for :meth:`refit_outcomes`: ``outcome_refitter(Y)`` gives the effect's
        estimates and standard errors for every column of an outcome matrix ``Y`` (rows as
        :attr:`data`) in one pass, equal to refitting column by column.
    """

    table: pd.DataFrame
    vcov: pd.DataFrame
    method: str
    effect: tuple[str, ...] = ()
    spec: Mapping[str, object] = field(default_factory=dict)
    n_obs: int = 0
    n_clusters: int | None = None
    cluster: str | None = None
    fixed_effects: tuple[str, ...] | None = None
    caveats: tuple[str, ...] = ()
    data: pd.DataFrame | None = field(default=None, repr=False)
    scores: pd.DataFrame | None = field(default=None, repr=False)
    refitter: Callable[[pd.DataFrame, str], EstimationResult] | None = field(default=None, repr=False)
    linear: LinearDesign | None = field(default=None, repr=False)
    regression: Callable[[], RegressionForm] | None = field(default=None, repr=False)
    permuted: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    outcome_refitter: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = field(default=None, repr=False)
    outcome: str = ""
    alpha: float = 0.05
    ssc: str | None = None
    covariance: str | None = None

    def __post_init__(self) -> None:
        """Flag a degenerate effect (finite estimate, zero or undefined standard error) once, here."""
        if not self.effect:
            return
        try:
            rows = self.effect_table()
        except (KeyError, SpecificationError):
            return
        estimate, error = rows["estimate"].to_numpy(float), rows["std_error"].to_numpy(float)
        # no standard error but a p-value (placebo ranks, permutations) is inference by design, not degenerate
        has_test = np.isfinite(rows["p_value"].to_numpy(float)) & np.isnan(error)
        degenerate = np.isfinite(estimate) & no_sampling_error(estimate, error) & ~has_test
        if degenerate.any():
            note = (f"degenerate: the standard error of {list(rows.index[degenerate])} is zero or undefined "
                    "(an outcome that is constant or fitted exactly by the regressors, or too few clusters), so its p-value and "
                    "interval mean nothing")
            warnings.warn(f"{self.method}: {note}.", DegenerateEstimateWarning, stacklevel=3)
            object.__setattr__(self, "caveats", (*self.caveats, note))

    def noting(self, notes) -> EstimationResult:
        """This result with ``notes`` (what the design layer did to the rows: regions excluded, rows left
        out) before its caveats; the result itself is not changed."""
        notes = tuple(n for n in notes if n not in self.caveats)
        if not notes:
            return self
        out = copy.copy(self)
        object.__setattr__(out, "caveats", (*notes, *self.caveats))
        return out

    # ------------------------------------------------------------- the numbers
    def effect_table(self) -> pd.DataFrame:
        """The rows of the effect term(s): estimate, std_error, ci_low, ci_high, p_value."""
        if not self.effect:
            raise SpecificationError(f"{self!r} names no effect term; checks need one.")
        return self.table.loc[list(self.effect), COLUMNS]

    @property
    def effect_estimate(self) -> float:
        """The headline effect's point estimate."""
        return float(self.effect_table()["estimate"].iloc[0])

    def region_cohorts(self) -> pd.Series:
        """Each region's first treated year in the estimation rows (``inf``: never treated)."""
        rows = self.rows()
        return rows.groupby("region", sort=False)["cohort"].first()

    # ------------------------------------------------------------- re-estimation
    def rows(self) -> pd.DataFrame:
        """The estimation rows; raises a clear error for results that do not carry them."""
        if self.data is None:
            raise SpecificationError(f"{type(self).__name__} ({self.method}) does not carry its estimation rows "
                                     "(region-year data), so it cannot be re-estimated or permuted by this check. Fix: "
                                     "use a region-year DID estimator's result (did_2x2, twfe, event_study, ...)"
                                     + (", or randomization_inference, which permutes its roles"
                                        if self.permuted is not None else "") + ".")
        return self.data

    def refit(self, data: pd.DataFrame | None = None, *, cohorts: Mapping[str, float] | pd.Series | None = None,
              outcome: str | None = None) -> EstimationResult:
        """Re-estimate the same specification on other rows, assignment or outcome.

        Parameters
        ----------
        data
            Rows in the layout of :attr:`data` (default: this result's rows), e.g. a subset.
        cohorts
            Region -> first treated year (NaN or inf: never treated), replacing ``cohort``.
        outcome
            Another column of ``data`` to use as the outcome (placebo outcomes).
        """
        if self.refitter is None:
            raise SpecificationError(f"{type(self).__name__} ({self.method}) cannot be re-estimated; "
                                     "checks that re-fit need a frequentist DID estimator's result.")
        own = self.rows()
        outcome = self.outcome if outcome is None else outcome
        if not isinstance(outcome, str) or not outcome:
            raise SpecificationError(f"refit: outcome={outcome!r} is not a column name. Fix: give the name of a "
                                     "column of the rows (e.g. result.outcome).")
        rows, notes = (own, ()) if data is None and outcome == self.outcome else check_rows(
            own if data is None else data, like=own, outcome=outcome, own_outcome=self.outcome)
        if cohorts is not None:
            rows, recoded = reassign(rows, cohorts)
            notes = (*notes, *recoded)
        return self.refitter(rows, outcome).noting(notes)

    def refit_outcomes(self, outcomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The headline effect re-estimated with each column of ``outcomes`` as the outcome.

        ``outcomes`` is (rows x k) with the rows of :attr:`data` in their order (a vector is one
        column); the regions, years, cohorts and covariates stay as they are. Returns the k
        estimates and k standard errors that ``refit`` would give column by column, in one pass
        where the estimator has a shortcut (``outcome_refitter``: TWFE with clustered errors,
        ATT(g,t) without covariates or bootstrap), else by refitting each column. Simulations
        that redraw only the outcome (power, coverage) use it.
        """
        rows = self.rows()
        values = np.asarray(outcomes, dtype=float)
        values = values[:, None] if values.ndim == 1 else values
        if values.ndim != 2 or values.shape[0] != len(rows):
            raise SpecificationError(f"refit_outcomes: outcomes has shape {np.shape(outcomes)}; it needs one row per "
                                     f"estimation row ({len(rows)}, in the order of result.data) and one column per "
                                     "outcome.")
        bad = np.flatnonzero(~np.isfinite(values).all(axis=0))
        if len(bad):
            raise SpecificationError(f"refit_outcomes: column(s) {bad[:10].tolist()} of outcomes hold NaN or inf. Fix: "
                                     "pass finite outcomes for every estimation row.")
        spread = np.ptp(values, axis=0) <= 1e-12 * np.maximum(1.0, np.abs(values).max(axis=0))
        if spread.any():
            raise SpecificationError(f"refit_outcomes: column(s) {np.flatnonzero(spread)[:10].tolist()} of outcomes are "
                                     "constant, so there is no variation to estimate an effect from.")
        if self.outcome_refitter is not None:
            return self.outcome_refitter(values)
        effects = [self.refit(rows.assign(**{self.outcome: column})).effect_table().iloc[0] for column in values.T]
        return (np.array([e["estimate"] for e in effects], float), np.array([e["std_error"] for e in effects], float))

    # ------------------------------------------------------------- display
    def to_frame(self) -> pd.DataFrame:
        """Tidy table: term, estimate, std_error, ci_low, ci_high, p_value, method."""
        return _tidy(self.table, self.method)

    def summary(self) -> str:
        """Plain-text table with the method, sample, clustering and caveats."""
        sample = f"observations: {self.n_obs}"
        if self.n_clusters is not None:
            sample += f", clusters: {self.n_clusters}" + (f" ({self.cluster})" if self.cluster else "")
        body = self.table.reindex(columns=COLUMNS).to_string(float_format=lambda x: f"{x:.4f}")
        lines = [self.method, sample, "", body]
        if self.effect and not set(self.effect) <= set(map(str, self.table.index)):
            lines += ["", self.effect_table().to_string(float_format=lambda x: f"{x:.4f}")]
        notes = [f"! {c}" for c in self.caveats]
        return "\n".join([*lines, *([""] + notes if notes else [])])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.method}: {len(self.table)} terms, n={self.n_obs}>"

    def to_xarray(self) -> xr.Dataset:
        """Estimates as a Dataset over ``term`` (with ``vcov`` over ``term`` x ``term2``)."""
        terms = [str(t) for t in self.table.index]
        ds = xr.Dataset({c: ("term", self.table[c].to_numpy(float)) for c in COLUMNS}, coords={"term": terms})
        ds["vcov"] = (("term", "term2"), self.vcov.reindex(index=self.table.index, columns=self.table.index)
                      .to_numpy(float))
        ds = ds.assign_coords(term2=terms)
        ds.attrs.update(method=self.method, effect=", ".join(self.effect))
        return ds

    def plot(self, ax=None):
        """Coefficient plot (estimate and confidence interval by term); returns the Axes."""
        ax = _interval_plot(self.table, ax)
        alpha = self.alpha
        ax.set_xlabel(f"estimate ({1 - alpha:.0%} CI)")
        ax.set_title(self.method, fontsize="small")
        return ax


@dataclass(frozen=True, eq=False)
class EventStudyResult(EstimationResult):
    """Dynamic effects by event time, with their full covariance matrix.

    ``reference`` is the event time the estimates are relative to (marked on plots).
    ``base_period`` is ``"universal"`` (every estimate relative to ``reference``) or ``"varying"``
    (R did's default for CS: pre-period estimates compare consecutive years).
    ``overall`` is the post-period summary effect (estimate, std_error, ci_low, ci_high,
    p_value) and ``overall_estimand`` says in words what it averages; checks test it
    (``effect = ("overall",)``).
    """

    reference: int | None = -1
    base_period: str = "universal"
    overall: pd.Series = field(default_factory=lambda: pd.Series(np.nan, index=COLUMNS))
    overall_estimand: str = "mean of the post-period event-time effects"

    @property
    def event_times(self) -> list[int]:
        return [int(e) for e in self.table.index]

    def effect_table(self) -> pd.DataFrame:
        return pd.DataFrame([self.overall.reindex(COLUMNS).to_numpy(float)], columns=COLUMNS,
                            index=pd.Index(["overall"], name="term"))

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per event time (term ``e=<k>``), then the ``overall`` effect."""
        table = self.table.set_axis([f"e={e}" for e in self.event_times])
        return _tidy(pd.concat([table[COLUMNS], self.effect_table()]), self.method)

    def summary(self) -> str:
        """The event-time table, then the overall effect with what it averages."""
        return super().summary().replace("\n\n" + self.effect_table().to_string(float_format=lambda x: f"{x:.4f}"),
                                         "", 1) + self._overall_line()

    def _overall_line(self) -> str:
        row = self.overall
        return (f"\n\noverall ({self.overall_estimand}): {row['estimate']:.4f} "
                f"(se {row['std_error']:.4f}) [{row['ci_low']:.4f}, {row['ci_high']:.4f}]")

    def to_xarray(self) -> xr.Dataset:
        ds = xr.Dataset({c: ("event_time", self.table[c].to_numpy(float)) for c in COLUMNS},
                        coords={"event_time": self.event_times})
        ds["vcov"] = (("event_time", "event_time2"), self.vcov.to_numpy(float))
        ds = ds.assign_coords(event_time2=self.event_times)
        ds.attrs.update(method=self.method, reference=self.reference if self.reference is not None else "none",
                        overall=float(self.overall["estimate"]), overall_estimand=self.overall_estimand)
        return ds

    def plot(self, ax=None):
        """Event-study plot: zero line, reference period marked, band shaded, overall effect in the legend."""
        ax = axes_for(ax, (7, 3.5))
        e = np.array(self.event_times)
        table = self.table
        ax.axhline(0, color="0.5", lw=0.8)
        if self.reference is not None:
            ax.axvline(self.reference, color="0.3", ls=":", lw=0.8, label=f"reference (e = {self.reference})")
        ax.fill_between(e, table["ci_low"], table["ci_high"], color="C0", alpha=0.2, lw=0)
        ax.plot(e, table["estimate"], "o-", color="C0")
        if np.isfinite(self.overall["estimate"]):
            post = e[e >= 0]
            if len(post):
                ax.hlines(self.overall["estimate"], post.min(), post.max(), color="C3", ls="--", lw=1,
                          label=f"overall {self.overall['estimate']:.3g}: {self.overall_estimand}")
        ax.set_xlabel("years since adoption (event time)")
        ax.set_ylabel("effect")
        ax.set_title(self.method, fontsize="small")
        ax.legend(loc="best", fontsize="x-small")
        return ax


@dataclass(frozen=True, eq=False)
class CheckResult(_Table):
    """What every check returns: a tidy ``table``, the checked result, the method and caveats.

    Subclasses add their own numbers (a randomization distribution, robust intervals ...);
    ``summary()``, ``to_frame()`` and ``plot(ax=None)`` (returning the Axes) are always there.
    """

    table: pd.DataFrame
    method: str
    caveats: tuple[str, ...] = ()
    result: EstimationResult | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        return _tidy(self.table, self.method)

    def summary(self) -> str:
        body = self.table.reindex(columns=COLUMNS).to_string(float_format=lambda x: f"{x:.4f}")
        notes = [f"! {c}" for c in self.caveats]
        return "\n".join([self.method, "", body, *([""] + notes if notes else [])])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.method}: {len(self.table)} rows>"

    def plot(self, ax=None):
        """Estimates with intervals by row, the checked result's effect marked; returns the Axes."""
        ax = _interval_plot(self.table, ax)
        if self.result is not None and self.result.effect:
            ax.axvline(self.result.effect_estimate, color="C3", ls="--", lw=1, label="full-sample estimate")
            ax.legend(fontsize="small")
        ax.set_title(self.method, fontsize="small")
        return ax
