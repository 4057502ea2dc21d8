"""Simulation-based calibration of the hierarchical elasticity model (Talts et al. 2018).

Draw parameters from the prior, simulate outcomes with the panel's own index and years, fit,
and record the rank of each true parameter among its (thinned) posterior draws. If the
sampler and the model are right, the ranks are uniform; a chi-square test over equal bins
says how far they are from it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats

from ..panel import RegionPanel
from ..errors import SpecificationError, check_count
from .hierarchical import _build_model, _design, _prior_draws, _priors
from .sampling import check_sampling, sample_nuts
from ..text import literal_plot

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

    @literal_plot
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
    sampler: str = "auto",
    random_seed: int | None = None,
    progress: bool = True,
) -> SBCResult:
    """Rank statistics of ``mu_beta`` and ``tau_beta`` over ``n_fits`` prior draws.

    The design (regions, years, the standardized index and time) comes from ``panel``; the
    outcome is simulated from the model's prior predictive, so the panel's outcome is not
    used. Posterior draws are thinned by ``thin`` to reduce autocorrelation, giving ranks in
    ``0..chains * draws / thin``.

    The fits are independent tasks of :func:`kzcausal.parallel.map_tasks`: serial by default, on
    a Dask cluster after ``kz.config(backend="dask")``. Each fit's sampler seed comes from its own
    ``SeedSequence`` child of ``random_seed``, so the same seed gives the same ranks whatever the
    backend and the number of workers. With nutpie (``sampler="auto"`` where it is installed) the
    model is compiled once per process and each later fit only swaps the simulated outcome in
    (``kzcausal.bayes.sampling``); ``progress=False`` silences the progress bar.

    References
    ----------
    Talts, S., Betancourt, M., Simpson, D., Vehtari, A. & Gelman, A. (2018), "Validating
    Bayesian inference algorithms with simulation-based calibration", arXiv:1804.06788.
    """
    from ..parallel import map_tasks

    checked = check_sampling(draws=draws, tune=tune, chains=chains, random_seed=random_seed, progress=progress,
                             sampler=sampler)
    sampler, draws, tune, chains = checked["sampler"], checked["draws"], checked["tune"], checked["chains"]
    if sampler not in ("pymc", "nutpie"):
        raise SpecificationError(f"simulation-based calibration runs with sampler 'pymc' or 'nutpie'; got {sampler!r}. "
                                 "Fix: pass sampler='nutpie' or sampler='pymc'.")
    n_fits = check_count(n_fits, "n_fits", cap=10_000, unit_cost="one posterior fit",
                         fix="100 to 1,000 fits are usual for SBC")
    thin = check_count(thin, "thin", cap=max(draws, 1), fix="thin below draws")
    bins = check_count(bins, "bins", cap=1_000, fix="e.g. bins=20")
    if n_fits * draws * chains > 10**9:
        raise SpecificationError(f"n_fits x draws x chains = {n_fits * draws * chains:,} sampler steps is hours of "
                                 "work; the cap is 1,000,000,000. Fix: fewer fits or draws.")
    design = _design(panel, outcome, index, form, None)
    prior_scales = _priors(priors)
    root = np.random.SeedSequence(random_seed)
    prior_seed, fit_seeds = root.spawn(2)
    # the prior and prior predictive from the model's closed form (checked against PyMC's own draws in
    # tests/bayes/test_hierarchical.py), not PyMC's forward sampling, which compiles another function
    prior, simulated = _prior_draws(design, time, likelihood, prior_scales, n_fits, np.random.default_rng(prior_seed))
    settings = _Settings(design=design, time=time, likelihood=likelihood, priors=prior_scales, sampler=sampler,
                         draws=draws, tune=tune, chains=chains, thin=thin)
    tasks = [(settings, simulated[i], {name: float(prior[f"{name}_std"][i]) for name in PARAMETERS})
             for i in range(n_fits)]
    ranks = map_tasks(_rank_task, tasks, seed=fit_seeds, progress=progress, desc="simulation-based calibration")
    n_draws = chains * len(range(0, draws, thin))
    return SBCResult(ranks=pd.DataFrame(ranks, columns=list(PARAMETERS)), n_draws=n_draws, bins=bins,
                     spec=dict(n_fits=n_fits, form=form, time=time, likelihood=likelihood, draws=draws, tune=tune,
                               chains=chains, thin=thin, sampler=sampler, random_seed=random_seed))


PARAMETERS = ("mu_beta", "tau_beta")


@dataclass(frozen=True, eq=False)
class _Settings:
    """What every fit of one calibration shares (sent once per task; small)."""

    design: object
    time: str
    likelihood: str
    priors: Mapping[str, float]
    sampler: str
    draws: int
    tune: int
    chains: int
    thin: int


def _rank_task(task, seed: np.random.SeedSequence) -> dict[str, int]:
    """One fit of the model to one simulated outcome: the rank of each true parameter among the
    thinned posterior draws. The model is rebuilt here (cheap) so that the task carries only data;
    ``sample_nuts`` re-uses the process's compiled model of the same shape."""
    settings, y, truth = task
    s = settings
    design = replace(s.design, data=s.design.data.assign(y=y))
    model = _build_model(design, s.time, s.likelihood, s.priors)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        posterior = sample_nuts(model, s.sampler, draws=s.draws, tune=s.tune, chains=s.chains, target_accept=0.9,
                                random_seed=int(seed.generate_state(1)[0] >> 1), progress=False).posterior
    return {name: int((posterior[f"{name}_std"].values[:, ::s.thin].ravel() < truth[name]).sum())
            for name in PARAMETERS}
