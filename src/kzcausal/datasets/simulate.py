"""Simulated region x year panels with known truth (for tests, tutorials, coverage studies).

Every panel made here is labelled simulated: ``panel.simulated`` is True, its sources
say so and its summary starts with "SIMULATED DATA".
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import SpecificationError, check_count, check_seed
from ..panel import RegionPanel, read_panel

__all__ = ["simulate_panel", "SimulationTruth"]


@dataclass(frozen=True, eq=False)
class SimulationTruth:
    """What :func:`simulate_panel` put into the data.

    Attributes
    ----------
    first_treated
        Region -> first treated year (NaN: never treated).
    effects
        Tidy table ``region, year, effect, violation``: the true treatment effect of
        every region-year (0 when untreated) and the parallel-trends violation added
        to the outcome (0 without one).
    att_gt
        Callaway-Sant'Anna targets: ``cohort, year, att`` (mean true effect of the
        cohort in that year, every year, zero before adoption unless anticipated).
    event_study
        Event time -> true average effect across treated regions observed at that
        event time (regions weighted equally, i.e. cohorts by their size).
    elasticity
        Region -> true GRP elasticity with respect to the attractiveness index.
    mu_elasticity, tau_elasticity
        Mean and standard deviation of the distribution the elasticities were drawn from.
    params
        Every argument of the call, for the record.
    """

    first_treated: pd.Series
    effects: pd.DataFrame
    att_gt: pd.DataFrame
    event_study: pd.Series
    elasticity: pd.Series
    mu_elasticity: float
    tau_elasticity: float
    params: Mapping[str, object] = field(default_factory=dict)


def simulate_panel(
    n_regions: int = 17,
    years: Sequence[int] = range(2009, 2024),
    cohorts: Mapping[int, int] | None = None,
    *,
    effect: float = 1.0,
    dynamic: float = 0.0,
    heterogeneity: float = 0.0,
    cohort_effects: Mapping[int, float] | None = None,
    anticipation: int = 0,
    pretrend: Literal["linear", "bump"] | None = None,
    pretrend_size: float = 0.0,
    noise: float = 1.0,
    serial_correlation: float = 0.0,
    elasticity: float = 0.3,
    elasticity_sd: float = 0.0,
    random_seed: int | None = None,
) -> tuple[RegionPanel, SimulationTruth]:
    """Simulate a staggered-adoption region panel with known effects and elasticities.

    The DID outcome is ``outcome = a_r + g_t + effect_rt + violation_rt + e_rt`` with
    region and year effects and ``e`` a stationary AR(1) within each region with
    standard deviation ``noise`` and autocorrelation ``serial_correlation``. Adoption is absorbing:
    ``treated = 1`` from ``first_treated`` on. Counts follow a stylised demography:
    population grows, departures are 10-25 per 1,000, arrivals are departures times
    an attractiveness index that wanders around a region level, and
    ``log grp = c_r + elasticity_r * log(attractiveness_index) + trend_r * t + u``,
    with the index recomputed from the rounded counts so the elasticity is exact.

    Parameters
    ----------
    n_regions, years
        Panel shape; regions are named ``"Region 01"`` ... (any-unit names).
    cohorts
        First treated year -> number of regions; the rest are never treated.
        Default ``{2014: 6}`` (Serpin-2050: six receiving regions from 2014).
    effect, dynamic
        Effect on impact and its change per year since adoption:
        ``effect_g + dynamic * (t - g)`` for ``t >= g``.
    heterogeneity
        Spread of effects across cohorts: ``effect_g = effect * (1 + heterogeneity * s_g)``
        with ``s_g`` from +1 (earliest cohort) to -1 (latest). Ignored for a cohort
        listed in ``cohort_effects``.
    anticipation
        Years before adoption in which the impact effect already applies.
    pretrend, pretrend_size
        Parallel-trends violation for ever-treated regions: ``"linear"`` adds
        ``pretrend_size * (t - first year)`` in every year; ``"bump"`` adds
        ``pretrend_size`` in the three years before adoption only.
    noise, serial_correlation
        Standard deviation and AR(1) coefficient of the outcome's error (serially
        correlated errors are what make plain OLS errors over-reject in DID).
    elasticity, elasticity_sd
        Region GRP elasticities are drawn from ``N(elasticity, elasticity_sd^2)``.
    random_seed
        Same seed, same panel.

    Returns
    -------
    (RegionPanel, SimulationTruth)
    """
    n_regions = check_count(n_regions, "n_regions", minimum=2, cap=1_000_000, unit_cost="one simulated region",
                            fix="e.g. n_regions=17")
    if isinstance(years, (str, bytes, numbers.Number)) or not isinstance(years, Iterable):
        raise SpecificationError(f"years={years!r} is not a sequence of years. Fix: pass e.g. years=range(2009, 2024).")
    years = list(years)
    if len(years) > 1_000 or n_regions * len(years) > 10_000_000:
        raise SpecificationError(f"{n_regions:,} regions x {len(years):,} years = {n_regions * len(years):,} region-years "
                                 "is more than the simulator's cap of 10,000,000 (and 1,000 years). Fix: fewer regions "
                                 "or years.")
    if not all(isinstance(y, numbers.Integral) and not isinstance(y, bool) for y in years):
        raise SpecificationError(f"years={years[:5]}...: every year must be a whole number. Fix: pass e.g. "
                                 "years=range(2009, 2024).")
    years = np.asarray(years, dtype=np.int64)
    if cohorts is not None and not isinstance(cohorts, Mapping):
        raise SpecificationError(f"cohorts={cohorts!r} is not a mapping. Fix: map first treated years to numbers of "
                                 "regions, e.g. cohorts={2014: 6}.")
    cohorts = dict(cohorts) if cohorts is not None else {2014: 6}
    wrong = [f"{g!r}: {n!r}" for g, n in cohorts.items()
             if isinstance(g, bool) or not isinstance(g, numbers.Integral) or isinstance(n, bool)
             or not isinstance(n, numbers.Integral)]
    if wrong:
        raise SpecificationError(f"cohorts: {wrong[:5]} are not whole years mapped to whole numbers of regions. Fix: "
                                 "e.g. cohorts={2014: 6}.")
    for name, value in dict(effect=effect, dynamic=dynamic, heterogeneity=heterogeneity, noise=noise,
                            pretrend_size=pretrend_size, elasticity=elasticity, elasticity_sd=elasticity_sd,
                            serial_correlation=serial_correlation).items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
            raise SpecificationError(f"{name}={value!r}; it must be a finite number. Fix: pass e.g. {name}=0.5.")
    for name, value in dict(noise=noise, elasticity_sd=elasticity_sd).items():
        if value < 0:
            raise SpecificationError(f"{name}={value!r} is a standard deviation; it cannot be negative. Fix: pass "
                                     f"{name}>=0.")
    anticipation = check_count(anticipation, "anticipation", minimum=0, fix="0 for no anticipation")
    check_seed(random_seed)
    for g, value in (cohort_effects or {}).items():
        if g not in cohorts:
            raise SpecificationError(f"cohort_effects names {g!r}, which is not a cohort ({sorted(cohorts)}). Fix: use "
                                     "the cohorts' first treated years as keys.")
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
            raise SpecificationError(f"cohort_effects[{g!r}]={value!r}; it must be a finite number. Fix: e.g. 1.0.")
    _check_design(n_regions, years, cohorts, anticipation, pretrend, serial_correlation)
    rng = np.random.default_rng(random_seed)
    regions = np.array([f"Region {i:0{len(str(n_regions))}d}" for i in range(1, n_regions + 1)])
    n_years = len(years)

    # --- design
    first_treated = np.full(n_regions, np.nan)
    order = rng.permutation(n_regions)
    start = 0
    for cohort, size in sorted(cohorts.items()):
        first_treated[order[start:start + size]] = cohort
        start += size
    ranks = {g: s for g, s in zip(sorted(cohorts), np.linspace(1, -1, len(cohorts)) if len(cohorts) > 1 else [0.0])}
    effect_of = {g: (cohort_effects or {}).get(g, effect * (1 + heterogeneity * ranks[g])) for g in cohorts}

    g = first_treated[:, None]
    t = years[None, :]
    ever = ~np.isnan(g)
    active = ever & (t >= g - anticipation)
    base = np.vectorize(lambda c: effect_of.get(c, 0.0) if not np.isnan(c) else 0.0)(first_treated)[:, None]
    true_effect = np.where(active, base + dynamic * np.maximum(t - g, 0), 0.0)
    violation = np.zeros((n_regions, n_years))
    if pretrend == "linear":
        violation = np.where(ever, pretrend_size * (t - years[0]), 0.0)
    elif pretrend == "bump":
        violation = np.where(ever & (t >= g - 3) & (t < g), pretrend_size, 0.0)
    region_effect = rng.normal(0.0, 1.0, n_regions)[:, None]
    year_effect = (0.1 * (years - years[0]) + rng.normal(0.0, 0.5, n_years))[None, :]
    shocks = rng.normal(0.0, noise, (n_regions, n_years))
    errors = shocks.copy()
    for j in range(1, n_years):
        errors[:, j] = serial_correlation * errors[:, j - 1] + np.sqrt(1 - serial_correlation**2) * shocks[:, j]
    outcome = region_effect + year_effect + true_effect + violation + errors
    treated = (ever & (t >= g)).astype(float)

    # --- counts and GRP
    population0 = np.exp(rng.normal(np.log(700_000), 0.4, n_regions))[:, None]
    growth = rng.normal(0.01, 0.005, n_regions)[:, None]
    population = np.round(population0 * np.exp(growth * (t - years[0])))
    out_rate = rng.uniform(10, 25, n_regions)[:, None] * np.exp(rng.normal(0, 0.05, (n_regions, n_years)))
    departures = np.round(population * out_rate / 1000)
    log_index = np.empty((n_regions, n_years))
    level = rng.normal(0.0, 0.1, n_regions)
    shock = rng.normal(0.0, 0.05, (n_regions, n_years))
    log_index[:, 0] = level + shock[:, 0]
    for j in range(1, n_years):
        log_index[:, j] = level + 0.6 * (log_index[:, j - 1] - level) + shock[:, j]
    arrivals = np.round(departures * np.exp(log_index))
    realized_index = arrivals / departures
    beta = rng.normal(elasticity, elasticity_sd, n_regions)
    log_grp = (np.log(2e6) + rng.normal(0, 0.5, n_regions)[:, None]
               + beta[:, None] * np.log(realized_index)
               + rng.normal(0.05, 0.02, n_regions)[:, None] * (t - years[0])
               + rng.normal(0, 0.03, (n_regions, n_years)))

    frame = pd.DataFrame({
        "region": np.repeat(regions, n_years),
        "year": np.tile(years, n_regions),
        "arrivals": arrivals.ravel(),
        "departures": departures.ravel(),
        "population": population.ravel(),
        "grp": np.exp(log_grp).ravel(),
        "outcome": outcome.ravel(),
        "treated": treated.ravel(),
        "first_treated": np.repeat(first_treated, n_years),
    })
    params = dict(n_regions=n_regions, years=years.tolist(), cohorts=cohorts, effect=effect, dynamic=dynamic,
                  heterogeneity=heterogeneity, cohort_effects=dict(cohort_effects or {}),
                  anticipation=anticipation, pretrend=pretrend, pretrend_size=pretrend_size, noise=noise,
                  serial_correlation=serial_correlation,
                  elasticity=elasticity, elasticity_sd=elasticity_sd, random_seed=random_seed)
    label = f"SIMULATED by kzcausal.simulate_panel({_call_text(params)}); not real data"
    panel = read_panel(frame, regions=None, sources=(label,),
                       units={"grp": "simulated million KZT", "population": "simulated persons"})
    truth = _truth(regions, years, first_treated, true_effect, violation, beta, elasticity, elasticity_sd, params)
    return replace(panel, simulated=True), truth


def _check_design(n_regions: int, years: np.ndarray, cohorts: dict[int, int], anticipation: int,
                  pretrend: str | None, serial_correlation: float) -> None:
    if n_regions < 2:
        raise SpecificationError(f"n_regions={n_regions}; a panel needs at least 2 regions. Fix: n_regions>=2.")
    if len(years) < 2 or np.any(np.diff(years) != 1):
        raise SpecificationError("years must be at least two consecutive years. Fix: pass e.g. years=range(2009, 2024).")
    if sum(cohorts.values()) > n_regions or any(size < 0 for size in cohorts.values()):
        raise SpecificationError(f"cohorts {cohorts} assign {sum(cohorts.values())} regions; "
                                 f"only {n_regions} exist. Fix: lower the cohort sizes or raise n_regions.")
    outside = [c for c in cohorts if not years[0] <= c <= years[-1]]
    if outside:
        raise SpecificationError(f"cohort years {outside} fall outside {years[0]}-{years[-1]}. Fix: give cohorts "
                                 "inside the years, or widen years.")
    if not -1 < serial_correlation < 1:
        raise SpecificationError(f"serial_correlation={serial_correlation}; it must lie in (-1, 1). Fix: e.g. 0.5.")
    if anticipation < 0:
        raise SpecificationError(f"anticipation={anticipation}; it must be >= 0 years.")
    if pretrend not in (None, "linear", "bump"):
        raise SpecificationError(f"pretrend={pretrend!r}. Fix: use None, 'linear' or 'bump'.")


def _call_text(params: Mapping[str, object]) -> str:
    years = params["years"]
    shown = {**params, "years": f"{years[0]}-{years[-1]}"}
    return ", ".join(f"{k}={v}" for k, v in shown.items() if v not in (None, 0, 0.0, {}))


def _truth(regions, years, first_treated, true_effect, violation, beta, mu, tau, params) -> SimulationTruth:
    n_regions, n_years = true_effect.shape
    effects = pd.DataFrame({
        "region": np.repeat(regions, n_years),
        "year": np.tile(years, n_regions),
        "effect": true_effect.ravel(),
        "violation": violation.ravel(),
    })
    cohort_of = pd.Series(first_treated, index=regions, name="first_treated")
    with_cohort = effects.assign(cohort=effects["region"].map(cohort_of)).dropna(subset=["cohort"])
    att_gt = (with_cohort.groupby(["cohort", "year"], as_index=False)["effect"].mean()
              .rename(columns={"effect": "att"}).astype({"cohort": int}))
    event = with_cohort.assign(event_time=(with_cohort["year"] - with_cohort["cohort"]).astype(int))
    event_study = event.groupby("event_time")["effect"].mean().rename("effect")
    return SimulationTruth(
        first_treated=cohort_of,
        effects=effects,
        att_gt=att_gt,
        event_study=event_study,
        elasticity=pd.Series(beta, index=regions, name="elasticity"),
        mu_elasticity=float(mu),
        tau_elasticity=float(tau),
        params=params,
    )
