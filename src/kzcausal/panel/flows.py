"""Origin-destination migration flows: validation, boundary harmonization and region totals.

A :class:`FlowTable` holds one row per origin -> destination -> year with the number of
people who moved. Unlike region totals, flows harmonize exactly: when two regions are
merged (back to older boundaries), the moves between them become internal to the merged
region and are removed, so arrivals, departures and the attractiveness index of the merged
region are exact (``RegionPanel.harmonize`` can only warn that totals overstate them).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import HarmonizationError, HarmonizationWarning, PanelError, SpecificationError, show_rows
from .core import (RegionPanel, _check_overlapping_territory, _match_regions, _parse_years,
                   _raise_duplicate_columns, read_panel)
from .io import check_read_options, load_table, parse_numbers, percent_cells
from .regions import BOUNDARY_CHANGES, check_boundaries

__all__ = ["FlowTable", "read_flows", "region_unit_at"]

_COLUMNS = ["origin", "destination", "year", "flow", "quality", "source"]


def region_unit_at(region: str, boundaries: int) -> str:
    """The unit that holds ``region``'s territory on the boundaries of year ``boundaries``.

    >>> region_unit_at("Abay", 2021), region_unit_at("Shymkent city", 2017), region_unit_at("Abay", 2022)
    ('East Kazakhstan', 'South Kazakhstan', 'Abay')
    """
    for change in BOUNDARY_CHANGES:
        if boundaries < change.year and region in change.parts:
            region = change.parent
    return region


@dataclass(frozen=True, eq=False)
class FlowTable:
    """Validated origin -> destination migration flows (persons) by year.

    Build it with :func:`read_flows` or :func:`kzcausal.datasets.load_migration_flows`;
    it is immutable. Columns of :meth:`to_frame`: ``origin, destination, year, flow``
    (persons), ``quality`` (a flag per row: ``""`` when nothing is known against it) and
    ``source`` (where the row comes from, to the line of the source file where known).

    Attributes
    ----------
    boundaries
        The year whose region boundaries the flows follow, when known.
    dropped
        Rows removed on purpose (diagonal zeros, unreliable years, moves that became
        internal after merging regions), with the reason for each.
    """

    _data: pd.DataFrame = field(repr=False)
    regions_scheme: str | None = "kazakhstan"
    boundaries: int | None = None
    sources: tuple[str, ...] = ()
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=[*_COLUMNS[:4], "reason"]),
                                  repr=False)
    notes: tuple[str, ...] = ()

    # ----------------------------------------------------------------- views
    @property
    def regions(self) -> list[str]:
        """Every region that sends or receives a flow, sorted."""
        return sorted(set(self._data["origin"]) | set(self._data["destination"]))

    @property
    def years(self) -> list[int]:
        return sorted(int(y) for y in self._data["year"].unique())

    def __len__(self) -> int:
        return len(self._data)

    def to_frame(self) -> pd.DataFrame:
        """A copy of the flows: origin, destination, year, flow, quality, source."""
        return self._data.copy()

    def to_xarray(self) -> xr.DataArray:
        """Flows as a DataArray over ``origin x destination x year`` (NaN: pair not listed; diagonal 0).

        The ``quality`` flag of each year is a coordinate over ``year``.
        """
        regions, years = self.regions, self.years
        array = (self._data.set_index(["origin", "destination", "year"])["flow"]
                 .to_xarray().reindex(origin=regions, destination=regions, year=years))
        diagonal = np.eye(len(regions), dtype=bool)[:, :, None] & np.isnan(array.values)
        array.values[diagonal] = 0.0
        quality = self._data.groupby("year")["quality"].agg(lambda q: "; ".join(sorted(set(q) - {""})))
        array = array.assign_coords(quality=("year", quality.reindex(years).fillna("").to_numpy(str)))
        array.name = "flow"
        array.attrs.update(units="persons", sources=" | ".join(self.sources),
                           boundaries=self.boundaries if self.boundaries is not None else "as published")
        return array

    def select(self, years: Sequence[int] | None = None, regions: Sequence[str] | None = None) -> FlowTable:
        """Only these years and/or only flows between these regions."""
        keep = np.ones(len(self._data), dtype=bool)
        if years is not None:
            unknown = sorted(set(int(y) for y in years) - set(self.years))
            if unknown:
                raise SpecificationError(f"years {unknown} are not in the flows; their years: {self.years}.")
            keep &= self._data["year"].isin([int(y) for y in years]).to_numpy()
        if regions is not None:
            unknown = sorted(set(regions) - set(self.regions))
            if unknown:
                raise SpecificationError(f"regions {unknown} are not in the flows; their regions: {self.regions}.")
            keep &= (self._data["origin"].isin(regions) & self._data["destination"].isin(regions)).to_numpy()
        return replace(self, _data=self._data.loc[keep].reset_index(drop=True))

    # ----------------------------------------------------------- transformations
    def harmonize(self, boundaries: int) -> FlowTable:
        """Merge regions back to the boundaries of year ``boundaries``, exactly.

        Flows are summed over the regions merged into one (Turkestan + Shymkent city into
        South Kazakhstan before 2018; Abay, Zhetysu and Ulytau into East Kazakhstan, Almaty
        region and Karaganda before 2022). Moves between two merged regions become moves
        within one region: they are not interregional any more, so they are removed, listed
        in :attr:`dropped` and announced with a :class:`HarmonizationWarning`. Splitting a
        region to later boundaries is impossible and raises :class:`HarmonizationError`.
        """
        if self.regions_scheme != "kazakhstan":
            raise SpecificationError("harmonize() knows Kazakhstan's boundary changes only; these flows were read "
                                     "with regions=None.")
        boundaries = check_boundaries(boundaries)
        data = self._data
        for change in BOUNDARY_CHANGES:
            if boundaries < change.year:
                continue
            for year in self.years:
                present = set(data.loc[data["year"] == year, ["origin", "destination"]].to_numpy().ravel())
                if change.parent in present and not present & set(change.new_units):
                    raise HarmonizationError(
                        f"{change.parent} in {year} covers the territory later split into "
                        f"{' + '.join(change.parts)} (the new parts are absent that year), and kzcausal does not "
                        f"split regions. Fix: harmonize to boundaries={change.year - 1} or earlier.")
        origin = data["origin"].map(lambda r: region_unit_at(r, boundaries))
        destination = data["destination"].map(lambda r: region_unit_at(r, boundaries))
        internal = (origin == destination).to_numpy()
        merged = (origin != data["origin"]) | (destination != data["destination"])
        if not merged.any():
            return replace(self, boundaries=boundaries)
        notes = list(self.notes)
        dropped = self.dropped
        if internal.any():
            gone = data.loc[internal]
            by_year = gone.groupby("year")["flow"].sum()
            text = ", ".join(f"{int(y)}: {int(v):,}" for y, v in by_year.items())
            warnings.warn(
                f"harmonize({boundaries}): {int(internal.sum())} flow(s) between regions merged into one are now "
                f"moves within a region and were removed (persons by year: {text}); they are listed in "
                "flows.dropped.", HarmonizationWarning, stacklevel=2)
            reason = gone["origin"] + " -> " + gone["destination"] + f": internal on {boundaries} boundaries"
            dropped = pd.concat([dropped, gone[["origin", "destination", "year", "flow"]].assign(
                reason=reason.to_numpy())], ignore_index=True)
            notes.append(f"harmonize({boundaries}): removed moves that became internal ({text} persons)")
        kept = data.loc[~internal].assign(origin=origin[~internal].to_numpy(),
                                          destination=destination[~internal].to_numpy())
        grouped = kept.groupby(["origin", "destination", "year"], sort=True)
        out = grouped["flow"].sum().to_frame()
        out["quality"] = grouped["quality"].agg(lambda q: "; ".join(sorted(set(q) - {""})))
        out["source"] = grouped["source"].agg(lambda s: " + ".join(s) if len(s) > 1 else s.iloc[0])
        out = out.reset_index()[_COLUMNS]
        parts = pd.concat([data["origin"], data["destination"]]).unique()
        into: dict[str, list[str]] = {}
        for part in sorted(parts):
            unit = region_unit_at(part, boundaries)
            into.setdefault(unit, []).append(part)
        spans = "; ".join(f"{unit} = {' + '.join(p)}" for unit, p in into.items() if len(p) > 1 or p[0] != unit)
        notes.append(f"harmonized to {boundaries} boundaries: {spans}")
        return replace(self, _data=out, boundaries=boundaries, dropped=dropped, notes=tuple(notes))

    def region_totals(self, *, missing: str = "raise", derive: Sequence[str] | None = None) -> RegionPanel:
        """Arrivals (sum over origins), departures (sum over destinations) by region and year.

        Returns a :class:`RegionPanel` with ``arrivals``, ``departures`` and the derived
        ``attractiveness_index`` (arrivals / departures, paper 000's IMP) and
        ``net_migration``. A region-year counts only the pairs listed for it: one that only
        sends (or only receives) in the listed pairs has no arrivals (departures) at all.

        Parameters
        ----------
        missing
            As in :func:`read_panel`: such region-years are an error (``"raise"``) or are
            dropped and listed in ``panel.dropped`` (``"drop"``).
        derive
            As in :func:`read_panel`: by default every indicator; ``["net_migration"]`` leaves
            out the attractiveness index, which is undefined where departures are 0.
        """
        arrivals = self._data.groupby(["destination", "year"])["flow"].sum().rename_axis(["region", "year"])
        departures = self._data.groupby(["origin", "year"])["flow"].sum().rename_axis(["region", "year"])
        frame = pd.concat([arrivals.rename("arrivals"), departures.rename("departures")], axis=1).reset_index()
        panel = read_panel(frame, regions=self.regions_scheme, missing=missing, derive=derive, allow_gaps=True,
                           sources=self.sources, units={"arrivals": "persons (interregional)",
                                                       "departures": "persons (interregional)"},
                           arrivals="arrivals", departures="departures")
        return replace(panel, boundaries=self.boundaries, notes=(*panel.notes, *self.notes))

    # --------------------------------------------------------------- display
    def summary(self) -> str:
        data = self._data
        totals = data.groupby("year")["flow"].sum()
        quality = data.groupby("year")["quality"].agg(lambda q: "; ".join(sorted(set(q) - {""})))
        bounds = f"on {self.boundaries} boundaries" if self.boundaries is not None else "boundaries as published"
        lines = [f"FlowTable: {len(self.regions)} regions, {len(data)} origin-destination-year rows, {bounds}", "",
                 f"{'year':<6}{'pairs':>7}{'persons':>12}  quality"]
        for year, total in totals.items():
            pairs = int((data["year"] == year).sum())
            lines.append(f"{int(year):<6}{pairs:>7}{int(total):>12,}  {quality[year]}")
        if self.sources:
            lines += ["", "Sources:"] + [f"  - {s}" for s in self.sources]
        if len(self.dropped):
            lines += ["", f"Dropped {len(self.dropped)} row(s):"] + [
                f"  - {n} x {r}" for r, n in self.dropped["reason"].str.replace(r"^.* -> .*: ", "", regex=True)
                .value_counts().items()]
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        years = self.years
        return (f"<FlowTable {len(self.regions)} regions x {len(years)} years "
                f"({years[0]}-{years[-1]}), {len(self)} rows>" if years else "<FlowTable empty>")


def read_flows(
    source: pd.DataFrame | str | Path,
    origin: str = "origin",
    destination: str = "destination",
    year: str = "year",
    flow: str = "flow",
    *,
    quality: str | None = None,
    regions: str | None = "kazakhstan",
    sources: Sequence[str] = (),
    sheet: int | str = 0,
    header_row: int = 0,
    decimal: str | None = None,
) -> FlowTable:
    """Read an origin-destination table into a validated :class:`FlowTable`.

    Parameters
    ----------
    source
        A DataFrame (never modified) or the path of a CSV/XLSX file, one row per
        origin -> destination -> year.
    origin, destination, year, flow
        Column names in ``source``; ``flow`` holds persons (whole, non-negative numbers).
    quality
        Optional column with a quality flag per row (kept as text).
    regions
        ``"kazakhstan"`` matches names to Kazakhstan's regions (unknown names are an error
        with the closest known names); ``None`` accepts any unit names.
    sources
        Provenance carried by the table.
    sheet, header_row, decimal
        As in :func:`kzcausal.read_panel`: the spreadsheet sheet, the 0-based header row
        (files only) and the decimal mark (``decimal="."`` reads ``1,234`` as 1234).

    Raises
    ------
    PanelError, RegionNameError
        Missing columns, unknown region names, missing, negative, non-integer or infinite
        flows, a pair listed twice for one year, a positive flow from a region to itself
        (origin = destination: moves within a region are not interregional flows), or
        territories that overlap in one year. Each message names the rows and the fix.
        Zero flows from a region to itself are dropped and listed in ``dropped``: every row of
        ``source`` is either in the table or in ``dropped``.
    """
    if regions not in ("kazakhstan", None):
        raise SpecificationError(f"regions={regions!r}; use 'kazakhstan' or None (any unit names).")
    check_read_options(sheet=sheet, header_row=header_row, decimal=decimal)
    wanted = {"origin": origin, "destination": destination, "year": year, "flow": flow}
    if quality is not None:
        wanted["quality"] = quality
    roles: dict[object, list[str]] = {}
    for role, name in wanted.items():
        roles.setdefault(name, []).append(role)
    shared = {name: names for name, names in roles.items() if len(names) > 1}
    if shared:
        name, names = next(iter(shared.items()))
        raise SpecificationError(f"{' and '.join(names)} both name the column {name!r}; each role needs a column of "
                                 f"its own. Fix: pass " + ", ".join(f"{role}='<column>'" for role in names) + ".")
    if isinstance(source, pd.DataFrame):
        table = source
    elif isinstance(source, (str, Path)):
        table = load_table(source, sheet=sheet, header_row=header_row, expect=list(wanted.values()))
    else:
        raise SpecificationError(f"source is a {type(source).__name__}; pass a DataFrame or a CSV/XLSX path.")
    if table.columns.duplicated().any():
        _raise_duplicate_columns(table.columns, "the flow table")
    absent = {role: name for role, name in wanted.items() if name not in table.columns}
    if absent:
        raise PanelError(f"no column(s) {absent} in the flow table; its columns are {list(table.columns)}. "
                         "Fix: pass " + ", ".join(f"{role}='<column>'" for role in absent) + ".")
    rows = pd.RangeIndex(len(table))  # positional row numbers: safe with any index, repeated labels included
    frame = pd.DataFrame({"_raw_region": table[origin].to_numpy(), "year": table[year].to_numpy(),
                          "_raw_flow": table[flow].to_numpy()}, index=rows)
    names = {}
    shown = {"origin": table[origin].to_numpy(), "destination": table[destination].to_numpy(),
             "year": table[year].to_numpy(), "flow": table[flow].to_numpy()}  # the rows a message shows
    for role, column in (("origin", origin), ("destination", destination)):
        try:
            matched = _match_regions(pd.DataFrame({"_raw_region": table[column].to_numpy(), **shown}, index=rows),
                                     regions)
        except PanelError as error:  # the shared matcher says "region column": name the flow table's column
            raise type(error)(str(error).replace("region column:", f"{role} column {column!r}:", 1)) from None
        names[role] = matched["region"].to_numpy(dtype=object)
    years = _parse_years(frame["year"], year)
    values = parse_numbers(frame["_raw_flow"], flow, decimal=decimal, booleans=False)
    if percent_cells(frame["_raw_flow"]):
        cells = frame["_raw_flow"].astype(str).str.contains("%", regex=False).to_numpy()
        raise PanelError(f"column {flow!r}: {int(cells.sum())} cell(s) are percentages, not persons (row numbers "
                         f"count from 0):\n{show_rows(pd.DataFrame({flow: frame['_raw_flow'][cells]}))}\n"
                         "Fix: flows are numbers of persons; give the counts, not shares.")
    out = pd.DataFrame({"origin": names["origin"], "destination": names["destination"], "year": years,
                        "flow": values}, index=rows)
    if quality is not None:
        flags = table[quality].astype(object).to_numpy()  # any dtype, categorical included
        out["quality"] = ["" if pd.isna(flag) else str(flag) for flag in flags]
    else:
        out["quality"] = ""
    label, first_line = (f"{source}, line", header_row + 2) if isinstance(source, (str, Path)) else ("row", 0)
    out["source"] = [f"{label} {i + first_line}" for i in rows]
    _check_flow_values(out, flow, frame["_raw_flow"])
    same = (out["origin"] == out["destination"]).to_numpy()
    positive_diagonal = same & (out["flow"].to_numpy() > 0)
    if positive_diagonal.any():
        raise PanelError(
            f"{int(positive_diagonal.sum())} row(s) have origin = destination with a positive flow (a non-zero "
            f"diagonal):\n{show_rows(out.loc[positive_diagonal, ['origin', 'destination', 'year', 'flow']])}\n"
            "Moves within a region are not interregional flows. Fix: remove those rows (or, after merging "
            "regions yourself, use FlowTable.harmonize, which removes them with a report).")
    dropped = out.loc[same, ["origin", "destination", "year", "flow"]].assign(reason="origin = destination (zero)")
    out = out.loc[~same]
    if out.empty:
        raise PanelError("the flow table has no flows between two regions" + (
            f" ({len(dropped)} row(s) with origin = destination and a zero flow are not flows)" if len(dropped)
            else "") + ". Fix: pass a table with at least one origin -> destination row.")
    duplicated = out.duplicated(["origin", "destination", "year"], keep=False)
    if duplicated.any():
        shown = out.loc[duplicated, ["origin", "destination", "year", "flow"]].sort_values(
            ["year", "origin", "destination"])
        raise PanelError(f"{int(duplicated.sum())} rows list the same origin -> destination pair twice for one year "
                         f"(row numbers count from 0; names already matched to canonical regions):\n"
                         f"{show_rows(shown)}\nFix: keep one row per pair and year (sum them if they are parts).")
    if regions == "kazakhstan":
        long = pd.concat([out[["origin", "year"]].set_axis(["region", "year"], axis=1),
                          out[["destination", "year"]].set_axis(["region", "year"], axis=1)]).drop_duplicates()
        _check_overlapping_territory(long)
    notes = []
    pairs_per_year = out.groupby("year").size()
    n_regions = out.groupby("year").apply(lambda g: len(set(g["origin"]) | set(g["destination"])),
                                          include_groups=False)
    incomplete = pairs_per_year[pairs_per_year < n_regions * (n_regions - 1)]
    for y, n in incomplete.items():
        full = int(n_regions[y] * (n_regions[y] - 1))
        notes.append(f"{int(y)}: {full - int(n)} of {full} origin-destination pairs are not listed "
                     "(absent, not zero: they are left out of totals and models)")
    if len(dropped):
        notes.append(f"dropped {len(dropped)} zero row(s) with origin = destination")
    out = out.sort_values(["year", "origin", "destination"], kind="stable").reset_index(drop=True)
    out["flow"] = out["flow"].astype(np.int64)
    return FlowTable(_data=out[_COLUMNS], regions_scheme=regions, sources=tuple(sources),
                     dropped=dropped.reset_index(drop=True), notes=tuple(notes))


def _check_flow_values(frame: pd.DataFrame, column: str, raw: pd.Series) -> None:
    values = frame["flow"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        fraction = np.isfinite(values) & (values != np.round(values))
    # '1,234' is read as 1.234 (a single comma is a decimal comma); for persons it is a thousands separator
    text = raw.astype(str).str.strip()
    decimal_hint = ""
    for mark, other in ((",", "."), (".", ",")):
        grouped = text.str.fullmatch(rf"[+-]?\d{{1,3}}\{mark}\d{{3}}").to_numpy(dtype=bool)
        if (fraction & grouped).any():
            decimal_hint = (f"; cells such as '1{mark}234' are read with {mark!r} as the decimal mark (1.234): if it "
                            f"separates thousands, pass decimal={other!r}")
    for test, what, fix in (
        (np.isnan(values), "missing", "fill them in, or remove those rows if the pair was not reported"),
        (np.isinf(values), "infinite", "correct those cells"),
        (np.isfinite(values) & (values < 0), "negative", "flows are persons moving, never negative; "
                                                          "net flows belong in another column"),
        (fraction, "not whole numbers",
         "flows are counts of persons; round only if the source is known to be rounded" + decimal_hint),
        (np.isfinite(values) & (np.abs(values) >= 2.0**53), "too large to be counts of persons (2**53 or more)",
         "check the units and the cells"),
    ):
        if test.any():
            shown = frame.loc[test, ["origin", "destination", "year", "flow"]]
            raise PanelError(f"column {column!r}: {int(test.sum())} flow(s) are {what} "
                             f"(row numbers count from 0):\n{show_rows(shown)}\nFix: {fix}.")
