"""read_panel: layouts, parsing, derived indicators, conversions."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import kzcausal as kz


def test_table3_as_printed_gives_the_bundled_seed_values(table3_as_printed):
    printed = kz.read_panel(table3_as_printed, region="Regions", value="attractiveness_index")
    bundled = kz.datasets.seed_imp_table()
    assert printed.regions == bundled.regions and len(printed.regions) == 17
    assert printed.years == list(range(2015, 2023))
    pd.testing.assert_series_equal(printed["attractiveness_index"], bundled["attractiveness_index"])
    assert printed["attractiveness_index"].notna().sum() == 134
    # the repeated header row and the blank line between the two printed blocks are reported
    assert sorted(printed.dropped["reason"]) == ["blank row", "repeated header row"]
    assert printed["attractiveness_index"].loc[("Zhambyl", 2016)] == 0.72
    assert np.isnan(printed["attractiveness_index"].loc[("Shymkent city", 2015)])


def test_long_and_wide_layouts_agree(tmp_path):
    wide = pd.DataFrame({"Регион": ["Жамбылская", "г. Алматы"], "2019": ["1 234,5", "2 000"],
                         "2020": ["1 300,25", "-"], "2021": ["1400", "2100,5"]})
    path = tmp_path / "wide.csv"
    wide.to_csv(path, sep=";", index=False)
    with pytest.warns(kz.errors.DroppedRowsWarning):
        from_wide = kz.read_panel(path, region="Регион", value="grp", missing="drop", allow_gaps=True)
    long = pd.DataFrame({"region": ["Zhambyl"] * 3 + ["Almaty city"] * 2, "year": [2019, 2020, 2021, 2019, 2021],
                         "grp": [1234.5, 1300.25, 1400.0, 2000.0, 2100.5]})
    from_long = kz.read_panel(long, allow_gaps=True)
    with pytest.raises(kz.PanelError, match="missing years"):
        kz.read_panel(long)
    # the wide table's missing cell is a dropped row, reported; after that both are the same panel
    assert list(from_wide.dropped["reason"]) == ["missing grp"]
    pd.testing.assert_frame_equal(from_wide.to_frame(), from_long.to_frame())


def test_number_formats():
    frame = pd.DataFrame({"region": ["A", "B", "C", "D", "E"], "year": [2020] * 5,
                          "x": ["11,85", "1 234,5", "1,234.5", "−3", "…"]})
    panel = kz.read_panel(frame, regions=None)
    np.testing.assert_array_equal(panel["x"].to_numpy(), [11.85, 1234.5, 1234.5, -3.0, np.nan])


def test_derived_indicators_closed_form():
    frame = pd.DataFrame({"region": ["Akmola", "Akmola"], "year": [2020, 2021], "arrivals": [900, 1200],
                          "departures": [1000, 1000], "population": [750_000, 760_000], "grp": [2.0e6, 2.4e6]})
    panel = kz.read_panel(frame).with_logs("grp", "attractiveness_index")
    got = panel.to_frame().set_index("year")
    np.testing.assert_allclose(got["attractiveness_index"], [0.9, 1.2], rtol=1e-15)
    np.testing.assert_allclose(got["net_migration"], [-100, 200])
    np.testing.assert_allclose(got["in_migration_rate"], [1000 * 900 / 750_000, 1000 * 1200 / 760_000], rtol=1e-15)
    np.testing.assert_allclose(got["out_migration_rate"], [1000 * 1000 / 750_000, 1000 * 1000 / 760_000], rtol=1e-15)
    np.testing.assert_allclose(got["grp_per_capita"], [2.0e6 / 750_000, 2.4e6 / 760_000], rtol=1e-15)
    np.testing.assert_allclose(got["log_grp"], np.log([2.0e6, 2.4e6]), rtol=1e-15)
    np.testing.assert_allclose(got["log_attractiveness_index"], np.log([0.9, 1.2]), rtol=1e-15)


def test_column_mapping_and_only_requested_indicators():
    frame = pd.DataFrame({"Область": ["Zhambyl", "Zhambyl"], "Год": ["2020", "2021"], "Прибыло": [10, 12],
                          "Выбыло": [20, 18], "code": ["ZHM", "ZHM"]})
    panel = kz.read_panel(frame, region="Область", year="Год", arrivals="Прибыло", departures="Выбыло",
                          derive=["attractiveness_index"])
    assert panel.variables == ["arrivals", "departures", "attractiveness_index"]
    assert any("columns not used" in note and "code" in note for note in panel.notes)


def test_caller_dataframe_is_not_mutated():
    frame = pd.DataFrame({"region": [" Jambyl", "Jambyl"], "year": ["2020", "2021"],
                          "arrivals": ["1,5", "2"], "departures": [3, 4]})
    before = frame.copy(deep=True)
    kz.read_panel(frame).harmonize(2021).to_xarray()
    pd.testing.assert_frame_equal(frame, before)


def test_xarray_round_trip_and_dims():
    panel, _ = kz.simulate_panel(random_seed=3)
    ds = panel.to_xarray()
    assert isinstance(ds, xr.Dataset) and ds["grp"].dims == ("region", "year")
    assert ds["grp"].sel(region="Region 03", year=2015).item() == panel["grp"].loc[("Region 03", 2015)]
    again = kz.RegionPanel.from_xarray(ds, regions=None)
    pd.testing.assert_frame_equal(again.to_frame(), panel.to_frame())
    assert again.simulated


def test_xlsx_with_the_header_on_row_three(tmp_path):
    path = tmp_path / "bns.xlsx"
    table = pd.DataFrame({"Region": ["Akmola", "Aktobe"], "2020": [1.5, 2.5], "2021": [1.6, 2.6]})
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"a": ["BNS export", "million KZT"]}).to_excel(writer, index=False, header=False)
        table.to_excel(writer, index=False, startrow=2)
    with pytest.raises(kz.PanelError, match=r"header_row=2"):
        kz.read_panel(path, region="Region", value="grp")
    panel = kz.read_panel(path, region="Region", value="grp", header_row=2)
    assert panel["grp"].loc[("Aktobe", 2021)] == 2.6


def test_any_unit_names_with_regions_none():
    frame = pd.DataFrame({"state": ["Texas", "Ohio"], "year": [2020, 2020], "population": [29e6, 11.8e6]})
    with pytest.raises(kz.RegionNameError):
        kz.read_panel(frame, region="state")
    assert kz.read_panel(frame, region="state", regions=None).regions == ["Ohio", "Texas"]
