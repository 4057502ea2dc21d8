"""User text in outputs (kzcausal.text): every writer shows names as the text they are, never as markup."""

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kzcausal as kz
from kzcausal import text
from kzcausal.errors import PanelError, SpecificationError

matplotlib.use("Agg")

HOSTILE = ["<script>alert(1)</script>", "a|b", "two\nlines\n\nblank", "**bold** _it_ `code` [l](x)", "$\\alpha^2$",
           "$\\undefinedmacro$", "x\x00\x07\x1b]0;title\x07", "R&D 50% #1 ~ ^ { } \\input{x}", "é" * 300]


@given(st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_any_text_is_one_safe_line_in_every_format(name):
    for out in (text.clean(name), text.html(name), text.markdown(name), text.latex(name)):
        assert "\n" not in out and "\r" not in out
        assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in out)
    assert "<" not in text.html(name) and "<" not in text.markdown(name)
    md = text.markdown(name)
    assert all(md[i - 1] == "\\" for i, c in enumerate(md) if c == "|")  # a pipe never ends a table cell
    tex = text.latex(name)
    for command in ("textbackslash", "textasciitilde", "textasciicircum", "textless", "textgreater", "textbar"):
        tex = tex.replace(f"\\{command}{{}}", "")
    for special in "&%$#_{}":  # every TeX special is escaped
        assert all(tex[i - 1] == "\\" for i, c in enumerate(tex) if c == special)


def test_long_names_are_shortened_and_marked():
    out = text.clean("x" * 100_000)
    assert len(out) < 300 and "99,800 more characters" in out


def test_regression_table_and_figures_show_names_as_written():
    panel, _ = kz.simulate_panel(n_regions=8, years=range(2008, 2016), cohorts={2012: 3}, random_seed=1)
    result = kz.twfe(panel, "outcome", treatment="treated")
    table = kz.regression_table({name: result for name in HOSTILE})
    md, tex, page = table.to_markdown(), table.to_latex(), table.to_html()
    assert "<script>" not in md and "<script>" not in page and "\n\n" not in tex
    assert md.count("\n") == table.to_markdown().count("\n")  # one line per row whatever the names hold
    rows = md.split("\n\n")[0].splitlines()  # the table, before the notes
    assert len(rows) == 2 + 2 * len(table.terms) + len(table.footer) and all(r.startswith("| ") or r.startswith("|-")
                                                                             for r in rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = panel.to_frame().assign(region=lambda t: t["region"].replace({panel.regions[0]: "$\\undefinedmacro$"}))
        odd = kz.read_panel(frame, regions=None)
        loo = kz.leave_one_out(kz.twfe(odd, "outcome", treatment="treated"))
    ax = loo.plot()
    ax.figure.canvas.draw()  # mathtext would raise on \undefinedmacro
    assert any("$\\undefinedmacro$" in t.get_text() for t in ax.figure.findobj(matplotlib.text.Text))


def test_one_spelling_per_name_when_reading():
    panel, _ = kz.simulate_panel(n_regions=6, years=range(2008, 2016), cohorts={2012: 2}, random_seed=2)
    frame = panel.to_frame()
    first = panel.regions[0]
    frame.loc[frame.index[:3], "region"] = first.replace(" ", "\u00a0")  # a no-break space in some years
    frame.loc[frame.index[3], "region"] = first + "\u200b"                 # a zero-width space in one
    with pytest.warns(kz.errors.KzCausalWarning, match="differ only in Unicode form or invisible characters"):
        again = kz.read_panel(frame, regions=None)
    assert again.regions == panel.regions
    assert kz.panel.canonical_region("Костанаи\u0306ская") == "Kostanay"  # NFD Kazakh/Russian spellings match
    assert kz.panel.canonical_region("Ａｋｍｏｌａ") == "Akmola"           # so do full-width forms
    with pytest.raises(PanelError, match="lone surrogates.*Fix"):
        names = frame["region"].to_numpy(dtype=object).copy()
        names[names == panel.regions[1]] = "bad\ud800"
        kz.read_panel(frame.assign(region=pd.Series(names, index=frame.index, dtype=object)), regions=None)


def test_the_sampling_gate_refuses_before_building_anything():
    panel, _ = kz.simulate_panel(n_regions=8, years=range(2008, 2016), cohorts={2012: 3}, random_seed=1)
    cases = [dict(draws=10**9), dict(chains=10**6), dict(tune=10**10), dict(draws=1.5), dict(chains=0),
             dict(target_accept=1.5), dict(random_seed=-1), dict(progress="no")]
    for bad in cases:
        name = next(iter(bad))
        with pytest.raises(SpecificationError, match=rf"{name}=.*Fix"):
            kz.bayes.hierarchical_elasticity(panel, "grp", "attractiveness_index", **bad)
        with pytest.raises(SpecificationError, match=rf"{name}=.*Fix"):
            kz.bayesian_event_study(panel, "outcome", first_treated="first_treated", **bad)


@pytest.mark.parametrize(("kwargs", "name"), [
    (dict(n_regions=10**8), "n_regions"), (dict(n_regions=10**6, years=range(1000, 2000)), "region-years"),
    (dict(noise=float("nan")), "noise"), (dict(noise=-1.0), "noise"), (dict(effect="big"), "effect"),
    (dict(cohorts={2014.5: 3}), "cohorts"), (dict(cohorts="2014"), "cohorts"), (dict(random_seed=-1), "random_seed"),
    (dict(anticipation=1.5), "anticipation"), (dict(years=2014), "years"),
    (dict(cohort_effects={2010: 1.0}), "cohort_effects")])
def test_the_simulator_checks_its_arguments(kwargs, name):
    with pytest.raises(SpecificationError, match=rf"(?s){name}.*Fix"):
        kz.simulate_panel(**kwargs)


@pytest.mark.parametrize("call", [
    lambda p: kz.classify_regions(p, n_init=10**9), lambda p: kz.classify_regions(p, n_init=0),
    lambda p: kz.classify_regions(p, n_clusters=2.5), lambda p: kz.classify_regions(p, window=(2015,)),
    lambda p: kz.classify_regions(p.to_frame()), lambda p: kz.datasets.load_kazakhstan(boundaries="2021"),
    lambda p: kz.datasets.load_kazakhstan(migration="yes"), lambda p: kz.load_migration_flows(boundaries=None),
    lambda p: kz.regression_table(None), lambda p: kz.regression_table([], stars="yes")])
def test_arguments_outside_the_did_path_are_checked(call):
    panel, _ = kz.simulate_panel(n_regions=8, years=range(2008, 2016), cohorts={2012: 3}, random_seed=1)
    with pytest.raises(SpecificationError, match="Fix"):
        call(panel)


def test_constant_and_badly_scaled_outcomes_are_told_apart():
    panel, _ = kz.simulate_panel(n_regions=8, years=range(2008, 2016), cohorts={2012: 3}, random_seed=1)
    frame = panel.to_frame()
    tiny = kz.read_panel(frame.assign(outcome=frame["outcome"] * 1e-150), regions=None)
    with pytest.raises(SpecificationError, match=r"ranges over .*Fix: rescale the outcome"):
        kz.twfe(tiny, "outcome", treatment="treated")
    scaled = kz.twfe(kz.read_panel(frame.assign(outcome=frame["outcome"] * 1e6), regions=None), "outcome",
                     treatment="treated")
    plain = kz.twfe(panel, "outcome", treatment="treated")
    np.testing.assert_allclose(scaled.effect_table()[["estimate", "std_error"]].to_numpy(),
                               1e6 * plain.effect_table()[["estimate", "std_error"]].to_numpy(), rtol=1e-9)
