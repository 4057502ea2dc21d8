"""Event studies: CS, Sun-Abraham and dynamic TWFE against known truth and external data."""

from importlib import resources

import numpy as np
import pandas as pd
import pytest

import kzcausal as kz
from kzcausal.errors import SpecificationError

METHODS = ["cs", "sun_abraham", "twfe"]


def noiseless(heterogeneity):
    return kz.simulate_panel(n_regions=30, cohorts={2012: 8, 2016: 8}, dynamic=0.4, heterogeneity=heterogeneity,
                             noise=0.0, random_seed=5)


@pytest.mark.parametrize("method", METHODS)
def test_homogeneous_effects_all_methods_recover_the_truth(method):
    panel, truth = noiseless(heterogeneity=0.0)
    es = kz.event_study(panel, "outcome", first_treated="first_treated", method=method)
    np.testing.assert_allclose(es.table["estimate"], truth.event_study.loc[es.event_times], atol=1e-8)
    assert -1 not in es.event_times and es.reference == -1


def test_heterogeneous_effects_sun_abraham_recovers_them_and_twfe_does_not():
    panel, truth = noiseless(heterogeneity=0.8)
    sa = kz.event_study(panel, "outcome", first_treated="first_treated", method="sun_abraham")
    tw = kz.event_study(panel, "outcome", first_treated="first_treated", method="twfe")
    target = truth.event_study.loc[sa.event_times].to_numpy()
    np.testing.assert_allclose(sa.table["estimate"], target, atol=1e-8)
    assert np.abs(tw.table["estimate"].to_numpy() - target).max() > 0.5  # TWFE's contamination bias


def test_sun_abraham_with_never_treated_controls_equals_cs_with_a_universal_base():
    """Two independent computations (a saturated PanelOLS regression vs group means) of one estimand."""
    panel, _ = kz.simulate_panel(n_regions=40, cohorts={2012: 10, 2016: 10}, dynamic=0.3, heterogeneity=0.5,
                                 random_seed=8)
    sa = kz.event_study(panel, "outcome", first_treated="first_treated", method="sun_abraham")
    cs = kz.event_study(panel, "outcome", first_treated="first_treated", method="cs")
    assert sa.event_times == cs.event_times
    np.testing.assert_allclose(sa.table["estimate"], cs.table["estimate"], atol=1e-10)


def test_sun_abraham_with_the_last_cohort_as_control():
    panel, truth = kz.simulate_panel(n_regions=24, cohorts={2012: 8, 2016: 8, 2019: 8}, dynamic=0.4,
                                     heterogeneity=0.8, noise=0.0, random_seed=9)
    with pytest.raises(SpecificationError, match="not_yet_treated"):
        kz.event_study(panel, "outcome", first_treated="first_treated", method="sun_abraham")
    sa = kz.event_study(panel, "outcome", first_treated="first_treated", method="sun_abraham", control_group="not_yet_treated")
    assert any("cohort 2019 is the control" in w for w in sa.caveats)
    effects = truth.effects.assign(cohort=truth.effects["region"].map(truth.first_treated))
    effects = effects[(effects["cohort"] < 2019) & (effects["year"] < 2019)]
    target = effects.assign(e=effects["year"] - effects["cohort"]).groupby("e")["effect"].mean()
    np.testing.assert_allclose(sa.table["estimate"], target.loc[sa.event_times], atol=1e-8)


def test_pyfixest_df_het_true_dynamic_effects():
    """pyfixest's df_het (1,500 units x 31 years, true effects te + te_dynamic): CS and SA within 0.05."""
    data = pd.read_csv(resources.files("pyfixest").joinpath("did/data/df_het.csv"))
    data["first_treated"] = data["g"].replace(0, np.nan)
    panel = kz.read_panel(data[["unit", "year", "dep_var", "first_treated"]].astype({"unit": str}),
                          region="unit", regions=None)
    treated = data[data["first_treated"].notna()]
    truth = (treated.assign(e=treated["year"] - treated["g"], effect=treated["te"] + treated["te_dynamic"])
             .groupby("e")["effect"].mean())
    for method in ("cs", "sun_abraham"):
        es = kz.event_study(panel, "dep_var", first_treated="first_treated", method=method, leads=5, lags=10,
                            bin_endpoints=False)
        error = es.table["estimate"] - truth.loc[es.event_times].to_numpy()
        post = np.array(es.event_times) >= 0
        assert abs(error[post].mean()) < 0.05, method  # average dynamic effect
        assert (error.abs() < 3 * es.table["std_error"]).all(), method  # every event time
        assert es.overall["estimate"] == pytest.approx(truth.loc[0:10].mean(), abs=0.05)


def test_window_binning_and_reference():
    panel, truth = kz.simulate_panel(n_regions=30, cohorts={2012: 8, 2016: 8}, random_seed=1)
    es = kz.event_study(panel, "outcome", first_treated="first_treated", method="twfe", leads=3, lags=4, reference=-2)
    assert es.event_times == [-3, -1, 0, 1, 2, 3, 4] and es.reference == -2
    dropped = kz.event_study(panel, "outcome", first_treated="first_treated", method="sun_abraham", leads=3, lags=4,
                             bin_endpoints=False)
    assert any("outside the window" in w for w in dropped.caveats)
    cs = kz.event_study(panel, "outcome", first_treated="first_treated", method="cs", leads=3, lags=4)
    assert cs.event_times == [-3, -2, 0, 1, 2, 3, 4]
    assert cs.vcov.shape == (7, 7) and np.all(np.linalg.eigvalsh(cs.vcov.to_numpy()) > -1e-12)


def test_bad_requests():
    panel, _ = kz.simulate_panel(random_seed=1)
    with pytest.raises(SpecificationError, match="method"):
        kz.event_study(panel, "outcome", first_treated="first_treated", method="bjs")
    with pytest.raises(SpecificationError, match="outside the window"):
        kz.event_study(panel, "outcome", first_treated="first_treated", method="twfe", leads=2, lags=2, reference=-5)
    with pytest.raises(SpecificationError, match="universal base"):
        kz.event_study(panel, "outcome", first_treated="first_treated", method="cs", reference=-2)


def test_unbalanced_panel_goes_through_the_general_path():
    panel, truth = kz.simulate_panel(n_regions=25, cohorts={2012: 6, 2016: 6}, noise=0.0, random_seed=12)
    frame = panel.to_frame()[["region", "year", "outcome", "first_treated"]]
    frame = frame[~((frame["region"] == "Region 03") & (frame["year"] == 2009))]  # a region starts later
    unbalanced = kz.read_panel(frame, regions=None)
    es = kz.event_study(unbalanced, "outcome", first_treated="first_treated", method="sun_abraham")
    np.testing.assert_allclose(es.table["estimate"], truth.event_study.loc[es.event_times], atol=1e-8)
