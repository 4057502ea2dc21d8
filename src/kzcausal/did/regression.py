"""Clustering and small-sample conventions shared by the regression estimators.

``cluster=`` names the variable errors are clustered on: the region (default) or any column
coarser than it (each region in one cluster, e.g. a macro-region). ``ssc=`` chooses the
small-sample correction of the cluster-robust covariance ``V = c (X'X)^-1 (sum_g s_g s_g') (X'X)^-1``:

=================  ===============================================================  ===========
``ssc``            factor ``c``                                                     inference
=================  ===============================================================  ===========
``"fixest"``       ``G/(G-1) (N-1)/(N-K)``, K = slopes + fixed effects *not*          t(G - 1)
                   nested in the clusters (R fixest's default, Stata ``reghdfe``,
                   ``xtreg, fe vce(cluster)``; pooled OLS: Stata ``regress, vce(cluster)``)
``"linearmodels"`` ``N/(N-K)``, K = slopes + every fixed effect (linearmodels         normal
                   ``PanelOLS`` clustered covariance)
``"none"``         1 (the plain sandwich)                                             normal
=================  ===============================================================  ===========
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from ..errors import SpecificationError, show_rows

__all__ = ["SSC", "SSC_CHOICES", "check_ssc", "cluster_column", "ssc_scale", "within_ols", "cluster_sums",
           "two_way_demean"]

SSC = Literal["fixest", "linearmodels", "none"]
SSC_CHOICES = ("fixest", "linearmodels", "none")


def check_ssc(ssc: str) -> None:
    if ssc not in SSC_CHOICES:
        raise SpecificationError(f"ssc={ssc!r}; use one of {list(SSC_CHOICES)} (see kzcausal.did.regression).")


def cluster_column(frame: pd.DataFrame, cluster: str | None, available: list[str] | None = None) -> pd.Series:
    """Cluster label of each row: the region, or a column constant within each region.

    Raises naming the regions where the column varies (clusters must be coarser than regions)
    or the rows where it is missing.
    """
    if cluster is None or cluster == "region":
        return frame["region"].rename("cluster")
    if cluster not in frame.columns:
        listing = available if available is not None else [c for c in frame.columns if c not in ("region", "year")]
        raise SpecificationError(f"cluster={cluster!r} is not a column of the panel; its columns: {listing}. "
                                 "Fix: add the cluster (e.g. macro-region) column to the panel, or leave "
                                 "cluster=None to cluster by region.")
    values = frame[cluster]
    missing = values.isna()
    if missing.any():
        raise SpecificationError(f"cluster column {cluster!r} is missing in {int(missing.sum())} row(s):\n"
                                 f"{show_rows(frame.loc[missing, ['region', 'year', cluster]])}\n"
                                 "Fix: give every region its cluster.")
    varying = values.groupby(frame["region"]).nunique() > 1
    if varying.any():
        bad = varying.index[varying].tolist()
        rows = frame.loc[frame["region"].isin(bad[:5]), ["region", "year", cluster]]
        raise SpecificationError(f"cluster column {cluster!r} changes within region(s) {bad[:5]}; clusters must "
                                 f"be coarser than regions (each region in one cluster):\n{show_rows(rows)}\n"
                                 "Fix: give each region one cluster label.")
    return values.astype(str).rename("cluster")


def ssc_scale(ssc: str, *, n_obs: int, n_clusters: int, k: int, fixed_effects: tuple[int, ...] = (),
              nested: tuple[bool, ...] = ()) -> tuple[float, float | None]:
    """Small-sample factor for a clustered covariance and the t degrees of freedom (None: normal).

    ``k`` counts the slopes (and the intercept when there are no fixed effects);
    ``fixed_effects`` the levels of each absorbed effect, ``nested`` whether each is nested in
    the clusters (region effects always are: clusters are regions or coarser).
    """
    check_ssc(ssc)
    n_fe = len(fixed_effects)
    all_fe = sum(fixed_effects) - max(n_fe - 1, 0)
    if ssc == "none":
        return 1.0, None
    if ssc == "linearmodels":
        return n_obs / (n_obs - k - all_fe), None
    nested_levels = sum(f for f, inside in zip(fixed_effects, nested) if inside)
    n_nested = sum(nested)
    df_k = k + all_fe - (nested_levels - n_nested if n_nested else 0)
    if n_clusters < 2:
        raise SpecificationError("cluster-robust errors need at least 2 clusters.")
    return n_clusters / (n_clusters - 1) * (n_obs - 1) / (n_obs - df_k), float(n_clusters - 1)


def cluster_sums(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum the rows of ``values`` (N x k) within each cluster code: G x k."""
    out = np.zeros((n_groups, values.shape[1]))
    np.add.at(out, codes, values)
    return out


def two_way_demean(data: pd.DataFrame, values: np.ndarray) -> np.ndarray:
    """Region and year effects partialled out of ``values`` (N or N x m, rows aligned with ``data``'s
    ``region`` and ``year``): in closed form on a balanced panel, by pyfixest's alternating projections
    (tolerance 1e-13) otherwise (:class:`kzcausal.linalg.Absorber`; the tests compare both with
    linearmodels' two-way demeaning)."""
    from ..linalg import Absorber

    factors = (pd.factorize(data["region"])[0], pd.factorize(data["year"])[0])
    return Absorber(factors)(np.asarray(values, float))


def within_ols(data: pd.DataFrame, outcome: str, regressors: pd.DataFrame, clusters: pd.Series
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """OLS with region and year effects absorbed (:func:`two_way_demean`).

    Returns ``(beta, bread, cluster_scores, residuals)``: ``bread = (X~'X~)^-1``, scores
    ``s_g = X~_g' e_g`` (G x k), so the clustered covariance is ``c bread S'S bread``.
    """
    demeaned = two_way_demean(data, np.column_stack([data[outcome].to_numpy(float), regressors.to_numpy(float)]))
    y, X = demeaned[:, 0], demeaned[:, 1:]
    raw = regressors.to_numpy(float)
    # what is left of each regressor after the effects, relative to its own variation: ~1e-13 means absorbed
    spread = np.linalg.norm(raw - raw.mean(axis=0), axis=0)
    absorbed = [c for j, c in enumerate(regressors.columns)
                if np.linalg.norm(X[:, j]) <= 1e-8 * max(spread[j], 1e-300)]
    if absorbed:
        constant = [c for c in absorbed if (regressors[c].groupby(data["region"].to_numpy()).nunique() <= 1).all()]
        raise SpecificationError(
            f"regressor(s) {absorbed} are absorbed by the region and year effects"
            + (f"; {constant} do not vary within regions over time" if constant else
               " (the same for every region in a year, or a sum of region and year terms)")
            + f", so their coefficients are not identified (regressors: {list(regressors.columns)}). Fix: drop the "
            f"region-constant or absorbed covariates {absorbed}.")
    xtx = X.T @ X
    scale = np.sqrt(np.maximum(np.diag(xtx), 1e-300))
    if np.linalg.matrix_rank(xtx / np.outer(scale, scale), tol=1e-9) < X.shape[1]:
        constant = [c for j, c in enumerate(regressors.columns) if np.abs(X[:, j]).max() < 1e-10]
        raise SpecificationError(
            "regressors are collinear with the region and year effects or with each other"
            + (f"; {constant} do not vary within regions over time" if constant else "")
            + f" (regressors: {list(regressors.columns)}). Fix: drop the region-constant or redundant covariates.")
    bread = np.linalg.inv(xtx)
    beta = bread @ (X.T @ y)
    resid = y - X @ beta
    codes, uniques = pd.factorize(clusters.to_numpy())
    return beta, bread, cluster_sums(X * resid[:, None], codes, len(uniques)), resid
