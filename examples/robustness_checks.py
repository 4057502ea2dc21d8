"""Every robustness check on one design, one call each.

The design is Serpin-shaped (17 regions, 6 treated from 2014, 2009-2023) and SIMULATED, with a
known effect of 0.5 and a mild pre-trend in the treated regions, so you can see which checks
notice the violation. Swap in your own panel and outcome to use it for real.

Run: .venv/bin/python examples/robustness_checks.py [--fast]
(--fast: fewer Bayesian draws; every other check is already fast)
"""

import sys
import warnings

import kzcausal as kz
from kzcausal import diagnostics as dx

fast = "--fast" in sys.argv
warnings.simplefilter("ignore", kz.errors.KzCausalWarning)
panel, truth = kz.simulate_panel(cohorts={2014: 6}, effect=0.5, pretrend="linear", pretrend_size=0.03,
                                 serial_correlation=0.5, random_seed=7)
treated = truth.first_treated.dropna().index.tolist()
print("SIMULATED panel: true effect 0.5, linear pre-trend 0.03 a year in treated regions\n")

# --- the estimate, three ways of computing its uncertainty
fit = kz.did_2x2(panel, "outcome", treated=treated, post_from=2014, fixed_effects=True, cov="cluster")
ols = kz.did_2x2(panel, "outcome", treated=treated, post_from=2014)
print(kz.report.regression_table({"2x2, OLS errors (paper 002)": ols, "TWFE, clustered": fit}, stars=True), "\n")
print(dx.wild_cluster_bootstrap(fit, draws="exact").summary(), "\n")
print(dx.randomization_inference(fit, progress=False).summary(), "\n")

# --- parallel trends: test, power, sensitivity
es = kz.event_study(panel, "outcome", first_treated="first_treated", method="cs", leads=4, lags=5)
print(es.table.round(3).to_string(), "\n")
print(dx.pretrend_test(es).summary(), "\n")
print(kz.honest_sensitivity(es, restriction="smoothness", target="average", progress=False).summary(), "\n")
print(kz.honest_sensitivity(es, restriction="relative_magnitude", target="average", progress=False).summary(), "\n")

# --- placebo, decomposition, influence of single regions
print(dx.placebo_in_time(fit, shifts=[1, 2, 3]).summary(), "\n")
print(dx.bacon_decomposition(panel, "outcome", treatment="treated").summary(), "\n")
print(dx.leave_one_out(fit).summary(), "\n")

# --- the same few-cluster checks on the heterogeneity-robust estimators: any result, any check
for result in (kz.staggered_did(panel, "outcome", first_treated="first_treated"), es,
               kz.event_study(panel, "outcome", first_treated="first_treated", method="sun_abraham", leads=4, lags=5)):
    print(result.method)
    print(result.effect_table().round(4).to_string())
    print(dx.wild_cluster_bootstrap(result, draws=9999, random_seed=1).summary())
    # CS is re-assigned in one vectorized pass; Sun-Abraham is re-fitted per assignment, so sample 999
    print(dx.randomization_inference(result, draws="exact" if result.permuted else 999, random_seed=1,
                                     progress=False).summary(), "\n")

# --- the Bayesian event study: cohort pooling, AR(1) errors
draws = dict(draws=200, tune=200, chains=2) if fast else dict(draws=1000, tune=1000, chains=4)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", kz.errors.ConvergenceWarning)
    bayes = kz.bayesian_event_study(panel, "outcome", first_treated="first_treated", leads=4, lags=5, prior="random_walk",
                                    random_seed=7, progress=False, **draws)
print(bayes.method)
print(bayes.table.round(3).to_string())
