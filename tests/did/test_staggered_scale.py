"""The vectorized ATT(g,t) engine against the reference it replaced (the differences package, called directly).

Until the scale work, covariates (and ``method="ipw"``/``"dr"``) went through differences' ``ATTgt``;
the vectorized engine must reproduce it: every cell's ATT, every unit's influence function (hence
every standard error and covariance) and every aggregation, on balanced and unbalanced panels, with
time-varying and time-invariant covariates, OR/IPW/DR, both control groups and both base periods.
Tolerance: 1e-10 absolute (the estimates are O(1); measured differences are <= 1e-13).
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import kzcausal as kz
from kzcausal.errors import SpecificationError

TOL = 1e-10
EST_METHOD = {"reg": "reg", "ipw": "std_ipw", "dr": "dr"}
AGGREGATIONS = [("simple", "simple"), ("event", "event"), ("group", "cohort"), ("calendar", "time")]


@pytest.fixture(scope="module")
def frame():
    """60 regions x 15 years (SIMULATED), a time-varying covariate (log population) and a time-invariant one."""
    panel, _ = kz.simulate_panel(n_regions=60, cohorts={2012: 15, 2016: 15}, dynamic=0.3, heterogeneity=0.5,
                                 random_seed=11)
    table = panel.with_logs("population").to_frame()
    rng = np.random.default_rng(0)
    level = pd.Series(rng.normal(size=60), index=table["region"].unique())
    table["x"] = table["region"].map(level) + 0.5 * table["first_treated"].notna()  # differs by cohort
    table["macro"] = (pd.factorize(table["region"])[0] % 7).astype(float)
    return table[["region", "year", "outcome", "first_treated", "log_population", "x", "macro"]]


def differences_reference(table, covariates, method, control_group, base_period, anticipation=0):
    """Cells (cohort, year, att) and unit influence functions (units x cells, units sorted by region)."""
    from differences import ATTgt

    data = table.assign(cohort=table["first_treated"]).set_index(["region", "year"]).sort_index()
    model = ATTgt(data=data, cohort_column="cohort", base_period=base_period, anticipation=anticipation)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(formula="outcome" + (" ~ " + " + ".join(covariates) if covariates else ""),
                  est_method=EST_METHOD[method], control_group=control_group, n_jobs=1, progress_bar=False)
    elements = [e for e in model._result_dict["full_sample"]["ATTgt_ntl"] if e.base_period != e.time]
    assert all(e.exception is None for e in elements)
    cells = pd.DataFrame({"cohort": [int(e.cohort) for e in elements], "year": [int(e.time) for e in elements],
                          "att": [float(e.ATT) for e in elements]})
    influence = np.column_stack([e.influence_func.toarray().ravel() for e in elements])
    return model, cells, influence


def assert_same_cells(ours, cells, influence):
    merged = ours.cells.reset_index().merge(cells.reset_index(), on=["cohort", "year"], suffixes=("", "_ref"))
    assert len(merged) == len(cells) == len(ours.cells)
    np.testing.assert_allclose(merged["att"], merged["att_ref"], rtol=0, atol=TOL)
    ref = influence[:, merged["index_ref"]]
    np.testing.assert_allclose(ours.influence[:, merged["index"]], ref, rtol=0, atol=TOL)
    n = len(ref)
    cell_vcov = ours.vcov.to_numpy()[:-1, :-1][np.ix_(merged["index"], merged["index"])]
    np.testing.assert_allclose(cell_vcov, ref.T @ ref / n**2, rtol=0, atol=TOL)


@pytest.mark.parametrize("base_period", ["varying", "universal"])
@pytest.mark.parametrize("control_group", ["never_treated", "not_yet_treated"])
@pytest.mark.parametrize("method", ["reg", "ipw", "dr"])
def test_covariates_equal_differences(frame, method, control_group, base_period):
    """Time-varying covariate: each cell conditions on its earlier year's values (a sample per cell)."""
    panel = kz.read_panel(frame, regions=None)
    ours = kz.staggered_did(panel, "outcome", first_treated="first_treated", method=method, covariates=["log_population"],
                            control_group=control_group, base_period=base_period)
    model, cells, influence = differences_reference(frame, ["log_population"], method, control_group, base_period)
    assert_same_cells(ours, cells, influence)
    if base_period == "varying":  # differences aggregates universal-base results with its reference cells
        for kind, theirs in AGGREGATIONS:
            ref = model.aggregate(theirs)
            ref.columns = [c[-1] for c in ref.columns]
            got = ours.aggregate(kind).table.iloc[:len(ref)]
            np.testing.assert_allclose(got["estimate"], ref["ATT"], rtol=0, atol=TOL)
            np.testing.assert_allclose(got["std_error"], ref["std_error"], rtol=0, atol=TOL)


@pytest.mark.parametrize("control_group", ["never_treated", "not_yet_treated"])
@pytest.mark.parametrize("method", ["reg", "ipw", "dr"])
def test_time_invariant_covariates_share_one_fit_per_cohort(frame, method, control_group):
    """Cells with the same units and covariate values are fitted together; the result is the per-cell one."""
    panel = kz.read_panel(frame, regions=None)
    ours = kz.staggered_did(panel, "outcome", first_treated="first_treated", method=method, covariates=["x"],
                            control_group=control_group)
    _, cells, influence = differences_reference(frame, ["x"], method, control_group, "varying")
    assert_same_cells(ours, cells, influence)


@pytest.mark.parametrize("method", ["reg", "dr"])
def test_unbalanced_panel_equals_differences_on_the_balanced_regions(frame, method):
    short = ["Region 03", "Region 40"]
    holes = frame[~(frame["region"].isin(short) & (frame["year"] == 2015))]
    panel = kz.read_panel(holes, regions=None, allow_gaps=True)
    with pytest.warns(kz.errors.KzCausalWarning, match="dropped 2 region"):
        ours = kz.staggered_did(panel, "outcome", first_treated="first_treated", method=method, covariates=["log_population"])
    assert ours.n_units == 58
    balanced = holes[~holes["region"].isin(short)]
    _, cells, influence = differences_reference(balanced, ["log_population"], method, "never_treated", "varying")
    assert_same_cells(ours, cells, influence)
    plain = kz.staggered_did(panel, "outcome", first_treated="first_treated")  # no covariates: the same regions
    _, cells, influence = differences_reference(balanced, [], "reg", "never_treated", "varying")
    assert_same_cells(plain, cells, influence)


@pytest.mark.parametrize("method", ["ipw", "dr"])
def test_without_covariates_every_method_is_the_group_mean_difference(frame, method):
    panel = kz.read_panel(frame, regions=None)
    ours = kz.staggered_did(panel, "outcome", first_treated="first_treated", method=method, control_group="not_yet_treated")
    _, cells, influence = differences_reference(frame, [], method, "not_yet_treated", "varying")
    assert_same_cells(ours, cells, influence)
    reg = kz.staggered_did(panel, "outcome", first_treated="first_treated", control_group="not_yet_treated")
    np.testing.assert_allclose(ours.table[["estimate", "std_error"]], reg.table[["estimate", "std_error"]], atol=TOL)
    assert ours.permuted is not None  # the reassignment shortcut serves every method without covariates


def test_anticipation_base_periods_follow_r_did(frame):
    """Varying base with anticipation: years in [g - a, g) compare with the year before (R did, moderndid)."""
    import moderndid

    table = frame.assign(g=frame["first_treated"].fillna(0).astype(int), id=pd.factorize(frame["region"])[0] + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = moderndid.att_gt(table, yname="outcome", tname="year", idname="id", gname="g", est_method="reg",
                               anticipation=2, boot=False, cband=False)
    panel = kz.read_panel(frame, regions=None)
    ours = kz.staggered_did(panel, "outcome", first_treated="first_treated", anticipation=2)
    cells = pd.DataFrame({"cohort": np.asarray(ref.groups).astype(int), "year": np.asarray(ref.times).astype(int),
                          "att": np.asarray(ref.att_gt), "se": np.asarray(ref.se_gt)})
    merged = ours.att_gt.merge(cells, on=["cohort", "year"])
    assert len(merged) == len(cells) == len(ours.att_gt)
    np.testing.assert_allclose(merged["estimate"], merged["att"], atol=TOL)
    np.testing.assert_allclose(merged["std_error"], merged["se"], atol=TOL)
    assert merged.query("cohort == 2012 and year == 2011")["base_year"].item() == 2010
    dr = kz.staggered_did(panel, "outcome", first_treated="first_treated", anticipation=2, method="dr", covariates=["x"])
    _, cells, influence = differences_reference(frame, ["x"], "dr", "never_treated", "varying", anticipation=2)
    assert_same_cells(dr, cells, influence)


def test_event_study_with_covariates_omits_the_reference_period(frame):
    panel = kz.read_panel(frame, regions=None)
    es = kz.event_study(panel, "outcome", first_treated="first_treated", covariates=["log_population"])
    assert -1 not in es.event_times and es.reference == -1
    assert np.isfinite(es.table["std_error"]).all()


def test_clustered_errors_sum_the_influence_within_clusters(frame):
    panel = kz.read_panel(frame, regions=None)
    ours = kz.staggered_did(panel, "outcome", first_treated="first_treated", method="dr", covariates=["x"], cluster="macro")
    assert ours.n_clusters == 7
    summed = np.zeros((7, ours.influence.shape[1]))
    np.add.at(summed, pd.factorize(frame.drop_duplicates("region")["macro"])[0], ours.influence)
    np.testing.assert_allclose(ours.vcov.to_numpy()[:-1, :-1], summed.T @ summed / ours.n_units**2, atol=TOL)


def test_bad_covariates_are_named(frame):
    holes = frame.copy()
    holes.loc[holes.index[5], "x"] = np.nan
    # one missing-value policy: the row is left out (named in a warning and a caveat), then CS drops the now
    # unbalanced region and says so
    with pytest.warns(kz.errors.KzCausalWarning, match=r"missing in 1 row"):
        result = kz.staggered_did(kz.read_panel(holes, regions=None), "outcome", first_treated="first_treated",
                                  covariates=["x"])
    assert any("missing in 1 row" in c for c in result.caveats)
    assert any("not observed in every year" in c for c in result.caveats)
    constant = frame.assign(c=2.0)
    with pytest.raises(SpecificationError, match="collinear"):
        kz.staggered_did(kz.read_panel(constant, regions=None), "outcome", first_treated="first_treated", covariates=["c"],
                         method="dr")
