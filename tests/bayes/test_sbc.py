"""Simulation-based calibration (Talts et al. 2018), reduced for CI; the full run is in benchmarks/."""

import warnings

import pytest

import kzcausal as kz
from kzcausal import parallel
from kzcausal.bayes.sbc import simulation_based_calibration

pytest.importorskip("nutpie")


@pytest.fixture(scope="module")
def small_panel():
    panel, _ = kz.simulate_panel(n_regions=8, years=range(2015, 2023), cohorts={2018: 3}, elasticity_sd=0.2,
                                 random_seed=4)
    return panel


def test_ranks_of_mu_and_tau_are_uniform(small_panel):
    """If the model and the sampler are right, each parameter's ranks are uniform and the chi-square test
    of 5 equal bins gives p < 0.001 with probability 0.001 (0.002 for the two parameters), on any seeded
    stream. (Thinned draws are not quite independent, which makes the ranks slightly lumpy; thin=2 at
    the sampler's ESS keeps that well inside the bound.)"""
    result = simulation_based_calibration(small_panel, n_fits=40, draws=200, tune=300, thin=2, bins=5,
                                          sampler="nutpie", random_seed=3, progress=False)
    assert result.ranks.shape == (40, 2) and result.n_draws == 200
    assert result.ranks.min().min() >= 0 and result.ranks.max().max() <= 200
    table = result.chi_square()
    assert (table["p_value"] > 0.001).all(), table
    assert "tau_beta" in result.summary() and result.plot() is not None


def test_fits_are_tasks_with_their_own_seeds(small_panel, monkeypatch):
    """The fits go through kzcausal.parallel.map_tasks with a seed (a SeedSequence child per fit); the
    same seed gives identical ranks, another seed other ones, serially and on a 2-worker Dask cluster."""
    calls = []
    original = parallel.map_tasks

    def spy(function, items, **kwargs):
        calls.append((len(items), kwargs.get("seed") is not None))
        return original(function, items, **kwargs)

    monkeypatch.setattr(parallel, "map_tasks", spy)
    settings = dict(n_fits=4, draws=100, tune=150, thin=1, bins=2, progress=False)
    first = simulation_based_calibration(small_panel, random_seed=8, **settings)
    again = simulation_based_calibration(small_panel, random_seed=8, **settings)
    other = simulation_based_calibration(small_panel, random_seed=9, **settings)
    assert calls == [(4, True)] * 3
    assert first.ranks.equals(again.ranks) and not first.ranks.equals(other.ranks)
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        client = distributed.Client(cluster)
    from conftest import SEED_FAMILY, install_seed_family

    if SEED_FAMILY:  # the workers' seeded streams (nutpie's initial points) must be this process's too
        import sys

        import cloudpickle

        cloudpickle.register_pickle_by_value(sys.modules[install_seed_family.__module__])
        client.run(install_seed_family, SEED_FAMILY)
    try:
        with kz.config("dask", client=client):
            on_dask = simulation_based_calibration(small_panel, random_seed=8, **settings)
    finally:
        client.close()
        cluster.close()
    assert on_dask.ranks.equals(first.ranks)
