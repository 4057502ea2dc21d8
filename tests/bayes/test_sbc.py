"""Simulation-based calibration (Talts et al. 2018), reduced for CI; the full run is in benchmarks/."""

import pytest

import kzcausal as kz
from kzcausal.bayes.sbc import simulation_based_calibration

pytest.importorskip("nutpie")


def test_ranks_of_mu_and_tau_are_uniform():
    panel, _ = kz.simulate_panel(n_regions=8, years=range(2015, 2023), cohorts={2018: 3}, elasticity_sd=0.2,
                                 random_seed=4)
    result = simulation_based_calibration(panel, n_fits=40, draws=200, tune=300, thin=2, bins=5, sampler="nutpie",
                                          random_seed=3, progress=False)
    assert result.ranks.shape == (40, 2) and result.n_draws == 200
    assert result.ranks.min().min() >= 0 and result.ranks.max().max() <= 200
    table = result.chi_square()
    assert (table["p_value"] > 0.001).all(), table
    assert "tau_beta" in result.summary() and result.plot() is not None
