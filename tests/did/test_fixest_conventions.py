"""Clustered errors against pyfixest (R fixest's conventions) to 1e-8: TWFE and Sun-Abraham, with and
without covariates, clustered by region or by a coarser column; ssc choices and their bad input."""

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

import kzcausal as kz
from kzcausal.errors import SpecificationError


def sa_design(frame, leads, lags, reference=-1):
    """Cohort x event-time dummies (end bins pooled) and the SA weights, built independently."""
    e = (frame["year"] - frame["first_treated"]).clip(-leads, lags)
    cells = sorted({(int(g), int(k)) for g, k in zip(frame["first_treated"], e) if np.isfinite(g) and k != reference})
    X = pd.DataFrame({f"c{g}_{k}".replace("-", "m"): ((frame["first_treated"] == g) & (e == k)).astype(float)
                      for g, k in cells}, index=frame.index)
    counts = X.sum()
    times = sorted({k for _, k in cells})
    W = np.zeros((len(times), len(cells)))
    for i, k in enumerate(times):
        cols = [j for j, (_, f) in enumerate(cells) if f == k]
        W[i, cols] = counts.iloc[cols] / counts.iloc[cols].sum()
    post = np.array([k >= 0 for _, k in cells])
    att = np.where(post, counts, 0.0) / counts[post].sum()
    return X, W, att, times


@pytest.mark.parametrize("cluster", [None, "macro"])
@pytest.mark.parametrize("covariates", [[], ["x"]])
def test_twfe_equals_fixest(staggered_with_covariate, cluster, covariates):
    panel, frame = staggered_with_covariate
    ours = kz.twfe(panel, "outcome", treatment="treated", covariates=covariates, cluster=cluster)
    fml = "outcome ~ treated" + "".join(f" + {c}" for c in covariates) + " | region + year"
    ref = pf.feols(fml, data=frame, vcov={"CRV1": cluster or "region"})
    np.testing.assert_allclose(ours.params.to_numpy(), ref.coef().to_numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.std_errors.to_numpy(), ref.se().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(ours.table["p_value"].to_numpy(), ref.pvalue().to_numpy(), rtol=1e-7)
    np.testing.assert_allclose(ours.table["ci_low"].to_numpy(), ref.confint().iloc[:, 0].to_numpy(), rtol=1e-7)
    assert ours.n_clusters == (6 if cluster else 20)


@pytest.mark.parametrize("cluster", [None, "macro"])
@pytest.mark.parametrize("covariates", [[], ["x"]])
def test_sun_abraham_equals_fixest(staggered_with_covariate, cluster, covariates):
    panel, frame = staggered_with_covariate
    X, W, att, times = sa_design(frame, leads=3, lags=4)
    data = pd.concat([frame, X], axis=1)
    fml = "outcome ~ " + " + ".join([*X.columns, *covariates]) + " | region + year"
    ref = pf.feols(fml, data=data, vcov={"CRV1": cluster or "region"})
    beta = ref.coef()[X.columns].to_numpy()
    vcov = ref._vcov[: X.shape[1], : X.shape[1]]
    ours = kz.event_study(panel, "outcome", first_treated="first_treated", method="sun_abraham", leads=3, lags=4,
                          covariates=covariates, cluster=cluster)
    assert ours.event_times == times
    np.testing.assert_allclose(ours.table["estimate"], W @ beta, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.vcov.to_numpy(), W @ vcov @ W.T, rtol=1e-8, atol=1e-14)
    # fixest's aggregate(att): post cells weighted by their treated observations
    assert ours.overall["estimate"] == pytest.approx(att @ beta, rel=1e-8)
    assert ours.overall["std_error"] == pytest.approx(np.sqrt(att @ vcov @ att), rel=1e-8)
    assert "fixest aggregate" in ours.overall_estimand


def test_unbalanced_sun_abraham_equals_fixest(staggered_with_covariate):
    panel, frame = staggered_with_covariate
    frame = frame[~((frame["region"] == "Region 03") & (frame["year"] < 2010))]
    X, W, _, _ = sa_design(frame, leads=3, lags=4)
    ref = pf.feols("outcome ~ " + " + ".join(X.columns) + " | region + year", data=pd.concat([frame, X], axis=1),
                   vcov={"CRV1": "region"})
    ours = kz.event_study(kz.read_panel(frame, regions=None), "outcome", first_treated="first_treated", method="sun_abraham",
                          leads=3, lags=4)
    np.testing.assert_allclose(ours.table["estimate"], W @ ref.coef().to_numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.table["std_error"], np.sqrt(np.diag(W @ ref._vcov @ W.T)), rtol=1e-6)


def test_ssc_choices_are_the_documented_factors(staggered_with_covariate):
    panel, frame = staggered_with_covariate
    fixest = kz.twfe(panel, "outcome", treatment="treated")
    lm = kz.twfe(panel, "outcome", treatment="treated", ssc="linearmodels")
    none = kz.twfe(panel, "outcome", treatment="treated", ssc="none")
    n, g, regions, years = len(frame), 20, 20, 12
    assert (fixest.std_errors / none.std_errors).iloc[0] ** 2 == pytest.approx(
        g / (g - 1) * (n - 1) / (n - 1 - years), rel=1e-12)
    assert (lm.std_errors / none.std_errors).iloc[0] ** 2 == pytest.approx(n / (n - 1 - regions - years + 1),
                                                                           rel=1e-12)
    with pytest.raises(SpecificationError, match=r"ssc='stata'.*fixest"):
        kz.twfe(panel, "outcome", treatment="treated", ssc="stata")
    with pytest.raises(SpecificationError, match=r"ssc='fixes'"):
        kz.event_study(panel, "outcome", first_treated="first_treated", method="sun_abraham", ssc="fixes")


def test_cluster_must_be_a_coarser_column(staggered_with_covariate):
    panel, frame = staggered_with_covariate
    with pytest.raises(SpecificationError, match="not a column"):
        kz.twfe(panel, "outcome", treatment="treated", cluster="macroregion")
    varying = frame.assign(bad=np.where(frame["year"] > 2012, 1.0, 2.0))
    with pytest.raises(SpecificationError, match="changes within region"):
        kz.twfe(kz.read_panel(varying, regions=None), "outcome", treatment="treated", cluster="bad")
    coarse = kz.did_2x2(panel, "outcome", treated=[r for r in panel.regions[:5]], post_from=2014, fixed_effects=True, cov="cluster",
                        cluster="macro")
    assert coarse.n_clusters == 6 and coarse.cluster == "macro" and coarse.scores.shape == (6, 1)


def test_dynamic_twfe_with_covariates_equals_fixest(staggered_with_covariate):
    panel, frame = staggered_with_covariate
    e = (frame["year"] - frame["first_treated"]).clip(-3, 4)
    times = sorted(int(k) for k in e.dropna().unique() if k != -1)
    X = pd.DataFrame({f"e{k}".replace("-", "m"): (e == k).astype(float) for k in times}, index=frame.index)
    ref = pf.feols("outcome ~ " + " + ".join([*X.columns, "x"]) + " | region + year", data=pd.concat([frame, X], axis=1),
                   vcov={"CRV1": "region"})
    ours = kz.event_study(panel, "outcome", first_treated="first_treated", method="twfe", leads=3, lags=4, covariates=["x"])
    np.testing.assert_allclose(ours.table["estimate"], ref.coef()[X.columns].to_numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.table["std_error"], ref.se()[X.columns].to_numpy(), rtol=1e-8)


def test_the_bootstrap_clusters_as_the_result(staggered_with_covariate):
    panel, _ = staggered_with_covariate
    for result in (kz.twfe(panel, "outcome", treatment="treated", cluster="macro"),
                   kz.event_study(panel, "outcome", first_treated="first_treated", method="sun_abraham", cluster="macro"),
                   kz.staggered_did(panel, "outcome", first_treated="first_treated", cluster="macro")):
        boot = kz.wild_cluster_bootstrap(result, draws="exact")
        assert boot.n_boot == 2**6 and any("only 6 clusters" in c for c in boot.caveats)
        assert result.n_clusters == 6 and result.scores.shape[0] == 6
