"""Simulation-based calibration of the hierarchical elasticity model (Talts et al. 2018).

Draw parameters from the prior, simulate outcomes with the panel's own index and years, fit,
and record the rank of each true parameter among its (thinned) posterior draws. If the
sampler and the model are right, the ranks are uniform; a chi-square test over equal bins
says how far they are from it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..panel import RegionPanel
from ..errors import SpecificationError
from .hierarchical import _build_model, _check_sampler, _design, _priors

__all__ = ["simulation_based_calibration", "SBCResult"]


@dataclass(frozen=True, eq=False)
class SBCResult:
    """Ranks of the true parameters among ``n_draws`` posterior draws, one row per fit."""

    ranks: pd.DataFrame
    n_draws: int
    bins: int
    spec: Mapping[str, object] = field(default_factory=dict)

    def chi_square(self) -> pd.DataFrame:
        """Chi-square test of uniform ranks over ``bins`` equal bins, by parameter."""
        rows = {}
        for name, ranks in self.ranks.items():
            counts = np.histogram(ranks, bins=self.bins, range=(0, self.n_draws + 1))[0]
            statistic, p_value = stats.chisquare(counts)
            rows[name] = {"chi2": statistic, "df": self.bins - 1, "p_value": p_value}
        return pd.DataFrame(rows).T

    def summary(self) -> str:
        return (f"Simulation-based calibration: {len(self.ranks)} fits, ranks among {self.n_draws} draws, "
                f"{self.bins} bins\n" + self.chi_square().to_string(float_format=lambda x: f"{x:.4f}"))

    def to_frame(self) -> pd.DataFrame:
        return self.ranks.copy()

    def plot(self, axes=None):
        """Rank histograms with the 99% band of a uniform histogram; returns the Axes."""
        import matplotlib.pyplot as plt

        names = list(self.ranks.columns)
        if axes is None:
            _, axes = plt.subplots(1, len(names), figsize=(3.5 * len(names), 3), squeeze=False)
            axes = axes[0]
        n = len(self.ranks)
        low, high = stats.binom.ppf([0.005, 0.995], n, 1 / self.bins)
        for ax, name in zip(axes, names):
            ax.axhspan(low, high, color="0.85", lw=0)
            ax.hist(self.ranks[name], bins=self.bins, range=(0, self.n_draws + 1), color="C0", edgecolor="white")
            ax.set_title(f"rank of {name}", fontsize="small")
        return axes


def simulation_based_calibration(
    panel: RegionPanel,
    n_fits: int = 100,
    outcome: str = "grp",
    index: str = "attractiveness_index",
    *,
    form: str = "log-log",
    time: str = "region_trend",
    likelihood: str = "normal",
    priors: Mapping[str, float] | None = None,
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
    thin: int = 5,
    bins: int = 10,
    sampler: str = "pymc",
    random_seed: int | None = None,
    progress: bool = True,
) -> SBCResult:
    """Rank statistics of ``mu_beta`` and ``tau_beta`` over ``n_fits`` prior draws.

    The design (regions, years, the standardized index and time) comes from ``panel``; the
    outcome is simulated from the model's prior predictive, so the panel's outcome is not
    used. Posterior draws are thinned by ``thin`` to reduce autocorrelation, giving ranks in
    ``0..chains * draws / thin``. With ``sampler="nutpie"`` the model is compiled once and
    each fit only swaps the simulated outcome (about 0.2 s a fit instead of several).

    References
    ----------
    Talts, S., Betancourt, M., Simpson, D., Vehtari, A. & Gelman, A. (2018), "Validating
    Bayesian inference algorithms with simulation-based calibration", arXiv:1804.06788.
    """
    import pymc as pm
    from tqdm.auto import tqdm

    design = _design(panel, outcome, index, form, None)
    model = _build_model(design, time, likelihood, _priors(priors))
    rng = np.random.default_rng(random_seed)
    with model:
        prior = pm.sample_prior_predictive(draws=n_fits, random_seed=int(rng.integers(2**31 - 1)))
    truth = {name: prior.prior[f"{name}_std"].values.ravel() for name in ("mu_beta", "tau_beta")}
    simulated = prior.prior_predictive["y"].values.reshape(n_fits, -1)
    _check_sampler(sampler)
    if sampler not in ("pymc", "nutpie"):
        raise SpecificationError(f"simulation-based calibration runs with sampler 'pymc' or 'nutpie'; got {sampler!r}.")
    if sampler == "nutpie":
        import nutpie

        compiled = nutpie.compile_pymc_model(model)
    else:
        with model:
            step = pm.NUTS(target_accept=0.9)              # compiled once; each fit re-tunes it
    ranks = []
    for i in tqdm(range(n_fits), desc="simulation-based calibration", disable=not progress):
        seed = int(rng.integers(2**31 - 1))
        if sampler == "nutpie":
            posterior = nutpie.sample(compiled.with_data(y_obs=simulated[i]), draws=draws, tune=tune, chains=chains,
                                      seed=seed, progress_bar=False).posterior
        else:
            with model, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pm.set_data({"y_obs": simulated[i]})
                posterior = pm.sample(draws=draws, tune=tune, chains=chains, cores=1, step=step, progressbar=False,
                                      random_seed=seed, compute_convergence_checks=False).posterior
        ranks.append({name: int((posterior[f"{name}_std"].values[:, ::thin].ravel() < truth[name][i]).sum())
                      for name in truth})
    n_draws = chains * len(range(0, draws, thin))
    return SBCResult(ranks=pd.DataFrame(ranks), n_draws=n_draws, bins=bins,
                     spec=dict(n_fits=n_fits, form=form, time=time, likelihood=likelihood, draws=draws, tune=tune,
                               chains=chains, thin=thin, sampler=sampler, random_seed=random_seed))
