"""A Bayesian event study: cohort x event-time effects partially pooled across cohorts (PyMC).

The regression is Sun & Abraham's (2021) saturated two-way fixed-effects model,
``y_it = a_i + d_t + sum_(g,e) theta_(g,e) 1[G_i = g, t - G_i = e] + u_it``, with never-treated
regions as controls and the reference period ``e = -1`` left out. Instead of estimating every
``theta_(g,e)`` separately, each is drawn around an event-time effect,
``theta_(g,e) ~ Normal(theta_e, tau_cohort)`` (non-centred), and the event-time effects
``theta_e`` get either independent weakly informative priors (``prior="independent"``) or a
random walk across event time anchored at zero in the reference period (``prior="random_walk"``).
The reported effect at ``e`` is the cohort-share weighted average of ``theta_(g,e)``, as in Sun
& Abraham. The errors follow an AR(1) within each region (stationary, exact likelihood), so
serially correlated shocks do not masquerade as precision, which is what makes plain OLS errors
over-reject in DID (Bertrand, Duflo & Mullainathan 2004).

The result is an :class:`~kzcausal.results.EventStudyResult` (posterior mean, posterior sd, equal-
tailed interval, posterior covariance) with the ``InferenceData`` attached, so the plots and
:func:`kzcausal.honest_sensitivity` accept it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ..did.design import DIDDesign
from ..did.event_study import _cohort_share_weights
from functools import partial

from ..results import COLUMNS, EventStudyResult
from ..errors import SpecificationError
from ..panel import RegionPanel
from .hierarchical import _check_sampler, _warn_if_not_converged, convergence_diagnostics, sample_nuts

__all__ = ["bayesian_event_study", "BayesianEventStudyResult"]


@dataclass(frozen=True, eq=False)
class BayesianEventStudyResult(EventStudyResult):
    """An event study from posterior draws; ``idata`` holds the draws (``effect`` over ``event_time``,
    ``cohort_effect`` over ``cell``), ``diagnostics`` the sampler checks."""

    idata: object = field(default=None, repr=False)
    diagnostics: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    divergences: int = 0
    max_treedepth_hits: int = 0

    @property
    def converged(self) -> bool:
        return bool(self.diagnostics["ok"].all()) and self.divergences == 0 and self.max_treedepth_hits == 0


def bayesian_event_study(
    panel: RegionPanel,
    outcome: str,
    first_treated: str | Mapping[str, float],
    *,
    leads: int | None = None,
    lags: int | None = None,
    prior: Literal["independent", "random_walk"] = "independent",
    effect_scale: float = 2.5,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.9,
    sampler: Literal["pymc", "nutpie", "numpyro", "blackjax"] = "pymc",
    interval: float = 0.95,
    random_seed: int | None = None,
    progress: bool = True,
) -> BayesianEventStudyResult:
    """Event-time effects with partial pooling across adoption cohorts.

    Parameters
    ----------
    panel, outcome, first_treated
        As for :func:`kzcausal.event_study`; the panel must be balanced over the years used.
    leads, lags
        Event-time window; event times beyond it are pooled into the end bins.
    prior
        ``"independent"``: ``theta_e ~ Normal(0, effect_scale * s_u)``; ``"random_walk"``:
        ``theta_e - theta_(e-1) ~ Normal(0, s)`` with ``s ~ HalfNormal(effect_scale * s_u)``,
        anchored at ``theta_(-1) = 0`` (smooth dynamics). ``s_u`` is the outcome's standard
        deviation after removing region and year means (the noise scale); the outcome is
        modelled in units of ``s_u`` with region effects ``Normal(0, 2 sd(y) / s_u)``-wide.
    effect_scale
        Prior scale of effects in noise standard deviations (2.5: weakly informative).
    draws, tune, chains, target_accept, sampler, random_seed, progress
        As for :func:`kzcausal.hierarchical_elasticity`.
    interval
        Probability of the equal-tailed posterior interval in the table.

    Returns
    -------
    BayesianEventStudyResult
        ``table`` (estimate = posterior mean, std_error = posterior sd, ci = interval,
        p_value = NaN), ``vcov`` (posterior covariance), ``overall`` (mean post-period effect),
        ``idata``.
    """
    if prior not in ("independent", "random_walk"):
        raise SpecificationError(f"prior must be 'independent' or 'random_walk'; got {prior!r}.")
    if not effect_scale > 0:
        raise SpecificationError(f"effect_scale must be positive; got {effect_scale}.")
    _check_sampler(sampler)
    rows = DIDDesign.panel_rows(panel, outcome, first_treated)
    settings = dict(leads=leads, lags=lags, prior=prior, effect_scale=effect_scale, draws=draws, tune=tune,
                    chains=chains, target_accept=target_accept, sampler=sampler, interval=interval,
                    random_seed=random_seed, progress=progress)
    return _fit_bayesian_event_study(rows, outcome, **settings)


def _fit_bayesian_event_study(rows: pd.DataFrame, outcome: str, *, leads, lags, prior, effect_scale, draws, tune,
                              chains, target_accept, sampler, interval, random_seed, progress
                              ) -> BayesianEventStudyResult:
    """The Bayesian event study on estimation rows ``region, year, <outcome>, cohort`` (inf: never)."""
    settings = {k: v for k, v in locals().items() if k not in ("rows", "outcome")}  # what a re-fit repeats
    import pymc as pm

    design = DIDDesign.from_frame(rows, outcome, control_group="never_treated")
    data = design.data.reset_index(drop=True)
    regions, years = sorted(data["region"].unique()), sorted(data["year"].unique())
    if len(data) != len(regions) * len(years) or np.any(np.diff(years) != 1):
        raise SpecificationError(f"the Bayesian event study models AR(1) errors and needs a balanced panel of "
                                 f"consecutive years; {outcome!r} has {len(data)} rows for {len(regions)} regions x "
                                 f"{len(years)} years. Restrict the panel to the years every region has.")
    event = data["year"] - data["first_treated"]
    low = -leads if leads is not None else int(event.min())
    high = lags if lags is not None else int(event.max())
    if low > -2 or high < 0:
        raise SpecificationError(f"the window [{low}, {high}] needs at least one lead before e = -1 and e = 0.")
    event = event.clip(lower=low, upper=high)
    cohort = data["first_treated"].to_numpy(float)
    pairs = pd.DataFrame({"g": cohort, "e": event.to_numpy()}).dropna().drop_duplicates()
    cells = sorted((float(g), int(e)) for g, e in pairs.itertuples(index=False) if e != -1)
    times = sorted({e for _, e in cells})
    row_cell = pd.MultiIndex.from_tuples(cells).get_indexer(pd.MultiIndex.from_arrays([cohort, event.to_numpy(float)]))
    row_cell = np.where(np.isfinite(event.to_numpy(float)), row_cell, -1)
    weights = _cohort_share_weights(row_cell, cells, times)

    y = data[outcome].to_numpy(float)
    # the scale of the noise: the outcome's sd after removing region and year means
    two_way = (data[outcome] - data.groupby("region")[outcome].transform("mean")
               - data.groupby("year")[outcome].transform("mean") + data[outcome].mean())
    scale = float(two_way.std())
    if not scale > 0:
        raise SpecificationError(f"{outcome!r} has no variation beyond region and year means; nothing to estimate.")
    ys = (y - float(np.mean(y))) / scale
    n_regions, n_years = len(regions), len(years)
    region_idx = np.repeat(np.arange(n_regions), n_years)
    year_idx = np.tile(np.arange(n_years), n_regions)
    cell_event = np.array([times.index(e) for _, e in cells])
    has_cell = row_cell >= 0
    coords = {"region": regions, "year": years, "event_time": times,
              "cell": [f"{int(g)}:{e}" for g, e in cells]}
    with pm.Model(coords=coords) as model:
        spread = 2.0 * float(np.std(ys))
        region_effect = pm.Normal("region_effect", 0.0, spread, dims="region")
        year_effect = pm.ZeroSumNormal("year_effect", sigma=pm.HalfNormal("year_sd", spread), dims="year")
        if prior == "independent":
            theta_e = pm.Normal("theta_e", 0.0, effect_scale, dims="event_time")
        else:
            step_sd = pm.HalfNormal("step_sd", effect_scale)
            steps = pm.Normal("steps", 0.0, 1.0, dims="event_time") * step_sd
            # anchored at e = -1: walk backwards over the leads and forwards over the lags
            times_arr = np.array(times)
            lead_pos, lag_pos = np.flatnonzero(times_arr < -1), np.flatnonzero(times_arr >= 0)
            theta_e = pm.Deterministic("theta_e", pm.math.concatenate([
                pm.math.cumsum(steps[lead_pos][::-1])[::-1], pm.math.cumsum(steps[lag_pos])]), dims="event_time")
        tau_cohort = pm.HalfNormal("tau_cohort", 0.5 * effect_scale)
        z = pm.Normal("z_cell", 0.0, 1.0, dims="cell")
        theta = pm.Deterministic("cohort_effect_std", theta_e[cell_event] + tau_cohort * z, dims="cell")
        mean = region_effect[region_idx] + year_effect[year_idx]
        mean = mean + pm.math.where(has_cell, theta[np.where(has_cell, row_cell, 0)], 0.0)
        sigma = pm.HalfNormal("sigma", 2.0)
        rho = pm.Uniform("rho", -0.95, 0.95)
        resid = (ys - mean).reshape((n_regions, n_years))
        innovations = resid[:, 1:] - rho * resid[:, :-1]
        first_sd = sigma / pm.math.sqrt(1 - rho**2)
        pm.Potential("ar1_likelihood",
                     pm.logp(pm.Normal.dist(0.0, first_sd), resid[:, 0]).sum()
                     + pm.logp(pm.Normal.dist(0.0, sigma), innovations).sum())
        pm.Deterministic("cohort_effect", theta * scale, dims="cell")
        pm.Deterministic("effect", pm.math.dot(weights, theta) * scale, dims="event_time")
    seeds = np.random.default_rng(random_seed).integers(0, 2**31 - 1, size=1)
    idata = sample_nuts(model, sampler, draws=draws, tune=tune, chains=chains, target_accept=target_accept,
                        random_seed=int(seeds[0]), progress=progress)
    draws_e = idata.posterior["effect"].stack(sample=("chain", "draw")).transpose("sample", "event_time").values
    lo, hi = (1 - interval) / 2, 1 - (1 - interval) / 2
    table = pd.DataFrame({"estimate": draws_e.mean(0), "std_error": draws_e.std(0, ddof=1),
                          "ci_low": np.quantile(draws_e, lo, axis=0), "ci_high": np.quantile(draws_e, hi, axis=0),
                          "p_value": np.nan}, index=pd.Index(times, name="event_time"))
    vcov = pd.DataFrame(np.cov(draws_e, rowvar=False), index=times, columns=times)
    post = np.array(times) >= 0
    overall_draws = draws_e[:, post].mean(axis=1)
    diagnostics, divergences, depth_hits = convergence_diagnostics(
        idata, ["effect", "theta_e", "tau_cohort", "sigma", "rho"])
    overall_row = pd.Series({"estimate": float(overall_draws.mean()), "std_error": float(overall_draws.std(ddof=1)),
                             "ci_low": float(np.quantile(overall_draws, lo)),
                             "ci_high": float(np.quantile(overall_draws, hi)), "p_value": np.nan})[COLUMNS]
    result = BayesianEventStudyResult(
        table=table, vcov=vcov,
        method=f"Bayesian event study (cohort effects pooled, {prior.replace('_', ' ')} prior, AR(1) errors), "
               f"posterior mean and {interval:.0%} interval, reference e = -1",
        effect=("overall",),
        spec=dict(estimator="bayesian_event_study", outcome=outcome, leads=leads, lags=lags, reference=-1,
                  prior=prior, effect_scale=effect_scale, draws=draws, tune=tune, chains=chains, sampler=sampler,
                  random_seed=random_seed, base_period="universal", alpha=1 - interval),
        n_obs=len(data), n_clusters=n_regions, cluster="region", caveats=design.notes,
        data=DIDDesign.estimation_rows(data),
        refitter=partial(_fit_bayesian_event_study, **settings), reference=-1,
        overall=overall_row, overall_estimand="posterior mean of the average post-period event-time effect",
        idata=idata, diagnostics=diagnostics, divergences=divergences, max_treedepth_hits=depth_hits)
    _warn_if_not_converged(result)
    return result
