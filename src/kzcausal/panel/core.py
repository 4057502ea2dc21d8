"""``RegionPanel``: one validated region x year panel, and ``read_panel`` that builds it."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import (
    DroppedRowsWarning,
    HarmonizationError,
    HarmonizationWarning,
    KzCausalWarning,
    PanelError,
    RegionNameError,
    SpecificationError,
    show_rows,
)
from ..text import clean, has_lone_surrogate, normal_name
from .io import (MISSING_TOKENS, READ_MEMORY_FACTOR, check_fits_in_memory, check_read_options, is_year_label,
                 load_table, parse_numbers, percent_cells)
from .regions import BOUNDARY_CHANGES, canonical_region, check_boundaries, closest_regions

__all__ = ["RegionPanel", "read_panel", "COUNT_VARIABLES", "DERIVED_INDICATORS"]

#: Additive variables: they sum over merged regions and must be finite and >= 0.
COUNT_VARIABLES: tuple[str, ...] = ("arrivals", "departures", "population", "grp")

#: Indicators derived from counts: name -> (inputs, description).
DERIVED_INDICATORS: dict[str, tuple[tuple[str, ...], str]] = {
    "attractiveness_index": (("arrivals", "departures"),
                             "interregional arrivals / departures (paper 000's IMP)"),
    "net_migration": (("arrivals", "departures"), "arrivals - departures (persons)"),
    "in_migration_rate": (("arrivals", "population"), "arrivals per 1,000 population"),
    "out_migration_rate": (("departures", "population"), "departures per 1,000 population"),
    "grp_per_capita": (("grp", "population"), "GRP / population (GRP units per person)"),
}

Missing = Literal["raise", "drop"]


@dataclass(frozen=True, eq=False)
class RegionPanel:
    """A validated region x year panel with counts and the indicators derived from them.

    Build it with :func:`read_panel` (or :meth:`from_xarray`); it is immutable:
    every transformation returns a new panel. Rows are sorted by region, then year,
    with no duplicate region-years and, unless allowed, no gaps inside a region's span.

    Attributes
    ----------
    regions_scheme
        ``"kazakhstan"`` when region names were matched to Kazakhstan's regions,
        ``None`` for arbitrary unit names.
    boundaries
        The year whose region boundaries the panel follows, when known
        (after :meth:`harmonize`), else ``None`` (as published).
    sources
        Where the data come from; simulated panels say so here.
    units
        Units of measurement by variable, where known.
    dropped
        Rows removed on purpose while reading, with the reason for each.
    notes
        What the reader did to the table besides parsing (headers removed, ...).
    simulated
        ``True`` for panels made by :func:`kzcausal.simulate_panel`.
    """

    _data: pd.DataFrame = field(repr=False)
    regions_scheme: str | None = "kazakhstan"
    boundaries: int | None = None
    sources: tuple[str, ...] = ()
    units: Mapping[str, str] = field(default_factory=dict)
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    notes: tuple[str, ...] = ()
    simulated: bool = False

    def __post_init__(self) -> None:
        """Refuse rows that :func:`read_panel` would not have produced (``RegionPanel(frame)`` built by hand):
        every row names its region and a whole year, each region's rows are together with years rising,
        variables are finite numbers or missing. O(rows); the region codes it computes are kept."""
        frame = self._data
        fix = ("Fix: build the panel with kz.read_panel(frame, regions=None) (any unit names) or "
               "kz.read_panel(frame) (Kazakhstan's regions), which checks, parses and sorts the rows.")
        if not isinstance(frame, pd.DataFrame) or not {"region", "year"} <= set(frame.columns):
            raise PanelError("RegionPanel needs a table with columns 'region' and 'year'. " + fix)
        region = frame["region"]
        blank = region.isna().to_numpy() | (region.astype(str).str.strip() == "").to_numpy()
        if blank.any():
            raise PanelError(f"RegionPanel: {int(blank.sum())} row(s) have no region:\n"
                             f"{show_rows(frame.loc[blank, ['region', 'year']])}\n" + fix)
        if not pd.api.types.is_integer_dtype(frame["year"]):
            raise PanelError(f"RegionPanel: column 'year' is {frame['year'].dtype}, not whole years. " + fix)
        codes, regions = pd.factorize(region)
        years = frame["year"].to_numpy()
        same = codes[1:] == codes[:-1]
        if (codes[1:] < codes[:-1]).any() or (same & (years[1:] <= years[:-1])).any():
            twice = frame.duplicated(["region", "year"], keep=False).to_numpy()
            what = (f"{int(twice.sum())} row(s) repeat a region-year:\n{show_rows(frame.loc[twice, ['region', 'year']])}"
                    if twice.any() else "the rows are not sorted by region, then year")
            raise PanelError(f"RegionPanel: {what}\n" + fix)
        for column in frame.columns.drop(["region", "year"]):
            values = frame[column]
            if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
                raise PanelError(f"RegionPanel: variable {column!r} is {values.dtype}, not numbers. " + fix)
            infinite = np.isinf(values.to_numpy(float)) if column not in DERIVED_INDICATORS else np.zeros(1, bool)
            if infinite.any():  # derived ratios are infinite where a denominator is 0: estimation refuses them
                raise PanelError(f"RegionPanel: variable {column!r} is infinite in {int(infinite.sum())} row(s):\n"
                                 f"{show_rows(frame.loc[infinite, ['region', 'year', column]])}\n"
                                 "Fix: correct them or set them to NaN (missing).")
        # a snapshot, not a copy of the data: with pandas' copy-on-write (pandas >= 3) the caller's later edits
        # of their frame do not reach the panel, and nothing is copied until someone writes
        object.__setattr__(self, "_data", frame.copy(deep=False))
        self.__dict__["region_codes"] = (codes, pd.Index(regions, name="region"))

    # ----------------------------------------------------------------- views
    @property
    def regions(self) -> list[str]:
        """Region names in panel order."""
        return self.region_codes[1].tolist()

    @cached_property
    def region_codes(self) -> tuple[np.ndarray, pd.Index]:
        """Each row's region as an integer code (0, 1, ... in panel order, non-decreasing: the rows are
        sorted by region and year) and the regions they index; computed once per panel, so estimators
        never hash the region names again."""
        codes, regions = pd.factorize(self._data["region"])
        return codes, pd.Index(regions, name="region")

    def codes_of(self, index: pd.Index) -> np.ndarray:
        """The region codes (:attr:`region_codes`) of the rows labelled ``index`` (as :meth:`select` labels them)."""
        return self.region_codes[0][self._data.index.get_indexer(index)]

    @property
    def years(self) -> list[int]:
        """Sorted distinct years."""
        return sorted(int(y) for y in pd.unique(self._data["year"]))

    @property
    def variables(self) -> list[str]:
        """Every variable (column besides region and year)."""
        return [c for c in self._data.columns if c not in ("region", "year")]

    @property
    def count_variables(self) -> list[str]:
        """Additive count variables present (arrivals, departures, population, grp)."""
        return [v for v in self.variables if v in COUNT_VARIABLES]

    @property
    def derived_variables(self) -> list[str]:
        """Indicators computed from counts by the panel itself."""
        return [v for v in self.variables
                if v in DERIVED_INDICATORS and set(DERIVED_INDICATORS[v][0]) <= set(self.variables)]

    def __len__(self) -> int:
        return len(self._data)

    def require(self, *variables: str, role: str = "variable") -> None:
        """Raise :class:`SpecificationError` naming any of ``variables`` the panel lacks."""
        absent = [v for v in variables if v not in self.variables]
        if absent:
            raise SpecificationError(f"{role}(s) {absent} not in the panel; its variables: {self.variables}. "
                                     "Fix: use one of these names (case-sensitive).")

    def __getitem__(self, variable: str) -> pd.Series:
        """One variable as a Series indexed by (region, year)."""
        if variable not in self.variables:
            raise PanelError(f"{variable!r} is not in the panel; variables: {self.variables}. Fix: use one of them.")
        return self._data.set_index(["region", "year"])[variable].copy()

    def select(self, *variables: str) -> pd.DataFrame:
        """``region``, ``year`` and ``variables`` as a DataFrame in panel order (sorted by region and year).

        The view estimators build their rows from: no copy of the other columns is made, and
        (pandas copy-on-write) writing to it never reaches the panel. Raises naming any variable
        the panel lacks.
        """
        self.require(*variables)
        return self._data[["region", "year", *dict.fromkeys(variables)]]

    def to_frame(self) -> pd.DataFrame:
        """Tidy copy: one row per region-year, columns ``region``, ``year`` and the variables."""
        return self._data.copy()

    def to_xarray(self) -> xr.Dataset:
        """``xarray.Dataset`` with dims ``region`` and ``year``.

        Region-years absent from the panel are NaN; the boolean variable ``in_panel``
        marks the observed cells so that :meth:`from_xarray` restores the panel exactly.
        """
        indexed = self._data.set_index(["region", "year"])
        indexed["in_panel"] = True
        ds = indexed.to_xarray()
        ds["in_panel"] = ds["in_panel"].fillna(False).astype(bool)
        ds = ds.reindex(region=self.regions)
        for name, unit in self.units.items():
            if name in ds:
                ds[name].attrs["units"] = unit
        ds.attrs.update(
            regions_scheme=self.regions_scheme or "none",
            boundaries=self.boundaries if self.boundaries is not None else "as published",
            sources="\n".join(self.sources),
            simulated=int(self.simulated),
        )
        return ds

    @classmethod
    def from_xarray(cls, dataset: xr.Dataset, *, regions: str | None = "kazakhstan") -> RegionPanel:
        """Build a panel from a Dataset with dims ``region`` and ``year`` (inverse of :meth:`to_xarray`)."""
        missing_dims = {"region", "year"} - set(dataset.dims)
        if missing_dims:
            raise PanelError(f"dataset lacks dims {sorted(missing_dims)}; it has {list(dataset.dims)}. "
                             "Rename its dimensions to 'region' and 'year'.")
        frame = dataset.to_dataframe().reset_index()
        if "in_panel" in frame:
            frame = frame[frame.pop("in_panel").astype(bool)]
        else:
            # Dense arrays hold every region x year cell; cells with no value at all
            # are not observations.
            frame = frame.dropna(how="all", subset=[c for c in frame if c not in ("region", "year")])
        units = {name: da.attrs["units"] for name, da in dataset.data_vars.items() if "units" in da.attrs}
        sources = tuple(s for s in str(dataset.attrs.get("sources", "")).split("\n") if s)
        boundaries = dataset.attrs.get("boundaries")
        panel = read_panel(frame, regions=regions, sources=sources, units=units)
        return replace(panel, boundaries=boundaries if isinstance(boundaries, (int, np.integer)) else None,
                       simulated=bool(dataset.attrs.get("simulated", False)))

    # ------------------------------------------------------- transformations
    def with_logs(self, *variables: str) -> RegionPanel:
        """New panel with ``log_<variable>`` columns (natural log); values must be > 0."""
        data = self._data.copy()
        self.require(*variables)
        for variable in variables:
            values = data[variable]
            bad = data.loc[values.notna() & (values <= 0), ["region", "year", variable]]
            if len(bad):
                raise SpecificationError(
                    f"cannot log {variable!r}: {len(bad)} value(s) are <= 0:\n{show_rows(bad)}\n"
                    "Fix: log only strictly positive variables, or transform them first."
                )
            data[f"log_{variable}"] = np.log(values)
        return replace(self, _data=data)

    def harmonize(self, boundaries: int) -> RegionPanel:
        """Aggregate to the region boundaries of year ``boundaries``.

        Count variables are summed over the regions that later split
        (South Kazakhstan -> Turkestan + Shymkent city in 2018; East Kazakhstan +
        Abay, Almaty region + Zhetysu, Karaganda + Ulytau in 2022) and every derived
        indicator is recomputed from the summed counts; ratios are never averaged.
        Variables that are neither counts nor derived (an index typed in from a paper)
        cannot be aggregated and become missing for merged regions, with a warning.

        A region that appears in a year without the parts split from it is read as the
        pre-split territory (this is how BNS publishes back years). Splitting such a
        territory to later boundaries is impossible and raises :class:`HarmonizationError`.

        Moves between two regions that are merged become internal to the merged region,
        but only totals are known: the merged arrivals and departures still include
        them, so merged migration rates are overstated and the attractiveness index is
        pulled toward 1. A :class:`HarmonizationWarning` says so whenever it happens.
        """
        if self.regions_scheme != "kazakhstan":
            raise SpecificationError(
                "harmonize() knows Kazakhstan's boundary changes only; this panel was read with "
                "regions=None. Read it with regions='kazakhstan' (the default) to harmonize.")
        boundaries = check_boundaries(boundaries)
        data = self._data
        target = data["region"].to_numpy(dtype=object).copy()
        years = data["year"].to_numpy()
        merged: dict[str, list[int]] = {}
        for change in BOUNDARY_CHANGES:
            for year in np.unique(years):
                in_year = years == year
                present = set(target[in_year]) & {change.parent, *change.parts}
                if not present:
                    continue
                label = f"{change.parent} = {' + '.join(change.parts)}"
                # A parent seen without its split-off parts still covers their territory.
                parent_is_old = change.parent in present and not present & set(change.new_units)
                if boundaries < change.year:
                    if parent_is_old:
                        continue
                    if present != set(change.parts):
                        raise HarmonizationError(
                            f"{year}: {sorted(present)} present but not all of {list(change.parts)}; "
                            f"cannot rebuild {change.parent} ({label}). Fix: supply every part for {year}, "
                            f"or harmonize to boundaries={change.year} or later.")
                    rows = in_year & np.isin(target, change.parts)
                    target[rows] = change.parent
                    merged.setdefault(label, []).append(int(year))
                elif parent_is_old:
                    raise HarmonizationError(
                        f"{change.parent} in {year} covers the territory later split into "
                        f"{' + '.join(change.parts)} (the new parts are absent that year), and kzcausal "
                        f"does not split regions. Fix: harmonize to boundaries={change.year - 1} or earlier, "
                        f"or supply {', '.join(change.new_units)} for {year}.")
        if not merged:
            return replace(self, boundaries=boundaries)
        return self._aggregate(target, merged, boundaries)

    def _aggregate(self, target: np.ndarray, merged: dict[str, list[int]], boundaries: int) -> RegionPanel:
        data = self._data.assign(region=target)
        counts = self.count_variables
        derived = self.derived_variables
        others = [v for v in self.variables if v not in counts and v not in derived]
        grouped = data.groupby(["region", "year"], sort=False)
        size = grouped.size()  # a Series, not a column: a variable may be called anything
        out = grouped[counts].sum(min_count=1) if counts else size.to_frame()[[]]
        if others:
            out = out.join(grouped[others].first())
            out.loc[(size > 1).reindex(out.index).to_numpy(), others] = np.nan
        out = out.reset_index()
        out = _derive_indicators(out, derived)
        out = out[["region", "year", *self.variables]].sort_values(["region", "year"], kind="stable")
        spans = "; ".join(f"{label} ({min(ys)}-{max(ys)})" for label, ys in merged.items())
        if {"arrivals", "departures"} & set(counts):
            warnings.warn(
                f"harmonize({boundaries}) summed arrivals/departures over merged regions [{spans}]: "
                "moves between the merged regions are internal to the merged region but are still counted, "
                "so its migration rates are overstated and its attractiveness index is pulled toward 1 "
                "(an exact correction needs origin-destination flows).", HarmonizationWarning, stacklevel=3)
        if others:
            warnings.warn(
                f"harmonize({boundaries}): {others} are neither counts nor derivable from counts, so they "
                f"cannot be aggregated; they are missing for merged regions [{spans}].",
                HarmonizationWarning, stacklevel=3)
        note = f"harmonized to {boundaries} boundaries: {spans}"
        return replace(self, _data=out.reset_index(drop=True), boundaries=boundaries,
                       notes=(*self.notes, note))

    # --------------------------------------------------------------- display
    def summary(self) -> str:
        """Plain-text description: regions, years, variables with coverage, sources."""
        years = self.years
        scheme = {"kazakhstan": "Kazakhstan regions"}.get(self.regions_scheme or "", "units")
        bounds = (f"on {self.boundaries} boundaries" if self.boundaries is not None
                  else "boundaries as published")
        lines = [
            ("SIMULATED DATA - not real observations\n" if self.simulated else "")
            + f"RegionPanel: {len(self.regions)} {scheme} x {years[0]}-{years[-1]} "
            f"({len(self)} region-years), {bounds}",
            "",
            f"{'variable':<24}{'kind':<10}{'non-missing':>12}  units / meaning",
        ]
        for variable in self.variables:
            kind = ("count" if variable in COUNT_VARIABLES
                    else "derived" if variable in self.derived_variables else "observed")
            meaning = self.units.get(variable) or DERIVED_INDICATORS.get(variable, ((), ""))[1]
            observed = int(self._data[variable].notna().sum())
            lines.append(f"{variable:<24}{kind:<10}{observed:>7}/{len(self):<5}  {meaning}")
        lines += ["", "Regions: " + ", ".join(self.regions)]
        if self.sources:
            lines += ["", "Sources:"] + [f"  - {s}" for s in self.sources]
        if len(self.dropped):
            reasons = self.dropped["reason"].value_counts()
            lines += ["", f"Dropped rows: {len(self.dropped)} (see .dropped)"] + [
                f"  - {n} x {reason}" for reason, n in reasons.items()]
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        years = self.years
        flag = ", SIMULATED" if self.simulated else ""
        return (f"<RegionPanel {len(self.regions)} regions x {years[0]}-{years[-1]}, "
                f"{len(self)} rows, variables={self.variables}{flag}>")


# ===================================================================== reader
def read_panel(
    source: pd.DataFrame | str | Path,
    region: str = "region",
    year: str = "year",
    *,
    value: str | None = None,
    regions: str | None = "kazakhstan",
    derive: Iterable[str] | None = None,
    missing: Missing = "raise",
    allow_gaps: bool = False,
    sheet: int | str = 0,
    header_row: int = 0,
    decimal: str | None = None,
    sources: Sequence[str] = (),
    units: Mapping[str, str] | None = None,
    **columns: str,
) -> RegionPanel:
    """Read a table into a validated :class:`RegionPanel`.

    Parameters
    ----------
    source
        A DataFrame (pandas, or Dask: its rows are brought into memory after checking that
        they fit), or the path of a CSV/TSV/TXT or XLSX file (one that would not fit in memory
        is refused before it is read). Long form (one row per
        region-year, a ``year`` column) or wide form (one row per region, one column per
        year, as BNS and the papers print them). Decimal commas (``11,85``), thousands
        separated by spaces, apostrophes, points or commas (``1 234,5``, ``1'234.5``,
        ``1.234.567``), percent signs (``12%`` is 12) and ``-``, ``..``, ``x`` or ``None``
        for missing cells are understood (see :func:`kzcausal.panel.io.parse_numbers`).
    region, year
        Names of the region and year columns in ``source``.
    value
        For a wide table: the name of the variable its cells hold (``"grp"``).
    regions
        ``"kazakhstan"`` matches names to Kazakhstan's regions through their aliases
        (English, Russian, Kazakh, the papers' spellings) and rejects unknown names;
        ``None`` accepts any unit names (other countries, simulated units).
    derive
        Indicators to compute (see :data:`DERIVED_INDICATORS`); by default every one
        whose inputs are present.
    missing
        What to do with rows whose count variables are missing: ``"raise"`` (default)
        or ``"drop"`` (dropped rows are listed in ``panel.dropped`` and a warning is issued).
    allow_gaps
        Accept regions with missing years inside their span (never filled in).
    sheet, header_row
        Spreadsheet sheet (name or 0-based position) and 0-based row of the header (files
        only). A header further down (title or blank lines above it) or spread over two rows
        (cells merged across columns) is an error that names the ``header_row`` to pass.
    decimal
        The decimal mark, ``"."`` or ``","``, when the table's numbers are ambiguous: with
        ``decimal="."`` the cell ``1,234`` is 1234, by default it is 1.234 (a single comma is
        read as a decimal comma). ``None`` (default) reads each cell by its shape.
    sources, units
        Provenance and units, carried by the panel.
    **columns
        Panel variable name -> source column, e.g. ``arrivals="Прибывшие"``. The count
        variables are ``arrivals``, ``departures`` (interregional), ``population`` and
        ``grp``; any other name is kept as an observed variable. Without any, every
        column besides region and year is taken under its own name (a column of free text,
        such as comments, is then an error: name the columns to read, or drop it first).

    Returns
    -------
    RegionPanel

    Raises
    ------
    DataFileError, PanelError, RegionNameError, SpecificationError
        For every kind of bad input, naming the column, up to five rows and the fix.

    Notes
    -----
    Every row of ``source`` is either in the panel or listed in ``panel.dropped`` with the
    reason (repeated header rows, blank rows, and with ``missing="drop"`` rows with missing
    counts). The caller's DataFrame is never modified.
    """
    if missing not in ("raise", "drop"):
        raise SpecificationError(f"missing={missing!r}. Fix: use missing='raise' or missing='drop'.")
    if regions not in ("kazakhstan", None):
        raise SpecificationError(f"regions={regions!r}; use 'kazakhstan' or None (any unit names).")
    check_read_options(sheet=sheet, header_row=header_row, decimal=decimal)
    if not isinstance(allow_gaps, (bool, np.bool_)):
        raise SpecificationError(f"allow_gaps={allow_gaps!r}. Fix: use allow_gaps=True or allow_gaps=False.")
    if isinstance(sources, str):  # one source, not one per letter
        sources = (sources,)
    if units is not None and not isinstance(units, Mapping):
        raise SpecificationError(f"units={units!r} is not a mapping. Fix: map variables to their units, e.g. "
                                 "units={'grp': 'million tenge'}.")
    if value is not None and not isinstance(value, str):
        raise SpecificationError(f"value={value!r}; pass the name of the wide table's variable as a string, "
                                 "e.g. value='grp'.")
    if region == year:
        raise SpecificationError(f"region and year both name the column {region!r}; pass the name of the year "
                                 "column as year='<column>' (or of the region column as region='<column>').")
    notes: list[str] = []
    dropped: list[pd.DataFrame] = []
    units = dict(units or {})
    if isinstance(source, pd.DataFrame):
        table, where = source, "the DataFrame"
    elif _is_dask_frame(source):
        table, where = _from_dask(source, notes), "the DataFrame"
    elif isinstance(source, (str, Path)):
        table, where = load_table(source, sheet=sheet, header_row=header_row, expect=[region]), str(source)
    else:
        raise SpecificationError(f"source is a {type(source).__name__}; pass a pandas (or Dask) DataFrame or the "
                                 "path of a CSV/XLSX file.")
    if table.columns.duplicated().any():
        _raise_duplicate_columns(table.columns, where)
    if region not in table.columns:
        header = " and header_row=<0-based row of the header>" if where != "the DataFrame" else ""
        raise PanelError(f"no region column {region!r}; columns are {list(table.columns)}. "
                         f"Fix: pass region='<name of the column holding region names>'{header}.")

    table, removed = _drop_repeated_headers_and_blank_rows(table, region)
    if len(removed):
        dropped.append(removed)
        notes.append(f"removed {len(removed)} repeated-header or blank row(s): "
                     f"{', '.join(map(str, removed.index[:5]))}")

    if year in table.columns:
        if value is not None:
            raise SpecificationError(
                f"value={value!r} names the variable of a wide table (one column per year), but this table is long "
                f"(it has a year column {year!r}). Fix: leave out value=, and name the variables to read as "
                f"keyword arguments, e.g. {value}='<column>'.")
        frame = _long_form(table, region, year, columns, notes)
    else:
        frame = _wide_form(table, region, year, value, columns, notes)

    frame = _match_regions(frame, regions)
    frame["year"] = _parse_years(frame.pop("year_raw"), year)
    variables = [c for c in frame.columns if c not in ("region", "year", "_raw_region")]
    for variable in variables:
        raw = frame[variable]
        frame[variable] = _parse_variable(raw, variable, decimal, table if year in table.columns and not columns
                                          else None, region, year)
        percent = percent_cells(raw)
        if percent:
            units.setdefault(variable, "percent")
            notes.append(f"column {variable!r}: {percent} cell(s) with a percent sign, read in percent (12% -> 12)")
        infinite = np.isinf(frame[variable].to_numpy(float))
        if infinite.any():
            shown = frame.loc[infinite, ["_raw_region", variable]].rename(columns={"_raw_region": "region"})
            raise PanelError(f"column {variable!r}: {int(infinite.sum())} infinite value(s):\n{show_rows(shown)}\n"
                             "Fix: correct them, or leave the cells empty (missing) if the value is unknown.")

    derived = _plan_derivations(variables, derive)
    frame, dropped_missing = _check_counts(frame, missing, derived)
    if dropped_missing is not None:
        dropped.append(dropped_missing)
    if frame.empty:
        raise PanelError("the table has no data rows" + (" left after dropping rows with missing counts"
                                                         if dropped_missing is not None else "")
                         + ". Fix: pass a table with at least one region-year.")
    _check_duplicates(frame, region)
    frame = frame.drop(columns="_raw_region").sort_values(["region", "year"], kind="stable")
    _check_gaps(frame, allow_gaps, notes)
    if regions == "kazakhstan":
        _check_overlapping_territory(frame)
    supplied = {name: frame.pop(name) for name in derived if name in frame.columns}
    variables = [v for v in variables if v not in supplied]
    frame = _derive_indicators(frame, derived)[["region", "year", *variables, *derived]]
    _check_supplied_indicators(frame, supplied, notes)
    dropped_table = (pd.concat(dropped) if dropped
                     else pd.DataFrame(columns=["region", "year", "reason"]))
    return RegionPanel(
        _data=frame.reset_index(drop=True),
        regions_scheme=regions,
        sources=tuple(sources),
        units=units,
        dropped=dropped_table,
        notes=tuple(notes),
    )


def _raise_duplicate_columns(labels: pd.Index, where: str) -> None:
    repeated = sorted({str(c) for c in labels[labels.duplicated()]})
    if repeated == [""]:
        raise PanelError(f"{where}: several columns have no name in the header. Fix: give every column a name "
                         "(or pass header_row=<0-based row> if the names are on another row).")
    kind = "year column(s)" if all(is_year_label(c) for c in repeated) else "column(s)"
    raise PanelError(f"{where}: repeated {kind} {repeated}. Each year (column) must appear once; "
                     "fix the header (a copy-paste often repeats a year) and read again.")


def _stripped_labels(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes and normalized unique labels (NaN has code -1; :func:`kzcausal.text.normal_name`: NFC, one kind
    of space, no zero-width characters), each label normalized once; labels that cannot be written as UTF-8
    are refused."""
    codes, uniques = pd.factorize(values)
    raw = [str(u) for u in np.asarray(uniques, dtype=object)]
    broken = [u for u in raw if has_lone_surrogate(u)]
    if broken:
        raise PanelError(f"{len(broken)} label(s) hold lone surrogates, which are not text (a file decoded with "
                         f"errors='surrogateescape'?): {[clean(u) for u in broken[:5]]}. Fix: re-read the file with "
                         "its real encoding, or correct those names.")
    if not raw:
        return codes, np.array([], dtype=object)
    normal = np.array([normal_name(u) for u in raw], dtype=object)
    unique, first, inverse = np.unique(normal, return_index=True, return_inverse=True)
    if len(unique) < len(normal):  # two spellings of one name (NFC/NFD, a no-break space): one label, said
        spellings = {n: [r for r, m in zip(raw, normal) if m == n] for n in unique}
        shown = [f"{clean(n)}: {[clean(r) for r in rs]}" for n, rs in spellings.items() if len(rs) > 1][:5]
        warnings.warn(f"labels that differ only in Unicode form or invisible characters are read as one: {shown}",
                      KzCausalWarning, stacklevel=4)
    order = np.argsort(first, kind="stable")  # labels in order of first appearance, as pd.factorize gives them
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = np.where(codes >= 0, rank[inverse.ravel()][np.maximum(codes, 0)], -1)
    labels = unique[order]
    return codes, labels


def _drop_repeated_headers_and_blank_rows(table: pd.DataFrame, region: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows that repeat the region header (tables split over pages) or hold nothing at all.

    Rows are selected by position, never by index label: a caller's index may repeat labels.
    """
    codes, labels = _stripped_labels(table[region])
    header_codes = np.flatnonzero(labels == str(region).strip())
    empty_codes = np.flatnonzero(labels == "")
    repeated = np.isin(codes, header_codes)
    candidates = repeated | (codes == -1) | np.isin(codes, empty_codes)
    if not candidates.any():
        return table, pd.DataFrame(columns=["region", "year", "reason"])
    rows = table.loc[candidates]
    rows_text = rows.astype(str).apply(lambda column: column.str.strip())
    blank = (rows.isna() | rows_text.isin(("", "nan", "None", "<NA>"))).all(axis=1).to_numpy()
    repeated = repeated[candidates]
    remove = np.flatnonzero(candidates)[repeated | blank]
    keep = np.ones(len(table), dtype=bool)
    keep[remove] = False
    removed = pd.DataFrame({"region": table[region].to_numpy(dtype=object)[remove], "year": np.nan,
                            "reason": np.where(repeated[repeated | blank], "repeated header row", "blank row")},
                           index=table.index[remove])
    return table.loc[keep], removed


# Names the panel uses itself: its region and year, the reader's raw columns, to_xarray's marker.
_RESERVED = ("region", "year", "_raw_region", "year_raw", "in_panel")


def _long_form(table: pd.DataFrame, region: str, year: str, columns: Mapping[str, str],
               notes: list[str]) -> pd.DataFrame:
    if columns:
        absent = {name: col for name, col in columns.items() if col not in table.columns}
        if absent:
            raise PanelError(f"column(s) {absent} not found; columns are {list(table.columns)}. "
                             "Fix: map each panel variable to an existing column, e.g. grp='GRP'.")
        mapping = dict(columns)
        ignored = [c for c in table.columns if c not in (region, year, *columns.values())]
        if ignored:
            notes.append(f"columns not used: {ignored}")
    else:
        mapping = {}
        for column in table.columns:
            if column in (region, year):
                continue
            name = str(column).strip()
            if name in mapping:
                raise PanelError(f"columns {mapping[name]!r} and {column!r} have the same name once spaces are "
                                 "removed, so one would replace the other. Fix: rename one of them, or map the "
                                 f"variables to columns, e.g. read_panel(..., {_identifier(name)}={column!r}).")
            mapping[name] = column
    reserved = sorted(set(mapping) & set(_RESERVED))
    if reserved:
        raise PanelError(f"column name(s) {reserved} are used by the panel itself (the region and year of each row, "
                         "in_panel in to_xarray()), "
                         f"so these variables would overwrite them. Fix: rename those columns, or map them to other "
                         f"names, e.g. read_panel(..., {reserved[0].strip('_')}_value={mapping[reserved[0]]!r}).")
    # Arrays, not Series: a caller's index may repeat labels, and nothing here may align on it.
    frame = pd.DataFrame({"_raw_region": table[region].array, "year_raw": table[year].array}, index=table.index)
    for name, col in mapping.items():
        frame[name] = table[col].array
    return frame


def _identifier(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in name).strip("_") or "variable"
    return cleaned if cleaned.isidentifier() else f"v_{cleaned}"


def _wide_form(table: pd.DataFrame, region: str, year: str, value: str | None,
               columns: Mapping[str, str], notes: list[str]) -> pd.DataFrame:
    year_columns = [c for c in table.columns if is_year_label(c) and c != region]
    if not year_columns:
        raise PanelError(
            f"no year column {year!r} and no columns named like years (2015, 2016, ...); columns are "
            f"{list(table.columns)}. Fix: pass year='<name of the year column>' for a long table.")
    if value is None:
        raise SpecificationError(
            f"wide table (years {year_columns[0]}..{year_columns[-1]} as columns): pass value='<variable>' "
            "to name what its cells hold, e.g. value='grp' or value='attractiveness_index'.")
    if not isinstance(value, str) or not value.strip():
        raise SpecificationError(f"value={value!r}: name the variable the wide table holds, e.g. value='grp'.")
    if value.strip() in _RESERVED:
        raise SpecificationError(f"value={value!r} is a name the panel uses for itself (its regions and years). "
                                 "Fix: name the variable, e.g. value='grp' or value='attractiveness_index'.")
    if columns:
        raise SpecificationError(f"a wide table holds one variable (value={value!r}); "
                                 f"column mappings {dict(columns)} apply to long tables only.")
    labels = pd.Series([int(str(c).strip()[:4]) for c in year_columns])  # 2015, '2015', 2015.0
    twice = labels[labels.duplicated(keep=False)]
    if len(twice):
        shown = [repr(c) for c, y in zip(year_columns, labels) if y in set(twice)]
        raise PanelError(f"repeated year column(s) {sorted(set(twice.astype(str)))}: columns {', '.join(shown)} "
                         "name the same year. Each year (column) must appear once; fix the header and read again.")
    ignored = [c for c in table.columns if c != region and c not in year_columns]
    if ignored:
        notes.append(f"wide table: columns not used: {ignored}")
    # One block of rows per year column; built from arrays so that no column name (the region
    # column's, or value's) can collide with the names used here, and no index label is aligned.
    frame = pd.DataFrame({"_raw_region": np.tile(table[region].to_numpy(dtype=object), len(year_columns)),
                          "year_raw": np.repeat(labels.astype(str).to_numpy(), len(table))},
                         index=np.tile(table.index.to_numpy(dtype=object), len(year_columns)))
    frame[value] = np.concatenate([table[c].astype(object).to_numpy() for c in year_columns])
    return frame


def _parse_variable(values: pd.Series, variable: str, decimal: str | None, table: pd.DataFrame | None,
                    region: str, year: str) -> np.ndarray:
    """One variable's cells to float; a column of free text gets its own message (how to leave it out).

    ``table`` is the long table whose every column was taken as a variable (``None`` for wide
    tables and for columns the caller named: then the cells, not the column, are the problem).
    """
    try:
        return parse_numbers(values, variable, decimal=decimal, booleans=variable not in COUNT_VARIABLES)
    except PanelError as error:
        if table is None or "not numbers" not in str(error):
            raise
        text = values[values.notna()].astype(str).str.strip()
        text = text[~text.str.casefold().isin({t.casefold() for t in MISSING_TOKENS})]
        words = text[pd.to_numeric(text.str.replace(r"[\s,.'%’−+-]", "", regex=True), errors="coerce").isna()]
        if len(words) < 2 or 2 * len(words) <= len(text):
            raise  # a few bad cells in a column of numbers: the cells are named
        others = [str(c).strip() for c in table.columns
                  if c not in (region, year) and str(c).strip() != variable][:3]
        keep = ", ".join(f"{_identifier(c)}={c!r}" for c in others) or "<variable>='<column>'"
        examples = ", ".join(repr(w) for w in pd.unique(words)[:3])
        grouping = ""
        if {region, variable} <= set(table.columns) and (table.groupby(region)[variable].nunique() <= 1).all():
            grouping = (f" It is constant within each region, like a grouping of regions: to cluster by it, pass the "
                        f"mapping to the estimator, cluster=dict(zip(table[{region!r}], table[{variable!r}])).")
        raise PanelError(
            f"column {variable!r} holds text, not numbers ({len(words)} of {len(text)} filled cells, e.g. "
            f"{examples}); only the region column ({region!r}) may hold text. Fix: leave it out by naming the "
            f"columns to read, e.g. read_panel(..., {keep}) (then only those are read), or drop it first "
            f"(read_panel(table.drop(columns=[{variable!r}]), ...)); if it holds the region names, pass "
            f"region={variable!r}.{grouping}") from None


def _match_regions(frame: pd.DataFrame, regions: str | None) -> pd.DataFrame:
    codes, labels = _stripped_labels(frame["_raw_region"])
    empty = (codes == -1) | np.isin(codes, np.flatnonzero(labels == ""))
    if empty.any():
        shown = frame.loc[empty].drop(columns="_raw_region").rename(columns={"year_raw": "year"})
        raise PanelError(f"region column: {int(empty.sum())} row(s) without a region name:\n{show_rows(shown)}\n"
                         "Fix: fill in the region names or remove those rows.")
    frame = frame.assign(_raw_region=labels[codes])
    if regions is None:
        return frame.assign(region=frame["_raw_region"])
    canonical = np.array([canonical_region(label) for label in labels], dtype=object)
    unknown = [label for label, canon in zip(labels, canonical) if canon is None]
    if unknown:
        hints = [f"{name!r} (closest: {', '.join(closest_regions(name)) or 'none'})" for name in unknown]
        rows = frame.loc[frame["_raw_region"].isin(unknown), ["_raw_region"]].rename(
            columns={"_raw_region": "region"})
        raise RegionNameError(
            f"region column: {len(unknown)} unknown Kazakhstan region name(s): {'; '.join(hints[:5])}"
            f"{' ...' if len(hints) > 5 else ''}\nrows:\n{show_rows(rows)}\n"
            "Fix: correct the spelling, or pass regions=None to accept any unit names "
            "(other countries, simulated units).")
    return frame.assign(region=canonical[codes])


def _parse_years(values: pd.Series, column: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values.dtype):  # True is not the year 1
        numbers = np.full(len(values), np.nan)
    elif pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
    else:
        codes, labels = _stripped_labels(values)
        parsed = pd.to_numeric(pd.Series(labels, dtype=object), errors="coerce").to_numpy(dtype=float)
        numbers = np.append(parsed, np.nan)[codes]  # code -1 (missing) takes the appended NaN
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(numbers) | (numbers != np.round(numbers)) | (numbers < 1) | (numbers > 9999)
    if bad.any():
        offenders = pd.DataFrame({column: values[bad].to_numpy()}, index=values.index[bad])
        raise PanelError(f"year column {column!r}: {int(bad.sum())} value(s) are not whole years:\n"
                         f"{show_rows(offenders)}\nFix: use integer calendar years such as 2015 "
                         "(no 2015.5, text, blanks or numbers beyond 9999).")
    return numbers.astype(np.int64)


def _plan_derivations(variables: list[str], derive: Iterable[str] | None) -> list[str]:
    available = set(variables)
    if derive is None:
        plan = [name for name, (inputs, _) in DERIVED_INDICATORS.items() if set(inputs) <= available]
    else:
        plan = list(derive)
        for name in plan:
            if name not in DERIVED_INDICATORS:
                raise SpecificationError(f"derive: unknown indicator {name!r}; known: {list(DERIVED_INDICATORS)}.")
            missing_inputs = [i for i in DERIVED_INDICATORS[name][0] if i not in available]
            if missing_inputs:
                raise SpecificationError(f"derive: {name!r} needs column(s) {missing_inputs}, which the table lacks. "
                                         f"Fix: map them, e.g. {missing_inputs[0]}='<column>'.")
    return plan


def _is_dask_frame(source: object) -> bool:
    return type(source).__module__.split(".")[0] == "dask" and hasattr(source, "compute") and hasattr(
        source, "npartitions")


def _from_dask(frame, notes: list[str]) -> pd.DataFrame:
    """A Dask DataFrame's rows in memory, after checking that they fit (its partitions are sized first, one
    at a time): the estimators work on the panel's rows in memory."""
    nbytes = float(frame.memory_usage(deep=True).sum().compute())
    check_fits_in_memory(READ_MEMORY_FACTOR / 2 * nbytes, f"the Dask DataFrame ({frame.npartitions} partition(s), "
                         f"{nbytes / 1024**3:.2f} GiB in memory)")
    table = frame.compute()
    notes.append(f"read from a Dask DataFrame of {frame.npartitions} partition(s) ({nbytes / 1024**2:,.0f} MiB), "
                 "brought into memory")
    return table.reset_index(drop=True) if table.index.has_duplicates else table


def _check_counts(frame: pd.DataFrame, missing: Missing,
                  derived: list[str]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    counts = [c for c in COUNT_VARIABLES if c in frame.columns]
    dropped = None
    if counts:
        nan_rows = frame[counts].isna().any(axis=1).to_numpy()
        if nan_rows.any():
            shown = frame.loc[nan_rows, ["region", "year", *counts]]
            if missing == "raise":
                columns = [c for c in counts if frame.loc[nan_rows, c].isna().any()]
                raise PanelError(
                    f"count column(s) {columns}: {int(nan_rows.sum())} row(s) with missing values:\n"
                    f"{show_rows(shown)}\nFix: supply the values, or pass missing='drop' to drop these rows "
                    "(they are then listed in panel.dropped).")
            reasons = frame.loc[nan_rows, counts].isna().apply(
                lambda row: "missing " + "/".join(row.index[row]), axis=1)
            dropped = shown.assign(reason=reasons.to_numpy())[["region", "year", "reason"]]
            warnings.warn(f"dropped {int(nan_rows.sum())} row(s) with missing counts (see panel.dropped):\n"
                          f"{show_rows(shown)}", DroppedRowsWarning, stacklevel=3)
            frame = frame.loc[~nan_rows]
    for column in counts:
        values = frame[column].to_numpy(float)
        negative = values < 0
        if column == "population":
            negative = values <= 0
        if negative.any():
            rule = "> 0" if column == "population" else ">= 0"
            raise PanelError(f"count column {column!r}: {int(negative.sum())} value(s) not {rule}:\n"
                             f"{show_rows(frame.loc[negative, ['region', 'year', column]])}\n"
                             f"Fix: counts must be {rule}; check signs and units in the source.")
        infinite = ~np.isfinite(values)
        if infinite.any():
            raise PanelError(f"count column {column!r}: infinite values:\n"
                             f"{show_rows(frame.loc[infinite, ['region', 'year', column]])}\nFix: correct them.")
    if "attractiveness_index" in derived:
        zero = (frame["departures"] == 0).to_numpy()
        if zero.any():
            raise PanelError(
                f"column 'departures': {int(zero.sum())} zero value(s), so the attractiveness index (arrivals / "
                f"departures) is undefined:\n{show_rows(frame.loc[zero, ['region', 'year', 'departures']])}\n"
                "Fix: correct the departures, or pass derive=[...] without 'attractiveness_index'.")
    return frame, dropped


def _check_duplicates(frame: pd.DataFrame, region: str) -> None:
    codes, _ = pd.factorize(frame["region"])
    years = frame["year"].to_numpy()
    key = codes.astype(np.int64) * (int(years.max()) - int(years.min()) + 1) + (years - years.min())
    duplicated = pd.Series(key).duplicated(keep=False).to_numpy()
    if not duplicated.any():
        return
    rows = frame.loc[duplicated, ["_raw_region", "region", "year"]]
    aliases = rows.groupby(["region", "year"])["_raw_region"].nunique()
    two_names = aliases[aliases > 1]
    if len(two_names):
        region_name, year = two_names.index[0]
        names = sorted(rows.loc[(rows["region"] == region_name) & (rows["year"] == year), "_raw_region"].unique())
        raise RegionNameError(
            f"column {region!r}: the same region appears under two names in one year: {names} are all "
            f"{region_name!r} in {year} ({len(two_names)} region-year(s) affected):\n"
            f"{show_rows(rows[rows.set_index(['region', 'year']).index.isin(two_names.index)])}\n"
            "Fix: keep one row per region and year (the names are aliases of one region).")
    raise PanelError(f"{int(duplicated.sum())} rows share a region and year:\n"
                     f"{show_rows(rows.drop(columns='_raw_region'))}\n"
                     "Fix: keep one row per region and year (aggregate or remove the duplicates).")


def _check_gaps(frame: pd.DataFrame, allow_gaps: bool, notes: list[str]) -> None:
    codes, uniques = pd.factorize(frame["region"], sort=False)
    years = frame["year"].to_numpy()
    spans = pd.Series(years).groupby(codes).agg(["min", "max", "size"])
    first, last = spans["min"].to_numpy(), spans["max"].to_numpy()
    gappy = np.flatnonzero(spans["size"].to_numpy() != last - first + 1)
    if not len(gappy):
        return
    described = []
    for code in gappy[:5]:
        present = set(years[codes == code])
        absent = [y for y in range(first[code], last[code] + 1) if y not in present]
        described.append(f"{uniques[code]}: missing {absent[:10]}{' ...' if len(absent) > 10 else ''}")
    message = (f"{len(gappy)} region(s) have missing years inside their span:\n  " + "\n  ".join(described)
               + (f"\n  ... and {len(gappy) - 5} more" if len(gappy) > 5 else ""))
    if not allow_gaps:
        raise PanelError(message + "\nFix: supply the missing years, or pass allow_gaps=True to keep an "
                                   "unbalanced panel with gaps (kzcausal never fills them in).")
    notes.append(message.replace("\n", " "))


def _check_overlapping_territory(frame: pd.DataFrame) -> None:
    for change in BOUNDARY_CHANGES:
        if change.parent in change.parts:
            continue
        by_year = frame.groupby("year")["region"]
        overlap = [int(y) for y, names in by_year if change.parent in set(names) and set(change.parts) & set(names)]
        if overlap:
            raise PanelError(
                f"{change.parent} and its successors {list(change.parts)} are both present in years {overlap[:10]}: "
                "their territories overlap and would be counted twice. Fix: keep either "
                f"{change.parent} or {' + '.join(change.parts)} for each year.")


def _check_supplied_indicators(frame: pd.DataFrame, supplied: dict[str, pd.Series], notes: list[str]) -> None:
    """A supplied indicator that the panel also derives must agree with the counts."""
    for name, values in supplied.items():
        values = values.to_numpy(float)  # popped from ``frame``: same rows, same order
        derived = frame[name].to_numpy(float)
        agree = np.isclose(values, derived, rtol=1e-6, atol=1e-9) | (np.isnan(values) & np.isnan(derived))
        if not agree.all():
            rows = frame.loc[~agree, ["region", "year"]].assign(supplied=values[~agree], from_counts=derived[~agree])
            raise PanelError(f"column {name!r} disagrees with the value computed from the counts in "
                             f"{int((~agree).sum())} row(s):\n{show_rows(rows)}\n"
                             f"Fix: drop the supplied {name!r} (the panel derives it) or correct the counts.")
        notes.append(f"supplied {name!r} agrees with the counts; recomputed from them")


def _derive_indicators(frame: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    frame = frame.copy() if names else frame
    for name in names:
        if name == "attractiveness_index":
            frame[name] = frame["arrivals"] / frame["departures"]
        elif name == "net_migration":
            frame[name] = frame["arrivals"] - frame["departures"]
        elif name == "in_migration_rate":
            frame[name] = 1000.0 * frame["arrivals"] / frame["population"]
        elif name == "out_migration_rate":
            frame[name] = 1000.0 * frame["departures"] / frame["population"]
        elif name == "grp_per_capita":
            frame[name] = frame["grp"] / frame["population"]
    return frame
