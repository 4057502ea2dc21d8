"""Bundled data: the seed papers' tables, real BNS series and the panel simulator.

Every file is described (source, units, licence) in ``datasets/README.md``, shipped
with the package. Nothing here reads outside the installed package.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from importlib import resources

import pandas as pd

from ..panel import RegionPanel, canonical_region, read_panel
from .simulate import SimulationTruth, simulate_panel

__all__ = [
    "seed_imp_table",
    "social_attractiveness_2019",
    "serpin_regions",
    "seed002_did_tables",
    "seed000_factor_models",
    "bns_grp",
    "bns_population",
    "load_kazakhstan",
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


def load_kazakhstan(boundaries: int = 2021) -> RegionPanel:
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
    Real interregional arrivals and departures by region are not bundled yet, so the
    attractiveness index is the published one and cannot be recomputed or harmonized:
    it is given only on the seed paper's 17-region boundaries (2018-2021).
    """
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
    if 2018 <= boundaries <= 2021:
        imp = seed_imp_table().to_frame()
        frame = frame.merge(imp, on=["region", "year"], how="left")
        sources.append(SOURCES["seed000_table3"])
        notes.append("attractiveness_index is paper 000's published Table 3 (2015-2022); not recomputable "
                     "from counts until interregional arrivals/departures are bundled")
    else:
        notes.append(f"attractiveness_index omitted: paper 000's table is on 2018-2021 boundaries, "
                     f"not {boundaries}")
    panel = read_panel(frame, sources=sources, units={**grp.units, "population": "persons, annual average",
                                                      "grp_per_capita": "million KZT per person"})
    dropped = pd.concat([grp.dropped, early[["region", "year"]].assign(
        reason=f"GRP of {first_grp_year - 1} and earlier not on {boundaries} boundaries")])
    return replace(panel, boundaries=boundaries, dropped=dropped, notes=(*notes, *grp_h.notes))


_BNS_CODES = {
    "ABY": "Abay", "AKM": "Akmola", "AKT": "Aktobe", "ALA": "Almaty city", "ALM": "Almaty region",
    "AST": "Astana city", "ATY": "Atyrau", "KRG": "Karaganda", "KST": "Kostanay", "KZL": "Kyzylorda",
    "MNG": "Mangystau", "PVL": "Pavlodar", "SHM": "Shymkent city", "SKO": "North Kazakhstan",
    "TRK": "Turkestan", "ULT": "Ulytau", "VKO": "East Kazakhstan", "YKO": "South Kazakhstan",
    "ZHM": "Zhambyl", "ZHT": "Zhetysu", "ZKO": "West Kazakhstan",
}
