"""Placebo in time and leave-one-out, against direct re-fits and noiseless truth."""

import numpy as np
import pytest
import pyfixest as pf

import kzcausal as kz
from kzcausal.diagnostics import leave_one_out, placebo_in_time
from kzcausal.errors import SpecificationError


def test_placebo_is_zero_without_violation_and_not_with_one():
    clean, truth = kz.simulate_panel(noise=0.0, random_seed=5)
    treated = truth.first_treated.dropna().index
    result = kz.did_2x2(clean, "outcome", treated=treated, post_from=2014, fixed_effects=True, cov="cluster")
    np.testing.assert_allclose(placebo_in_time(result).params, 0.0, atol=1e-10)
    bumped, _ = kz.simulate_panel(noise=0.0, pretrend="linear", pretrend_size=0.3, random_seed=5)
    placebo = placebo_in_time(kz.did_2x2(bumped, "outcome", treated=treated, post_from=2014, fixed_effects=True, cov="cluster"))
    # a linear differential trend of 0.3 a year: placebo DID = 0.3 x (mean post - mean pre years) in the window
    assert (placebo.params.abs() > 0.2).all()


def test_leave_one_region_out_equals_direct_refits():
    panel, truth = kz.simulate_panel(random_seed=3)
    treated = truth.first_treated.dropna().index.tolist()
    result = kz.did_2x2(panel, "outcome", treated=treated, post_from=2014, fixed_effects=True, cov="cluster")
    loo = leave_one_out(result)
    assert len(loo.table) == 17
    frame = panel.to_frame()
    for region in ("Region 01", "Region 09"):
        data = frame[frame["region"] != region].assign(
            D=lambda t: (t["region"].isin(treated) & (t["year"] >= 2014)).astype(float))
        ref = pf.feols("outcome ~ D | region + year", data=data, vcov={"CRV1": "region"})
        assert loo.params[f"without {region}"] == pytest.approx(float(ref.coef()["D"]), abs=1e-8)
        assert loo.std_errors[f"without {region}"] == pytest.approx(float(ref.se()["D"]), abs=1e-8)


def test_leave_one_cohort_out_for_staggered_twfe():
    panel, _ = kz.simulate_panel(n_regions=20, cohorts={2012: 5, 2016: 5}, random_seed=3)
    result = leave_one_out(kz.twfe(panel, "outcome", treatment="treated"), by="cohort")
    assert list(result.table.index) == ["without cohort 2012", "without cohort 2016"]
    frame = panel.to_frame()
    direct = kz.twfe(kz.read_panel(frame[frame["first_treated"] != 2012], regions=None), "outcome", treatment="treated")
    assert result.params["without cohort 2012"] == pytest.approx(direct.params["treated"], abs=1e-10)


def test_bad_requests():
    panel, truth = kz.simulate_panel(years=range(2012, 2020), cohorts={2013: 6}, random_seed=3)
    result = kz.did_2x2(panel, "outcome", treated=truth.first_treated.dropna().index, post_from=2013, fixed_effects=True)
    with pytest.raises(SpecificationError, match="no pre-treatment years"):
        placebo_in_time(result, shifts=[1])
    with pytest.raises(SpecificationError, match="two adoption cohorts"):
        leave_one_out(result, by="cohort")
    with pytest.raises(SpecificationError, match="no pre-treatment years"):
        placebo_in_time(kz.staggered_did(panel, "outcome", first_treated="first_treated"), shifts=[1])


def test_placebo_outcome_equals_direct_fit():
    panel, truth = kz.simulate_panel(random_seed=3)
    panel = panel.with_logs("population")
    treated = truth.first_treated.dropna().index.tolist()
    result = kz.did_2x2(panel, "outcome", treated=treated, post_from=2014, fixed_effects=True, cov="cluster")
    placebo = kz.diagnostics.placebo_outcome(result, panel, ["log_population", "in_migration_rate"])
    direct = kz.did_2x2(panel, "log_population", treated=treated, post_from=2014, fixed_effects=True, cov="cluster")
    assert placebo.params["placebo outcome log_population"] == pytest.approx(direct.params.iloc[0], abs=1e-12)
    assert placebo.std_errors["placebo outcome log_population"] == pytest.approx(direct.std_errors.iloc[0], abs=1e-12)
    with pytest.raises(SpecificationError, match="not in the panel"):
        kz.diagnostics.placebo_outcome(result, panel, ["nothing"])
