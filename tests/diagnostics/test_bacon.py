"""Bacon decomposition: weights sum to one, the weighted sum is TWFE, and diff-diff agrees."""

import warnings

import numpy as np
import pandas as pd
import pytest

import kzcausal as kz
from kzcausal.diagnostics import bacon_decomposition
from kzcausal.errors import SpecificationError


@pytest.mark.parametrize("cohorts, never", [({2012: 5, 2016: 5}, 6), ({2011: 4, 2014: 4, 2018: 4}, 6),
                                            ({2012: 8, 2016: 9}, 0)])
def test_weighted_sum_is_the_twfe_coefficient(cohorts, never):
    panel, _ = kz.simulate_panel(n_regions=sum(cohorts.values()) + never, cohorts=cohorts, dynamic=0.3,
                                 heterogeneity=0.6, random_seed=2)
    result = bacon_decomposition(panel, "outcome", treatment="treated")
    twfe = kz.twfe(panel, "outcome", treatment="treated").params["treated"]
    assert result.table["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert (result.table["weight"] > 0).all()
    assert result.twfe == pytest.approx(twfe, abs=1e-10)
    kinds = set(result.table["kind"])
    assert ("treated vs never treated" in kinds) == (never > 0)


def test_equals_diff_diff_comparison_by_comparison():
    import diff_diff

    panel, _ = kz.simulate_panel(n_regions=18, cohorts={2011: 4, 2014: 4, 2018: 4}, dynamic=0.3,
                                 heterogeneity=0.6, random_seed=2)
    frame = panel.to_frame().assign(g=lambda t: t["first_treated"].fillna(0).astype(int),
                                    id=lambda t: pd.factorize(t["region"])[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = diff_diff.BaconDecomposition().fit(frame, outcome="outcome", unit="id", time="year",
                                                       first_treat="g").to_dataframe()
    ours = bacon_decomposition(panel, "outcome", treatment="treated").table
    kind = {"treated vs never treated": "treated_vs_never", "earlier vs later treated": "earlier_vs_later",
            "later vs earlier treated": "later_vs_earlier"}
    ours = ours.assign(comparison_type=ours["kind"].map(kind)).sort_values(["comparison_type", "treated", "estimate"])
    reference = reference.sort_values(["comparison_type", "treated_group", "estimate"])
    np.testing.assert_allclose(ours["weight"], reference["weight"], atol=1e-10)
    np.testing.assert_allclose(ours["estimate"], reference["estimate"], atol=1e-10)


def test_interface_and_bad_input():
    import matplotlib

    matplotlib.use("Agg")
    panel, _ = kz.simulate_panel(n_regions=12, cohorts={2009: 2, 2014: 4}, random_seed=1)
    # regions treated from the first year have no untreated period: left out (R did's rule), as TWFE leaves them out
    with pytest.warns(kz.errors.KzCausalWarning, match=r"excluded 2 region\(s\) treated in or before the first"):
        early = bacon_decomposition(panel, "outcome", treatment="treated")
    with pytest.warns(kz.errors.KzCausalWarning):
        twfe = kz.twfe(panel, "outcome", treatment="treated")
    assert early.twfe == pytest.approx(twfe.effect_estimate, abs=1e-10)
    panel, _ = kz.simulate_panel(n_regions=12, cohorts={2012: 3, 2016: 4}, random_seed=1)
    result = bacon_decomposition(panel, "outcome", treatment="treated")
    assert "TWFE coefficient" in result.summary() and result.plot() is not None
    with pytest.raises(SpecificationError, match="not in the panel"):
        bacon_decomposition(panel, "nothing", treatment="treated")
