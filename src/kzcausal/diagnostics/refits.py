"""Re-estimation checks: placebo in time, placebo outcomes, leave-one-region-out and leave-one-cohort-out.

Each takes any result that can re-estimate itself (``result.refit``) and reports the
re-estimated effect, one row per re-fit, in a :class:`~kzcausal.results.CheckResult`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from functools import partial

import numpy as np
import pandas as pd

from ..errors import KzCausalError, KzCausalWarning, SpecificationError, check_names
from ..panel import RegionPanel
from ..parallel import map_tasks
from ..results import COLUMNS, CheckResult, EstimationResult, check_result

__all__ = ["placebo_in_time", "placebo_outcome", "leave_one_out", "RefitResult"]


class RefitResult(CheckResult):
    """The effect re-estimated on other rows, assignments or outcomes: one row per re-fit."""


def _require_refit(result: EstimationResult, check: str) -> pd.DataFrame:
    """The result's rows, raising the protocol's error for results that cannot re-estimate themselves."""
    check_result(result, check)
    data = result.rows()
    if result.refitter is None:
        result.refit()  # raises, naming the result
    return data


def _effect_row(fit: EstimationResult) -> pd.Series:
    return fit.effect_table().iloc[0][COLUMNS]


def _refit_row(rows: pd.DataFrame, *, result: EstimationResult, outcome: str | None = None
               ) -> pd.Series | str:
    """The effect re-estimated on ``rows`` (warnings silenced), or the first line of why it cannot be."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _effect_row(result.refit(rows, outcome=outcome))
        except KzCausalError as exc:
            return str(exc).splitlines()[0]


def _refit_rows(result: EstimationResult, datasets: dict[str, pd.DataFrame], desc: str, outcome=None) -> dict:
    """Re-fit every named dataset through the configured backend (serial or Dask); values as :func:`_refit_row`."""
    values = map_tasks(partial(_refit_row, result=result, outcome=outcome), list(datasets.values()),
                       progress=len(datasets) >= 50, desc=desc)
    return dict(zip(datasets, values))


def _collect(result: EstimationResult, fits: dict[str, pd.Series], method: str, caveats=()) -> RefitResult:
    if not fits:
        raise SpecificationError(f"{method}: no re-fit could be estimated on {result.method!r}.")
    table = pd.DataFrame(fits).T.rename_axis("term")[COLUMNS].astype(float)
    return RefitResult(table=table, method=f"{method} ({result.method})", caveats=tuple(caveats), result=result)


def placebo_in_time(result: EstimationResult, shifts: Sequence[int] = (1, 2, 3)) -> RefitResult:
    """Re-estimate with adoption moved ``shift`` years earlier, on pre-treatment years only.

    Only years before the first real adoption are used, so a non-zero placebo effect
    signals differential pre-trends (or anticipation), not the treatment. With staggered
    adoption, a cohort whose placebo date falls after the last of those years is a control
    in the placebo (it is untreated throughout them).
    """
    if isinstance(shifts, (str, bytes)) or not isinstance(shifts, Iterable):
        raise SpecificationError(f"shifts={shifts!r}; give a list of whole numbers of years >= 1, e.g. "
                                 "shifts=[1, 2, 3].")
    shifts = list(shifts)
    if not shifts:
        raise SpecificationError("shifts is empty. Fix: give at least one shift, e.g. shifts=[1, 2, 3].")
    data = _require_refit(result, "placebo_in_time")
    cohort = data["cohort"].to_numpy(float)
    if not np.isfinite(cohort).any():
        raise SpecificationError("placebo in time needs treated regions; the result has none.")
    first = float(np.min(cohort[np.isfinite(cohort)]))
    pre = data[data["year"] < first]
    datasets = {}
    for shift in shifts:
        if isinstance(shift, bool) or not isinstance(shift, (int, np.integer)) or shift < 1:
            raise SpecificationError(f"shifts: {shift!r} is not a whole number of years >= 1 (placebo adoption "
                                     "must move earlier). Fix: pass e.g. shifts=[1, 2, 3].")
        moved = pre["cohort"].to_numpy(float) - shift
        # a region whose placebo adoption falls after the last pre-treatment year is untreated in these rows
        fake = pre.assign(cohort=np.where(moved > pre["year"].max(), np.inf, moved))
        if (fake["year"] < first - shift).sum() == 0 or not (fake["year"] >= first - shift).any():
            raise SpecificationError(f"shifts: {shift} leaves no pre-treatment years before the placebo adoption "
                                     f"({int(first - shift)}); the data start in {int(data['year'].min())} and the "
                                     f"first adoption is {int(first)}. Fix: use shifts smaller than "
                                     f"{int(first - data['year'].min())}.")
        datasets[f"placebo adoption -{shift}"] = fake
    rows = _refit_rows(result, datasets, "placebo in time")
    failed = {name: why for name, why in rows.items() if isinstance(why, str)}
    if failed:
        name, why = next(iter(failed.items()))
        raise SpecificationError(f"{name} cannot be estimated: {why}")
    return _collect(result, rows, "placebo in time")


def leave_one_out(result: EstimationResult, by: str = "region") -> RefitResult:
    """Re-estimate leaving out one region (``by="region"``) or one adoption cohort (``by="cohort"``).

    Re-fits that cannot be estimated (e.g. dropping the only treated region, or a cohort's
    only comparison) are listed in the caveats, not silently skipped.
    """
    data = _require_refit(result, "leave_one_out")
    if not isinstance(by, str):
        raise SpecificationError(f"by={by!r}. Fix: use by='region' or by='cohort'.")
    if by == "region":
        groups = {f"without {r}": data["region"] != r for r in pd.unique(data["region"])}
    elif by == "cohort":
        cohorts = sorted(c for c in pd.unique(data["cohort"]) if np.isfinite(c))
        if len(cohorts) < 2:
            raise SpecificationError(f"by='cohort': leave-one-cohort-out needs at least two adoption cohorts; the "
                                     f"result has {[int(c) for c in cohorts]}. Fix: use by='region'.")
        groups = {f"without cohort {int(c)}": data["cohort"] != c for c in cohorts}
    else:
        raise SpecificationError(f"by={by!r}. Fix: use by='region' or by='cohort'.")
    datasets, skipped = {}, []
    for name, keep in groups.items():
        subset = data[keep]
        if not np.isfinite(subset["cohort"]).any() or np.isfinite(subset["cohort"]).all():
            skipped.append(f"{name}: no treated or no control region left")
            continue
        datasets[name] = subset
    rows = {}
    for name, value in _refit_rows(result, datasets, f"leave one {by} out").items():
        if isinstance(value, str):
            skipped.append(f"{name}: {value}")
        else:
            rows[name] = value
    caveats = [f"{len(skipped)} re-fit(s) not estimable: " + "; ".join(skipped)] if skipped else []
    return _collect(result, rows, f"leave one {by} out", caveats)


def placebo_outcome(result: EstimationResult, panel: RegionPanel, outcomes: Sequence[str]) -> RefitResult:
    """Re-estimate the result's specification on outcomes the treatment should not move.

    ``panel`` holds the placebo outcomes (the panel the result was estimated on, or any panel
    with the same regions and years); the rows, assignment and clustering stay the result's.
    """
    outcomes = check_names(outcomes, "outcomes")
    if result.outcome in outcomes:
        raise SpecificationError(f"outcomes include the result's own outcome {result.outcome!r}, which the "
                                 "treatment is meant to move. Fix: list only outcomes it should not move.")
    data = _require_refit(result, "placebo_outcome")
    if not isinstance(panel, RegionPanel):
        raise SpecificationError(f"panel is a {type(panel).__name__}, not a RegionPanel. Fix: pass the panel "
                                 "holding the placebo outcomes (a RegionPanel).")
    panel.require(*outcomes, role="placebo outcome")
    frame = data.drop(columns=[c for c in outcomes if c in data.columns]).merge(
        panel.to_frame()[["region", "year", *outcomes]], on=["region", "year"], how="left")
    fits, caveats = {}, []
    for outcome in outcomes:
        missing = frame[outcome].isna()
        if missing.all():
            raise SpecificationError(
                f"placebo outcome {outcome!r} has no value in any of the result's {len(frame)} region-years (the "
                f"panel's regions: {panel.regions[:5]}{' ...' if len(panel.regions) > 5 else ''}; the result's: "
                f"{list(pd.unique(frame['region']))[:5]} ...). Fix: pass the panel the result was estimated on, or "
                "one with the same regions and years.")
        if missing.any():
            gaps = frame.loc[missing].groupby("region", sort=False)["year"].agg(lambda y: ", ".join(map(str, y)))
            shown = "; ".join(f"{r}: {y}" for r, y in gaps.head(8).items()) + (" ..." if len(gaps) > 8 else "")
            caveats.append(f"placebo outcome {outcome!r}: {int(missing.sum())} estimation row(s) have no value "
                           f"and are left out ({shown})")
            warnings.warn(caveats[-1], KzCausalWarning, stacklevel=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits[f"placebo outcome {outcome}"] = _effect_row(result.refit(frame[~missing], outcome=outcome))
    return _collect(result, fits, "placebo outcomes", caveats)
