"""Goodman-Bacon (2021) decomposition of the two-way fixed-effects DID coefficient."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..design import check_outcome_varies, check_panel, estimation_rows, positional_deprecated, resolve_assignment
from ..errors import SpecificationError
from ..panel import RegionPanel
from ..results import CheckResult, axes_for

__all__ = ["bacon_decomposition", "BaconResult"]


@dataclass(frozen=True, eq=False)
class BaconResult(CheckResult):
    """Every 2x2 comparison behind the TWFE coefficient, with its weight and estimate.

    ``table``: ``treated, control, kind, weight, estimate`` where ``kind`` is
    ``"treated vs never treated"``, ``"earlier vs later treated"`` or
    ``"later vs earlier treated"`` (the comparison that uses already-treated regions as
    controls). ``twfe`` is the weighted sum of the estimates.
    """

    twfe: float = np.nan

    def summary(self) -> str:
        by_kind = self.table.groupby("kind").apply(
            lambda t: pd.Series({"weight": t["weight"].sum(),
                                 "average estimate": np.average(t["estimate"], weights=t["weight"])}),
            include_groups=False)
        return "\n".join([self.method, f"TWFE coefficient = weighted sum = {self.twfe:.4f}", "",
                          by_kind.to_string(float_format=lambda x: f"{x:.4f}"), "",
                          self.table.to_string(index=False, float_format=lambda x: f"{x:.4f}")])

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def plot(self, ax=None):
        """The classic scatter: each 2x2 estimate against its weight, by kind of comparison."""
        ax = axes_for(ax, (6, 4))
        for (kind, part), marker in zip(self.table.groupby("kind"), "os^"):
            ax.scatter(part["weight"], part["estimate"], marker=marker, label=kind)
        ax.axhline(self.twfe, color="C3", lw=1, ls="--", label=f"TWFE = {self.twfe:.3f}")
        ax.set_xlabel("weight")
        ax.set_ylabel("2x2 DID estimate")
        ax.legend(fontsize="small")
        return ax


@positional_deprecated("treatment")
def bacon_decomposition(panel: RegionPanel, outcome: str, *, treatment: str | None = None,
                        first_treated: str | Mapping[str, float] | None = None,
                        treated: str | Sequence[str] | None = None, post_from: int | None = None) -> BaconResult:
    """Decompose the TWFE coefficient of a staggered absorbing treatment into 2x2 comparisons.

    The assignment is any one spelling (see :mod:`kzcausal.design.assignment`): ``treatment``
    (a 0/1 absorbing column), ``first_treated`` or ``treated`` + ``post_from``. Needs a balanced
    panel; regions treated from the first year (always treated) have no untreated period and are
    left out with a warning by the design layer (R did's convention, as :func:`kzcausal.twfe` does). The weights sum to one and the weighted sum of the 2x2 estimates equals the TWFE
    coefficient exactly.

    References
    ----------
    Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment
    timing. Journal of Econometrics 225(2), 254-277, equations (6)-(10).
    """
    check_panel(panel)
    assignment = resolve_assignment(panel, first_treated=first_treated, treated=treated, post_from=post_from,
                                    treatment=treatment, estimator="bacon_decomposition")
    rows, notes = estimation_rows(panel, outcome, assignment)
    check_outcome_varies(rows[outcome].to_numpy(float), outcome)
    cohort = rows["cohort"].to_numpy(float)
    name = assignment.source or assignment.spelling
    if not (rows["year"].to_numpy() >= cohort).any():
        raise SpecificationError(f"treatment {name!r} is never 1 in these years: there is no adoption to "
                                 "decompose. Fix: check the assignment (0 before adoption, 1 from adoption on).")
    years = np.sort(rows["year"].unique())
    wide = rows.pivot(index="region", columns="year", values=outcome).reindex(columns=years)
    if wide.isna().any().any():
        gaps = wide.index[wide.isna().any(axis=1)].tolist()
        raise SpecificationError(f"the decomposition needs a balanced panel (every region in every year); "
                                 f"{len(gaps)} region(s) miss years: {gaps[:10]}. Fix: drop them explicitly.")
    start = rows.groupby("region")["cohort"].first().reindex(wide.index).replace(np.inf, np.nan)
    start = start.where(start <= years[-1])
    y = wide.to_numpy(float)
    n_regions, n_years = y.shape
    timing = start.to_numpy(float)  # NaN: never treated
    groups = sorted(np.unique(timing[np.isfinite(timing)]))
    share = {g: np.mean(timing == g) for g in groups}
    share_never = float(np.mean(np.isnan(timing)))
    treated_share = {g: np.mean(years >= g) for g in groups}  # D-bar_k: share of years treated

    def did(treated_rows, control_rows, first, last, switch):
        window = (years >= first) & (years <= last)
        post = years[window] >= switch
        yt, yc = y[treated_rows][:, window], y[control_rows][:, window]
        return ((yt[:, post].mean() - yt[:, ~post].mean()) - (yc[:, post].mean() - yc[:, ~post].mean()))

    rows = []
    for k in groups:
        in_k = timing == k
        d_k = treated_share[k]
        if share_never > 0:
            n_ku = share[k] / (share[k] + share_never)
            weight = (share[k] + share_never) ** 2 * n_ku * (1 - n_ku) * d_k * (1 - d_k)
            rows.append((k, "never treated", "treated vs never treated", weight,
                         did(in_k, np.isnan(timing), years[0], years[-1], k)))
        for l in groups:
            if l <= k:
                continue
            in_l, d_l = timing == l, treated_share[l]
            n_kl = share[k] / (share[k] + share[l])
            weight_k = (((share[k] + share[l]) * (1 - d_l)) ** 2 * n_kl * (1 - n_kl)
                        * (d_k - d_l) / (1 - d_l) * (1 - d_k) / (1 - d_l))
            rows.append((k, f"later ({int(l)})", "earlier vs later treated", weight_k,
                         did(in_k, in_l, years[0], l - 1, k)))
            weight_l = (((share[k] + share[l]) * d_k) ** 2 * n_kl * (1 - n_kl)
                        * d_l / d_k * (d_k - d_l) / d_k)
            rows.append((l, f"earlier ({int(k)})", "later vs earlier treated", weight_l,
                         did(in_l, in_k, k, years[-1], l)))
    table = pd.DataFrame(rows, columns=["treated", "control", "kind", "weight", "estimate"])
    table["treated"] = table["treated"].astype(int)
    table["weight"] /= table["weight"].sum()  # the sum is the variance of two-way demeaned treatment
    twfe = float((table["weight"] * table["estimate"]).sum())
    return BaconResult(table=table, method="Goodman-Bacon (2021) decomposition of TWFE", twfe=twfe,
                       caveats=tuple(notes))
