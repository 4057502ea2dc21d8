"""Pre-trend Wald test and its power, checked by closed forms and simulation."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import kzcausal as kz
from kzcausal.diagnostics import pretrend_test
from kzcausal.did.staggered import EventStudyResult
from kzcausal.errors import SpecificationError


def event_study(estimates, cov, times, reference=-1):
    table = pd.DataFrame({"estimate": estimates, "std_error": np.sqrt(np.diag(cov)), "ci_low": np.nan,
                          "ci_high": np.nan, "p_value": np.nan}, index=pd.Index(times, name="event_time"))
    return EventStudyResult(table=table, vcov=pd.DataFrame(cov, index=times, columns=times), method="test",
                            reference=reference)


def test_wald_statistic_closed_form():
    times = [-4, -3, -2, 0, 1]
    cov = np.array([[0.04, 0.01, 0.0, 0.0, 0.0], [0.01, 0.05, 0.01, 0.0, 0.0], [0.0, 0.01, 0.03, 0.0, 0.0],
                    [0.0, 0.0, 0.0, 0.04, 0.0], [0.0, 0.0, 0.0, 0.0, 0.04]])
    b = np.array([0.1, -0.2, 0.15, 1.0, 1.2])
    result = pretrend_test(event_study(b, cov, times))
    expected = b[:3] @ np.linalg.inv(cov[:3, :3]) @ b[:3]
    assert result.wald == pytest.approx(expected, rel=1e-12)
    assert result.df == 3 and result.leads == [-4, -3, -2]
    assert result.p_value == pytest.approx(stats.chi2.sf(expected, 3), rel=1e-12)


def test_power_slopes_by_simulation():
    """Draw pre-period estimates around the reported slope's trend: the test rejects at the target rate."""
    times = [-5, -4, -3, -2, 0, 1, 2]
    rng = np.random.default_rng(1)
    a = rng.normal(size=(7, 7))
    cov = 0.01 * (a @ a.T + 7 * np.eye(7))
    result = pretrend_test(event_study(np.zeros(7), cov, times))
    pre = slice(0, 4)
    v_inv = np.linalg.inv(cov[pre, pre])
    critical = stats.chi2.ppf(0.95, 4)
    for target in (0.5, 0.8):
        slope = result.power.query("power == @target")["slope"].iloc[0]
        delta = slope * (np.array(times[:4]) + 1)
        draws = rng.multivariate_normal(delta, cov[pre, pre], size=40_000)
        rejected = np.einsum("ij,jk,ik->i", draws, v_inv, draws) > critical
        assert rejected.mean() == pytest.approx(target, abs=0.012)
        bias = result.power.query("power == @target").set_index("event_time")["bias"]
        np.testing.assert_allclose(bias.to_numpy(), slope * (np.array([0, 1, 2]) + 1))


def test_on_a_simulated_violation():
    clean, _ = kz.simulate_panel(n_regions=60, cohorts={2014: 30}, random_seed=2)
    trend, _ = kz.simulate_panel(n_regions=60, cohorts={2014: 30}, pretrend="linear", pretrend_size=0.4,
                                 random_seed=2)
    assert pretrend_test(kz.event_study(trend, "outcome", first_treated="first_treated")).p_value < 0.001
    assert pretrend_test(kz.event_study(clean, "outcome", first_treated="first_treated", method="sun_abraham")).p_value > 0.01


def test_no_leads_is_an_error():
    panel, _ = kz.simulate_panel(random_seed=1)
    es = kz.event_study(panel, "outcome", first_treated="first_treated", method="twfe", leads=1, lags=3)
    with pytest.raises(SpecificationError, match="0 pre-period coefficients"):
        pretrend_test(es)


def test_plot_overlays_the_detectable_trends():
    import matplotlib

    matplotlib.use("Agg")
    panel, _ = kz.simulate_panel(random_seed=1)
    ax = pretrend_test(kz.event_study(panel, "outcome", first_treated="first_treated")).plot()
    labels = [line.get_label() for line in ax.get_lines()]
    assert "trend detected with 50% power" in labels and "trend detected with 80% power" in labels
