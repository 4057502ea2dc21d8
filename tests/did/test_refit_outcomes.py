"""result.refit_outcomes: many outcomes re-estimated in one pass, against pyfixest's multiple-outcome
fit (TWFE, to 1e-8) and against refitting each outcome (to 1e-10); the fallback; bad input."""

import dataclasses

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

import kzcausal as kz
from kzcausal.errors import SpecificationError


def outcomes(result, k=12, seed=0):
    """k outcome columns on the result's rows: noise plus region and year terms of different sizes."""
    rows = result.rows()
    rng = np.random.default_rng(seed)
    region = pd.factorize(rows["region"])[0]
    year = rows["year"].to_numpy(float)
    return (rng.normal(size=(len(rows), k)) + rng.normal(size=(region.max() + 1, k))[region]
            + 0.05 * (year - year.mean())[:, None] * rng.normal(size=k))


def by_refit(result, values):
    rows = result.rows()
    effects = [result.refit(rows.assign(**{result.outcome: column})).effect_table().iloc[0] for column in values.T]
    return np.array([e["estimate"] for e in effects]), np.array([e["std_error"] for e in effects])


@pytest.mark.parametrize("covariates, cluster", [((), None), (("x",), None), ((), "macro"), (("x",), "macro")])
def test_twfe_equals_pyfixest_for_every_outcome(staggered_with_covariate, covariates, cluster):
    panel, frame = staggered_with_covariate
    result = kz.twfe(panel, "outcome", treatment="treated", covariates=list(covariates), cluster=cluster)
    assert result.outcome_refitter is not None
    values = outcomes(result)
    estimates, errors = result.refit_outcomes(values)
    data = result.rows().assign(D=lambda t: (t["year"] >= t["cohort"]).astype(float))
    if cluster:
        data["macro"] = data["cluster"]
    names = [f"y{j}" for j in range(values.shape[1])]
    data[names] = values
    rhs = " + ".join(["D", *covariates])
    fits = pf.feols(f"{' + '.join(names)} ~ {rhs} | region + year", data=data, vcov={"CRV1": cluster or "region"})
    for j, name in enumerate(names):
        fit = fits.fetch_model(j, print_fml=False)
        assert fit._depvar == name
        assert estimates[j] == pytest.approx(float(fit.coef()["D"]), abs=1e-8)
        assert errors[j] == pytest.approx(float(fit.se()["D"]), rel=1e-8)
    refit = by_refit(result, values)
    np.testing.assert_allclose(estimates, refit[0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(errors, refit[1], rtol=1e-10)


def test_twfe_on_an_unbalanced_panel(staggered_with_covariate):
    _, frame = staggered_with_covariate
    holes = frame.drop(index=frame.sample(15, random_state=2).index)
    result = kz.twfe(kz.read_panel(holes, regions=None, allow_gaps=True), "outcome", treatment="treated")
    values = outcomes(result, k=5)
    estimates, errors = result.refit_outcomes(values)
    refit = by_refit(result, values)
    np.testing.assert_allclose(estimates, refit[0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(errors, refit[1], rtol=1e-9)


@pytest.mark.parametrize("settings", [dict(), dict(control_group="not_yet_treated"), dict(anticipation=1),
                                      dict(cluster="macro"), dict(base_period="universal")])
def test_staggered_equals_refitting_each_outcome(staggered_with_covariate, settings):
    panel, _ = staggered_with_covariate
    result = kz.staggered_did(panel, "outcome", first_treated="first_treated", **settings)
    assert result.outcome_refitter is not None
    values = outcomes(result)
    estimates, errors = result.refit_outcomes(values)
    refit = by_refit(result, values)
    np.testing.assert_allclose(estimates, refit[0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(errors, refit[1], rtol=1e-10)
    # the result's own outcome gives its own effect
    own = result.refit_outcomes(result.rows()["outcome"].to_numpy())
    assert own[0][0] == pytest.approx(result.effect_estimate, abs=1e-12)
    assert own[1][0] == pytest.approx(float(result.effect_table()["std_error"].iloc[0]), rel=1e-12)


def test_estimators_without_a_shortcut_refit_each_outcome(staggered_with_covariate):
    panel, _ = staggered_with_covariate
    fits = [kz.staggered_did(panel, "outcome", first_treated="first_treated", covariates=["x"]),
            kz.staggered_did(panel, "outcome", first_treated="first_treated", draws=99, random_seed=1),
            kz.twfe(panel, "outcome", treatment="treated", cov="robust")]
    for result in fits:
        assert result.outcome_refitter is None
        values = outcomes(result, k=3)
        np.testing.assert_array_equal(np.column_stack(result.refit_outcomes(values)),
                                      np.column_stack(by_refit(result, values)))


def test_shortcut_and_fallback_give_the_same_power():
    panel, _ = kz.simulate_panel(cohorts={2014: 6}, random_seed=3)

    def without_shortcut(estimator):
        return lambda p, y: dataclasses.replace(estimator(p, y), outcome_refitter=None)

    estimators = {"TWFE": lambda p, y: kz.twfe(p, y, treatment="treated"),
                  "CS": lambda p, y: kz.staggered_did(p, y, first_treated="first_treated")}
    kwargs = dict(n_sims=40, random_seed=5, progress=False)
    fast = kz.power_analysis(panel, "outcome", first_treated="first_treated", estimators=estimators, **kwargs)
    slow = kz.power_analysis(panel, "outcome", first_treated="first_treated", **kwargs,
                                         estimators={k: without_shortcut(f) for k, f in estimators.items()})
    pd.testing.assert_frame_equal(fast.power, slow.power, rtol=1e-12)
    pd.testing.assert_frame_equal(fast.mde, slow.mde, rtol=1e-9)


def test_bad_outcomes_are_refused_by_name(staggered_with_covariate):
    panel, _ = staggered_with_covariate
    result = kz.twfe(panel, "outcome", treatment="treated")
    values = outcomes(result, k=3)
    with pytest.raises(SpecificationError, match="one row per estimation row"):
        result.refit_outcomes(values[:-1])
    values[4, 1] = np.nan
    with pytest.raises(SpecificationError, match=r"column\(s\) \[1\].*NaN"):
        result.refit_outcomes(values)
    values[:, 1] = 2.0
    with pytest.raises(SpecificationError, match=r"column\(s\) \[1\].*constant"):
        result.refit_outcomes(values)
