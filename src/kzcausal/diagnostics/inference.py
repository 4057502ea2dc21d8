"""Inference with few clusters: exact randomization inference and the wild cluster bootstrap.

Both work on a DID result from :func:`kzcausal.did_2x2` or :func:`kzcausal.twfe` through the
Frisch-Waugh-Lovell theorem: the nuisance regressors (region and year effects, the 2x2
group and period dummies, covariates) are partialled out once, and the coefficient of the
treatment dummy is ``d'M y / d'M d``. Everything that depends on the treatment assignment
is a sum over regions, so thousands of assignments (or bootstrap draws) are one matrix
product instead of thousands of regressions.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize

from ..did.results import DIDResult
from ..errors import SpecificationError

__all__ = ["randomization_inference", "wild_cluster_bootstrap", "RandomizationResult", "BootstrapResult"]

MAX_EXACT = 10**6


# ------------------------------------------------------------------ the design
@dataclass(frozen=True)
class _Design:
    """FWL pieces: outcome residual, nuisance matrix, per-row region code and year, cohorts."""

    y: np.ndarray              # outcome
    y_res: np.ndarray          # M_Z y
    Z: np.ndarray              # nuisance regressors (N x m)
    ztz_inv: np.ndarray
    unit: np.ndarray           # region code of each row
    year: np.ndarray
    cohorts: np.ndarray        # first treated year of each region (inf: never)
    regions: np.ndarray
    pooled: bool               # paper 002's pooled 2x2 (the group dummy moves with the assignment)


def estimation_rows(result: DIDResult) -> pd.DataFrame:
    """The rows a result of :func:`kzcausal.did_2x2` or :func:`kzcausal.twfe` was estimated on."""
    if getattr(result, "data", None) is None or result.spec.get("estimator") not in ("did_2x2", "twfe"):
        raise SpecificationError("this check takes results of kz.did_2x2 or kz.twfe (they carry the rows they "
                                 "used).")
    return result.data


def _design(result: DIDResult) -> _Design:
    data = estimation_rows(result)
    outcome = result.spec["outcome"]
    codes, regions = pd.factorize(data["region"])
    years = data["year"].to_numpy()
    pooled = result.spec["estimator"] == "did_2x2" and not result.spec["fixed_effects"]
    columns = [np.ones(len(data))]
    if pooled:
        post = (years >= result.spec["post_from"]).astype(float)
        columns += [np.isfinite(data["cohort"].to_numpy()).astype(float), post]
    else:
        columns += [(codes == j).astype(float) for j in range(1, len(regions))]
        columns += [(years == t).astype(float) for t in np.unique(years)[1:]]
        columns += [data[c].to_numpy(float) for c in result.spec.get("covariates") or []]
    Z = np.column_stack(columns)
    ztz_inv = np.linalg.pinv(Z.T @ Z)
    y = data[outcome].to_numpy(float)
    cohorts = pd.Series(data["cohort"].to_numpy(float)).groupby(codes).first().to_numpy()
    return _Design(y=y, y_res=y - Z @ (ztz_inv @ (Z.T @ y)), Z=Z, ztz_inv=ztz_inv, unit=codes, year=years,
                   cohorts=cohorts, regions=np.asarray(regions), pooled=pooled)


def _treatment(design: _Design, cohorts_by_unit: np.ndarray) -> np.ndarray:
    return (design.year >= cohorts_by_unit[design.unit]).astype(float)


def _t_scale(design: _Design) -> float:
    """linearmodels' clustered small-sample factor sqrt(N / (N - K)), K = every regressor incl. effects."""
    n_obs, k = design.Z.shape[0], np.linalg.matrix_rank(design.Z) + 1
    return float(np.sqrt((n_obs - k) / n_obs))


def _cluster_t(d_res: np.ndarray, y_res: np.ndarray, unit: np.ndarray, n_units: int) -> tuple[float, float]:
    """Coefficient and cluster-robust t without small-sample factor (it cancels in p-values)."""
    q = d_res @ d_res
    beta = (d_res @ y_res) / q
    scores = np.bincount(unit, weights=d_res * (y_res - beta * d_res), minlength=n_units)
    return beta, beta / (np.sqrt(scores @ scores) / q)


def _one_row(estimate: float, p_value: float, method: str, ci_low: float = np.nan, ci_high: float = np.nan
             ) -> pd.DataFrame:
    """The common tidy table for a single tested coefficient."""
    return pd.DataFrame({"term": ["treatment"], "estimate": [estimate], "std_error": [np.nan], "ci_low": [ci_low],
                         "ci_high": [ci_high], "p_value": [p_value], "method": [method]})


# ------------------------------------------------------------------ randomization
@dataclass(frozen=True, eq=False)
class RandomizationResult:
    """Distribution of a statistic over reassignments of treatment across regions."""

    observed: float
    distribution: np.ndarray = field(repr=False)
    p_value: float
    statistic: str
    exact: bool
    n_assignments: int
    method: str

    def summary(self) -> str:
        kind = "all" if self.exact else "sampled"
        return (f"{self.method}\n{kind} {self.n_assignments:,} assignments; observed {self.statistic} = "
                f"{self.observed:.4f}; randomization p-value (two-sided) = {self.p_value:.4f}")

    def to_frame(self) -> pd.DataFrame:
        return _one_row(self.observed, self.p_value, self.method)

    def plot(self, ax=None):
        """Histogram of the randomization distribution with the observed value marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist(self.distribution, bins=60, color="C0", alpha=0.7)
        ax.axvline(self.observed, color="C3", lw=1.5, label=f"observed ({self.observed:.3f})")
        ax.axvline(-self.observed, color="C3", lw=1, ls=":")
        ax.set_xlabel(self.statistic)
        ax.set_title(f"randomization p = {self.p_value:.4f}", fontsize="small")
        ax.legend(fontsize="small")
        return ax


def randomization_inference(
    result: DIDResult,
    assignments: Literal["exact"] | int = "exact",
    *,
    statistic: Literal["estimate", "t"] = "estimate",
    random_seed: int | None = None,
    progress: bool = True,
) -> RandomizationResult:
    """Randomization (permutation) inference for a DID estimate: placebo in space.

    The regions' first treated years (cohort labels, never treated included) are
    reassigned across regions; the statistic is recomputed for every distinct assignment
    (``"exact"``: with 17 regions and 6 treated, all C(17, 6) = 12,376) or for
    ``assignments`` random permutations (the observed assignment is always counted).
    The two-sided p-value is the share of assignments with ``|statistic| >= |observed|``.

    Parameters
    ----------
    result
        A result of :func:`kzcausal.did_2x2` or :func:`kzcausal.twfe`.
    statistic
        ``"estimate"`` (the coefficient) or ``"t"`` (coefficient / cluster-robust error with
        linearmodels' small-sample factor, as :func:`kzcausal.twfe`; fixed-effects
        specifications).

    References
    ----------
    Fisher (1935); MacKinnon & Webb (2020), Randomization inference for difference-in-
    differences with few treated clusters. Journal of Econometrics 218(2), 435-450.
    """
    if statistic not in ("estimate", "t"):
        raise SpecificationError(f"statistic={statistic!r}; use 'estimate' or 't'.")
    design = _design(result)
    if design.pooled and statistic == "t":
        raise SpecificationError("statistic='t' needs the fixed-effects specification "
                                 "(did_2x2(..., fixed_effects=True) or twfe).")
    labels = design.cohorts
    if len(np.unique(labels)) < 2:
        raise SpecificationError("every region has the same treatment path; nothing to permute.")
    exact = assignments == "exact"
    if exact:
        count = _count_assignments(labels)
        if count > MAX_EXACT:
            raise SpecificationError(f"exact enumeration needs {count:,} assignments (> {MAX_EXACT:,}). "
                                     "Fix: pass assignments=9999 (a random sample of permutations).")
        matrix = _enumerate(labels)
    else:
        if not isinstance(assignments, int) or assignments < 1:
            raise SpecificationError(f"assignments={assignments!r}; use 'exact' or a positive number.")
        rng = np.random.default_rng(random_seed)
        matrix = np.vstack([labels, np.array([rng.permutation(labels) for _ in range(assignments)])])
    values = _statistics(design, matrix, statistic, progress)
    observed = values[0] if not exact else _statistics(design, labels[None, :], statistic, False)[0]
    if statistic == "t":  # report t on linearmodels' scale (as kz.twfe's clustered errors)
        values, observed = values * _t_scale(design), observed * _t_scale(design)
    tolerance = 1e-10 * max(1.0, abs(observed))
    p_value = float(np.mean(np.abs(values) >= abs(observed) - tolerance))
    return RandomizationResult(observed=float(observed), distribution=values, p_value=p_value,
                               statistic=statistic, exact=exact, n_assignments=len(values),
                               method=f"randomization inference ({result.method})")


def _count_assignments(labels: np.ndarray) -> int:
    counts = Counter(labels.tolist())
    total = math.factorial(len(labels))
    for c in counts.values():
        total //= math.factorial(c)
    return total


def _enumerate(labels: np.ndarray) -> np.ndarray:
    """Every distinct arrangement of the cohort labels over the regions (multiset permutations)."""
    values, counts = np.unique(labels, return_counts=True)
    n = len(labels)
    rows = [np.full(n, values[-1])]
    for value, count in zip(values[:-1], counts[:-1]):
        expanded = []
        for row in rows:
            free = np.flatnonzero(row == values[-1])
            for chosen in itertools.combinations(free, count):
                new = row.copy()
                new[list(chosen)] = value
                expanded.append(new)
        rows = expanded
    return np.array(rows)


def _statistics(design: _Design, matrix: np.ndarray, statistic: str, progress: bool) -> np.ndarray:
    """Statistic for every assignment (rows of ``matrix``: a cohort label per region)."""
    from tqdm.auto import tqdm

    n_units = len(design.cohorts)
    out = np.empty(len(matrix))
    chunk = 4096
    show = progress and len(matrix) > 50_000
    for start in tqdm(range(0, len(matrix), chunk), desc="randomization inference", disable=not show,
                      leave=False):
        block = matrix[start:start + chunk]
        if design.pooled:
            out[start:start + len(block)] = _pooled_estimates(design, block)
            continue
        # rows of D for every assignment: D[a, row] = 1{year >= label of the row's region}
        d = (design.year[None, :] >= block[:, design.unit]).astype(float)
        d_res = d - (d @ design.Z) @ design.ztz_inv @ design.Z.T
        q = np.einsum("ar,ar->a", d_res, d_res)
        beta = (d_res @ design.y_res) / q
        if statistic == "estimate":
            out[start:start + len(block)] = beta
            continue
        resid = design.y_res[None, :] - beta[:, None] * d_res
        scores = np.zeros((len(block), n_units))
        for j in range(n_units):
            rows = design.unit == j
            scores[:, j] = np.einsum("ar,ar->a", d_res[:, rows], resid[:, rows])
        out[start:start + len(block)] = beta / (np.sqrt((scores**2).sum(axis=1)) / q)
    return out


def _pooled_estimates(design: _Design, block: np.ndarray) -> np.ndarray:
    """Paper 002's pooled 2x2: its interaction coefficient is a difference-in-differences of cell means."""
    n_units = len(design.cohorts)
    post = design.year >= np.min(design.cohorts[np.isfinite(design.cohorts)])
    sums = {name: np.bincount(design.unit, weights=weight, minlength=n_units)
            for name, weight in (("y_post", design.y * post), ("n_post", post.astype(float)),
                                 ("y_pre", design.y * ~post), ("n_pre", (~post).astype(float)))}
    treated = np.isfinite(block).astype(float)

    def mean(group, period):
        return (group @ sums[f"y_{period}"]) / (group @ sums[f"n_{period}"])

    control = 1.0 - treated
    return (mean(treated, "post") - mean(treated, "pre")) - (mean(control, "post") - mean(control, "pre"))


# ------------------------------------------------------------------ wild bootstrap
@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Wild cluster bootstrap test of the treatment coefficient, with a test-inversion interval."""

    estimate: float
    t_stat: float
    p_value: float
    ci_low: float
    ci_high: float
    n_boot: int
    weights: str
    impose_null: bool
    method: str

    def summary(self) -> str:
        kind = "WCR (null imposed)" if self.impose_null else "WCU (unrestricted)"
        return (f"{self.method}\nwild cluster bootstrap, {kind}, {self.weights} weights, {self.n_boot:,} draws\n"
                f"estimate {self.estimate:.4f}, t {self.t_stat:.3f}, bootstrap p = {self.p_value:.4f}, "
                f"95% CI by test inversion [{self.ci_low:.4f}, {self.ci_high:.4f}]")

    def to_frame(self) -> pd.DataFrame:
        return _one_row(self.estimate, self.p_value, self.method, self.ci_low, self.ci_high)

    def plot(self, ax=None):
        """The estimate with its bootstrap interval; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 1.6))
        ax.axvline(0, color="0.5", lw=0.8)
        ax.hlines(0, self.ci_low, self.ci_high, color="C0", lw=2)
        ax.plot(self.estimate, 0, "o", color="C0")
        ax.set_yticks([])
        ax.set_xlabel(f"estimate, wild-bootstrap CI (p = {self.p_value:.3f})")
        return ax


def wild_cluster_bootstrap(
    result: DIDResult,
    *,
    weights: Literal["rademacher", "webb"] = "rademacher",
    n_boot: int | Literal["exact"] = 9999,
    impose_null: bool = True,
    alpha: float = 0.05,
    random_seed: int | None = None,
) -> BootstrapResult:
    """Wild cluster bootstrap-t for the DID coefficient, clustered by region.

    ``impose_null=True`` is the WCR bootstrap (residuals from the model with the null
    imposed; Cameron, Gelbach & Miller 2008), recommended with few clusters. The
    confidence interval inverts the test: the set of values not rejected at ``alpha``
    (Roodman, Nielsen, MacKinnon & Webb 2019). With Rademacher weights and
    ``n_boot="exact"`` all 2^G sign vectors are enumerated (G <= 20), which is
    deterministic.

    Parameters
    ----------
    result
        A result of :func:`kzcausal.did_2x2` or :func:`kzcausal.twfe`.
    weights
        ``"rademacher"`` (+-1) or ``"webb"`` (six-point, for very few clusters).
    """
    if weights not in ("rademacher", "webb"):
        raise SpecificationError(f"weights={weights!r}; use 'rademacher' or 'webb'.")
    design = _design(result)
    n_units = len(design.cohorts)
    if n_units < 2:
        raise SpecificationError("the wild cluster bootstrap needs at least 2 clusters (regions).")
    d = _treatment(design, design.cohorts)
    d_res = d - design.Z @ (design.ztz_inv @ (design.Z.T @ d))
    beta, t_obs = _cluster_t(d_res, design.y_res, design.unit, n_units)
    se = abs(beta / t_obs)
    draws = _weights(weights, n_boot, n_units, random_seed)
    q = d_res @ d_res
    qg = np.bincount(design.unit, weights=d_res * d_res, minlength=n_units)
    # M_Z applied to the region-restricted d_res: column g is M_Z (d_res * 1{region g})
    member = (design.unit[:, None] == np.arange(n_units)[None, :]).astype(float)
    masked = d_res[:, None] * member
    projected = masked - design.Z @ (design.ztz_inv @ (design.Z.T @ masked))

    def bootstrap_t(residual: np.ndarray) -> np.ndarray:
        """Bootstrap t's (centred at the DGP's coefficient) for y* = fit + v_g * residual."""
        s = np.bincount(design.unit, weights=d_res * residual, minlength=n_units)
        c = projected.T @ (residual[:, None] * member)  # c[g, h] = sum_{i in h} (M_Z d_g)_i residual_i
        shift = draws @ s / q
        scores = draws @ c.T - shift[:, None] * qg[None, :]
        return shift / (np.sqrt((scores**2).sum(axis=1)) / q)

    unrestricted = None if impose_null else np.abs(bootstrap_t(design.y_res - beta * d_res))

    def p_value_at(beta0: float) -> float:
        t_here = abs(beta - beta0) / se
        t_star = np.abs(bootstrap_t(design.y_res - beta0 * d_res)) if impose_null else unrestricted
        return float(np.mean(t_star >= t_here - 1e-12))

    return BootstrapResult(estimate=float(beta), t_stat=float(t_obs * _t_scale(design)), p_value=p_value_at(0.0),
                           ci_low=_invert(p_value_at, beta, -se, alpha), ci_high=_invert(p_value_at, beta, se, alpha),
                           n_boot=len(draws), weights=weights, impose_null=impose_null,
                           method=f"wild cluster bootstrap ({result.method})")


def _weights(kind: str, n_boot, n_units: int, random_seed: int | None) -> np.ndarray:
    if n_boot == "exact":
        if kind != "rademacher":
            raise SpecificationError("n_boot='exact' enumerates Rademacher sign vectors; use weights='rademacher'.")
        if n_units > 20:
            raise SpecificationError(f"exact enumeration needs 2^{n_units} draws; pass n_boot=9999 instead.")
        return np.array(list(itertools.product([1.0, -1.0], repeat=n_units)))
    if not isinstance(n_boot, int) or n_boot < 1:
        raise SpecificationError(f"n_boot={n_boot!r}; use a positive number of draws or 'exact'.")
    rng = np.random.default_rng(random_seed)
    if kind == "rademacher":
        return rng.choice([-1.0, 1.0], size=(n_boot, n_units))
    webb = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
    return rng.choice(webb, size=(n_boot, n_units))


def _invert(p_value_at, estimate: float, step: float, alpha: float) -> float:
    """Confidence bound: where, moving from the estimate by ``step``, the p-value falls below alpha."""
    far = estimate + step
    for _ in range(60):
        if p_value_at(far) < alpha:
            break
        far = estimate + 2 * (far - estimate)
    else:
        return float(np.sign(step) * np.inf)
    return float(optimize.brentq(lambda b: p_value_at(b) - alpha + 1e-12, estimate, far,
                                 xtol=1e-10 * (1 + abs(estimate))))
