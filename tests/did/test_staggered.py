"""Callaway-Sant'Anna ATT(g,t) against differences, moderndid, diff-diff and csdid, called directly."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import kzcausal as kz
from kzcausal.errors import SpecificationError

AGGREGATIONS = [("simple", "simple"), ("event", "event"), ("group", "cohort"), ("calendar", "time")]


@pytest.fixture(scope="module")
def staggered():
    panel, truth = kz.simulate_panel(n_regions=60, cohorts={2012: 15, 2016: 15}, dynamic=0.3, heterogeneity=0.5,
                                     random_seed=11)
    return panel.with_logs("population"), truth


def reference_frame(panel):
    frame = panel.to_frame()
    frame["g"] = frame["first_treated"].fillna(0).astype(int)
    frame["id"] = pd.factorize(frame["region"])[0] + 1
    return frame


def differences_fit(panel, control_group, formula="outcome", est_method="reg"):
    from differences import ATTgt

    data = panel.to_frame().assign(cohort=lambda t: t["first_treated"]).set_index(["region", "year"])
    model = ATTgt(data=data, cohort_column="cohort")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cells = model.fit(formula=formula, est_method=est_method, control_group=control_group, n_jobs=1,
                          progress_bar=False).to_pandas()
    cells.columns = [c[-1] for c in cells.columns]
    return model, cells.reset_index()


@pytest.mark.parametrize("control_group", ["never_treated", "not_yet_treated"])
@pytest.mark.parametrize(("method", "covariates", "est_method"),
                         [("reg", [], "reg"), ("reg", ["log_population"], "reg"),
                          ("dr", ["log_population"], "dr"), ("ipw", ["log_population"], "std_ipw")])
def test_equals_differences(staggered, control_group, method, covariates, est_method):
    panel, _ = staggered
    ours = kz.staggered_did(panel, "outcome", first_treated="first_treated", control_group=control_group, method=method,
                            covariates=covariates)
    formula = "outcome" + (" ~ " + " + ".join(covariates) if covariates else "")
    model, cells = differences_fit(panel, control_group, formula, est_method)
    merged = ours.att_gt.merge(cells, left_on=["cohort", "year"], right_on=["cohort", "time"])
    assert len(merged) == len(cells) == len(ours.att_gt)
    np.testing.assert_allclose(merged["estimate"], merged["ATT"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(merged["std_error_x"], merged["std_error_y"], rtol=0, atol=1e-10)
    for kind, theirs in AGGREGATIONS:
        ref = model.aggregate(theirs)
        ref.columns = [c[-1] for c in ref.columns]
        got = ours.aggregate(kind).table.iloc[:len(ref)]  # ours adds an 'overall' row to group/calendar
        np.testing.assert_allclose(got["estimate"], ref["ATT"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(got["std_error"], ref["std_error"], rtol=0, atol=1e-10)


@pytest.mark.parametrize("control_group", ["never_treated", "not_yet_treated"])
def test_equals_moderndid(staggered, control_group):
    import moderndid

    panel, _ = staggered
    frame = reference_frame(panel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = moderndid.att_gt(frame, yname="outcome", tname="year", idname="id", gname="g", est_method="reg",
                               control_group=control_group.replace("_", ""), boot=False, cband=False)
        event = moderndid.aggte(ref, type="dynamic")
    ours = kz.staggered_did(panel, "outcome", first_treated="first_treated", control_group=control_group)
    cells = pd.DataFrame({"cohort": np.asarray(ref.groups).astype(int), "year": np.asarray(ref.times).astype(int),
                          "att": np.asarray(ref.att_gt), "se": np.asarray(ref.se_gt)})
    merged = ours.att_gt.merge(cells, on=["cohort", "year"])
    assert len(merged) == len(cells)
    np.testing.assert_allclose(merged["estimate"], merged["att"], atol=1e-10)
    np.testing.assert_allclose(merged["std_error"], merged["se"], atol=1e-10)
    es = ours.aggregate("event")
    np.testing.assert_array_equal(es.event_times, np.asarray(event.event_times).astype(int))
    np.testing.assert_allclose(es.table["estimate"], np.asarray(event.att_by_event), atol=1e-10)
    np.testing.assert_allclose(es.table["std_error"], np.asarray(event.se_by_event), atol=1e-10)
    assert es.overall["estimate"] == pytest.approx(float(event.overall_att), abs=1e-10)
    assert es.overall["std_error"] == pytest.approx(float(event.overall_se), abs=1e-10)


def test_agrees_with_diff_diff(staggered):
    import diff_diff

    panel, _ = staggered
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = diff_diff.CallawaySantAnna().fit(reference_frame(panel), outcome="outcome", unit="id", time="year",
                                               first_treat="g")
    ours = kz.staggered_did(panel, "outcome", first_treated="first_treated")
    cells = pd.DataFrame([{"cohort": int(g), "year": int(t), "att": v["effect"], "se": v["se"]}
                          for (g, t), v in ref.group_time_effects.items()])
    merged = ours.att_gt.merge(cells, on=["cohort", "year"])
    assert len(merged) == len(cells) == len(ours.att_gt)
    np.testing.assert_allclose(merged["estimate"], merged["att"], atol=1e-10)
    # diff-diff's cell errors differ by a small-sample factor; measured: relative difference <= 2%
    np.testing.assert_allclose(merged["std_error"], merged["se"], rtol=0.02)
    simple = ours.aggregate("simple").table.iloc[0]
    assert simple["estimate"] == pytest.approx(ref.overall_att, abs=1e-10)
    assert simple["std_error"] == pytest.approx(ref.overall_se, rel=1e-6)


def test_agrees_with_csdid(staggered):
    from csdid.att_gt import ATTgt

    panel, _ = staggered
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ATTgt(yname="outcome", tname="year", idname="id", gname="g", data=reference_frame(panel),
                    control_group=["nevertreated"]).fit(est_method="reg", bstrap=False).results
    ours = kz.staggered_did(panel, "outcome", first_treated="first_treated")
    cells = pd.DataFrame({"cohort": np.asarray(ref["group"]).astype(int), "year": np.asarray(ref["year"]).astype(int),
                          "att": np.asarray(ref["att"], float), "se": np.asarray(ref["se"], float)})
    merged = ours.att_gt.merge(cells, on=["cohort", "year"])
    assert len(merged) == len(cells) == len(ours.att_gt)
    np.testing.assert_allclose(merged["estimate"], merged["att"], atol=1e-10)
    np.testing.assert_allclose(merged["std_error"], merged["se"], atol=1e-10)


def test_recovers_heterogeneous_dynamic_effects():
    """With noise 0, CS recovers every true ATT(g,t) and event-time effect exactly."""
    panel, truth = kz.simulate_panel(n_regions=30, cohorts={2012: 8, 2016: 8}, dynamic=0.4, heterogeneity=0.8,
                                     noise=0.0, random_seed=5)
    ours = kz.staggered_did(panel, "outcome", first_treated="first_treated")
    post = ours.att_gt.query("year >= cohort").merge(truth.att_gt, on=["cohort", "year"])
    np.testing.assert_allclose(post["estimate"], post["att"], atol=1e-8)
    es = ours.aggregate("event", min_e=0)
    np.testing.assert_allclose(es.table["estimate"], truth.event_study.loc[es.event_times], atol=1e-8)


def test_multiplier_bootstrap_is_seeded_and_close_to_analytic():
    panel, _ = kz.simulate_panel(n_regions=400, cohorts={2012: 100, 2016: 100}, random_seed=2)
    analytic = kz.staggered_did(panel, "outcome", first_treated="first_treated").aggregate("event")
    a = kz.staggered_did(panel, "outcome", first_treated="first_treated", draws=1999, random_seed=7).aggregate("event")
    b = kz.staggered_did(panel, "outcome", first_treated="first_treated", draws=1999, random_seed=7).aggregate("event")
    pd.testing.assert_frame_equal(a.table, b.table)
    np.testing.assert_allclose(a.table["std_error"], analytic.table["std_error"], rtol=0.1)
    width_uniform = (a.table["ci_high"] - a.table["ci_low"]) / a.table["std_error"]
    assert (width_uniform > 2 * 1.96).all()  # simultaneous band is wider than pointwise


def test_design_reports_and_bad_input():
    panel, truth = kz.simulate_panel(n_regions=12, cohorts={2009: 2, 2014: 4}, random_seed=3)
    result = kz.staggered_did(panel, "outcome", first_treated="first_treated")
    assert any("treated in or before the first observed year 2009" in n for n in result.caveats)
    assert set(result.att_gt["cohort"]) == {2014}
    assert "cohort 2014: 4 regions vs 6 never-treated regions, 5 pre-periods, 10 post-periods" in result.summary()
    all_treated, _ = kz.simulate_panel(n_regions=8, cohorts={2012: 4, 2016: 4}, random_seed=3)
    with pytest.raises(SpecificationError, match="not_yet_treated"):
        kz.staggered_did(all_treated, "outcome", first_treated="first_treated")
    few = kz.staggered_did(all_treated, "outcome", first_treated="first_treated", control_group="not_yet_treated")
    assert any("only 8 clusters" in n for n in few.caveats)
    with pytest.raises(SpecificationError, match="method"):
        kz.staggered_did(panel, "outcome", first_treated="first_treated", method="ols")


def test_outcome_missing_for_treated_rows_is_reported():
    panel, truth = kz.simulate_panel(n_regions=20, random_seed=4)
    frame = panel.to_frame()
    treated = truth.first_treated.dropna().index[0]
    frame.loc[(frame["region"] == treated) & (frame["year"] == 2019), "outcome"] = np.nan
    data = kz.read_panel(frame[["region", "year", "outcome", "first_treated"]], regions=None)
    with pytest.warns(kz.errors.KzCausalWarning, match="missing in 1 row"):
        result = kz.staggered_did(data, "outcome", first_treated="first_treated")
    assert any(treated in n for n in result.caveats)  # the unbalanced region is dropped and named


def test_result_interface(staggered):
    import matplotlib

    matplotlib.use("Agg")
    panel, _ = staggered
    result = kz.staggered_did(panel, "outcome", first_treated="first_treated")
    ds = result.to_xarray()
    assert ds["estimate"].dims == ("cohort", "year")
    assert ds["estimate"].sel(cohort=2016, year=2018).item() == pytest.approx(
        result.att_gt.query("cohort == 2016 and year == 2018")["estimate"].item())
    frame = result.to_frame()
    assert frame["term"].iloc[0].startswith("ATT(") and "method" in frame
    assert result.plot() is not None
    es = result.aggregate("event")
    assert es.vcov.shape == (len(es.event_times),) * 2
    assert es.to_xarray()["vcov"].dims == ("event_time", "event_time2")
    assert es.plot().get_xlabel().startswith("years since adoption")


def test_arguments_are_checked_before_any_work(staggered):
    """Issue 14: every argument of the wrong kind or size is a typed error that names it and the fix."""
    panel, _ = staggered
    cases = [(dict(alpha=True), "alpha=True"), (dict(alpha=1.5), "alpha=1.5"), (dict(random_seed=-1), "random_seed=-1"),
             (dict(random_seed=2.5), "random_seed=2.5"), (dict(anticipation=True), "anticipation=True"),
             (dict(anticipation=-1), "anticipation=-1"), (dict(covariates=[3]), "are not names"),
             (dict(covariates=["outcome"]), "include the outcome")]
    for kwargs, message in cases:
        with pytest.raises(SpecificationError, match=re.escape(message)):
            kz.staggered_did(panel, "outcome", first_treated="first_treated", **kwargs)


def test_a_bootstrap_that_cannot_fit_is_refused_up_front(staggered):
    """n_boot x cells doubles above the memory cap, or n_boot x clusters x cells above a minute's work, is
    refused before anything is computed, naming the largest n_boot that would run; that one passes the check."""
    import time

    from kzcausal.did.staggered import _check_bootstrap_size

    panel, _ = staggered
    start = time.perf_counter()
    with pytest.raises(SpecificationError, match=r"draws=1,000,000,000 would need[\s\S]*the cap is draws=") as info:
        kz.staggered_did(panel, "outcome", first_treated="first_treated", draws=10**9)
    assert time.perf_counter() - start < 5
    cap = int(re.search(r"the cap is draws=([\d,]+)", str(info.value)).group(1).replace(",", ""))
    size = dict(n_clusters=len(panel.regions), n_cells=len(panel.years) ** 2)
    _check_bootstrap_size(cap, **size)
    with pytest.raises(SpecificationError):
        _check_bootstrap_size(cap + 1, **size)


def test_a_constant_outcome_in_the_cells_is_flagged(staggered):
    """An outcome whose change is the same in every region gives every ATT(g,t) = 0 with zero standard errors:
    the result carries the degenerate caveat and warns, instead of printing p-values that mean nothing."""
    from kzcausal.errors import DegenerateEstimateWarning

    panel, _ = staggered
    frame = panel.to_frame()[["region", "year", "outcome", "first_treated"]]
    frame["outcome"] = frame["year"] * 1.0
    with pytest.warns(DegenerateEstimateWarning):
        fit = kz.staggered_did(kz.read_panel(frame, regions=None), "outcome", first_treated="first_treated")
    assert any(c.startswith("degenerate") for c in fit.caveats)
