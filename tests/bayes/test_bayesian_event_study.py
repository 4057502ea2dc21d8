"""Bayesian event study: known truth, agreement with Sun-Abraham, the event-study interface."""

import logging
import warnings

import numpy as np
import pytest

import kzcausal as kz
from kzcausal.bayes.event_study import bayesian_event_study
from kzcausal.errors import ConvergenceWarning, SpecificationError

logging.getLogger("pymc").setLevel(logging.ERROR)
pytest.importorskip("nutpie")


@pytest.fixture(scope="module")
def fitted():
    panel, _ = kz.simulate_panel(cohorts={2013: 4, 2016: 4}, effect=1.0, dynamic=0.3, random_seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = bayesian_event_study(panel, "outcome", first_treated="first_treated", leads=4, lags=4, draws=500, tune=500,
                                      chains=2, sampler="nutpie", random_seed=1, progress=False)
    return panel, result


def test_covers_the_true_dynamic_effects_and_agrees_with_sun_abraham(fitted):
    panel, result = fitted
    table = result.table
    truth = {e: (1.0 + 0.3 * e if e >= 0 else 0.0) for e in range(-4, 4) if e != -1}   # the e = 4 bin averages
    covered = [table.loc[e, "ci_low"] <= v <= table.loc[e, "ci_high"] for e, v in truth.items()]
    assert np.mean(covered) >= 5 / 7
    sa = kz.event_study(panel, "outcome", first_treated="first_treated", method="sun_abraham", leads=4, lags=4).table
    # Partial pooling and the priors move the estimates by a fraction of a posterior sd (1.08 sd at most on
    # the machine this was written on); the posterior means also carry Monte Carlo error, which differs from
    # one machine's seeded stream to another's. The bound is 1.5 posterior sd plus 4 Monte Carlo standard
    # errors of each mean (arviz's MCSE), so a different stream cannot flip it; a broken model is off by more.
    import arviz as az

    mcse = az.mcse(result.idata, var_names=["effect"])["effect"].to_series().reindex(table.index).to_numpy()
    assert (np.abs(table["estimate"] - sa["estimate"]) < 1.5 * table["std_error"] + 4 * mcse).all()
    assert np.corrcoef(table["estimate"], sa["estimate"])[0, 1] > 0.9
    assert result.overall["estimate"] == pytest.approx(table.loc[table.index >= 0, "estimate"].mean(), abs=1e-9)


def test_event_study_interface(fitted):
    _, result = fitted
    assert isinstance(result, kz.did.EventStudyResult) and result.event_times == [-4, -3, -2, 0, 1, 2, 3, 4]
    assert result.vcov.shape == (8, 8) and np.allclose(np.sqrt(np.diag(result.vcov)), result.table["std_error"])
    honest = kz.honest_sensitivity(result, restriction="smoothness", M=[0.0, 0.1], progress=False)
    width = honest.table["ci_high"] - honest.table["ci_low"]
    assert width.iloc[1] >= width.iloc[0] > 0
    assert result.plot() is not None and result.to_xarray()["estimate"].sizes["event_time"] == 8
    assert result.idata.posterior["cohort_effect"].sizes["cell"] > 8


def test_bad_input():
    panel, _ = kz.simulate_panel(cohorts={2013: 4}, random_seed=2)
    frame = panel.to_frame()
    holes = kz.read_panel(frame[(frame["region"] != "Region 01") | (frame["year"] != 2015)]
                          [["region", "year", "outcome", "first_treated"]], regions=None, allow_gaps=True)
    with pytest.raises(SpecificationError, match="balanced"):
        bayesian_event_study(holes, "outcome", first_treated="first_treated", leads=3, lags=3, progress=False)
    with pytest.raises(SpecificationError, match="lead"):
        bayesian_event_study(panel, "outcome", first_treated="first_treated", leads=1, lags=3, progress=False)
    with pytest.raises(SpecificationError, match="prior"):
        bayesian_event_study(panel, "outcome", first_treated="first_treated", prior="flat", progress=False)


@pytest.mark.parametrize("prior", ["independent", "random_walk"])
def test_collapsed_coordinates_sample_the_original_posterior(prior):
    """The default parametrization (region effects integrated out and drawn afterwards from their exact
    conditional, event-time effects through the cells' means) against the textbook one: every posterior
    mean and sd agrees within Monte Carlo error. z = gap / combined MCSE (each run's own ESS) is about
    standard normal when both runs sample one posterior and their ESS is well estimated, whatever the seeds
    or the machine; |z| < 4.5 over the 134 z's (means and sds of 67 scalars) then fails with probability
    below 1e-3 (union bound, 6.8e-6 each), while a model off by a tenth of a posterior sd in one quantity
    gives |z| near 10. The textbook form mixes slowly (r_hat ~1.015 with 4 x 1,000 draws, which makes its
    ESS, and so its MCSE, too optimistic: |z| reached 4.8 that way), so it runs 4 x 4,000 draws at
    target_accept 0.95 to be a converged reference. The default form runs as users run it; divergences
    must stay below 0.1% of its 4,000 transitions: with independent effects none were seen in any run;
    the random walk's step sd against its increments is a mild funnel (2 divergences on one seed stream,
    none on others); the textbook form had up to 3 at 4 x 1,000 and 11 at 4 x 4,000 draws."""
    from kzcausal.bayes.convergence import posterior_difference_z
    from kzcausal.bayes.event_study import _add_region_effects, _build_model, _inputs
    from kzcausal.bayes.sampling import sample_nuts
    from kzcausal.design import DIDDesign

    panel, _ = kz.simulate_panel(cohorts={2013: 4, 2016: 4}, effect=1.0, dynamic=0.3, random_seed=5)
    inputs = _inputs(DIDDesign.panel_rows(panel, "outcome", "first_treated"), "outcome", 4, 4)
    settings = {"original": dict(draws=4000, tune=2000, target_accept=0.95),
                "collapsed": dict(draws=1000, tune=1000, target_accept=0.9)}
    posteriors = {}
    for parametrization, setting in settings.items():
        idata = sample_nuts(_build_model(inputs, prior, 2.5, parametrization), "nutpie", chains=4, random_seed=3,
                            progress=False, **setting)
        _add_region_effects(idata, inputs, np.random.default_rng(4))
        posteriors[parametrization] = idata
    assert int(posteriors["collapsed"].sample_stats["diverging"].sum()) <= 4
    names = ["effect", "theta_e", "cohort_effect", "tau_cohort", "sigma", "rho", "year_effect", "region_effect"]
    z = posterior_difference_z(posteriors["original"].posterior, posteriors["collapsed"].posterior, names)
    assert len(z) > 60 and np.abs(z.to_numpy()).max() < 4.5, z.abs().max(axis=1).sort_values().tail()
