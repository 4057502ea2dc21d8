"""power_analysis: against the closed-form power of TWFE, reproducibility, the error process, bad input."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import kzcausal as kz
from kzcausal.planning.power import ErrorProcess, estimate_error_process, power_analysis
from kzcausal.errors import SpecificationError


@pytest.fixture(scope="module")
def layout():
    """A Serpin-shaped SIMULATED layout: 17 regions, 6 treated from 2014, 2009-2023."""
    panel, _ = kz.simulate_panel(cohorts={2014: 6}, random_seed=3)
    return panel


def twfe_variance(panel: kz.RegionPanel, sigma: float) -> float:
    """Var of the TWFE coefficient with iid errors: sigma^2 / sum of the two-way demeaned treatment squared."""
    frame = panel.to_frame()
    d = frame.pivot(index="region", columns="year", values="treated").to_numpy(float)
    demeaned = d - d.mean(axis=1, keepdims=True) - d.mean(axis=0, keepdims=True) + d.mean()
    return sigma**2 / (demeaned**2).sum()


def test_twfe_power_matches_the_closed_form(layout):
    # iid N(0, 0.1^2) errors: the TWFE estimate is N(tau, V) with V in closed form; its clustered
    # t-test (17 clusters, t(16)) rejects with probability ~ P(|N(tau/sqrt(V), 1)| > t_16) (the
    # cluster-robust SE is consistent for sqrt(V); its own noise costs a little power). With 400
    # panels the Monte Carlo sd of a power near 0.5 is 0.025, so 0.08 is > 3 sd; the MDE follows.
    sigma = 0.1
    error = ErrorProcess(rho=0.0, sigma=sigma)
    estimators = {"TWFE": lambda p, y: kz.twfe(p, y, treatment="treated")}
    result = power_analysis(layout, "outcome", first_treated="first_treated", estimators=estimators, error=error,
                            effects=[0.0, 0.02, 0.04], n_sims=400, random_seed=1, progress=False)
    sd = np.sqrt(twfe_variance(layout, sigma))
    crit = stats.t(16).ppf(0.975)
    power = result.power.set_index("effect")["power"]
    for tau in (0.0, 0.02, 0.04):
        expected = stats.norm.sf(crit - tau / sd) + stats.norm.cdf(-crit - tau / sd)
        assert power[tau] == pytest.approx(expected, abs=0.08)
    closed_mde = (crit + stats.norm.ppf(0.8)) * sd
    assert result.mde.loc[0, "mde"] == pytest.approx(closed_mde, rel=0.15)
    assert result.mde.loc[0, "method"] == "exact (shift-equivariant)"


def test_same_seed_same_result_and_plot(layout):
    import matplotlib

    matplotlib.use("Agg")
    kwargs = dict(error=ErrorProcess(rho=0.3, sigma=0.05, region_sd=0.5, year_sd=0.1), n_sims=20, random_seed=9,
                  progress=False)
    first = power_analysis(layout, "outcome", first_treated="first_treated", **kwargs)
    second = power_analysis(layout, "outcome", first_treated="first_treated", **kwargs)
    pd.testing.assert_frame_equal(first.power, second.power)
    pd.testing.assert_frame_equal(first.mde, second.mde)
    assert set(first.mde["estimator"]) == {"TWFE", "Callaway-Sant'Anna"}
    assert first.plot() is not None and "minimum detectable effect" in first.summary()
    assert isinstance(first, kz.CheckResult) and len(first.to_frame()) == len(first.power)


def test_resampling_inference_is_computed_effect_by_effect(layout):
    estimators = {"TWFE": lambda p, y: kz.twfe(p, y, treatment="treated")}
    result = power_analysis(layout, "outcome", first_treated="first_treated", estimators=estimators,
                            inference=["analytic", "wild_bootstrap", "randomization"], effects=[0.0, 0.5],
                            error=ErrorProcess(rho=0.0, sigma=0.05), n_sims=10, draws=99, random_seed=2,
                            progress=False)
    table = result.power.set_index(["inference", "effect"])["power"]
    # an effect of 10 error sds is detected by every method in every panel
    assert table[("wild_bootstrap", 0.5)] == 1.0 and table[("randomization", 0.5)] == 1.0
    assert set(result.mde["method"]) >= {"interpolated"}


def test_error_process_is_recovered_from_a_long_pre_period():
    # 40 regions x 30 pre-period years of AR(1) rho = 0.5, sigma = 0.2. Two-way demeaning biases the
    # pooled autocorrelation by about -(1 + rho)/T = -0.05 (Nickell 1981); allow 0.1.
    rng = np.random.default_rng(4)
    truth = ErrorProcess(rho=0.5, sigma=0.2, region_sd=1.0, year_sd=0.3)
    y = truth.simulate(40, 31, rng)
    frame = pd.DataFrame([(f"R{i}", 1990 + t, y[i, t]) for i in range(40) for t in range(31)],
                         columns=["region", "year", "outcome"])
    panel = kz.read_panel(frame, regions=None)
    estimated = estimate_error_process(panel, "outcome", before=2020)
    assert estimated.rho == pytest.approx(0.5, abs=0.1)
    assert estimated.sigma == pytest.approx(0.2, rel=0.1)
    assert estimated.region_sd == pytest.approx(1.0, rel=0.35)  # 40 draws: sd of a sd ~ 11%


def test_bad_input(layout):
    with pytest.raises(SpecificationError, match="inference"):
        power_analysis(layout, "outcome", first_treated="first_treated", inference="analytic", progress=False)
    with pytest.raises(SpecificationError, match="n_sims"):
        power_analysis(layout, "outcome", first_treated="first_treated", n_sims=3, progress=False)
    frame = layout.to_frame().assign(first_treated=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        never = kz.read_panel(frame, regions=None)
    with pytest.raises(SpecificationError, match="never treated|no region is ever treated"):
        power_analysis(never, "outcome", first_treated="first_treated", progress=False)
    short = kz.read_panel(layout.to_frame().query("year >= 2012"), regions=None)
    with pytest.raises(SpecificationError, match="3 pre-period years"):
        power_analysis(short, "outcome", first_treated="first_treated", progress=False)
