"""Property-based fuzzing of the report's YAML specification (read_spec and ``kzcausal report --spec``).

Valid specifications read back exactly; a valid one with one value of the wrong type (a boolean
for a number, a number for text, a float for a year, text for a list, a nested mapping, null)
is a ``SpecificationError`` that names the key; any text at all is a spec or a typed error,
never a traceback. Regression tests for what the fuzzing found are at the end.
"""

import datetime
import tempfile
from pathlib import Path
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kzcausal.cli import app
from kzcausal.errors import KzCausalError, SpecificationError
from kzcausal.report import ReportSpec, read_spec
from kzcausal.report.build import READ_KEYS, SPEC_KEYS

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
names = st.text(st.characters(categories=("L", "N"), include_characters="_ -"), min_size=1, max_size=12).filter(
    lambda s: s.strip() and not s.strip().isdigit())


@st.composite
def valid_specs(draw):
    spec = {"outcome": draw(names)}
    if draw(st.booleans()):
        spec["first_treated"] = draw(names)
    else:
        spec["treated_regions"] = draw(st.lists(names, min_size=1, max_size=3, unique=True))
        spec["post_from"] = draw(st.integers(1990, 2030))
    for key in ("leads", "lags"):
        if draw(st.booleans()):
            spec[key] = draw(st.integers(1, 10))
    if draw(st.booleans()):
        spec["elasticity"] = {"outcome": draw(names), "index": draw(names)}
        if draw(st.booleans()):
            spec["elasticity"]["factor_regions"] = draw(st.lists(names, max_size=2))
    optional = {
        "title": names, "region_names": st.sampled_from(["any", "kazakhstan"]), "region": names, "year": names,
        "value": names, "decimal": st.sampled_from([".", ","]), "header_row": st.integers(0, 50),
        "sheet": st.one_of(names, st.integers(0, 5)), "missing": st.sampled_from(["raise", "drop"]),
        "allow_gaps": st.booleans(),
        "columns": st.dictionaries(st.sampled_from(["grp", "population", "y", "treated"]), names, min_size=1),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            spec[key] = draw(strategy)
    return spec


def write(text: str | bytes) -> Path:
    folder = Path(tempfile.mkdtemp())
    path = folder / "spec.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@settings(max_examples=150, **SETTINGS)
@given(raw=valid_specs())
def test_valid_specs_read_back_exactly(raw):
    spec, back = read_spec(write(yaml.safe_dump(raw, allow_unicode=True)))
    assert back == raw
    assert isinstance(spec, ReportSpec) and spec.outcome == raw["outcome"]
    assert spec.first_treated == raw.get("first_treated", "first_treated")
    assert (spec.leads, spec.lags) == (raw.get("leads", 3), raw.get("lags", 5))
    elasticity = raw.get("elasticity", {})
    assert (spec.elasticity_outcome, spec.elasticity_index) == (elasticity.get("outcome"), elasticity.get("index"))
    assert spec.factor_regions == tuple(elasticity.get("factor_regions", ()))
    options = dict(spec.read_options)
    assert options.pop("regions") == (None if raw.get("region_names") == "any" else "kazakhstan")
    columns = raw.get("columns", {})
    assert options == {**{k: raw[k] for k in READ_KEYS if k in raw and k != "columns"}, **columns}


WRONG = {
    "outcome": [True, 3, 2.5, ["y"], {"a": 1}, None, "", "  ", datetime.date(2015, 1, 1)],
    "first_treated": [False, 2014, ["f"], {"a": "b"}, None, ""],
    "leads": [True, False, 0, -1, 2.5, "3", None, [3], {"n": 3}],
    "lags": [True, 0, 3.0, "five", None],
    "post_from": [True, 2014.0, 2014.5, "2014", None, [2014], {"year": 2014}],
    "treated_regions": ["Akmola", [], [1], [["A"]], {"A": 1}, None, True, [None]],
    "elasticity": [[], "x", 3, True, {"outcome": "g"}, {"outcome": 3, "index": "i"}, {"outcome": "g", "index": None},
                   {"outcome": "g", "index": "i", "factor_regions": "A"},
                   {"outcome": "g", "index": "i", "factor_regions": [1]}, {"outcome": "g", "index": "i", "extra": 1}],
    "title": [3, None, True, ["t"], {"t": 1}],
    "region_names": ["all", None, True, ["any"], 1],
    "region": [True, 3, None, "", ["state"], {"name": "state"}],
    "year": [2015, 2015.0, None, False, ["year"]],
    "value": [1, None, ["grp"], True],
    "decimal": [";", 1, 0.5, None, True, [","], "comma"],
    "header_row": [True, False, -1, 1.0, 2.5, "2", None, [2]],
    "sheet": [True, -1, 1.5, None, [0], "", {"name": "x"}],
    "missing": ["ignore", True, None, 0],
    "allow_gaps": ["yes", 1, 0, None, "true", [True]],
    "columns": ["grp", [], {}, {"grp": 3}, {"units": "x"}, {"": "x"}, {"grp": None}, None, {"value": "v"}],
}


@settings(max_examples=250, **SETTINGS)
@given(raw=valid_specs(), data=st.data())
def test_one_value_of_the_wrong_type_is_a_typed_error_naming_the_key(raw, data):
    key = data.draw(st.sampled_from(sorted(WRONG)))
    raw[key] = data.draw(st.sampled_from(WRONG[key]))
    if key == "post_from":
        raw.pop("first_treated", None)
        raw.setdefault("treated_regions", ["A"])
    if key == "treated_regions":
        raw.pop("first_treated", None)
        raw.setdefault("post_from", 2014)
    with pytest.raises(SpecificationError) as caught:
        read_spec(write(yaml.safe_dump(raw, allow_unicode=True)))
    assert key in str(caught.value), (key, raw[key], str(caught.value))


@settings(max_examples=60, **SETTINGS)
@given(raw=valid_specs(), extra=st.one_of(st.sampled_from(["Outcome", "lead", "region_name", "decimals", "data"]),
                                          st.integers(), st.none(), st.booleans()))
def test_unknown_keys_are_named(raw, extra):
    raw[extra] = "x"
    with pytest.raises(SpecificationError, match="unknown key"):
        read_spec(write(yaml.safe_dump(raw, allow_unicode=True)))


@settings(max_examples=300, **SETTINGS)
@given(text=st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=80),
    st.lists(st.tuples(st.sampled_from(sorted(SPEC_KEYS) + ["x", "3", "null", "? [a]"]),
                       st.sampled_from(["y", "3", "2014.0", "true", "null", "[a, b]", "{a: 1}", "[", "'", "- a",
                                        "&x y", "*x", "!!python/object:os.system x", "2015-01-01", "0x10", '","'])),
             max_size=6).map(lambda pairs: "\n".join(f"{k}: {v}" for k, v in pairs)),
    st.binary(max_size=40)))
def test_any_text_is_a_spec_or_a_typed_error(text):
    try:
        spec, raw = read_spec(write(text))
    except KzCausalError as error:
        assert str(error)
    else:
        assert isinstance(spec.outcome, str) and spec.outcome.strip()
        assert isinstance(spec.leads, int) and not isinstance(spec.leads, bool) and spec.leads >= 1
        assert all(isinstance(r, str) for r in spec.factor_regions)


@settings(max_examples=25, **SETTINGS)
@given(raw=valid_specs(), data=st.data())
def test_the_command_line_answers_a_wrong_spec_with_one_line_and_exit_2(raw, data):
    key = data.draw(st.sampled_from(sorted(WRONG)))
    raw[key] = data.draw(st.sampled_from(WRONG[key]))
    path = write(yaml.safe_dump(raw, allow_unicode=True))
    table = path.parent / "d.csv"
    table.write_text("region,year,y\nA,2010,1\n", encoding="utf-8")
    with mock.patch("kzcausal.report.build_report", side_effect=AssertionError("the spec passed")):
        result = CliRunner().invoke(app, ["report", "--data", str(table), "--spec", str(path),
                                          "--out", str(path.parent / "out")])
    assert result.exit_code == 2 and "error:" in result.output and "Traceback" not in result.output, result.output


# ----------------------------------------------------------------- regressions found by the fuzzing
def test_spec_that_is_not_utf8_text():
    """A spec file with invalid UTF-8 raised UnicodeDecodeError instead of a typed error."""
    with pytest.raises(SpecificationError, match="not UTF-8 text"):
        read_spec(write(b"\xff\xfe\x00outcome: y"))


def test_unknown_keys_of_mixed_types():
    """Unknown keys 3 and null made sorted() raise TypeError while building the message."""
    with pytest.raises(SpecificationError, match=r"unknown key\(s\) \[3, None\]"):
        read_spec(write("outcome: y\nfirst_treated: f\n3: x\nnull: y\n"))


def test_elasticity_values_are_checked():
    """factor_regions: Akmola became the regions ('A', 'k', 'm', 'o', 'l', 'a'); an elasticity with only an
    outcome, or with numbers for columns, or with unknown keys was accepted (and later silently skipped)."""
    base = "outcome: y\nfirst_treated: f\nelasticity: "
    for value in ("{outcome: grp, index: imp, factor_regions: Akmola}",
                  "{outcome: grp, index: imp, factor_regions: [1]}", "{outcome: grp}", "{outcome: 3, index: [a]}",
                  "{outcome: grp, index: imp, bogus: 1}", "[]", "''"):
        with pytest.raises(SpecificationError, match="elasticity"):
            read_spec(write(base + value + "\n"))
    spec, _ = read_spec(write(base + "{outcome: grp, index: imp, factor_regions: [Zhambyl, Almaty region]}\n"))
    assert spec.factor_regions == ("Zhambyl", "Almaty region")
    for off in ("null", "false"):
        assert read_spec(write(base + off + "\n"))[0].elasticity_outcome is None


def test_post_from_without_treated_regions_and_blank_columns():
    """post_from with first_treated was silently ignored; outcome: '' was accepted."""
    with pytest.raises(SpecificationError, match="'post_from' goes with 'treated_regions'"):
        read_spec(write("outcome: y\nfirst_treated: f\npost_from: 2014\n"))
    with pytest.raises(SpecificationError, match="'outcome' must be text"):
        read_spec(write("outcome: '  '\nfirst_treated: f\n"))
