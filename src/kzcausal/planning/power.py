"""Design power for the user's own region x year layout: simulated power and minimum detectable effects.

With 17 regions and six treated, the first question is not "what is the estimate" but "what
could this design have detected at all". ``power_analysis`` answers it for the panel's actual
regions, years and adoption dates: it simulates untreated outcomes with the panel's own error
process (region and year effects plus AR(1) noise within region, estimated from the pre-period
or given), adds a known effect to the treated region-years, re-runs each estimator with each
inference method, and reports how often the effect is detected and the smallest effect detected
with the target power.

Every estimator is any callable ``f(panel, outcome) -> EstimationResult`` (the panel carries
``first_treated`` and ``treated`` columns); after the first simulated panel the result re-fits
itself (``result.refit``) on new outcomes, so no panel is re-read. When an estimator is
shift-equivariant (adding ``tau`` to every treated post-period outcome moves its estimate by
``tau`` and leaves its standard error unchanged, as for TWFE, Callaway-Sant'Anna, imputation and
synthetic estimators; verified on the first panel, not assumed), analytic power at any effect
comes from one fit per panel, and the minimum detectable effect is found exactly. Where the
estimator also re-estimates many outcomes at once (``result.refit_outcomes`` with a shortcut:
TWFE with clustered errors, Callaway-Sant'Anna without covariates or bootstrap), all panels are
fitted in one pass (about 0.1 ms a panel instead of 4-9 ms), with the same numbers.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from ..design import Assignment, estimation_rows, positional_deprecated, renamed, resolve_assignment
from ..errors import KzCausalError, SpecificationError, check_alpha, check_count, check_flag, check_seed
from ..panel import RegionPanel, read_panel
from ..parallel import map_tasks
from ..results import CheckResult, EstimationResult, axes_for
from ..text import literal_plot

__all__ = ["power_analysis", "PowerResult", "ErrorProcess", "estimate_error_process"]

INFERENCE = ("analytic", "wild_bootstrap", "randomization")
#: Resource caps: simulated panels, draws per panel, and draws in all (bootstrap / permutation inference).
MAX_SIMS = 100_000
MAX_DRAWS = 100_000
MAX_SIMS_X_DRAWS = 10**7


@dataclass(frozen=True)
class ErrorProcess:
    """Untreated outcome ``y_it = a_i + l_t + u_it``, ``u_it = rho u_i,t-1 + e_it``, ``e ~ N(0, sigma^2)``.

    ``a_i ~ N(0, region_sd^2)`` and ``l_t ~ N(0, year_sd^2)`` are drawn afresh for every simulated
    panel (they matter for synthetic-control-type estimators, not for fixed-effects ones).
    """

    rho: float
    sigma: float
    region_sd: float = 0.0
    year_sd: float = 0.0
    source: str = "given"

    def simulate(self, regions: int, years: int, rng: np.random.Generator) -> np.ndarray:
        """One regions x years draw of ``a_i + l_t + u_it`` (u stationary from the first year)."""
        u = np.empty((regions, years))
        u[:, 0] = rng.normal(0.0, self.sigma / np.sqrt(max(1e-12, 1 - self.rho**2)), regions)
        shocks = rng.normal(0.0, self.sigma, (regions, years))
        for t in range(1, years):
            u[:, t] = self.rho * u[:, t - 1] + shocks[:, t]
        return rng.normal(0, self.region_sd, regions)[:, None] + rng.normal(0, self.year_sd, years)[None, :] + u


def estimate_error_process(panel: RegionPanel, outcome: str, before: int) -> ErrorProcess:
    """Estimate :class:`ErrorProcess` from the years before ``before`` (every region, untreated then).

    Two-way fixed effects on the pre-period give the region and year effects (their standard
    deviations) and residuals; ``rho`` is the pooled first-order autocorrelation of the residuals
    within region and ``sigma`` the standard deviation of the implied innovations. With few
    pre-period years the demeaned residuals are biased toward ``-1/(T-1)`` (a caveat says so);
    pass ``error=ErrorProcess(...)`` to set the process yourself.
    """
    frame = panel.to_frame()
    pre = frame[(frame["year"] < before) & frame[outcome].notna()]
    n_years = pre["year"].nunique()
    if n_years < 3:
        raise SpecificationError(f"the error process needs at least 3 pre-period years before {before}; the panel "
                                 f"has {n_years}. Fix: pass error=kz.diagnostics.ErrorProcess(rho=..., sigma=...).")
    y = pre.pivot(index="region", columns="year", values=outcome)
    if y.isna().any().any():
        y = y.dropna()
    grand = y.to_numpy().mean()
    region = y.mean(axis=1) - grand
    year = y.mean(axis=0) - grand
    resid = y.to_numpy() - grand - region.to_numpy()[:, None] - year.to_numpy()[None, :]
    lagged, current = resid[:, :-1].ravel(), resid[:, 1:].ravel()
    rho = float(np.clip(lagged @ current / (lagged @ lagged), -0.95, 0.95))
    innovations = current - rho * lagged
    dof = max(1, innovations.size - y.shape[0] - y.shape[1])
    sigma = float(np.sqrt(innovations @ innovations / dof))
    return ErrorProcess(rho=rho, sigma=sigma, region_sd=float(region.std(ddof=1)), year_sd=float(year.std(ddof=1)),
                        source=f"estimated from {len(y)} regions x {n_years} pre-period years of {outcome!r}")


@dataclass(frozen=True, eq=False)
class PowerResult(CheckResult):
    """Simulated power by estimator, inference method and effect, and the minimum detectable effects.

    ``power``: one row per estimator x inference x effect with ``power`` and its Monte Carlo
    standard error; ``mde``: the smallest effect detected with ``target`` power (two-sided test
    at ``alpha``), ``inf`` when no effect in range reaches it.
    """

    power: pd.DataFrame = field(default=None, repr=False)
    mde: pd.DataFrame = field(default=None, repr=False)
    error: ErrorProcess | None = None
    target: float = 0.8
    alpha: float = 0.05
    n_sims: int = 0

    def summary(self) -> str:
        wide = self.power.pivot_table(index="effect", columns=["estimator", "inference"], values="power")
        lines = [self.method, f"{self.n_sims} simulated panels; error process: rho {self.error.rho:.3f}, sigma "
                 f"{self.error.sigma:.4g}, region sd {self.error.region_sd:.4g}, year sd {self.error.year_sd:.4g} "
                 f"({self.error.source})", "", "power (share of panels where the effect is detected):",
                 wide.to_string(float_format=lambda x: f"{x:.3f}"), "",
                 f"minimum detectable effect at {self.target:.0%} power, two-sided {self.alpha:.0%} test:"]
        for _, row in self.mde.iterrows():
            value = "not reached in the effects tried" if not np.isfinite(row["mde"]) else f"{row['mde']:.4g}"
            lines.append(f"  {row['estimator']} / {row['inference']}: {value}")
        return "\n".join([*lines, *(f"! {c}" for c in self.caveats)])

    @literal_plot
    def plot(self, ax=None):
        """Power curves (power against effect) with the target power marked; returns the Axes."""
        ax = axes_for(ax, (7, 4))
        for (name, inference), group in self.power.groupby(["estimator", "inference"], sort=False):
            group = group.sort_values("effect")
            ax.plot(group["effect"], group["power"], "o-", ms=3, label=f"{name} / {inference}")
            ax.fill_between(group["effect"], (group["power"] - 2 * group["mc_se"]).clip(0, 1),
                            (group["power"] + 2 * group["mc_se"]).clip(0, 1), alpha=0.15, lw=0)
        ax.axhline(self.target, color="0.4", ls="--", lw=0.8, label=f"{self.target:.0%} power")
        ax.axhline(self.alpha, color="0.6", ls=":", lw=0.8, label=f"size {self.alpha:.0%}")
        ax.set_xlabel("true effect")
        ax.set_ylabel("power")
        ax.set_ylim(0, 1.02)
        ax.set_title(self.method, fontsize="small")
        ax.legend(fontsize="x-small")
        return ax


def _default_estimators() -> dict[str, Callable[[RegionPanel, str], EstimationResult]]:
    from ..did import staggered_did, twfe  # planning sits above the estimators

    return {"TWFE": lambda panel, outcome: twfe(panel, outcome, treatment="treated"),
            "Callaway-Sant'Anna": lambda panel, outcome: staggered_did(panel, outcome, first_treated="first_treated")}


@renamed(n_draws="draws")
@positional_deprecated("first_treated")
def power_analysis(
    panel: RegionPanel,
    outcome: str,
    *,
    first_treated: str | Mapping[str, float] | None = None,
    treated: str | Sequence[str] | None = None,
    post_from: int | None = None,
    treatment: str | None = None,
    estimators: Mapping[str, Callable[[RegionPanel, str], EstimationResult]] | None = None,
    inference: Sequence[str] = ("analytic",),
    effects: Sequence[float] | None = None,
    n_sims: int = 500,
    error: ErrorProcess | None = None,
    target: float = 0.8,
    alpha: float = 0.05,
    draws: int = 199,
    random_seed: int | None = None,
    progress: bool = True,
) -> PowerResult:
    """Simulated power and minimum detectable effect of each estimator x inference pair on this layout.

    Parameters
    ----------
    panel, outcome
        The real panel: its regions, years and (unless ``error`` is given) its outcome's
        pre-period behaviour are used; its outcome values are not.
    first_treated, treated + post_from, treatment
        The design's assignment, exactly one spelling (see :mod:`kzcausal.design.assignment`).
    estimators
        ``{name: f(panel, outcome) -> EstimationResult}``; the simulated panels carry the columns
        ``first_treated`` and ``treated`` (``1[year >= first_treated]``). Default: TWFE and
        Callaway-Sant'Anna.
    inference
        Any of ``"analytic"`` (the result's own p-value), ``"wild_bootstrap"`` (WCR,
        ``draws`` draws) and ``"randomization"`` (``draws`` sampled reassignments; ``n_draws=`` is the
        deprecated name).
    effects
        Effects to tabulate (in outcome units); default: 0 to 4 error standard deviations.
    n_sims
        Simulated panels (the Monte Carlo standard error of a power p is sqrt(p (1 - p) / n_sims)).
    error
        The untreated error process; default: estimated from the pre-period
        (:func:`estimate_error_process`).
    target, alpha
        Power that defines the minimum detectable effect, and the test level.
    random_seed
        Seeds one ``numpy.random.SeedSequence``; panel ``s`` uses its ``s``-th spawned child, so
        results do not depend on how the work is split: serially or on any number of Dask workers
        (``kz.config(backend="dask")``), the numbers are identical.

    Returns
    -------
    PowerResult
        ``power``, ``mde``, ``summary()`` and ``plot()`` (power curves).

    References
    ----------
    Burlig, Preonas & Woerman (2020), Panel data and experimental design, JDE 144; Roth (2022)
    on what a pre-test can detect.
    """
    if not isinstance(panel, RegionPanel):
        raise SpecificationError(f"panel is a {type(panel).__name__}, not a RegionPanel. Fix: build one with "
                                 "kz.read_panel.")
    if isinstance(inference, str) or not isinstance(inference, Iterable):
        raise SpecificationError(f"inference={inference!r}; use a list of {list(INFERENCE)}, e.g. "
                                 "inference=['analytic'].")
    inference = list(inference)
    unknown = [i for i in inference if i not in INFERENCE]
    if unknown or not inference:
        raise SpecificationError(f"inference={inference!r}; use a list of {list(INFERENCE)}.")
    n_sims = check_count(n_sims, "n_sims", minimum=10, cap=MAX_SIMS, unit_cost="one simulated panel re-estimated by "
                         "every estimator at every effect size", fix="500 for a study")
    n_draws = check_count(draws, "draws", minimum=19, cap=MAX_DRAWS, unit_cost="one bootstrap or permutation draw per "
                "simulated panel", fix="199 (the default) or 999")
    if set(inference) - {"analytic"} and n_sims * n_draws > MAX_SIMS_X_DRAWS:
        raise SpecificationError(f"n_sims x draws = {n_sims:,} x {n_draws:,} = {n_sims * n_draws:,} draws of "
                                 f"{'/'.join(sorted(set(inference) - {'analytic'}))} inference exceeds the cap "
                                 f"{MAX_SIMS_X_DRAWS:,} (hours of work). Fix: lower n_sims or draws so that their "
                                 f"product is at most {MAX_SIMS_X_DRAWS:,}.")
    check_alpha(target, "target")
    check_alpha(alpha)
    check_seed(random_seed)
    check_flag(progress, "progress")
    if effects is not None:
        if isinstance(effects, (str, bytes)) or not isinstance(effects, Iterable):
            raise SpecificationError(f"effects={effects!r}; give a list of effect sizes, e.g. effects=[0, 0.5, 1].")
        effects = list(effects)
        wrong = [e for e in effects if isinstance(e, bool) or not isinstance(e, numbers.Real) or not np.isfinite(e)]
        if wrong or not effects:
            raise SpecificationError(f"effects={effects!r}: {wrong or 'empty'}; each must be a finite number. Fix: "
                                     "pass e.g. effects=[0, 0.5, 1] (or None for a grid from the noise).")
    if estimators is not None:
        if not isinstance(estimators, Mapping):
            raise SpecificationError(f"estimators is a {type(estimators).__name__}; give a mapping name -> "
                                     "function(panel, outcome), e.g. estimators={'twfe': lambda p, y: kz.twfe(p, y, "
                                     "treatment='treated')}.")
        wrong = [name for name, f in estimators.items() if not callable(f)]
        if wrong:
            raise SpecificationError(f"estimators {wrong} are not functions; give a mapping name -> "
                                     "function(panel, outcome) returning a result.")
    panel.require(outcome)
    assignment = resolve_assignment(panel, first_treated=first_treated, treated=treated, post_from=post_from,
                                    treatment=treatment, estimator="power_analysis")
    layout, notes = _layout(panel, outcome, assignment)
    first_adoption = int(np.nanmin(layout["cohort"].replace(np.inf, np.nan)))
    error = error or estimate_error_process(panel, outcome, first_adoption)
    caveats = list(notes)
    if error.source != "given":
        n_pre = first_adoption - min(panel.years)
        caveats.append(f"error process {error.source}; with {n_pre} pre-period years the residual autocorrelation "
                       f"is biased toward {-1 / max(1, n_pre - 1):.2f} (two-way demeaning): pass error= to vary rho")
    estimators = dict(estimators or _default_estimators())
    if not estimators:
        raise SpecificationError("estimators is empty; give at least one {name: f(panel, outcome)}.")
    grid = np.asarray(effects if effects is not None else np.linspace(0, 4 * error.sigma, 9), dtype=float)
    regions = layout["region"].unique()
    years = np.sort(layout["year"].unique())
    entropy = np.random.SeedSequence(random_seed).entropy  # the same simulated panels for every estimator
    treated_post = (layout["year"].to_numpy() >= layout["cohort"].to_numpy()).astype(float)
    draw = partial(_draw, error=error, shape=(len(regions), len(years)),
                   cells=(pd.Index(regions).get_indexer(layout["region"]), pd.Index(years).get_indexer(layout["year"])))
    first = np.random.SeedSequence(entropy).spawn(1)[0]

    records: list[dict] = []
    mdes: list[dict] = []
    for name, estimator in estimators.items():
        try:
            base = _first_fit(estimator, layout, draw(first), panel)
        except KzCausalError as exc:
            raise SpecificationError(f"estimator {name!r} fails on the simulated layout: {exc}") from None
        rows = base.rows()
        order = _align(rows, layout)
        shift = _shift_equivariant(base, rows, order, draw(first), treated_post, grid.max() or error.sigma)
        if shift and set(inference) == {"analytic"} and base.outcome_refitter is not None:
            # only the effect-0 estimate and error of each panel are needed: all panels in one pass
            children = np.random.SeedSequence(entropy).spawn(n_sims)
            estimates, errors = base.refit_outcomes(np.column_stack([draw(child)[order] for child in children]))
            effect = base.effect_table().iloc[0]
            criticals = np.full(n_sims, (effect["ci_high"] - effect["estimate"]) / effect["std_error"])
            stats = {}
        else:
            one_panel = partial(_one_panel, base=base, rows=rows, order=order, draw=draw, treated_post=treated_post,
                                grid=grid, inference=tuple(inference), shift=shift, n_draws=n_draws)
            out = map_tasks(one_panel, range(n_sims), seed=np.random.SeedSequence(entropy), progress=progress,
                            desc=f"power analysis: {name}")
            stats = {inf: np.array([o["stats"][inf] for o in out]) for inf in inference}
            estimates, errors, criticals = (np.array([o[key] for o in out]) for key in ("estimate", "se", "critical"))
        for inf in inference:
            if inf == "analytic" and shift:
                # exact for every effect: estimate(tau) = estimate(0) + tau, same standard error
                def power_at(tau, e=estimates, se=errors, c=criticals):
                    return float(np.mean(np.abs(e + tau) / se > c))

                values = np.array([power_at(t) for t in grid])
                mde = _solve_mde(power_at, target, hi=max(grid.max(), error.sigma) * 16)
            else:
                values = np.nanmean(stats[inf] < alpha, axis=0)
                mde = _interpolate_mde(grid, values, target)
            for tau, p in zip(grid, values):
                records.append({"estimator": name, "inference": inf, "effect": float(tau), "power": float(p),
                                "mc_se": float(np.sqrt(max(p * (1 - p), 1e-12) / n_sims))})
            mdes.append({"estimator": name, "inference": inf, "mde": mde,
                         "method": "exact (shift-equivariant)" if inf == "analytic" and shift else "interpolated"})
        if not shift and "analytic" in inference:
            caveats.append(f"{name}: not shift-equivariant on this layout, so every effect was re-fitted and the "
                           "minimum detectable effect is interpolated between the effects tried")
    power = pd.DataFrame(records)
    mde = pd.DataFrame(mdes)
    table = power.assign(term=lambda f: f["estimator"] + " / " + f["inference"] + " / effect=" +
                         f["effect"].map(lambda x: f"{x:.4g}")).set_index("term")
    table = table.rename(columns={"power": "estimate", "mc_se": "std_error"})[["estimate", "std_error"]]
    table["ci_low"] = (table["estimate"] - 1.96 * table["std_error"]).clip(0, 1)
    table["ci_high"] = (table["estimate"] + 1.96 * table["std_error"]).clip(0, 1)
    table["p_value"] = np.nan
    n_treated = int(np.isfinite(layout.groupby("region")["cohort"].first()).sum())
    method = (f"simulated power, {len(regions)} regions ({n_treated} treated) x {len(years)} years, "
              f"{n_sims} panels")
    return PowerResult(table=table, method=method, caveats=tuple(caveats), power=power, mde=mde, error=error,
                       target=target, alpha=alpha, n_sims=n_sims)


def _draw(seed: np.random.SeedSequence, *, error: ErrorProcess, shape: tuple[int, int], cells) -> np.ndarray:
    """One simulated untreated outcome per layout row, from the panel's own seed."""
    return error.simulate(*shape, np.random.default_rng(seed))[cells]


def _one_panel(s: int, seed: np.random.SeedSequence, *, base: EstimationResult, rows: pd.DataFrame,
               order: np.ndarray, draw, treated_post: np.ndarray, grid: np.ndarray, inference: tuple[str, ...],
               shift: bool, n_draws: int) -> dict:
    """Panel ``s``: its p-value under each inference at each effect, and (effect 0) estimate, SE and critical t."""
    from ..diagnostics import randomization_inference, wild_cluster_bootstrap

    y0 = draw(seed)
    stats = {inf: np.full(len(grid), np.nan) for inf in inference}
    out = {"stats": stats, "estimate": np.nan, "se": np.nan, "critical": np.nan}
    child = int(seed.generate_state(1)[0])
    for j, tau in enumerate(grid):
        if shift and j > 0 and set(inference) == {"analytic"}:
            break
        result = _refit(base, rows, order, y0 + tau * treated_post)
        row = result.effect_table().iloc[0]
        if "analytic" in inference:
            stats["analytic"][j] = row["p_value"]
            if j == 0:
                out.update(estimate=row["estimate"], se=row["std_error"],
                           critical=(row["ci_high"] - row["estimate"]) / row["std_error"])
        if "wild_bootstrap" in inference:
            stats["wild_bootstrap"][j] = wild_cluster_bootstrap(result, draws=n_draws, random_seed=child).p_value
        if "randomization" in inference:
            stats["randomization"][j] = randomization_inference(
                result, draws=n_draws, random_seed=child, progress=False).p_value
    return out


def _layout(panel: RegionPanel, outcome: str, assignment: Assignment) -> tuple[pd.DataFrame, tuple[str, ...]]:
    rows, notes = estimation_rows(panel, outcome, assignment)
    if not np.isfinite(rows["cohort"]).any():
        raise SpecificationError("no region is ever treated in this design; power needs treated regions.")
    if np.isfinite(rows["cohort"]).all():
        raise SpecificationError("every region is treated; the simulated designs need never-treated regions.")
    return rows[["region", "year", "cohort"]].reset_index(drop=True), notes


def _first_fit(estimator, layout: pd.DataFrame, y: np.ndarray, panel: RegionPanel) -> EstimationResult:
    frame = pd.DataFrame({"region": layout["region"], "year": layout["year"], "outcome": y,
                          "first_treated": layout["cohort"].replace(np.inf, np.nan),
                          "treated": (layout["year"] >= layout["cohort"]).astype(float)})
    simulated = read_panel(frame, regions=None, sources=("SIMULATED outcomes on the layout of the user's panel",))
    result = estimator(simulated, "outcome")
    if not isinstance(result, EstimationResult):
        raise SpecificationError(f"an estimator returned {type(result).__name__}, not an EstimationResult.")
    result.rows()  # a clear error if it cannot be re-fitted
    return result


def _align(rows: pd.DataFrame, layout: pd.DataFrame) -> np.ndarray:
    """Position in ``layout`` of each estimation row (estimators may drop or reorder rows)."""
    key = pd.MultiIndex.from_frame(layout[["region", "year"]])
    return key.get_indexer(pd.MultiIndex.from_frame(rows[["region", "year"]]))


def _refit(base: EstimationResult, rows: pd.DataFrame, order: np.ndarray, y: np.ndarray) -> EstimationResult:
    return base.refit(rows.assign(**{base.outcome: y[order]}))


def _shift_equivariant(base, rows, order, y0, treated_post, tau) -> bool:
    """Does adding ``tau`` to the treated post-period outcomes move the estimate by ``tau`` and keep its SE?"""
    try:
        a = _refit(base, rows, order, y0).effect_table().iloc[0]
        b = _refit(base, rows, order, y0 + tau * treated_post).effect_table().iloc[0]
    except KzCausalError:
        return False
    scale = max(1.0, abs(tau))
    return bool(abs(b["estimate"] - a["estimate"] - tau) < 1e-8 * scale
                and abs(b["std_error"] - a["std_error"]) <= 1e-8 * max(1e-12, abs(a["std_error"])))


def _solve_mde(power_at: Callable[[float], float], target: float, hi: float) -> float:
    """Smallest effect > 0 with power >= target (bisection on the empirical power curve)."""
    if power_at(hi) < target:
        return float("inf")
    lo = 0.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if power_at(mid) >= target else (mid, hi)
    return hi


def _interpolate_mde(grid: np.ndarray, values: np.ndarray, target: float) -> float:
    order = np.argsort(grid)
    grid, values = grid[order], values[order]
    above = np.flatnonzero((values >= target) & (grid > 0))
    if not len(above):
        return float("inf")
    k = above[0]
    if k == 0 or values[k - 1] >= target:
        return float(grid[k])
    g0, g1, v0, v1 = grid[k - 1], grid[k], values[k - 1], values[k]
    return float(g0 + (target - v0) * (g1 - g0) / (v1 - v0))
