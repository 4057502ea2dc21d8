"""The design layer: one assignment vocabulary, one row builder, re-fits that accept exactly what the
estimators accept, clustering honoured (or refused) by every covariance."""

import warnings

import numpy as np
import pandas as pd
import pytest

import kzcausal as kz
from kzcausal.errors import KzCausalWarning, SpecificationError

STAGGERED = [kz.twfe, kz.staggered_did, kz.event_study, kz.imputation_did, kz.two_stage_did,
             kz.bacon_decomposition]
SINGLE = [kz.did_2x2, kz.synthetic_did, kz.synthetic_control]
OPTIONS = {kz.synthetic_did: dict(draws=20, random_seed=1), kz.event_study: dict(method="sun_abraham")}


def headline(result):
    if isinstance(result, kz.diagnostics.BaconResult):
        return np.array([result.twfe, np.nan])
    row = result.effect_table().iloc[0]
    return row[["estimate", "std_error"]].to_numpy(float)


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def single():
    panel, _ = kz.simulate_panel(n_regions=8, years=range(2008, 2017), cohorts={2012: 3}, effect=0.5, random_seed=4)
    return panel


@pytest.fixture(scope="module")
def staggered():
    panel, _ = kz.simulate_panel(n_regions=9, years=range(2006, 2017), cohorts={2011: 2, 2014: 3}, effect=0.5,
                                 dynamic=0.2, random_seed=5)
    return panel


def spellings(panel, *, single_cohort):
    frame = panel.to_frame()
    cohorts = frame.groupby("region")["first_treated"].first()
    out = {"first_treated column": dict(first_treated="first_treated"),
           "first_treated mapping": dict(first_treated=cohorts.dropna().to_dict()),
           "first_treated mapping, 0 = never": dict(first_treated=cohorts.fillna(0).to_dict()),
           "treatment column": dict(treatment="treated")}
    if single_cohort:
        out["treated + post_from"] = dict(treated=cohorts.dropna().index.tolist(), post_from=int(cohorts.min()))
    return out


@pytest.mark.parametrize("estimator", STAGGERED + SINGLE, ids=lambda f: f.__name__)
def test_every_spelling_gives_the_same_effect(estimator, single, staggered):
    for panel, single_cohort in ((single, True), (staggered, False)):
        if estimator in SINGLE and not single_cohort:
            continue
        results = {name: headline(quiet(estimator, panel, "outcome", **spelling, **OPTIONS.get(estimator, {})))
                   for name, spelling in spellings(panel, single_cohort=single_cohort).items()}
        first = next(iter(results.values()))
        for name, value in results.items():
            np.testing.assert_allclose(value, first, rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("estimator", STAGGERED + SINGLE, ids=lambda f: f.__name__)
def test_the_old_positional_spelling_warns_and_gives_the_same_numbers(estimator, single):
    cohorts = single.to_frame().groupby("region")["first_treated"].first()
    if estimator in SINGLE:
        old, new = (cohorts.dropna().index.tolist(), 2012), dict(treated=cohorts.dropna().index.tolist(), post_from=2012)
    elif estimator in (kz.twfe, kz.bacon_decomposition):
        old, new = ("treated",), dict(treatment="treated")
    else:
        old, new = ("first_treated",), dict(first_treated="first_treated")
    with pytest.warns(DeprecationWarning, match="by position is deprecated.*by keyword"):
        before = quiet_but_deprecation(estimator, single, "outcome", *old, **OPTIONS.get(estimator, {}))
    after = quiet(estimator, single, "outcome", **new, **OPTIONS.get(estimator, {}))
    np.testing.assert_array_equal(headline(before), headline(after))


def quiet_but_deprecation(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KzCausalWarning)
        return fn(*args, **kwargs)


def test_one_assignment_exactly(single):
    with pytest.raises(SpecificationError, match=r"give exactly one assignment; got none.*first_treated="):
        kz.staggered_did(single, "outcome")
    with pytest.raises(SpecificationError, match=r"got first_treated= and treatment="):
        kz.twfe(single, "outcome", first_treated="first_treated", treatment="treated")
    with pytest.raises(SpecificationError, match=r"treated= goes with post_from="):
        kz.did_2x2(single, "outcome", post_from=2012)
    with pytest.raises(SpecificationError, match=r"post_from=2012.5 is not a year. Fix: give a year as a whole number"):
        kz.did_2x2(single, "outcome", treated=["Region 01"], post_from=2012.5)


def test_single_cohort_estimators_say_so(staggered):
    for estimator in SINGLE:
        with pytest.raises(SpecificationError, match=r"adopt in one year.*2 adoption years \[2011, 2014\].*"
                                                     r"staggered_did"):
            quiet(estimator, staggered, "outcome", first_treated="first_treated")


def test_fractional_first_treated_years_are_refused_everywhere(single):
    cohorts = single.to_frame().groupby("region")["first_treated"].first().dropna()
    mapping = {**cohorts.to_dict(), cohorts.index[0]: 2012.5}
    for estimator in STAGGERED:
        with pytest.raises(SpecificationError, match="whole years"):
            estimator(single, "outcome", first_treated=mapping)
    result = quiet(kz.staggered_did, single, "outcome", first_treated="first_treated")
    with pytest.raises(SpecificationError, match=r"refit\(cohorts=...\).*whole years"):
        result.refit(cohorts={cohorts.index[0]: 2014.5})
    rows = result.data.assign(cohort=np.where(np.isfinite(result.data["cohort"]), 2012.5, np.inf))
    with pytest.raises(SpecificationError, match=r"refit: cohort.*whole years"):
        result.refit(rows)


def test_r_did_conventions_zero_presample_and_late_adopters(staggered):
    frame = staggered.to_frame()
    regions = sorted(frame["region"].unique())
    never = frame["first_treated"].isna()
    coded = frame.assign(first_treated=frame["first_treated"].fillna(0))  # R did: 0 = never treated
    coded.loc[coded["region"] == regions[-1], "first_treated"] = 1950.0  # adopted before the data start
    coded.loc[coded["region"] == regions[-2], "first_treated"] = 2030.0  # adopts after the data end
    panel = kz.read_panel(coded, regions=None)
    with pytest.warns(KzCausalWarning) as caught:
        result = kz.staggered_did(panel, "outcome", first_treated="first_treated")
    messages = " ".join(str(w.message) for w in caught)
    assert "excluded 1 region(s) treated in or before the first observed year 2006" in messages and regions[-1] in messages
    assert "after the last observed year 2016 are never treated" in messages and regions[-2] in messages
    assert regions[-1] not in set(result.data["region"])
    assert np.isinf(result.region_cohorts()[regions[-2]])
    assert any("1950" in c for c in result.caveats) and any("2030" in c for c in result.caveats)
    # the same design written out by hand
    by_hand = frame[frame["region"] != regions[-1]].assign(
        first_treated=lambda t: t["first_treated"].where(t["region"] != regions[-2]))
    direct = quiet(kz.staggered_did, kz.read_panel(by_hand, regions=None), "outcome", first_treated="first_treated")
    np.testing.assert_allclose(headline(result), headline(direct), rtol=1e-12)
    assert never.any()


def test_refit_accepts_exactly_what_the_estimator_accepts(staggered):
    frame = staggered.to_frame()
    macro = {r: f"macro {i % 4}" for i, r in enumerate(sorted(frame["region"].unique()))}
    result = quiet(kz.twfe, staggered, "outcome", treatment="treated", cluster=macro)
    assert result.n_clusters == 4
    rows = result.data
    with pytest.raises(SpecificationError, match=r"lack column\(s\) \['cluster'\].*silently cluster by region"):
        result.refit(rows.drop(columns="cluster"))
    with pytest.raises(SpecificationError, match=r"(?s)repeat a region-year.*drop_duplicates"):
        result.refit(pd.concat([rows, rows]))
    with pytest.raises(SpecificationError, match=r"'cohort' changes within region"):
        result.refit(rows.assign(cohort=np.where(rows["year"] > 2012, 2011.0, rows["cohort"])))
    with pytest.raises(SpecificationError, match=r"cluster column 'cluster' changes within"):
        result.refit(rows.assign(cluster=rows["year"].astype(str)))
    hole = rows.copy()
    hole.iloc[3, hole.columns.get_loc("outcome")] = np.nan
    with pytest.warns(KzCausalWarning, match=r"outcome 'outcome' missing in 1 row"):
        refit = result.refit(hole)
    assert np.isfinite(headline(refit)).all() and refit.n_obs == len(rows) - 1
    assert any("missing in 1 row" in c for c in refit.caveats)
    np.testing.assert_allclose(headline(refit), headline(result.refit(hole.dropna(subset=["outcome"]))), rtol=1e-12)
    with pytest.raises(SpecificationError, match="not a DataFrame"):
        result.refit(rows.to_numpy())


def test_cluster_is_honoured_or_refused(staggered):
    frame = staggered.to_frame()
    regions = sorted(frame["region"].unique())
    labels = {r: ["north", "south", "east"][i % 3] for i, r in enumerate(regions)}
    codes = frame.assign(macro=frame["region"].map({r: float(i % 3) for i, r in enumerate(regions)}))
    panel = kz.read_panel(codes, regions=None)
    # labels (a mapping) and numeric codes (a column) give the same clustering
    by_labels = quiet(kz.twfe, panel, "outcome", treatment="treated", cluster=labels)
    by_codes = quiet(kz.twfe, panel, "outcome", treatment="treated", cluster="macro")
    np.testing.assert_allclose(headline(by_labels), headline(by_codes), rtol=1e-12)
    assert by_codes.n_clusters == 3 and "macro-clustered" in by_codes.method
    for estimator, cov in ((kz.did_2x2, "ols"), (kz.did_2x2, "robust"), (kz.twfe, "robust"),
                           (kz.twfe, "unadjusted"), (kz.twfe, "driscoll-kraay")):
        with pytest.raises(SpecificationError, match=rf"cluster='macro' is ignored by cov='{cov}'.*cov="):
            estimator(panel, "outcome", first_treated={regions[0]: 2011}, cov=cov, cluster="macro")
    with pytest.raises(SpecificationError, match=r"gives no cluster to region\(s\)"):
        kz.staggered_did(panel, "outcome", first_treated="first_treated", cluster={regions[0]: "a"})


def test_the_caller_frame_and_panel_are_not_changed(staggered):
    before = staggered.to_frame()
    result = quiet(kz.event_study, staggered, "outcome", first_treated="first_treated", method="sun_abraham")
    rows = result.data.copy()
    quiet(result.refit, rows[rows["region"] != rows["region"].iloc[0]])
    pd.testing.assert_frame_equal(staggered.to_frame(), before)
    pd.testing.assert_frame_equal(result.data, rows)


def test_missing_outcomes_one_policy(single):
    frame = single.to_frame()
    controls = frame.index[frame["first_treated"].isna()]
    frame.loc[controls[[2, 3]], "outcome"] = np.nan  # two years of one control region (synthetic DID then drops it)
    panel = kz.read_panel(frame, regions=None)
    for estimator in (kz.did_2x2, kz.twfe, kz.staggered_did, kz.imputation_did, kz.synthetic_did):
        with pytest.warns(KzCausalWarning, match=r"outcome 'outcome' missing in 2 row\(s\).*left out"):
            result = estimator(panel, "outcome", first_treated="first_treated", **OPTIONS.get(estimator, {}))
        assert any("missing in 2 row(s)" in c for c in result.caveats), estimator.__name__


def test_one_name_for_the_number_of_draws_with_the_old_names_deprecated(staggered, single):
    new = kz.staggered_did(staggered, "outcome", first_treated="first_treated", draws=99, random_seed=3, progress=False)
    with pytest.warns(DeprecationWarning, match=r"n_boot=.*deprecated.*pass draws="):
        old = kz.staggered_did(staggered, "outcome", first_treated="first_treated", n_boot=99, random_seed=3,
                               progress=False)
    pd.testing.assert_frame_equal(new.table, old.table)
    with pytest.raises(SpecificationError, match=r"n_boot= is the old name of draws=; pass only draws="):
        kz.staggered_did(staggered, "outcome", first_treated="first_treated", n_boot=99, draws=99)
    twfe = quiet(kz.twfe, staggered, "outcome", treatment="treated")
    pairs = [(kz.wild_cluster_bootstrap, dict(random_seed=1), "n_boot", 199),
             (kz.randomization_inference, dict(random_seed=1, progress=False), "assignments", 99)]
    for check, options, old_name, value in pairs:
        with pytest.warns(DeprecationWarning, match=rf"{old_name}="):
            before = check(twfe, **{old_name: value}, **options)
        after = check(twfe, draws=value, **options)
        np.testing.assert_allclose(before.table.to_numpy(float), after.table.to_numpy(float), equal_nan=True)
    with pytest.warns(DeprecationWarning, match="n_reps="):
        before = quiet_but_deprecation(kz.synthetic_did, single, "outcome", first_treated="first_treated", n_reps=30,
                                       random_seed=2)
    after = quiet(kz.synthetic_did, single, "outcome", first_treated="first_treated", draws=30, random_seed=2)
    assert before.effect_estimate == after.effect_estimate and before.std_errors.equals(after.std_errors)


def test_refit_rows_name_their_region_and_a_whole_year(staggered):
    result = quiet(kz.twfe, staggered, "outcome", treatment="treated")
    rows = result.data
    for column, value, pattern in (("year", np.nan, "not whole years"), ("year", 2011.5, "not whole years"),
                                   ("year", "later", "not whole years"), ("region", None, "have no region")):
        bad = rows.astype({column: object}).copy()
        bad.iloc[2, bad.columns.get_loc(column)] = value
        with pytest.raises(SpecificationError, match=rf"(?s){pattern}.*Fix:"):
            result.refit(bad)
    infinite = rows.copy()
    infinite.iloc[4, infinite.columns.get_loc("outcome")] = np.inf
    with pytest.raises(SpecificationError, match=r"(?s)infinite in 1 row.*Fix:"):
        result.refit(infinite)
    with pytest.raises(SpecificationError, match=r"(?s)not numeric.*not numbers.*Fix:"):
        result.refit(rows.assign(outcome=rows["outcome"].astype(str).where(rows["year"] != 2010, "n/a")))


def test_refit_cohorts_follow_the_estimators_conventions(staggered):
    """refit(cohorts=) reads years as first_treated= does: 0 never, a late year never, an early adopter left out."""
    result = quiet(kz.staggered_did, staggered, "outcome", first_treated="first_treated")
    cohorts = result.region_cohorts().replace(np.inf, 0.0)
    regions = cohorts.index.tolist()
    early = cohorts.copy()
    early[regions[0]] = 1990.0
    frame = staggered.to_frame()
    direct = quiet(kz.staggered_did, kz.read_panel(frame[frame["region"] != regions[0]], regions=None), "outcome",
                   first_treated="first_treated")
    with pytest.warns(KzCausalWarning, match=r"excluded 1 region\(s\) treated in or before the first observed year"):
        refit = result.refit(cohorts=early)
    np.testing.assert_allclose(headline(refit), headline(direct), rtol=1e-10)
    assert refit.n_obs == result.n_obs - frame["year"].nunique()
    assert any("excluded 1 region" in c for c in refit.caveats)
    late = cohorts.where(cohorts != cohorts.max(), 2100.0)
    with pytest.warns(KzCausalWarning, match="never treated here"):
        as_never = result.refit(cohorts=late)
    np.testing.assert_allclose(headline(as_never), headline(result.refit(cohorts=late.replace(2100.0, np.inf))),
                               rtol=1e-12)
    np.testing.assert_allclose(headline(result.refit(cohorts=cohorts)), headline(result), rtol=1e-12)
    two = quiet(kz.did_2x2, staggered, "outcome", first_treated={regions[0]: 2011, regions[1]: 2011})
    with pytest.warns(KzCausalWarning, match="never treated here"):
        moved = two.refit(cohorts={regions[0]: 2011, regions[1]: 2011, regions[2]: 3000})
    np.testing.assert_allclose(headline(moved), headline(two), rtol=1e-12)


def test_two_spellings_of_one_region_are_refused():
    panel = kz.datasets.load_kazakhstan()
    with pytest.raises(SpecificationError, match=r"both name region 'Akmola'.*Fix: map each region once"):
        kz.staggered_did(panel, "grp", first_treated={"Akmola": 2020, "Aqmola": 2021})


def test_cluster_labels_that_read_the_same_are_refused(staggered):
    regions = staggered.regions
    labels = {r: (1 if i % 2 else "1") if i < 4 else 2 for i, r in enumerate(regions)}
    with pytest.raises(SpecificationError, match=r"(?s)read the same.*Fix: use one type"):
        kz.twfe(staggered, "outcome", treatment="treated", cluster=labels)
    one = {r: "all" for r in regions}
    with pytest.raises(SpecificationError, match=r"(?s)at least 2 clusters.*Fix:"):
        quiet(kz.twfe, staggered, "outcome", treatment="treated", cluster=one)


def test_post_from_must_leave_a_pre_and_a_post_period(single):
    treated = single.regions[:3]
    for post_from in (2008, 2007, 2017):
        with pytest.raises(SpecificationError, match=r"post_from=\d+ but the panel covers 2008-2016.*Fix: pass a "
                                                     r"post_from from 2009 to 2016"):
            kz.twfe(single, "outcome", treated=treated, post_from=post_from)
    with pytest.raises(SpecificationError, match=r"group of Kazakhstan's regions.*Fix:"):
        kz.did_2x2(single, "outcome", treated="serpin_receiving", post_from=2012)


def test_twfe_with_covariates_on_unbalanced_rows_matches_linearmodels(staggered):
    """Gaps and rows left out for a missing outcome or covariate: the within estimator still matches PanelOLS."""
    from linearmodels.panel import PanelOLS

    frame = staggered.to_frame().drop(index=[3, 17, 40])
    rng = np.random.default_rng(8)
    frame = frame.assign(x=rng.normal(size=len(frame)), z=rng.normal(size=len(frame)))
    frame.loc[frame.index[5], "outcome"] = np.nan
    frame.loc[frame.index[[9, 30]], "x"] = np.nan
    panel = kz.read_panel(frame, regions=None, allow_gaps=True)
    with pytest.warns(KzCausalWarning, match=r"outcome or covariates \['outcome', 'x', 'z'\] missing in 3 row"):
        ours = kz.twfe(panel, "outcome", treatment="treated", covariates=["x", "z"], ssc="linearmodels")
    used = frame.dropna(subset=["outcome", "x", "z"]).set_index(["region", "year"])
    reference = PanelOLS(used["outcome"], used[["treated", "x", "z"]], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True)
    row = ours.effect_table().iloc[0]
    assert ours.n_obs == len(used)
    np.testing.assert_allclose(row["estimate"], reference.params["treated"], rtol=1e-9)
    np.testing.assert_allclose(row["std_error"], reference.std_errors["treated"], rtol=1e-6)
    for kind in ("sun_abraham", "twfe"):
        es = quiet(kz.event_study, panel, "outcome", first_treated="first_treated", method=kind, covariates=["x"])
        assert np.isfinite(es.table["estimate"]).all()


def test_an_unobserved_reference_period_is_named_with_the_fix(staggered):
    frame = staggered.to_frame()
    gapped = kz.read_panel(frame[~frame["year"].isin([2010, 2013])], regions=None, allow_gaps=True)
    with pytest.raises(SpecificationError, match=r"reference=-1: no treated row is observed.*Fix: pass reference=-2"):
        quiet(kz.event_study, gapped, "outcome", first_treated={r: 2011 for r in staggered.regions[:3]},
              method="twfe")


def test_a_panel_built_by_hand_is_checked_as_read_panel_checks(staggered):
    frame = staggered.to_frame()
    cases = {"no region": frame.assign(region=frame["region"].where(frame.index != 3)),
             "not whole years": frame.assign(year=frame["year"].astype(float)),
             "repeat a region-year": frame.assign(year=frame["year"].where(frame.index != 1, frame["year"].iloc[0])),
             "not sorted": frame.sort_values(["year", "region"]),
             "not numbers": frame.assign(outcome=frame["outcome"].astype(str)),
             "infinite": frame.assign(outcome=frame["outcome"].where(frame.index != 5, np.inf))}
    for what, bad in cases.items():
        with pytest.raises(kz.errors.PanelError, match=rf"(?s){what}.*Fix: (build the panel with kz.read_panel|"
                                                       rf"correct)"):
            kz.RegionPanel(bad, regions_scheme=None)


def test_adopters_in_the_first_year_are_excluded_by_every_estimator_with_a_warning(staggered):
    """R did: a region treated in the first observed year has no untreated period; TWFE too leaves it out."""
    regions = staggered.regions
    cohorts = {regions[0]: 2006, regions[1]: 2011, regions[2]: 2011, regions[3]: 2014}
    frame = staggered.to_frame()
    without = kz.read_panel(frame[frame["region"] != regions[0]], regions=None)
    rest = {r: g for r, g in cohorts.items() if r != regions[0]}
    for estimator in (kz.twfe, kz.staggered_did, kz.imputation_did):
        with pytest.warns(KzCausalWarning, match=rf"excluded 1 region\(s\) treated in or before the first observed "
                                                 rf"year 2006.*{regions[0]}"):
            result = estimator(staggered, "outcome", first_treated=cohorts)
        np.testing.assert_allclose(headline(result), headline(quiet(estimator, without, "outcome",
                                                                    first_treated=rest)), rtol=1e-10)
    result = quiet(kz.twfe, staggered, "outcome", first_treated=rest)
    rows = result.data.assign(cohort=np.where(result.data["region"] == regions[0], 0.0, result.data["cohort"]))
    np.testing.assert_allclose(headline(result.refit(rows)), headline(result), rtol=1e-12)  # 0 in rows: never
    early = result.data.assign(cohort=np.where(result.data["region"] == regions[0], 2000.0, result.data["cohort"]))
    with pytest.warns(KzCausalWarning, match="excluded 1 region"):
        refit = result.refit(early)
    assert regions[0] not in set(refit.data["region"])


def test_assignment_spellings_and_keys_are_read_one_way(staggered):
    regions = staggered.regions
    cohorts = {regions[1]: 2011, regions[2]: 2014}
    base = quiet(kz.staggered_did, staggered, "outcome", first_treated=cohorts)
    as_series = quiet(kz.staggered_did, staggered, "outcome", first_treated=pd.Series(cohorts))
    np.testing.assert_allclose(headline(as_series), headline(base), rtol=1e-12)
    with pytest.raises(SpecificationError, match=r"-inf is not a first treated year.*Fix"):
        kz.staggered_did(staggered, "outcome", first_treated={**cohorts, regions[3]: -np.inf})
    frame = staggered.to_frame()
    gappy = kz.read_panel(frame[frame["year"] != 2011], regions=None, allow_gaps=True)
    with pytest.warns(KzCausalWarning, match=r"first treated year\(s\) \[2011\] fall in a gap"):
        kz.twfe(gappy, "outcome", first_treated=cohorts)
    labels = {r: i % 3 for i, r in enumerate(regions)}
    with pytest.raises(SpecificationError, match=r"cluster names regions that are not in the data: \['Atlantis'\]"):
        kz.twfe(staggered, "outcome", first_treated=cohorts, cluster={**labels, "Atlantis": 1})
    with pytest.raises(SpecificationError, match=r"at least 2 clusters.*Fix"):
        quiet(kz.staggered_did, staggered, "outcome", first_treated=cohorts, cluster={r: 0 for r in regions})
    with pytest.raises(SpecificationError, match=r"\['treated'\] are absorbed.*Fix: the rows need control regions"):
        quiet(kz.twfe, staggered, "outcome", treated=regions, post_from=2011)


def test_kazakh_spellings_reach_refits_and_clusters():
    panel = kz.datasets.load_kazakhstan(migration=True)
    cohorts = {"Akmola": 2020, "Kostanay": 2020, "Pavlodar": 2020}
    result = quiet(kz.twfe, panel, "in_migration_rate", first_treated=cohorts)
    aliased = quiet(result.refit, cohorts={"Ақмола": 2020, "Kostanay": 2020, "Pavlodar": 2020})
    np.testing.assert_allclose(headline(aliased), headline(result), rtol=1e-12)
    macro = {r: "north" if r in ("Akmola", "Kostanay", "Pavlodar", "North Kazakhstan") else "rest"
             for r in panel.regions}
    spelled = {("Ақмола" if r == "Akmola" else r): v for r, v in macro.items()}
    a = quiet(kz.twfe, panel, "in_migration_rate", first_treated=cohorts, cluster=macro)
    b = quiet(kz.twfe, panel, "in_migration_rate", first_treated=cohorts, cluster=spelled)
    np.testing.assert_allclose(headline(a), headline(b), rtol=1e-12)
    with pytest.raises(SpecificationError, match="both name region 'Akmola'"):
        kz.twfe(panel, "in_migration_rate", first_treated=cohorts, cluster={**macro, "Ақмола": "south"})


def test_degenerate_inputs_are_named_not_crashed(staggered):
    frame = staggered.to_frame()
    ones = kz.read_panel(frame.assign(always=1.0), regions=None)
    with pytest.raises(SpecificationError, match=r"every region is treated in or before the first observed year.*Fix"):
        quiet(kz.staggered_did, ones, "outcome", treatment="always")
    result = quiet(kz.twfe, staggered, "outcome", treatment="treated")
    with pytest.raises(SpecificationError, match=r"rows are empty.*Fix"):
        result.refit(result.data.iloc[:0])
    exact = quiet(kz.twfe, staggered, "treated", treatment="treated")  # the outcome is the treatment itself
    with pytest.raises(SpecificationError, match=r"residuals are zero.*Fix: check the outcome"):
        kz.wild_cluster_bootstrap(exact, draws=99, random_seed=1)
    es = quiet(kz.event_study, staggered, "treated", first_treated="first_treated", method="sun_abraham")
    for check in (kz.pretrend_test, kz.honest_sensitivity):
        with pytest.raises(SpecificationError, match=r"no sampling variance.*Fix: check the outcome"):
            check(es)
