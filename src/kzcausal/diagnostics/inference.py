"""Inference with few clusters: exact randomization inference and the wild cluster bootstrap.

Both take any :class:`~kzcausal.results.EstimationResult` and ask it for what they need:

* **Randomization inference** reassigns the regions' cohort labels and recomputes the
  effect. A result whose effect is a treatment-dummy coefficient (``result.linear``: 2x2,
  TWFE) uses the Frisch-Waugh-Lovell shortcut: the nuisance regressors are partialled out
  once and every assignment is a matrix product. A result with a vectorized shortcut
  (``result.permuted``: Callaway-Sant'Anna without covariates) uses it; any other result is
  re-estimated through ``result.refit`` for every assignment.
* **The wild cluster bootstrap** is the WCR/WCU bootstrap-t of the regression (Cameron,
  Gelbach & Miller 2008) where the effect is a treatment-dummy coefficient; otherwise it is a
  **score (multiplier) bootstrap-t** of the effect from its cluster scores ``result.scores``
  (Kline & Santos 2012): ``t* = sum_g v_g s_g / sqrt(sum_g v_g^2 s_g^2)``, compared with
  ``t = estimate / sqrt(sum_g s_g^2)``; the interval is the symmetric bootstrap-t interval.
  For Callaway-Sant'Anna the scores are the influence functions summed by cluster, for
  Sun-Abraham and the event-study regressions the cluster scores of the regression mapped
  through the aggregation weights.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize

from ..design import renamed
from ..errors import SpecificationError, check_alpha, check_count, check_flag, check_seed
from ..linalg import Absorber, cluster_matrix
from ..parallel import map_tasks
from ..results import CheckResult, EstimationResult, RegressionForm, axes_for, check_result

__all__ = ["randomization_inference", "wild_cluster_bootstrap", "RandomizationResult", "BootstrapResult"]

MAX_EXACT = 10**6
MAX_SAMPLED = 10**6
#: Fewer sampled assignments cannot give a p-value below 0.05 (the observed one counts: 1 / (1 + 19)).
MIN_SAMPLED = 19
MAX_BOOTSTRAP_BYTES = 4 * 2**30
MAX_LABELS = 2 * 10**8         # assignments x labels held at once (1.5 GiB)


# ------------------------------------------------------------------ the FWL design
@dataclass(frozen=True)
class _Design:
    """FWL pieces: outcome residual, the nuisance projection, per-row region and cluster codes, year, cohorts."""

    y: np.ndarray              # outcome
    y_res: np.ndarray          # M_Z y
    project: Absorber          # M_Z (region and year effects by absorption, covariates; or the pooled 2x2's)
    unit: np.ndarray           # region code of each row
    cluster: np.ndarray        # cluster code of each row (= unit unless coarser clusters)
    n_clusters: int
    cluster_labels: np.ndarray  # cluster of each code
    year: np.ndarray
    cohorts: np.ndarray        # first treated year of each region (inf: never)
    regions: np.ndarray
    pooled: bool               # paper 002's pooled 2x2 (the group dummy moves with the assignment)

    @property
    def members(self):
        """Sparse G x N cluster indicator."""
        return cluster_matrix(self.cluster, self.n_clusters)


def _design(result: EstimationResult) -> _Design:
    data = result.rows()
    linear = result.linear
    codes, regions = pd.factorize(data["region"])
    years = data["year"].to_numpy()
    pooled = linear.nuisance == "pooled"
    if pooled:
        post = (years >= linear.post_from).astype(float)
        project = Absorber(factors=(), dense=np.column_stack(
            [np.ones(len(data)), np.isfinite(data["cohort"].to_numpy()).astype(float), post]))
    else:
        covariates = data[list(linear.covariates)].to_numpy(float) if linear.covariates else None
        project = Absorber(factors=(codes, pd.factorize(years)[0]), dense=covariates)
    y = data[result.outcome].to_numpy(float)
    cohorts = pd.Series(data["cohort"].to_numpy(float)).groupby(codes).first().to_numpy()
    cluster_codes, cluster_labels = pd.factorize((data["cluster"] if "cluster" in data else data["region"]).to_numpy())
    return _Design(y=y, y_res=project(y), project=project, unit=codes, cluster=cluster_codes,
                   n_clusters=len(cluster_labels), cluster_labels=np.asarray(cluster_labels), year=years,
                   cohorts=cohorts, regions=np.asarray(regions), pooled=pooled)


def _treatment(design: _Design, cohorts_by_unit: np.ndarray) -> np.ndarray:
    return (design.year >= cohorts_by_unit[design.unit]).astype(float)


def _one_row(term: str, estimate: float, p_value: float, ci_low: float = np.nan, ci_high: float = np.nan,
             std_error: float = np.nan) -> pd.DataFrame:
    """The common table for a single tested effect."""
    return pd.DataFrame({"estimate": [estimate], "std_error": [std_error], "ci_low": [ci_low], "ci_high": [ci_high],
                         "p_value": [p_value]}, index=pd.Index([term], name="term"))


# ------------------------------------------------------------------ randomization
@dataclass(frozen=True, eq=False)
class RandomizationResult(CheckResult):
    """Distribution of a statistic over reassignments of treatment across regions."""

    observed: float = np.nan
    distribution: np.ndarray = field(default=None, repr=False)
    p_value: float = np.nan
    statistic: str = "estimate"
    exact: bool = True
    n_assignments: int = 0

    def summary(self) -> str:
        kind = "all" if self.exact else "sampled"
        return (f"{self.method}\n{kind} {self.n_assignments:,} assignments; observed {self.statistic} = "
                f"{self.observed:.4f}; randomization p-value (two-sided) = {self.p_value:.4f}"
                + "".join(f"\n! {c}" for c in self.caveats))

    def plot(self, ax=None):
        """Histogram of the randomization distribution with the observed value marked."""
        ax = axes_for(ax, (6, 3.5))
        ax.hist(self.distribution, bins=min(60, max(10, len(self.distribution) // 20)), color="C0", alpha=0.7)
        ax.axvline(self.observed, color="C3", lw=1.5, label=f"observed ({self.observed:.3f})")
        ax.axvline(-self.observed, color="C3", lw=1, ls=":")
        ax.set_xlabel(self.statistic)
        ax.set_title(f"randomization p = {self.p_value:.4f}", fontsize="small")
        ax.legend(fontsize="small")
        return ax


@renamed(assignments="draws")
def randomization_inference(
    result: EstimationResult,
    draws: Literal["exact"] | int = "exact",
    *,
    statistic: Literal["estimate", "t"] = "estimate",
    level: Literal["region", "cluster"] = "region",
    random_seed: int | None = None,
    progress: bool = True,
) -> RandomizationResult:
    """Randomization (permutation) inference for a DID effect: placebo in space.

    The regions' first treated years (cohort labels, never treated included) are
    reassigned across regions; the effect (``result.effect``) is recomputed for every
    distinct assignment (``"exact"``: with 17 regions and 6 treated, all C(17, 6) = 12,376)
    or for ``draws`` random permutations (the observed assignment is always counted).
    The two-sided p-value is the share of assignments with ``|statistic| >= |observed|``.

    Parameters
    ----------
    result
        Any estimator's result that carries its rows (2x2, TWFE, Callaway-Sant'Anna and its
        aggregations, every event study's ``overall`` effect).
    statistic
        ``"estimate"`` (the effect) or ``"t"`` (effect / its standard error, reported on the
        result's own small-sample scale).
    level
        ``"region"``: reassign cohort labels across regions. ``"cluster"``: across the result's
        clusters (``cluster=`` coarser than regions), for a treatment assigned to whole clusters
        (every region of a cluster shares one cohort); for regression results the effect of any
        assignment is then computed from cluster-level sums (one partialled-out column per
        cluster and cohort), so 100,000 regions in 50 clusters cost what 50 regions do.

    References
    ----------
    Fisher (1935); MacKinnon & Webb (2020), Randomization inference for difference-in-
    differences with few treated clusters. Journal of Econometrics 218(2), 435-450.
    """
    check_result(result, "randomization_inference")
    if statistic not in ("estimate", "t"):
        raise SpecificationError(f"statistic={statistic!r}; use 'estimate' or 't'.")
    check_seed(random_seed)
    check_flag(progress, "progress")
    if not (isinstance(draws, str) and draws == "exact"):
        check_count(draws, "draws", minimum=MIN_SAMPLED,
                    fix=f"'exact' for every assignment, or a sample: at least {MIN_SAMPLED} (p-values can go below "
                        f"0.05 only from 1/(1 + {MIN_SAMPLED})), 9999 for a study")
    if level not in ("region", "cluster"):
        raise SpecificationError(f"level={level!r}; use 'region' or 'cluster'.")
    cohorts = result.region_cohorts()
    region_of_unit = None
    if level == "cluster":
        cohorts, region_of_unit = _cluster_cohorts(result, cohorts)
    labels = cohorts.to_numpy(float)
    unit = "region" if level == "region" else "cluster"
    if len(np.unique(labels)) < 2:
        raise SpecificationError(f"every {unit} of {result.method!r} has the same treatment path "
                                 f"({labels[0]}); there is nothing to permute. Use the wild cluster bootstrap.")
    linear = result.linear
    if linear is not None and linear.nuisance == "pooled" and statistic == "t":
        raise SpecificationError("statistic='t' on paper 002's pooled 2x2 is not supported; use the fixed-effects "
                                 "specification (did_2x2(..., fixed_effects=True) or twfe), or statistic='estimate'.")
    exact = draws == "exact"
    if exact:
        count = _count_assignments(labels)
        if count > MAX_EXACT:
            raise SpecificationError(f"exact enumeration needs {count:,} assignments (> {MAX_EXACT:,}). "
                                     "Fix: pass draws=9999 (a random sample of permutations).")
        matrix = _enumerate(labels)
    else:
        if not isinstance(draws, (int, np.integer)) or isinstance(draws, bool) or draws < 1:
            raise SpecificationError(f"draws={draws!r}; use 'exact' or a positive number.")
        if draws > MAX_SAMPLED:
            raise SpecificationError(f"draws={draws:,} is more than {MAX_SAMPLED:,}; the p-value's "
                                     "Monte Carlo error at 10^5 draws is already below 0.002. Fix: fewer draws.")
        if draws * len(labels) > MAX_LABELS:
            raise SpecificationError(
                f"{draws:,} draws of {len(labels):,} {unit}s' labels need "
                f"{draws * len(labels) * 8 / 2**30:.1f} GiB; the cap is {MAX_LABELS * 8 / 2**30:.1f} GiB. Fix: "
                f"at most {MAX_LABELS // len(labels):,} draws"
                + (", or level='cluster' if treatment was assigned to whole clusters." if unit == "region" else "."))
        rng = np.random.default_rng(random_seed)
        matrix = np.vstack([labels, rng.permuted(np.tile(labels, (draws, 1)), axis=1)])
    observed_index = int(np.flatnonzero((matrix == labels[None, :]).all(axis=1))[0])  # inf == inf
    caveats = []
    if linear is not None and region_of_unit is not None and linear.nuisance != "pooled":
        design = _design(result)
        values = _cluster_statistics(design, matrix, pd.Index(design.cluster_labels).get_indexer(cohorts.index),
                                     statistic)
        how = "Frisch-Waugh-Lovell shortcut in cluster sums"
    else:
        if region_of_unit is not None:  # cluster labels -> each region's label, and on as for regions
            matrix, labels = matrix[:, region_of_unit], labels[region_of_unit]
            cohorts = result.region_cohorts()
        if linear is not None:
            values = _statistics(_design(result), matrix, statistic, progress)
            how = "Frisch-Waugh-Lovell shortcut"
        elif result.permuted is not None and statistic == "estimate":
            values = np.concatenate([result.permuted(matrix[i:i + 4096]) for i in range(0, len(matrix), 4096)])
            how = "vectorized re-estimation"
        else:
            _check_refit_cost(result, cohorts.index, matrix, statistic, exact)
            values = _refit_statistics(result, cohorts.index, matrix, statistic, progress)
            how = "re-estimation of every assignment"
    if region_of_unit is not None:
        how += f", labels permuted across {len(np.unique(region_of_unit))} clusters"
    observed = values[observed_index]
    if statistic == "t":  # report t on the result's own scale (its small-sample correction)
        row = result.effect_table().iloc[0]
        scale = (row["estimate"] / row["std_error"]) / observed if observed else 1.0
        values, observed = values * scale, observed * scale
    failed = ~np.isfinite(values)
    if failed.any():
        caveats.append(f"{int(failed.sum())} assignment(s) give no estimate (e.g. no treated or control region in "
                       "a cell) and are left out of the p-value")
        values = values[~failed]
    tolerance = 1e-10 * max(1.0, abs(observed))
    p_value = float(np.mean(np.abs(values) >= abs(observed) - tolerance))
    term = result.effect[0]
    return RandomizationResult(table=_one_row(term, float(observed), p_value), result=result,
                               method=f"randomization inference, {how} ({result.method})", caveats=tuple(caveats),
                               observed=float(observed), distribution=values, p_value=p_value, statistic=statistic,
                               exact=exact, n_assignments=len(values))



#: The longest randomization inference by re-estimation that runs without being asked for fewer draws (seconds).
MAX_REFIT_SECONDS = 60.0


def _check_refit_cost(result: EstimationResult, regions: pd.Index, matrix: np.ndarray, statistic: str,
                      exact: bool) -> None:
    """Time one re-estimation and refuse a run of all of them that would take more than MAX_REFIT_SECONDS."""
    import time

    started = time.perf_counter()
    _refit_statistic(matrix[0], result=result, regions=regions, statistic=statistic)
    seconds = (time.perf_counter() - started) * len(matrix)
    if seconds > MAX_REFIT_SECONDS:
        fit = max(1, int(MAX_REFIT_SECONDS / max(seconds / len(matrix), 1e-9)))
        raise SpecificationError(
            f"{len(matrix):,} {'assignments (exact enumeration)' if exact else 'draws'} x one re-estimation of "
            f"{result.method} (~{seconds / len(matrix):.2f} s each) would take about {seconds / 60:,.0f} minutes "
            f"(the cap is {MAX_REFIT_SECONDS / 60:.0f}). Fix: pass draws={min(max(fit, 19), 9999)} (a random sample "
            "of assignments), or an estimator with a fast path (twfe, imputation_did, staggered_did without "
            "covariates).")


def _refit_statistics(result: EstimationResult, regions: pd.Index, matrix: np.ndarray, statistic: str,
                      progress: bool) -> np.ndarray:
    """The effect (or its t) re-estimated through ``result.refit`` for every assignment (serially or on Dask)."""
    values = map_tasks(partial(_refit_statistic, result=result, regions=regions, statistic=statistic), list(matrix),
                       progress=progress and len(matrix) >= 200, desc="randomization inference (re-fits)")
    return np.array(values, dtype=float)


def _refit_statistic(cohorts: np.ndarray, *, result: EstimationResult, regions: pd.Index, statistic: str) -> float:
    """One assignment's effect (or t); NaN when it cannot be estimated (e.g. no control region in a cell)."""
    import warnings

    from ..errors import KzCausalError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            row = result.refit(cohorts=pd.Series(cohorts, index=regions)).effect_table().iloc[0]
        except KzCausalError:
            return np.nan
    return float(row["estimate"] if statistic == "estimate" else row["estimate"] / row["std_error"])


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

    out = np.empty(len(matrix))
    chunk = int(min(4096, max(1, 2 * 10**7 // len(design.y))))  # at most ~160 MB of assignments x rows at once
    members = design.members.T  # N x G (sparse)
    show = progress and len(matrix) > 50_000
    for start in tqdm(range(0, len(matrix), chunk), desc="randomization inference", disable=not show,
                      leave=False):
        block = matrix[start:start + chunk]
        if design.pooled:
            out[start:start + len(block)] = _pooled_estimates(design, block)
            continue
        # rows of D for every assignment: D[a, row] = 1{year >= label of the row's region}
        d = (design.year[None, :] >= block[:, design.unit]).astype(float)
        d_res = design.project(d.T).T
        q = np.einsum("ar,ar->a", d_res, d_res)
        beta = (d_res @ design.y_res) / q
        if statistic == "estimate":
            out[start:start + len(block)] = beta
            continue
        resid = design.y_res[None, :] - beta[:, None] * d_res
        scores = np.asarray((members.T @ (d_res * resid).T).T)  # A x G cluster sums
        out[start:start + len(block)] = beta / (np.sqrt((scores**2).sum(axis=1)) / q)
    return out


def _cluster_cohorts(result: EstimationResult, cohorts: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Each cluster's cohort (all its regions must share one) and the cluster position of each region."""
    data = result.rows()
    if "cluster" not in data:
        raise SpecificationError(f"level='cluster' needs a result clustered coarser than regions; {result.method!r} "
                                 "is clustered by region. Fix: fit with cluster='<column>', or level='region'.")
    cluster_of = data.groupby("region", sort=False)["cluster"].first().reindex(cohorts.index)
    by_cluster = pd.DataFrame({"cluster": cluster_of.to_numpy(), "cohort": cohorts.to_numpy(float)})
    mixed = by_cluster.groupby("cluster", sort=False)["cohort"].nunique(dropna=False)
    mixed = mixed[mixed > 1]
    if len(mixed):
        raise SpecificationError(f"level='cluster' reassigns treatment to whole clusters, but cluster(s) "
                                 f"{list(mixed.index[:5])} hold regions with different cohorts. Fix: level='region'.")
    codes, labels = pd.factorize(by_cluster["cluster"])
    cluster_cohorts = by_cluster.groupby(codes, sort=True)["cohort"].first()
    return pd.Series(cluster_cohorts.to_numpy(), index=pd.Index(labels, name="cluster")), codes


def _cluster_statistics(design: _Design, matrix: np.ndarray, codes: np.ndarray, statistic: str) -> np.ndarray:
    """The FWL effect (or t) for assignments of cohort labels to whole clusters, from cluster-level sums.

    With ``D_gk = 1[row in cluster g, year >= k]`` for every cluster g and cohort k, an
    assignment's treatment is ``sum_g D_g,c(g)``: its effect is ``a'b / a'Qa`` with
    ``b = D'M y`` and ``Q = D'M D``, and cluster h's score is ``a'P_h - beta a'W_h a`` with
    ``P_h = (MD)_h' (My)_h`` and ``W_h = (MD)_h' (MD)_h`` (one partialled-out column per cluster
    and cohort, computed once); every assignment then costs O(G^2), not O(rows).
    """
    values = np.unique(matrix[np.isfinite(matrix)])
    g_count, k_count = design.n_clusters, len(values)
    members = design.members                                                   # G x N
    cluster = design.cluster
    basis = np.empty((len(design.y), g_count * k_count))
    indicator_rows, indicator_cols = [], []
    for j, k in enumerate(values):
        for start in range(0, g_count, 16):
            block = np.arange(start, min(start + 16, g_count))
            columns = np.zeros((len(design.y), len(block)))
            rows = np.flatnonzero((cluster >= block[0]) & (cluster <= block[-1]) & (design.year >= k))
            columns[rows, cluster[rows] - block[0]] = 1.0
            basis[:, block * k_count + j] = design.project(columns)
            indicator_rows.append(cluster[rows] * k_count + j)
            indicator_cols.append(rows)
    # D (GK x N, sparse): with M idempotent, D'M D = D (M D) and D'M y = D (M y) are sparse sums
    from scipy import sparse

    D = sparse.csr_matrix((np.ones(sum(map(len, indicator_cols))), (np.concatenate(indicator_rows),
                                                                    np.concatenate(indicator_cols))),
                          shape=(g_count * k_count, len(design.y)))
    b = D @ design.y_res
    Q = D @ basis
    Q = (Q + Q.T) / 2
    P = (members @ (basis * design.y_res[:, None])).T                          # GK x G
    W = None
    if statistic == "t":
        W = np.empty((g_count, basis.shape[1], basis.shape[1]))
        order = np.argsort(cluster, kind="stable")
        bounds = np.searchsorted(cluster[order], np.arange(g_count + 1))
        for h in range(g_count):
            part = np.asfortranarray(basis[order[bounds[h]:bounds[h + 1]]])
            W[h] = part.T @ part
    out = np.empty(len(matrix))
    for start in range(0, len(matrix), 4096):
        block = matrix[start:start + 4096]
        S = np.zeros((len(block), g_count * k_count))
        a_idx, g_idx = np.nonzero(np.isfinite(block))
        S[a_idx, codes[g_idx] * k_count + np.searchsorted(values, block[a_idx, g_idx])] = 1.0
        q = np.einsum("ai,ij,aj->a", S, Q, S, optimize=True)
        beta = (S @ b) / q
        if statistic == "estimate":
            out[start:start + len(block)] = beta
            continue
        quad = np.stack([np.einsum("ai,ij,aj->a", S, W[h], S, optimize=True) for h in range(g_count)], axis=1)
        scores = S @ P - beta[:, None] * quad                                 # A x G
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
class BootstrapResult(CheckResult):
    """Wild cluster bootstrap test of the effect, with its bootstrap confidence interval."""

    estimate: float = np.nan
    t_stat: float = np.nan
    p_value: float = np.nan
    ci_low: float = np.nan
    ci_high: float = np.nan
    n_boot: int = 0
    weights: str = "rademacher"
    kind: str = "WCR"
    alpha: float = 0.05

    @property
    def impose_null(self) -> bool:
        return self.kind == "WCR"

    def summary(self) -> str:
        names = {"WCR": "WCR (null imposed)", "WCU": "WCU (unrestricted)", "score": "score bootstrap-t"}
        return (f"{self.method}\nwild cluster bootstrap, {names[self.kind]}, {self.weights} weights, "
                f"{self.n_boot:,} draws\nestimate {self.estimate:.4f}, t {self.t_stat:.3f}, bootstrap p = "
                f"{self.p_value:.4f}, {1 - self.alpha:.0%} CI [{self.ci_low:.4f}, {self.ci_high:.4f}]"
                + "".join(f"\n! {c}" for c in self.caveats))

    def plot(self, ax=None):
        """The estimate with its bootstrap interval; returns the Axes."""
        ax = axes_for(ax, (5, 1.6))
        ax.axvline(0, color="0.5", lw=0.8)
        ax.hlines(0, self.ci_low, self.ci_high, color="C0", lw=2)
        ax.plot(self.estimate, 0, "o", color="C0")
        ax.set_yticks([])
        ax.set_xlabel(f"estimate, wild-bootstrap CI (p = {self.p_value:.3f})")
        return ax


@renamed(n_boot="draws")
def wild_cluster_bootstrap(
    result: EstimationResult,
    *,
    weights: Literal["rademacher", "webb"] = "rademacher",
    draws: int | Literal["exact"] = 9999,
    impose_null: bool | None = None,
    alpha: float = 0.05,
    random_seed: int | None = None,
) -> BootstrapResult:
    """Wild cluster bootstrap-t for the effect, clustered as the result (region or coarser).

    Where the effect is a regression coefficient or a combination ``R'beta`` of them (2x2,
    TWFE, the Sun-Abraham and dynamic-TWFE cell regressions, Callaway-Sant'Anna without
    covariates as its stacked cell regressions) this is the WCR bootstrap (``impose_null=True``,
    the default: residuals from the model with ``R'beta = theta0`` imposed; Cameron, Gelbach &
    Miller 2008) or WCU (``impose_null=False``); the interval inverts the test (Roodman,
    Nielsen, MacKinnon & Webb 2019). A result with cluster scores but no regression form
    (Callaway-Sant'Anna with covariates, IPW or DR) gets the score bootstrap-t (Kline & Santos
    2012): ``t* = sum v_g s_g / sqrt(sum v_g^2 s_g^2)`` against the observed t, with the
    symmetric bootstrap-t interval. With Rademacher weights and ``draws="exact"`` all 2^G sign
    vectors are enumerated (G <= 20), which is deterministic.

    Parameters
    ----------
    result
        Any estimator's result with ``linear``, ``regression`` or ``scores``.
    weights
        ``"rademacher"`` (+-1) or ``"webb"`` (six-point, for very few clusters).
    draws
        Bootstrap draws, or ``"exact"`` (every Rademacher sign vector; ``n_boot=`` is the
        deprecated name).
    impose_null
        ``None``: WCR where there is a regression form, else the score bootstrap.
        ``True``/``False`` ask for WCR/WCU, which need a regression form.
    """
    n_boot = draws
    check_result(result, "wild_cluster_bootstrap")
    if weights not in ("rademacher", "webb"):
        raise SpecificationError(f"weights={weights!r}; use 'rademacher' or 'webb'.")
    check_alpha(alpha)
    check_seed(random_seed)
    if impose_null is not None:
        check_flag(impose_null, "impose_null")
    if result.n_clusters is not None and result.n_clusters < 3:
        raise SpecificationError(f"{result.n_clusters} cluster(s) ({result.cluster or 'region'}): the cluster-robust "
                                 "variance is degenerate and a wild bootstrap has at most 2^G distinct draws, so it "
                                 "cannot test anything. Fix: randomization inference (kz.randomization_inference), or "
                                 "cluster more finely.")
    build = result.regression or (partial(_linear_form, result) if result.linear is not None else None)
    if build is not None:
        impose_null = True if impose_null is None else bool(impose_null)
        return _regression_bootstrap(result, build(), weights, n_boot, impose_null, alpha, random_seed)
    if impose_null is not None:
        raise SpecificationError(f"impose_null={impose_null} needs a result whose effect is a regression "
                                 f"coefficient or a combination of them; {result.method!r} is bootstrapped from "
                                 "its cluster scores (leave impose_null=None).")
    if result.scores is None:
        raise SpecificationError(f"{type(result).__name__} ({result.method}) has neither a treatment-dummy "
                                 "regression nor cluster scores, so it cannot be wild-bootstrapped; use "
                                 "randomization inference or its own posterior/bootstrap.")
    return _score_bootstrap(result, weights, n_boot, alpha, random_seed)


def _linear_form(result: EstimationResult) -> RegressionForm:
    """The treatment-dummy regression of ``result.linear`` with its nuisance regressors partialled out (FWL)."""
    design = _design(result)
    d = _treatment(design, design.cohorts)
    return RegressionForm(X=design.project(d)[:, None], y=design.y_res, R=np.ones(1), clusters=design.cluster,
                          labels=tuple(range(design.n_clusters)), project=design.project)


def _regression_bootstrap(result: EstimationResult, form: RegressionForm, weights: str, n_boot, impose_null: bool,
                          alpha: float, random_seed) -> BootstrapResult:
    """WCR / WCU bootstrap-t of ``R' beta`` in the result's regression form (fixed effects partialled out).

    With ``z = X (X'X)^-1 R`` the effect is ``z' y``; for residuals ``e`` (restricted to
    ``R' beta = theta0`` for WCR) and weights ``v_g``, the bootstrap effect moves by
    ``sum_g v_g u_g`` (``u_g = z_g' e_g``) and cluster h's bootstrap score is
    ``sum_g v_g (C[h, g] - D[h, g])``, with ``C[h, g] = (M_Z (z 1_h))_g' e_g`` and
    ``D[h, g] = z_h' X_h (X'X)^-1 X_g' e_g``: no regression is re-run. Everything is linear in
    ``theta0``, so the interval's inversion costs two evaluations.
    """
    X, y, R, codes = form.X, form.y, np.asarray(form.R, float), form.clusters
    g_count = len(form.labels)
    if g_count < 2:
        raise SpecificationError("the wild cluster bootstrap needs at least 2 clusters.")
    need = 8 * len(y) * g_count + 3 * 8 * g_count * g_count
    if need > MAX_BOOTSTRAP_BYTES:
        raise SpecificationError(
            f"the WCR bootstrap with {g_count:,} clusters and {len(y):,} rows needs about {need / 2**30:.1f} GiB "
            f"(one partialled-out column per cluster; cap {MAX_BOOTSTRAP_BYTES / 2**30:.0f} GiB). Fix: cluster at a "
            "coarser level (cluster=...), or impose_null=None on a result with cluster scores (score bootstrap).")
    bread = np.linalg.inv(X.T @ X)
    beta = bread @ (X.T @ y)
    z = X @ (bread @ R)
    q = float(R @ bread @ R)
    estimate = float(R @ beta)
    members = cluster_matrix(codes, g_count)                                  # G x N, sparse
    # column h: M_Z (z 1_h); built and projected a block of clusters at a time
    projected = np.empty((len(y), g_count))
    for start in range(0, g_count, 16):
        block = np.arange(start, min(start + 16, g_count))
        columns = np.zeros((len(y), len(block)))
        rows = np.flatnonzero((codes >= block[0]) & (codes <= block[-1]))
        columns[rows, codes[rows] - block[0]] = z[rows]
        projected[:, block] = form.project(columns)
    zX = members @ (z[:, None] * X)                                           # G x k: z_h' X_h

    def pieces(e: np.ndarray):
        u = members @ (z * e)                                                 # G
        C = (members @ (e[:, None] * projected)).T                            # G x G: C[h, g]
        D = zX @ bread @ (members @ (X * e[:, None])).T                       # G x G
        return u, C - D

    draws = _weights(weights, n_boot, g_count, random_seed)
    resid = y - X @ beta
    se = float(np.sqrt(np.sum((members @ (z * resid)) ** 2)))
    if not se > 1e-12 * max(1.0, abs(float(estimate))):
        raise SpecificationError(f"{result.method}: the residuals are zero (the outcome is fitted exactly, e.g. it is "
                                 "the treatment itself or constant within regions), so a bootstrap has nothing to "
                                 "resample. Fix: check the outcome.")
    restricted0 = y - X @ (beta - bread @ R * (estimate / q))                # residuals with R'beta = 0
    slope = -z / q                                                            # d residual / d theta0
    u0, K0 = pieces(restricted0)
    u1, K1 = pieces(slope)
    vu0, vu1 = draws @ u0, draws @ u1
    vK0, vK1 = draws @ K0.T, draws @ K1.T
    if not impose_null:
        uh, Kh = pieces(resid)
        vu, vK = draws @ uh, draws @ Kh.T
        unrestricted = np.abs(vu) / np.sqrt((vK**2).sum(axis=1))

    def p_value_at(theta0: float) -> float:
        t_here = abs(estimate - theta0) / se
        if impose_null:
            t_star = np.abs(vu0 + theta0 * vu1) / np.sqrt(((vK0 + theta0 * vK1) ** 2).sum(axis=1))
        else:
            t_star = unrestricted
        return float(np.mean(t_star >= t_here - 1e-12))

    p_value = p_value_at(0.0)
    low, high = _invert(p_value_at, estimate, -se, alpha), _invert(p_value_at, estimate, se, alpha)
    row = result.effect_table().iloc[0]
    return BootstrapResult(
        table=_one_row(result.effect[0], estimate, p_value, low, high), result=result,
        method=f"wild cluster bootstrap ({result.method})",
        caveats=_few_draws(g_count, weights), estimate=estimate, t_stat=float(row["estimate"] / row["std_error"]),
        p_value=p_value, ci_low=low, ci_high=high, n_boot=len(draws), weights=weights,
        kind="WCR" if impose_null else "WCU", alpha=alpha)


def _score_bootstrap(result: EstimationResult, weights: str, n_boot, alpha: float, random_seed) -> BootstrapResult:
    scores = result.scores.iloc[:, 0].to_numpy(float)
    g_count = len(scores)
    if g_count < 2:
        raise SpecificationError("the wild cluster bootstrap needs at least 2 clusters.")
    row = result.effect_table().iloc[0]
    estimate = float(row["estimate"])
    se = float(np.sqrt(scores @ scores))
    if not se > 0:
        raise SpecificationError(f"the effect of {result.method!r} has zero estimated variance; nothing to bootstrap.")
    t_obs = estimate / se
    draws = _weights(weights, n_boot, g_count, random_seed)
    t_star = np.abs((draws @ scores) / np.sqrt((draws**2) @ scores**2))
    p_value = float(np.mean(t_star >= abs(t_obs) - 1e-12))
    critical = float(np.quantile(t_star, 1 - alpha, method="higher"))
    low, high = estimate - critical * se, estimate + critical * se
    return BootstrapResult(
        table=_one_row(result.effect[0], estimate, p_value, low, high), result=result,
        method=f"wild cluster bootstrap of the effect's cluster scores ({result.method})",
        caveats=_few_draws(g_count, weights), estimate=estimate, t_stat=float(row["estimate"] / row["std_error"]),
        p_value=p_value, ci_low=low, ci_high=high, n_boot=len(draws), weights=weights, kind="score", alpha=alpha)


def _few_draws(g_count: int, weights: str) -> tuple[str, ...]:
    """Caveat when the weights can take so few distinct values that p-values are coarse."""
    distinct = 2**g_count if weights == "rademacher" else 6**g_count
    if distinct < 1000:
        return (f"only {g_count} clusters: {weights} weights give {distinct} distinct draws, so the bootstrap "
                "p-value cannot resolve small probabilities and the interval may be unbounded; "
                + ("use weights='webb'" if weights == "rademacher" else "use randomization inference"),)
    return ()


def _weights(kind: str, n_boot, n_units: int, random_seed: int | None) -> np.ndarray:
    if n_boot == "exact":
        if kind != "rademacher":
            raise SpecificationError("draws='exact' enumerates Rademacher sign vectors; use weights='rademacher'.")
        if n_units > 20:
            raise SpecificationError(f"exact enumeration needs 2^{n_units} draws; pass draws=9999 instead.")
        codes = np.arange(2**n_units, dtype=np.int64)[:, None] >> np.arange(n_units)[None, :]
        return 1.0 - 2.0 * (codes & 1)  # every sign vector once, all +1 first
    if not isinstance(n_boot, (int, np.integer)) or isinstance(n_boot, bool) or n_boot < 1:
        raise SpecificationError(f"draws={n_boot!r}. Fix: use a positive number of draws (e.g. 9999) or "
                                 "draws='exact'.")
    if n_boot * n_units > 2 * 10**8:
        raise SpecificationError(f"draws={n_boot:,} for {n_units} clusters need "
                                 f"{n_boot * n_units * 8 / 2**30:.1f} GiB; 99,999 draws give a p-value accurate to "
                                 "+-0.0014. Fix: fewer draws.")
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
