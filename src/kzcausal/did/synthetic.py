"""Estimators for few treated regions: synthetic DID and the synthetic control.

* :func:`synthetic_did`: Arkhangelsky, Athey, Hirshberg, Imbens & Wager (2021). Unit weights
  (regularised, with an intercept) make the controls' pre-period path parallel to the treated
  regions' mean; time weights (with an intercept, an "infinitesimal" ridge) make the
  weighted pre-period years predictive of the post-period; the effect is the weighted
  double difference. Variance by placebo (their Algorithm 4; the only one defined with one
  treated region), the fixed-weights jackknife (Algorithm 3) or the bootstrap (Algorithm 2).
  Weights, estimate and variance follow R ``synthdid`` as ported by diff-diff's
  ``SyntheticDiD`` (same normalisation, regularisation, Frank-Wolfe and stopping rule).
* :func:`synthetic_control`: Abadie, Diamond & Hainmueller (2010). Convex weights that best
  reproduce each treated region's pre-period outcomes (or pre-period means of predictors,
  weighted by their inverse variances), solved exactly by one non-negative least squares;
  inference by placebos in space (each control region in turn, post/pre RMSPE ratios).

Both take panels with one adoption year (several treated regions adopting together, as the
six Serpin-2050 receiving regions from 2014, are fine) and return results that checks
re-estimate (``refit``), permute (``permuted``: every assignment's point estimate at once)
and wild-bootstrap (``regression``: the estimator's weighted regression with the weights held
fixed, Arkhangelsky et al. 2021 eq. 1-2).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize

from ..errors import (KzCausalWarning, SpecificationError, check_alpha, check_count, check_flag, check_names,
                      check_seed, show_rows)
from ..panel import RegionPanel
from ..results import EstimationResult, RegressionForm, axes_for, coefficient_table
from ..design import Assignment, FitSettings, check_outcome_varies, check_panel, estimation_rows, positional_deprecated, \
    renamed, resolve_assignment

__all__ = ["synthetic_did", "synthetic_control", "SyntheticDIDResult", "SyntheticControlResult"]

Variance = Literal["placebo", "jackknife", "bootstrap"]

#: R synthdid's Frank-Wolfe budget: 100 iterations, sparsify, then up to 10,000.
_PRE_SPARSIFY_ITER = 100
_MAX_ITER = 10_000
#: Doubles one batch of Frank-Wolfe problems may hold in Gram matrices (~200 MB).
_BATCH_DOUBLES = 25_000_000
#: Placebo averages over control subsets: all of them up to this many, else a random sample of this size.
_MAX_PLACEBO_SETS = 20_000
#: The most placebo or bootstrap replications accepted: each re-solves both weight problems (~1 ms on 20 x 15).
MAX_REPS = 100_000


# ====================================================================== validation (shared)
def _panel_rows(panel: RegionPanel, outcome: str, assignment: dict, estimator: str, extra: Sequence[str] = ()
                ) -> tuple[pd.DataFrame, Assignment, tuple[str, ...]]:
    """Estimation rows ``region, year, <outcome>, cohort (adoption year / inf)[, extra]``, the assignment (one
    adoption year) and the notes."""
    check_panel(panel)
    resolved = resolve_assignment(panel, estimator=estimator, single_cohort=True, **assignment)
    rows, notes = estimation_rows(panel, outcome, resolved, extra=extra)
    return rows, resolved, notes


@dataclass(frozen=True)
class _Block:
    """A single-adoption design as a matrix: ``Y`` is regions x years, regions sorted by name."""

    Y: np.ndarray
    regions: tuple[str, ...]
    treated: np.ndarray          # bool per region
    years: np.ndarray
    adoption: int
    n_pre: int
    dropped: tuple[str, ...]

    @property
    def control_names(self) -> list[str]:
        return [r for r, t in zip(self.regions, self.treated) if not t]

    @property
    def treated_names(self) -> list[str]:
        return [r for r, t in zip(self.regions, self.treated) if t]


def _block(rows: pd.DataFrame, outcome: str, *, min_pre: int, estimator: str) -> _Block:
    """Validate estimation rows into the regions x years matrix both estimators need."""
    cohort = rows["cohort"].to_numpy(float)
    adoption = np.unique(cohort[np.isfinite(cohort)])
    if len(adoption) == 0:
        raise SpecificationError(f"{estimator}: no treated region in these rows; name the treated regions.")
    if len(adoption) > 1:
        raise SpecificationError(f"{estimator} needs one adoption year for every treated region; these rows have "
                                 f"{[int(a) for a in adoption]}. Fix: estimate each adoption cohort separately (its "
                                 "regions against the never-treated), or use kz.staggered_did.")
    g = int(adoption[0])
    years = np.sort(pd.unique(rows["year"]).astype(int))
    n_pre, n_post = int((years < g).sum()), int((years >= g).sum())
    if n_pre < min_pre:
        why = " (the noise level that sets the regularisation is the sd of first differences)" if min_pre > 1 else ""
        raise SpecificationError(f"post_from={g}: the rows cover {years[0]}-{years[-1]}, so there "
                                 f"{'is no pre-period' if n_pre == 0 else f'are only {n_pre} pre-period year(s)'}; "
                                 f"{estimator} needs at least {min_pre}{why}. Fix: a later post_from or a panel "
                                 "starting earlier.")
    if n_post == 0:
        raise SpecificationError(f"post_from={g}: the rows end in {years[-1]}, so there is no post-period. Fix: an "
                                 "earlier post_from or a panel running later.")
    wide = rows.pivot(index="region", columns="year", values=outcome).reindex(columns=years)
    first = rows.groupby("region")["cohort"].first()
    treated = sorted(first.index[np.isfinite(first.to_numpy(float))])
    controls = sorted(first.index[~np.isfinite(first.to_numpy(float))])
    gaps = wide.loc[treated].isna()
    if gaps.to_numpy().any():
        bad = {r: [int(y) for y in years[gaps.loc[r].to_numpy()]] for r in treated if gaps.loc[r].any()}
        raise SpecificationError(f"treated region(s) lack {outcome!r} in some years; {estimator} needs every treated "
                                 f"region in every year:\n{show_rows([f'{r}: missing {y}' for r, y in bad.items()])}\n"
                                 "Fix: supply those years, or restrict the panel to the years in which every treated "
                                 "region is observed.")
    incomplete = wide.loc[controls].isna().any(axis=1)
    dropped = tuple(incomplete.index[incomplete.to_numpy()])
    controls = [c for c in controls if c not in dropped]
    if len(controls) < 2:
        after = f", after dropping {list(dropped)}" if dropped else ""
        raise SpecificationError(f"{estimator} needs at least 2 control regions observed in every year; these rows "
                                 f"have {len(controls)} ({controls}{after}). "
                                 "Fix: keep more untreated regions in the panel (every region not in `treated` is a "
                                 "control) or restrict the years to those the controls cover.")
    regions = sorted([*controls, *treated])
    is_treated = np.isin(regions, treated)
    return _Block(Y=np.ascontiguousarray(wide.loc[regions].to_numpy(float)), regions=tuple(regions),
                  treated=is_treated, years=years, adoption=g, n_pre=n_pre, dropped=dropped)


def _dropped_note(block: _Block, outcome: str) -> list[str]:
    if not block.dropped:
        return []
    return [f"dropped {len(block.dropped)} control region(s) without {outcome!r} in every year (a balanced panel "
            f"is needed): {list(block.dropped)[:10]}"]


def _resolve_seed(random_seed: int | None) -> int:
    """The seed a fit uses: given, or drawn once so that every re-fit repeats the same draws."""
    if random_seed is None:
        return int(np.random.SeedSequence().entropy % 2**63)
    return check_seed(random_seed)


# ====================================================================== Frank-Wolfe (SDID weights)
# The weights are quadratic programs on the simplex, but R synthdid (and diff-diff, which ports
# it) define them as a particular *iterate*: Frank-Wolfe with exact line search from uniform
# weights, 100 iterations, "sparsify" (zero weights <= max/4), then Frank-Wolfe again until the
# objective falls by less than (1e-5 noise)^2. That iterate stops short of the exact optimum:
# an exact QP solver (scipy NNLS on the same objective) differs from it by ~2e-5 in the unit
# weights on kz.simulate_panel data, so no kept solver reaches 1e-6 agreement with the
# references. The same Frank-Wolfe is therefore implemented here, compiled with numba (the time
# weights' tiny ridge takes thousands of steps per problem, which interpreted code cannot afford)
# and run over a batch of independent problems (placebo and bootstrap replications,
# randomization-inference assignments) in one call.
def _quadratic(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``|A x - b|^2`` for a batch of problems (A: B x n x k, b: B x n): ``(A, A'A or None, A'b, b'b)``.

    With more weights than rows (unit weights over hundreds of controls) the k x k Gram matrix
    costs more to form than the few of its columns Frank-Wolfe ever visits, so it is not formed:
    the kernel computes a column ``A'a_i`` when vertex ``i`` is first chosen.
    """
    A = np.ascontiguousarray(A, dtype=float)
    At = A.transpose(0, 2, 1)
    gram = np.ascontiguousarray(np.matmul(At, A)) if A.shape[2] <= A.shape[1] else np.zeros((len(A), 0, 0))
    return A, gram, np.ascontiguousarray(np.matmul(At, b[:, :, None])[:, :, 0]), np.einsum("bn,bn->b", b, b)


def _frank_wolfe(quadratic, zeta: np.ndarray, x: np.ndarray, min_decrease: np.ndarray, max_iter: int,
                 n_rows: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Frank-Wolfe for ``min zeta^2 |x|^2 + |A x - b|^2 / n`` over the simplex, for a batch of problems.

    ``quadratic`` is :func:`_quadratic` of ``A`` (B x n x k) and ``b`` (B x n), already centred
    where an intercept is wanted; ``n_rows`` (B) is each problem's number of rows (padding rows
    are zero), ``valid`` (B x k) marks real columns (padding columns are never chosen). Each
    problem takes exact line-search steps towards the vertex of least gradient and stops when
    its objective falls by less than ``min_decrease^2`` or after ``max_iter`` steps (R
    synthdid's ``sc.weight.fw``). ``A'A x`` is updated incrementally and recomputed every 100
    steps (diff-diff's kernel).
    """
    A, G, Atb, btb = quadratic
    B, k = x.shape
    zeta2 = np.broadcast_to(np.asarray(zeta, float) ** 2, (B,))
    n_rows = np.broadcast_to(np.asarray(n_rows, float), (B,))
    md2 = np.broadcast_to(np.asarray(min_decrease, float) ** 2, (B,))
    valid = np.ones((B, k), dtype=np.bool_) if valid is None else np.asarray(valid, dtype=np.bool_)
    return _frank_wolfe_kernel()(A, G, Atb, np.ascontiguousarray(btb, float), np.ascontiguousarray(zeta2),
                                 np.ascontiguousarray(n_rows), np.ascontiguousarray(md2),
                                 np.array(x, dtype=float), int(max_iter), np.ascontiguousarray(valid))


#: Gram columns kept per problem when the Gram matrix is not formed (beyond that, recomputed on use).
_COLUMN_CACHE = 512


def _frank_wolfe_steps(A, G, Atb, btb, zeta2, n_rows, md2, X, max_iter, valid):  # pragma: no cover (compiled)
    """The Frank-Wolfe iterations of :func:`_frank_wolfe` for every problem of the batch; updates ``X`` in place.

    ``G`` is the batch of Gram matrices, or empty: then Gram columns come from ``A`` when needed.
    """
    B, n, k = A.shape
    gram = G.shape[1] > 0
    Gx = np.empty(k)
    Ax = np.empty(n)
    diag = np.empty(k)
    n_cached = min(k, _COLUMN_CACHE)
    cache = np.empty((n_cached, k))
    slot = np.empty(k, dtype=np.int64)
    for p in range(B):
        x = X[p]
        a = A[p]
        used = 0
        for j in range(k):
            slot[j] = -1
            if gram:
                diag[j] = G[p, j, j]
            else:
                diag[j] = 0.0
                for r in range(n):
                    diag[j] += a[r, j] * a[r, j]
        eta = n_rows[p] * zeta2[p]
        _gram_times(A, G, p, x, Gx, Ax, gram)
        x2 = 0.0
        xGx = 0.0
        Atbx = 0.0
        for j in range(k):
            x2 += x[j] * x[j]
            xGx += Gx[j] * x[j]
            Atbx += Atb[p, j] * x[j]
        prev = np.inf
        for t in range(max_iter):
            i = -1
            best = np.inf
            for j in range(k):
                if valid[p, j]:
                    h = Gx[j] - Atb[p, j] + eta * x[j]
                    if i < 0 or h < best:
                        best = h
                        i = j
            dx2 = x2 + 1.0 - 2.0 * x[i]
            denom = diag[i] - 2.0 * Gx[i] + xGx + eta * dx2
            step = 0.0
            if dx2 >= 1e-24 and denom > 0:
                step = min(max((xGx - Atbx + eta * x2 - best) / denom, 0.0), 1.0)
            keep = 1.0 - step
            if gram:
                for j in range(k):
                    Gx[j] = Gx[j] * keep + step * G[p, j, i]
            else:
                if slot[i] < 0 and used < n_cached:
                    slot[i] = used
                    used += 1
                    for j in range(k):
                        total = 0.0
                        for r in range(n):
                            total += a[r, j] * a[r, i]
                        cache[slot[i], j] = total
                if slot[i] >= 0:
                    for j in range(k):
                        Gx[j] = Gx[j] * keep + step * cache[slot[i], j]
                else:
                    for j in range(k):
                        total = 0.0
                        for r in range(n):
                            total += a[r, j] * a[r, i]
                        Gx[j] = Gx[j] * keep + step * total
            for j in range(k):
                x[j] *= keep
            x[i] += step
            if t > 0 and t % 100 == 0:  # recompute against drift of the incremental update
                _gram_times(A, G, p, x, Gx, Ax, gram)
            x2 = 0.0
            xGx = 0.0
            Atbx = 0.0
            for j in range(k):
                x2 += x[j] * x[j]
                xGx += Gx[j] * x[j]
                Atbx += Atb[p, j] * x[j]
            val = zeta2[p] * x2 + (xGx - 2.0 * Atbx + btb[p]) / n_rows[p]
            if t >= 1 and not prev - val >= md2[p]:
                break
            prev = val
    return X


def _gram_times(A, G, p, x, Gx, Ax, gram):  # pragma: no cover (compiled)
    """``Gx = A'A x`` for problem ``p``: from the Gram matrix, or as ``A'(A x)``."""
    n, k = A.shape[1], A.shape[2]
    if gram:
        for j in range(k):
            Gx[j] = 0.0
            for m in range(k):
                Gx[j] += G[p, j, m] * x[m]
        return
    for r in range(n):
        Ax[r] = 0.0
        for m in range(k):
            Ax[r] += A[p, r, m] * x[m]
    for j in range(k):
        Gx[j] = 0.0
        for r in range(n):
            Gx[j] += A[p, r, j] * Ax[r]


_KERNEL = []


def _frank_wolfe_kernel():
    """:func:`_frank_wolfe_steps` compiled by numba on first use (cached on disk)."""
    if not _KERNEL:
        import numba

        global _gram_times
        _gram_times = numba.njit(cache=True, nogil=True)(_gram_times)
        _KERNEL.append(numba.njit(cache=True, nogil=True)(_frank_wolfe_steps))
    return _KERNEL[0]


def _sum_normalize(x: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Rows scaled to sum to one; a row of zeros becomes uniform (over its valid entries)."""
    total = x.sum(axis=1, keepdims=True)
    uniform = (np.ones_like(x) if valid is None else valid.astype(float))
    uniform = uniform / uniform.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, x / total, uniform)


def _sparsify(x: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """R synthdid's ``sparsify_function``: weights <= max/4 set to zero, the rest renormalised."""
    top = x.max(axis=1, keepdims=True)
    return _sum_normalize(np.where(x <= top / 4, 0.0, x), valid)


def _two_pass(A, b, zeta, x0, min_decrease, n_rows, valid=None) -> np.ndarray:
    """Frank-Wolfe (100 iterations), sparsify, Frank-Wolfe to convergence: synthdid's weights."""
    q = _quadratic(A, b)
    x = _frank_wolfe(q, zeta, x0, min_decrease, _PRE_SPARSIFY_ITER, n_rows, valid)
    return _frank_wolfe(q, zeta, _sparsify(x, valid), min_decrease, _MAX_ITER, n_rows, valid)


def _chunks(total: int, per_problem: int):
    size = max(1, _BATCH_DOUBLES // max(per_problem, 1))
    return [slice(s, min(s + size, total)) for s in range(0, total, size)]


def _unit_weights(pre_c: np.ndarray, target: np.ndarray, zeta, min_decrease, init=None, valid=None) -> np.ndarray:
    """Unit weights (B x N0): controls' pre-period paths (``pre_c`` B x T0 x N0) onto ``target`` (B x T0),
    with an intercept (each path centred over the pre-period) and ridge ``zeta``."""
    B, T0, N0 = pre_c.shape
    out = np.empty((B, N0))
    x0 = _sum_normalize(np.ones((B, N0)) if init is None else init, valid)
    for part in _chunks(B, 3 * N0 * N0 + T0 * N0):
        A = pre_c[part] - pre_c[part].mean(axis=1, keepdims=True)
        b = target[part] - target[part].mean(axis=1, keepdims=True)
        out[part] = _two_pass(A, b, zeta[part], x0[part], min_decrease[part], np.full(len(A), float(T0)),
                              None if valid is None else valid[part])
    return out


def _time_weights(pre_c: np.ndarray, post_c: np.ndarray, zeta, min_decrease, init=None, rows=None) -> np.ndarray:
    """Time weights (B x T0): controls' pre-period years onto their post-period means, with an intercept
    (centred over controls) and ridge ``zeta``; ``rows`` (B x N0) marks real controls when padded."""
    B, T0, N0 = pre_c.shape
    out = np.empty((B, T0))
    x0 = np.full((B, T0), 1.0 / T0) if init is None else np.broadcast_to(init, (B, T0))
    for part in _chunks(B, 3 * T0 * T0 + T0 * N0):
        A = pre_c[part].transpose(0, 2, 1)
        b = post_c[part].mean(axis=1)
        if rows is None:
            n = np.full(len(A), float(N0))
            A = A - A.mean(axis=1, keepdims=True)
            b = b - b.mean(axis=1, keepdims=True)
        else:
            mask = rows[part].astype(float)
            n = mask.sum(axis=1)
            A = (A - (A * mask[:, :, None]).sum(axis=1, keepdims=True) / n[:, None, None]) * mask[:, :, None]
            b = (b - (b * mask).sum(axis=1, keepdims=True) / n[:, None]) * mask
        out[part] = _two_pass(A, b, zeta[part], x0[part], min_decrease[part], n)
    return out


def _sdid_tau(pre_c, post_c, pre_t, post_t, omega, lam) -> np.ndarray:
    """The weighted double difference (B): treated post minus lambda-weighted pre, minus the same for omega."""
    weighted_pre_c = np.einsum("bt,btn->bn", lam, pre_c)
    treated = post_t.mean(axis=1) - np.einsum("bt,bt->b", lam, pre_t)
    return treated - np.einsum("bn,bn->b", omega, post_c.mean(axis=1) - weighted_pre_c)


@dataclass
class _SDIDFit:
    """One batch of SDID fits on normalised data, with what the variance replications reuse."""

    tau: np.ndarray          # (B,) on the data's scale
    omega: np.ndarray        # (B, N0)
    lam: np.ndarray          # (B, T0)
    scale: np.ndarray        # (B,)
    pre_c: np.ndarray        # normalised (B, T0, N0)
    post_c: np.ndarray
    pre_t: np.ndarray        # normalised treated means (B, T0)
    post_t: np.ndarray
    pre_t_units: np.ndarray  # normalised treated regions (B, T0, N1)
    post_t_units: np.ndarray
    zeta_omega: np.ndarray
    zeta_lambda: np.ndarray
    min_decrease: np.ndarray
    noise: np.ndarray


def _sdid_batch(Y: np.ndarray, treated: np.ndarray, n_pre: int) -> _SDIDFit:
    """SDID for every row of ``treated`` (B x N bool, regions as in ``Y``, N x T), as diff-diff ``SyntheticDiD``.

    Outcomes are centred and scaled by the controls' pre-period mean and sd (diff-diff), the
    regularisation is zeta_omega = (N_tr T_post)^(1/4) sigma and zeta_lambda = 1e-6 sigma with
    sigma the sd of the controls' pre-period first differences, the stopping rule
    1e-5 sigma (R synthdid's defaults).
    """
    order = np.argsort(treated, axis=1, kind="stable")  # controls first, each group in name order
    n_treated = int(treated[0].sum())
    n_control = Y.shape[0] - n_treated
    cube = np.ascontiguousarray(Y[order].transpose(0, 2, 1))  # (B, T, N): years x regions
    pre_c = np.ascontiguousarray(cube[:, :n_pre, :n_control])
    shift = pre_c.mean(axis=(1, 2))
    raw = pre_c.std(axis=(1, 2))
    scale = np.where(np.isfinite(raw) & (raw > 1e-12 * np.maximum(np.abs(shift), 1.0)), raw, 1.0)
    cube = (cube - shift[:, None, None]) / scale[:, None, None]
    pre_c, post_c = np.ascontiguousarray(cube[:, :n_pre, :n_control]), np.ascontiguousarray(cube[:, n_pre:, :n_control])
    pre_tu, post_tu = cube[:, :n_pre, n_control:], cube[:, n_pre:, n_control:]
    n_post = Y.shape[1] - n_pre
    diffs = np.diff(pre_c, axis=1)
    noise = diffs.std(axis=(1, 2), ddof=1) if diffs[0].size > 1 else np.zeros(len(cube))
    zeta_omega = (n_treated * n_post) ** 0.25 * noise
    zeta_lambda = 1e-6 * noise
    min_decrease = np.where(noise > 0, 1e-5 * noise, 1e-5)
    pre_t, post_t = pre_tu.mean(axis=2), post_tu.mean(axis=2)
    omega = _unit_weights(pre_c, pre_t, zeta_omega, min_decrease)
    lam = _time_weights(pre_c, post_c, zeta_lambda, min_decrease)
    tau = _sdid_tau(pre_c, post_c, pre_t, post_t, omega, lam) * scale
    return _SDIDFit(tau=tau, omega=omega, lam=lam, scale=scale, pre_c=pre_c, post_c=post_c, pre_t=pre_t,
                    post_t=post_t, pre_t_units=pre_tu, post_t_units=post_tu, zeta_omega=zeta_omega,
                    zeta_lambda=zeta_lambda, min_decrease=min_decrease, noise=noise)


# ---------------------------------------------------------------------- SDID variance
def _placebo_variance(fit: _SDIDFit, n_reps: int, seed: int) -> np.ndarray:
    """Algorithm 4: controls reassigned at random, N_tr of them as placebo treated, weights re-estimated
    (from the fitted weights as Frank-Wolfe start, as R synthdid and diff-diff do)."""
    _, T0, N0 = fit.pre_c.shape
    n_treated = fit.pre_t_units.shape[2]
    n_pseudo = N0 - n_treated
    rng = np.random.default_rng(seed)
    perms = np.array([rng.permutation(N0) for _ in range(n_reps)])
    controls, placebo = perms[:, :n_pseudo], perms[:, n_pseudo:]
    pre, post = fit.pre_c[0], fit.post_c[0]
    pre_c = np.ascontiguousarray(pre[:, controls].transpose(1, 0, 2))
    post_c = np.ascontiguousarray(post[:, controls].transpose(1, 0, 2))
    pre_t = pre[:, placebo].mean(axis=2).T
    post_t = post[:, placebo].mean(axis=2).T
    ones = np.ones(n_reps)
    omega = _unit_weights(pre_c, pre_t, fit.zeta_omega[0] * ones, fit.min_decrease[0] * ones,
                          init=fit.omega[0][controls])
    lam = _time_weights(pre_c, post_c, fit.zeta_lambda[0] * ones, fit.min_decrease[0] * ones, init=fit.lam[0])
    return _sdid_tau(pre_c, post_c, pre_t, post_t, omega, lam) * fit.scale[0]


def _bootstrap_variance(fit: _SDIDFit, n_reps: int, seed: int) -> np.ndarray:
    """Algorithm 2: regions resampled with replacement (draws without a treated or a control redrawn),
    weights re-estimated from the fitted ones as Frank-Wolfe start."""
    pre_full = np.concatenate([fit.pre_c[0], fit.pre_t_units[0]], axis=1)
    post_full = np.concatenate([fit.post_c[0], fit.post_t_units[0]], axis=1)
    T0, N = pre_full.shape
    N0 = fit.pre_c.shape[2]
    rng = np.random.default_rng(seed)
    draws, attempts = [], 0
    while len(draws) < n_reps and attempts < 20 * n_reps:
        attempts += 1
        index = rng.choice(N, size=N, replace=True)
        control = index < N0
        if control.all() or not control.any():
            continue
        draws.append(index)
    width = max(int((d < N0).sum()) for d in draws)
    R = len(draws)
    T1 = post_full.shape[0]
    pre_c, post_c = np.zeros((R, T0, width)), np.zeros((R, T1, width))
    valid = np.zeros((R, width), dtype=bool)
    init = np.zeros((R, width))
    pre_t, post_t = np.empty((R, T0)), np.empty((R, T1))
    for r, index in enumerate(draws):
        c, t = index[index < N0], index[index >= N0]
        pre_c[r, :, :len(c)], post_c[r, :, :len(c)] = pre_full[:, c], post_full[:, c]
        valid[r, :len(c)] = True
        init[r, :len(c)] = fit.omega[0][c]
        pre_t[r], post_t[r] = pre_full[:, t].mean(axis=1), post_full[:, t].mean(axis=1)
    ones = np.ones(R)
    omega = _unit_weights(pre_c, pre_t, fit.zeta_omega[0] * ones, fit.min_decrease[0] * ones, init=init, valid=valid)
    lam = _time_weights(pre_c, post_c, fit.zeta_lambda[0] * ones, fit.min_decrease[0] * ones, init=fit.lam[0],
                        rows=valid)
    return _sdid_tau(pre_c, post_c, pre_t, post_t, omega, lam) * fit.scale[0]


def _jackknife_variance(fit: _SDIDFit) -> np.ndarray:
    """Algorithm 3: each region left out in turn with the weights held fixed (omega renormalised)."""
    pre_c, post_c = fit.pre_c[0], fit.post_c[0]
    pre_tu, post_tu = fit.pre_t_units[0], fit.post_t_units[0]
    omega, lam = fit.omega[0], fit.lam[0]
    N0, N1 = pre_c.shape[1], pre_tu.shape[1]
    out = np.empty(N0 + N1)
    for j in range(N0):
        keep = np.arange(N0) != j
        w = _sum_normalize(omega[keep][None])
        out[j] = _sdid_tau(pre_c[None][:, :, keep], post_c[None][:, :, keep], fit.pre_t, fit.post_t, w, lam[None])[0]
    for k in range(N1):
        keep = np.arange(N1) != k
        out[N0 + k] = _sdid_tau(fit.pre_c, fit.post_c, pre_tu[:, keep].mean(axis=1)[None],
                                post_tu[:, keep].mean(axis=1)[None], omega[None], lam[None])[0]
    return out * fit.scale[0]


# ---------------------------------------------------------------------- SDID result
@dataclass(frozen=True)
class SDIDSettings(FitSettings):
    """Everything about a synthetic DID fit except its rows: what a re-fit repeats (``random_seed``: the seed
    the replications used, drawn once when none was given)."""

    variance: str
    draws: int
    random_seed: int | None
    alpha: float
    treated_group: str | None = None


@dataclass(frozen=True, eq=False)
class SyntheticDIDResult(EstimationResult):
    """Synthetic DID: the effect ``ATT`` with its weights and the trajectories they imply.

    Attributes
    ----------
    unit_weights
        Control region -> omega (non-negative, sum to one).
    time_weights
        Pre-period year -> lambda (non-negative, sum to one).
    trajectories
        By year: the treated regions' mean, the synthetic control ``sum omega_i Y_it`` shifted
        by the lambda-weighted pre-period gap (so the post-period mean gap is the ATT), and
        the time weight.
    replicates
        The variance method's estimates (placebo, bootstrap or leave-one-out), if any.
    adoption_year
        The first post-period year.
    """

    unit_weights: pd.Series = field(default=None, repr=False)
    time_weights: pd.Series = field(default=None, repr=False)
    trajectories: pd.DataFrame = field(default=None, repr=False)
    replicates: np.ndarray = field(default=None, repr=False)
    adoption_year: int = 0

    def summary(self) -> str:
        top = self.unit_weights[self.unit_weights > 0].sort_values(ascending=False)
        lam = self.time_weights[self.time_weights > 0]
        lines = [f"unit weights ({len(top)} of {len(self.unit_weights)} controls > 0): "
                 + ", ".join(f"{r} {w:.3f}" for r, w in top.head(8).items()) + (" ..." if len(top) > 8 else ""),
                 "time weights: " + ", ".join(f"{y} {w:.3f}" for y, w in lam.items())]
        return super().summary() + "\n\n" + "\n".join(lines)

    def plot(self, ax=None):
        """Treated mean vs synthetic control by year, time weights as bars at the bottom, adoption marked."""
        from matplotlib.transforms import blended_transform_factory

        ax = axes_for(ax, (7, 4))
        traj = self.trajectories
        years = traj.index.to_numpy()
        ax.plot(years, traj["treated"], "o-", color="C0", ms=3, label="treated (mean)")
        ax.plot(years, traj["synthetic"], "s--", color="C1", ms=3, label="synthetic control (level-shifted)")
        ax.axvline(self.adoption_year - 0.5, color="0.3", ls=":", lw=1, label=f"adoption ({self.adoption_year})")
        bottom = blended_transform_factory(ax.transData, ax.transAxes)
        lam = traj["time_weight"].fillna(0.0).to_numpy()
        ax.bar(years, 0.25 * lam, width=0.8, bottom=0.0, transform=bottom, color="C2", alpha=0.4,
               label="time weights (bar height 0.25 = 1)")
        ax.set_xlabel("year")
        ax.set_ylabel(self.outcome)
        ax.set_title(f"{self.method}\nATT = {self.effect_estimate:.4g}", fontsize="small")
        ax.legend(fontsize="x-small", loc="best")
        return ax


@renamed(n_reps="draws")
@positional_deprecated("treated", "post_from")
def synthetic_did(
    panel: RegionPanel,
    outcome: str,
    *,
    treated: str | Iterable[str] | None = None,
    post_from: int | None = None,
    first_treated: str | Mapping[str, float] | None = None,
    treatment: str | None = None,
    variance: Variance = "placebo",
    draws: int = 200,
    random_seed: int | None = None,
    progress: bool = True,
    alpha: float = 0.05,
) -> SyntheticDIDResult:
    """Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021).

    Unit weights omega (controls) solve ``min zeta^2 T0 |omega|^2 + sum_t (omega_0 + omega'Y_co,t -
    Ybar_tr,t)^2`` over the simplex with an intercept omega_0 and
    ``zeta = (N_tr T_post)^(1/4) sigma``, sigma the sd of the controls' pre-period first
    differences; time weights lambda do the same across controls for the post-period means
    with ``zeta = 1e-6 sigma``. Both are R synthdid's Frank-Wolfe iterates (diff-diff's
    ``SyntheticDiD`` gives the same weights and estimate to 1e-6). The effect is
    ``(Ybar_tr,post - lambda'Y_tr,pre) - omega'(Ybar_co,post - Y_co,pre lambda)``.

    Parameters
    ----------
    panel, outcome
        The panel and the outcome variable.
    treated
        Treated regions (all adopting in ``post_from``), or ``"serpin_receiving"`` /
        ``"serpin_sending"``. Every other region observed in every year is a control.
    post_from
        First post-period year.
    first_treated, treatment
        The same assignment as a column (or mapping) of first treated years or a 0/1 absorbing
        column (see :mod:`kzcausal.design.assignment`): one spelling, one adoption year.
    variance
        ``"placebo"`` (Algorithm 4: controls reassigned as placebo treated; the only choice
        with a single treated region; needs more controls than treated regions),
        ``"jackknife"`` (Algorithm 3, fixed weights; undefined, NaN, with one treated region)
        or ``"bootstrap"`` (Algorithm 2; undefined, NaN, with one treated region, as in R).
    draws
        Placebo or bootstrap replications (ignored by the jackknife; ``n_reps=`` is the deprecated name).
    random_seed
        Seed of the replications; if None one is drawn at fit time and kept, so re-fits
        (leave-one-out, placebo in time) repeat the same draws.
    progress
        Accepted for a uniform interface; the replications run as one vectorised batch.
    alpha
        1 - confidence level of the normal interval ``ATT +- z se``.

    Returns
    -------
    SyntheticDIDResult
        ``effect = ("ATT",)``; ``unit_weights``, ``time_weights``, ``trajectories``,
        ``plot()``. Randomization inference permutes every assignment's point estimate at
        once (``permuted``: the variance is not recomputed); the wild bootstrap treats the
        weights as fixed (the weighted two-way regression of the paper's eq. 1).

    References
    ----------
    Arkhangelsky, D., Athey, S., Hirshberg, D. A., Imbens, G. W. & Wager, S. (2021).
    Synthetic difference-in-differences. American Economic Review 111(12), 4088-4118.
    """
    check_flag(progress, "progress")  # the replications are one vectorised batch: nothing to report
    if variance not in ("placebo", "jackknife", "bootstrap"):
        raise SpecificationError(f"variance={variance!r}; use 'placebo', 'jackknife' or 'bootstrap'.")
    n_reps = check_count(draws, "draws", minimum=2, cap=MAX_REPS, unit_cost="one re-estimation of both sets of weights",
                fix="R synthdid's default is 200")
    check_alpha(alpha)
    rows, assignment, notes = _panel_rows(panel, outcome, dict(treated=treated, post_from=post_from,
                                                               first_treated=first_treated, treatment=treatment),
                                          "synthetic_did")
    settings = SDIDSettings(variance=variance, draws=int(n_reps),
                            random_seed=None if variance == "jackknife" else _resolve_seed(random_seed), alpha=alpha,
                            treated_group=assignment.group)
    return _fit_sdid(rows, outcome, settings=settings, warn=True).noting(notes)


def _fit_sdid(rows: pd.DataFrame, outcome: str, *, settings: SDIDSettings,
              warn: bool = False) -> SyntheticDIDResult:
    """Synthetic DID on estimation rows ``region, year, <outcome>, cohort`` (one adoption year)."""
    check_outcome_varies(rows[outcome].to_numpy(float), outcome)
    block = _block(rows, outcome, min_pre=2, estimator="synthetic DID")
    fit = _sdid_batch(block.Y, block.treated[None], block.n_pre)
    tau = float(fit.tau[0])
    n_control, n_treated = int((~block.treated).sum()), int(block.treated.sum())
    notes = _dropped_note(block, outcome)
    replicates = np.array([])
    if settings.variance == "placebo":
        if n_control <= n_treated:
            raise SpecificationError(f"placebo variance needs more control regions than treated ones; these rows have "
                                     f"{n_control} controls and {n_treated} treated. Fix: variance='jackknife' or "
                                     "'bootstrap', or more control regions.")
        replicates = _placebo_variance(fit, settings.draws, settings.random_seed)
        se = float(np.sqrt((len(replicates) - 1) / len(replicates)) * np.std(replicates, ddof=1))
        notes.append("placebo standard error (Algorithm 4): treated and control regions are assumed to have "
                     "the same noise distribution")
    elif settings.variance == "bootstrap":
        if n_treated == 1:
            se = np.nan
            notes.append("bootstrap variance is undefined with a single treated region (R synthdid returns NA); "
                         "use variance='placebo'")
        else:
            replicates = _bootstrap_variance(fit, settings.draws, settings.random_seed)
            replicates = replicates[np.isfinite(replicates)]
            se = float(np.sqrt((len(replicates) - 1) / len(replicates)) * np.std(replicates, ddof=1))
    else:
        if n_treated == 1 or int((fit.omega[0] > 0).sum()) <= 1:
            se = np.nan
            notes.append("jackknife variance is undefined with a single treated region or a single control with "
                         "positive weight (R synthdid returns NA); use variance='placebo'")
        else:
            replicates = _jackknife_variance(fit)
            n = len(replicates)
            se = float(np.sqrt((n - 1) / n * np.sum((replicates - replicates.mean()) ** 2)))
    if settings.variance != "placebo" and 1 < n_treated < 5:
        notes.append(f"only {n_treated} treated regions: the {settings.variance} is justified for many treated "
                     "units (Arkhangelsky et al. 2021, sec. 5); compare with variance='placebo'")
    if warn:
        for note in notes:
            if "undefined" in note or note.startswith("dropped"):
                warnings.warn(note, KzCausalWarning, stacklevel=3)
    years = block.years
    pre_years = years[:block.n_pre]
    omega = pd.Series(fit.omega[0], index=pd.Index(block.control_names, name="region"), name="unit_weight")
    lam = pd.Series(fit.lam[0], index=pd.Index(pre_years, name="year"), name="time_weight")
    Y_c, Y_t = block.Y[~block.treated], block.Y[block.treated]
    treated_mean = Y_t.mean(axis=0)
    synthetic = omega.to_numpy() @ Y_c
    shift = float(lam.to_numpy() @ (treated_mean[:block.n_pre] - synthetic[:block.n_pre]))
    trajectories = pd.DataFrame({"treated": treated_mean, "synthetic": synthetic + shift,
                                 "time_weight": lam.reindex(years).to_numpy()}, index=pd.Index(years, name="year"))
    resid = treated_mean[:block.n_pre] - synthetic[:block.n_pre]
    rmspe = float(np.sqrt(np.mean((resid - resid.mean()) ** 2)))
    sd = float(np.std(treated_mean[:block.n_pre], ddof=1))
    if rmspe > sd:
        note = (f"pre-period fit is poor: RMSPE {rmspe:.4g} vs outcome sd {sd:.4g} (treated regions' mean, "
                "pre-period; level differences excluded, SDID differences them out)")
        notes.append(note)
        if warn:
            warnings.warn(note, KzCausalWarning, stacklevel=3)
    table = coefficient_table(pd.Series([tau], index=["ATT"]), pd.Series([se], index=["ATT"]), alpha=settings.alpha)
    reps = f" ({len(replicates)} replications)" if settings.variance != "jackknife" and len(replicates) else ""
    codes = pd.Index(block.regions)
    return SyntheticDIDResult(
        table=table,
        vcov=pd.DataFrame([[se**2]], index=["ATT"], columns=["ATT"]),
        method=f"synthetic DID (Arkhangelsky et al. 2021), {settings.variance} standard error{reps}",
        effect=("ATT",),
        spec={"estimator": "synthetic_did", "outcome": outcome, "treated": _treated(rows),
              "post_from": block.adoption, **settings.display()}, alpha=settings.alpha, outcome=outcome,
        n_obs=int(block.Y.size),
        n_clusters=len(block.regions),
        cluster="region",
        fixed_effects=("region", "year"),
        caveats=tuple(notes),
        data=rows,
        refitter=partial(_fit_sdid, settings=settings),
        regression=partial(_weighted_twfe_form, Y=block.Y, treated=block.treated, n_pre=block.n_pre,
                           omega=fit.omega[0], lam=fit.lam[0], labels=tuple(codes)),
        permuted=None if block.dropped else partial(_permuted_sdid, rows=rows, outcome=outcome),
        unit_weights=omega,
        time_weights=lam,
        trajectories=trajectories,
        replicates=replicates,
        adoption_year=block.adoption,
    )


def _treated(rows: pd.DataFrame) -> list[str]:
    """The treated regions of estimation rows (for the result's spec)."""
    return sorted(rows.loc[np.isfinite(rows["cohort"].to_numpy(float)), "region"].unique())


def _assignment_masks(rows: pd.DataFrame, outcome: str, matrix: np.ndarray, estimator: str
                      ) -> tuple[_Block, np.ndarray]:
    """The rows' regions x years matrix and each assignment's treated mask over its (name-sorted) regions.

    ``matrix`` holds a cohort label per region (columns in the rows' order of appearance, as
    randomization inference builds it); every assignment shares one adoption year.
    """
    regions = pd.unique(rows["region"])
    labels = np.asarray(matrix, float)
    if len(np.unique(labels[np.isfinite(labels)])) != 1:
        raise SpecificationError(f"{estimator}: every assignment must share one adoption year.")
    block = _block(rows.assign(cohort=rows["region"].map(dict(zip(regions, labels[0])))), outcome, min_pre=1,
                   estimator=estimator)
    if block.dropped:
        raise SpecificationError(f"{estimator}: re-assigning treatment needs every region observed in every year.")
    position = {r: i for i, r in enumerate(regions)}
    return block, np.isfinite(labels[:, [position[r] for r in block.regions]])


def _permuted_sdid(matrix: np.ndarray, *, rows: pd.DataFrame, outcome: str) -> np.ndarray:
    """SDID point estimate for every assignment (rows of ``matrix``: a cohort label per region)."""
    block, masks = _assignment_masks(rows, outcome, matrix, "synthetic DID")
    return _sdid_batch(block.Y, masks, block.n_pre).tau


def _weighted_twfe_form(*, Y, treated, n_pre, omega, lam, labels) -> RegressionForm:
    """SDID as its weighted two-way regression (Arkhangelsky et al. 2021, eq. 1), weights held fixed."""
    n_treated, T = int(treated.sum()), Y.shape[1]
    unit_weight = np.empty(len(treated))
    unit_weight[~treated] = omega
    unit_weight[treated] = 1.0 / n_treated
    time_weight = np.concatenate([lam, np.full(T - n_pre, 1.0 / (T - n_pre))])
    weight = unit_weight[:, None] * time_weight[None, :]
    unit, year = np.nonzero(weight > 0)
    root = np.sqrt(weight[unit, year])
    d = (treated[unit] & (year >= n_pre)).astype(float)
    Z = np.column_stack([np.eye(len(treated))[unit], np.eye(T)[year]]) * root[:, None]
    project = partial(_residualize, Z=Z, pinv=np.linalg.pinv(Z))
    return RegressionForm(X=project((root * d)[:, None]), y=project(root * Y[unit, year]), R=np.ones(1),
                          clusters=unit, labels=labels, project=project)


def _residualize(values: np.ndarray, *, Z: np.ndarray, pinv: np.ndarray) -> np.ndarray:
    return values - Z @ (pinv @ values)


# ====================================================================== synthetic control
def _simplex_least_squares(X0: np.ndarray, x1: np.ndarray, v: np.ndarray | None = None) -> np.ndarray:
    """``argmin_w (x1 - X0 w)' diag(v) (x1 - X0 w)`` over the simplex, exactly, by one NNLS (scipy).

    On the simplex ``X0 w - x1 = Z w`` with ``Z = X0 - x1 1'``; with columns scaled to unit
    norm (``w = D u``), ``u = argmin_{u >= 0} |[Z D / s; c'] u - [0; 1]|`` and ``w = D u / sum(D u)``
    solve it (``c = D 1`` rescaled): for ``u = t u0`` with ``c'u0 = 1`` the NNLS objective is
    ``t^2 a + (t - 1)^2``, whose minimum ``a / (1 + a)`` increases with ``a = |Z D u0|^2 / s^2``.
    """
    J = X0.shape[1]
    if J == 1:
        return np.ones(1)
    root = np.ones(len(x1)) if v is None else np.sqrt(v)
    Z = root[:, None] * (X0 - x1[:, None])
    norms = np.sqrt(np.sum(Z**2, axis=0))
    if (norms == 0).any():  # a donor identical to the target
        w = np.zeros(J)
        w[int(np.argmax(norms == 0))] = 1.0
        return w
    D = 1.0 / norms
    B = Z * D
    s = float(np.sqrt(np.mean(B**2))) or 1.0
    M = np.vstack([B / s, D / D.max()])
    target = np.zeros(M.shape[0])
    target[-1] = 1.0
    u, _ = optimize.nnls(M, target, maxiter=50 * J)
    w = D * u
    return w / w.sum()


def _predictor_fit_is_exact(X: np.ndarray, names: np.ndarray, region: str, controls: np.ndarray, w: np.ndarray,
                            v: np.ndarray) -> bool:
    """Does the synthetic unit reproduce ``region``'s predictors exactly (V-weighted, relative 1e-8)?"""
    unit = int(np.flatnonzero(names == region)[0])
    gap = np.sqrt(v) * (X[:, unit] - X[:, controls] @ w)
    return float(np.linalg.norm(gap)) <= 1e-8 * max(1.0, float(np.linalg.norm(np.sqrt(v) * X[:, unit])))


def _inverse_variance(X: np.ndarray) -> np.ndarray:
    """V = 1 / Var of each predictor across the units in ``X`` (predictors x units), trace one (Abadie 2021)."""
    var = np.var(X, axis=1, ddof=1)
    inv = np.where(var > 0, 1.0 / np.where(var > 0, var, 1.0), 0.0)
    return inv / inv.sum() if inv.sum() > 0 else np.full(len(var), 1.0 / len(var))


def _predictor_means(rows: pd.DataFrame, predictors: tuple[str, ...], regions: Sequence[str], pre_years
                     ) -> np.ndarray:
    """Pre-period means of each predictor (predictors x regions); missing values are an error."""
    pre = rows[rows["year"].isin(pre_years)]
    means = pre.groupby("region")[list(predictors)].agg(lambda s: s.mean() if s.notna().all() else np.nan)
    counts = pre.groupby("region")["year"].nunique()
    means = means.reindex(regions)
    short = counts.reindex(regions).fillna(0) < len(pre_years)
    bad = means.isna().any(axis=1) | short
    if bad.any():
        raise SpecificationError(f"predictors {list(predictors)} are missing in some pre-period years of region(s) "
                                 f"{list(means.index[bad])[:5]}. Fix: predictors observed in every pre-period year, "
                                 "or drop those regions.")
    return means.to_numpy(float).T


@dataclass(frozen=True)
class SCSettings(FitSettings):
    """Everything about a synthetic control fit except its rows: what a re-fit repeats."""

    predictors: tuple[str, ...]
    average: bool
    alpha: float
    random_seed: int
    treated_group: str | None = None


def _sc_fit_one(Y: np.ndarray, X: np.ndarray | None, unit: int, donors: np.ndarray, n_pre: int):
    """Weights of ``unit`` on ``donors`` and its gap path (rows of ``Y``: regions, columns: years)."""
    if X is None:
        w = _simplex_least_squares(Y[donors, :n_pre].T, Y[unit, :n_pre])
        v = None
    else:
        block = X[:, np.append(donors, unit)]
        v = _inverse_variance(block)
        w = _simplex_least_squares(X[:, donors], X[:, unit], v)
    return w, Y[unit] - w @ Y[donors], v


def _ratio(gap: np.ndarray, n_pre: int, scale: float) -> tuple[float, float, float]:
    """Pre and post RMSPE and their ratio (pre MSPE floored at 1e-8 max(scale, 1)^2, as diff-diff)."""
    pre, post = np.mean(gap[..., :n_pre] ** 2, axis=-1), np.mean(gap[..., n_pre:] ** 2, axis=-1)
    return np.sqrt(pre), np.sqrt(post), np.sqrt(post / np.maximum(pre, 1e-8 * max(scale, 1.0) ** 2))


@dataclass(frozen=True, eq=False)
class SyntheticControlResult(EstimationResult):
    """Synthetic control: effects, weights, gap paths and the placebo-in-space distribution.

    Attributes
    ----------
    weights
        Control x treated region: each treated region's donor weights.
    gaps
        Year x treated region: outcome minus its synthetic control.
    placebo_gaps
        Year x control region: each control's gap when it is the placebo treated region
        (donors: the other controls).
    rmspe
        By region (treated, then placebos): role, pre- and post-period RMSPE, their ratio and,
        for treated regions, the placebo p-value ``(1 + #{placebo ratio >= ratio}) / (1 + J)``.
    placebo_ratios
        The averaged statistic's placebo distribution (one value per subset of controls).
    predictor_weights
        Predictor x treated region: the diagonal of V (inverse variances), when predictors
        are used.
    adoption_year
        The first post-period year.
    average
        Whether the effect is the treated regions' mean gap (else one effect per region).
    """

    weights: pd.DataFrame = field(default=None, repr=False)
    gaps: pd.DataFrame = field(default=None, repr=False)
    placebo_gaps: pd.DataFrame = field(default=None, repr=False)
    rmspe: pd.DataFrame = field(default=None, repr=False)
    placebo_ratios: np.ndarray = field(default=None, repr=False)
    predictor_weights: pd.DataFrame | None = field(default=None, repr=False)
    adoption_year: int = 0
    average: bool = True

    @property
    def unit_weights(self) -> pd.Series:
        """Control -> weight of the synthetic control of the treated regions' mean (mean of their weights)."""
        return self.weights.mean(axis=1).rename("unit_weight")

    def summary(self) -> str:
        top = self.unit_weights[self.unit_weights > 1e-10].sort_values(ascending=False)
        line = (f"unit weights ({len(top)} of {len(self.unit_weights)} controls > 0): "
                + ", ".join(f"{r} {w:.3f}" for r, w in top.head(8).items()) + (" ..." if len(top) > 8 else ""))
        ratios = self.rmspe[self.rmspe["role"] == "treated"]
        rmspe = "; ".join(f"{r}: pre-RMSPE {row['pre_rmspe']:.4g}, post/pre {row['ratio']:.3g}"
                          for r, row in ratios.iterrows())
        return super().summary() + "\n\n" + line + "\n" + rmspe

    def plot(self, ax=None):
        """Gap plot (ADH 2010, fig. 4): treated gap(s) in black, every placebo gap in grey, adoption marked."""
        ax = axes_for(ax, (7, 4))
        years = self.gaps.index.to_numpy()
        for i, column in enumerate(self.placebo_gaps.columns):
            ax.plot(years, self.placebo_gaps[column], color="0.75", lw=0.8,
                    label="placebo gaps (controls)" if i == 0 else None)
        if self.average and self.gaps.shape[1] > 1:
            ax.plot(years, self.gaps.mean(axis=1), color="black", lw=2, label="treated regions' mean gap")
        else:
            for column in self.gaps.columns:
                ax.plot(years, self.gaps[column], lw=2, label=f"{column} gap")
        ax.axhline(0, color="0.4", lw=0.8)
        ax.axvline(self.adoption_year - 0.5, color="0.3", ls=":", lw=1, label=f"adoption ({self.adoption_year})")
        ax.set_xlabel("year")
        ax.set_ylabel(f"{self.outcome}: treated - synthetic")
        ax.set_title(self.method, fontsize="small")
        ax.legend(fontsize="x-small", loc="best")
        return ax


@positional_deprecated("treated", "post_from")
def synthetic_control(
    panel: RegionPanel,
    outcome: str,
    *,
    treated: str | Iterable[str] | None = None,
    post_from: int | None = None,
    first_treated: str | Mapping[str, float] | None = None,
    treatment: str | None = None,
    predictors: Sequence[str] | None = None,
    average: bool = True,
    alpha: float = 0.05,
    random_seed: int | None = None,
) -> SyntheticControlResult:
    """Synthetic control (Abadie, Diamond & Hainmueller 2010) with placebo-in-space inference.

    Each treated region gets convex weights ``w`` (non-negative, summing to one) over the
    control regions minimising ``(x1 - X0 w)' V (x1 - X0 w)``: without ``predictors`` x1 and X0
    are the pre-period outcomes and ``V = I`` (the pre-period fit itself); with ``predictors``
    they are the predictors' pre-period means and V is diagonal with inverse variances across
    the units (Abadie 2021, sec. 3.2; ADH's nested search for V is not offered). The weights
    are exact (one scipy NNLS, as diff-diff's ``SyntheticControl``); where the pre-period fit is
    exact they are not unique (a caveat says so). R synthdid's ``sc_estimate`` instead stops a
    Frank-Wolfe short of this optimum (California Proposition 99: -19.620 there, -19.514 exact).
    The effect of a region is its mean post-period gap ``Y_1t - sum_j w_j Y_jt``.

    Inference is by placebos in space: every control region in turn is fitted as if treated,
    with the other controls as donors (treated regions never enter a synthetic control), and
    the statistic is the post/pre RMSPE ratio; the p-value is the rank
    ``(1 + #{placebos with ratio >= observed}) / (1 + #placebos)``. With several treated
    regions and ``average=True`` the effect is their mean gap and its statistic the ratio of
    the mean gap path, ranked among the mean gaps of every set of as many controls (Cavallo,
    Galiani, Noy & Pantano 2013; a random sample of 20,000 sets where there are more); each
    region's own rank among the single placebos is reported in its row. (diff-diff's
    ``in_space_placebo`` instead puts the treated region in every placebo's donor pool.)

    Parameters
    ----------
    panel, outcome, treated, post_from, first_treated, treatment
        As :func:`synthetic_did`; every other region observed in every year is a control.
    predictors
        Panel variables whose pre-period means are matched (include ``outcome`` to match its
        pre-period mean); default: the outcome in every pre-period year.
    average
        ``True``: the effect ``ATT`` is the mean over treated regions (one row per region
        besides); ``False``: one effect row per treated region, ``ATT: <region>``.
    alpha
        Kept in the spec; synthetic control reports no standard error or interval.
    random_seed
        Seed for sampling sets of placebos when there are more than 20,000.

    References
    ----------
    Abadie, A., Diamond, A. & Hainmueller, J. (2010). Synthetic control methods for
    comparative case studies. JASA 105(490), 493-505. Abadie, A. (2021). Using synthetic
    controls. JEL 59(2), 391-425. Cavallo, E., Galiani, S., Noy, I. & Pantano, J. (2013).
    Catastrophic natural disasters and economic growth. REStat 95(5), 1549-1561.
    """
    check_alpha(alpha)
    check_flag(average, "average")
    predictors = tuple(check_names(predictors, "predictors", allow_empty=True))
    rows, assignment, notes = _panel_rows(panel, outcome, dict(treated=treated, post_from=post_from,
                                                               first_treated=first_treated, treatment=treatment),
                                          "synthetic_control", extra=predictors)
    settings = SCSettings(predictors=predictors, average=bool(average), alpha=alpha,
                          random_seed=_resolve_seed(random_seed), treated_group=assignment.group)
    return _fit_sc(rows, outcome, settings=settings, warn=True).noting(notes)


def _sc_inputs(rows, outcome, settings: SCSettings, block: _Block) -> np.ndarray | None:
    if not settings.predictors:
        return None
    return _predictor_means(rows, settings.predictors, block.regions, block.years[:block.n_pre])


def _fit_sc(rows: pd.DataFrame, outcome: str, *, settings: SCSettings,
            warn: bool = False) -> SyntheticControlResult:
    """Synthetic control on estimation rows ``region, year, <outcome>, cohort[, predictors]``."""
    check_outcome_varies(rows[outcome].to_numpy(float), outcome)
    block = _block(rows, outcome, min_pre=1, estimator="synthetic control")
    X = _sc_inputs(rows, outcome, settings, block)
    Y, n_pre = block.Y, block.n_pre
    controls, treated = np.flatnonzero(~block.treated), np.flatnonzero(block.treated)
    names = np.asarray(block.regions)
    weights, gaps, v_weights = {}, {}, {}
    for unit in treated:
        w, gap, v = _sc_fit_one(Y, X, unit, controls, n_pre)
        weights[names[unit]], gaps[names[unit]], v_weights[names[unit]] = w, gap, v
    placebo = {}
    for j in controls:
        others = controls[controls != j]
        placebo[names[j]] = _sc_fit_one(Y, X, j, others, n_pre)[1]
    scale = {names[u]: float(np.max(np.abs(Y[u, :n_pre]))) for u in range(len(names))}
    stats = pd.DataFrame([(r, "treated" if r in gaps else "placebo", *_ratio(g, n_pre, scale[r]))
                          for r, g in [*gaps.items(), *placebo.items()]],
                         columns=["region", "role", "pre_rmspe", "post_rmspe", "ratio"]).set_index("region")
    placebo_ratio = stats.loc[stats["role"] == "placebo", "ratio"].to_numpy()
    tolerance = 1e-10
    stats["p_value"] = [(1 + np.sum(placebo_ratio >= r * (1 - tolerance))) / (1 + len(placebo_ratio))
                        if role == "treated" else np.nan for role, r in zip(stats["role"], stats["ratio"])]
    effects = {r: float(np.mean(g[n_pre:])) for r, g in gaps.items()}
    terms, estimates, p_values = [], [], []
    G = len(treated)
    notes = _dropped_note(block, outcome)
    placebo_means = np.array([])
    if settings.average:
        mean_gap = np.mean(list(gaps.values()), axis=0)
        observed = _ratio(mean_gap, n_pre, max(scale[r] for r in gaps))[2]
        placebo_means, n_sets, exact = _placebo_set_ratios(np.array(list(placebo.values())), G, n_pre,
                                                           [scale[r] for r in placebo], settings.random_seed)
        if n_sets:
            p_avg = float((1 + np.sum(placebo_means >= observed * (1 - tolerance))) / (1 + n_sets))
        else:
            p_avg = np.nan
            notes.append(f"{G} treated regions but only {len(placebo)} controls: no set of placebos to compare "
                         "the average with")
        if G > 1 and n_sets:
            notes.append(f"the p-value of the average ranks it among averages of sets of {G} of only {len(placebo)} "
                         "control regions; the sets overlap, so their spread understates the average's own sampling "
                         "variation and the test rejects too often (17 regions, 6 treated, no effect: 27% at 5% in "
                         "benchmarks/coverage_synthetic.py). Use kz.randomization_inference(result), which reassigns "
                         "treatment across all regions (5% in the same simulations)")
        if G > 1 and n_sets and not exact:
            notes.append(f"placebo p-value of the average from {n_sets:,} random sets of {G} controls (of "
                         f"{math.comb(len(placebo), G):,})")
        terms.append("ATT")
        estimates.append(float(np.mean(list(effects.values()))))
        p_values.append(p_avg)
    if not settings.average or G > 1:
        for r in gaps:
            terms.append(f"ATT: {r}")
            estimates.append(effects[r])
            p_values.append(float(stats.loc[r, "p_value"]))
    effect = ("ATT",) if settings.average else tuple(terms)
    nan = np.full(len(terms), np.nan)
    table = pd.DataFrame({"estimate": estimates, "std_error": nan, "ci_low": nan, "ci_high": nan,
                          "p_value": p_values}, index=pd.Index(terms, name="term"))
    poor, exact_fit = [], []
    for r, gap in gaps.items():
        sd = float(np.std(Y[names == r][0, :n_pre], ddof=1)) if n_pre > 1 else 0.0
        pre_rmspe = float(stats.loc[r, "pre_rmspe"])
        if pre_rmspe > sd and pre_rmspe > 1e-8 * max(scale[r], 1.0):
            poor.append(f"{r}: RMSPE {pre_rmspe:.4g} vs outcome sd {sd:.4g}")
        if X is None and pre_rmspe <= 1e-8 * max(scale[r], 1.0):
            exact_fit.append(str(r))
        elif X is not None and _predictor_fit_is_exact(X, names, r, controls, weights[r], v_weights[r]):
            exact_fit.append(str(r))
    if poor:
        notes.append("pre-period fit is poor (RMSPE above the sd of the region's pre-period outcome): "
                     + "; ".join(poor))
    if exact_fit:
        what = "predictor" if X is not None else "pre-period"
        notes.append(f"{what} fit is exact for {', '.join(exact_fit)}: the region lies in the controls' convex hull, "
                     "so its weights are not unique (the solver returns one vertex of the optimal face) and neither is "
                     "its estimate")
    if G == 1 or not settings.average:
        notes.append(f"placebo p-values rank among {len(placebo_ratio)} control regions: the smallest attainable is "
                     f"1/{len(placebo_ratio) + 1} = {1 / (len(placebo_ratio) + 1):.3f}")
    if warn:
        for note in notes:
            if note.startswith(("pre-period fit is poor", "dropped")):
                warnings.warn(note, KzCausalWarning, stacklevel=3)
    control_names = names[controls]
    weight_frame = pd.DataFrame(weights, index=pd.Index(control_names, name="region"))
    years = pd.Index(block.years, name="year")
    predictor_weights = (pd.DataFrame(v_weights, index=pd.Index(settings.predictors, name="predictor"))
                         if settings.predictors else None)
    what = "predictors' pre-period means, inverse-variance V" if settings.predictors else "pre-period outcomes"
    return SyntheticControlResult(
        table=table,
        vcov=pd.DataFrame(np.full((len(terms), len(terms)), np.nan), index=terms, columns=terms),
        method=(f"synthetic control (Abadie et al. 2010; {what}), placebo-in-space p-values "
                f"({'mean over ' + str(G) + ' treated regions' if settings.average and G > 1 else 'by region'})"),
        effect=effect,
        spec={"estimator": "synthetic_control", "outcome": outcome, "treated": _treated(rows),
              "post_from": block.adoption, **settings.display()}, alpha=settings.alpha, outcome=outcome,
        n_obs=int(block.Y.size),
        n_clusters=len(block.regions),
        cluster="region",
        fixed_effects=None,
        caveats=tuple(notes),
        data=rows,
        refitter=partial(_fit_sc, settings=settings),
        regression=partial(_stacked_sc_form, Y=Y, treated=treated, controls=controls,
                           weights=np.array(list(weights.values())), n_pre=n_pre, average=settings.average,
                           labels=tuple(names)),
        permuted=None if block.dropped else partial(_permuted_sc, rows=rows, outcome=outcome, settings=settings),
        weights=weight_frame,
        gaps=pd.DataFrame(gaps, index=years),
        placebo_gaps=pd.DataFrame(placebo, index=years),
        rmspe=stats,
        placebo_ratios=placebo_means,
        predictor_weights=predictor_weights,
        adoption_year=block.adoption,
        average=settings.average,
    )


def _placebo_set_ratios(placebo_gaps: np.ndarray, size: int, n_pre: int, scales: Sequence[float], seed: int
                        ) -> tuple[np.ndarray, int, bool]:
    """The averaged statistic for every set of ``size`` placebos (a random sample past 20,000 sets)."""
    J = len(placebo_gaps)
    if size > J:
        return np.array([]), 0, True
    total = math.comb(J, size)
    if total <= _MAX_PLACEBO_SETS:
        sets, exact = np.array(list(itertools.combinations(range(J), size))), True
    else:
        rng = np.random.default_rng(seed)
        sets, exact = np.argsort(rng.random((_MAX_PLACEBO_SETS, J)), axis=1)[:, :size], False
    means = placebo_gaps[sets].mean(axis=1)
    scale = np.asarray(scales)[sets].max(axis=1)
    pre, post = np.mean(means[:, :n_pre] ** 2, axis=1), np.mean(means[:, n_pre:] ** 2, axis=1)
    ratios = np.sqrt(post / np.maximum(pre, 1e-8 * np.maximum(scale, 1.0) ** 2))
    return ratios, len(sets), exact


def _permuted_sc(matrix: np.ndarray, *, rows: pd.DataFrame, outcome: str, settings: SCSettings) -> np.ndarray:
    """The headline effect for every assignment (weights only; no placebos)."""
    block, masks = _assignment_masks(rows, outcome, matrix, "synthetic control")
    X = _sc_inputs(rows, outcome, settings, block)
    out = np.empty(len(masks))
    for a, mask in enumerate(masks):
        controls, treated = np.flatnonzero(~mask), np.flatnonzero(mask)
        effects = [np.mean(_sc_fit_one(block.Y, X, u, controls, block.n_pre)[1][block.n_pre:])
                   for u in (treated if settings.average else treated[:1])]
        out[a] = np.mean(effects)
    return out


def _stacked_sc_form(*, Y, treated, controls, weights, n_pre, average, labels) -> RegressionForm:
    """Synthetic control as a weighted regression (Arkhangelsky et al. 2021, eq. 2), weights held fixed.

    One stack per treated region (the region with weight 1, its donors with their weights),
    post-period years only, stack x year effects: the coefficient of the treated dummy is the
    mean post-period gap (one coefficient per region with ``average=False``).
    """
    unit, cell, weight, stack, lead = [], [], [], [], []
    T = Y.shape[1]
    for s, (r, w) in enumerate(zip(treated, weights)):
        members = np.concatenate([[r], controls[w > 0]])
        member_weight = np.concatenate([[1.0], w[w > 0]])
        for t in range(n_pre, T):
            unit.append(members)
            weight.append(member_weight)
            cell.append(np.full(len(members), s * T + t))
            stack.append(np.full(len(members), s))
            lead.append(np.arange(len(members)) == 0)
    unit, cell, weight, stack, is_treated = map(np.concatenate, (unit, cell, weight, stack, lead))
    root = np.sqrt(weight)
    year = cell % T
    codes, cells = np.unique(cell, return_inverse=True)
    project = partial(_cell_residualize, root=root, cells=cells, n_cells=len(codes))
    if average:
        X = (root * is_treated)[:, None]
        R = np.ones(1)
    else:
        X = np.column_stack([root * is_treated * (stack == s) for s in range(len(treated))])
        R = np.eye(len(treated))[0]
    return RegressionForm(X=project(X), y=project(root * Y[unit, year]), R=R, clusters=unit, labels=labels,
                          project=project)


def _cell_residualize(values: np.ndarray, *, root: np.ndarray, cells: np.ndarray, n_cells: int) -> np.ndarray:
    """Weighted within-cell demeaning in the sqrt-weighted space: ``M_Z`` for cell dummies times ``root``."""
    values = np.asarray(values, float)
    flat = values.reshape(len(root), -1)
    sums = np.zeros((n_cells, flat.shape[1]))
    np.add.at(sums, cells, root[:, None] * flat)
    mass = np.bincount(cells, weights=root**2, minlength=n_cells)
    return (flat - root[:, None] * (sums / mass[:, None])[cells]).reshape(values.shape)
