"""Imputation (Borusyak, Jaravel & Spiess 2024) and two-stage (Gardner 2021) event studies.

References, computed independently on the same rows and options:

* ``diff_diff.ImputationDiD`` (R ``didimputation``'s Theorem 3 variance, cohort x event-time auxiliary
  means; ``pretrends=True`` regresses the untreated outcomes on the leads ``e <= -2`` with CR1 errors) and
  ``diff_diff.TwoStageDiD`` (R ``did2s``'s GMM sandwich): points to 1e-9, errors to 1e-9 relative,
  balanced or not, with covariates and coarser clusters;
* ``pyfixest.did2s`` (a translation of R ``did2s``) on balanced panels: points 1e-10, errors 1e-10
  relative. On unbalanced panels its fixed effects are solved by alternating projections that stop
  near 1e-6 (points differ by up to ~1e-6 there), so the unbalanced case is checked against diff_diff;
* the BJS Test 1 leads as ``pyfixest.feols`` on the untreated rows with lead dummies, clustered
  (R fixest's small-sample correction, t(G - 1)): points 1e-8, errors 1e-5 relative (its iterated
  demeaning);
* R did's ``mpdta`` (500 counties, 2003-2007, as shipped with moderndid) through all of them
  (``pyfixest.did2s`` cannot fit it whole: it drops the 2004 cohort's singleton region effects and
  fails; without that cohort it agrees to its solver's tolerance, points 1e-6, errors 1e-4 relative);
* a simulation with known truth (``kz.simulate_panel``): unbiased where TWFE is not.
"""

import gzip
import pickle
import warnings
from importlib import resources

import numpy as np
import pandas as pd
import pytest

import kzcausal as kz
from kzcausal.did.imputation import imputation_did, two_stage_did
from kzcausal.errors import KzCausalWarning, PanelError, SpecificationError
from kzcausal.results import EventStudyResult

WINDOW = 3  # leads = lags = 3: event times -3, -2 (leads) and 0 .. 3


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def frames():
    """A staggered panel (24 regions, 3 cohorts) with a covariate and a macro-region column, balanced and not."""
    panel, _ = kz.simulate_panel(n_regions=24, years=range(2006, 2018), cohorts={2010: 4, 2013: 5, 2015: 4},
                                 effect=0.5, dynamic=0.2, heterogeneity=0.4, random_seed=5)
    frame = panel.to_frame()
    rng = np.random.default_rng(1)
    frame["x"] = rng.normal(size=len(frame)) + 0.1 * (frame["year"] - 2010)
    frame["macro"] = frame["region"].map({r: float(i % 8) for i, r in enumerate(sorted(frame["region"].unique()))})
    unbalanced = frame.copy()
    unbalanced.loc[rng.choice(len(frame), 25, replace=False), "outcome"] = np.nan
    return {"balanced": frame, "unbalanced": unbalanced}


def reference_frame(frame):
    """The rows as the references take them: observed outcomes, never treated coded 0."""
    return frame.dropna(subset=["outcome"]).assign(ft=frame["first_treated"].fillna(0))


def event_table(results):
    """diff_diff's event study (reference e = -1 dropped) as estimate / std_error by event time."""
    es = results.aggregate("event_study")
    table = pd.DataFrame({"estimate": es.att, "std_error": es.se}, index=es.event_time)
    return table.drop(index=-1)


def assert_same(ours, reference, points=1e-9, errors=1e-9):
    """Estimates and errors by event time (and the same event times)."""
    assert list(ours.index) == list(reference.index)
    np.testing.assert_allclose(ours["estimate"], reference["estimate"], rtol=0, atol=points)
    np.testing.assert_allclose(ours["std_error"], reference["std_error"], rtol=errors)


# ------------------------------------------------------------------ references
@pytest.mark.parametrize("balance", ["balanced", "unbalanced"])
@pytest.mark.parametrize("covariates", [(), ("x",)])
@pytest.mark.parametrize("cluster", [None, "macro"])
def test_imputation_equals_diff_diff(frames, balance, covariates, cluster):
    import diff_diff

    frame = frames[balance]
    result = quiet(imputation_did, kz.read_panel(frame, regions=None), "outcome", "first_treated", leads=WINDOW,
                   lags=WINDOW, covariates=covariates, cluster=cluster)
    reference = quiet(diff_diff.ImputationDiD(pretrends=True, horizon_max=WINDOW, cluster=cluster).fit,
                      reference_frame(frame), outcome="outcome", unit="region", time="year", first_treat="ft",
                      covariates=list(covariates) or None)
    assert_same(result.table, quiet(event_table, reference))
    assert result.overall["estimate"] == pytest.approx(reference.overall_att, abs=1e-9)
    assert result.overall["std_error"] == pytest.approx(reference.overall_se, rel=1e-9)


@pytest.mark.parametrize("balance", ["balanced", "unbalanced"])
@pytest.mark.parametrize("covariates", [(), ("x",)])
@pytest.mark.parametrize("cluster", [None, "macro"])
def test_two_stage_equals_diff_diff(frames, balance, covariates, cluster):
    import diff_diff

    frame = frames[balance]
    result = quiet(two_stage_did, kz.read_panel(frame, regions=None), "outcome", "first_treated", leads=WINDOW,
                   lags=WINDOW, covariates=covariates, cluster=cluster)
    reference = quiet(diff_diff.TwoStageDiD(pretrends=True, horizon_max=WINDOW, cluster=cluster).fit,
                      reference_frame(frame), outcome="outcome", unit="region", time="year", first_treat="ft",
                      covariates=list(covariates) or None)
    assert_same(result.table, quiet(event_table, reference))
    assert result.overall["estimate"] == pytest.approx(reference.overall_att, abs=1e-9)
    assert result.overall["std_error"] == pytest.approx(reference.overall_se, rel=1e-9)


def did2s(frame, covariates=(), cluster="region", window=WINDOW):
    """pyfixest.did2s: the event study (dummies for the window, -1 and the rest pooled) and the static ATT."""
    import pyfixest as pf

    data = reference_frame(frame)
    event = np.where(data["ft"] > 0, data["year"] - data["ft"], -1.0)
    if window is not None:
        event = np.where((event < -window) | (event > window), -1.0, event)
    data = data.assign(rel=event, treat=(data["ft"] > 0) & (data["year"] >= data["ft"]))
    data["treat_dummy"] = data["treat"].astype(float)
    first = f"~ {' + '.join(covariates) or '0'} | region + year"
    dynamic = pf.did2s(data, yname="outcome", first_stage=first, second_stage="~i(rel, ref=-1.0)",
                       treatment="treat", cluster=cluster)
    static = pf.did2s(data, yname="outcome", first_stage=first, second_stage="~treat_dummy", treatment="treat",
                      cluster=cluster)
    table = pd.DataFrame({"estimate": dynamic.coef().to_numpy(), "std_error": dynamic.se().to_numpy()},
                         index=[int(float(name.split("::")[1])) for name in dynamic.coef().index])
    return table, float(static.coef().iloc[0]), float(static.se().iloc[0])


@pytest.mark.parametrize("covariates", [(), ("x",)])
@pytest.mark.parametrize("cluster", [None, "macro"])
def test_two_stage_equals_pyfixest_did2s(frames, covariates, cluster):
    frame = frames["balanced"]
    result = two_stage_did(kz.read_panel(frame, regions=None), "outcome", first_treated="first_treated", leads=WINDOW,
                           lags=WINDOW, covariates=covariates, cluster=cluster)
    table, att, se = did2s(frame, covariates, cluster or "region")
    assert_same(result.table, table.sort_index(), points=1e-10, errors=1e-10)
    assert result.overall["estimate"] == pytest.approx(att, abs=1e-10)
    assert result.overall["std_error"] == pytest.approx(se, rel=1e-10)


@pytest.mark.parametrize("covariates", [(), ("x",)])
def test_leads_are_the_bjs_test1_regression(frames, covariates):
    """Leads -3, -2 = feols(outcome ~ lead dummies [+ x] | region + year) on the untreated rows, CRV1 by region."""
    import pyfixest as pf

    frame = frames["unbalanced"]
    result = quiet(imputation_did, kz.read_panel(frame, regions=None), "outcome", "first_treated", leads=WINDOW,
                   lags=WINDOW, covariates=covariates)
    data = reference_frame(frame)
    untreated = data[~((data["ft"] > 0) & (data["year"] >= data["ft"]))].copy()
    for lead in range(2, WINDOW + 1):
        lead_rows = (untreated["ft"] > 0) & (untreated["year"] - untreated["ft"] == -lead)
        untreated[f"lead{lead}"] = lead_rows.astype(float)
    leads = [f"lead{lead}" for lead in range(WINDOW, 1, -1)]
    fit = pf.feols(f"outcome ~ {' + '.join(leads + list(covariates))} | region + year", data=untreated,
                   vcov={"CRV1": "region"})
    ours = result.table.loc[[-3, -2]]
    np.testing.assert_allclose(ours["estimate"], fit.coef()[leads], atol=1e-8)
    np.testing.assert_allclose(ours["std_error"], fit.se()[leads], rtol=1e-5)
    np.testing.assert_allclose(ours["p_value"], fit.pvalue()[leads], rtol=1e-5)  # t(G - 1), as fixest


@pytest.fixture(scope="module")
def mpdta():
    """R did's mpdta (Callaway & Sant'Anna 2021): teen employment of 500 US counties, 2003-2007."""
    path = resources.files("moderndid").joinpath("core/datasets/mpdta_long.pkl.gz")
    with gzip.open(path, "rb") as handle:
        data = pd.DataFrame(pickle.load(handle))
    return pd.DataFrame({"region": data["countyreal"].astype(int).astype(str), "year": data["year"].astype(int),
                         "outcome": data["lemp"].astype(float),
                         "first_treated": data["first.treat"].astype(float).replace(0, np.nan)})


def test_mpdta_event_studies_equal_the_references(mpdta):
    import diff_diff

    panel = kz.read_panel(mpdta, regions=None)
    imputation = imputation_did(panel, "outcome", first_treated="first_treated")
    two_stage = two_stage_did(panel, "outcome", first_treated="first_treated")
    assert imputation.event_times == two_stage.event_times == [-4, -3, -2, 0, 1, 2, 3]
    frame = reference_frame(mpdta)
    bjs = quiet(diff_diff.ImputationDiD(pretrends=True).fit, frame, outcome="outcome", unit="region", time="year",
                first_treat="ft")
    assert_same(imputation.table, quiet(event_table, bjs))
    assert (imputation.overall["estimate"], imputation.overall["std_error"]) == pytest.approx(
        (bjs.overall_att, bjs.overall_se), rel=1e-9)
    gardner = quiet(diff_diff.TwoStageDiD(pretrends=True).fit, frame, outcome="outcome", unit="region", time="year",
                    first_treat="ft")
    assert_same(two_stage.table, quiet(event_table, gardner))
    # pyfixest.did2s drops the 2004 cohort's region effects (one untreated year each: singletons) and then
    # fails to align its arrays, so it is compared without that cohort
    later = mpdta[mpdta["first_treated"].fillna(0) != 2004]
    ours = two_stage_did(kz.read_panel(later, regions=None), "outcome", first_treated="first_treated")
    # on the same rows diff-diff's exact solution is the tight reference ...
    exact = quiet(diff_diff.TwoStageDiD(pretrends=True).fit, reference_frame(later), outcome="outcome",
                  unit="region", time="year", first_treat="ft")
    assert_same(ours.table, quiet(event_table, exact))
    # ... and pyfixest a loose one: its alternating-projection fixed effects (480 counties, default tolerance)
    # stop short of the exact solution by an amount that depends on the machine (3e-7 on one, 1e-5 on another,
    # same versions), so its points are compared to 1e-4 and its errors to 1e-3 relative
    table, att, se = did2s(later, window=None)
    assert_same(ours.table, table.sort_index(), points=1e-4, errors=1e-3)
    assert ours.overall["estimate"] == pytest.approx(att, abs=1e-4)
    assert ours.overall["std_error"] == pytest.approx(se, rel=1e-3)
    # the post-period effects are the same numbers; only their errors differ
    np.testing.assert_allclose(imputation.table.loc[0:, "estimate"], two_stage.table.loc[0:, "estimate"], atol=1e-12)


# ------------------------------------------------------------------ known truth
def test_simulation_unbiased_where_twfe_is_biased():
    """Dynamic effects that differ by cohort: TWFE's comparisons with already-treated regions bias it.

    100 seeds, 30 regions (two cohorts of 10), effects 0.75 / 0.25 on impact growing by 0.3 a year.
    Tolerances are Monte Carlo errors: 3 standard errors of the mean error, 3 binomial standard errors
    of a rate (0.5 for the share of estimates below the truth, 0.95 for coverage).
    """
    seeds = 100
    rows = []
    for seed in range(seeds):
        panel, truth = kz.simulate_panel(n_regions=30, years=range(2008, 2022), cohorts={2011: 10, 2016: 10},
                                         effect=0.5, dynamic=0.3, heterogeneity=0.5, random_seed=seed)
        effects = truth.effects
        att = effects.loc[effects["year"] >= effects["region"].map(truth.first_treated), "effect"].mean()
        imputation = imputation_did(panel, "outcome", first_treated="first_treated", leads=3, lags=4)
        two_stage = two_stage_did(panel, "outcome", first_treated="first_treated", leads=3, lags=4)
        assert two_stage.overall["estimate"] == pytest.approx(imputation.overall["estimate"], abs=1e-10)
        horizons = imputation.table.loc[0:4, "estimate"] - truth.event_study.loc[0:4]
        rows.append({"error": imputation.overall["estimate"] - att, **{f"e{e}": v for e, v in horizons.items()},
                     "covered": abs(imputation.overall["estimate"] - att) <= 1.96 * imputation.overall["std_error"],
                     "covered_gmm": abs(two_stage.overall["estimate"] - att) <= 1.96 * two_stage.overall["std_error"],
                     "twfe": kz.twfe(panel, "outcome", treatment="treated").effect_estimate - att if seed < 30 else np.nan})
    sims = pd.DataFrame(rows)
    for column in ["error", "e0", "e1", "e2", "e3", "e4"]:
        mean, mc_error = sims[column].mean(), sims[column].std() / np.sqrt(seeds)
        assert abs(mean) <= 3 * mc_error, (column, mean, mc_error)
    assert abs((sims["error"] < 0).mean() - 0.5) <= 3 * np.sqrt(0.25 / seeds)
    for column in ("covered", "covered_gmm"):
        assert sims[column].mean() >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / seeds), column
    twfe = sims["twfe"].dropna()
    assert twfe.mean() < -10 * twfe.std() / np.sqrt(len(twfe))  # about -0.7: far outside Monte Carlo error
    assert (twfe < 0).mean() >= 0.9 and twfe.mean() < -0.4


# ------------------------------------------------------------------ the result protocol
@pytest.fixture(scope="module")
def fitted(frames):
    panel = kz.read_panel(frames["balanced"], regions=None)
    return {name: fn(panel, "outcome", "first_treated", leads=WINDOW, lags=WINDOW)
            for name, fn in (("imputation", imputation_did), ("two_stage", two_stage_did))}


@pytest.mark.parametrize("name", ["imputation", "two_stage"])
def test_result_shape_scores_and_pickling(fitted, name):
    result = fitted[name]
    assert isinstance(result, EventStudyResult) and result.effect == ("overall",) and result.reference == -1
    assert result.event_times == [-3, -2, 0, 1, 2, 3]
    vcov = result.vcov.to_numpy()
    np.testing.assert_allclose(vcov, vcov.T)
    assert np.linalg.eigvalsh(vcov).min() > -1e-12
    np.testing.assert_allclose(np.sqrt(np.diag(vcov)), result.table["std_error"], rtol=1e-12)
    scores = result.scores["overall"].to_numpy()
    assert len(scores) == result.n_clusters == 24
    assert np.sqrt(scores @ scores) == pytest.approx(result.overall["std_error"], rel=1e-12)  # no small-sample factor
    again = pickle.loads(pickle.dumps(result.refitter))(result.data, "outcome")
    pd.testing.assert_frame_equal(again.table, result.table)
    assert set(result.data.columns) >= {"region", "year", "outcome", "cohort"} and result.n_obs == len(result.data)
    assert result.overall_estimand in result.summary() and result.to_frame()["term"].iloc[-1] == "overall"
    assert result.to_xarray()["estimate"].sel(event_time=0) == result.table.loc[0, "estimate"]


def test_post_period_effects_agree_and_only_errors_differ(fitted):
    imputation, two_stage = fitted["imputation"], fitted["two_stage"]
    post = imputation.table.index >= 0
    np.testing.assert_allclose(imputation.table.loc[post, "estimate"], two_stage.table.loc[post, "estimate"],
                               atol=1e-12)
    assert imputation.overall["estimate"] == pytest.approx(two_stage.overall["estimate"], abs=1e-12)
    assert not np.allclose(imputation.table.loc[post, "std_error"], two_stage.table.loc[post, "std_error"])


def test_windows():
    panel, _ = kz.simulate_panel(n_regions=8, years=range(2006, 2016), cohorts={2010: 2, 2012: 2}, random_seed=3)
    assert imputation_did(panel, "outcome", first_treated="first_treated").event_times == [-6, -5, -4, -3, -2, 0, 1, 2, 3, 4, 5]
    assert imputation_did(panel, "outcome", first_treated="first_treated", leads=1, lags=2).event_times == [0, 1, 2]
    assert two_stage_did(panel, "outcome", first_treated="first_treated", leads=0, lags=0).event_times == [0]
    # treated observations beyond the window still count as treated and in the overall ATT
    full = imputation_did(panel, "outcome", first_treated="first_treated")
    short = imputation_did(panel, "outcome", first_treated="first_treated", leads=2, lags=1)
    assert short.overall["estimate"] == pytest.approx(full.overall["estimate"], abs=1e-12)
    np.testing.assert_allclose(short.table.loc[[0, 1], "estimate"], full.table.loc[[0, 1], "estimate"], atol=1e-12)
    # the ATT weights each treated region-year equally: event-time effects weighted by their observations
    rows = full.data
    counts = (rows["year"] - rows["cohort"]).loc[lambda e: e >= 0].value_counts()
    post = full.table.loc[0:, "estimate"]
    assert full.overall["estimate"] == pytest.approx((post * counts.reindex(post.index)).sum() / counts.sum(),
                                                     abs=1e-12)


@pytest.mark.parametrize("fn", [imputation_did, two_stage_did])
def test_every_check_runs(fn):
    panel, _ = kz.simulate_panel(n_regions=5, years=range(2006, 2017), cohorts={2011: 2, 2013: 1}, effect=0.5,
                                 dynamic=0.2, random_seed=4)
    result = fn(panel, "outcome", "first_treated", leads=4, lags=3)
    pretrends = kz.pretrend_test(result)
    assert pretrends.leads == [-4, -3, -2] and 0 < pretrends.p_value < 1
    for bounds in ({"restriction": "smoothness", "M": [0, 0.1]},
                   {"restriction": "relative_magnitude", "Mbar": [0.5], "grid_points": 10}):
        honest = quiet(kz.honest_sensitivity, result, progress=False, **bounds)
        assert len(honest.table) and honest.original[0] < honest.estimate < honest.original[1]
    boot = kz.wild_cluster_bootstrap(result, draws="exact")
    assert boot.kind == "score"  # no regression form: the effect is not an OLS coefficient of the rows
    ri = quiet(kz.randomization_inference, result, progress=False)
    assert ri.n_assignments == 30 and ri.observed == pytest.approx(result.effect_estimate, abs=1e-12)
    assert kz.regression_table({"effect": result}).to_text()
    import matplotlib.pyplot as plt

    for thing in (result, pretrends, boot, ri):
        assert hasattr(thing.plot(), "get_xlim")
        plt.close("all")


@pytest.mark.parametrize("fn", [imputation_did, two_stage_did])
def test_reassigned_effects_equal_refits(fn):
    """``permuted`` (randomization inference) = a re-fit for every assignment, NaN where a re-fit cannot impute.

    One region lacks its years before 2013: assigned the 2012 cohort it has no untreated year.
    """
    from kzcausal.diagnostics.inference import _enumerate
    from kzcausal.errors import KzCausalError

    panel, _ = kz.simulate_panel(n_regions=6, years=range(2006, 2017), cohorts={2012: 1, 2014: 1}, random_seed=2)
    frame = panel.to_frame()
    never = frame.loc[frame["first_treated"].isna(), "region"].iloc[0]
    frame = frame[(frame["region"] != never) | (frame["year"] >= 2013)]
    frame = frame.assign(x=np.sin(frame["year"] * 1.7 + frame.index))  # a time-varying covariate
    result = fn(kz.read_panel(frame, regions=None), "outcome", "first_treated", covariates=["x"], leads=2, lags=2)
    cohorts = result.region_cohorts()
    assignments = _enumerate(cohorts.to_numpy(float))
    refits = []
    for labels in assignments:
        try:
            refits.append(quiet(result.refit, cohorts=pd.Series(labels, index=cohorts.index)).effect_estimate)
        except KzCausalError:
            refits.append(np.nan)
    fast = result.permuted(assignments)
    assert np.isnan(refits).sum() == 5  # the short region given 2012 (with 2014 to any of the 5 others)
    np.testing.assert_allclose(fast, refits, atol=1e-10, equal_nan=True)


# ------------------------------------------------------------------ bad input
@pytest.fixture(scope="module")
def small():
    panel, _ = kz.simulate_panel(n_regions=6, years=range(2006, 2017), cohorts={2012: 1, 2014: 1}, random_seed=12)
    return panel.to_frame()


@pytest.mark.parametrize("fn", [imputation_did, two_stage_did])
def test_treated_region_without_untreated_years(small, fn):
    region = small.loc[small["first_treated"] == 2012, "region"].iloc[0]
    frame = small.copy()
    frame.loc[(frame["region"] == region) & (frame["year"] < 2012), "outcome"] = np.nan
    with pytest.warns(KzCausalWarning), pytest.raises(SpecificationError, match=rf"(?s)\['{region}'\] have no "
                                                                                r"untreated year.*\nFix: supply the "):
        fn(kz.read_panel(frame, regions=None), "outcome", "first_treated")
    # with some untreated years left, the missing rows are dropped with a warning and a caveat
    frame = small.copy()
    frame.loc[(frame["region"] == region) & (frame["year"] < 2010), "outcome"] = np.nan
    with pytest.warns(KzCausalWarning, match="missing in 4 row"):
        result = fn(kz.read_panel(frame, regions=None), "outcome", "first_treated")
    assert result.n_obs == len(small) - 4 and any("missing in 4" in c for c in result.caveats)
    assert any("single" in c for c in result.caveats)  # one region per cohort: errors understated, said so


@pytest.mark.parametrize("fn", [imputation_did, two_stage_did])
def test_years_without_untreated_regions(fn):
    panel, _ = kz.simulate_panel(n_regions=6, years=range(2006, 2017), cohorts={2012: 3, 2014: 3}, random_seed=12)
    with pytest.raises(SpecificationError, match=r"no untreated region is observed in year\(s\) \[2014, 2015, 2016\]"
                                                 r"(.|\n)*2014 +2012 +2(.|\n)*Fix: estimate on the years before 2014"):
        fn(panel, "outcome", "first_treated")
    before = kz.read_panel(panel.to_frame().query("year < 2014"), regions=None)
    assert fn(before, "outcome", "first_treated", leads=3).event_times == [-3, -2, 0, 1]


def test_leads_without_never_treated_regions():
    """Every region treated eventually: leads for all pre-periods are collinear with region and year effects.
    A cohort adopting after the last observed year is never treated in the sample (R did's convention)."""
    panel, _ = kz.simulate_panel(n_regions=6, years=range(2006, 2017), cohorts={2012: 3, 2014: 3}, random_seed=12)
    frame = panel.to_frame().query("year < 2014")
    late = kz.read_panel(frame, regions=None)
    with pytest.warns(kz.errors.KzCausalWarning, match="after the last observed year 2013 are never treated"):
        result = imputation_did(late, "outcome", first_treated="first_treated")
    assert any("never treated here" in c for c in result.caveats)
    assert result.event_times[0] == -6  # cohort 2012 only; the 2014 regions are its never-treated controls
    # (with every region treated inside the sample, the last year has no untreated region: refused by name)
    every = kz.read_panel(frame.assign(first_treated=frame["first_treated"].replace(2014, 2013)), regions=None)
    with pytest.raises(SpecificationError, match=r"no untreated region is observed in year\(s\) \[2013\]"):
        imputation_did(every, "outcome", first_treated="first_treated")


def test_unknown_columns_and_bad_arguments(small):
    panel = kz.read_panel(small.assign(level=small["region"].str[-1].astype(float)), regions=None)
    cases = [
        (dict(outcome="nope"), r"outcome\(s\) \['nope'\] not in the panel"),
        (dict(first_treated="nope"), r"first_treated column\(s\) \['nope'\] not in the panel"),
        (dict(covariates=["nope"]), r"covariate\(s\) \['nope'\] not in the panel"),
        (dict(cluster="nope"), "cluster='nope' is not a column of the panel"),
        (dict(covariates=["level"]), r"\['level'\] do not vary within regions.*Fix: drop the region-constant"),
        (dict(leads=-1), "leads=-1; give a non-negative whole number"),
        (dict(lags=1.5), "lags=1.5; give a non-negative whole number"),
        (dict(ssc="stata"), "ssc='stata'; use one of"),
        (dict(alpha=5), "alpha=5; use a level between 0 and 1"),
    ]
    for arguments, message in cases:
        call = {"outcome": "outcome", "first_treated": "first_treated", **arguments}
        with pytest.raises(SpecificationError, match=message):
            imputation_did(panel, call.pop("outcome"), first_treated=call.pop("first_treated"), **call)
    with pytest.raises(SpecificationError, match="use a level between 0 and 1"):
        two_stage_did(panel, "outcome", first_treated="first_treated", alpha=0)


def test_non_numeric_outcome(small):
    with pytest.raises(PanelError, match="column 'text'.*not numbers"):
        kz.read_panel(small.assign(text=np.where(small["year"] % 2, "high", "low")), regions=None)
    result = imputation_did(kz.read_panel(small, regions=None), "outcome", first_treated="first_treated")
    rows = result.data.assign(outcome=result.data["outcome"].astype(str))
    with pytest.raises(SpecificationError, match="outcome 'outcome' is not numeric.*Fix: convert it"):
        result.refit(rows)
