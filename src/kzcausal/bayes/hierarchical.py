"""Hierarchical Bayesian GRP-attractiveness elasticities across all regions (PyMC).

Paper 000 reads one elasticity per region off eight yearly points. Here every region gets its
own elasticity, drawn from a common distribution ``beta_r ~ Normal(mu_beta, tau_beta)``: the
data decide how far the regions are pooled towards ``mu_beta`` (Gelman & Hill 2007, ch. 12).

Within each region the outcome and the index are expressed relative to the region's own level,
so ``beta_r`` is an elasticity for both forms and pooling compares like with like:

- ``form="log-log"``: ``log GRP_rt = a_r + beta_r log IMP_rt + time_rt + e_rt``;
- ``form="linear"``: ``GRP_rt / mean_r GRP = a_r + beta_r IMP_rt / mean_r IMP + time_rt + e_rt``,
  so ``beta_r`` is the elasticity at the region's means (paper 000's linear ``E``);

with ``time_rt`` a region trend ``g_r t`` (``time="region_trend"``, paper 000's ``c t``) or shared
year effects (``time="year_effects"``). The model is fitted on standardized data (outcome and
index divided by their within-region standard deviations, time centred and scaled) with
weakly informative priors (``DEFAULT_PRIORS``); elasticities are reported on the natural scale.
The log likelihood is stored on the outcome's own scale (the change-of-variables term added),
so that PSIS-LOO compares linear and log-log models of the same GRP.

Speed: the data, the prior scales and the scale back to elasticities are ``pm.Data``, so every
model of the same shape is one computation; with ``sampler="auto"`` (nutpie where installed) it
is compiled once per process and kept on disk (:mod:`kzcausal.bayes.sampling`). The prior draws,
the predictive draws and the pointwise log likelihood come from the model's closed form in NumPy
(``_prior_draws``, ``_log_likelihood``; checked against PyMC's own in the tests) instead of three
more PyMC compilations, and the diagnostics are vectorized (:mod:`kzcausal.bayes.convergence`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import ConvergenceWarning, KzCausalWarning, SpecificationError, show_rows
from ..panel import RegionPanel
from .convergence import ESS_MIN, RHAT_MAX, convergence_diagnostics
from .sampling import check_sampling, sample_nuts
from ..text import literal_plot

__all__ = ["hierarchical_elasticity", "ElasticityResult", "compare_models", "prior_sensitivity",
           "DEFAULT_PRIORS", "convergence_diagnostics"]

#: Prior scales on the standardized data (see the module docstring). ``mu_beta``: Normal sd of
#: the population elasticity; ``tau_beta``: HalfNormal sd of the between-region spread;
#: ``intercept``: Normal sd of region intercepts; ``trend``: Normal sd of region trends;
#: ``year``: HalfNormal sd of the year effects' scale; ``sigma``: HalfNormal sd of the residual
#: scale; ``nu``: rate of the Gamma(2, rate) prior on Student-t degrees of freedom (Juárez &
#: Steel 2010). ``tau_beta_fixed`` (absent by default) fixes ``tau_beta`` on the natural scale
#: instead of estimating it: near 0 gives complete pooling, large values no pooling.
DEFAULT_PRIORS: Mapping[str, float] = {"mu_beta": 1.0, "tau_beta": 1.0, "intercept": 1.0, "trend": 2.5,
                                       "year": 1.0, "sigma": 1.0, "nu": 0.1}



# ------------------------------------------------------------------ data
@dataclass(frozen=True)
class _Design:
    """The rows used and the transformation to the model's scale (and back)."""

    data: pd.DataFrame                       # region, year, outcome, index, y, x, t (standardized)
    regions: list[str]
    years: list[int]
    y_scale: float
    x_scale: float
    t_center: float
    t_scale: float
    outcome_mean: pd.Series                  # region -> mean outcome
    index_mean: pd.Series                    # region -> mean index
    excluded: pd.DataFrame


def _design(panel: RegionPanel, outcome: str, index: str, form: str, regions: Sequence[str] | None) -> _Design:
    panel.require(outcome, index)
    frame = panel.to_frame()[["region", "year", outcome, index]]
    if regions is not None:
        unknown = [r for r in regions if r not in panel.regions]
        if unknown:
            raise SpecificationError(f"regions {unknown} are not in the panel; its regions: {panel.regions}.")
        frame = frame[frame["region"].isin(regions)]
    missing = frame[outcome].isna() | frame[index].isna()
    excluded = [frame[missing].assign(reason=f"{outcome} or {index} missing")]
    frame = frame[~missing]
    if form == "log-log":
        bad = frame[(frame[outcome] <= 0) | (frame[index] <= 0)]
        if len(bad):
            raise SpecificationError(f"form='log-log' takes logs, but {outcome} or {index} is not positive in "
                                     f"{show_rows(bad)}; fix or drop these rows, or use form='linear'.")
    counts = frame.groupby("region")["year"].transform("size")
    short = frame[counts < 3]
    if len(short):
        named = sorted(set(short["region"]) & set(regions or []))
        if named:
            raise SpecificationError(f"regions {named} have fewer than 3 years with both {outcome} and {index}; "
                                     "a region needs 3 to separate its intercept, trend and elasticity. "
                                     "Leave them out of regions=[...].")
        excluded.append(short.assign(reason="region has fewer than 3 years with both variables"))
    frame = frame[counts >= 3].copy()
    excluded = pd.concat(excluded, ignore_index=True)
    if len(excluded):
        warnings.warn(f"{len(excluded)} region-year(s) not used (listed in result.excluded): "
                      f"{excluded.groupby('reason').size().to_dict()}", KzCausalWarning, stacklevel=3)
    if frame["region"].nunique() < 2:
        raise SpecificationError(f"a hierarchical model needs at least 2 regions with 3+ years of {outcome} and "
                                 f"{index}; found {frame['region'].nunique()}.")
    by = frame.groupby("region")
    outcome_mean, index_mean = by[outcome].mean(), by[index].mean()
    if form == "log-log":
        level, signal = np.log(frame[outcome]), np.log(frame[index])
    else:
        level = frame[outcome] / frame["region"].map(outcome_mean)
        signal = frame[index] / frame["region"].map(index_mean)
    y = level - level.groupby(frame["region"]).transform("mean")
    x = signal - signal.groupby(frame["region"]).transform("mean")
    y_scale, x_scale = float(y.std()), float(x.std())
    if not x_scale > 0:
        raise SpecificationError(f"{index} does not vary within any region; its elasticity is not identified.")
    t_center, t_scale = float(frame["year"].mean()), float(frame["year"].std())
    frame["y"], frame["x"] = y / y_scale, x / x_scale
    frame["t"] = (frame["year"] - t_center) / t_scale
    order = sorted(frame["region"].unique())
    return _Design(data=frame.sort_values(["region", "year"]).reset_index(drop=True), regions=order,
                   years=sorted(frame["year"].unique().tolist()), y_scale=y_scale, x_scale=x_scale,
                   t_center=t_center, t_scale=t_scale, outcome_mean=outcome_mean, index_mean=index_mean,
                   excluded=excluded)


def _priors(priors: Mapping[str, float] | None) -> dict[str, float]:
    merged = dict(DEFAULT_PRIORS)
    for key, value in (priors or {}).items():
        if key not in DEFAULT_PRIORS and key != "tau_beta_fixed":
            raise SpecificationError(f"unknown prior {key!r}; the priors are {sorted(DEFAULT_PRIORS)} and "
                                     "'tau_beta_fixed'.")
        if not (np.isfinite(value) and value >= 0 and (value > 0 or key == "tau_beta_fixed")):
            raise SpecificationError(f"prior scale {key!r} must be a positive number; got {value!r}.")
        merged[key] = float(value)
    return merged


# ------------------------------------------------------------------ model
def _build_model(design: _Design, time: str, likelihood: str, priors: Mapping[str, float]):
    """The PyMC model. Data, prior scales and the scale back to elasticities are ``pm.Data`` (the
    scales in one vector: each shared variable costs numba compilation time), so models of the
    same shape are one computation and share one compilation (``sampling.compiled_for_nutpie``)."""
    import pymc as pm

    d = design.data
    to_natural = design.y_scale / design.x_scale
    fixed = priors.get("tau_beta_fixed")
    constants = {"to_natural": to_natural, **{k: v for k, v in priors.items() if k != "tau_beta_fixed"},
                 "tau_beta_fixed_std": 0.0 if fixed is None else fixed / to_natural}     # 0: not used
    coords = {"region": design.regions, "year": design.years, "obs": np.arange(len(d))}
    with pm.Model(coords=coords) as model:
        x = pm.Data("x", d["x"].to_numpy(), dims="obs")
        y_obs = pm.Data("y_obs", d["y"].to_numpy(), dims="obs")
        region = pm.Data("region_index", pd.Categorical(d["region"], categories=design.regions).codes.astype(np.int64),
                         dims="obs")
        packed = pm.Data("scales", np.array(list(constants.values()), dtype=float))
        scale = {name: packed[i] for i, name in enumerate(constants)}
        natural = scale["to_natural"]
        mu_std = pm.Normal("mu_beta_std", 0.0, scale["mu_beta"])
        if fixed is not None:
            tau_std = pm.Deterministic("tau_beta_std", scale["tau_beta_fixed_std"])
        if fixed is not None and fixed / to_natural > priors["mu_beta"]:
            # a fixed spread wider than mu's prior: the data pin each beta_r, so sample it centred
            # (non-centred, beta_r - mu would be a narrow ridge along mu)
            beta_std = pm.Normal("beta_std", mu_std, tau_std, dims="region")
        else:
            if fixed is None:
                tau_std = pm.HalfNormal("tau_beta_std", scale["tau_beta"])
            z = pm.Normal("z_beta", 0.0, 1.0, dims="region")
            beta_std = pm.Deterministic("beta_std", mu_std + tau_std * z, dims="region")
        intercept = pm.Normal("intercept", 0.0, scale["intercept"], dims="region")
        mean = intercept[region] + beta_std[region] * x
        if time == "region_trend":
            t = pm.Data("t", d["t"].to_numpy(), dims="obs")
            trend = pm.Normal("trend", 0.0, scale["trend"], dims="region")
            mean = mean + trend[region] * t
        else:
            year = pm.Data("year_index", pd.Categorical(d["year"], categories=design.years).codes.astype(np.int64),
                           dims="obs")
            year_sd = pm.HalfNormal("year_sd", scale["year"])
            year_effect = pm.ZeroSumNormal("year_effect", sigma=year_sd, dims="year")
            mean = mean + year_effect[year]
        sigma = pm.HalfNormal("sigma", scale["sigma"])
        if likelihood == "student_t":
            nu = pm.Gamma("nu", alpha=2.0, beta=scale["nu"])
            pm.StudentT("y", nu=nu, mu=mean, sigma=sigma, observed=y_obs, dims="obs")
        else:
            pm.Normal("y", mu=mean, sigma=sigma, observed=y_obs, dims="obs")
        pm.Deterministic("elasticity", beta_std * natural, dims="region")
        pm.Deterministic("mu_beta", mu_std * natural)
        pm.Deterministic("tau_beta", tau_std * natural)
    return model


def _mean(draws: Mapping[str, np.ndarray], design: _Design, time: str) -> np.ndarray:
    """Means of ``y`` (sample x obs) on the standardized scale from parameter draws (sample x ...)."""
    d = design.data
    region = pd.Categorical(d["region"], categories=design.regions).codes
    mean = draws["intercept"][:, region] + draws["beta_std"][:, region] * d["x"].to_numpy()
    if time == "region_trend":
        return mean + draws["trend"][:, region] * d["t"].to_numpy()
    return mean + draws["year_effect"][:, pd.Categorical(d["year"], categories=design.years).codes]


def _prior_draws(design: _Design, time: str, likelihood: str, priors: Mapping[str, float], n: int,
                 rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``n`` draws of the parameters from the prior (the model's own distributions, in NumPy) and
    of ``y`` from the prior predictive (sample x obs)."""
    n_regions, to_natural = len(design.regions), design.y_scale / design.x_scale
    p = priors
    draws = {"mu_beta_std": rng.normal(0.0, p["mu_beta"], n)}
    fixed = p.get("tau_beta_fixed")
    draws["tau_beta_std"] = (np.full(n, fixed / to_natural) if fixed is not None
                             else np.abs(rng.normal(0.0, p["tau_beta"], n)))
    z = rng.normal(0.0, 1.0, (n, n_regions))
    if not (fixed is not None and fixed / to_natural > p["mu_beta"]):
        draws["z_beta"] = z
    draws["beta_std"] = draws["mu_beta_std"][:, None] + draws["tau_beta_std"][:, None] * z
    draws["intercept"] = rng.normal(0.0, p["intercept"], (n, n_regions))
    if time == "region_trend":
        draws["trend"] = rng.normal(0.0, p["trend"], (n, n_regions))
    else:
        draws["year_sd"] = np.abs(rng.normal(0.0, p["year"], n))
        e = rng.normal(0.0, 1.0, (n, len(design.years)))
        draws["year_effect"] = draws["year_sd"][:, None] * (e - e.mean(axis=1, keepdims=True))
    draws["sigma"] = np.abs(rng.normal(0.0, p["sigma"], n))
    if likelihood == "student_t":
        draws["nu"] = rng.gamma(2.0, 1.0 / p["nu"], n)
    draws["elasticity"] = draws["beta_std"] * to_natural
    draws["mu_beta"] = draws["mu_beta_std"] * to_natural
    draws["tau_beta"] = draws["tau_beta_std"] * to_natural
    return draws, _simulate_y(draws, design, time, likelihood, rng)


def _simulate_y(draws, design: _Design, time: str, likelihood: str, rng: np.random.Generator) -> np.ndarray:
    mean = _mean(draws, design, time)
    noise = (rng.standard_t(draws["nu"][:, None], mean.shape) if likelihood == "student_t"
             else rng.standard_normal(mean.shape))
    return mean + draws["sigma"][:, None] * noise


def _log_likelihood(draws, design: _Design, time: str, likelihood: str) -> np.ndarray:
    """Pointwise log density of the observed ``y`` (sample x obs), standardized scale."""
    from scipy import special

    sigma = draws["sigma"][:, None]
    z = (design.data["y"].to_numpy() - _mean(draws, design, time)) / sigma
    if likelihood == "student_t":
        nu = draws["nu"][:, None]
        return (special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2) - 0.5 * np.log(np.pi * nu) - np.log(sigma)
                - (nu + 1) / 2 * np.log1p(z**2 / nu))
    return -0.5 * z**2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)


def _add_predictive(idata, design: _Design, time: str, likelihood: str, priors: Mapping[str, float],
                    seeds: Sequence[int]) -> None:
    """Prior (500 draws), prior and posterior predictive and the pointwise log likelihood of ``y``,
    computed from the model's closed form (``_prior_draws``, ``_log_likelihood``), not recompiled."""
    posterior = idata.posterior
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    prior, prior_y = _prior_draws(design, time, likelihood, priors, 500, np.random.default_rng(seeds[0]))
    flat = {name: posterior[name].values.reshape(chains * draws, *posterior[name].shape[2:])
            for name in ("intercept", "beta_std", "trend", "year_effect", "sigma", "nu") if name in posterior}
    predicted = _simulate_y(flat, design, time, likelihood, np.random.default_rng(seeds[1]))
    log_lik = _log_likelihood(flat, design, time, likelihood)
    sampled = (posterior["chain"].values, posterior["draw"].values)
    prior_draws = ([0], np.arange(500))
    idata.add_groups({
        "prior": _dataset({k: v[None] for k, v in prior.items()}, *prior_draws, design),
        "prior_predictive": _dataset({"y": prior_y[None]}, *prior_draws, design),
        "posterior_predictive": _dataset({"y": predicted.reshape(chains, draws, -1)}, *sampled, design),
        "log_likelihood": _dataset({"y": log_lik.reshape(chains, draws, -1)}, *sampled, design)})


_DIMS = {"z_beta": ("region",), "beta_std": ("region",), "intercept": ("region",), "trend": ("region",),
         "year_effect": ("year",), "elasticity": ("region",), "y": ("obs",)}


def _dataset(variables: Mapping[str, np.ndarray], chain, draw, design: _Design) -> xr.Dataset:
    labels = {"region": design.regions, "year": design.years, "obs": np.arange(len(design.data))}
    used = {d for name in variables for d in _DIMS.get(name, ())}
    return xr.Dataset({name: (("chain", "draw", *_DIMS.get(name, ())), value) for name, value in variables.items()},
                      coords={"chain": chain, "draw": draw, **{d: labels[d] for d in used}})


# ------------------------------------------------------------------ result
@dataclass(frozen=True, eq=False)
class ElasticityResult:
    """Posterior of the region elasticities, the population elasticity and their spread.

    Attributes
    ----------
    idata
        ``arviz.InferenceData``: posterior (``elasticity`` over ``region``, ``mu_beta``,
        ``tau_beta``, ...), prior, prior and posterior predictive (``y`` on the model's scale
        and the outcome itself over ``obs``), observed data, log likelihood (outcome scale),
        sample stats. ``obs`` carries ``region`` and ``year`` coordinates.
    elasticities
        Posterior draws of each region's elasticity (``chain, draw, region``).
    least_squares
        Per-region least-squares elasticities of the same specification (no pooling).
    diagnostics
        r_hat, bulk and tail ESS by parameter, plus divergences and tree-depth hits.
    excluded
        Region-years not used, with the reason.
    """

    idata: object = field(repr=False)
    elasticities: xr.DataArray = field(repr=False)
    least_squares: pd.Series
    diagnostics: pd.DataFrame = field(repr=False)
    divergences: int
    max_treedepth_hits: int
    spec: Mapping[str, object] = field(default_factory=dict)
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    design: _Design | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        s = self.spec
        return f"{s['form']}, {s['time'].replace('_', ' ')}, {s['likelihood'].replace('_', '-')}"

    @property
    def mu_beta(self) -> xr.DataArray:
        """Posterior draws of the population (mean) elasticity."""
        return self.idata.posterior["mu_beta"]

    @property
    def tau_beta(self) -> xr.DataArray:
        """Posterior draws of the between-region standard deviation of elasticities."""
        return self.idata.posterior["tau_beta"]

    @property
    def converged(self) -> bool:
        return bool(self.diagnostics["ok"].all()) and self.divergences == 0 and self.max_treedepth_hits == 0

    def to_frame(self, hdi_prob: float = 0.9) -> pd.DataFrame:
        """One row per region plus ``mu_beta`` and ``tau_beta``: posterior mean, sd, equal-tailed
        interval, probability of a positive elasticity, and the least-squares estimate."""
        lo, hi = (1 - hdi_prob) / 2, 1 - (1 - hdi_prob) / 2
        rows = []
        for name, draws in [*((r, self.elasticities.sel(region=r)) for r in self.elasticities["region"].values),
                            ("mu_beta", self.mu_beta), ("tau_beta", self.tau_beta)]:
            v = np.asarray(draws).ravel()
            rows.append({"term": str(name), "estimate": v.mean(), "std_error": v.std(ddof=1),
                         "ci_low": np.quantile(v, lo), "ci_high": np.quantile(v, hi),
                         "prob_positive": (v > 0).mean(),
                         "least_squares": self.least_squares.get(name, np.nan)})
        return pd.DataFrame(rows).assign(method=f"hierarchical Bayes ({self.label}), {hdi_prob:.0%} interval")

    def summary(self) -> str:
        frame = self.to_frame().drop(columns="method").set_index("term")
        lines = [f"Hierarchical elasticity of {self.spec['outcome']} w.r.t. {self.spec['index']} ({self.label}); "
                 f"{len(self.elasticities['region'])} regions, {self.spec['n_obs']} region-years; "
                 "posterior mean, sd, 90% interval",
                 frame.to_string(float_format=lambda x: f"{x:.3f}")]
        if not self.converged:
            bad = self.diagnostics.index[~self.diagnostics["ok"]].tolist()
            lines.append(f"! sampler diagnostics failed: {bad[:8]}, {self.divergences} divergences, "
                         f"{self.max_treedepth_hits} tree-depth hits")
        if len(self.excluded):
            lines.append(f"! {len(self.excluded)} region-year(s) not used (see .excluded)")
        return "\n".join(lines)

    @literal_plot
    def plot(self, ax=None, hdi_prob: float = 0.9):
        """Forest plot: partial-pooling elasticities (intervals) beside the per-region least-squares
        ones, regions ordered by posterior mean, ``mu_beta`` shaded; returns the Axes."""
        import matplotlib.pyplot as plt

        frame = self.to_frame(hdi_prob)
        regions = frame[~frame["term"].isin(["mu_beta", "tau_beta"])].sort_values("estimate")
        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 0.6 + 0.32 * len(regions)))
        y = np.arange(len(regions))
        mu = frame.set_index("term").loc["mu_beta"]
        ax.axvspan(mu["ci_low"], mu["ci_high"], color="C0", alpha=0.12, lw=0,
                   label=f"mu_beta {hdi_prob:.0%} interval")
        ax.axvline(0, color="0.5", lw=0.8)
        ax.hlines(y, regions["ci_low"], regions["ci_high"], color="C0")
        ax.plot(regions["estimate"], y, "o", color="C0", label="partial pooling (posterior mean)")
        ax.plot(regions["least_squares"], y, "x", color="C3", label="per-region least squares")
        ax.set_yticks(y, regions["term"])
        ax.set_xlabel(f"elasticity of {self.spec['outcome']} w.r.t. {self.spec['index']}")
        ax.set_title(f"Shrinkage: {self.label}", fontsize="small")
        ax.legend(fontsize="x-small", loc="best")
        return ax

    def predictive_check(self) -> pd.DataFrame:
        """Prior and posterior predictive checks: for summary statistics T of the outcome (on the
        model's standardized scale), the share of replicated datasets with T(y_rep) >= T(y).

        Values near 0 or 1 in the posterior column flag what the model fails to reproduce; the
        prior column shows whether the priors allow data like the observed at all (Gabry et al.
        2019). Plot them with ``arviz.plot_ppc(result.idata, var_names=[outcome])``.
        """
        observed = self.idata.observed_data["y"].values
        regions = self.design.data["region"].to_numpy()

        def statistics(y):                                   # y: (draws, obs)
            frame = pd.DataFrame(y.T).groupby(regions)
            return {"mean": y.mean(axis=1), "sd": y.std(axis=1), "min": y.min(axis=1), "max": y.max(axis=1),
                    "largest region sd": frame.std().max(axis=0).to_numpy(),
                    "largest year-on-year change": np.abs(np.diff(y, axis=1)).max(axis=1)}

        observed_t = {k: float(v[0]) for k, v in statistics(observed[None, :]).items()}
        rows = {}
        for group in ("prior_predictive", "posterior_predictive"):
            replicated = self.idata[group]["y"].stack(sample=("chain", "draw")).transpose("sample", "obs").values
            replicated_t = statistics(replicated)
            rows[group.split("_")[0]] = {k: float((v >= observed_t[k]).mean()) for k, v in replicated_t.items()}
        table = pd.DataFrame(rows)
        table.insert(0, "observed", pd.Series(observed_t))
        table.index.name = "statistic (standardized y)"
        return table

    def counterfactual(self, year: int, rise: float = 0.01) -> xr.DataArray:
        """Posterior of each region's outcome change (outcome units) from raising the index by ``rise``
        in ``year``: ``GRP * ((1 + rise)^beta_r - 1)`` (log-log) or ``beta_r * mean GRP / mean IMP *
        rise * IMP`` (linear), with the observed values of ``year`` (paper 000's 5.7 bn / 44 bn)."""
        d = self.design.data
        rows = d[d["year"] == year].set_index("region")
        if rows.empty:
            raise SpecificationError(f"no region has year {year}; years used: {self.design.years}.")
        beta = self.elasticities.sel(region=rows.index.tolist())
        grp = xr.DataArray(rows[self.spec["outcome"]].to_numpy(), coords={"region": rows.index.tolist()})
        if self.spec["form"] == "log-log":
            change = grp * ((1 + rise) ** beta - 1)
        else:
            imp = xr.DataArray(rows[self.spec["index"]].to_numpy(), coords={"region": rows.index.tolist()})
            slope = beta * xr.DataArray((self.design.outcome_mean / self.design.index_mean)[rows.index].to_numpy(),
                                        coords={"region": rows.index.tolist()})
            change = slope * rise * imp
        return change.rename(f"{self.spec['outcome']}_change").assign_attrs(
            year=year, rise=rise, units=self.spec.get("units", ""))


# ------------------------------------------------------------------ fitting
def hierarchical_elasticity(
    panel: RegionPanel,
    outcome: str = "grp",
    index: str = "attractiveness_index",
    *,
    form: Literal["log-log", "linear"] = "log-log",
    time: Literal["region_trend", "year_effects"] = "region_trend",
    likelihood: Literal["normal", "student_t"] = "normal",
    priors: Mapping[str, float] | None = None,
    regions: Sequence[str] | None = None,
    sampler: Literal["auto", "pymc", "nutpie", "numpyro", "blackjax"] = "auto",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.9,
    random_seed: int | None = None,
    progress: bool = True,
) -> ElasticityResult:
    """Elasticities of ``outcome`` with respect to ``index`` for all regions, partially pooled.

    Parameters
    ----------
    panel
        The panel; regions with fewer than 3 years of both variables are excluded (reported).
    outcome, index
        Variables of the panel (GRP and the attractiveness index by default).
    form
        ``"log-log"`` (paper 000's power model) or ``"linear"`` (elasticity at the region means).
    time
        ``"region_trend"`` (paper 000's ``c t`` per region) or ``"year_effects"`` (shared shocks).
    likelihood
        ``"normal"`` or ``"student_t"`` (robust to outlying years).
    priors
        Overrides of :data:`DEFAULT_PRIORS` (scales on the standardized data) and optionally
        ``tau_beta_fixed``.
    regions
        Restrict to these regions (an error if any has fewer than 3 usable years).
    sampler
        NUTS implementation: ``"auto"`` (nutpie where installed, else PyMC's own), ``"pymc"``,
        ``"nutpie"``, ``"numpyro"`` or ``"blackjax"`` (see :mod:`kzcausal.bayes.sampling`). Models
        of the same shape compile once per process; later fits only swap the data in.
    draws, tune, chains, target_accept, random_seed
        NUTS settings; the same seed gives identical draws on the same machine.
    progress
        Show the sampler's progress bar.

    Returns
    -------
    ElasticityResult

    References
    ----------
    Gelman, A. & Hill, J. (2007), *Data Analysis Using Regression and Multilevel/Hierarchical
    Models*; Betancourt, M. & Girolami, M. (2015) on the non-centred parametrization;
    Vehtari, A., Gelman, A. & Gabry, J. (2017) on PSIS-LOO.
    """
    if form not in ("log-log", "linear"):
        raise SpecificationError(f"form must be 'log-log' or 'linear'; got {form!r}.")
    if time not in ("region_trend", "year_effects"):
        raise SpecificationError(f"time must be 'region_trend' or 'year_effects'; got {time!r}.")
    if likelihood not in ("normal", "student_t"):
        raise SpecificationError(f"likelihood must be 'normal' or 'student_t'; got {likelihood!r}.")
    checked = check_sampling(draws=draws, tune=tune, chains=chains, target_accept=target_accept,
                             random_seed=random_seed, progress=progress, sampler=sampler)
    sampler, draws, tune, chains, random_seed = (checked["sampler"], checked["draws"], checked["tune"],
                                                 checked["chains"], checked["random_seed"])
    prior_scales = _priors(priors)
    design = _design(panel, outcome, index, form, regions)
    model = _build_model(design, time, likelihood, prior_scales)
    seeds = np.random.default_rng(random_seed).integers(0, 2**31 - 1, size=3)
    idata = sample_nuts(model, sampler, draws=draws, tune=tune, chains=chains, target_accept=target_accept,
                        random_seed=int(seeds[0]), progress=progress)
    _add_predictive(idata, design, time, likelihood, prior_scales, [int(seeds[1]), int(seeds[2])])
    _to_outcome_scale(idata, design, form, outcome)
    diagnostics, divergences, depth_hits = convergence_diagnostics(idata)
    spec = dict(outcome=outcome, index=index, form=form, time=time, likelihood=likelihood, priors=prior_scales,
                sampler=sampler, draws=draws, tune=tune, chains=chains, random_seed=random_seed,
                n_obs=len(design.data), units=panel.units.get(outcome, ""), regions=regions,
                target_accept=target_accept)
    result = ElasticityResult(idata=idata, elasticities=idata.posterior["elasticity"],
                              least_squares=_least_squares(design, time), diagnostics=diagnostics,
                              divergences=divergences, max_treedepth_hits=depth_hits, spec=spec,
                              excluded=design.excluded, design=design)
    _warn_if_not_converged(result)
    return result


def _to_outcome_scale(idata, design: _Design, form: str, outcome: str) -> None:
    """Label observations by region and year; add the outcome-scale predictive and log likelihood."""
    d = design.data
    coords = {"region": ("obs", d["region"].to_numpy()), "year": ("obs", d["year"].to_numpy())}
    for group in ("posterior_predictive", "prior_predictive", "observed_data", "log_likelihood"):
        if group in idata.groups():
            setattr(idata, group, idata[group].assign_coords(coords))
    if form == "log-log":
        centre = np.log(d[outcome]) - d["y"] * design.y_scale       # region mean of log outcome
        def back(y):
            with np.errstate(over="ignore"):                    # heavy-tailed prior draws may overflow
                return np.exp(centre.to_numpy() + design.y_scale * y)
        jacobian = -np.log(design.y_scale * d[outcome].to_numpy())
    else:
        level = d["region"].map(design.outcome_mean).to_numpy()
        back = lambda y: level * (1.0 + design.y_scale * y)  # noqa: E731
        jacobian = -np.log(design.y_scale * level)
    for group in ("posterior_predictive", "prior_predictive"):
        if group in idata.groups():
            idata[group][outcome] = xr.apply_ufunc(back, idata[group]["y"])
    idata.observed_data[outcome] = ("obs", d[outcome].to_numpy())
    idata.log_likelihood[outcome] = idata.log_likelihood["y"] + xr.DataArray(jacobian, dims="obs")
    idata.log_likelihood = idata.log_likelihood[[outcome]]


def _least_squares(design: _Design, time: str) -> pd.Series:
    """No-pooling elasticities by least squares: each region its own intercept, elasticity and trend
    (``region_trend``), or its own intercept and elasticity with year effects shared (``year_effects``)."""
    d = design.data
    region = pd.get_dummies(pd.Categorical(d["region"], categories=design.regions)).to_numpy(float)
    blocks = [region, region * d["x"].to_numpy()[:, None]]
    if time == "region_trend":
        blocks.append(region * d["t"].to_numpy()[:, None])
    else:
        blocks.append(pd.get_dummies(pd.Categorical(d["year"], categories=design.years)).to_numpy(float)[:, 1:])
    coef, *_ = np.linalg.lstsq(np.hstack(blocks), d["y"].to_numpy(), rcond=None)
    slopes = coef[len(design.regions):2 * len(design.regions)]
    return pd.Series(slopes * design.y_scale / design.x_scale, index=design.regions, name="least_squares")


def _warn_if_not_converged(result: ElasticityResult) -> None:
    if result.converged:
        return
    bad = result.diagnostics[~result.diagnostics["ok"]]
    parts = []
    if len(bad):
        parts.append(f"r_hat > {RHAT_MAX} or ESS < {ESS_MIN} for {bad.index.tolist()[:10]}"
                     + (f" and {len(bad) - 10} more" if len(bad) > 10 else ""))
    if result.divergences:
        parts.append(f"{result.divergences} divergent transitions")
    if result.max_treedepth_hits:
        parts.append(f"{result.max_treedepth_hits} draws hit the maximum tree depth")
    warnings.warn("the sampler's diagnostics failed: " + "; ".join(parts) + ". Sample longer (draws=, tune=), raise "
                  "target_accept, or simplify the model before reading the posterior.", ConvergenceWarning,
                  stacklevel=3)


# ------------------------------------------------------------------ model checking
def compare_models(results: Sequence[ElasticityResult] | Mapping[str, ElasticityResult]) -> pd.DataFrame:
    """Rank fitted models by PSIS-LOO expected log predictive density (arviz ``compare``).

    The log likelihood is on the outcome's own scale, so linear and log-log models are
    comparable. Pareto k > 0.7 observations are reported in a warning naming the model and the
    region-years (Vehtari, Gelman & Gabry 2017).
    """
    import arviz as az

    if isinstance(results, Mapping):
        named = dict(results)
    else:
        labels = [r.label for r in results]
        named = {(label if labels.count(label) == 1 else f"{label} #{i + 1}"): r
                 for i, (label, r) in enumerate(zip(labels, results))}
    if len(named) < 2:
        raise SpecificationError("compare_models needs at least two fitted models.")
    data = [r.design.data[["region", "year", r.spec["outcome"]]].to_numpy().tolist() for r in named.values()]
    if any(d != data[0] for d in data):
        raise SpecificationError("the models were fitted on different data (region-years or outcome values); "
                                 "PSIS-LOO compares models of the same observations. Fit them on the same panel, "
                                 "regions and outcome.")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Pareto.*")
        warnings.filterwarnings("ignore", message=".*pareto.*")
        loos = {name: az.loo(r.idata, pointwise=True) for name, r in named.items()}
        table = az.compare({name: r.idata for name, r in named.items()}, ic="loo")
    for name, loo in loos.items():
        k = np.asarray(loo.pareto_k)
        high = np.flatnonzero(k > 0.7)
        if len(high):
            d = named[name].design.data.iloc[high]
            where = ", ".join(f"{r} {y}" for r, y in zip(d["region"], d["year"]))
            warnings.warn(f"model {name!r}: Pareto k > 0.7 for {len(high)} region-year(s) ({where}); PSIS-LOO is "
                          "unreliable there (consider likelihood='student_t' or exact leave-one-out).",
                          KzCausalWarning, stacklevel=2)
    table["max_pareto_k"] = [float(np.max(loos[n].pareto_k)) for n in table.index]
    return table


def prior_sensitivity(result: ElasticityResult, panel: RegionPanel, factor: float = 2.0, *,
                      progress: bool = False) -> pd.DataFrame:
    """Refit with every prior scale multiplied by ``factor`` and report how the posterior moved.

    Returns one row per region plus ``mu_beta`` and ``tau_beta``: posterior means and sds under
    both priors, and the shift of the mean in units of the original posterior sd.
    """
    s = result.spec
    wider = {k: v * factor if k != "nu" else v / factor for k, v in s["priors"].items()}
    refit = hierarchical_elasticity(panel, s["outcome"], s["index"], form=s["form"], time=s["time"],
                                    likelihood=s["likelihood"], priors=wider, regions=s["regions"],
                                    sampler=s["sampler"], draws=s["draws"], tune=s["tune"], chains=s["chains"],
                                    target_accept=s["target_accept"], random_seed=s["random_seed"],
                                    progress=progress)
    a, b = result.to_frame().set_index("term"), refit.to_frame().set_index("term")
    out = pd.DataFrame({"mean": a["estimate"], "sd": a["std_error"], f"mean_x{factor:g}": b["estimate"],
                        f"sd_x{factor:g}": b["std_error"]})
    out["shift_in_sd"] = (out[f"mean_x{factor:g}"] - out["mean"]) / out["sd"]
    return out
