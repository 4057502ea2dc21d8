"""Every few-cluster check on every estimator, through the result protocol, against brute force.

Randomization inference, leave-one-region-out and placebo in time are re-computed here the long
way: a new panel for every assignment / subset, fitted by the public estimator, with no use of
``refit``. They must agree with the checks to 1e-10.
"""

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

import kzcausal as kz
from kzcausal.did.imputation import imputation_did, two_stage_did
from kzcausal.did.synthetic import synthetic_control, synthetic_did
from kzcausal.results import CheckResult, EstimationResult, EventStudyResult

# one uniform table: every estimator is called as fn(panel, "outcome", first_treated="first_treated", **options)
# (the single-cohort estimators read the same column as the multi-cohort ones); "then" aggregates a CS result
FITS = {
    "did_2x2": (kz.did_2x2, dict(fixed_effects=True, cov="cluster")),
    "twfe": (kz.twfe, {}),
    "cs": (kz.staggered_did, {}),
    "cs_group": (kz.staggered_did, dict(then="group")),
    "cs_event": (kz.event_study, dict(method="cs", leads=2, lags=2)),
    "sun_abraham": (kz.event_study, dict(method="sun_abraham", leads=2, lags=2)),
    "dynamic_twfe": (kz.event_study, dict(method="twfe", leads=2, lags=2)),
    "imputation": (imputation_did, dict(leads=2, lags=2)),
    "two_stage": (two_stage_did, dict(leads=2, lags=2)),
    "synthetic_did": (synthetic_did, dict(n_reps=20, random_seed=1)),
    "synthetic_control": (synthetic_control, {}),
}
SINGLE_COHORT = {"did_2x2", "synthetic_did", "synthetic_control"}


def fit(name, panel):
    estimator, options = FITS[name]
    options = dict(options)
    then = options.pop("then", None)
    result = estimator(panel, "outcome", first_treated="first_treated", **options)
    return result.aggregate(then) if then else result


@pytest.fixture(scope="module")
def frames():
    single, _ = kz.simulate_panel(n_regions=6, years=range(2009, 2017), cohorts={2013: 2}, effect=0.5,
                                  dynamic=0.2, random_seed=11)
    staggered, _ = kz.simulate_panel(n_regions=6, years=range(2006, 2017), cohorts={2012: 1, 2014: 1}, effect=0.5,
                                     dynamic=0.2, heterogeneity=0.3, random_seed=12)
    return {"single": single.to_frame(), "staggered": staggered.to_frame()}


def frame_for(name, frames):
    return frames["single" if name in SINGLE_COHORT else "staggered"]


def panel_with(frame, cohorts):
    first = frame["region"].map(cohorts).astype(float).replace(np.inf, np.nan)
    data = frame.assign(first_treated=first, treated=(frame["year"] >= first.fillna(np.inf)).astype(float))
    return kz.read_panel(data, regions=None)


def effect(result):
    return float(result.effect_table()["estimate"].iloc[0])


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.mark.parametrize("name", list(FITS))
def test_randomization_inference_equals_brute_force(name, frames):
    frame = frame_for(name, frames)
    result = quiet(fit, name, kz.read_panel(frame, regions=None))
    assert isinstance(result, EstimationResult)
    ri = quiet(kz.randomization_inference, result, progress=False)
    labels = frame.groupby("region")["first_treated"].first()
    brute = [quiet(lambda c: effect(fit(name, panel_with(frame, c))), dict(zip(labels.index, perm)))
             for perm in sorted(set(itertools.permutations(labels.fillna(np.inf).tolist())))]
    assert ri.n_assignments == len(brute)
    np.testing.assert_allclose(np.sort(ri.distribution), np.sort(brute), atol=1e-10)
    assert ri.observed == pytest.approx(effect(result), abs=1e-12)
    assert isinstance(ri, CheckResult) and ri.to_frame()["p_value"].iloc[0] == ri.p_value


@pytest.mark.parametrize("name", list(FITS))
def test_leave_one_region_out_equals_brute_force(name, frames):
    frame = frame_for(name, frames)
    result = quiet(fit, name, kz.read_panel(frame, regions=None))
    loo = quiet(kz.leave_one_out, result)
    for term, row in loo.table.iterrows():
        region = term.removeprefix("without ")
        direct = quiet(fit, name, kz.read_panel(frame[frame["region"] != region], regions=None))
        np.testing.assert_allclose(row[["estimate", "std_error"]].to_numpy(float),
                                   direct.effect_table().iloc[0][["estimate", "std_error"]].to_numpy(float),
                                   atol=1e-10)
    # every region is accounted for: a row, or a stated reason why it could not be re-fitted
    assert len(loo.table) + sum(c.count(": ") for c in loo.caveats if "not estimable" in c) >= 1


@pytest.mark.parametrize("name", list(FITS))
def test_placebo_in_time_equals_brute_force(name, frames):
    frame = frame_for(name, frames)
    result = quiet(fit, name, kz.read_panel(frame, regions=None))
    placebo = quiet(kz.placebo_in_time, result, shifts=[1, 2])
    first = frame["first_treated"].min()
    for shift in (1, 2):
        pre = frame[frame["year"] < first]
        labels = pre.groupby("region")["first_treated"].first() - shift
        labels = labels.where(labels <= pre["year"].max())  # adoption after the placebo window: a control
        direct = quiet(fit, name, panel_with(pre, labels.to_dict()))
        np.testing.assert_allclose(placebo.table.loc[f"placebo adoption -{shift}", ["estimate", "std_error"]]
                                   .to_numpy(float),
                                   direct.effect_table().iloc[0][["estimate", "std_error"]].to_numpy(float), atol=1e-10)


@pytest.mark.parametrize("name", list(FITS))
def test_refit_outcomes_equals_brute_force(name, frames):
    # each column as the outcome of a panel fitted from scratch, with or without the estimator's shortcut
    frame = frame_for(name, frames)
    result = quiet(fit, name, kz.read_panel(frame, regions=None))
    rows = result.rows()
    rng = np.random.default_rng(3)
    values = rng.normal(size=(len(rows), 3)) + rows["year"].to_numpy(float)[:, None] * rng.normal(size=3) / 10
    estimates, errors = quiet(result.refit_outcomes, values)
    key = pd.MultiIndex.from_frame(rows[["region", "year"]])
    for j in range(values.shape[1]):
        position = key.get_indexer(pd.MultiIndex.from_frame(frame[["region", "year"]]))
        direct = quiet(fit, name, kz.read_panel(frame.assign(outcome=values[position, j]), regions=None))
        np.testing.assert_allclose([estimates[j], errors[j]],
                                   direct.effect_table().iloc[0][["estimate", "std_error"]].to_numpy(float),
                                   atol=1e-10)


@pytest.mark.parametrize("name", list(FITS))
def test_every_check_and_table_accepts_the_result(name, frames):
    frame = frame_for(name, frames)
    panel = kz.read_panel(frame.assign(placebo=frame["population"].rank()), regions=None)
    result = quiet(fit, name, panel)
    boot = kz.wild_cluster_bootstrap(result, draws="exact")
    wcr = result.regression is not None or result.linear is not None  # else: the score bootstrap-t
    assert boot.kind == ("WCR" if wcr else "score")
    # WCR counts the observed draw among the 2^G, so p > 0; the score bootstrap-t can give p = 0 with 6 clusters
    assert boot.ci_low <= result.effect_estimate <= boot.ci_high and (0 < boot.p_value if wcr else 0 <= boot.p_value)
    assert boot.p_value <= 1
    outcome = quiet(kz.placebo_outcome, result, panel, ["placebo"])
    direct = quiet(fit, name, kz.read_panel(frame.assign(outcome=frame["population"].rank()), regions=None))
    assert outcome.params.iloc[0] == pytest.approx(effect(direct), abs=1e-10)
    table = kz.regression_table({name: result})
    assert table.to_text()
    for shape in (result.to_frame(), kz.leave_one_out(result).to_frame()):
        assert {"term", "estimate", "std_error", "ci_low", "ci_high", "p_value", "method"} <= set(shape.columns)
    import matplotlib.pyplot as plt

    for thing in (result, boot, outcome):
        ax = thing.plot()
        assert hasattr(ax, "get_xlim")
        plt.close("all")
    assert result.to_xarray().attrs["method"] == result.method


@pytest.mark.parametrize("name", ["cs", "cs_event", "sun_abraham", "twfe", "did_2x2"])
def test_cluster_scores_reproduce_the_effect_variance(name, frames):
    """The scores the bootstrap resamples carry the estimator's own variance (before small-sample factors)."""
    frame = frame_for(name, frames)
    result = quiet(fit, name, kz.read_panel(frame, regions=None))
    s = result.scores.iloc[:, 0].to_numpy()
    se = float(result.effect_table()["std_error"].iloc[0])
    if name.startswith("cs"):
        assert np.sqrt(s @ s) == pytest.approx(se, rel=1e-10)  # influence-function errors: no factor
    else:
        n, g = result.n_obs, result.n_clusters
        k = 1 if name in ("twfe", "did_2x2") else len(result.vcov)
        years = frame["year"].nunique()
        if name == "sun_abraham":
            k = result.data.pipe(lambda d: len({(c, min(max(y - c, -2), 2)) for c, y in zip(d["cohort"], d["year"])
                                                 if np.isfinite(c) and min(max(y - c, -2), 2) != -1}))
        factor = g / (g - 1) * (n - 1) / (n - k - years)
        assert np.sqrt(s @ s * factor) == pytest.approx(se, rel=1e-10)


def test_cs_bootstrap_is_fixed_at_fit_time():
    panel, _ = kz.simulate_panel(n_regions=12, cohorts={2013: 3, 2016: 3}, random_seed=2)
    result = kz.staggered_did(panel, "outcome", first_treated="first_treated", draws=199, random_seed=None, progress=False)
    pd.testing.assert_frame_equal(result.att_gt, result.att_gt)
    first, second = result.aggregate("event"), result.aggregate("event")
    pd.testing.assert_frame_equal(first.table, second.table)
    pd.testing.assert_frame_equal(result.aggregate("group").table, result.aggregate("group").table)
    other = kz.staggered_did(panel, "outcome", first_treated="first_treated", draws=199, random_seed=None, progress=False)
    assert not np.allclose(other.att_gt["std_error"], result.att_gt["std_error"])  # a fresh fit draws anew
    seeded = [kz.staggered_did(panel, "outcome", first_treated="first_treated", draws=199, random_seed=7, progress=False)
              for _ in range(2)]
    pd.testing.assert_frame_equal(seeded[0].table, seeded[1].table)


def test_score_bootstrap_where_no_regression_form_exists(frames):
    """CS with covariates (DR) has influence functions but no regression form; without covariates DR is the
    group-means estimator, with its regression form."""
    rng = np.random.default_rng(4)
    panel = kz.read_panel(frames["staggered"].assign(x=lambda t: rng.normal(size=len(t))), regions=None)
    plain = quiet(kz.staggered_did, panel, "outcome", "first_treated", method="dr")
    reg = kz.staggered_did(panel, "outcome", first_treated="first_treated")
    assert plain.regression is not None and plain.effect_estimate == pytest.approx(reg.effect_estimate, abs=1e-8)
    dr = quiet(kz.staggered_did, panel, "outcome", "first_treated", method="dr", covariates=["x"])
    assert dr.regression is None
    boot = kz.wild_cluster_bootstrap(dr, draws="exact")
    assert boot.kind == "score" and boot.ci_low < boot.estimate < boot.ci_high
    # all 2^6 sign vectors: the p-value is the share of |t*| >= |t|, computed here the long way
    s = dr.scores.iloc[:, 0].to_numpy()
    signs = np.array(list(itertools.product([-1.0, 1.0], repeat=len(s))))
    t_star = np.abs(signs @ s) / np.sqrt(s @ s)
    assert boot.p_value == pytest.approx(np.mean(t_star >= abs(dr.effect_estimate) / np.sqrt(s @ s) - 1e-12))


def test_event_study_results_share_the_protocol(frames):
    panel = kz.read_panel(frames["staggered"], regions=None)
    for method in ("cs", "sun_abraham", "twfe"):
        es = kz.event_study(panel, "outcome", first_treated="first_treated", method=method, leads=2, lags=2)
        assert isinstance(es, EventStudyResult) and es.effect == ("overall",)
        frame = es.to_frame()
        assert frame["term"].iloc[-1] == "overall" and frame["term"].iloc[0].startswith("e=")
        assert es.overall_estimand in es.summary()


def test_checks_explain_what_they_cannot_do(frames):
    from kzcausal.errors import SpecificationError

    panel = kz.read_panel(frames["staggered"], regions=None)
    cs = kz.staggered_did(panel, "outcome", first_treated="first_treated")
    with_x = kz.read_panel(frames["staggered"].assign(x=np.random.default_rng(4).normal(size=len(frames["staggered"]))),
                           regions=None)
    dr = quiet(kz.staggered_did, with_x, "outcome", "first_treated", method="dr", covariates=["x"])
    with pytest.raises(SpecificationError, match=r"impose_null=True needs .*cluster scores"):
        kz.wild_cluster_bootstrap(dr, impose_null=True)
    bare = EstimationResult(table=cs.table, vcov=cs.vcov, method="a table typed by hand", effect=("ATT",))
    with pytest.raises(SpecificationError, match="does not carry its estimation rows"):
        kz.randomization_inference(bare)
    with pytest.raises(SpecificationError, match="cannot be re-estimated"):
        kz.leave_one_out(EstimationResult(table=cs.table, vcov=cs.vcov, method="typed", effect=("ATT",),
                                          data=cs.data))
    with pytest.raises(SpecificationError, match="neither a treatment-dummy regression nor cluster scores"):
        kz.wild_cluster_bootstrap(bare)


def test_regression_wcr_equals_the_verified_fwl_wcr_on_twfe():
    """A regression form built here (linearmodels' two-way demeaning) gives the WCR of TWFE's own FWL form
    (dummies partialled out by least squares; = wildboottest)."""
    from linearmodels.panel.data import PanelData

    from kzcausal.diagnostics.inference import _regression_bootstrap
    from kzcausal.results import RegressionForm

    panel, _ = kz.simulate_panel(n_regions=9, years=range(2009, 2017), cohorts={2012: 3}, random_seed=8)
    result = kz.twfe(panel, "outcome", treatment="treated")
    frame = panel.to_frame()
    index = pd.MultiIndex.from_frame(frame[["region", "year"]])

    def project(values):
        flat = np.asarray(values, float).reshape(len(index), -1)
        return PanelData(pd.DataFrame(flat, index=index)).demean("both").values2d.reshape(np.shape(values))

    both = project(np.column_stack([frame["outcome"], frame["treated"]]))
    codes, labels = pd.factorize(frame["region"])
    form = RegressionForm(X=both[:, 1:], y=both[:, 0], R=np.array([1.0]), clusters=codes, labels=tuple(labels),
                          project=project)
    general = EstimationResult(table=result.table, vcov=result.vcov, method="the same TWFE", effect=result.effect,
                               regression=lambda: form)
    for impose_null in (True, False):
        fwl = kz.wild_cluster_bootstrap(result, draws="exact", impose_null=impose_null)
        wcr = _regression_bootstrap(general, form, "rademacher", "exact", impose_null, 0.05, None)
        assert wcr.p_value == pytest.approx(fwl.p_value, abs=1e-12)
        assert (wcr.ci_low, wcr.ci_high) == pytest.approx((fwl.ci_low, fwl.ci_high), abs=1e-7)
