"""A Bayesian event study: cohort x event-time effects partially pooled across cohorts (PyMC).

The regression is Sun & Abraham's (2021) saturated two-way fixed-effects model,
``y_it = a_i + d_t + sum_(g,e) theta_(g,e) 1[G_i = g, t - G_i = e] + u_it``, with never-treated
regions as controls and the reference period ``e = -1`` left out. Instead of estimating every
``theta_(g,e)`` separately, each is drawn around an event-time effect,
``theta_(g,e) ~ Normal(theta_e, tau_cohort)``, and the event-time effects
``theta_e`` get either independent weakly informative priors (``prior="independent"``) or a
random walk across event time anchored at zero in the reference period (``prior="random_walk"``).
The reported effect at ``e`` is the cohort-share weighted average of ``theta_(g,e)``, as in Sun
& Abraham. The errors follow an AR(1) within each region (stationary, exact likelihood), so
serially correlated shocks do not masquerade as precision, which is what makes plain OLS errors
over-reject in DID (Bertrand, Duflo & Mullainathan 2004).

The result is an :class:`~kzcausal.results.EventStudyResult` (posterior mean, posterior sd, equal-
tailed interval, posterior covariance) with the ``InferenceData`` attached, so the plots and
:func:`kzcausal.honest_sensitivity` accept it.

The sampler does not see the model in this textbook form (see :func:`_build_model`): the region
effects are integrated out of the likelihood in closed form and drawn afterwards from their exact
Gaussian conditional, and the event-time effects are sampled through the cells' means, which the
data pin. A treated region's level is otherwise pinned only by its reference year, a ridge along
which NUTS crawled (about 30 s for 2 x 1,000 draws with PyMC's sampler, divergences at large
``tau_cohort``). The posterior is the same (``tests/bayes/test_bayesian_event_study.py`` compares
every posterior mean and sd of both forms within Monte Carlo error).
"""

from __future__ import annotations

import numbers

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd

from ..design import DIDDesign, cohort_share_weights, estimation_rows, positional_deprecated, resolve_assignment
from ..results import COLUMNS, EventStudyResult
from ..errors import SpecificationError
from ..panel import RegionPanel
from .hierarchical import _warn_if_not_converged, convergence_diagnostics
from .sampling import check_sampling, sample_nuts

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


@positional_deprecated("first_treated")
def bayesian_event_study(
    panel: RegionPanel,
    outcome: str,
    *,
    first_treated: str | Mapping[str, float] | None = None,
    treated: str | Sequence[str] | None = None,
    post_from: int | None = None,
    treatment: str | None = None,
    leads: int | None = None,
    lags: int | None = None,
    prior: Literal["independent", "random_walk"] = "independent",
    effect_scale: float = 2.5,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.9,
    sampler: Literal["auto", "pymc", "nutpie", "numpyro", "blackjax"] = "auto",
    interval: float = 0.95,
    random_seed: int | None = None,
    progress: bool = True,
) -> BayesianEventStudyResult:
    """Event-time effects with partial pooling across adoption cohorts.

    Parameters
    ----------
    panel, outcome, first_treated, treated + post_from, treatment
        As for :func:`kzcausal.event_study` (the assignment, exactly one spelling); the panel must
        be balanced over the years used.
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
        raise SpecificationError(f"prior={prior!r}. Fix: use prior='independent' or prior='random_walk'.")
    if isinstance(effect_scale, bool) or not isinstance(effect_scale, numbers.Real) or not 0 < effect_scale < np.inf:
        raise SpecificationError(f"effect_scale={effect_scale!r}; it must be a positive number (the prior sd of the "
                                 "effects, in outcome units). Fix: pass e.g. effect_scale=1.0.")
    if isinstance(interval, bool) or not isinstance(interval, numbers.Real) or not 0 < interval < 1:
        raise SpecificationError(f"interval={interval!r}; it is a probability. Fix: pass e.g. interval=0.9.")
    checked = check_sampling(draws=draws, tune=tune, chains=chains, target_accept=target_accept,
                             random_seed=random_seed, progress=progress, sampler=sampler)
    sampler, draws, tune, chains, random_seed = (checked["sampler"], checked["draws"], checked["tune"],
                                                 checked["chains"], checked["random_seed"])
    assignment = resolve_assignment(panel, first_treated=first_treated, treated=treated, post_from=post_from,
                                    treatment=treatment, estimator="bayesian_event_study")
    rows, notes = estimation_rows(panel, outcome, assignment)
    settings = dict(leads=leads, lags=lags, prior=prior, effect_scale=effect_scale, draws=draws, tune=tune,
                    chains=chains, target_accept=target_accept, sampler=sampler, interval=interval,
                    random_seed=random_seed, progress=progress)
    return _fit_bayesian_event_study(rows, outcome, **settings).noting(notes)


def _fit_bayesian_event_study(rows: pd.DataFrame, outcome: str, *, leads, lags, prior, effect_scale, draws, tune,
                              chains, target_accept, sampler, interval, random_seed, progress
                              ) -> BayesianEventStudyResult:
    """The Bayesian event study on estimation rows ``region, year, <outcome>, cohort`` (inf: never)."""
    settings = {k: v for k, v in locals().items() if k not in ("rows", "outcome")}  # what a re-fit repeats
    inputs = _inputs(rows, outcome, leads, lags)
    model = _build_model(inputs, prior, effect_scale)
    seeds = np.random.default_rng(random_seed).integers(0, 2**31 - 1, size=2)
    idata = sample_nuts(model, sampler, draws=draws, tune=tune, chains=chains, target_accept=target_accept,
                        random_seed=int(seeds[0]), progress=progress)
    _add_region_effects(idata, inputs, np.random.default_rng(seeds[1]))
    times, data = inputs.times, inputs.data
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
        n_obs=len(data), n_clusters=len(inputs.regions), cluster="region", caveats=inputs.notes, alpha=1 - interval, outcome=outcome,
        data=DIDDesign.estimation_rows(data),
        refitter=partial(_fit_bayesian_event_study, **settings), reference=-1,
        overall=overall_row, overall_estimand="posterior mean of the average post-period event-time effect",
        idata=idata, diagnostics=diagnostics, divergences=divergences, max_treedepth_hits=depth_hits)
    _warn_if_not_converged(result)
    return result


@dataclass(frozen=True)
class _Inputs:
    """The balanced panel on the model's scale: outcome in noise sds, cohort x event-time cells."""

    data: pd.DataFrame          # sorted by region, then year
    regions: list
    years: list
    times: list[int]            # event times of the cells (e = -1 left out)
    cells: list[tuple[float, int]]
    row_cell: np.ndarray        # each row's cell, -1 where none (controls, e = -1)
    weights: np.ndarray         # event time x cell: cohort shares (Sun & Abraham)
    ys: np.ndarray              # standardized outcome
    scale: float                # the noise sd the outcome is divided by
    notes: tuple


def _inputs(rows: pd.DataFrame, outcome: str, leads, lags) -> _Inputs:
    design = DIDDesign.from_frame(rows, outcome, control_group="never_treated")
    data = design.data.sort_values(["region", "year"]).reset_index(drop=True)
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
    y = data[outcome].to_numpy(float)
    # the scale of the noise: the outcome's sd after removing region and year means
    two_way = (data[outcome] - data.groupby("region")[outcome].transform("mean")
               - data.groupby("year")[outcome].transform("mean") + data[outcome].mean())
    scale = float(two_way.std())
    if not scale > 0:
        raise SpecificationError(f"{outcome!r} has no variation beyond region and year means; nothing to estimate.")
    return _Inputs(data=data, regions=regions, years=years, times=times, cells=cells, row_cell=row_cell,
                   weights=cohort_share_weights(row_cell, cells, times), ys=(y - float(np.mean(y))) / scale,
                   scale=scale, notes=tuple(design.notes))


def _build_model(inputs: _Inputs, prior: str, effect_scale: float, parametrization: str = "collapsed"):
    """The PyMC model of the standardized outcome.

    ``parametrization="collapsed"`` (the default) samples the same posterior as the textbook form
    (``"original"``: region effects ``a_i`` and ``theta_(g,e) = theta_e + tau z_(g,e)`` sampled) in
    coordinates the data pin:

    - the region effects are integrated out of the likelihood: given everything else, region ``i``'s
      residual series is ``a_i 1 + u_i`` with ``a_i ~ Normal(0, s^2)`` and ``u_i`` stationary
      AR(1), a Gaussian with covariance ``Sigma + s^2 11'`` whose log density follows from the
      Prais-Winsten transform ``L`` (``Sigma^-1 = L'L / sigma^2``) and the matrix determinant lemma;
      :func:`_add_region_effects` draws ``a_i`` from its exact Gaussian conditional afterwards. A
      treated region's level is otherwise pinned only by its reference year, a ridge against its
      cohort's effects along which NUTS crawls.
    - the event-time effects are sampled through the cells' mean at each event time, ``m_e``, which
      the data pin: ``theta_e = m_e - tau zbar_e`` and ``theta_(g,e) = m_e + tau (z_(g,e) - zbar_e)``,
      a shift of ``theta_e`` with unit Jacobian (``m_e | tau, z ~ Normal(tau zbar_e, effect_scale)``
      for independent effects; the random walk's density on the increments of ``theta_e`` kept as a
      potential). Sampled directly, ``theta_e`` spreads with ``tau`` (a funnel that diverges at large
      ``tau``).
    """
    import pymc as pm
    import pytensor.tensor as pt

    n_regions, n_years, times = len(inputs.regions), len(inputs.years), inputs.times
    cell_event = np.array([times.index(e) for _, e in inputs.cells])
    has_cell = inputs.row_cell >= 0
    cell_of_row = np.where(has_cell, inputs.row_cell, 0)
    year_idx = np.tile(np.arange(n_years), n_regions)
    spread = 2.0 * float(np.std(inputs.ys))
    coords = {"region": inputs.regions, "year": inputs.years, "event_time": times,
              "cell": [f"{int(g)}:{e}" for g, e in inputs.cells]}
    times_arr = np.array(times)
    lead_pos, lag_pos = np.flatnonzero(times_arr < -1), np.flatnonzero(times_arr >= 0)
    with pm.Model(coords=coords) as model:
        ys = pm.Data("outcome_std", inputs.ys)
        # the data's scales and the cohort-share weights are data too, not constants of the graph: a model
        # of the same layout on other data (a re-fit, a placebo, a simulation) is then the same computation
        # and re-uses its compilation (kzcausal.bayes.sampling)
        scales = pm.Data("scales", np.array([spread, inputs.scale]))
        spread, outcome_scale = scales[0], scales[1]
        weights = pm.Data("weights", inputs.weights)
        # which cell each row is in (0 and masked out where none): which regions are treated is data too
        in_cell = pm.Data("in_cell", has_cell.astype(float))
        row_cell = pm.Data("row_cell", cell_of_row.astype(np.int64))
        year_effect = pm.ZeroSumNormal("year_effect", sigma=pm.HalfNormal("year_sd", spread), dims="year")
        tau_cohort = pm.HalfNormal("tau_cohort", 0.5 * effect_scale)
        z = pm.Normal("z_cell", 0.0, 1.0, dims="cell")
        if parametrization == "original":
            if prior == "independent":
                theta_e = pm.Normal("theta_e", 0.0, effect_scale, dims="event_time")
            else:
                step_sd = pm.HalfNormal("step_sd", effect_scale)
                steps = pm.Normal("steps", 0.0, 1.0, dims="event_time") * step_sd
                # anchored at e = -1: walk backwards over the leads and forwards over the lags
                theta_e = pm.Deterministic("theta_e", pt.concatenate([
                    pt.cumsum(steps[lead_pos][::-1])[::-1], pt.cumsum(steps[lag_pos])]), dims="event_time")
            theta = pm.Deterministic("cohort_effect_std", theta_e[cell_event] + tau_cohort * z, dims="cell")
        else:
            counts = np.bincount(cell_event, minlength=len(times)).astype(float)
            z_mean = pt.inc_subtensor(pt.zeros(len(times))[cell_event], z) / counts
            if prior == "independent":
                # theta_e ~ Normal(0, effect_scale) shifted by tau zbar_e
                cell_mean = pm.Normal("cell_mean", tau_cohort * z_mean, effect_scale, dims="event_time")
                theta_e = pm.Deterministic("theta_e", cell_mean - tau_cohort * z_mean, dims="event_time")
            else:
                cell_mean = pm.Flat("cell_mean", dims="event_time")       # its density: the walk's, below
                theta_e = pm.Deterministic("theta_e", cell_mean - tau_cohort * z_mean, dims="event_time")
                step_sd = pm.HalfNormal("step_sd", effect_scale)
                # increments away from the anchor theta_(-1) = 0, as the walk above draws them
                lead, lag = theta_e[lead_pos][::-1], theta_e[lag_pos]
                increments = pt.concatenate([lead[:1], lead[1:] - lead[:-1], lag[:1], lag[1:] - lag[:-1]])
                pm.Potential("theta_e_prior", pm.logp(pm.Normal.dist(0.0, step_sd), increments).sum())
            theta = pm.Deterministic("cohort_effect_std", cell_mean[cell_event] + tau_cohort * (z - z_mean[cell_event]),
                                     dims="cell")
        mean = year_effect[year_idx] + in_cell * theta[row_cell]
        sigma = pm.HalfNormal("sigma", 2.0)
        rho = pm.Uniform("rho", -0.95, 0.95)
        if parametrization == "original":
            region_effect = pm.Normal("region_effect", 0.0, spread, dims="region")
            resid = (ys - mean - region_effect[np.repeat(np.arange(n_regions), n_years)]).reshape((n_regions, n_years))
            innovations = resid[:, 1:] - rho * resid[:, :-1]
            first_sd = sigma / pt.sqrt(1 - rho**2)
            pm.Potential("ar1_likelihood", pm.logp(pm.Normal.dist(0.0, first_sd), resid[:, 0]).sum()
                         + pm.logp(pm.Normal.dist(0.0, sigma), innovations).sum())
        else:
            pm.Potential("ar1_likelihood", _marginal_ar1(pt, (ys - mean).reshape((n_regions, n_years)), sigma, rho,
                                                         spread).sum())
        pm.Deterministic("cohort_effect", theta * outcome_scale, dims="cell")
        pm.Deterministic("effect", pt.dot(weights, theta) * outcome_scale, dims="event_time")
    return model


def _prais_winsten(xp, w, rho):
    """``L w`` along the last axis: ``sqrt(1 - rho^2) w_0``, then ``w_t - rho w_(t-1)``; and ``L 1``'s
    ``l'l`` (the AR(1) precision is ``L'L / sigma^2``)."""
    root = xp.sqrt(1 - rho**2)
    e = xp.concatenate([root * w[..., :1], w[..., 1:] - rho * w[..., :-1]], axis=-1)
    return e, root, (1 - rho)


def _marginal_ar1(xp, w, sigma, rho, spread):
    """Log density of each row of ``w`` (region x year) under ``a 1 + u``, ``a ~ Normal(0, spread^2)``,
    ``u`` stationary AR(1) with innovation sd ``sigma``: ``-1/2 [T log 2 pi + log|Sigma| + log(1 + s^2
    1'Sigma^-1 1) + w'Sigma^-1 w - s^2 (1'Sigma^-1 w)^2 / (1 + s^2 1'Sigma^-1 1)]``."""
    n_years = w.shape[-1]
    e, root, slope = _prais_winsten(xp, w, rho)
    ll = root**2 + (n_years - 1) * slope**2                       # l'l, l = L 1
    le = root * e[..., 0] + slope * e[..., 1:].sum(axis=-1)       # l'e
    ee = (e**2).sum(axis=-1)
    s2 = spread**2
    denom = 1 + s2 * ll / sigma**2
    return (-0.5 * n_years * np.log(2 * np.pi) - n_years * xp.log(sigma) + xp.log(root) - 0.5 * xp.log(denom)
            - ee / (2 * sigma**2) + s2 * le**2 / (2 * sigma**4 * denom))


def _add_region_effects(idata, inputs: _Inputs, rng: np.random.Generator) -> None:
    """Draw each region's effect from its Gaussian conditional given the other parameters (the
    collapsed model integrates it out): precision ``1/s^2 + l'l/sigma^2``, mean ``(l'e/sigma^2) /
    precision``, with ``e = L w`` and ``w`` the region's residual without its effect."""
    import xarray as xr

    posterior = idata.posterior
    if "region_effect" in posterior:
        return
    n_regions, n_years = len(inputs.regions), len(inputs.years)
    chains, n_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    flat = lambda name: posterior[name].values.reshape(chains * n_draws, -1)  # noqa: E731
    theta, year_effect = flat("cohort_effect_std"), flat("year_effect")
    sigma, rho = flat("sigma")[:, 0, None], flat("rho")[:, 0, None]
    has_cell = inputs.row_cell >= 0
    mean = year_effect[:, np.tile(np.arange(n_years), n_regions)] + np.where(
        has_cell, theta[:, np.where(has_cell, inputs.row_cell, 0)], 0.0)
    w = (inputs.ys - mean).reshape(-1, n_regions, n_years)
    e, root, slope = _prais_winsten(np, w, rho[:, :, None])
    ll = (root**2 + (n_years - 1) * slope**2)[:, :, 0]
    le = root[:, :, 0] * e[..., 0] + slope[:, :, 0] * e[..., 1:].sum(axis=-1)
    precision = 1 / (2.0 * float(np.std(inputs.ys)))**2 + ll / sigma**2
    draws = le / sigma**2 / precision + rng.standard_normal(le.shape) / np.sqrt(precision)
    posterior["region_effect"] = xr.DataArray(draws.reshape(chains, n_draws, n_regions),
                                              dims=("chain", "draw", "region"),
                                              coords={"region": inputs.regions})
