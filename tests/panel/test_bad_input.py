"""Every bad input of the foundation issue ends in a typed error naming column, rows and fix."""

import re
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


# ------------------------------------------------------------------ found by tests/panel/test_fuzz_read_panel.py
def test_repeated_index_labels_with_a_supplied_indicator_or_a_blank_row():
    """Index labels 0, 0, 1, 1: a supplied attractiveness_index raised numpy's broadcast ValueError, and a blank
    row dropped every row that shared its label (here all of them: 'the table has no data rows')."""
    frame = counts().iloc[[0, 1, 3, 4]].assign(attractiveness_index=lambda t: t["arrivals"] / t["departures"])
    frame.index = [0, 0, 1, 1]
    panel = kz.read_panel(frame, allow_gaps=True)
    assert len(panel) == 4 and any("agrees with the counts" in note for note in panel.notes)
    wide = pd.DataFrame({"Region": ["Akmola", "Zhambyl", None], "2019": [1.0, np.nan, np.nan],
                         "2020": [1.0, 2, None]}, index=[1, 1, 1])
    with pytest.warns(DroppedRowsWarning):
        panel = kz.read_panel(wide, region="Region", value="grp", missing="drop", allow_gaps=True)
    assert panel.to_frame()[["region", "year"]].values.tolist() == [["Akmola", 2019], ["Akmola", 2020],
                                                                    ["Zhambyl", 2020]]
    assert sorted(panel.dropped["reason"]) == ["blank row", "missing grp"]


def test_wide_tables_whose_names_collide_with_the_readers_own():
    """value='region' or 'year' lost the variable silently; value='_raw_region'/'year_raw', a region column called
    'year_raw', or value equal to a column name raised pandas' TypeError/ValueError."""
    wide = pd.DataFrame({"Region": ["Akmola", "Zhambyl"], "2019": [1.0, 2.0], "2020": [3.0, 4.0]})
    for value in ("region", "year", "_raw_region", "year_raw", "in_panel"):
        with pytest.raises(SpecificationError, match=rf"value='{value}' is a name the panel uses[\s\S]*value='grp'"):
            kz.read_panel(wide, region="Region", value=value)
    assert kz.read_panel(wide, region="Region", value="Region")["Region"].tolist() == [1.0, 3.0, 2.0, 4.0]
    for name in ("year_raw", "grp"):
        panel = kz.read_panel(wide.rename(columns={"Region": name}), region=name, value="grp")
        assert panel["grp"].tolist() == [1.0, 3.0, 2.0, 4.0]
    # a region column labelled like a year is not a year column
    labelled = pd.DataFrame({2015: ["Akmola", "Zhambyl"], "2016": [1.0, 2.0]})
    assert kz.read_panel(labelled, region=2015, value="grp").years == [2016]


def test_one_year_under_two_column_labels():
    """Year columns 2019 and '2019' were reported as 'rows share a region and year' instead of the header."""
    wide = pd.DataFrame({"Region": ["Akmola"], 2019: [1.0], " 2019 ": [3.0], "2020.0": [2.0]})
    with pytest.raises(PanelError, match=r"repeated year column\(s\) \['2019'\]: columns 2019, ' 2019 '"):
        kz.read_panel(wide, region="Region", value="grp")


def test_booleans_are_neither_years_nor_counts():
    """True was read as the year 1 and as one person."""
    with pytest.raises(PanelError, match=r"year column 'year'.*not whole years"):
        kz.read_panel(counts().assign(year=True))
    with pytest.raises(PanelError, match=r"column 'population'.*True/False[\s\S]*Fix"):
        kz.read_panel(counts(population=(0, True)))
    flags = pd.DataFrame({"region": ["A", "B"], "year": [2010, 2010], "treated": [True, False]})
    assert kz.read_panel(flags, regions=None)["treated"].tolist() == [1.0, 0.0]  # an observed flag stays 1/0


def test_number_formats_found_by_fuzzing():
    """'1,234,567' and '1.234.567' were 'not numbers', '12%' too; '1 2' was 12 and '12.5,3' 125.3 silently;
    'None', 'NULL', 'N/A', '<NA>' were 'not numbers'."""
    cells = ["1,234,567", "1.234.567", "1.234.567,5", "12%", "−1 234,5", "1’234.5", "None", "N/A", "<NA>", "null"]
    frame = pd.DataFrame({"region": [f"R{i}" for i in range(len(cells))], "year": 2010, "y": cells})
    panel = kz.read_panel(frame, regions=None)
    np.testing.assert_array_equal(panel.to_frame().sort_values("region", key=lambda r: r.str[1:].astype(int))["y"],
                                  [1234567, 1234567, 1234567.5, 12, -1234.5, 1234.5, np.nan, np.nan, np.nan, np.nan])
    assert panel.units["y"] == "percent" and any("percent sign" in note for note in panel.notes)
    for bad in ("1 2", "12.5,3", "1,2.5", "1.23,5"):
        with pytest.raises(PanelError, match=rf"column 'y': 1 cell\(s\) are not numbers[\s\S]*{re.escape(bad)}"):
            kz.read_panel(frame.assign(y=[bad] + ["1"] * (len(cells) - 1)), regions=None)


def test_decimal_mark_option():
    """By default a cell such as '1,234' takes the decimal mark the rest of its column shows ('1.5': a decimal
    point, so '1,234' is 1234; alone a single comma is a decimal comma); decimal='.' reads '1,234' as 1234;
    decimal=',' reads '1.234' as 1234; a cell that does not fit the mark is named."""
    frame = pd.DataFrame({"region": ["A", "B"], "year": [2010, 2010], "y": ["1,234", "1.5"]})
    assert kz.read_panel(frame, regions=None)["y"].tolist() == [1234.0, 1.5]
    assert kz.read_panel(frame.assign(y=["1,234", "2,5"]), regions=None)["y"].tolist() == [1.234, 2.5]
    with pytest.raises(PanelError, match=r"mixes decimal marks.*'1,5'.*'0.15'.*'1.234'.*Fix: pass decimal="):
        kz.read_panel(pd.DataFrame({"region": ["A", "B", "C"], "year": [2010] * 3, "y": ["1,5", "0.15", "1.234"]}),
                      regions=None)
    assert kz.read_panel(frame, regions=None, decimal=".")["y"].tolist() == [1234.0, 1.5]
    with pytest.raises(PanelError, match=r"1\.5[\s\S]*decimal=','"):
        kz.read_panel(frame, regions=None, decimal=",")
    assert kz.read_panel(frame.assign(y=["1.234", 1.5]), regions=None, decimal=",")["y"].tolist() == [1234.0, 1.5]


def test_variables_named_like_helper_columns():
    """A variable 'in_panel' was replaced by to_xarray's True/False marker; '_n' made harmonize() raise pandas'
    'columns overlap'; columns 'grp' and ' grp' became one variable, the other column's numbers lost."""
    with pytest.raises(PanelError, match=r"\['in_panel'\] are used by the panel itself"):
        kz.read_panel(pd.DataFrame({"region": ["A"], "year": [2010], "in_panel": [5.0]}), regions=None)
    split = pd.DataFrame({"region": ["Turkestan", "Shymkent city"], "year": [2019, 2019], "grp": [1.0, 2.0],
                          "_n": [3.0, 4.0]})
    with pytest.warns(kz.errors.HarmonizationWarning):
        merged = kz.read_panel(split).harmonize(2017).to_frame()
    assert merged["grp"].tolist() == [3.0] and np.isnan(merged["_n"].iloc[0])
    with pytest.raises(PanelError, match=r"columns 'grp' and ' grp' have the same name[\s\S]*Fix"):
        kz.read_panel(pd.DataFrame({"region": ["A"], "year": [2010], "grp": [1.0], " grp": [2.0]}), regions=None)


def test_csv_row_longer_than_its_header(tmp_path):
    """A decimal comma in a comma-separated file ('Akmola,2019,1,5') made pandas read the first column as the index:
    every cell moved one column left (regions became '2019'), silently."""
    path = tmp_path / "t.csv"
    path.write_text("region,year,grp\nAkmola,2019,1,5\nAkmola,2020,2\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"line 2 has 4 cells but the header \(row 1\) has 3: 'Akmola,2019,1,5'"
                                            r"[\s\S]*decimal comma"):
        kz.read_panel(path, regions=None)
    path.write_text("region,year,grp\nAkmola,2019,1,\nAkmola,2020,2,,\n", encoding="utf-8")  # trailing separators
    assert kz.read_panel(path)["grp"].tolist() == [1.0, 2.0]


def test_region_and_year_naming_one_column_and_bad_read_options():
    with pytest.raises(SpecificationError, match="region and year both name the column 'region'"):
        kz.read_panel(counts(), year="region")
    for options in ({"header_row": True}, {"header_row": -1}, {"sheet": 1.5}, {"decimal": ";"}):
        with pytest.raises(SpecificationError, match=next(iter(options))):
            kz.read_panel(counts(), **options)


# ------------------------------------------------------------------ header and text-column messages
def test_title_lines_above_a_csv_header(tmp_path):
    """A title and a blank line above the header: 'not a readable table (ParserError ...)' before; now the rows
    are described and header_row=2 is named. Passing header_row=2 failed too (the title row has fewer cells)."""
    path = tmp_path / "bns.csv"
    path.write_text("Gross regional product, mln tenge\n\nregion;year;grp\nAkmola;2019;1,5\nAkmola;2020;2,5\n",
                    encoding="utf-8")
    with pytest.raises(PanelError, match=r"header not on row 1: column 'region' is on row 3 \(above it: row 1 "
                                         r"'Gross regional product, mln tenge', row 2 blank\)\. "
                                         r"Fix: pass header_row=2"):
        kz.read_panel(path)
    with pytest.raises(PanelError, match=r"rows 1-2 are a title, blank or a partial header[\s\S]*\(region, year, "
                                         r"grp\) is on row 3\. Fix: pass header_row=2"):
        kz.read_panel(path, region="state")  # the expected column is not there: the title is still found
    with pytest.raises(PanelError, match="header_row=2"):
        kz.read_flows(path, origin="region", destination="year", year="grp", flow="x")
    assert kz.read_panel(path, header_row=2)["grp"].tolist() == [1.5, 2.5]


def test_merged_header_cells_in_an_xlsx(tmp_path):
    """'GRP' merged over B1:D1 and the years on row 2 left C1 and D1 empty: 'repeated column(s) ['']' before."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Region", "GRP, mln tenge", None, None])
    sheet.append([None, 2019, 2020, 2021])
    sheet.append(["Akmola", 1.5, 1.6, 1.7])
    sheet.merge_cells("B1:D1")
    sheet.merge_cells("A1:A2")
    path = tmp_path / "merged.xlsx"
    book.save(path)
    with pytest.raises(PanelError, match=r"header row 1 gives no name to column\(s\) C, D, which hold data: the "
                                         r"merged cell\(s\) B1:D1 \('GRP, mln tenge'\) span them[\s\S]*Row 2 names "
                                         r"them \('2020', '2021'\)[\s\S]*Fix: give every column its own name[\s\S]*"
                                         r"header_row=1 \(0-based\)[\s\S]*column\(s\) A \('Region'\) into row 2"):
        kz.read_panel(path, region="Region", value="grp")
    sheet.unmerge_cells("A1:A2")
    sheet["A2"] = "Region"
    book.save(path)
    with pytest.raises(PanelError, match=r"row 1 is a title, blank or a partial header \(row 1 'Region, GRP, mln "
                                         r"tenge' \(2 of 4 cells\)\)[\s\S]*Fix: pass header_row=1"):
        kz.read_panel(path, region="Region", value="grp")
    panel = kz.read_panel(path, region="Region", value="grp", header_row=1)
    assert panel["grp"].tolist() == [1.5, 1.6, 1.7]


def test_a_column_of_free_text(tmp_path):
    """A comments column beside the numbers: now named as a text column, with how to leave it out."""
    frame = counts().assign(comment=["revised", "first estimate", "", "see note 3", "revised", "-"])
    with pytest.raises(PanelError, match=r"column 'comment' holds text, not numbers \(4 of 4 filled cells, e\.g\. "
                                         r"'revised', 'first estimate', 'see note 3'\)[\s\S]*Fix: leave it out by "
                                         r"naming the columns to read, e\.g\. read_panel\(\.\.\., arrivals='arrivals', "
                                         r"departures='departures', population='population'\)[\s\S]*"
                                         r"table\.drop\(columns=\['comment'\]\)"):
        kz.read_panel(frame)
    panel = kz.read_panel(frame, arrivals="arrivals", departures="departures", population="population")
    assert any("columns not used: ['comment']" in note for note in panel.notes)
    # one stray word in a column of numbers is a cell to correct, not a text column
    with pytest.raises(PanelError, match=r"column 'arrivals': 1 cell\(s\) are not numbers"):
        kz.read_panel(counts(arrivals=(0, "abc")))


def test_read_options_of_the_wrong_kind():
    """Issue 14: allow_gaps must be a bool (not 'yes', not 1); value= names a wide table's variable, so on a
    long table (it has a year column) it is an error, not silently ignored; column names must be strings."""
    with pytest.raises(SpecificationError, match="allow_gaps='yes'. Fix: use allow_gaps=True"):
        kz.read_panel(counts(), allow_gaps="yes")
    with pytest.raises(SpecificationError, match="allow_gaps=1. Fix: use allow_gaps=True"):
        kz.read_panel(counts(), allow_gaps=1)
    with pytest.raises(SpecificationError, match=r"value='grp'[\s\S]*long[\s\S]*year column 'year'[\s\S]*Fix"):
        kz.read_panel(counts(), value="grp")
    with pytest.raises(SpecificationError, match="value=3; pass the name of the wide table's variable"):
        kz.read_panel(counts().drop(columns="year"), value=3)
    assert len(kz.read_panel(counts(), allow_gaps=np.bool_(True)).to_frame()) == 6


def test_a_dask_dataframe_is_read_like_its_pandas_twin():
    """Issue 15: read_panel takes a Dask DataFrame (several partitions, each with its own 0-based index)."""
    dd = pytest.importorskip("dask.dataframe")
    frame = counts()
    panel = kz.read_panel(dd.from_pandas(frame, npartitions=3))
    pd.testing.assert_frame_equal(panel.to_frame(), kz.read_panel(frame).to_frame())
    assert any("Dask DataFrame of 3 partition(s)" in note for note in panel.notes)


def test_a_table_larger_than_memory_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """Issue 15: a file or Dask DataFrame that cannot fit is a typed error naming the sizes and the fix,
    raised before the rows are read (here: the memory the system reports is made small)."""
    import kzcausal.panel.io as panel_io

    path = tmp_path / "panel.csv"
    counts().to_csv(path, index=False)
    monkeypatch.setattr(panel_io, "available_memory", lambda: 100)
    monkeypatch.setattr(pd, "read_csv", lambda *a, **k: pytest.fail("read before the size check"))
    with pytest.raises(DataFileError, match=r"panel.csv \(0.00 GiB\) needs about [\d.]+ GiB[\s\S]*Fix: keep only"):
        kz.read_panel(path)
    dd = pytest.importorskip("dask.dataframe")
    with pytest.raises(PanelError, match=r"the Dask DataFrame \(2 partition\(s\)[\s\S]*Fix: keep only"):
        kz.read_panel(dd.from_pandas(counts(), npartitions=2))
    monkeypatch.undo()
    free = panel_io.available_memory()
    assert free is None or free > 0
    assert kz.read_panel(path).regions == ["Akmola", "Zhambyl"]   # with the real figure it is read
