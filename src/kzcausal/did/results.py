"""One result interface for every DID estimator: summary, to_frame, to_xarray, plot, spec."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

__all__ = ["DIDResult", "coefficient_table"]

COLUMNS = ["estimate", "std_error", "ci_low", "ci_high", "p_value"]


def coefficient_table(estimates: pd.Series, std_errors: pd.Series, *, alpha: float = 0.05,
                      df: float | None = None, critical: float | None = None) -> pd.DataFrame:
    """Estimates with errors, two-sided p-values and confidence intervals.

    ``df`` gives Student-t inference (small-sample OLS, as statsmodels); otherwise normal.
    ``critical`` overrides the interval's critical value (uniform bands).
    """
    z = estimates / std_errors
    dist = stats.t(df) if df is not None else stats.norm()
    p_value = 2 * dist.sf(np.abs(z))
    crit = critical if critical is not None else dist.ppf(1 - alpha / 2)
    return pd.DataFrame({
        "estimate": estimates,
        "std_error": std_errors,
        "ci_low": estimates - crit * std_errors,
        "ci_high": estimates + crit * std_errors,
        "p_value": p_value,
    })


@dataclass(frozen=True, eq=False)
class DIDResult:
    """Estimates of one specification, with their covariance and the spec that produced them.

    Attributes
    ----------
    table
        One row per term: ``estimate, std_error, ci_low, ci_high, p_value``.
    vcov
        Covariance matrix of the estimates (terms x terms).
    method
        Estimator and covariance, in words.
    spec
        The arguments of the call that produced the result.
    n_obs, n_clusters
        Observations used and clusters (regions) for clustered errors.
    warnings
        Caveats a reader must see (few clusters, dropped rows, excluded cohorts).
    data
        The rows the estimate used (``region``, ``year``, the outcome, ``cohort`` = first
        treated year or inf, covariates), for the wild bootstrap and randomization inference.
    """

    table: pd.DataFrame
    vcov: pd.DataFrame
    method: str
    spec: Mapping[str, object] = field(default_factory=dict)
    n_obs: int = 0
    n_clusters: int | None = None
    warnings: tuple[str, ...] = ()
    data: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def params(self) -> pd.Series:
        """Point estimates by term."""
        return self.table["estimate"].copy()

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors by term."""
        return self.table["std_error"].copy()

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: term, estimate, std_error, ci_low, ci_high, p_value, method."""
        frame = self.table[COLUMNS].rename_axis("term").reset_index()
        frame["term"] = frame["term"].astype(str)
        return frame.assign(method=self.method)

    def summary(self) -> str:
        """Plain-text regression table with the method, sample and caveats."""
        header = [self.method, f"observations: {self.n_obs}"
                  + (f", clusters: {self.n_clusters}" if self.n_clusters is not None else "")]
        body = self.table[COLUMNS].to_string(float_format=lambda x: f"{x:.4f}")
        notes = [f"! {w}" for w in self.warnings]
        return "\n".join([*header, "", body, *([""] + notes if notes else [])])

    def __repr__(self) -> str:
        return f"<DIDResult {self.method}: {len(self.table)} terms, n={self.n_obs}>"

    def to_xarray(self) -> xr.Dataset:
        """Estimates as a Dataset over ``term`` (with ``vcov`` over ``term`` x ``term2``)."""
        ds = xr.Dataset({c: ("term", self.table[c].to_numpy()) for c in COLUMNS},
                        coords={"term": [str(t) for t in self.table.index]})
        ds["vcov"] = (("term", "term2"), self.vcov.to_numpy())
        ds = ds.assign_coords(term2=ds["term"].values)
        ds.attrs["method"] = self.method
        return ds

    def plot(self, ax=None):
        """Coefficient plot (estimate and confidence interval by term); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.5 + 0.4 * len(self.table)))
        y = np.arange(len(self.table))[::-1]
        ax.axvline(0, color="0.5", lw=0.8)
        ax.hlines(y, self.table["ci_low"], self.table["ci_high"], color="C0")
        ax.plot(self.table["estimate"], y, "o", color="C0")
        ax.set_yticks(y, [str(t) for t in self.table.index])
        ax.set_xlabel("estimate (95% CI)" if self.spec.get("alpha", 0.05) == 0.05 else "estimate (CI)")
        ax.set_title(self.method, fontsize="small")
        return ax
