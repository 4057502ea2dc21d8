"""The parallel backend: identical numbers serially and on a 2-worker Dask LocalCluster, typed failures.

CI runs this module once with a real ``distributed.LocalCluster`` (2 worker processes).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kzcausal as kz
from kzcausal import diagnostics as dx
from kzcausal.errors import ParallelError, SpecificationError
from kzcausal.parallel import current, map_tasks

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need not import the tests


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        client = distributed.Client(cluster)
    from conftest import SEED_FAMILY, install_seed_family

    if SEED_FAMILY:  # the workers draw from the same seed family as this process
        cloudpickle.register_pickle_by_value(sys.modules[install_seed_family.__module__])
        client.run(install_seed_family, SEED_FAMILY)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def staggered():
    panel, _ = kz.simulate_panel(n_regions=12, years=range(2010, 2022), cohorts={2015: 3, 2018: 3},
                                 effect=0.5, random_seed=11)
    return panel


def _noisy(x, seed):
    return x + np.random.default_rng(seed).normal()


def test_seeded_tasks_are_identical_serially_and_on_two_workers(client):
    serial = map_tasks(_noisy, range(40), seed=5, progress=False)
    with kz.config("dask", client=client):
        assert current() == {"backend": "dask", "workers": 2, "dashboard": client.dashboard_link}
        parallel = map_tasks(_noisy, range(40), seed=5, progress=False)
    assert serial == parallel
    # and the streams are the SeedSequence children by position, not a shared stream
    children = np.random.SeedSequence(5).spawn(40)
    assert serial[7] == 7 + np.random.default_rng(children[7]).normal()
    assert current()["backend"] == "serial"


def test_checks_and_power_give_identical_numbers_on_dask(client, staggered):
    cs = kz.staggered_did(staggered, "outcome", first_treated="first_treated")
    es = kz.event_study(staggered, "outcome", first_treated="first_treated", leads=3, lags=3)
    power = dict(estimators={"TWFE": _twfe}, inference=["analytic", "wild_bootstrap"], n_sims=12,
                 effects=[0.0, 1.0], n_draws=49, random_seed=3, progress=False)
    runs = []
    for backend in ("serial", "dask"):
        with kz.config(backend, **({"client": client} if backend == "dask" else {})):
            runs.append({
                "loo": dx.leave_one_out(cs).table,
                "placebo": dx.placebo_in_time(cs, shifts=(1, 2)).table,
                "ri": dx.randomization_inference(cs, draws=60, statistic="t", random_seed=1,
                                                 progress=False).distribution,
                "honest": dx.honest_sensitivity(es, restriction="relative_magnitude", Mbar=[0, 0.5], progress=False).table,
                "power": kz.power_analysis(staggered, "outcome", first_treated="first_treated", **power).power,
            })
    serial, parallel = runs
    for key in serial:
        a, b = serial[key], parallel[key]
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        else:
            np.testing.assert_array_equal(a, b)


def _twfe(panel, outcome):
    return kz.twfe(panel, outcome, treatment="treated")


def _die_once(x, marker):
    path = Path(marker) / f"{x}"
    if x == 3 and not path.exists():
        path.write_text("died")
        os._exit(1)  # the worker process dies mid-run
    return x * x


def _always_die(x):
    os._exit(1)


def test_a_worker_that_dies_is_replaced_and_the_run_completes(client, tmp_path):
    with kz.config("dask", client=client), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = map_tasks(_SquareOrDieOnce(tmp_path), range(8), progress=False)
    assert out == [x * x for x in range(8)]
    assert (tmp_path / "3").read_text() == "died"


class _SquareOrDieOnce:
    def __init__(self, folder):
        self.folder = str(folder)

    def __call__(self, x):
        return _die_once(x, self.folder)


def test_a_task_that_keeps_killing_workers_is_a_typed_error_not_a_partial_result():
    import dask

    with warnings.catch_warnings(), dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)
        client = distributed.Client(cluster)
        try:
            with kz.config("dask", client=client), pytest.raises(ParallelError, match="workers kept dying"):
                map_tasks(_always_die, range(3), progress=False)
        finally:
            client.close()
            cluster.close()


def test_closed_or_unreachable_clients_and_bad_settings_are_typed_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None)
        client = distributed.Client(cluster)
    client.close()
    cluster.close()
    with pytest.raises(ParallelError, match="not running"):
        kz.config("dask", client=client)
    with pytest.raises(ParallelError, match="no Dask scheduler answers"):
        kz.config("dask", client="tcp://127.0.0.1:9")
    with pytest.raises(SpecificationError, match="backend="):
        kz.config("threads")
    with pytest.raises(SpecificationError, match="workers="):
        kz.config("dask", workers=0)
    with pytest.raises(SpecificationError, match="need backend='dask'"):
        kz.config("serial", workers=2)
    assert current()["backend"] == "serial"
