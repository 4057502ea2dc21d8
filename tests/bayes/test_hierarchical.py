"""Hierarchical elasticities: recovery of known truth, pooling limits against statsmodels, the
outcome-scale log likelihood, model comparison, diagnostics and bad input. Sampling is kept small."""

import logging
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import kzcausal as kz
from kzcausal.bayes import hierarchical_elasticity, prior_sensitivity
from kzcausal.errors import ConvergenceWarning, KzCausalWarning, SpecificationError

logging.getLogger("pymc").setLevel(logging.ERROR)
SMALL = dict(draws=400, tune=400, chains=2, progress=False)


@pytest.fixture(scope="module")
def simulated():
    return kz.simulate_panel(elasticity=0.3, elasticity_sd=0.2, random_seed=7)


@pytest.fixture(scope="module")
def partial(simulated):
    return hierarchical_elasticity(simulated[0], random_seed=1, **SMALL)


def _within(panel, form="log-log"):
    """The model's standardized variables, rebuilt independently for the statsmodels references."""
    d = panel.to_frame()
    if form == "log-log":
        d["ly"], d["lx"] = np.log(d["grp"]), np.log(d["attractiveness_index"])
    else:
        d["ly"] = d["grp"] / d.groupby("region")["grp"].transform("mean")
        d["lx"] = d["attractiveness_index"] / d.groupby("region")["attractiveness_index"].transform("mean")
    return d.assign(t=d["year"] - d["year"].mean())


def test_recovers_known_region_elasticities(partial, simulated):
    _, truth = simulated
    frame = partial.to_frame(0.9).set_index("term")
    inside = [frame.loc[r, "ci_low"] <= truth.elasticity[r] <= frame.loc[r, "ci_high"] for r in truth.elasticity.index]
    assert np.mean(inside) >= 0.8
    mu = frame.loc["mu_beta"]
    assert mu["ci_low"] <= truth.mu_elasticity <= mu["ci_high"]
    assert frame.loc["tau_beta", "ci_low"] <= truth.tau_elasticity <= frame.loc["tau_beta", "ci_high"]
    # partial pooling pulls the noisy least-squares estimates towards mu: less spread across regions
    regions = frame.drop(["mu_beta", "tau_beta"])
    assert regions["estimate"].std() < regions["least_squares"].std()


def test_inference_data_is_labelled_and_complete(partial, simulated):
    idata = partial.idata
    assert {"posterior", "prior", "prior_predictive", "posterior_predictive", "log_likelihood", "observed_data",
            "sample_stats"} <= set(idata.groups())
    assert idata.posterior["elasticity"].sel(region="Region 03").shape == (2, 400)
    assert partial.elasticities.dims == ("chain", "draw", "region")
    obs = idata.observed_data
    assert set(obs["region"].values) == set(simulated[0].regions) and obs["year"].values.min() == 2009
    # the outcome-scale posterior predictive is centred on the observed GRP
    predicted = idata.posterior_predictive["grp"].mean(("chain", "draw")).values
    assert np.corrcoef(predicted, obs["grp"].values)[0, 1] > 0.99
    assert "Region 03" in partial.summary() and partial.plot() is not None
    checks = partial.predictive_check()
    # the posterior reproduces the data's location and spread; the wide prior covers them
    assert checks.loc[["mean", "sd"], "posterior"].between(0.05, 0.95).all()
    assert checks["prior"].between(0.0, 1.0).all() and (checks["observed"].abs() < 50).all()


def test_log_likelihood_is_on_the_outcome_scale(partial, simulated):
    """log p(GRP) = log N(y*; mean, sigma) - log(s_y * GRP), recomputed with scipy for one draw."""
    design = partial.design
    d = design.data
    post = partial.idata.posterior.isel(chain=0, draw=7)
    r = pd.Categorical(d["region"], categories=design.regions).codes
    mean = (post["intercept"].values[r] + post["beta_std"].values[r] * d["x"] + post["trend"].values[r] * d["t"])
    expected = stats.norm.logpdf(d["y"], mean, float(post["sigma"])) - np.log(design.y_scale * d["grp"])
    stored = partial.idata.log_likelihood["grp"].isel(chain=0, draw=7).values
    assert stored == pytest.approx(expected.to_numpy(), abs=1e-8)
    # a direct check of the change of variables: the density of log GRP integrates to one over GRP
    assert design.y_scale == pytest.approx((np.log(d["grp"]) - np.log(d["grp"]).groupby(d["region"])
                                            .transform("mean")).std(), rel=1e-12)


def test_complete_pooling_limit_equals_pooled_least_squares(simulated):
    panel, _ = simulated
    fit = hierarchical_elasticity(panel, priors={"tau_beta_fixed": 1e-6}, random_seed=2, **SMALL)
    d = _within(panel)
    ols = smf.ols("ly ~ 0 + C(region) + C(region):t + lx", data=d).fit()
    mu = fit.mu_beta.values.ravel()
    assert np.ptp(fit.elasticities.mean(("chain", "draw")).values) < 1e-4
    assert abs(mu.mean() - ols.params["lx"]) < 0.25 * mu.std()
    assert mu.std() == pytest.approx(ols.bse["lx"], rel=0.25)


def test_no_pooling_limit_equals_per_region_least_squares(simulated):
    panel, _ = simulated
    fit = hierarchical_elasticity(panel, priors={"tau_beta_fixed": 20.0}, random_seed=3, **SMALL)
    d = _within(panel)
    post = fit.elasticities
    for region, rows in d.groupby("region"):
        ols = smf.ols("ly ~ lx + t", data=rows).fit()
        draws = post.sel(region=region).values.ravel()
        assert abs(draws.mean() - ols.params["lx"]) < 0.3 * draws.std(), region
        assert fit.least_squares[region] == pytest.approx(ols.params["lx"], abs=1e-8)


def test_linear_no_pooling_counterfactual_matches_the_factor_model():
    """The linear form without pooling is paper 000's linear model per region, reparametrized."""
    panel = kz.load_kazakhstan()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KzCausalWarning)
        fit = hierarchical_elasticity(panel, form="linear", priors={"tau_beta_fixed": 50.0, "trend": 10.0},
                                      random_seed=4, **SMALL)
    change = fit.counterfactual(2022)
    for region in ("Zhambyl", "Almaty region"):
        ls = kz.factor_model(panel, region, "linear")
        draws = change.sel(region=region).values.ravel()
        assert abs(draws.mean() - ls.counterfactual(2022)["model"]) < 0.3 * draws.std(), region
        assert fit.least_squares[region] == pytest.approx(ls.elasticity, abs=1e-8)
    assert change.attrs["units"].startswith("million KZT")


def test_compare_models_and_pareto_k_warnings(partial, simulated):
    panel, _ = simulated
    frame = panel.to_frame()
    frame.loc[(frame["region"] == "Region 05") & (frame["year"] == 2016), "grp"] *= 3.0   # one wild year
    spiked = kz.read_panel(frame[["region", "year", "grp", "attractiveness_index"]], regions=None)
    normal = hierarchical_elasticity(spiked, random_seed=5, **SMALL)
    robust = hierarchical_elasticity(spiked, likelihood="student_t", random_seed=5, **SMALL)
    with pytest.warns(KzCausalWarning, match="Region 05 2016"):
        table = kz.compare_models([normal, robust])
    assert list(table.index)[0] == robust.label                    # the Student-t model predicts better
    assert {"elpd_loo", "p_loo", "weight", "max_pareto_k"} <= set(table.columns)
    with pytest.raises(SpecificationError, match="different data"):
        kz.compare_models([partial, normal])


def test_diagnostics_are_never_silent(simulated):
    with pytest.warns(ConvergenceWarning, match="mu_beta|tau_beta|ESS"):
        fit = hierarchical_elasticity(simulated[0], draws=30, tune=30, chains=2, random_seed=1, progress=False)
    assert not fit.converged and "sampler diagnostics failed" in fit.summary()
    assert (fit.diagnostics["ess_bulk"] < 400).any()


def test_same_seed_same_draws_and_prior_sensitivity(simulated):
    panel, _ = simulated
    kwargs = dict(draws=50, tune=50, chains=2, progress=False, random_seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = hierarchical_elasticity(panel, **kwargs)
        b = hierarchical_elasticity(panel, **kwargs)
        sensitivity = prior_sensitivity(a, panel)
    assert np.array_equal(a.elasticities.values, b.elasticities.values)
    assert {"mean", "mean_x2", "shift_in_sd"} <= set(sensitivity.columns) and "mu_beta" in sensitivity.index


def test_bad_input(simulated):
    panel, _ = simulated
    frame = panel.to_frame()[["region", "year", "grp", "attractiveness_index"]]
    bad = frame.copy()
    bad.loc[(bad["region"] == "Region 02") & (bad["year"] == 2011), "grp"] = 0.0
    with pytest.raises(SpecificationError, match="2011"):
        hierarchical_elasticity(kz.read_panel(bad, regions=None), **SMALL)
    short = frame[(frame["region"] != "Region 04") | (frame["year"] <= 2010)]
    short_panel = kz.read_panel(short, regions=None)
    with pytest.raises(SpecificationError, match="Region 04"):
        hierarchical_elasticity(short_panel, regions=["Region 04", "Region 05"], **SMALL)
    with pytest.raises(SpecificationError, match="kzcausal\\[blackjax\\]"):
        hierarchical_elasticity(panel, sampler="blackjax", **SMALL)
    with pytest.raises(SpecificationError, match="unknown prior"):
        hierarchical_elasticity(panel, priors={"beta": 1.0}, **SMALL)
    with pytest.raises(SpecificationError, match="form"):
        hierarchical_elasticity(panel, form="power", **SMALL)
    with pytest.warns(KzCausalWarning, match="2 region-year"):
        fit = hierarchical_elasticity(short_panel, draws=20, tune=20, chains=1, progress=False, random_seed=1)
    assert set(fit.excluded["region"]) == {"Region 04"} and "Region 04" not in fit.elasticities["region"].values


@pytest.mark.parametrize(("time", "likelihood"), [("region_trend", "normal"), ("year_effects", "student_t")])
def test_closed_form_prior_predictive_and_log_likelihood_are_pymcs(simulated, time, likelihood):
    """The prior, the predictive draws and the log likelihood come from the model's closed form in
    NumPy, not from PyMC's forward sampling; PyMC's own functions on the same model agree: the log
    likelihood to rounding, the draws in distribution (two-sample Kolmogorov-Smirnov, p > 1e-6 on
    2,000 draws a side, which a scale 20% off fails). Under equal distributions each KS p-value falls
    below 1e-6 with probability 1e-6, so the 10 tests fail a correct model with probability 1e-5 on any
    seeded stream; the posterior predictive pairs share their posterior draws, which only makes them
    closer than independent samples (a conservative test)."""
    import arviz as az
    import pymc as pm

    from kzcausal.bayes.hierarchical import _build_model, _log_likelihood, _prior_draws, _priors

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = hierarchical_elasticity(simulated[0], time=time, likelihood=likelihood, random_seed=6, **SMALL)
    design, priors = fit.design, _priors(None)
    model = _build_model(design, time, likelihood, priors)
    posterior = fit.idata.posterior
    # with the data the fit used (else PyMC redraws whatever depends on data it cannot check)
    sampled = az.InferenceData(posterior=posterior, constant_data=fit.idata.constant_data)
    with model:
        reference = pm.compute_log_likelihood(sampled, progressbar=False)
        replicated = pm.sample_posterior_predictive(sampled, random_seed=1, progressbar=False).posterior_predictive["y"]
        prior = pm.sample_prior_predictive(draws=2000, random_seed=2)
    flat = {n: posterior[n].values.reshape(-1, *posterior[n].shape[2:]) for n in posterior.data_vars}
    np.testing.assert_allclose(_log_likelihood(flat, design, time, likelihood),
                               reference.log_likelihood["y"].values.reshape(800, -1), rtol=1e-9, atol=1e-9)
    ours, ours_y = _prior_draws(design, time, likelihood, priors, 2000, np.random.default_rng(3))
    pairs = [(ours[n].reshape(2000, -1)[:, 0], prior.prior[n].values.reshape(2000, -1)[:, 0])
             for n in ("mu_beta", "tau_beta", "sigma", "elasticity", "intercept",
                       "trend" if time == "region_trend" else "year_effect")]
    pairs += [(ours_y[:, i], prior.prior_predictive["y"].values.reshape(2000, -1)[:, i]) for i in (0, -1)]
    ours_posterior = fit.idata.posterior_predictive["y"].values.reshape(800, -1)
    pairs += [(ours_posterior[:, i], replicated.values.reshape(800, -1)[:, i]) for i in (0, -1)]
    for a, b in pairs:
        assert stats.ks_2samp(a, b).pvalue > 1e-6
