"""Sensitivity to violations of parallel trends (Rambachan & Roth 2023, "HonestDiD").

The event study's coefficients are ``beta = tau + delta``: treatment effects (zero before
adoption) plus a bias ``delta`` from non-parallel trends. Instead of assuming ``delta_post = 0``,
the analyst bounds how far the post-period bias may go given what the pre-periods show:

- **relative magnitudes** ``Delta^RM(Mbar)``: no post-period change of ``delta`` between
  consecutive years exceeds ``Mbar`` times the largest such change before adoption;
- **smoothness** ``Delta^SD(M)``: the slope of ``delta`` changes by at most ``M`` a year
  (``M = 0``: linear trends, extrapolated).

The target is ``theta = l' tau_post``. Relative magnitudes use the conditional and hybrid
(conditional-least-favourable) tests of Andrews, Roth & Pakes (2023) for moment inequalities
with nuisance parameters, inverted over ``theta``; ``Delta^RM`` is a union of polyhedra (which
pre-period difference is the largest, and its sign), so the confidence set is the union of
the per-polyhedron sets. Smoothness uses the fixed-length confidence interval (FLCI) of
Armstrong & Kolesár: the affine estimator ``v' beta`` whose worst-case bias over
``Delta^SD(M)`` and standard deviation give the shortest interval. All linear programs are
solved with HiGHS (``scipy.optimize.linprog``); the ARP statistic's LP has a feasible set that does
not move with ``theta`` or the data, so its dual vertices are enumerated once per polyhedron and
every test statistic, truncation bound and least-favourable draw is then a matrix product.

Event times follow the event study: the reference period is ``e = -1`` (HonestDiD's period
0), leads ``e <= -2`` are the pre-periods and ``e >= 0`` the post-periods.
"""

from __future__ import annotations

import itertools
import math
import numbers
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from ..parallel import map_tasks
from ..results import CheckResult, EventStudyResult, axes_for, no_sampling_error
from ..errors import SpecificationError, check_count, check_flag, check_seed

#: The largest theta grid per polyhedron (relative magnitudes) and the most bounds (M or Mbar values) per call.
MAX_GRID_POINTS = 5_000
MAX_BOUNDS = 1_000

__all__ = ["honest_sensitivity", "HonestResult"]

Restriction = Literal["relative_magnitude", "smoothness"]


# ------------------------------------------------------------------ result
@dataclass(frozen=True, eq=False)
class HonestResult(CheckResult):
    """Robust confidence sets over a grid of restriction sizes, the original CI and the breakdown value.

    ``table`` has one row per bound (``M``: ``Mbar`` for relative magnitudes, ``M`` for
    smoothness) with the robust interval. ``breakdown`` is the largest bound at which the
    robust interval still excludes zero (``0.0`` when the original CI already covers zero is
    reported as ``nan``; ``inf``-like values are capped at the largest bound searched and
    flagged by ``breakdown_capped``).
    """

    original: tuple[float, float] = (np.nan, np.nan)
    estimate: float = np.nan
    restriction: str = "relative_magnitude"
    target: str = ""
    weights: np.ndarray = field(default=None, repr=False)
    alpha: float = 0.05
    breakdown: float = np.nan
    breakdown_capped: bool = False
    event_study: EventStudyResult | None = field(default=None, repr=False)

    @property
    def bound_name(self) -> str:
        return "Mbar" if self.restriction == "relative_magnitude" else "M"

    def summary(self) -> str:
        name = self.bound_name
        lines = [f"HonestDiD sensitivity ({self.restriction.replace('_', ' ')}, {self.method}) for {self.target}",
                 f"estimate {self.estimate:.4f}; original {1 - self.alpha:.0%} CI "
                 f"[{self.original[0]:.4f}, {self.original[1]:.4f}] (exact parallel trends)", "",
                 self.table.to_string(index=False, float_format=lambda x: f"{x:.4f}"), ""]
        if np.isnan(self.breakdown):
            lines.append("Breakdown value: none - the original interval already includes zero.")
        elif self.breakdown_capped:
            lines.append(f"Breakdown value: {name} >= {self.breakdown:.3g} (zero stays excluded over the whole "
                         "range searched).")
        else:
            lines.append(f"Breakdown value: {name} = {self.breakdown:.3g} - the effect stays significant as long "
                         + ("as post-adoption trend changes are at most "
                            f"{self.breakdown:.3g} times the largest pre-adoption change."
                            if self.restriction == "relative_magnitude" else
                            f"as the slope of the trend changes by at most {self.breakdown:.3g} a year."))
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        rows = [{"term": f"{self.target}, original", "bound": np.nan, "estimate": self.estimate,
                 "ci_low": self.original[0], "ci_high": self.original[1], "method": "original"}]
        for _, r in self.table.iterrows():
            rows.append({"term": f"{self.target}, {self.bound_name} = {r[self.bound_name]:.3g}",
                         "bound": r[self.bound_name], "estimate": self.estimate, "ci_low": r["ci_low"],
                         "ci_high": r["ci_high"], "method": self.method})
        return pd.DataFrame(rows)

    def plot(self, ax=None):
        """Robust intervals against the bound, the original interval at the left, breakdown marked."""
        ax = axes_for(ax, (7, 3.5))
        m = self.table[self.bound_name].to_numpy()
        step = (m.max() - m.min()) / max(len(m) - 1, 1) if len(m) > 1 else 1.0
        x0 = m.min() - step
        ax.axhline(0, color="0.5", lw=0.8)
        ax.vlines(x0, *self.original, color="C3", lw=2, label="original")
        ax.plot([x0], [self.estimate], "o", color="C3")
        ax.vlines(m, self.table["ci_low"], self.table["ci_high"], color="C0", lw=2, label=self.method)
        if not np.isnan(self.breakdown) and not self.breakdown_capped:
            ax.axvline(self.breakdown, color="0.3", ls=":", lw=0.8, label=f"breakdown {self.bound_name} = "
                       f"{self.breakdown:.3g}")
        ax.set_xlabel(self.bound_name)
        ax.set_ylabel(f"{1 - self.alpha:.0%} robust confidence set")
        ax.set_title(f"{self.restriction.replace('_', ' ')}: {self.target}", fontsize="small")
        ax.legend(fontsize="small")
        return ax


# ------------------------------------------------------------------ entry point
def honest_sensitivity(
    event_study: EventStudyResult,
    *,
    restriction: Restriction = "smoothness",
    Mbar: list[float] | np.ndarray | None = None,
    M: list[float] | np.ndarray | None = None,
    target: str | int = "first",
    alpha: float = 0.05,
    method: Literal["hybrid", "conditional", "flci"] | None = None,
    grid_points: int = 40,
    random_seed: int | None = 0,
    progress: bool = True,
) -> HonestResult:
    """Confidence sets for the effect that stay valid when parallel trends fail by a bounded amount.

    Parameters
    ----------
    event_study
        A result of :func:`kzcausal.event_study` (or a :class:`EventStudyResult` from the
        Bayesian event study): coefficients relative to ``e = -1`` with their covariance.
        Callaway-Sant'Anna event studies must use a universal base period.
    restriction
        ``"relative_magnitude"`` (bounds ``Mbar``, default ``0, 0.25, ..., 2``) or
        ``"smoothness"`` (bounds ``M`` in outcome units per year squared, default ten values
        from 0 to the upper 1 - alpha confidence bound on the largest pre-period second
        difference, as the R package).
    target
        ``"first"`` (effect at ``e = 0``), ``"average"`` (mean over the post-periods) or an
        event time ``e >= 0``.
    method
        Relative magnitudes: ``"hybrid"`` (default, as the R package's ``"C-LF"``:
        conditional-least-favourable, kappa = alpha / 10) or ``"conditional"`` (Andrews-Roth-Pakes).
        Smoothness: ``"flci"``.
    grid_points
        Coarse grid over ``theta`` per polyhedron for relative magnitudes; every change from
        rejected to accepted on it is refined by bisection to 1e-4 standard errors.
    random_seed
        Seeds the least-favourable critical value simulation (hybrid only): 1,000 draws per
        polyhedron from ``default_rng(random_seed)``, the same stream as moderndid's ``seed``.

    Returns
    -------
    HonestResult
        Robust intervals by bound, the original CI (``delta_post = 0``) and the breakdown value:
        the largest bound at which the interval excludes zero, found by bisection between the
        grid points to 1e-3 of the bound.
    """
    beta, sigma, n_pre, n_post, times = _event_study_parts(event_study)
    weights, label = _target_weights(target, times[n_pre:])
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 0.5:
        raise SpecificationError(f"alpha must lie in (0, 0.5); got {alpha!r}. Fix: pass e.g. alpha=0.05.")
    check_count(grid_points, "grid_points", minimum=5, cap=MAX_GRID_POINTS,
                unit_cost="one linear program per polyhedron and bound", fix="the default 40 is enough: every "
                "change on the grid is refined by bisection")
    check_seed(random_seed)
    check_flag(progress, "progress")
    if restriction == "relative_magnitude":
        if M is not None:
            raise SpecificationError("relative magnitudes are bounded by Mbar=[...]; M=[...] is for "
                                     "restriction='smoothness'. Fix: pass Mbar=[...] instead, or "
                                     "restriction='smoothness'.")
        if n_pre < 2:
            raise SpecificationError(f"relative magnitudes need at least 2 pre-periods (leads e <= -2 and the "
                                     f"reference); the event study has {n_pre} lead(s) {times[:n_pre].tolist()}. "
                                     "Widen the window (leads=...) or use restriction='smoothness'.")
        method = method or "hybrid"
        if method not in ("hybrid", "conditional"):
            raise SpecificationError(f"method {method!r} is not available for relative magnitudes; use 'hybrid' "
                                     "or 'conditional'.")
        bounds = _bounds("Mbar", Mbar, np.linspace(0, 2, 9))
        solver = _RelativeMagnitudes(beta, sigma, n_pre, n_post, weights, alpha, method, grid_points, random_seed)
    elif restriction == "smoothness":
        if Mbar is not None:
            raise SpecificationError("smoothness restrictions are bounded by M=[...]; Mbar=[...] is for "
                                     "restriction='relative_magnitude'. Fix: pass M=[...] instead, or "
                                     "restriction='relative_magnitude'.")
        method = method or "flci"
        if method != "flci":
            raise SpecificationError(f"method {method!r} is not available for smoothness; use 'flci'.")
        bounds = _bounds("M", M, np.linspace(0, _default_m_upper(beta, sigma, n_pre, alpha), 10))
        solver = _Smoothness(beta, sigma, n_pre, n_post, weights, alpha)
    else:
        raise SpecificationError(f"restriction={restriction!r}; use restriction='relative_magnitude' (bounded by "
                                 "Mbar) or restriction='smoothness' (bounded by M).")

    intervals = map_tasks(solver.interval, list(bounds), progress=progress, desc=f"HonestDiD ({restriction})")
    name = "Mbar" if restriction == "relative_magnitude" else "M"
    table = pd.DataFrame({name: bounds, "ci_low": [i[0] for i in intervals], "ci_high": [i[1] for i in intervals]})
    estimate = float(weights @ beta[n_pre:])
    half = stats.norm.ppf(1 - alpha / 2) * float(np.sqrt(weights @ sigma[n_pre:, n_pre:] @ weights))
    original = (estimate - half, estimate + half)
    breakdown, capped = _breakdown(solver, bounds, intervals, original)
    return HonestResult(table=table, original=original, estimate=estimate, restriction=restriction,
                        method={"hybrid": "C-LF hybrid", "conditional": "conditional", "flci": "FLCI"}[method],
                        target=label, weights=weights, alpha=alpha, breakdown=breakdown, breakdown_capped=capped,
                        event_study=event_study, result=event_study)


# ------------------------------------------------------------------ inputs
def _event_study_parts(es: EventStudyResult):
    if not isinstance(es, EventStudyResult):
        raise SpecificationError(f"honest_sensitivity takes an event-study result; got {type(es).__name__}. Fix: "
                                 "pass what kz.event_study (or kz.imputation_did) returns.")
    if es.reference != -1:
        raise SpecificationError(f"the event study's reference period is e = {es.reference}; HonestDiD needs "
                                 "coefficients relative to e = -1. Re-estimate with reference=-1.")
    if es.base_period != "universal":
        raise SpecificationError("a Callaway-Sant'Anna event study with a varying base period has pre-period "
                                 "coefficients that are not relative to e = -1; re-estimate with "
                                 "base_period='universal' (kz.event_study does this).")
    times = np.array(es.event_times)
    order = np.argsort(times)
    times = times[order]
    expected = np.concatenate([np.arange(times.min(), -1), np.arange(0, times.max() + 1)])
    if times.min() > -2 or times.max() < 0 or not np.array_equal(times, expected):
        raise SpecificationError(f"HonestDiD needs consecutive event times: pre-period leads down from e = -2, the "
                                 f"reference e = -1 left out, and e = 0, 1, ...; the event study has {times.tolist()}. "
                                 "Fix: re-estimate with leads >= 2 and a window without gaps.")
    beta = es.table["estimate"].to_numpy(dtype=float)[order]
    sigma = es.vcov.to_numpy(dtype=float)[np.ix_(order, order)]
    if not np.all(np.isfinite(beta)) or not np.all(np.isfinite(sigma)):
        bad = times[~np.isfinite(beta) | ~np.isfinite(np.diag(sigma))].tolist()
        raise SpecificationError(f"event-study coefficients or variances are missing at event times {bad}; "
                                 "restrict the window (leads=..., lags=...) to estimable event times.")
    if no_sampling_error(beta, np.sqrt(np.clip(np.diag(sigma), 0, None))).all():
        raise SpecificationError("the event study's coefficients have no sampling variance (zero standard errors: "
                                 "the outcome is fitted exactly, e.g. constant within regions or a 0/1 column), so "
                                 "there is no interval to make robust. Fix: check the outcome.")
    n_pre = int((times < -1).sum())
    return beta, (sigma + sigma.T) / 2, n_pre, len(times) - n_pre, times


def _target_weights(target, post_times: np.ndarray) -> tuple[np.ndarray, str]:
    n = len(post_times)
    if isinstance(target, str) and target == "first":
        return np.eye(n)[0], "effect at e = 0"
    if isinstance(target, str) and target == "average":
        return np.full(n, 1.0 / n), f"average effect over e = 0..{int(post_times[-1])}"
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool) and target in post_times:
        return np.eye(n)[int(target)], f"effect at e = {int(target)}"
    raise SpecificationError(f"target={target!r}; use 'first', 'average' or a post-period event time in "
                             f"{post_times.tolist()}.")


def _bounds(name: str, values, default: np.ndarray) -> np.ndarray:
    try:
        out = default if values is None else np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError):
        raise SpecificationError(f"{name}={values!r} is not a list of numbers; pass e.g. {name}=[0, 0.5, 1].") from None
    if out.size == 0 or not np.all(np.isfinite(out)) or (out < 0).any():
        raise SpecificationError(f"{name} must be a non-empty list of finite values >= 0 (0 is exact parallel "
                                 f"trends for relative magnitudes, linear trends for smoothness); got "
                                 f"{np.asarray(values).tolist()}.")
    out = np.unique(out)
    if len(out) > MAX_BOUNDS:
        raise SpecificationError(f"{name} has {len(out):,} distinct values; each costs a robust interval (a grid of "
                                 f"linear programs), and the cap is {MAX_BOUNDS:,}. Fix: pass at most {MAX_BOUNDS:,} "
                                 f"values, e.g. {name}=np.linspace(0, 2, 21).")
    return out


def _default_m_upper(beta, sigma, n_pre, alpha) -> float:
    """Upper 1 - alpha bound on the largest pre-period second difference (R's DeltaSD_upperBound_Mpre)."""
    if n_pre < 2:
        return float(np.sqrt(sigma[0, 0]))
    pre = np.append(beta[:n_pre], 0.0)
    cov = np.zeros((n_pre + 1, n_pre + 1))
    cov[:n_pre, :n_pre] = sigma[:n_pre, :n_pre]
    D = np.zeros((n_pre - 1, n_pre + 1))
    for i in range(n_pre - 1):
        D[i, i:i + 3] = [1.0, -2.0, 1.0]
    sd = np.sqrt(np.diag(D @ cov @ D.T))
    return float(np.max(D @ pre + stats.norm.ppf(1 - alpha) * sd))


def _breakdown(solver, bounds, intervals, original) -> tuple[float, bool]:
    """Largest bound with zero outside the robust interval, refined by bisection between grid points."""
    def excludes(iv):
        return np.isfinite(iv[0]) and (iv[0] > 0 or iv[1] < 0)

    if not excludes(original):
        return np.nan, False
    ok = [excludes(iv) for iv in intervals]
    if all(ok):
        return float(bounds[-1]), True
    first_bad = ok.index(False)
    lo = bounds[first_bad - 1] if first_bad > 0 else 0.0
    hi = bounds[first_bad]
    if first_bad == 0 and (bounds[0] == 0 or not excludes(solver.interval(0.0))):
        return 0.0, False
    while hi - lo > 1e-3 * max(hi, 1e-12):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if excludes(solver.interval(mid)) else (lo, mid)
    return float(lo), False


# ------------------------------------------------------------------ relative magnitudes (ARP tests)
class _RelativeMagnitudes:
    """Delta^RM(Mbar) as a union of 2 * n_pre polyhedra A(s, sign) delta <= 0, each tested by ARP."""

    def __init__(self, beta, sigma, n_pre, n_post, weights, alpha, method, grid_points, random_seed):
        self.beta, self.sigma, self.n_pre, self.n_post = beta, sigma, n_pre, n_post
        self.weights, self.alpha, self.hybrid = weights, alpha, method == "hybrid"
        self.kappa = alpha / 10
        self.grid_points = grid_points
        self.sd_theta = float(np.sqrt(weights @ sigma[n_pre:, n_pre:] @ weights))
        self.random_seed = random_seed                  # seeds the least-favourable draws of every polyhedron
        # Gamma: first row the target weights, then unit rows for all post periods but the largest weight
        drop = int(np.argmax(np.abs(weights)))
        self.gamma_inv = np.linalg.inv(np.vstack([weights, np.eye(n_post)[[i for i in range(n_post) if i != drop]]]))

    def constraints(self, mbar: float, s: int, positive: bool) -> np.ndarray:
        """A with A delta <= 0 for the polyhedron where pre-period difference s (0..n_pre-1) is largest."""
        n_pre, n_post = self.n_pre, self.n_post
        periods = n_pre + n_post + 1                       # HonestDiD periods -n_pre..n_post, 0 = reference
        diff = np.zeros((periods - 1, periods))
        diff[np.arange(periods - 1), np.arange(periods - 1)] = -1.0
        diff[np.arange(periods - 1), np.arange(1, periods)] = 1.0
        largest = diff[s] * (1.0 if positive else -1.0)
        scale = np.r_[np.ones(n_pre), np.full(n_post, mbar)]
        bound = scale[:, None] * largest[None, :]
        A = np.vstack([diff - bound, -diff - bound])
        A = A[np.abs(A).max(axis=1) > 1e-10]
        return np.delete(A, n_pre, axis=1)

    def identified_set(self, mbar: float) -> tuple[float, float]:
        """Identified set of theta at beta = beta_hat (union over polyhedra), by linear programming."""
        lo, hi = np.inf, -np.inf
        n_pre = self.n_pre
        c = np.r_[np.zeros(n_pre), self.weights]
        eq = np.hstack([np.eye(n_pre), np.zeros((n_pre, self.n_post))])
        for s in range(n_pre):
            for positive in (True, False):
                A = self.constraints(mbar, s, positive)
                res = [optimize.linprog(sign * c, A_ub=A, b_ub=np.zeros(len(A)), A_eq=eq, b_eq=self.beta[:n_pre],
                                        bounds=(None, None), method="highs") for sign in (1.0, -1.0)]
                if res[0].status == 0 and res[1].status == 0:
                    theta = float(self.weights @ self.beta[n_pre:])
                    lo, hi = min(lo, theta + res[1].fun), max(hi, theta - res[0].fun)
        return lo, hi

    def interval(self, mbar: float) -> tuple[float, float]:
        id_lo, id_hi = self.identified_set(mbar)
        if not np.isfinite(id_lo):
            id_lo = id_hi = float(self.weights @ self.beta[self.n_pre:])
        grid = np.linspace(id_lo - 20 * self.sd_theta, id_hi + 20 * self.sd_theta, self.grid_points)
        tol = 1e-4 * self.sd_theta
        lo, hi = np.inf, -np.inf
        for s in range(self.n_pre):
            for positive in (True, False):
                test = _ARPTest(self.constraints(mbar, s, positive), self)
                accepted = np.array([test.accepts(t) for t in grid])
                if not accepted.any():
                    continue
                idx = np.flatnonzero(accepted)
                first, last = idx[0], idx[-1]
                left = grid[0] if first == 0 else _bisect(test.accepts, grid[first - 1], grid[first], tol)
                right = grid[-1] if last == len(grid) - 1 else _bisect(test.accepts, grid[last + 1], grid[last], tol)
                lo, hi = min(lo, left), max(hi, right)
        if not np.isfinite(lo):
            return (np.nan, np.nan)
        return (float(lo), float(hi))


def _bisect(accepts, rejected: float, accepted: float, tol: float) -> float:
    """Boundary between a rejected and an accepted theta."""
    while abs(accepted - rejected) > tol:
        mid = (accepted + rejected) / 2
        if accepts(mid):
            accepted = mid
        else:
            rejected = mid
    return accepted


class _ARPTest:
    """Andrews-Roth-Pakes test of H0: exists tau_post with l'tau = theta and A(beta - (0, tau)) <= 0.

    With tau_post = Gamma^-1 (theta, xi), the moments are ``Y(theta) - X xi <= 0``, ``Y(theta) =
    A beta_hat - a1 theta``; the statistic is ``eta = min_xi max_j (Y - X xi)_j / sd_j`` over the
    rows that involve post-periods (HonestDiD's post-period moments only).
    """

    def __init__(self, A: np.ndarray, rm: _RelativeMagnitudes):
        n_pre = rm.n_pre
        a_post = A[:, n_pre:] @ rm.gamma_inv
        rows = np.flatnonzero(np.abs(A[:, n_pre:]).max(axis=1) > 0) if rm.n_post > 1 else np.arange(len(A))
        self.y0 = (A @ rm.beta)[rows]
        self.a1 = a_post[rows, 0]
        self.X = a_post[rows, 1:]
        self.sigma = (A @ rm.sigma @ A.T)[np.ix_(rows, rows)]
        self.sd = np.sqrt(np.diag(self.sigma))
        self.W = np.column_stack([self.sd, self.X])
        self.vertices = _dual_vertices(self.W)
        self.alpha, self.hybrid, self.kappa = rm.alpha, rm.hybrid, rm.kappa
        self.lf_cv = self._least_favourable_cv(rm.random_seed) if rm.hybrid else np.inf

    # the statistic --------------------------------------------------------------
    def _eta(self, y: np.ndarray):
        """min eta s.t. y - X xi <= eta sd; returns eta and the dual weights (lambda >= 0, W'lambda = e1).

        By LP duality eta = max over the vertices g of {g >= 0, W'g = e1} of g'y; the vertices depend
        on Sigma and A only, so they are enumerated once per polyhedron (``_dual_vertices``) and each
        eta is a matrix-vector product. Large problems fall back to one LP per call.
        """
        if self.vertices is not None:
            if len(self.vertices) == 0:                          # dual infeasible: eta unbounded below
                return -np.inf, None
            values = self.vertices @ y
            j = int(np.argmax(values))
            return float(values[j]), self.vertices[j]
        res = optimize.linprog(np.r_[1.0, np.zeros(self.X.shape[1])], A_ub=-self.W, b_ub=-y,
                               bounds=(None, None), method="highs-ds")
        if res.status != 0:
            return -np.inf, None
        return float(res.x[0]), -res.ineqlin.marginals

    def _least_favourable_cv(self, random_seed) -> float:
        """1 - kappa quantile of eta under y ~ N(0, Sigma) (the least favourable null), from 1,000 draws.

        The draws are ``default_rng(random_seed).multivariate_normal(0, Sigma, 1000)`` per polyhedron,
        the same stream as moderndid's ``compute_least_favorable_cv(seed=...)``.
        """
        draws = np.random.default_rng(random_seed).multivariate_normal(np.zeros(len(self.sd)), self.sigma, 1000)
        if self.vertices is not None:
            if len(self.vertices) == 0:
                return -np.inf
            etas = (draws @ self.vertices.T).max(axis=1)
        else:
            etas = np.array([self._eta(d)[0] for d in draws])
        return float(np.quantile(etas[np.isfinite(etas)], 1 - self.kappa))

    # the test -------------------------------------------------------------------
    def accepts(self, theta: float) -> bool:
        y = self.y0 - self.a1 * theta
        eta, lam = self._eta(y)
        if lam is None:
            return True
        if self.hybrid and eta > self.lf_cv:
            return False
        size = (self.alpha - self.kappa) / (1 - self.kappa) if self.hybrid else self.alpha
        k = self.X.shape[1]
        binding = lam > 1e-6
        W = self.W
        if self.vertices is not None:
            vlo, vup, sigma_b = self._truncation_vertices(y, lam)
        elif binding.sum() == k + 1 and np.linalg.matrix_rank(W[binding]) == k + 1:
            vlo, vup, sigma_b = self._truncation_licq(y, W, binding)
        else:
            vlo, vup, sigma_b = self._truncation_dual(y, W, eta, lam)
        if sigma_b is None:
            return not eta > 0
        vup = min(vup, self.lf_cv)
        stat, zlo, zup = eta / sigma_b, vlo / sigma_b, vup / sigma_b
        if not zlo <= stat <= zup:
            return True
        return not stat > max(0.0, _truncnorm_quantile(1 - size, zlo, zup))

    def _truncation_vertices(self, y, lam):
        """Range of eta = lam'y over which lam stays the optimal dual vertex, other noise held fixed.

        With y = S + b c (b = Sigma lam / lam'Sigma lam, c = lam'y), vertex g is worth g'S + (g'b) c;
        lam stays optimal while every g'S + (g'b - 1) c <= 0: a max of lines, solved exactly.
        """
        sigma2 = float(lam @ self.sigma @ lam)
        if sigma2 <= np.finfo(float).eps:
            return -np.inf, np.inf, None
        b = self.sigma @ lam / sigma2
        S = y - b * float(lam @ y)
        level, slope = self.vertices @ S, self.vertices @ b - 1.0
        flat = np.abs(slope) <= 1e-12
        cut = -level[~flat] / slope[~flat]
        vlo = np.max(cut[slope[~flat] < 0], initial=-np.inf)
        vup = np.min(cut[slope[~flat] > 0], initial=np.inf)
        return vlo, vup, np.sqrt(sigma2)

    def _truncation_licq(self, y, W, binding):
        """Truncation of eta given the binding rows (a unique, non-degenerate vertex)."""
        W_inv = np.linalg.inv(W[binding])
        v = np.zeros(len(y))
        v[binding] = W_inv[0]                                   # eta = v'y
        sigma2 = float(v @ self.sigma @ v)
        if sigma2 <= np.finfo(float).eps:
            return -np.inf, np.inf, None
        G = W[~binding] @ W_inv @ np.eye(len(y))[binding] - np.eye(len(y))[~binding]   # G y >= 0: vertex optimal
        rho = G @ self.sigma @ v / sigma2
        bound = -(G @ y) / np.where(rho == 0, np.nan, rho) + v @ y
        vlo = np.max(bound[rho > 0]) if (rho > 0).any() else -np.inf
        vup = np.min(bound[rho < 0]) if (rho < 0).any() else np.inf
        return vlo, vup, np.sqrt(sigma2)

    def _truncation_dual(self, y, W, eta, lam):
        """Degenerate vertex: the range of eta over which the dual solution lam stays optimal (bisection)."""
        sigma2 = float(lam @ self.sigma @ lam)
        if sigma2 <= np.finfo(float).eps:
            return -np.inf, np.inf, None
        b = self.sigma @ lam / sigma2
        S = y - b * float(lam @ y)
        b_eq = np.zeros(W.shape[1])
        b_eq[0] = 1.0

        def optimal(c: float) -> bool:               # is lam still optimal when lam'y = c?
            res = optimize.linprog(-(S + b * c), A_eq=W.T, b_eq=b_eq, bounds=(0, None), method="highs")
            return res.status == 0 and abs(-res.fun - c) <= 1e-6

        def solve(c: float):
            return optimize.linprog(-(S + b * c), A_eq=W.T, b_eq=b_eq, bounds=(0, None), method="highs")

        def edge(far: float) -> float:
            """f(c) = max over dual vertices g'(S + b c) is convex with f(c) >= c, equal on [vlo, vup]: walk
            from far towards eta, jumping to where the optimal vertex's line meets c (exact in finite steps)."""
            c = far
            for _ in range(100):
                res = solve(c)
                if res.status != 0:
                    return eta
                if abs(-res.fun - c) <= 1e-6 * max(1.0, abs(c)):
                    return c if abs(c - far) > 0 else (np.inf if far > eta else -np.inf)
                g = res.x
                slope = float(g @ b)
                if abs(1 - slope) < 1e-12:
                    return eta
                c = float(g @ S) / (1 - slope)
            return c

        span = max(100.0, abs(eta) + 20 * np.sqrt(sigma2))
        ends = [edge(eta - span), edge(eta + span)]
        return ends[0], ends[1], np.sqrt(sigma2)


def _dual_vertices(W: np.ndarray, max_bases: int = 50_000) -> np.ndarray | None:
    """Vertices of {g >= 0 : W'g = e1} (the dual of the ARP statistic's LP), by enumerating bases.

    Returns an (n_vertices, m) array, empty when the set is empty (eta unbounded below), or ``None``
    when there are more than ``max_bases`` candidate bases (then each eta is one LP).
    """
    m, p = W.shape
    if math.comb(m, p) > max_bases:
        return None
    bases = np.array(list(itertools.combinations(range(m), p)))
    blocks = np.transpose(W[bases], (0, 2, 1))                  # W_B' per basis
    sv = np.linalg.svd(blocks, compute_uv=False)
    regular = sv[:, -1] > 1e-10 * sv[:, 0]
    bases, blocks = bases[regular], blocks[regular]
    rhs = np.zeros((len(bases), p, 1))
    rhs[:, 0, 0] = 1.0
    g_b = np.linalg.solve(blocks, rhs)[..., 0] if len(bases) else np.zeros((0, p))
    scale = np.abs(g_b).max(axis=1, initial=0.0)
    feasible = (g_b >= -1e-10 * np.maximum(scale, 1.0)[:, None]).all(axis=1)
    vertices = np.zeros((int(feasible.sum()), m))
    np.put_along_axis(vertices, bases[feasible], np.clip(g_b[feasible], 0.0, None), axis=1)
    return np.unique(np.round(vertices, 12), axis=0) if len(vertices) else vertices


def _truncnorm_quantile(p: float, lower: float, upper: float) -> float:
    """p-quantile of N(0, 1) truncated to [lower, upper]."""
    p_lo, p_hi = special.ndtr(lower), special.ndtr(upper)  # stats.norm.cdf's own kernel, without its overhead
    q = p_lo + p * (p_hi - p_lo)
    if q <= p_lo:
        return lower
    if q >= p_hi:
        return upper
    return float(special.ndtri(q))


# ------------------------------------------------------------------ smoothness (FLCI)
class _Smoothness:
    """Fixed-length CI for theta = l'tau_post over Delta^SD(M).

    Any delta with delta_0 = 0 is ``B @ (f0, e)``: the first difference into the reference
    period and the second differences ``e``. An affine estimator ``v'beta`` (``v = (v_pre, l)``)
    has finite worst-case bias only if ``(B'v)_0 = 0`` (linear trends pass through); its
    worst-case bias is then ``M * ||(B'v)_1:||_1``. For each standard deviation ``h`` the
    smallest worst-case bias is a convex programme; the half-length
    ``h * cv_alpha(bias / h)`` is minimized over ``h`` (``cv_alpha(b)``: the 1 - alpha quantile
    of ``|N(b, 1)|``).
    """

    def __init__(self, beta, sigma, n_pre, n_post, weights, alpha):
        self.beta, self.sigma, self.n_pre, self.n_post = beta, sigma, n_pre, n_post
        self.l, self.alpha = weights, alpha
        B = _levels_from_differences(n_pre, n_post)
        self.C_pre, self.C_post = B[:n_pre].T, B[n_pre:].T     # rows: f0, e_1..; columns: periods
        self.slope_pre, self.slope_target = self.C_pre[0], -float(self.C_post[0] @ weights)
        self._min_variance = self._min_variance_weights()
        self._cache: dict[float, tuple[float, np.ndarray]] = {}

    def _variance(self, v_pre):
        v = np.r_[v_pre, self.l]
        return float(v @ self.sigma @ v)

    def _bias(self, v_pre):
        return float(np.abs(self.C_pre[1:] @ v_pre + self.C_post[1:] @ self.l).sum())

    def _min_variance_weights(self):
        """argmin var(v'beta) subject to the linear-trend constraint (closed form)."""
        n = self.n_pre
        S11, S12 = self.sigma[:n, :n], self.sigma[:n, n:]
        K = np.block([[2 * S11, self.slope_pre[:, None]], [self.slope_pre[None, :], np.zeros((1, 1))]])
        rhs = np.r_[-2 * S12 @ self.l, self.slope_target]
        return np.linalg.lstsq(K, rhs, rcond=None)[0][:n]

    def _min_bias_weights(self):
        """Extrapolate the linear trend through e = -2 and the reference (HonestDiD's minimum-bias estimator)."""
        v = np.zeros(self.n_pre)
        v[-1] = self.slope_target / self.slope_pre[-1]
        return v

    def _least_bias(self, h: float):
        """min worst-case bias (per unit M) subject to sd <= h: variables (v_pre, u), objective sum u."""
        if h in self._cache:
            return self._cache[h]
        n, m = self.n_pre, self.C_pre.shape[0] - 1
        P, q = self.C_pre[1:], self.C_post[1:] @ self.l
        S11, S12, s22 = self.sigma[:n, :n], self.sigma[:n, n:] @ self.l, float(self.l @ self.sigma[n:, n:] @ self.l)
        start_v = self._min_bias_weights() if self._variance(self._min_bias_weights()) <= h**2 \
            else self._min_variance_weights()
        x0 = np.r_[start_v, np.abs(P @ start_v + q) + 1e-9]
        cons = [
            {"type": "ineq", "fun": lambda x: x[n:] - (P @ x[:n] + q), "jac": lambda x: np.hstack([-P, np.eye(m)])},
            {"type": "ineq", "fun": lambda x: x[n:] + (P @ x[:n] + q), "jac": lambda x: np.hstack([P, np.eye(m)])},
            {"type": "eq", "fun": lambda x: np.array([self.slope_pre @ x[:n] - self.slope_target]),
             "jac": lambda x: np.r_[self.slope_pre, np.zeros(m)][None, :]},
            {"type": "ineq", "fun": lambda x: np.array([h**2 - (x[:n] @ S11 @ x[:n] + 2 * x[:n] @ S12 + s22)]),
             "jac": lambda x: np.r_[-2 * (S11 @ x[:n] + S12), np.zeros(m)][None, :]},
        ]
        res = optimize.minimize(lambda x: x[n:].sum(), x0, jac=lambda x: np.r_[np.zeros(n), np.ones(m)],
                                constraints=cons, method="SLSQP", options={"ftol": 1e-12, "maxiter": 500})
        v = res.x[:n]
        out = (self._bias(v), v)
        self._cache[h] = out
        return out

    def _half_length(self, h: float, M: float) -> float:
        bias, _ = self._least_bias(h)
        return h * _folded_normal_quantile(1 - self.alpha, M * bias / h)

    def interval(self, M: float) -> tuple[float, float]:
        h_lo = np.sqrt(self._variance(self._min_variance_weights()))
        h_hi = np.sqrt(self._variance(self._min_bias_weights()))
        if M == 0 or h_hi <= h_lo * (1 + 1e-9):
            v = self._min_variance_weights() if M == 0 else self._min_bias_weights()
            h = np.sqrt(self._variance(v))
            half = h * _folded_normal_quantile(1 - self.alpha, M * self._bias(v) / h)
        else:
            res = optimize.minimize_scalar(lambda h: self._half_length(h, M), bounds=(h_lo * (1 + 1e-7), h_hi),
                                           method="bounded", options={"xatol": 1e-7 * h_hi})
            at_min_bias = self._half_length(h_hi, M)
            h, half = (float(res.x), float(res.fun)) if res.fun < at_min_bias else (h_hi, at_min_bias)
            v = self._least_bias(h)[1]
        center = float(np.r_[v, self.l] @ self.beta)
        return (center - half, center + half)


def _levels_from_differences(n_pre: int, n_post: int) -> np.ndarray:
    """Matrix B with delta (periods -n_pre..-1, 1..n_post; delta_0 = 0) = B @ (f0, e_{-n_pre+1}, ..., e_{n_post-1}).

    ``f0 = delta_0 - delta_-1``; ``e_t = delta_{t+1} - 2 delta_t + delta_{t-1}``.
    """
    periods = np.r_[np.arange(-n_pre, 0), np.arange(1, n_post + 1)]
    e_times = np.arange(-n_pre + 1, n_post)
    B = np.zeros((len(periods), 1 + len(e_times)))
    for row, t in enumerate(periods):
        # first differences f_u = delta_u - delta_{u-1} as combinations of (f0, e)
        def first_difference(u):
            out = np.zeros(1 + len(e_times))
            out[0] = 1.0
            if u > 0:
                out[1:] += (e_times >= 0) & (e_times <= u - 1)
            elif u < 0:
                out[1:] -= (e_times >= u) & (e_times <= -1)
            return out
        if t > 0:
            B[row] = sum(first_difference(u) for u in range(1, t + 1))
        else:
            B[row] = -sum(first_difference(u) for u in range(t + 1, 1))
    return B


def _folded_normal_quantile(p: float, mean: float) -> float:
    """p-quantile of |N(mean, 1)|."""
    mean = abs(mean)
    if mean == 0:
        return float(special.ndtri((1 + p) / 2))
    f = lambda x: special.ndtr(x - mean) - special.ndtr(-x - mean) - p  # noqa: E731
    return float(optimize.brentq(f, 0.0, mean + 10.0))
