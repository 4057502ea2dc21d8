"""Property-based fuzzing of read_flows, and regression tests for what it found.

Generated origin -> destination tables hold known flows (whole persons), disguised as real
tables arrive: thousands separated by spaces, apostrophes, points or commas (with the matching
``decimal=``), ``None``/dashes, object/str/categorical/nullable dtypes, repeated or non-default
index labels, zero diagonal rows, column names that collide with the reader's own
(``_raw_region``, ``_raw_flow``, ``source``, ``quality``). The invariant: a ``KzCausalError``
naming the column and the fix, or a ``FlowTable`` whose flows are the intended numbers, where
every input row is a flow or is listed in ``dropped``, and the caller's DataFrame is unchanged.
"""

import re
import string
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kzcausal as kz
from kzcausal.errors import DroppedRowsWarning, KzCausalError, PanelError, SpecificationError

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
UNITS = ["Alpha", "Beta", "Gamma", "Delta", "Жамбыл-1"]
ALIASES = {"Akmola": ["Akmola", "Aqmola"], "Zhambyl": ["Zhambyl", "Jambyl"], "Kostanay": ["Kostanay", "Kostanayskaya"],
           "Pavlodar": ["Pavlodar", "Павлодарская"]}


def persons(count: int, style: str) -> object:
    """``count`` persons written one way; the decimal mark a reader needs is returned by ``decimal_for``."""
    digits = str(count)
    groups = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    if style == "int":
        return count
    if style == "float":
        return float(count)
    if style == "text":
        return str(count)
    if style == "text_point_zero":
        return f"{count}.0"
    separator = {"space": " ", "nbsp": "\u00a0", "apostrophe": "'", "comma": ",", "point": "."}[style]
    return separator.join(groups)


def decimal_for(styles: set[str]) -> str | None:
    """The ``decimal=`` that reads every cell right: '1,234' is 1234 only with decimal='.'."""
    if "comma" in styles:
        return "."
    if "point" in styles:
        return ","
    return None


@st.composite
def flow_tables(draw):
    kazakhstan = draw(st.booleans())
    pool = list(ALIASES) if kazakhstan else UNITS
    regions = draw(st.lists(st.sampled_from(pool), min_size=2, max_size=4, unique=True))
    years = draw(st.lists(st.integers(1995, 2025), min_size=1, max_size=2, unique=True))
    pairs = [(o, d, y) for y in years for o in regions for d in regions if o != d]
    listed = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=len(pairs), unique=True))
    counts = draw(st.lists(st.integers(0, 10**7), min_size=len(listed), max_size=len(listed)))
    diagonal = draw(st.lists(st.tuples(st.sampled_from(regions), st.sampled_from(years)), max_size=2, unique=True))
    styles = ["int", "float", "text", "space", "nbsp", "apostrophe", "text_point_zero"]
    styles += [draw(st.sampled_from(["comma", "point"]))]  # one thousands mark per table, read with decimal=
    rows = [(o, d, y, c) for (o, d, y), c in zip(listed, counts)] + [(r, r, y, 0) for r, y in diagonal]
    order = draw(st.permutations(range(len(rows))))
    rows = [rows[i] for i in order]
    cell_styles = draw(st.lists(st.sampled_from(styles), min_size=len(rows), max_size=len(rows)))
    if "point" in cell_styles:  # '2015.0' would be 20150 with decimal=','
        cell_styles = [s if s != "text_point_zero" else "text" for s in cell_styles]
    names = draw(st.sampled_from([("origin", "destination", "year", "flow"),
                                  ("region_emmigr", "region_immigr", "Year", "N"),
                                  ("_raw_region", "destination", "year", "_raw_flow"),
                                  ("source", "quality", "year", "flow")]))
    mode = draw(st.sampled_from(["object", "string", "category", "Int64", "float"]))
    if mode in ("string", "category") and "point" in cell_styles:  # the text '2.0' is no number with decimal=','
        cell_styles = [s if s != "float" else "text" for s in cell_styles]

    def spell(region):
        return draw(st.sampled_from(ALIASES[region])) if kazakhstan else region

    flows = [persons(c, s) for (*_, c), s in zip(rows, cell_styles)]
    if mode in ("Int64", "float"):
        flows = pd.array([c for *_, c in rows], dtype="Int64" if mode == "Int64" else "float64")
        cell_styles = ["int"] * len(rows)
    elif mode == "string":
        flows = pd.array([str(f) for f in flows], dtype="string")
    elif mode == "category":
        flows = pd.Categorical([str(f) for f in flows])
    table = pd.DataFrame({names[0]: [spell(o) for o, *_ in rows], names[1]: [spell(d) for _, d, *_ in rows],
                          names[2]: [draw(st.sampled_from([y, str(y), float(y)])) for *_, y, _ in rows],
                          names[3]: flows})
    quality = None
    if draw(st.booleans()):
        quality = "flag"
        kind = draw(st.sampled_from(["text", "category", "float", "none"]))
        values = [draw(st.sampled_from(["", "revised", None])) for _ in rows]
        table[quality] = {"text": pd.Series(values, dtype=object), "category": pd.Categorical(values),
                          "float": [draw(st.sampled_from([1.0, np.nan])) for _ in rows],
                          "none": [None] * len(rows)}[kind]
    index = draw(st.sampled_from(["default", "constant", "strings", "reversed"]))
    table.index = {"default": range(len(rows)), "constant": [3] * len(rows),
                   "strings": [f"r{i % 2}" for i in range(len(rows))],
                   "reversed": list(range(len(rows), 0, -1))}[index]
    expected = pd.DataFrame(rows, columns=["origin", "destination", "year", "flow"])
    options = dict(origin=names[0], destination=names[1], year=names[2], flow=names[3], quality=quality,
                   regions="kazakhstan" if kazakhstan else None, decimal=decimal_for(set(cell_styles)))
    return table, options, expected


@settings(max_examples=60, **SETTINGS)
@given(case=flow_tables())
def test_flow_tables_read_back_the_intended_persons(case):
    table, options, expected = case
    before = table.copy(deep=True)
    flows = kz.read_flows(table, **options)
    diagonal = expected["origin"] == expected["destination"]
    want = (expected.loc[~diagonal].sort_values(["year", "origin", "destination"]).reset_index(drop=True))
    got = flows.to_frame()
    keys = ["origin", "destination", "year"]
    assert got[keys].values.tolist() == want[keys].values.tolist()
    assert got["flow"].tolist() == want["flow"].tolist() and got["flow"].dtype == np.int64
    # every input row is a flow or listed in dropped (the zero diagonal)
    assert len(table) == len(flows) + len(flows.dropped)
    assert (flows.dropped["reason"] == "origin = destination (zero)").all() and len(flows.dropped) == diagonal.sum()
    assert all(q in ("", "revised", "1.0") for q in got["quality"])
    pd.testing.assert_frame_equal(table, before)
    flows.to_xarray()
    flows.summary()
    arrivals = want.groupby(["destination", "year"])["flow"].sum()
    departures = want.groupby(["origin", "year"])["flow"].sum()
    both = arrivals.index.intersection(departures.index)  # region-years that send and receive
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        if len(both) == 0:
            with pytest.raises(PanelError, match="no data rows"):
                flows.region_totals(missing="drop", derive=["net_migration"])
            return
        totals = flows.region_totals(missing="drop", derive=["net_migration"]).to_frame().set_index(["region", "year"])
    assert sorted(totals.index) == sorted(both)
    np.testing.assert_array_equal(totals.loc[both, "arrivals"], arrivals[both])
    np.testing.assert_array_equal(totals.loc[both, "departures"], departures[both])


CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**19, 10**19), st.booleans(), st.none(),
    st.sampled_from(["", "-", "None", "1 234", "1,234", "1.234", "1,234,567", "12%", "2.5", "inf", "Alpha", "Beta",
                     "Akmola", "Jambyl", "2015", "2015.0", "x", "origin"]),
    st.text(string.digits + ",. '%-", max_size=8))
NAMES = ["origin", "destination", "year", "flow", "quality", "source", "_raw_region", "_raw_flow", "", 2015]


@st.composite
def arbitrary_flow_tables(draw):
    n = draw(st.integers(0, 8))
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6))
    table = pd.DataFrame({i: [draw(CELLS) for _ in range(n)] for i in range(len(names))})
    table.columns = names
    if draw(st.booleans()) and len(table.columns):
        position = draw(st.integers(0, len(names) - 1))
        table.isetitem(position, table.iloc[:, position].astype(str).astype("category"))
    table.index = draw(st.sampled_from([list(range(n)), [0] * n, [f"r{i % 2}" for i in range(n)]]))
    return table


@settings(max_examples=150, **SETTINGS)
@given(table=arbitrary_flow_tables(), scheme=st.sampled_from(["kazakhstan", None]),
       quality=st.sampled_from([None, "quality", "source"]), decimal=st.sampled_from([None, ".", ","]),
       flow=st.sampled_from(["flow", "_raw_flow", "year"]))
def test_arbitrary_flow_tables_validate_or_raise(table, scheme, quality, decimal, flow):
    before = table.copy(deep=True)
    try:
        flows = kz.read_flows(table, flow=flow, quality=quality, regions=scheme, decimal=decimal)
    except KzCausalError as error:
        assert re.search(r"[Ff]ix|pass |use ", str(error)), str(error)
    else:
        frame = flows.to_frame()
        assert len(table) == len(flows) + len(flows.dropped)
        assert frame["flow"].dtype == np.int64 and (frame["flow"] >= 0).all()
        assert not frame.duplicated(["origin", "destination", "year"]).any()
        assert (frame["origin"] != frame["destination"]).all()
    pd.testing.assert_frame_equal(table, before)


# ----------------------------------------------------------------- regressions found by the fuzzing
def flows_frame(**columns):
    frame = pd.DataFrame({"origin": ["A", "B", "A"], "destination": ["B", "A", "A"], "year": [2010] * 3,
                          "flow": [1, 2, 0]})
    return frame.assign(**columns)


def test_huge_flows_are_an_error_not_a_negative_integer():
    """1e30 and 2**63 persons overflowed int64 to -9223372036854775808, silently."""
    for value in (1e30, 2.0**63):
        with pytest.raises(PanelError, match=r"too large[\s\S]*Fix"):
            kz.read_flows(flows_frame(flow=[value, 2, 0]), regions=None)


def test_boolean_years_and_flows_are_errors():
    """True was read as the year 1 and as one person."""
    with pytest.raises(PanelError, match=r"year column 'year'.*not whole years"):
        kz.read_flows(flows_frame(year=[True] * 3), regions=None)
    with pytest.raises(PanelError, match=r"column 'flow'.*True/False"):
        kz.read_flows(flows_frame(flow=[True, False, False]), regions=None)
    with pytest.raises(PanelError, match=r"column 'flow'.*True/False"):
        kz.read_flows(flows_frame(flow=[True, "2", 0]), regions=None)


def test_categorical_quality_column():
    """A categorical quality flag raised pandas' TypeError (fillna with a new category)."""
    flows = kz.read_flows(flows_frame(q=pd.Categorical(["x", None, "y"])), quality="q", regions=None)
    assert flows.to_frame()["quality"].tolist() == ["x", ""]


def test_a_table_without_any_flow_between_two_regions():
    """An empty table, or one with only zero diagonal rows, raised pandas' TypeError."""
    with pytest.raises(PanelError, match=r"no flows between two regions[\s\S]*Fix"):
        kz.read_flows(flows_frame().iloc[:0], regions=None)
    with pytest.raises(PanelError, match=r"1 row\(s\) with origin = destination"):
        kz.read_flows(flows_frame().iloc[2:], regions=None)


def test_one_column_for_two_roles():
    """flow='year' or destination='origin' gave a confusing 'non-zero diagonal' error."""
    with pytest.raises(SpecificationError, match=r"origin and destination both name the column 'origin'"):
        kz.read_flows(flows_frame(), destination="origin", regions=None)
    with pytest.raises(SpecificationError, match=r"year and flow both name the column 'year'"):
        kz.read_flows(flows_frame(), flow="year", regions=None)


def test_rows_without_a_region_name_are_shown():
    """The message showed an empty frame ('Empty DataFrame ... Index: [0]') instead of the row."""
    with pytest.raises(PanelError, match=r"origin column 'origin': 1 row\(s\) without a region name:\n.*destination"):
        kz.read_flows(flows_frame(origin=[None, "B", "A"]), regions=None)


def test_thousands_separators_and_the_decimal_mark():
    """'1,234,567' persons was 'not a number'; '1,234' is 1.234 unless decimal='.' says otherwise."""
    flows = kz.read_flows(flows_frame(flow=["1,234,567", "1.234.567", 0]), regions=None)
    assert flows.to_frame()["flow"].tolist() == [1234567, 1234567]
    with pytest.raises(PanelError, match=r"not whole numbers[\s\S]*'1,234'[\s\S]*decimal='.'"):
        kz.read_flows(flows_frame(flow=["1,234", "2", 0]), regions=None)
    assert kz.read_flows(flows_frame(flow=["1,234", "2", 0]), regions=None, decimal=".").to_frame()["flow"].tolist() \
        == [1234, 2]
    assert kz.read_flows(flows_frame(flow=["1.234", "2", 0]), regions=None, decimal=",").to_frame()["flow"].tolist() \
        == [1234, 2]
    with pytest.raises(PanelError, match=r"percentages, not persons"):
        kz.read_flows(flows_frame(flow=["12%", "2", 0]), regions=None)


def test_region_totals_of_flows_that_only_leave_or_only_arrive():
    """A region that only sends in the listed pairs has no arrivals: the error said 'pass missing="drop"',
    which region_totals did not take; zero departures said 'pass derive=[...]', which it did not take either."""
    flows = kz.read_flows(pd.DataFrame({"origin": ["A", "B", "A"], "destination": ["B", "A", "C"],
                                        "year": [2010] * 3, "flow": [5, 3, 0]}), regions=None)
    with pytest.raises(PanelError, match="missing='drop'"):
        flows.region_totals()
    with pytest.warns(DroppedRowsWarning):
        totals = flows.region_totals(missing="drop")
    assert totals.regions == ["A", "B"] and totals.dropped["reason"].tolist() == ["missing departures"]
    assert totals["attractiveness_index"].tolist() == [3 / 5, 5 / 3]
    both = kz.read_flows(pd.DataFrame({"origin": ["A", "B"], "destination": ["B", "A"], "year": [2010, 2010],
                                       "flow": [5, 0]}), regions=None)
    with pytest.raises(PanelError, match=r"zero[\s\S]*derive="):
        both.region_totals()
    panel = both.region_totals(derive=["net_migration"])
    assert panel.to_frame()[["region", "arrivals", "departures", "net_migration"]].values.tolist() == [
        ["A", 0.0, 5.0, -5.0], ["B", 5.0, 0.0, 5.0]]
