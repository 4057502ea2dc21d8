"""Who is treated when: one vocabulary, resolved in one place.

Every DID estimator takes, by keyword, exactly one of three spellings of the assignment:

=================================  ==============================================================
``first_treated=``                 a panel column (or a mapping region -> year) holding each
                                   region's first treated year
``treated=`` + ``post_from=``      a list of regions (or a named group such as
                                   ``"serpin_receiving"``) all treated from one year
``treatment=``                     a 0/1 panel column, absorbing (once 1, always 1)
=================================  ==============================================================

All three resolve to an :class:`Assignment`: each region's first treated year, ``inf`` for never
treated (the one encoding of the estimation rows). First treated years follow R ``did``'s
conventions: 0 or missing means never treated; a year after the sample means never treated (with
a note); regions adopting before the first observed year have no untreated period and are
excluded (with a note naming them). Fractions are not years and are refused.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import KzCausalWarning, PanelError, SpecificationError, check_names, show_rows
from ..panel import RegionPanel, canonical_region

__all__ = ["Assignment", "resolve_assignment", "resolve_regions", "check_panel", "check_absorbing",
           "whole_years", "r_did_conventions", "keyed_by_region", "SPELLINGS", "positional_deprecated"]

#: The assignment spellings, in the order error messages list them.
SPELLINGS = ("first_treated", "treated", "treatment")
_HOW = {"first_treated": "first_treated='<column of first treated years>' (or a mapping region -> year)",
        "treated": "treated=[<regions>], post_from=<first treated year>",
        "treatment": "treatment='<0/1 column>'"}


@dataclass(frozen=True)
class Assignment:
    """Each region's first treated year (``inf``: never treated) and what resolving it did.

    ``cohorts`` is indexed by region in panel order; ``spelling`` is the argument it came from
    (``first_treated``, ``treated`` or ``treatment``) and ``source`` the column read (None for a
    mapping or a list); ``group`` a named group's name and ``term`` what its group term is called
    (paper 002: ``Program`` for receiving, ``Sender`` for sending regions); ``excluded`` the regions left out (adopted
    before the first observed year); ``notes`` what a reader must know (stated in the result).
    """

    cohorts: pd.Series
    spelling: str
    source: str | None = None
    group: str | None = None
    excluded: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    term: str = "Program"

    @property
    def treated(self) -> list[str]:
        """Regions treated at some point (in panel order)."""
        return self.cohorts.index[np.isfinite(self.cohorts.to_numpy(float))].tolist()

    @property
    def adoption_years(self) -> list[int]:
        """The distinct first treated years."""
        values = self.cohorts.to_numpy(float)
        return sorted(int(g) for g in np.unique(values[np.isfinite(values)]))

    def describe(self) -> str:
        """One line: who is treated from when, and what was excluded."""
        years = self.adoption_years
        text = (f"{len(self.treated)} of {len(self.cohorts)} regions treated"
                + (f" from {years[0]}" if len(years) == 1 else f" in {len(years)} cohorts {years}"))
        return "; ".join([text, *self.notes])


def check_panel(panel: object, name: str = "panel") -> None:
    """Estimators take a :class:`RegionPanel`; a DataFrame (or anything else) is refused with the way to build one."""
    if not isinstance(panel, RegionPanel):
        raise SpecificationError(f"{name} is a {type(panel).__name__}, not a RegionPanel. Fix: build one with "
                                 f"kz.read_panel(table, region='<region column>', year='<year column>').")


def resolve_regions(panel: RegionPanel, treated: str | Iterable[str]) -> list[str]:
    """Region names from a list or a named group (``"serpin_receiving"``, ``"serpin_sending"``)."""
    from ..datasets import NAMED_GROUPS, named_group

    check_panel(panel)
    if isinstance(treated, (str, bytes)) and not isinstance(treated, str):
        raise SpecificationError(f"treated={treated!r}; give a list of region names (text).")
    if isinstance(treated, str):
        names = named_group(treated)
        if names is None:
            hint = (f" To treat the one region {treated!r}, pass treated=[{treated!r}]."
                    if treated in panel.regions else "")
            raise SpecificationError(f"treated={treated!r} is neither a list of regions nor a named group. Fix: pass "
                                     f"a list of regions or one of {list(NAMED_GROUPS)}." + hint)
    else:
        names = check_names(treated, "treated")
        if panel.regions_scheme == "kazakhstan":
            names = [canonical_region(n) or n for n in names]
    absent = [n for n in names if n not in panel.regions]
    if absent and isinstance(treated, str):
        raise SpecificationError(f"treated={treated!r} is a group of Kazakhstan's regions {names}, but this panel's "
                                 f"regions are {panel.regions[:6]}{' ...' if len(panel.regions) > 6 else ''}. Fix: "
                                 "pass the treated regions as a list of this panel's names.")
    if absent:
        raise SpecificationError(f"treated regions {absent} are not in the panel; its regions: {panel.regions}. "
                                 "Fix: use names from that list.")
    return names


def resolve_assignment(panel: RegionPanel, *, first_treated=None, treated=None, post_from=None, treatment=None,
                       estimator: str, accepts: Iterable[str] = SPELLINGS, single_cohort: bool = False,
                       warn: bool = True) -> Assignment:
    """The one place an assignment is read: exactly one spelling, checked, resolved to cohorts.

    ``accepts`` lists the spellings the estimator takes; ``single_cohort`` refuses assignments
    with more than one adoption year (the 2x2, synthetic DID and synthetic control compare one).
    Notes (regions excluded or recoded) are warned once (``warn``) and kept in ``notes``.
    """
    check_panel(panel)
    accepts = tuple(accepts)
    given = [name for name, value in (("first_treated", first_treated), ("treated", treated),
                                      ("treatment", treatment)) if value is not None]
    if post_from is not None and "treated" not in given:
        given.append("treated")
    if len(given) != 1:
        shown = ["post_from" if g == "treated" and treated is None else g for g in given]
        which = "none" if not given else " and ".join(f"{g}=" for g in shown)
        raise SpecificationError(f"{estimator}: give exactly one assignment; got {which}. Fix: pass one of "
                                 + "; ".join(_HOW[s] for s in accepts) + ".")
    spelling = given[0]
    if spelling not in accepts:
        raise SpecificationError(f"{estimator} does not take {spelling}=. Fix: pass "
                                 + " or ".join(_HOW[s] for s in accepts) + ".")
    years = panel.years
    notes: list[str] = []
    excluded: list[str] = []
    group = source = None
    if spelling == "treated":
        if treated is None or post_from is None:
            raise SpecificationError(f"{estimator}: treated= goes with post_from= (the first treated year); "
                                     f"got only {'post_from' if treated is None else 'treated'}=. Fix: pass both.")
        post = _one_year(post_from, "post_from")
        if not years[0] < post <= years[-1]:
            why = ("the treated regions would have no untreated year" if post <= years[0] else
                   "no year would be treated")
            raise SpecificationError(f"{estimator}: post_from={post} but the panel covers {years[0]}-{years[-1]}, so "
                                     f"{why}. Fix: pass a post_from from {years[0] + 1} to {years[-1]}.")
        regions = resolve_regions(panel, treated)
        group = treated if isinstance(treated, str) else None
        cohorts = pd.Series(np.where(pd.Index(panel.regions).isin(regions), post, np.inf), index=panel.regions,
                            name="cohort")
    elif spelling == "treatment":
        source = _column_name(treatment, "treatment")
        panel.require(source, role="treatment column")
        frame = panel.select(source)
        check_absorbing(frame, source)
        on = frame["year"].where(frame[source] == 1)
        cohorts = on.groupby(frame["region"], sort=False).min().reindex(panel.regions).fillna(np.inf)
        cohorts, excluded, notes = r_did_conventions(cohorts.astype(float), years, f"treatment {source!r}")
    else:
        if isinstance(first_treated, str):
            source = first_treated
        per_region = _first_treated_by_region(panel, first_treated)
        cohorts, excluded, notes = r_did_conventions(per_region, years, "first_treated")
    if excluded and len(cohorts) == 0:
        raise SpecificationError(f"{estimator}: every region is treated in or before the first observed year "
                                 f"{years[0]} ({spelling}=), so no region has an untreated period. Fix: check the "
                                 "assignment (a column of 1s is not a treatment that starts inside the data).")
    if single_cohort:
        adoption = np.unique(cohorts.to_numpy(float)[np.isfinite(cohorts.to_numpy(float))])
        if len(adoption) > 1:
            raise SpecificationError(f"{estimator} compares treated regions that all adopt in one year; {spelling}= "
                                     f"gives {len(adoption)} adoption years {[int(g) for g in adoption]}. Fix: use "
                                     "kz.staggered_did, kz.imputation_did or kz.event_study for staggered adoption, "
                                     "or keep one cohort.")
    if warn:
        for note in notes:
            warnings.warn(note, KzCausalWarning, stacklevel=4)
    from ..datasets import NAMED_GROUPS

    return Assignment(cohorts=cohorts, spelling=spelling, source=source, group=group, excluded=tuple(excluded),
                      notes=tuple(notes), term=NAMED_GROUPS[group][1] if group else "Program")


def _column_name(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SpecificationError(f"{name}={value!r}; give the name of a panel column (text).")
    return value


def _one_year(value: object, name: str) -> int:
    """A year as a whole number: 2014 or 2014.0, never 2014.5, True or '2014'."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or float(value) != round(float(value)):
        raise SpecificationError(f"{name}={value!r} is not a year. Fix: give a year as a whole number, e.g. "
                                 f"{name}=2014.")
    return int(value)


def _first_treated_by_region(panel: RegionPanel, first_treated: str | Mapping[str, float]) -> pd.Series:
    """Region -> first treated year (NaN: never; 0 is never, as in R did), checking it is constant within regions."""
    codes, regions = panel.region_codes
    if isinstance(first_treated, str):
        panel.require(first_treated, role="first_treated column")
        frame = panel.select(first_treated)
        values = frame[first_treated].to_numpy(float).copy()
        values[values == 0] = np.nan
        first_rows = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])  # codes are sorted: one run per region
        per_region = values[first_rows]
        expected = per_region[codes]
        varying = ~((values == expected) | (np.isnan(values) & np.isnan(expected)))
        if varying.any():
            bad = list(pd.unique(frame["region"].to_numpy()[varying]))
            rows = frame.loc[frame["region"].isin(bad), ["region", "year", first_treated]]
            indicator = np.isin(values[np.isfinite(values)], (0.0, 1.0)).all()
            raise PanelError(f"column {first_treated!r} changes within region(s) {bad[:5]}; it must be one "
                             f"first treated year per region:\n{show_rows(rows)}\n"
                             + ("It holds 0/1: a treatment indicator, not first treated years. Fix: pass it as "
                                f"treatment={first_treated!r} (every estimator takes it, e.g. kz.twfe(panel, outcome, "
                                f"treatment={first_treated!r})), or the column of first treated years as first_treated."
                                if indicator else
                                "Fix: give each region a single first treated year (NaN or 0 if never treated)."))
        per_region = pd.Series(per_region, index=regions, name="first_treated")
        finite = per_region.dropna()
        if len(finite) and set(finite.unique()) == {1.0} and panel.years[0] > 1:
            raise SpecificationError(f"first_treated={first_treated!r} holds only 0/1: a treatment indicator, not "
                                     f"first treated years. Fix: pass treatment={first_treated!r}, or a column of "
                                     "first treated years.")
        return whole_years(per_region, first_treated)
    if isinstance(first_treated, pd.Series):
        if first_treated.index.has_duplicates:
            raise SpecificationError(f"first_treated: the Series names region(s) "
                                     f"{first_treated.index[first_treated.index.duplicated()].tolist()[:5]} twice. "
                                     "Fix: map each region once.")
        first_treated = first_treated.to_dict()
    if not isinstance(first_treated, Mapping):
        raise SpecificationError(f"first_treated is a {type(first_treated).__name__}. Fix: give the name of a panel "
                                 "column holding each region's first treated year, or a mapping region -> year, e.g. "
                                 "first_treated={'Region A': 2014}.")
    names = keyed_by_region(first_treated.items(), regions, "first_treated")
    wrong = {k: v for k, v in names.items() if v is not None and (
        isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)))}
    if wrong:
        raise SpecificationError(f"first_treated: these years are not numbers:\n"
                                 f"{show_rows(f'{k}: {v!r}' for k, v in wrong.items())}\n"
                                 " Fix: give each region a year as a number (NaN, None or 0: never "
                                 "treated).")
    values = [float(names[r]) if r in names and names[r] is not None and not np.isposinf(names[r]) and names[r] != 0
              else np.nan for r in regions]  # 0, None, NaN, inf: never treated; -inf is refused by the conventions
    return whole_years(pd.Series(values, index=regions, name="first_treated"), "first_treated")


def r_did_conventions(per_region: pd.Series, years, source: str) -> tuple[pd.Series, list[str], list[str]]:
    """R ``did``'s reading of first treated years, the one rule for the panel and for re-fits.

    ``per_region`` holds whole years (0, NaN or inf: never treated); ``years`` the observed years.
    Returns the cohorts (``inf``: never; regions without an untreated year removed), the removed
    regions and the notes: adopters in or before the first observed year have no untreated period
    and are excluded; a year after the last is never treated in these years; a year between two
    observed years (a gap) is kept, with a note that its first treated year is not observed.
    """
    years = np.asarray(sorted({int(y) for y in years}))
    first_year, last_year = int(years[0]), int(years[-1])
    values = per_region.to_numpy(float)
    if np.isneginf(values).any():
        raise SpecificationError(f"{source}: -inf is not a first treated year (regions "
                                 f"{per_region.index[np.isneginf(values)].tolist()[:5]}). Fix: give the year, or "
                                 "0, NaN or inf for never treated.")
    values = np.where(values == 0, np.nan, values)
    notes: list[str] = []
    early = np.isfinite(values) & (values <= first_year)
    excluded = per_region.index[early].tolist()
    if early.any():
        shown = [f"{r}: {g:g}" for r, g in per_region[early].head(10).items()]
        notes.append(f"{source}: excluded {len(excluded)} region(s) treated in or before the first observed year "
                     f"{first_year}, which have no untreated period (R did's convention): {shown}")
    late = np.isfinite(values) & (values > last_year)
    if late.any():
        shown = [f"{r}: {g:g}" for r, g in per_region[late].head(10).items()]
        notes.append(f"{source}: {int(late.sum())} region(s) first treated after the last observed year "
                     f"{last_year} are never treated here (R did's convention): {shown}")
    inside = np.isfinite(values) & ~early & ~late
    unobserved = inside & ~np.isin(values, years)
    if unobserved.any():
        gap_years = sorted({int(g) for g in values[unobserved]})
        notes.append(f"{source}: first treated year(s) {gap_years} fall in a gap between observed years "
                     f"({int(unobserved.sum())} region(s)); their first treated year itself is not observed, so "
                     "their earliest treated rows are later years")
    values = np.where(late | np.isnan(values), np.inf, values)
    cohorts = pd.Series(values, index=per_region.index, name="cohort")
    return cohorts[~early], excluded, notes

def keyed_by_region(items, regions, argument: str) -> dict:
    """``(key, value)`` pairs keyed by the region names in ``regions``: a key that is not one of them but
    an alias of one (Kazakh or Russian spellings of Kazakhstan's regions) is read as that region. Keys
    naming no region, and two keys naming one region (the last would silently win), are refused."""
    known = set(regions)
    out: dict = {}
    spelled: dict = {}
    unknown = []
    for key, value in items:
        name = key
        if key not in known and isinstance(key, str):
            alias = canonical_region(key)
            name = alias if alias in known else key
        if name not in known:
            unknown.append(key)
            continue
        if name in out:
            raise SpecificationError(f"{argument}: {spelled[name]!r} and {key!r} both name region {name!r} (with "
                                     f"{out[name]!r} and {value!r}). Fix: map each region once.")
        out[name], spelled[name] = value, key
    if unknown:
        raise SpecificationError(f"{argument} names regions that are not in the data: {unknown[:10]}. Fix: use "
                                 f"names from its regions: {list(regions)[:20]}{' ...' if len(regions) > 20 else ''}.")
    return out

def whole_years(per_region: pd.Series, source: str) -> pd.Series:
    """Refuse fractional first treated years (2014.5 would be read as 2014 by one rule and 2015 by another)."""
    values = per_region.to_numpy(float)
    fractional = np.isfinite(values) & (values != np.round(values))
    if fractional.any():
        raise SpecificationError(f"{source}: first treated years must be whole years; these are not: "
                                 f"{show_rows(f'{r}: {g}' for r, g in per_region[fractional].items())}\n"
                                 "Fix: round them to the first year of treatment.")
    return per_region


def check_absorbing(frame: pd.DataFrame, treatment: str) -> None:
    """Raise if a 0/1 treatment is missing, not 0/1, or switches off after switching on (absorbing adoption)."""
    values = frame[treatment]
    missing = values.isna()
    if missing.any():
        raise PanelError(f"treatment column {treatment!r} is missing in {int(missing.sum())} row(s):\n"
                         f"{show_rows(frame.loc[missing, ['region', 'year', treatment]])}\n"
                         "Fix: give every region-year 0 or 1 (or pass first_treated= with each region's first "
                         "treated year).")
    bad_values = frame.loc[~values.isin([0, 1]), ["region", "year", treatment]]
    if len(bad_values):
        raise PanelError(f"treatment column {treatment!r} must be 0/1:\n{show_rows(bad_values)}\n"
                         "Fix: code it 0 (untreated) / 1 (treated), or pass a column of first treated years as "
                         "first_treated=.")
    ordered = frame.sort_values(["region", "year"])
    switched_off = ordered.groupby("region", sort=False)[treatment].diff() < 0
    regions = ordered.loc[switched_off, "region"].unique().tolist()
    if regions:
        rows = ordered.loc[ordered["region"].isin(regions), ["region", "year", treatment]]
        raise PanelError(f"treatment {treatment!r} switches off (1 then 0) in region(s) {regions}: adoption must be "
                         f"absorbing:\n{show_rows(rows[rows[treatment] == 0])}\n"
                         "Fix: correct the treatment coding, or study the switching design separately.")


def positional_deprecated(*names: str):
    """Let ``f(panel, outcome, a, b)`` keep working for one release as ``f(panel, outcome, names[0]=a, ...)``.

    The assignment is keyword-only now; positional values after ``panel, outcome`` are mapped to
    ``names`` with a :class:`DeprecationWarning` that shows the keyword spelling.
    """
    def decorate(function):
        @functools.wraps(function)
        def wrapper(panel=None, outcome=None, *args, **kwargs):
            if args:
                if len(args) > len(names):
                    raise SpecificationError(f"{function.__name__} takes at most {2 + len(names)} positional "
                                             f"arguments (panel, outcome, {', '.join(names)}); got {2 + len(args)}. "
                                             "Fix: pass the options by keyword.")
                twice = [n for n in names[:len(args)] if n in kwargs]
                if twice:
                    raise SpecificationError(f"{function.__name__}: {twice} given both by position and by keyword. "
                                             f"Fix: pass {twice[0]}= by keyword only.")
                spelled = ", ".join(f"{n}={a!r}" for n, a in zip(names, args))
                warnings.warn(f"{function.__name__}(panel, outcome, <{', '.join(names[:len(args)])}>) by position is "
                              f"deprecated and will be removed in the next release; pass them by keyword: "
                              f"{function.__name__}(panel, outcome, {spelled}).", DeprecationWarning, stacklevel=2)
                kwargs.update(zip(names, args))
            return function(panel, outcome, **kwargs)
        wrapper.__signature__ = inspect.signature(function)
        return wrapper
    return decorate
