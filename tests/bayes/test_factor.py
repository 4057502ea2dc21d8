"""Paper 000's factor models: against statsmodels OLS and the paper's printed arithmetic."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import kzcausal as kz
from kzcausal.errors import SpecificationError


@pytest.fixture(scope="module")
def panel():
    return kz.load_kazakhstan()


def _rows(panel, region):
    frame = panel.to_frame()
    rows = frame[(frame["region"] == region) & frame["attractiveness_index"].notna()].sort_values("year")
    return rows.assign(t=np.arange(1, len(rows) + 1), grp=rows["grp"] / 1e6)


@pytest.mark.parametrize("region", ["Zhambyl", "Almaty region", "Astana city"])
def test_linear_equals_statsmodels(panel, region):
    rows = _rows(panel, region)
    ref = sm.OLS(rows["grp"], sm.add_constant(rows[["attractiveness_index", "t"]])).fit()
    fit = kz.factor_model(panel, region, "linear", scale=1e6)
    assert fit.params.to_numpy() == pytest.approx(ref.params.to_numpy(), abs=1e-10)
    assert fit.table["std_error"].to_numpy() == pytest.approx(ref.bse.to_numpy(), abs=1e-10)
    assert fit.r_squared == pytest.approx(ref.rsquared, abs=1e-12)
    assert fit.elasticity == pytest.approx(ref.params["attractiveness_index"] * rows["attractiveness_index"].mean()
                                           / rows["grp"].mean(), abs=1e-12)
    # the model-implied change from +1% IMP in 2022 is statsmodels' prediction difference
    last = rows[rows["year"] == 2022][["attractiveness_index", "t"]]
    shifted = last.assign(attractiveness_index=last["attractiveness_index"] * 1.01)
    expected = ref.predict(sm.add_constant(shifted, has_constant="add")).iloc[0] - \
        ref.predict(sm.add_constant(last, has_constant="add")).iloc[0]
    assert fit.counterfactual(2022)["model"] == pytest.approx(expected, abs=1e-12)


def test_power_equals_statsmodels_on_logs(panel):
    rows = _rows(panel, "Almaty region")
    X = sm.add_constant(np.log(rows[["attractiveness_index", "t"]]))
    ref = sm.OLS(np.log(rows["grp"]), X).fit()
    fit = kz.factor_model(panel, "Almaty region", "power", scale=1e6)
    assert fit.params["A"] == pytest.approx(np.exp(ref.params["const"]), rel=1e-10)
    assert fit.params[["b", "c"]].to_numpy() == pytest.approx(ref.params.iloc[1:].to_numpy(), abs=1e-10)
    assert fit.table.loc["b":, "std_error"].to_numpy() == pytest.approx(ref.bse.iloc[1:].to_numpy(), abs=1e-10)
    assert fit.r_squared == pytest.approx(ref.rsquared, abs=1e-12)
    assert fit.elasticity == fit.params["b"]
    last = rows[rows["year"] == 2022]
    change = last["grp"].iloc[0] * (1.01 ** ref.params["attractiveness_index"] - 1)
    assert fit.counterfactual(2022)["model"] == pytest.approx(change, rel=1e-10)


def test_paper_arithmetic_from_printed_numbers(panel):
    """Zhambyl: E = b * mean(IMP) / mean(GRP) and 'a 5.7 billion tenge decrease' from +1% IMP in 2022."""
    printed = kz.datasets.seed000_factor_models().set_index("region")
    rows = _rows(panel, "Zhambyl")
    b = printed.loc["Zhambyl", "imp_coef"]
    elasticity = b * rows["attractiveness_index"].mean() / rows["grp"].mean()
    assert elasticity == pytest.approx(printed.loc["Zhambyl", "elasticity_reported"], abs=0.001)
    # paper 000 multiplies the elasticity at the means by 1% of 2022 GRP (real BNS 2022: 2.685 trillion)
    grp_2022 = rows.loc[rows["year"] == 2022, "grp"].iloc[0]
    assert elasticity * 0.01 * grp_2022 * 1000 == pytest.approx(-5.7, abs=0.05)      # billion tenge
    # the linear model itself implies b * 1% * IMP_2022, about two thirds of that
    assert b * 0.01 * 0.89 * 1000 == pytest.approx(-3.79, abs=0.01)
    fit = kz.factor_model(panel, "Zhambyl", "linear", scale=1e6)
    assert fit.counterfactual(2022)["at_mean_elasticity"] == pytest.approx(fit.elasticity * 0.01 * grp_2022)
    # refitted on real BNS GRP the time coefficient matches the paper's 0.23; the IMP coefficient does not
    assert fit.params["c"] == pytest.approx(0.23, abs=0.005)
    assert fit.r_squared == pytest.approx(0.96, abs=0.01)


def test_years_without_the_index_are_reported_and_bad_input(panel):
    fit = kz.factor_model(panel, "Zhambyl")
    assert fit.data["year"].tolist() == list(range(2015, 2023))
    assert set(fit.dropped["year"]) == set(range(2011, 2015)) | set(range(2023, 2026))
    assert "not used" in fit.summary()
    with pytest.raises(SpecificationError, match="not in the panel"):
        kz.factor_model(panel, "Atlantis")
    with pytest.raises(SpecificationError, match="at least 4"):
        kz.factor_model(panel, "Zhambyl", years=(2015, 2017))
    with pytest.raises(SpecificationError, match="form"):
        kz.factor_model(panel, "Zhambyl", form="cubic")
    frame = panel.to_frame()
    frame.loc[(frame["region"] == "Zhambyl") & (frame["year"] == 2016), "attractiveness_index"] = 0.0
    bad = kz.read_panel(frame[["region", "year", "grp", "attractiveness_index"]])
    with pytest.raises(SpecificationError, match="2016"):
        kz.factor_model(bad, "Zhambyl", "power")
    before = frame.copy()
    kz.factor_model(bad, "Zhambyl", "linear")
    pd.testing.assert_frame_equal(frame, before)
