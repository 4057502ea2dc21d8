"""Estimation rows: the only code that reads a panel for estimation, and the only check of re-fit rows.

Every region-year estimator fits rows ``region, year, <outcome>, cohort`` (first treated year,
``inf``: never treated), with ``cluster`` when clusters are coarser than regions, covariates and
any extra columns the estimator needs (predictors). :func:`estimation_rows` builds them from a
panel and an :class:`~kzcausal.design.assignment.Assignment`; :func:`check_rows` validates rows
handed to a re-fit (randomization inference, placebo in time, placebo outcomes, leave-one-out,
power simulations) against the rows the result was estimated on, so a re-fit accepts exactly what
the estimator accepts.

One missing-value policy: rows whose outcome (or a covariate) is missing are left out, with a
warning and a caveat that name them; estimators that need a balanced panel then say which
regions they drop.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import KzCausalWarning, SpecificationError, show_rows
from .assignment import Assignment, keyed_by_region, r_did_conventions, whole_years
from .inference import CLUSTER_COLUMN, cluster_column

__all__ = ["estimation_rows", "check_rows", "reassign", "BASE_COLUMNS"]

#: The columns every estimation row has.
BASE_COLUMNS = ("region", "year", "cohort")


def estimation_rows(panel, outcome: str, assignment: Assignment, *, covariates: Sequence[str] = (),
                    cluster: str | Mapping | pd.Series | None = None, extra: Sequence[str] = (),
                    warn: bool = True) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The rows an estimator fits, from ``panel`` (through :meth:`RegionPanel.select`, no private reads).

    Returns the rows (indexed by their row in the panel, sorted by region and year) and the notes
    the result states: the assignment's (regions excluded or recoded) and the rows left out for a
    missing outcome or covariate. ``extra`` columns are carried as they are (missing values kept).
    """
    panel.require(outcome, role="outcome")
    covariates, extra = list(covariates), [c for c in extra if c not in covariates and c != outcome]
    if covariates:
        panel.require(*covariates, role="covariate")
    if extra:
        panel.require(*extra, role="predictor")
    cluster_name = cluster if isinstance(cluster, str) and cluster != "region" else None
    if cluster_name is not None and cluster_name not in panel.variables:
        cluster_column(panel.select(), cluster_name, panel.variables)  # raises naming the panel's columns
    frame = panel.select(outcome, *covariates, *extra, *([cluster_name] if cluster_name else []))
    codes, regions = panel.region_codes
    per_region = assignment.cohorts.reindex(regions).to_numpy(float)  # NaN: an excluded region
    cohort = per_region[codes]
    if assignment.excluded:
        keep = ~np.isnan(cohort)
        frame, cohort = frame[keep], cohort[keep]
    rows = pd.DataFrame({"region": frame["region"], "year": frame["year"], outcome: frame[outcome],
                         "cohort": cohort}, index=frame.index)
    if cluster is not None and not (isinstance(cluster, str) and cluster == "region"):
        rows[CLUSTER_COLUMN] = cluster_column(frame, cluster, panel.variables, regions=regions).to_numpy()
    for column in (*covariates, *extra):
        rows[column] = frame[column].to_numpy()
    _refuse_infinite(rows, [outcome, *covariates])
    rows, notes = _drop_missing(rows, [outcome, *covariates], warn=warn)
    return rows, (*assignment.notes, *notes)


def _refuse_infinite(rows: pd.DataFrame, columns: list[str]) -> None:
    """An infinite outcome or covariate (a ratio over a zero count, say) would make every estimate NaN."""
    for column in columns:
        infinite = np.isinf(rows[column].to_numpy(float))
        if infinite.any():
            raise SpecificationError(f"{column!r} is infinite in {int(infinite.sum())} row(s):\n"
                                     f"{show_rows(rows.loc[infinite, ['region', 'year', column]])}\n"
                                     "(a ratio whose denominator is 0, e.g. arrivals / departures with no departures). "
                                     "Fix: use another variable, or set those cells to NaN so that the rows are left "
                                     "out with a note.")


def check_rows(rows: object, *, like: pd.DataFrame, outcome: str, own_outcome: str,
               warn: bool = True) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Validate rows for a re-fit of a result estimated on ``like`` (its own rows, outcome ``own_outcome``).

    The rows need every column of ``like`` (the outcome may be another one): a result clustered
    by macro-region needs their ``cluster`` column, a result with covariates needs them. Each
    region-year appears once; ``cohort`` is one whole year (or NaN / inf: never) per region; the
    cluster is one label per region. Rows with a missing outcome are left out, as the estimators
    do, with a warning and a note. Returns the rows and the notes.
    """
    if not isinstance(rows, pd.DataFrame):
        raise SpecificationError(f"refit: data is a {type(rows).__name__}, not a DataFrame. Fix: pass rows in the "
                                 "layout of result.data (or None for this result's own rows).")
    needed = [c for c in like.columns if c != own_outcome] + [outcome]
    missing = [c for c in dict.fromkeys(needed) if c not in rows.columns]
    if missing:
        why = (f"; the result is clustered on {CLUSTER_COLUMN!r} (coarser than the region) and would silently "
               "cluster by region without it" if CLUSTER_COLUMN in missing else "")
        raise SpecificationError(f"refit: the rows lack column(s) {missing}{why}. Fix: pass rows in the layout of "
                                 f"result.data ({list(like.columns)}), e.g. a subset of result.data.")
    if rows.empty:
        raise SpecificationError("refit: the rows are empty. Fix: pass some of result.data's rows (or None for all).")
    _check_keys(rows)
    twice = rows.duplicated(["region", "year"], keep=False)
    if twice.any():
        raise SpecificationError(f"refit: {int(twice.sum())} row(s) repeat a region-year (each must appear once; "
                                 f"repeated rows would double their weight and shrink the errors):\n"
                                 f"{show_rows(rows.loc[twice, ['region', 'year']])}\n"
                                 "Fix: drop the duplicates (rows.drop_duplicates(['region', 'year'])).")
    cohort = pd.to_numeric(rows["cohort"], errors="coerce")
    if cohort.isna().any() and rows["cohort"].notna().sum() > cohort.notna().sum():
        bad = rows.loc[cohort.isna() & rows["cohort"].notna(), ["region", "year", "cohort"]]
        raise SpecificationError(f"refit: column 'cohort' holds values that are not years:\n{show_rows(bad)}\n"
                                 "Fix: each region's first treated year as a number (NaN or inf: never treated).")
    values = cohort.to_numpy(float)
    values = np.where(np.isnan(values) | (values == 0), np.inf, values)  # 0: never treated (R did)
    per_region = pd.Series(values, index=rows.index).groupby(rows["region"].to_numpy(), sort=False)
    varying = per_region.nunique() > 1
    if varying.any():
        bad = varying.index[varying].tolist()
        raise SpecificationError(f"refit: 'cohort' changes within region(s) {bad[:5]}; it is each region's first "
                                 "treated year. Fix: give every row of a region the same cohort.")
    first = whole_years(per_region.first(), "refit: cohort")
    if CLUSTER_COLUMN in like.columns:
        cluster_column(rows, CLUSTER_COLUMN)  # raises if missing or varying within a region
    mapped, excluded, recoded = r_did_conventions(first, pd.unique(rows["year"]), "refit: cohort")
    if warn:
        for note in recoded:
            warnings.warn(note, KzCausalWarning, stacklevel=4)
    if excluded:
        keep = ~rows["region"].isin(excluded).to_numpy()
        rows, values = rows[keep], values[keep]
    values = rows["region"].map(mapped).to_numpy(float) if recoded else values
    if not np.array_equal(values, rows["cohort"].to_numpy(float), equal_nan=False):
        rows = rows.assign(cohort=values)
    values = rows[outcome]
    if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
        numbers = pd.to_numeric(values, errors="coerce")
        bad = rows.loc[numbers.isna() & values.notna(), ["region", "year", outcome]]
        raise SpecificationError(f"refit: outcome {outcome!r} is not numeric (dtype {values.dtype})"
                                 + (f"; these are not numbers:\n{show_rows(bad)}\n" if len(bad) else ". ")
                                 + "Fix: convert it to numbers (pd.to_numeric) before the re-fit.")
    _refuse_infinite(rows, [outcome])
    rows, dropped = _drop_missing(rows, [outcome], warn=warn)
    return rows, (*recoded, *dropped)


def _check_keys(rows: pd.DataFrame) -> None:
    """Every re-fit row names its region and a whole year (the estimators' rows always do)."""
    no_region = rows["region"].isna().to_numpy() | (rows["region"].astype(str).str.strip() == "").to_numpy()
    if no_region.any():
        raise SpecificationError(f"refit: {int(no_region.sum())} row(s) have no region:\n"
                                 f"{show_rows(rows.loc[no_region, ['region', 'year']])}\n"
                                 "Fix: drop them or name their region.")
    raw = rows["year"]
    year = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    text = raw.map(lambda v: isinstance(v, str)).to_numpy(bool) if raw.dtype == object else np.zeros(len(raw), bool)
    bad = text | ~np.isfinite(year) | (year != np.round(year))
    if bad.any():
        raise SpecificationError(f"refit: column 'year' holds {int(bad.sum())} value(s) that are not whole years:\n"
                                 f"{show_rows(rows.loc[bad, ['region', 'year']])}\n"
                                 "Fix: give every row its year as a whole number (e.g. 2014).")


def reassign(rows: pd.DataFrame, cohorts: Mapping[str, float] | pd.Series, *,
             warn: bool = True) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """``rows`` with each region's cohort replaced (regions not named: never treated), validated.

    The years are read as the estimators read ``first_treated=`` (R did's conventions, relative to the
    rows' years): 0, NaN or inf is never treated, a year after the last row's is never treated, and a
    region adopting before the first row's year is left out. Returns the rows and the notes.
    """
    if isinstance(cohorts, pd.Series):
        given_values = cohorts.to_numpy()
        index = cohorts.index
    elif isinstance(cohorts, Mapping):
        given_values, index = list(cohorts.values()), list(cohorts.keys())
    else:
        raise SpecificationError(f"refit(cohorts=...) is a {type(cohorts).__name__}. Fix: give a mapping region -> "
                                 "first treated year (0, NaN or inf: never treated), e.g. cohorts={'Akmola': 2016}.")
    wrong = [v for v in given_values if v is not None and (isinstance(v, (bool, np.bool_)) or not isinstance(
        v, (int, float, np.integer, np.floating)))]
    if wrong:
        raise SpecificationError(f"refit(cohorts=...): {wrong[:5]} are not years. Fix: map each region to a "
                                 "first treated year as a number (0, NaN or inf: never treated).")
    regions = pd.unique(rows["region"])
    if isinstance(cohorts, pd.Series) and cohorts.index.equals(pd.Index(regions)):
        keyed = dict(zip(index, given_values))  # the fast path of randomization inference: the rows' own regions
    else:
        keyed = keyed_by_region(zip(index, given_values), regions, "refit(cohorts=...)")
    given = pd.Series(np.asarray([np.nan if v is None else v for v in keyed.values()], dtype=float),
                      index=list(keyed))
    whole_years(given, "refit(cohorts=...)")
    mapped, excluded, notes = r_did_conventions(given.reindex(regions), pd.unique(rows["year"]),
                                                "refit(cohorts=...)")
    if excluded:
        rows = rows[~rows["region"].isin(excluded)]
    if warn:
        for note in notes:
            warnings.warn(note, KzCausalWarning, stacklevel=4)
    return rows.assign(cohort=rows["region"].map(mapped).to_numpy(float)), tuple(notes)


def _drop_missing(rows: pd.DataFrame, columns: list[str], *, warn: bool) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Leave out rows missing any of ``columns`` (the one policy), naming them; refuse if none is left."""
    missing = rows[columns].isna().any(axis=1).to_numpy()
    if not missing.any():
        return rows, ()
    outcome = columns[0]
    if missing.all():
        raise SpecificationError(f"{columns if len(columns) > 1 else repr(outcome)} missing in every row; nothing to "
                                 "estimate. Fix: check the column (the wrong variable, or values that could not be "
                                 "read).")
    left_out = rows.loc[missing, ["region", "year", *columns]]
    treated = int(np.isfinite(rows.loc[missing, "cohort"].to_numpy(float)).sum())
    what = f"outcome {outcome!r}" if len(columns) == 1 else f"outcome or covariates {columns}"
    note = (f"{what} missing in {int(missing.sum())} row(s) ({treated} of treated regions); those rows are "
            "left out")
    if warn:
        warnings.warn(f"{note}:\n{show_rows(left_out)}", KzCausalWarning, stacklevel=4)
    return rows.loc[~missing], (note,)
