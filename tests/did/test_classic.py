"""2x2 DID against statsmodels and TWFE against linearmodels, called directly."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from linearmodels.panel import PanelOLS

import kzcausal as kz
from kzcausal.errors import PanelError, SpecificationError


@pytest.fixture(scope="module")
def serpin_like():
    """Kazakhstan-shaped simulated panel (17 regions, 6 treated from 2014), labelled simulated."""
    panel, truth = kz.simulate_panel(random_seed=2014, effect=1.5)
    return panel, truth


def reference_design(panel, treated_regions, post_from=2014):
    frame = panel.to_frame()
    frame["Program"] = frame["region"].isin(treated_regions).astype(float)
    frame["Post"] = (frame["year"] >= post_from).astype(float)
    return frame


@pytest.mark.parametrize(("cov", "sm_cov"), [("ols", {}), ("robust", {"cov_type": "HC1"}),
                                             ("cluster", {"cov_type": "cluster"})])
def test_2x2_equals_statsmodels(serpin_like, cov, sm_cov):
    panel, truth = serpin_like
    treated = truth.first_treated.dropna().index.tolist()
    frame = reference_design(panel, treated)
    kwargs = dict(sm_cov)
    if cov == "cluster":
        kwargs["cov_kwds"] = {"groups": pd.factorize(frame["region"])[0]}
    ref = smf.ols("outcome ~ Program + Post + Program:Post", data=frame).fit(**kwargs)
    ours = kz.did_2x2(panel, "outcome", treated=treated, post_from=2014, cov=cov)
    np.testing.assert_allclose(ours.params.to_numpy(), ref.params.to_numpy(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.std_errors.to_numpy(), ref.bse.to_numpy(), rtol=0, atol=1e-8)
    assert list(ours.params.index) == ["Intercept", "Program", "Post", "Program x Post"]
    if cov == "ols":
        np.testing.assert_allclose(ours.table["p_value"].to_numpy(), ref.pvalues.to_numpy(), atol=1e-8)


def test_2x2_with_fixed_effects_equals_statsmodels_dummies_and_fixest(serpin_like):
    import pyfixest as pf

    panel, truth = serpin_like
    treated = truth.first_treated.dropna().index.tolist()
    frame = reference_design(panel, treated)
    frame["D"] = frame["Program"] * frame["Post"]
    ref = smf.ols("outcome ~ D + C(region) + C(year)", data=frame).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(frame["region"])[0]})
    ours = kz.did_2x2(panel, "outcome", treated=treated, post_from=2014, fixed_effects=True, cov="cluster")
    assert ours.params.loc["Program x Post"] == pytest.approx(ref.params["D"], abs=1e-8)
    # the default ssc="fixest" does not count the region dummies nested in the region clusters ...
    fixest = pf.feols("outcome ~ D | region + year", data=frame, vcov={"CRV1": "region"})
    assert ours.std_errors.loc["Program x Post"] == pytest.approx(float(fixest.se()["D"]), rel=1e-8)
    assert ours.table.loc["Program x Post", "p_value"] == pytest.approx(float(fixest.pvalue()["D"]), rel=1e-8)
    # ... statsmodels' dummy regression counts them: (N - 1 - 1 - years) / (N - K_all) apart
    n, k_all, k_nested = len(frame), 1 + 17 + 15 - 1, 1 + 15
    ratio = np.sqrt((n - k_nested) / (n - k_all))
    assert ref.bse["D"] == pytest.approx(ours.std_errors.loc["Program x Post"] * ratio, rel=1e-8)


def test_paper_002_specifications_on_a_serpin_shaped_panel():
    """Table 2 (receiving, Program) and Table 3 (sending, Sender) specifications, simulated outcome."""
    frame = kz.load_kazakhstan().to_frame()[["region", "year"]]
    sim, truth = kz.simulate_panel(n_regions=17, years=range(2011, 2024), cohorts={2014: 6}, random_seed=3)
    # give the simulated outcome to the real regions, receiving regions as the treated ones
    serpin = kz.datasets.serpin_regions()
    receiving = serpin.loc[serpin["role"] == "receiving", "region"].tolist()
    others = [r for r in sorted(frame["region"].unique()) if r not in receiving]
    order = truth.first_treated.dropna().index.tolist() + truth.first_treated[truth.first_treated.isna()].index.tolist()
    rename = dict(zip(order, receiving + others))
    data = sim.to_frame().assign(region=lambda t: t["region"].map(rename))[["region", "year", "outcome"]]
    panel = kz.read_panel(data)
    table2 = kz.did_2x2(panel, "outcome", treated="serpin_receiving", post_from=2014)
    table3 = kz.did_2x2(panel, "outcome", treated="serpin_sending", post_from=2014)
    assert list(table2.params.index) == ["Intercept", "Program", "Post", "Program x Post"]
    assert list(table3.params.index) == ["Intercept", "Sender", "Post", "Sender x Post"]
    assert any("ignore within-region correlation" in w for w in table2.caveats)
    assert sorted(table2.spec["treated"]) == sorted(receiving)


def test_twfe_equals_panelols(serpin_like):
    panel, _ = serpin_like
    data = panel.to_frame().set_index(["region", "year"])
    for cov, options in [("cluster", dict(cov_type="clustered", cluster_entity=True)),
                         ("robust", dict(cov_type="robust")), ("driscoll-kraay", dict(cov_type="kernel")),
                         ("unadjusted", dict(cov_type="unadjusted"))]:
        ref = PanelOLS(data["outcome"], data[["treated"]], entity_effects=True, time_effects=True).fit(**options)
        ours = kz.twfe(panel, "outcome", treatment="treated", cov=cov, ssc="linearmodels")
        assert ours.params["treated"] == pytest.approx(ref.params["treated"], abs=1e-10)
        assert ours.std_errors["treated"] == pytest.approx(ref.std_errors["treated"], abs=1e-10)
        np.testing.assert_allclose(ours.vcov.to_numpy(), ref.cov.to_numpy(), atol=1e-12)


def test_twfe_with_covariates_equals_panelols(serpin_like):
    panel, _ = serpin_like
    panel = panel.with_logs("grp")
    data = panel.to_frame().set_index(["region", "year"])
    ref = PanelOLS(data["outcome"], data[["treated", "log_grp"]], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True)
    ours = kz.twfe(panel, "outcome", treatment="treated", covariates=["log_grp"], ssc="linearmodels")
    np.testing.assert_allclose(ours.params.to_numpy(), ref.params.to_numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.std_errors.to_numpy(), ref.std_errors.to_numpy(), atol=1e-10)


def test_result_interface(serpin_like):
    import matplotlib

    matplotlib.use("Agg")
    panel, truth = serpin_like
    result = kz.did_2x2(panel, "outcome", treated=truth.first_treated.dropna().index, post_from=2014, cov="cluster")
    frame = result.to_frame()
    assert list(frame.columns) == ["term", "estimate", "std_error", "ci_low", "ci_high", "p_value", "method"]
    assert "Program x Post" in result.summary() and result.spec["cov"] == "cluster"
    ds = result.to_xarray()
    assert ds["estimate"].sel(term="Post").item() == result.params["Post"]
    assert ds["vcov"].shape == (4, 4)
    ax = result.plot()
    assert len(ax.get_yticklabels()) == 4


def test_bad_input():
    panel, truth = kz.simulate_panel(random_seed=1)
    with pytest.raises(SpecificationError, match="not in the panel"):
        kz.did_2x2(panel, "outcome", treated=["Nowhere"], post_from=2014)
    with pytest.raises(SpecificationError, match=r"post_from=2030 but the panel covers.*no year would be treated.*Fix"):
        kz.did_2x2(panel, "outcome", treated=["Region 01"], post_from=2030)
    with pytest.raises(SpecificationError, match="named group|one of"):
        kz.did_2x2(panel, "outcome", treated="northern", post_from=2014)
    frame = panel.to_frame()
    frame.loc[(frame["region"] == "Region 02") & (frame["year"] == 2020), "treated"] = 0.0
    frame.loc[(frame["region"] == "Region 02") & (frame["year"] == 2019), "treated"] = 1.0
    switching = kz.read_panel(frame.drop(columns=["attractiveness_index", "net_migration", "in_migration_rate",
                                                  "out_migration_rate", "grp_per_capita"]), regions=None)
    with pytest.raises(PanelError, match=r"switches off.*Region 02"):
        kz.twfe(switching, "outcome", treatment="treated")


def test_single_treated_region_warns():
    panel, truth = kz.simulate_panel(n_regions=8, cohorts={2014: 1}, random_seed=1)
    result = kz.twfe(panel, "outcome", treatment="treated")
    assert any("only 8 clusters" in w for w in result.caveats)
    assert any("single treated region" in w for w in result.caveats)
