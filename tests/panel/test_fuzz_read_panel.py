"""Property-based fuzzing of read_panel: tables built from known numbers, then disguised.

Each generated table renders an intended panel (regions, years, numbers with missing values)
the way real tables arrive: decimal commas, thousands separated by spaces, points, commas or
apostrophes, percent signs, dashes and ``None`` for missing cells, object/str/categorical/
nullable dtypes, long or wide layouts, repeated or non-default index labels, blank and
repeated-header rows, column names that collide with the reader's own helper columns. The
invariant: either a ``KzCausalError`` whose message names the column and says the fix, or a
panel whose values are the intended numbers, where every input row is kept or listed in
``panel.dropped``, and the caller's DataFrame is unchanged. (``test_hypothesis.py`` checks
that arbitrary tables validate or raise; this file checks that the values are right.)
"""

import re
import string
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kzcausal as kz
from kzcausal.errors import KzCausalError, PanelError, SpecificationError

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
UNITS = ["Alpha", "Beta", "Gamma", "Delta", "Жамбыл-1", "Region 07", "Île"]
# Kazakhstan regions without boundary changes, each with spellings the reader must map to it.
ALIASES = {
    "Akmola": ["Akmola", "Aqmola", "Акмолинская область"],
    "Zhambyl": ["Zhambyl", "Jambyl", "Жамбылская область"],
    "Kostanay": ["Kostanay", "Kostanayskaya"],
    "Mangystau": ["Mangystau", "Mangistau"],
    "Pavlodar": ["Pavlodar", "Павлодарская"],
    "North Kazakhstan": ["North Kazakhstan", "North-Kazakhstan"],
}
MISSING_CELLS = [None, np.nan, pd.NA, "", "-", "–", "—", "…", "..", "x", "None", "NA", "n/a", "N/A", "null",
                 "NaN"]
STYLES = ["float", "plain", "comma", "space_comma", "nbsp_comma", "point_comma", "comma_point", "apostrophe",
          "percent", "minus_sign"]
WORDS = ["good year", "see note 3", "revised", "estimate (BNS)", "n.d. - check"]


def grouped(value: float, separator: str, decimal: str) -> str:
    """``value`` with its thousands separated and two decimals: grouped(1234.5, ' ', ',') == '1 234,50'."""
    whole, fraction = f"{abs(value):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return ("-" if value < 0 else "") + separator.join(groups) + decimal + fraction


def render(value: float, style: str) -> object:
    """One cell holding ``value`` (exactly two decimals) in one of the formats tables use."""
    if style == "float":
        return value
    if style == "plain":
        return f"{value:.2f}"
    if style == "comma":
        return f"{value:.2f}".replace(".", ",")
    if style == "space_comma":
        return grouped(value, " ", ",")
    if style == "nbsp_comma":
        return grouped(value, "\u00a0", ",")
    if style == "point_comma":
        return grouped(value, ".", ",")
    if style == "comma_point":
        return grouped(value, ",", ".")
    if style == "apostrophe":
        return grouped(value, "'", ".")
    if style == "percent":
        return f"{value:.2f}%"
    if style == "minus_sign":
        return grouped(value, " ", ",").replace("-", "\u2212")
    raise AssertionError(style)


@st.composite
def intended_panels(draw):
    """The panel a table is meant to hold: regions x years, variables with missing values."""
    kazakhstan = draw(st.booleans())
    pool = list(ALIASES) if kazakhstan else UNITS
    regions = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4, unique=True))
    first = draw(st.integers(1995, 2025))
    years = list(range(first, first + draw(st.integers(1, 4))))
    names = draw(st.lists(st.sampled_from(["grp", "population", "score", "rate", "_n", "reason", "cohort"]),
                          min_size=1, max_size=3, unique=True))
    rows = [(r, y) for r in regions for y in years]
    values = {}
    for name in names:
        count = name in ("grp", "population")
        low = 1 if name == "population" else (0 if count else -10**8)
        cells = draw(st.lists(st.integers(low, 10**9), min_size=len(rows), max_size=len(rows)))
        missing = draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows)))
        values[name] = [np.nan if gone else cents / 100 for cents, gone in zip(cells, missing)]
    return kazakhstan, rows, values


def to_column(draw, cells: list, styles: list[str], objects: bool) -> tuple[pd.Series, bool]:
    """The cells of one variable in a dtype: object (any style), str, categorical, float or nullable float."""
    mode = "object" if objects else draw(st.sampled_from(["object", "string", "category", "float", "Float64"]))
    percent = False
    if mode in ("float", "Float64"):
        data = pd.array([np.nan if np.isnan(v) else v for v in cells], dtype="float64")
        return pd.Series(data if mode == "float" else pd.array(
            [pd.NA if np.isnan(v) else v for v in cells], dtype="Float64")), False
    rendered = []
    for value, style in zip(cells, styles):
        if np.isnan(value):
            rendered.append(draw(st.sampled_from(MISSING_CELLS)) if mode == "object"
                            else draw(st.sampled_from([None, "-", "…", ""])))
        else:
            if mode != "object" and style == "float":
                style = "plain"
            percent |= style == "percent"
            rendered.append(render(value, style))
    if mode == "string":
        return pd.Series(pd.array(rendered, dtype="string")), percent
    if mode == "category":
        return pd.Series(pd.Categorical([None if c is pd.NA else c for c in rendered])), percent
    return pd.Series(rendered, dtype=object), percent


INDEXES = ["default", "constant", "repeated", "strings", "reversed", "multi"]


def with_index(table: pd.DataFrame, kind: str) -> pd.DataFrame:
    n = len(table)
    if kind == "constant":
        table.index = [7] * n
    elif kind == "repeated":
        table.index = [i // 2 for i in range(n)]
    elif kind == "strings":
        table.index = [f"r{i % 3}" for i in range(n)]
    elif kind == "reversed":
        table.index = list(range(n, 0, -1))
    elif kind == "multi":
        table.index = pd.MultiIndex.from_arrays([[i % 2 for i in range(n)], [0] * n])
    return table


def blank_row(table: pd.DataFrame) -> pd.DataFrame:
    """One row with nothing in it, each cell the missing value of its column's dtype."""
    cells = {c: [None] if table[c].dtype == object else pd.array([None], dtype=table[c].dtype)
             if not pd.api.types.is_integer_dtype(table[c].dtype) or isinstance(table[c].dtype, pd.Int64Dtype)
             else [np.nan] for c in table.columns}
    return pd.DataFrame(cells, columns=table.columns)


def assert_typed(error: KzCausalError, *names: str) -> None:
    message = str(error)
    assert re.search(r"[Ff]ix|pass |use ", message), message
    if names:
        assert any(repr(str(n)) in message or str(n) in message for n in names), (names, message)


@st.composite
def long_tables(draw):
    """A long table rendering an intended panel, and what read_panel must make of it."""
    kazakhstan, rows, values = draw(intended_panels())
    objects = draw(st.booleans())  # object columns can hold repeated header rows
    region_col = draw(st.sampled_from(["region", "Регион", "state", "_raw_region", "year_raw", " Region "]))
    year_col = draw(st.sampled_from(["year", "Год", "yr", "period"]))
    names = list(values)
    labels = {n: draw(st.sampled_from([n, n.upper(), f"{n} (units)", f" {n}"])) for n in names}
    mapped = draw(st.booleans())
    if not mapped:
        labels = {n: n for n in names}
    order = draw(st.permutations(range(len(rows))))
    columns, percent = {}, {}
    region_cells = []
    for i in order:
        region = rows[i][0]
        spelled = draw(st.sampled_from(ALIASES[region])) if kazakhstan else region
        region_cells.append(draw(st.sampled_from([spelled, f" {spelled}  "])))
    columns[region_col] = pd.Series(region_cells, dtype=object)
    year_style = draw(st.sampled_from(["int", "str", "float", "padded", "category", "Int64", "float_str"]))
    years = [rows[i][1] for i in order]
    columns[year_col] = {
        "int": pd.Series(years), "str": pd.Series([str(y) for y in years], dtype=object),
        "float": pd.Series([float(y) for y in years]), "padded": pd.Series([f" {y} " for y in years], dtype=object),
        "category": pd.Series(pd.Categorical(years)), "Int64": pd.Series(pd.array(years, dtype="Int64")),
        "float_str": pd.Series([f"{y}.0" for y in years], dtype=object)}[year_style]
    for name in names:
        cells = [values[name][i] for i in order]
        styles = draw(st.lists(st.sampled_from(STYLES), min_size=len(cells), max_size=len(cells)))
        if name in ("grp", "population"):  # counts: never negative, so no minus sign
            styles = [s if s != "minus_sign" else "plain" for s in styles]
        columns[labels[name]], percent[name] = to_column(draw, cells, styles, objects)
    comment = draw(st.booleans())
    if comment:
        columns["comment"] = pd.Series([draw(st.sampled_from(WORDS)) for _ in order], dtype=object)
    table = pd.DataFrame(columns)
    if objects:
        table = table.astype(object)
    # blank rows anywhere; repeated header rows (a table split over pages) where the cells are objects
    extra = draw(st.lists(st.tuples(st.integers(0, len(table)), st.sampled_from(["blank", "header"])), max_size=3))
    for position, kind in sorted(extra, reverse=True):
        if kind == "header" and not objects:
            kind = "blank"
        line = (pd.DataFrame([{c: c for c in table.columns}], columns=table.columns, dtype=object)
                if kind == "header" else blank_row(table))
        table = pd.concat([table.iloc[:position], line, table.iloc[position:]], ignore_index=True)
    blank = sum(kind == "blank" or not objects for _, kind in extra)
    header = len(extra) - blank
    table = with_index(table, draw(st.sampled_from(INDEXES)))
    expected = pd.DataFrame({"region": [rows[i][0] for i in order], "year": years,
                             **{n: [values[n][i] for i in order] for n in names}})
    options = dict(region=region_col, year=year_col, regions="kazakhstan" if kazakhstan else None,
                   derive=[], allow_gaps=True, missing=draw(st.sampled_from(["raise", "drop"])))
    if mapped:
        options.update({n: labels[n] for n in names})
    return table, options, expected, dict(blank=blank, header=header, comment=comment and not mapped,
                                          percent=[n for n in names if percent[n]])


@pytest.mark.filterwarnings("ignore::kzcausal.errors.DroppedRowsWarning")
@settings(max_examples=100, **SETTINGS)
@given(case=long_tables())
def test_long_tables_read_back_the_intended_numbers(case):
    table, options, expected, extra = case
    before = table.copy(deep=True)
    counts = [c for c in ("grp", "population") if c in expected]
    missing_counts = expected[counts].isna().any(axis=1) if counts else pd.Series(False, index=expected.index)
    try:
        panel = kz.read_panel(table, **options)
    except PanelError as error:
        if extra["comment"]:
            assert_typed(error, "comment")
            assert "holds text" in str(error) or "not numbers" in str(error)
        elif options["missing"] == "drop":  # every row had a missing count
            assert missing_counts.all() and "no data rows" in str(error), error
        else:
            assert missing_counts.any() and "missing='drop'" in str(error), error
        pd.testing.assert_frame_equal(table, before)
        return
    assert not extra["comment"], "a column of free text was read as numbers"
    kept = expected.loc[~missing_counts.to_numpy()] if options["missing"] == "drop" else expected
    assert options["missing"] == "drop" or not missing_counts.any()
    got = panel.to_frame()
    want = kept.sort_values(["region", "year"]).reset_index(drop=True)
    assert panel.variables == [c for c in expected.columns if c not in ("region", "year")]
    assert got["region"].tolist() == want["region"].tolist() and got["year"].tolist() == want["year"].tolist()
    for name in panel.variables:
        np.testing.assert_array_equal(got[name].to_numpy(float), want[name].to_numpy(float), err_msg=name)
    # every input row is kept or listed in panel.dropped, with its reason
    assert len(table) == len(panel) + len(panel.dropped)
    reasons = panel.dropped["reason"].tolist()
    assert reasons.count("blank row") == extra["blank"] and reasons.count("repeated header row") == extra["header"]
    assert sum(r.startswith("missing") for r in reasons) == int(missing_counts.sum()) * (options["missing"] == "drop")
    for name in extra["percent"]:
        assert panel.units.get(name) == "percent" and any("percent sign" in n for n in panel.notes)
    pd.testing.assert_frame_equal(table, before)
    panel.to_xarray()
    panel.summary()


@st.composite
def wide_tables(draw):
    """A wide table (one row per region, one column per year) for one variable."""
    kazakhstan, rows, values = draw(intended_panels())
    name = draw(st.sampled_from(list(values)))
    regions = list(dict.fromkeys(r for r, _ in rows))
    years = list(dict.fromkeys(y for _, y in rows))
    grid = np.array(values[name], dtype=float).reshape(len(regions), len(years))
    region_col = draw(st.sampled_from(["Region", "Регион", "year_raw", "_raw_region", name]))
    label_style = draw(st.sampled_from(["int", "str", "float", "padded"]))
    label = {"int": int, "str": str, "float": float, "padded": lambda y: f" {y} "}[label_style]
    objects = draw(st.booleans())
    columns = {region_col: pd.Series([draw(st.sampled_from(ALIASES[r])) if kazakhstan else r for r in regions],
                                     dtype=object)}
    percent = False
    for j, y in enumerate(years):
        styles = draw(st.lists(st.sampled_from(STYLES), min_size=len(regions), max_size=len(regions)))
        if name in ("grp", "population"):
            styles = [s if s != "minus_sign" else "plain" for s in styles]
        columns[label(y)], has_percent = to_column(draw, list(grid[:, j]), styles, objects)
        percent |= has_percent
    if draw(st.booleans()):
        columns["note"] = pd.Series([draw(st.sampled_from(WORDS)) for _ in regions], dtype=object)
    table = pd.DataFrame(columns)
    blank = draw(st.integers(0, 2))
    for _ in range(blank):
        position = draw(st.integers(0, len(table)))
        line = blank_row(table)
        table = pd.concat([table.iloc[:position], line, table.iloc[position:]], ignore_index=True)
    table = with_index(table, draw(st.sampled_from(INDEXES)))
    expected = pd.DataFrame({"region": np.repeat(regions, len(years)), "year": np.tile(years, len(regions)),
                             name: grid.ravel()})
    options = dict(region=region_col, value=name, regions="kazakhstan" if kazakhstan else None, derive=[],
                   allow_gaps=True, missing=draw(st.sampled_from(["raise", "drop"])))
    return table, options, expected, blank, len(years), percent


@pytest.mark.filterwarnings("ignore::kzcausal.errors.DroppedRowsWarning")
@settings(max_examples=60, **SETTINGS)
@given(case=wide_tables())
def test_wide_tables_read_back_the_intended_numbers(case):
    table, options, expected, blank, n_years, percent = case
    name = options["value"]
    before = table.copy(deep=True)
    missing = expected[name].isna().to_numpy() & (name in ("grp", "population"))
    try:
        panel = kz.read_panel(table, **options)
    except PanelError as error:
        if options["missing"] == "drop":
            assert missing.all() and "no data rows" in str(error), error
        else:
            assert missing.any() and "missing='drop'" in str(error), error
        assert_typed(error)
        pd.testing.assert_frame_equal(table, before)
        return
    want = expected.loc[~missing].sort_values(["region", "year"]).reset_index(drop=True)
    got = panel.to_frame()
    assert got["region"].tolist() == want["region"].tolist() and got["year"].tolist() == want["year"].tolist()
    np.testing.assert_array_equal(got[name].to_numpy(float), want[name].to_numpy(float))
    # rows in: each region row is n_years region-years; a blank row is one dropped row
    reasons = panel.dropped["reason"].tolist()
    assert reasons.count("blank row") == blank
    assert (len(table) - blank) * n_years == len(panel) + (len(reasons) - blank)
    assert (panel.units.get(name) == "percent") == percent
    pd.testing.assert_frame_equal(table, before)


# ----------------------------------------------------------------- arbitrary tables
NAMES = ["region", "year", "grp", "population", "_raw_region", "year_raw", "in_panel", "_n", "", " region", "2015",
         2015, 2016.0, "2016", 0, "Region", "comment"]
CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**19, 10**19), st.booleans(), st.none(),
    st.just(pd.NA), st.sampled_from(MISSING_CELLS + ["1 234,5", "1.234,5", "1,234.5", "1.234.567", "1,234,567", "12%",
                                                     "1'234", "−3", "inf", "-inf", "(5)", "1 2", "2015", "2015.0",
                                                     "Akmola", "Jambyl", "region", "year", "abc", " "]),
    st.text(string.digits + ",. '%-", max_size=8))


@st.composite
def arbitrary_tables(draw):
    n = draw(st.integers(0, 8))
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5))
    table = pd.DataFrame({i: [draw(CELLS) for _ in range(n)] for i in range(len(names))})
    table.columns = names  # possibly repeated: must be reported, not mangled
    for position in draw(st.lists(st.integers(0, len(names) - 1), max_size=2, unique=True)):
        kind = draw(st.sampled_from(["category", "bool", "Int64", "string"]))
        column = table.iloc[:, position]
        try:
            with np.errstate(invalid="ignore"):
                converted = {"category": lambda c: c.astype(str).astype("category"), "bool": lambda c: c.notna(),
                             "Int64": lambda c: pd.to_numeric(c, errors="coerce").round().astype("Int64"),
                             "string": lambda c: c.astype(str).astype("string")}[kind](column)
        except (TypeError, ValueError, OverflowError):
            continue
        table.isetitem(position, converted)
    return with_index(table, draw(st.sampled_from(INDEXES)))


@pytest.mark.filterwarnings("ignore::kzcausal.errors.DroppedRowsWarning")
@settings(max_examples=150, **SETTINGS)
@given(table=arbitrary_tables(), region=st.sampled_from(["region", "Region", "_raw_region", 2015, "comment"]),
       year=st.sampled_from(["year", "2015", "region"]), value=st.sampled_from([None, "grp", "year", "in_panel"]),
       scheme=st.sampled_from(["kazakhstan", None]), missing=st.sampled_from(["raise", "drop"]),
       decimal=st.sampled_from([None, ".", ","]))
def test_arbitrary_tables_validate_or_raise_and_account_for_every_row(table, region, year, value, scheme, missing,
                                                                      decimal):
    before = table.copy(deep=True)
    try:
        panel = kz.read_panel(table, region=region, year=year, value=value, regions=scheme, missing=missing,
                              allow_gaps=True, decimal=decimal)
    except KzCausalError as error:
        assert_typed(error)
    else:
        frame = panel.to_frame()
        assert not frame.duplicated(["region", "year"]).any() and frame["year"].dtype == np.int64
        for column in panel.variables:
            assert not np.isinf(frame[column].to_numpy(float)).any()
        reasons = panel.dropped["reason"].tolist()
        whole_rows = sum(r in ("blank row", "repeated header row") for r in reasons)
        if year in table.columns:
            assert len(table) == len(panel) + len(reasons)
        else:
            years = sum(kz.panel.io.is_year_label(c) and c != region for c in table.columns)
            assert (len(table) - whole_rows) * years == len(panel) + len(reasons) - whole_rows
        panel.to_xarray()
    pd.testing.assert_frame_equal(table, before)


# ----------------------------------------------------------------- files with titles above the header
@st.composite
def files_with_titles(draw):
    rows = draw(st.lists(st.tuples(st.sampled_from(UNITS), st.integers(2000, 2020),
                                   st.integers(0, 10**8)), min_size=1, max_size=6,
                         unique_by=lambda r: (r[0], r[1])))
    separator = draw(st.sampled_from([";", "\t", ","]))
    style = draw(st.sampled_from(["space_comma", "point_comma", "comma", "plain"] if separator != "," else
                                 ["plain", "apostrophe"]))
    titles = draw(st.lists(st.sampled_from(["", "Table 1. Gross regional product", "mln tenge; current prices",
                                            "Source: BNS, 2024", "   "]), max_size=3))
    lines = titles + [separator.join(["region", "year", "grp"])]
    lines += [separator.join([r, str(y), render(cents / 100, style)]) for r, y, cents in rows]
    expected = pd.DataFrame(rows, columns=["region", "year", "grp"]).assign(grp=lambda t: t["grp"] / 100)
    return "\n".join(lines) + "\n", len(titles), expected


@settings(max_examples=30, **SETTINGS)
@given(case=files_with_titles(), region=st.sampled_from(["region", "state"]))
def test_title_lines_above_a_csv_header_name_the_header_row(case, region):
    text, n_titles, expected = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        path.write_text(text, encoding="utf-8")
        if n_titles:
            with pytest.raises(PanelError, match=rf"header_row={n_titles}\b"):
                kz.read_panel(path, region=region, regions=None, allow_gaps=True)
        elif region == "state":
            with pytest.raises(PanelError, match="no region column 'state'"):
                kz.read_panel(path, region=region, regions=None, allow_gaps=True)
        if region == "state":
            return
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            panel = kz.read_panel(path, regions=None, allow_gaps=True, header_row=n_titles, derive=[])
    want = expected.sort_values(["region", "year"]).reset_index(drop=True)
    got = panel.to_frame()
    assert got["region"].tolist() == want["region"].tolist() and got["year"].tolist() == want["year"].tolist()
    np.testing.assert_array_equal(got["grp"].to_numpy(), want["grp"].to_numpy())


def test_spec_errors_are_typed():
    """Options of the wrong type are SpecificationErrors, before any data are read."""
    frame = pd.DataFrame({"region": ["A"], "year": [2020], "y": [1.0]})
    for options in ({"header_row": True}, {"header_row": -1}, {"sheet": 1.5}, {"decimal": ";"}, {"decimal": True},
                    {"region": "region", "year": "region"}):
        with pytest.raises(SpecificationError):
            kz.read_panel(frame, regions=None, **options)
