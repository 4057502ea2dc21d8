"""Regression tables: the numbers are the models' (checked against statsmodels), in every format."""

import io

import pandas as pd
import pytest
import statsmodels.formula.api as smf

import kzcausal as kz
from kzcausal.errors import SpecificationError
from kzcausal.report import regression_table


@pytest.fixture(scope="module")
def models():
    panel, _ = kz.simulate_panel(random_seed=3, effect=0.8)
    treated = [r for r in panel.regions if panel.to_frame().query("region == @r")["treated"].max() == 1]
    ols = kz.did_2x2(panel, "outcome", treated=treated, post_from=2014)
    twfe = kz.did_2x2(panel, "outcome", treated=treated, post_from=2014, fixed_effects=True, cov="cluster")
    frame = panel.to_frame().assign(program=lambda t: t["region"].isin(treated).astype(float),
                                    post=lambda t: (t["year"] >= 2014).astype(float))
    reference = smf.ols("outcome ~ program * post", data=frame).fit()
    return ols, twfe, reference


def test_text_markdown_latex_html_carry_the_same_numbers(models):
    ols, twfe, reference = models
    table = regression_table({"Paper 002 (OLS)": ols, "TWFE, clustered": twfe}, stars=True)
    interaction = [t for t in ols.table.index if str(t) not in ("const", "Intercept")][-1]
    # independent reference: statsmodels' interaction coefficient and error, to the printed digits
    est, se = reference.params["program:post"], reference.bse["program:post"]
    p = reference.pvalues["program:post"]
    mark = "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""
    assert table.estimates.loc[str(interaction), "Paper 002 (OLS)"] == f"{est:.3f}{mark}"
    assert table.errors.loc[str(interaction), "Paper 002 (OLS)"] == f"({se:.3f})"
    text = table.to_text()
    assert f"{est:.3f}" in text and "Observations" in text and "255" in text and "clustered by region" in text
    markdown = table.to_markdown()
    assert markdown.splitlines()[0].startswith("|  | Paper 002 (OLS) | TWFE, clustered |")
    assert "| *Clusters* |  | 17 (region) |" in markdown
    latex = table.to_latex()
    assert latex.startswith(r"\begin{tabular}{lcc}") and latex.count(r"\\") >= 2 * len(table.terms) + 3
    assert "$^{" in latex or not mark
    parsed = pd.read_html(io.StringIO(table.to_html()))[0]
    assert parsed.shape[1] == 3 and f"{est:.3f}{mark}" in parsed.astype(str).to_numpy().ravel()


def test_factor_models_and_bad_input():
    panel = kz.load_kazakhstan()
    fits = {r: kz.factor_model(panel, r, "linear", scale=1e6) for r in ("Zhambyl", "Almaty region")}
    table = regression_table(fits, digits=2)
    assert table.terms == ["a", "b", "c"] and "R²" in table.footer.index
    assert table.estimates.loc["c", "Zhambyl"] == f"{fits['Zhambyl'].params['c']:.2f}"
    with pytest.raises(SpecificationError, match="no coefficient table"):
        regression_table([object()])
    with pytest.raises(SpecificationError, match="in none of the models"):
        regression_table(fits, terms=["d"])
