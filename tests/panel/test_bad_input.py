"""Every bad input of the foundation issue ends in a typed error naming column, rows and fix."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kzcausal as kz
from kzcausal.errors import DataFileError, DroppedRowsWarning, PanelError, RegionNameError, SpecificationError


def counts(**overrides):
    frame = pd.DataFrame({
        "region": ["Akmola"] * 3 + ["Zhambyl"] * 3,
        "year": [2019, 2020, 2021] * 2,
        "arrivals": [100.0, 110, 120, 90, 95, 99],
        "departures": [120.0, 115, 118, 130, 120, 121],
        "population": [750e3, 749e3, 748e3, 1.12e6, 1.13e6, 1.14e6],
    })
    for column, (row, value) in overrides.items():
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
    return frame


def test_duplicate_region_years():
    frame = pd.concat([counts(), counts().iloc[[4]]])
    with pytest.raises(PanelError, match=r"share a region and year[\s\S]*Zhambyl[\s\S]*2020[\s\S]*Fix"):
        kz.read_panel(frame)


def test_missing_years_inside_a_span_are_reported_not_filled():
    frame = counts().drop(index=1)
    with pytest.raises(PanelError, match=r"Akmola: missing \[2020\][\s\S]*allow_gaps=True"):
        kz.read_panel(frame)
    panel = kz.read_panel(frame, allow_gaps=True)
    assert (panel.to_frame()["region"] == "Akmola").sum() == 2  # not filled in
    assert any("Akmola" in note for note in panel.notes)


def test_nan_in_a_count():
    with pytest.raises(PanelError, match=r"\['arrivals'\][\s\S]*Akmola[\s\S]*missing='drop'"):
        kz.read_panel(counts(arrivals=(2, np.nan)))
    with pytest.warns(DroppedRowsWarning, match="dropped 1 row"):
        panel = kz.read_panel(counts(arrivals=(2, np.nan)), missing="drop")
    assert panel.dropped[["region", "year", "reason"]].values.tolist() == [["Akmola", 2021, "missing arrivals"]]


def test_negative_counts():
    with pytest.raises(PanelError, match=r"'departures'.*not >= 0[\s\S]*Zhambyl[\s\S]*Fix"):
        kz.read_panel(counts(departures=(3, -5)))


def test_zero_departures_when_the_index_is_requested():
    with pytest.raises(PanelError, match=r"'departures'.*zero[\s\S]*Akmola[\s\S]*derive="):
        kz.read_panel(counts(departures=(0, 0)))
    panel = kz.read_panel(counts(departures=(0, 0)), derive=["in_migration_rate"])
    assert "attractiveness_index" not in panel.variables


@pytest.mark.parametrize("value", [0, -1])
def test_population_not_positive(value):
    with pytest.raises(PanelError, match=r"'population'.*not > 0[\s\S]*Akmola"):
        kz.read_panel(counts(population=(1, value)))


def test_unknown_region_lists_closest_names():
    with pytest.raises(RegionNameError, match=r"'Zhambil' \(closest: Zhambyl\)[\s\S]*regions=None"):
        kz.read_panel(counts(region=(3, "Zhambil")))


@pytest.mark.parametrize("year", ["2020.5", "twenty", None, 2020.5])
def test_year_not_an_integer(year):
    with pytest.raises(PanelError, match=r"year column 'year'.*not whole years"):
        kz.read_panel(counts(year=(1, year)))


def test_same_region_under_two_aliases_in_one_year():
    frame = pd.concat([counts(), counts().iloc[[4]].assign(region="Jambyl")], ignore_index=True)
    with pytest.raises(RegionNameError, match=r"two names in one year: \['Jambyl', 'Zhambyl'\].*2020"):
        kz.read_panel(frame)


def test_wide_table_with_a_repeated_year_column(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("Region,2015,2016,2016\nAkmola,1,2,3\n", encoding="utf-8")
    with pytest.raises(PanelError, match=r"repeated year column\(s\) \['2016'\]"):
        kz.read_panel(path, region="Region", value="grp")
    frame = pd.DataFrame([["Akmola", 1, 2, 3]], columns=["Region", "2015", "2016", "2016"])
    with pytest.raises(PanelError, match="repeated year"):
        kz.read_panel(frame, region="Region", value="grp")


def test_xlsx_with_the_header_in_the_wrong_row(tmp_path):
    path = tmp_path / "t.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"Region": ["Akmola"], "2020": [1.0]}).to_excel(writer, index=False, startrow=4)
    with pytest.raises(PanelError, match=r"column 'Region' is on row 5[\s\S]*header_row=4"):
        kz.read_panel(path, region="Region", value="grp")


def test_file_that_does_not_exist():
    with pytest.raises(DataFileError, match="does not exist"):
        kz.read_panel(Path("no/such/file.csv"))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("picture.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        ("empty.csv", b"", "empty file"),
        ("latin1.csv", "Région;année\nÉtat;2020\n".encode("latin-1"), "not a UTF-8"),
        ("one_column.txt", b"just some words\nand more\n", "not a table"),
        ("fake.xlsx", b"this is not a spreadsheet", "not a readable table"),
    ],
)
def test_file_that_is_not_a_table(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataFileError, match=message):
        kz.read_panel(path)


def test_a_directory_is_not_a_table(tmp_path):
    with pytest.raises(DataFileError, match="directory"):
        kz.read_panel(tmp_path)


def test_text_in_a_number_column():
    with pytest.raises(PanelError, match=r"column 'arrivals': 1 cell\(s\) are not numbers[\s\S]*abc"):
        kz.read_panel(counts(arrivals=(0, "abc")))


def test_region_cell_empty_but_values_present():
    with pytest.raises(PanelError, match="without a region name"):
        kz.read_panel(counts(region=(0, "  ")))


def test_overlapping_territories_are_rejected():
    frame = pd.DataFrame({"region": ["South Kazakhstan", "Turkestan", "Shymkent city"], "year": [2015] * 3,
                          "grp": [3.0, 2.0, 1.0]})
    with pytest.raises(PanelError, match="counted twice"):
        kz.read_panel(frame)


def test_supplied_column_that_the_panel_derives():
    frame = counts().assign(attractiveness_index=1.0)
    with pytest.raises(PanelError, match=r"'attractiveness_index' disagrees[\s\S]*Akmola[\s\S]*Fix"):
        kz.read_panel(frame)
    agreeing = counts().assign(attractiveness_index=lambda t: t["arrivals"] / t["departures"])
    panel = kz.read_panel(agreeing)
    assert any("agrees with the counts" in note for note in panel.notes)
    # a panel's own tidy frame reads back into the same panel
    pd.testing.assert_frame_equal(kz.read_panel(panel.to_frame()).to_frame(), panel.to_frame())


def test_wide_table_needs_value_and_missing_columns_are_named(tmp_path):
    wide = pd.DataFrame({"Region": ["Akmola"], "2020": [1.0]})
    with pytest.raises(SpecificationError, match="value="):
        kz.read_panel(wide, region="Region")
    with pytest.raises(PanelError, match=r"no region column 'Oblast'.*columns are \['Region', '2020'\]"):
        kz.read_panel(wide, region="Oblast", value="grp")
    with pytest.raises(PanelError, match=r"column\(s\) \{'grp': 'GRP'\} not found"):
        kz.read_panel(counts(), grp="GRP")
    with pytest.raises(PanelError, match="no year column"):
        kz.read_panel(pd.DataFrame({"region": ["Akmola"], "x": [1]}))


def test_bad_options():
    with pytest.raises(SpecificationError):
        kz.read_panel(counts(), missing="fill")
    with pytest.raises(SpecificationError):
        kz.read_panel(counts(), regions="usa")
    with pytest.raises(SpecificationError, match="needs column"):
        kz.read_panel(counts(), derive=["grp_per_capita"])
    with pytest.raises(SpecificationError, match="source is a list"):
        kz.read_panel([1, 2, 3])
    with pytest.raises(SpecificationError, match="<= 0"):
        kz.read_panel(counts()).with_logs("net_migration")


def test_no_silent_corruption_classes():
    """Issue 14's read_panel classes: repeated index labels, reserved names, number formats, infinities."""
    a = pd.DataFrame({"region": ["A", "B"], "year": [2010, 2010], "y": [1.0, 2.0]})
    b = pd.DataFrame({"region": ["A", "B"], "year": [2011, 2011], "y": [3.0, 4.0]})
    stacked = pd.concat([a, b])  # index labels 0, 1, 0, 1
    panel = kz.read_panel(stacked, regions=None)
    assert len(panel) == 4 and len(panel.dropped) == 0
    assert panel.to_frame()["y"].tolist() == [1.0, 3.0, 2.0, 4.0]
    # a variable named like the panel's own columns would overwrite the years or regions
    for name in ("year_raw", "_raw_region"):
        with pytest.raises(PanelError, match=name):
            kz.read_panel(stacked.assign(**{name: 1}), regions=None)
    with pytest.raises(PanelError, match="'year'"):
        kz.read_panel(stacked.rename(columns={"year": "Year"}).assign(year=1), year="Year", regions=None)
    # both separators: the last one is the decimal mark
    formats = pd.DataFrame({"region": ["A", "B", "C"], "year": [2010] * 3, "y": ["1.234,5", "1,234.5", "11,85"]})
    assert kz.read_panel(formats, regions=None).to_frame()["y"].tolist() == [1234.5, 1234.5, 11.85]
    with pytest.raises(PanelError, match="infinite"):
        kz.read_panel(a.assign(y=[np.inf, 1.0]), regions=None)
    with pytest.raises(PanelError, match="infinite"):
        kz.read_panel(a.assign(y=["-inf", "1"]), regions=None)
