"""Numerical helpers every layer may use: fixed effects partialled out, sums by cluster.

Nothing here builds an observation x unit matrix, so checks on a result scale with the number of
rows, not with rows x regions: absorbing region and year effects is exact and closed-form on a
balanced panel (``v - row mean - column mean + grand mean``), a group-mean subtraction for one
factor, and pyfixest's alternating projections (to 1e-13) otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ._imports import pyfixest
from .errors import SpecificationError

__all__ = ["Absorber", "cluster_matrix"]


@dataclass(frozen=True)
class Absorber:
    """``M_Z``: the residual maker of fixed effects (integer codes per row) plus dense regressors.

    ``factors`` is a tuple of integer code arrays (one per fixed effect, each row's level);
    ``dense`` (N x m or None) holds further regressors (covariates, an intercept and group
    dummies for pooled designs) partialled out after the fixed effects (Frisch-Waugh-Lovell).
    Picklable, so regression forms built on it travel to Dask workers.
    """

    factors: tuple[np.ndarray, ...]
    dense: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        return len(self.factors[0]) if self.factors else len(self.dense)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """``M_Z values`` for an N-vector or an N x k array."""
        values = np.asarray(values, dtype=float)
        flat = values.reshape(len(values), -1)
        out = self._absorb(flat)
        if self.dense is not None and self.dense.shape[1]:
            basis = self._dense_basis
            if basis.shape[1]:
                out = out - basis @ (basis.T @ out)
        return out.reshape(values.shape)

    @property
    def _grid(self) -> np.ndarray | None:
        """For a balanced two-way layout, the row of each (first level, second level) cell; else None."""
        if "_cells" not in self.__dict__:
            object.__setattr__(self, "_cells", _balanced_grid(*self.factors) if len(self.factors) == 2 else None)
        return self.__dict__["_cells"]

    @property
    def _dense_basis(self) -> np.ndarray:
        """An orthonormal basis of the dense regressors after the fixed effects (rank-revealing)."""
        cached = self.__dict__.get("_basis")
        if cached is None:
            residual = self._absorb(np.asarray(self.dense, float))
            u, s, _ = np.linalg.svd(residual, full_matrices=False)
            keep = s > 1e-10 * max(1.0, s.max(initial=0.0)) * max(residual.shape)
            cached = u[:, keep]
            object.__setattr__(self, "_basis", cached)
        return cached

    def _absorb(self, flat: np.ndarray) -> np.ndarray:
        if not self.factors:
            return flat.copy()
        if len(self.factors) == 1:
            return _subtract_group_means(flat, self.factors[0])
        if len(self.factors) == 2 and self._grid is not None:
            return _two_way_balanced(flat, self._grid)
        demean = pyfixest().estimation.demean
        flist = np.column_stack(self.factors).astype(np.uint64)
        out, converged = demean(np.ascontiguousarray(flat), flist, np.ones(len(flat)), tol=1e-13, maxiter=100_000)
        if not converged:
            raise SpecificationError("partialling out the fixed effects did not converge (alternating projections, "
                                     "100,000 iterations); the panel's region-year pattern may be disconnected.")
        return out


def _subtract_group_means(flat: np.ndarray, codes: np.ndarray) -> np.ndarray:
    n = int(codes.max()) + 1
    counts = np.bincount(codes, minlength=n).astype(float)
    means = np.column_stack([np.bincount(codes, weights=flat[:, j], minlength=n) for j in range(flat.shape[1])])
    return flat - (means / counts[:, None])[codes]


def _balanced_grid(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """If every (a, b) pair appears exactly once: the row holding each cell, as an na x nb array; else None."""
    na, nb = int(a.max()) + 1, int(b.max()) + 1
    if len(a) != na * nb:
        return None
    key = a.astype(np.int64) * nb + b
    if not (np.bincount(key, minlength=na * nb) == 1).all():
        return None
    rows = np.empty(na * nb, dtype=np.int64)
    rows[key] = np.arange(len(key))
    return rows.reshape(na, nb)


def _two_way_balanced(flat: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Two-way demeaning in closed form: ``v - row mean - column mean + grand mean``."""
    na, nb = grid.shape
    rows = grid.ravel()
    ordered = np.arange(len(rows))
    in_order = np.array_equal(rows, ordered)
    cube = (flat if in_order else flat[rows]).reshape(na, nb, -1)
    out = cube - cube.mean(axis=1, keepdims=True)
    out -= out.mean(axis=0, keepdims=True)
    out = out.reshape(len(rows), -1)
    if in_order:
        return out
    result = np.empty_like(out)
    result[rows] = out
    return result


def cluster_matrix(codes: np.ndarray, n_clusters: int | None = None) -> sparse.csr_matrix:
    """The G x N indicator of each row's cluster (sparse): ``S @ v`` sums ``v`` by cluster."""
    codes = np.asarray(codes, dtype=np.int64)
    g = int(codes.max()) + 1 if n_clusters is None else n_clusters
    return sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(g, len(codes)))
