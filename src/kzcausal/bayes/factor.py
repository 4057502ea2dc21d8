"""Paper 000's per-region least-squares "factor models" of GRP on the attractiveness index.

Bokayev & Akhmetova (2024) fit, for one region over eight years, either the linear model
``GRP = a + b * IMP + c * t`` or the power model ``GRP = A * IMP^b * t^c`` (least squares on
logs), with ``t = 1`` in the first year, and read an elasticity off it: ``b * mean(IMP) /
mean(GRP)`` for the linear form, ``b`` for the power form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import SpecificationError, show_rows
from ..panel import RegionPanel
from ..text import literal_plot

__all__ = ["factor_model", "FactorModelResult"]


@dataclass(frozen=True, eq=False)
class FactorModelResult:
    """One region's factor model: coefficients, fit, elasticity and the paper's counterfactual.

    ``table`` holds ``a`` (or ``A``), ``b`` (index) and ``c`` (time) with OLS standard errors
    (for the power form ``A = exp(intercept)`` and its error by the delta method).
    ``data`` are the rows used: ``year``, ``t``, the outcome, the index and the fitted values.
    """

    region: str
    form: str
    table: pd.DataFrame
    r_squared: float
    elasticity: float
    data: pd.DataFrame = field(repr=False)
    outcome: str = "grp"
    index: str = "attractiveness_index"
    units: str = ""
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    spec: Mapping[str, object] = field(default_factory=dict, repr=False)

    @property
    def params(self) -> pd.Series:
        return self.table["estimate"].copy()

    def counterfactual(self, year: int, rise: float = 0.01) -> pd.Series:
        """Change of the outcome from raising the index by ``rise`` (1%) in ``year``, outcome units.

        ``model``: what the fitted equation implies, holding ``t`` fixed: ``b * rise * IMP`` for
        the linear form, ``GRP * ((1 + rise)^b - 1)`` for the power form. ``at_mean_elasticity``:
        paper 000's arithmetic, ``elasticity * rise * GRP`` with the elasticity at the means;
        for the linear form it differs from ``model`` unless ``IMP / GRP`` in ``year`` equals its
        ratio at the means.
        """
        rows = self.data[self.data["year"] == year]
        if rows.empty:
            raise SpecificationError(f"year {year} is not among the years the {self.region} model used "
                                     f"({self.data['year'].tolist()}); pick one of them.")
        grp, imp = float(rows[self.outcome].iloc[0]), float(rows[self.index].iloc[0])
        b = float(self.table.loc["b", "estimate"])
        model = b * rise * imp if self.form == "linear" else grp * ((1 + rise) ** b - 1)
        return pd.Series({"model": model, "at_mean_elasticity": self.elasticity * rise * grp},
                         name=f"{self.outcome} change, {self.units or 'outcome units'}")

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: term, estimate, std_error, plus region, form, r_squared and elasticity."""
        frame = self.table.rename_axis("term").reset_index()
        return frame.assign(region=self.region, form=self.form, r_squared=self.r_squared,
                            elasticity=self.elasticity)

    def summary(self) -> str:
        equation = ("GRP = a + b*IMP + c*t" if self.form == "linear" else "GRP = A * IMP^b * t^c")
        years = self.data["year"]
        lines = [f"{self.region}: {self.form} factor model {equation} (paper 000), "
                 f"{years.min()}-{years.max()}, n = {len(years)}, t = 1 in {years.min()}",
                 self.table.to_string(float_format=lambda x: f"{x:.4g}"),
                 f"R^2 = {self.r_squared:.3f}; elasticity of {self.outcome} w.r.t. {self.index} = "
                 f"{self.elasticity:.3f}" + (" (at the means)" if self.form == "linear" else ""),
                 f"{self.outcome} in {self.units or 'panel units'}"]
        if len(self.dropped):
            lines.append(f"! {len(self.dropped)} year(s) without both variables not used: "
                         f"{self.dropped['year'].tolist()}")
        return "\n".join(lines)

    @literal_plot
    def plot(self, ax=None):
        """Observed and fitted outcome by year; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(self.data["year"], self.data[self.outcome], "o", color="C0", label="observed")
        ax.plot(self.data["year"], self.data["fitted"], "-", color="C1", label=f"{self.form} fit")
        ax.set_xlabel("year")
        ax.set_ylabel(f"{self.outcome} ({self.units})" if self.units else self.outcome)
        ax.set_title(f"{self.region}: R^2 = {self.r_squared:.3f}, elasticity {self.elasticity:.3f}",
                     fontsize="small")
        ax.legend(fontsize="small")
        return ax


def factor_model(
    panel: RegionPanel,
    region: str,
    form: Literal["linear", "power"] = "linear",
    outcome: str = "grp",
    index: str = "attractiveness_index",
    *,
    years: tuple[int, int] | None = None,
    scale: float = 1.0,
) -> FactorModelResult:
    """Fit paper 000's factor model for one region by least squares.

    Parameters
    ----------
    panel
        The panel (e.g. :func:`kzcausal.load_kazakhstan`).
    region
        The region, as named in the panel.
    form
        ``"linear"``: ``outcome = a + b * index + c * t``; ``"power"``: ``outcome = A *
        index^b * t^c``, fitted as OLS of ``log outcome`` on ``log index`` and ``log t``.
    outcome, index
        Variables of the panel.
    years
        First and last year to use; default: every year with both variables. ``t = 1`` in
        the first year used.
    scale
        Divide the outcome by this before fitting (``1e6`` turns million KZT into the
        paper's trillion tenge).

    Returns
    -------
    FactorModelResult
        Coefficients with OLS errors, R^2 (of the fitted equation, on the log scale for the
        power form), the elasticity and ``.counterfactual(year)``.

    References
    ----------
    Bokayev, B. & Akhmetova, Z. (2024), equations (2) and (3).
    """
    if form not in ("linear", "power"):
        raise SpecificationError(f"form must be 'linear' or 'power'; got {form!r}.")
    panel.require(outcome, index)
    if region not in panel.regions:
        raise SpecificationError(f"region {region!r} is not in the panel; its regions: {panel.regions}.")
    if not scale > 0:
        raise SpecificationError(f"scale must be positive; got {scale}.")
    frame = panel.to_frame()
    frame = frame.loc[frame["region"] == region, ["year", outcome, index]]
    if years is not None:
        frame = frame[frame["year"].between(*years)]
    missing = frame[outcome].isna() | frame[index].isna()
    dropped = frame[missing].assign(reason=f"{outcome} or {index} missing")
    data = frame[~missing].copy()
    data[outcome] = data[outcome] / scale
    if len(data) < 4:
        raise SpecificationError(f"{region} has {len(data)} year(s) with both {outcome} and {index} "
                                 f"({data['year'].tolist()}); a three-parameter model needs at least 4. "
                                 "Widen years=... or choose another region.")
    data["t"] = data["year"] - data["year"].min() + 1
    y, x, t = (data[c].to_numpy(dtype=float) for c in (outcome, index, "t"))
    if form == "power":
        bad = data[(data[outcome] <= 0) | (data[index] <= 0)]
        if len(bad):
            raise SpecificationError(f"the power form takes logs, but {outcome} or {index} is not positive in "
                                     f"{show_rows(bad)}; use form='linear'.")
        y, x, t = np.log(y), np.log(x), np.log(t)
    X = np.column_stack([np.ones_like(x), x, t])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    dof = len(y) - 3
    cov = resid @ resid / dof * np.linalg.inv(X.T @ X) if dof > 0 else np.full((3, 3), np.nan)
    se = np.sqrt(np.diag(cov))
    r2 = 1 - resid @ resid / np.sum((y - y.mean()) ** 2)
    fitted = y - resid                                           # on the log scale for the power form
    data["fitted"] = np.exp(fitted) if form == "power" else fitted
    if form == "power":                                          # A = exp(intercept), error by the delta method
        coef, se = np.r_[np.exp(coef[0]), coef[1:]], np.r_[np.exp(coef[0]) * se[0], se[1:]]
    table = pd.DataFrame({"estimate": coef, "std_error": se},
                         index=pd.Index(["A" if form == "power" else "a", "b", "c"], name="term"))
    elasticity = coef[1] * data[index].mean() / data[outcome].mean() if form == "linear" else coef[1]
    unit = panel.units.get(outcome, "")
    units = unit if scale == 1 else f"{unit or 'panel units'}, divided by {scale:g}"
    return FactorModelResult(region=region, form=form, table=table, r_squared=float(r2),
                             elasticity=float(elasticity), data=data.reset_index(drop=True), outcome=outcome,
                             index=index, units=units, dropped=dropped.reset_index(drop=True),
                             spec=dict(region=region, form=form, outcome=outcome, index=index, years=years,
                                       scale=scale))
