"""Randomization inference against brute-force re-fits; wild bootstrap against wildboottest."""

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from linearmodels.panel import PanelOLS

import kzcausal as kz
from kzcausal.diagnostics import randomization_inference, wild_cluster_bootstrap
from kzcausal.errors import SpecificationError


@pytest.fixture(scope="module")
def small():
    panel, truth = kz.simulate_panel(n_regions=8, years=range(2010, 2020), cohorts={2014: 3}, effect=0.7,
                                     random_seed=21)
    return panel, truth.first_treated.dropna().index.tolist()


def brute_force(panel, treated_sets, fixed_effects):
    """Re-fit every assignment with linearmodels / statsmodels directly."""
    frame = panel.to_frame()
    estimates, t_stats = [], []
    for treated in treated_sets:
        data = frame.assign(D=(frame["region"].isin(treated) & (frame["year"] >= 2014)).astype(float),
                            P=frame["region"].isin(treated).astype(float),
                            post=(frame["year"] >= 2014).astype(float))
        if fixed_effects:
            indexed = data.set_index(["region", "year"])
            fit = PanelOLS(indexed["outcome"], indexed[["D"]], entity_effects=True, time_effects=True).fit(
                cov_type="clustered", cluster_entity=True)
            estimates.append(fit.params["D"])
            t_stats.append(fit.tstats["D"])
        else:
            estimates.append(smf.ols("outcome ~ P + post + D", data=data).fit().params["D"])
    return np.array(estimates), np.array(t_stats)


@pytest.mark.parametrize(("fixed_effects", "statistic"), [(True, "estimate"), (True, "t"), (False, "estimate")])
def test_exact_ri_equals_brute_force_refits(small, fixed_effects, statistic):
    panel, treated = small
    regions = panel.regions
    result = kz.did_2x2(panel, "outcome", treated=treated, post_from=2014, fixed_effects=fixed_effects,
                        cov="cluster" if fixed_effects else "ols", ssc="linearmodels")
    ri = randomization_inference(result, statistic=statistic)
    sets = [list(c) for c in itertools.combinations(regions, len(treated))]
    assert ri.exact and ri.n_assignments == len(sets) == 56
    estimates, t_stats = brute_force(panel, sets, fixed_effects)
    reference = t_stats if statistic == "t" else estimates
    np.testing.assert_allclose(np.sort(ri.distribution), np.sort(reference), atol=1e-10)
    observed = reference[sets.index(sorted(treated))]
    assert ri.observed == pytest.approx(observed, abs=1e-10)
    assert ri.p_value == pytest.approx(np.mean(np.abs(reference) >= abs(observed) - 1e-10), abs=1e-12)


def test_ri_for_staggered_twfe_permutes_cohort_labels():
    panel, truth = kz.simulate_panel(n_regions=6, years=range(2010, 2018), cohorts={2013: 2, 2015: 1},
                                     random_seed=4)
    result = kz.twfe(panel, "outcome", treatment="treated")
    ri = randomization_inference(result)
    assert ri.n_assignments == 60  # 6! / (2! 1! 3!)
    frame = panel.to_frame()
    cohorts = truth.first_treated.fillna(np.inf)
    brute = []
    for labels in set(itertools.permutations(cohorts.to_numpy().tolist(), len(cohorts))):
        mapping = dict(zip(cohorts.index, labels))
        d = (frame["year"] >= frame["region"].map(mapping).astype(float)).astype(float)
        indexed = frame.assign(D=d).set_index(["region", "year"])
        brute.append(PanelOLS(indexed["outcome"], indexed[["D"]], entity_effects=True,
                              time_effects=True).fit().params["D"])
    np.testing.assert_allclose(np.sort(ri.distribution), np.sort(brute), atol=1e-10)
    assert ri.observed == pytest.approx(result.params["treated"], abs=1e-10)


def test_sampled_ri_is_seeded():
    panel, truth = kz.simulate_panel(random_seed=3)
    result = kz.did_2x2(panel, "outcome", treated=truth.first_treated.dropna().index, post_from=2014, fixed_effects=True)
    a = randomization_inference(result, draws=999, random_seed=5)
    b = randomization_inference(result, draws=999, random_seed=5)
    np.testing.assert_array_equal(a.distribution, b.distribution)
    exact = randomization_inference(result)
    assert exact.n_assignments == 12_376 and not a.exact
    assert abs(a.p_value - exact.p_value) < 0.03


@pytest.mark.parametrize("impose_null", [True, False])
def test_wild_bootstrap_equals_wildboottest_with_full_enumeration(small, impose_null):
    from wildboottest.wildboottest import wildboottest

    panel, treated = small
    frame = panel.to_frame().assign(D=lambda t: (t["region"].isin(treated) & (t["year"] >= 2014)).astype(float))
    model = smf.ols("outcome ~ D + C(region) + C(year)", data=frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = wildboottest(model, param="D", cluster=pd.factorize(frame["region"])[0], B=99_999, seed=1,
                                 weights_type="rademacher", impose_null=impose_null, show=False)
    ours = wild_cluster_bootstrap(kz.did_2x2(panel, "outcome", treated=treated, post_from=2014, fixed_effects=True, cov="cluster"),
                                  draws="exact", impose_null=impose_null)
    assert ours.n_boot == 2**8
    # both enumerate all 256 sign vectors: identical p-values (t's differ by a small-sample factor that cancels),
    # except that with the null imposed the vectors +-(1, ..., 1) rebuild the data, so their t* equals t up to
    # rounding: whether a tie counts depends on the last bit (on some data sets it goes either way), at most 2/256
    slack = 2 / 256 if impose_null else 0.0
    assert abs(ours.p_value - float(reference["p-value"].iloc[0])) <= slack + 1e-12


def test_wild_bootstrap_interval_inverts_the_test():
    panel, truth = kz.simulate_panel(random_seed=3)
    result = kz.twfe(panel, "outcome", treatment="treated")
    boot = wild_cluster_bootstrap(result, draws=1999, random_seed=2)
    assert boot.ci_low < boot.estimate < boot.ci_high
    assert boot.estimate == pytest.approx(result.params["treated"], abs=1e-10)
    again = wild_cluster_bootstrap(result, draws=1999, random_seed=2)
    assert (boot.ci_low, boot.ci_high, boot.p_value) == (again.ci_low, again.ci_high, again.p_value)
    webb = wild_cluster_bootstrap(result, weights="webb", draws=1999, random_seed=2)
    assert webb.ci_low < webb.estimate < webb.ci_high


def test_pooled_and_covariates_specifications_run():
    panel, truth = kz.simulate_panel(random_seed=3)
    pooled = kz.did_2x2(panel, "outcome", treated=truth.first_treated.dropna().index, post_from=2014)
    assert 0 <= wild_cluster_bootstrap(pooled, draws=999, random_seed=1).p_value <= 1
    with_x = kz.twfe(panel.with_logs("grp"), "outcome", treatment="treated", covariates=["log_grp"])
    assert 0 <= randomization_inference(with_x).p_value <= 1


def test_bad_requests():
    panel, truth = kz.simulate_panel(random_seed=3)
    result = kz.did_2x2(panel, "outcome", treated=truth.first_treated.dropna().index, post_from=2014)
    with pytest.raises(SpecificationError, match="fixed-effects"):
        randomization_inference(result, statistic="t")
    with pytest.raises(SpecificationError, match="draws"):
        randomization_inference(result, draws=0)
    big, t2 = kz.simulate_panel(n_regions=40, cohorts={2014: 20}, random_seed=1)
    many = kz.did_2x2(big, "outcome", treated=t2.first_treated.dropna().index, post_from=2014, fixed_effects=True)
    with pytest.raises(SpecificationError, match=r"137,846,528,820 assignments.*draws=9999"):
        randomization_inference(many)
    with pytest.raises(SpecificationError, match="2\\^40"):
        wild_cluster_bootstrap(many, draws="exact")
    with pytest.raises(SpecificationError, match="rademacher"):
        wild_cluster_bootstrap(result, weights="webb", draws="exact")
    with pytest.raises(SpecificationError, match="needs control regions"):
        randomization_inference(kz.did_2x2(panel, "outcome", treated=panel.regions[:3], post_from=2014).refit(
            cohorts=dict.fromkeys(panel.regions, 2014.0)))
