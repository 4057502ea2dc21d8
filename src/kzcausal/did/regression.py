"""Regression numerics shared by the regression estimators: two-way demeaning, within OLS, cluster sums.

Clustering and the small-sample conventions live in :mod:`kzcausal.design.inference` (re-exported
here for one release).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..design.inference import SSC, SSC_CHOICES, check_ssc, cluster_column, ssc_scale
from ..errors import SpecificationError

__all__ = ["SSC", "SSC_CHOICES", "check_ssc", "cluster_column", "ssc_scale", "within_ols", "cluster_sums",
           "two_way_demean"]


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


def within_ols(data: pd.DataFrame, outcome: str, regressors: pd.DataFrame, clusters: pd.Series,
               covariates: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """OLS with region and year effects absorbed (:func:`two_way_demean`).

    ``covariates`` names the regressors that are controls (default: all); an absorbed regressor that
    is not one (the treatment, an event-time dummy) is a design problem, and the message says so.

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
    design = [c for c in absorbed if covariates is not None and c not in covariates]
    if design:
        raise SpecificationError(
            f"{design} are absorbed by the region and year effects: treatment does not vary within years apart from "
            "region-level differences (e.g. every region treated from the same year, or no region untreated while "
            "others are treated), so the effect is not identified. Fix: the rows need control regions (never or "
            "not yet treated) beside the treated ones in the treated years.")
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
