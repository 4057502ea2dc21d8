"""Sampler diagnostics for every scalar of a posterior at once: rank-normalized split r_hat, bulk
and tail ESS (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021).

The numbers are arviz's (``az.summary(kind="diagnostics")``: same split chains, rank
normalization, Geyer's initial monotone sequence, 5% and 95% tail quantiles); they are computed
here on one (chain, draw, scalar) array instead of one scalar at a time, which on a hierarchical
posterior of a hundred scalars takes milliseconds instead of about a second.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

__all__ = ["convergence_diagnostics", "rhat_ess", "mcse", "posterior_difference_z", "RHAT_MAX", "ESS_MIN"]

RHAT_MAX, ESS_MIN = 1.01, 400


def convergence_diagnostics(idata, var_names: Sequence[str] | None = None) -> tuple[pd.DataFrame, int, int]:
    """r_hat, bulk and tail ESS for each parameter, plus divergences and tree-depth hits.

    ``ok`` is False where r_hat > 1.01 or either ESS < 400 (Vehtari et al. 2021). Rows are named
    as arviz names them (``elasticity[Region 01]``).
    """
    posterior = idata.posterior
    # constants (a fixed tau_beta) have no sampling diagnostics
    names = list(var_names or [v for v in posterior.data_vars if float(posterior[v].std()) > 0])
    labels, columns = [], []
    for name in names:
        values = posterior[name].transpose("chain", "draw", ...)
        extra = values.dims[2:]
        flat = values.values.reshape(values.shape[0], values.shape[1], -1)
        if extra:
            index = [values[d].values for d in extra]
            labels += [f"{name}[{', '.join(str(index[i][j]) for i, j in enumerate(at))}]"
                       for at in np.ndindex(*values.shape[2:])]
        else:
            labels.append(name)
        columns.append(flat)
    r_hat, ess_bulk, ess_tail = rhat_ess(np.concatenate(columns, axis=2))
    table = pd.DataFrame({"r_hat": r_hat, "ess_bulk": ess_bulk, "ess_tail": ess_tail}, index=labels)
    chains = posterior.sizes["chain"]
    # r_hat is undefined with one chain: judge only the ESS then
    rhat_ok = (table["r_hat"] <= RHAT_MAX) | (chains < 2) | table["r_hat"].isna()
    table["ok"] = rhat_ok & (table["ess_bulk"] >= ESS_MIN) & (table["ess_tail"] >= ESS_MIN)
    sample_stats = idata.sample_stats
    divergences = int(sample_stats["diverging"].sum()) if "diverging" in sample_stats else 0
    depth_name = next((n for n in ("reached_max_treedepth", "maxdepth_reached", "tree_depth_hit")
                       if n in sample_stats), None)
    depth_hits = int(sample_stats[depth_name].sum()) if depth_name else 0
    return table, divergences, depth_hits


def rhat_ess(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank-normalized split r_hat (the larger of bulk and folded), bulk ESS and tail ESS of each
    column of ``draws`` (chain x draw x scalar); NaN where arviz gives NaN (r_hat with one chain,
    fewer than 4 draws, non-finite draws)."""
    draws = np.asarray(draws, dtype=float)
    chains, n_draws, k = draws.shape
    nan = np.full(k, np.nan)
    if n_draws < 4:
        return nan, nan.copy(), nan.copy()
    finite = np.isfinite(draws).all(axis=(0, 1))
    pooled = draws.reshape(-1, k)
    z = _rank_normal(_split(draws))
    ess_bulk = _ess(z)
    low, high = np.quantile(pooled, [0.05, 0.95], axis=0)
    ess_tail = np.minimum(_ess(_split(draws <= low)), _ess(_split(draws <= high)))
    if chains >= 2:
        folded = np.abs(draws - np.median(pooled, axis=0))
        r_hat = np.maximum(_rhat(z), _rhat(_rank_normal(_split(folded))))
    else:
        r_hat = nan.copy()
    return tuple(np.where(finite, v, np.nan) for v in (r_hat, ess_bulk, ess_tail))


def mcse(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo standard errors of the posterior mean and sd of each column of ``draws`` (chain x
    draw x scalar), from the ESS of the draws and of their squared deviations (arviz's ``mcse``)."""
    draws = np.asarray(draws, dtype=float)
    pooled = draws.reshape(-1, draws.shape[2])
    squares = (draws - pooled.mean(axis=0)) ** 2
    mcse_mean = np.sqrt(pooled.var(axis=0, ddof=1) / _ess(_split(draws)))
    variance = squares.reshape(pooled.shape).mean(axis=0)
    var_of_var = ((squares**2).reshape(pooled.shape).mean(axis=0) - variance**2) / _ess(_split(squares))
    return mcse_mean, np.sqrt(var_of_var / variance / 4)


def posterior_difference_z(first, second, var_names: Sequence[str]) -> pd.DataFrame:
    """How far two independent runs' posteriors are apart, in Monte Carlo standard errors.

    For each scalar of ``var_names`` (present in both ``posterior`` datasets, dims ``chain``,
    ``draw``, ...), the difference of the posterior means and of the posterior sds divided by
    their combined MCSE (``mcse`` of each run, from its own ESS). If both runs sample the same
    posterior, each z is approximately standard normal, whatever the seeds, machine or libraries.
    Returns a table (``z_mean``, ``z_sd``) indexed like :func:`convergence_diagnostics`.
    """
    rows = []
    for name in var_names:
        arrays = [p[name].transpose("chain", "draw", ...) for p in (first, second)]
        (a, b) = [v.values.reshape(v.shape[0], v.shape[1], -1).astype(float) for v in arrays]
        (mean_a, sd_a), (mean_b, sd_b) = mcse(a), mcse(b)
        mean_gap = a.mean(axis=(0, 1)) - b.mean(axis=(0, 1))
        sd_gap = a.reshape(-1, a.shape[2]).std(axis=0, ddof=1) - b.reshape(-1, b.shape[2]).std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):      # a constant in both runs: no gap, z = 0
            z_mean = np.where(mean_gap == 0, 0.0, mean_gap / np.hypot(mean_a, mean_b))
            z_sd = np.where(sd_gap == 0, 0.0, sd_gap / np.hypot(sd_a, sd_b))
        extra = arrays[0].dims[2:]
        labels = ([f"{name}[{', '.join(str(arrays[0][d].values[i]) for d, i in zip(extra, at))}]"
                   for at in np.ndindex(*arrays[0].shape[2:])] if extra else [name])
        rows += [{"parameter": label, "z_mean": zm, "z_sd": zs} for label, zm, zs in zip(labels, z_mean, z_sd)]
    return pd.DataFrame(rows).set_index("parameter")


def _split(draws: np.ndarray) -> np.ndarray:
    half = draws.shape[1] // 2
    return np.concatenate([draws[:, :half], draws[:, -half:]], axis=0).astype(float)


def _rank_normal(split: np.ndarray) -> np.ndarray:
    m, n, k = split.shape
    ranks = stats.rankdata(split.reshape(m * n, k), method="average", axis=0)
    return special.ndtri((ranks - 3 / 8) / (m * n + 1 / 4)).reshape(m, n, k)


def _rhat(chains: np.ndarray) -> np.ndarray:
    n = chains.shape[1]
    between = n * chains.mean(axis=1).var(axis=0, ddof=1)
    within = chains.var(axis=1, ddof=1).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt((between / within + n - 1) / n)


def _ess(chains: np.ndarray) -> np.ndarray:
    """ESS of each column (chain x draw x scalar): FFT autocovariances, Geyer's initial monotone
    sequence (Geyer 1992), as arviz's ``_ess``."""
    m, n, k = chains.shape
    size = m * n
    constant = (chains.max(axis=(0, 1)) - chains.min(axis=(0, 1))) < np.finfo(float).resolution
    length = _fast_length(2 * n)
    centred = chains - chains.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=length, axis=1)
    acov = np.fft.irfft(spectrum * np.conjugate(spectrum), n=length, axis=1)[:, :n] / n
    mean_var = acov[:, 0].mean(axis=0) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if m > 1:
        var_plus = var_plus + chains.mean(axis=1).var(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = 1.0 - (mean_var - acov.mean(axis=0)) / var_plus          # lag x scalar
    out = np.empty(k)
    for j in range(k):
        out[j] = size if constant[j] else _geyer(rho[:, j], n, size)
    return out


def _geyer(rho: np.ndarray, n: int, size: int) -> float:
    rho_hat = np.zeros(n)
    rho_hat[0] = rho_even = 1.0
    rho_hat[1] = rho_odd = rho[1]
    t = 1
    while t < n - 3 and rho_even + rho_odd > 0.0:
        rho_even, rho_odd = rho[t + 1], rho[t + 2]
        if rho_even + rho_odd >= 0:
            rho_hat[t + 1], rho_hat[t + 2] = rho_even, rho_odd
        t += 2
    max_t = t - 2
    if rho_even > 0:
        rho_hat[max_t + 1] = rho_even
    t = 1
    while t <= max_t - 2:
        if rho_hat[t + 1] + rho_hat[t + 2] > rho_hat[t - 1] + rho_hat[t]:
            rho_hat[t + 1] = rho_hat[t + 2] = (rho_hat[t - 1] + rho_hat[t]) / 2.0
        t += 2
    tau = -1.0 + 2.0 * rho_hat[:max_t + 1].sum() + rho_hat[max_t + 1:max_t + 2].sum()
    tau = max(tau, 1 / np.log10(size))
    return np.nan if np.isnan(rho_hat).any() else size / tau


def _fast_length(n: int) -> int:
    from scipy.fft import next_fast_len

    return next_fast_len(n)
