"""Re-estimation checks: placebo in time, leave-one-region-out and leave-one-cohort-out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..did.classic import did_2x2, twfe
from ..did.results import DIDResult
from ..errors import SpecificationError
from ..panel import RegionPanel, read_panel
from .inference import estimation_rows

__all__ = ["placebo_in_time", "placebo_outcome", "leave_one_out"]


def _refit(result: DIDResult, data: pd.DataFrame) -> tuple[pd.Series, int]:
    """The result's specification re-estimated on ``data``: its coefficient row and sample size."""
    spec = result.spec
    outcome = spec["outcome"]
    panel = read_panel(data.drop(columns="cohort").assign(treated_=(data["year"] >= data["cohort"]).astype(float)),
                       regions=None, allow_gaps=True)
    if spec["estimator"] == "did_2x2":
        treated = sorted(data.loc[np.isfinite(data["cohort"]), "region"].unique())
        post_from = int(data.loc[np.isfinite(data["cohort"]), "cohort"].min())
        fit = did_2x2(panel, outcome, treated, post_from, fixed_effects=spec["fixed_effects"], cov=spec["cov"],
                      alpha=spec["alpha"])
    else:
        fit = twfe(panel, outcome, "treated_", covariates=spec["covariates"], cov=spec["cov"], alpha=spec["alpha"])
    return fit.table.iloc[-1 if spec["estimator"] == "did_2x2" else 0], fit.n_obs


def _collect(result: DIDResult, fits: dict[str, tuple[pd.Series, int]], method: str) -> DIDResult:
    table = pd.DataFrame({name: row for name, (row, _) in fits.items()}).T.rename_axis("term")
    return DIDResult(table=table, vcov=pd.DataFrame(np.diag(table["std_error"] ** 2), index=table.index,
                                                   columns=table.index),
                     method=f"{method} ({result.method})", spec={**result.spec, "check": method},
                     n_obs=max(n for _, n in fits.values()), n_clusters=None, warnings=result.warnings)


def placebo_in_time(result: DIDResult, shifts: Sequence[int] = (1, 2, 3)) -> DIDResult:
    """Re-estimate with adoption moved ``shift`` years earlier, on pre-treatment years only.

    Only years before the first real adoption are used, so a non-zero placebo effect
    signals differential pre-trends (or anticipation), not the treatment.
    """
    data = estimation_rows(result)
    first = float(np.min(data["cohort"]))
    pre = data[data["year"] < first]
    rows = {}
    for shift in shifts:
        if shift < 1:
            raise SpecificationError(f"shift={shift}: placebo adoption must move earlier by at least 1 year.")
        fake = pre.assign(cohort=pre["cohort"] - shift)
        if (fake["year"] < first - shift).sum() == 0 or not (fake["year"] >= first - shift).any():
            raise SpecificationError(f"shift={shift}: no pre-treatment years left before the placebo adoption "
                                     f"({int(first - shift)}); the data start in {int(data['year'].min())}.")
        rows[f"placebo adoption -{shift}"] = _refit(result, fake)
    return _collect(result, rows, "placebo in time")


def leave_one_out(result: DIDResult, by: str = "region") -> DIDResult:
    """Re-estimate leaving out one region (``by="region"``) or one adoption cohort (``by="cohort"``)."""
    data = estimation_rows(result)
    if by == "region":
        groups = {f"without {r}": data["region"] != r for r in pd.unique(data["region"])}
    elif by == "cohort":
        cohorts = sorted(c for c in pd.unique(data["cohort"]) if np.isfinite(c))
        if len(cohorts) < 2:
            raise SpecificationError("leave-one-cohort-out needs at least two adoption cohorts.")
        groups = {f"without cohort {int(c)}": data["cohort"] != c for c in cohorts}
    else:
        raise SpecificationError(f"by={by!r}; use 'region' or 'cohort'.")
    rows = {}
    for name, keep in groups.items():
        subset = data[keep]
        if not np.isfinite(subset["cohort"]).any() or np.isfinite(subset["cohort"]).all():
            continue  # dropping the only treated (or only control) region leaves no comparison
        rows[name] = _refit(result, subset)
    return _collect(result, rows, f"leave one {by} out")


def placebo_outcome(result: DIDResult, panel: RegionPanel, outcomes: Sequence[str]) -> DIDResult:
    """Re-estimate the result's specification on outcomes the treatment should not move.

    ``panel`` is the panel the result was estimated on (it holds the other columns).
    """
    data = estimation_rows(result)
    panel.require(*outcomes, role="placebo outcome")
    frame = panel.to_frame().merge(data[["region", "year", "cohort"]], on=["region", "year"], how="inner")
    fits = {}
    for outcome in outcomes:
        subset = frame[["region", "year", outcome, "cohort"]].dropna(subset=[outcome])
        placebo = DIDResult(table=result.table, vcov=result.vcov, method=result.method,
                            spec={**result.spec, "outcome": outcome}, data=subset)
        fits[f"placebo outcome {outcome}"] = _refit(placebo, subset)
    return _collect(result, fits, "placebo outcomes")
