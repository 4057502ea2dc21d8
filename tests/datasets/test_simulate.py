"""The simulator: labelled, reproducible, and its truth is what the data contain."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import kzcausal as kz
from kzcausal.errors import SpecificationError


def test_labelled_simulated_and_reproducible():
    a, truth_a = kz.simulate_panel(random_seed=11)
    b, truth_b = kz.simulate_panel(random_seed=11)
    c, _ = kz.simulate_panel(random_seed=12)
    assert a.simulated and "SIMULATED" in a.sources[0] and a.summary().startswith("SIMULATED DATA")
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    pd.testing.assert_series_equal(truth_a.elasticity, truth_b.elasticity)
    assert not a.to_frame().equals(c.to_frame())


def test_default_is_kazakhstan_shaped():
    panel, truth = kz.simulate_panel(random_seed=0)
    assert len(panel.regions) == 17 and panel.years == list(range(2009, 2024))
    assert (truth.first_treated == 2014).sum() == 6 and truth.first_treated.isna().sum() == 11


def test_two_by_two_did_recovers_the_effect_closed_form():
    """With one cohort and a constant effect, the 2x2 DID of means is unbiased."""
    estimates = []
    for seed in range(40):
        panel, truth = kz.simulate_panel(n_regions=60, cohorts={2014: 30}, effect=2.0, noise=1.0, random_seed=seed)
        frame = panel.to_frame()
        post = frame["year"] >= 2014
        treated = frame["first_treated"].notna()
        means = frame.groupby([treated, post])["outcome"].mean()
        estimates.append((means[True, True] - means[True, False]) - (means[False, True] - means[False, False]))
    assert np.mean(estimates) == pytest.approx(2.0, abs=0.05)
    assert truth.att_gt.query("year >= 2014")["att"].eq(2.0).all()


def test_truth_tables_follow_the_design():
    panel, truth = kz.simulate_panel(n_regions=20, cohorts={2012: 5, 2016: 5}, effect=1.0, dynamic=0.5,
                                     heterogeneity=0.5, anticipation=1, random_seed=4)
    att = truth.att_gt.set_index(["cohort", "year"])["att"]
    assert att.loc[(2012, 2010)] == 0 and att.loc[(2012, 2011)] == pytest.approx(1.5)  # anticipation, effect 1.5
    assert att.loc[(2012, 2015)] == pytest.approx(1.5 + 0.5 * 3)
    assert att.loc[(2016, 2016)] == pytest.approx(0.5)  # later cohort: 1 * (1 - 0.5)
    treated = panel.to_frame().set_index("region")["treated"]
    assert set(treated.unique()) == {0.0, 1.0}
    # event-time truth = mean over regions observed at that event time
    e = truth.effects.assign(cohort=truth.effects["region"].map(truth.first_treated)).dropna()
    assert truth.event_study.loc[0] == pytest.approx(e.loc[e["year"] == e["cohort"], "effect"].mean())


@pytest.mark.parametrize("shape", ["linear", "bump"])
def test_parallel_trend_violations(shape):
    panel, truth = kz.simulate_panel(pretrend=shape, pretrend_size=0.3, random_seed=2)
    v = truth.effects.assign(cohort=truth.effects["region"].map(truth.first_treated))
    never = v["cohort"].isna()
    assert (v.loc[never, "violation"] == 0).all()
    if shape == "bump":
        assert set(v.loc[~never, "violation"].unique()) == {0.0, 0.3}
        assert (v.loc[~never & (v["violation"] > 0), "year"] < 2014).all()
    else:
        assert v.loc[~never & (v["year"] == 2019), "violation"].eq(0.3 * 10).all()


def test_grp_elasticities_are_recovered_by_ols():
    """Independent check with statsmodels: pooled elasticity with region effects and trends."""
    panel, truth = kz.simulate_panel(n_regions=40, years=range(2001, 2024), elasticity=0.4,
                                     elasticity_sd=0.0, random_seed=5)
    frame = panel.with_logs("grp", "attractiveness_index").to_frame()
    t = frame["year"] - frame["year"].min()
    dummies = pd.get_dummies(frame["region"], dtype=float)
    design = pd.concat([frame[["log_attractiveness_index"]], dummies, dummies.mul(t, axis=0).add_suffix(":t")],
                       axis=1)
    fit = sm.OLS(frame["log_grp"], design).fit()
    assert fit.params["log_attractiveness_index"] == pytest.approx(0.4, abs=3 * fit.bse["log_attractiveness_index"])
    assert fit.bse["log_attractiveness_index"] < 0.05


def test_bad_designs():
    with pytest.raises(SpecificationError, match="assign 20 regions"):
        kz.simulate_panel(n_regions=10, cohorts={2014: 20})
    with pytest.raises(SpecificationError, match="outside"):
        kz.simulate_panel(cohorts={2030: 2})
    with pytest.raises(SpecificationError, match="pretrend"):
        kz.simulate_panel(pretrend="quadratic")


def test_serially_correlated_errors():
    panel, truth = kz.simulate_panel(n_regions=400, years=range(2001, 2031), cohorts={}, noise=1.0,
                                     serial_correlation=0.7, random_seed=6)
    wide = panel.to_frame().pivot(index="region", columns="year", values="outcome")
    resid = wide.sub(wide.mean(axis=1), axis=0)
    resid = resid - resid.mean(axis=0)
    x = resid.to_numpy()
    rho = (x[:, 1:] * x[:, :-1]).sum() / (x[:, :-1] ** 2).sum()
    # demeaning within regions biases the estimate by about -(1 + rho) / (T - 1) (Nickell 1981): 0.641 at T = 30;
    # its sampling sd is about sqrt((1 - rho^2) / (N (T - 1))) = 0.0066 and the next bias term is O(1/T^2) ~ 0.002,
    # so 0.03 is over 4 sd: it holds on any stream and fails for rho 0.65 or 0.75
    expected = 0.7 - 1.7 / 29
    assert rho == pytest.approx(expected, abs=0.03)
    with pytest.raises(SpecificationError, match="serial_correlation"):
        kz.simulate_panel(serial_correlation=1.0)
