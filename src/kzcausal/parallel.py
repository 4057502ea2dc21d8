"""Where embarrassingly parallel work runs: here (serial, the default) or on a Dask cluster.

Monte Carlo studies (power, coverage), re-fitted randomization inference, leave-one-out, placebo
and HonestDiD grids are many independent tasks. They all go through :func:`map_tasks`, which runs
them one after another, or on any ``distributed.Client`` chosen once with :func:`config`::

    kz.config(backend="dask")                 # a local cluster, one worker per core
    kz.config(backend="dask", workers=2)      # a local cluster with 2 workers
    kz.config(backend="dask", client=client)  # any distributed.Client (a multi-machine cluster)
    with kz.config(backend="dask"):           # ... or only inside a block
        kz.power_analysis(...)

Results do not depend on where the work ran: a task that draws random numbers gets its own
``numpy.random.SeedSequence`` child, spawned from the caller's seed by the task's position, so
the same seed gives identical numbers serially, on 1 worker or on 20. Tasks are sent in blocks
(a few per worker) so that scheduling costs little next to the work. A worker that dies is
replaced by Dask and its tasks re-run elsewhere; if a task keeps killing workers, or the client
is closed or unreachable, a :class:`~kzcausal.errors.ParallelError` says so and no partial
result is returned.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .errors import ParallelError, SpecificationError

#: A local cluster runs one process per worker: more than this many per core only thrashes.
MAX_WORKERS_PER_CORE = 4

__all__ = ["config", "map_tasks", "current"]

BLOCKS_PER_WORKER = 4


@dataclass
class _Settings:
    backend: Literal["serial", "dask"] = "serial"
    client: Any = None          # a distributed.Client, or None (a local cluster is made on first use)
    workers: int | None = None  # local cluster size when no client is given
    owned: bool = False         # the client (and its cluster) was created here


_SETTINGS = _Settings()


class _Restore:
    """Returned by :func:`config`; used as a context manager it restores the previous settings on exit."""

    def __init__(self, previous: _Settings):
        self._previous = previous

    def __enter__(self) -> _Restore:
        return self

    def __exit__(self, *exc) -> None:
        global _SETTINGS
        if _SETTINGS.owned:
            _close(_SETTINGS)
        _SETTINGS = self._previous

    def __repr__(self) -> str:
        return f"kzcausal.config(backend={_SETTINGS.backend!r})"


def config(backend: Literal["serial", "dask"] = "serial", *, client: Any = None, workers: int | None = None
           ) -> _Restore:
    """Choose where parallel work runs: ``"serial"`` (default) or ``"dask"``.

    Parameters
    ----------
    backend
        ``"serial"``: every task in this process, in order. ``"dask"``: on ``client``, or on a
        local cluster (``distributed.LocalCluster``, one single-threaded worker process per
        core, or ``workers`` of them) started on first use and closed at exit.
    client
        A ``distributed.Client`` or a scheduler address (``"tcp://host:8786"``).
    workers
        Size of the local cluster when no client is given.

    Returns
    -------
    _Restore
        Used as ``with kz.config(...):``, it restores the previous settings on exit.
    """
    global _SETTINGS
    if backend not in ("serial", "dask"):
        raise SpecificationError(f"backend={backend!r}; use 'serial' or 'dask'.")
    if backend == "serial" and (client is not None or workers is not None):
        raise SpecificationError("client= and workers= need backend='dask'.")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise SpecificationError(f"workers={workers!r}; use a positive whole number.")
    if workers is not None and workers > MAX_WORKERS_PER_CORE * (os.cpu_count() or 1):
        raise SpecificationError(f"workers={workers:,}: a local cluster of one process per worker on this machine's "
                                 f"{os.cpu_count()} core(s) would not fit; the cap is {MAX_WORKERS_PER_CORE} per core "
                                 f"({MAX_WORKERS_PER_CORE * (os.cpu_count() or 1)}). Fix: use workers<="
                                 f"{MAX_WORKERS_PER_CORE * (os.cpu_count() or 1)}, or a client= of a real cluster.")
    if client is not None and not isinstance(client, str) and not hasattr(client, "submit"):
        raise SpecificationError(f"client={client!r}; give a distributed.Client or a scheduler address "
                                 "('tcp://host:8786').")
    if backend == "dask":
        _import_distributed()
        if isinstance(client, str):
            client = _connect(client)
        elif client is not None:
            _check_running(client)
    previous = _SETTINGS
    if previous.owned:  # the local cluster made here is closed; restoring these settings starts a new one
        _close(previous)
    _SETTINGS = _Settings(backend=backend, client=client, workers=workers)
    return _Restore(previous)


def current() -> dict:
    """The backend in use and, for Dask, the number of workers (starting the local cluster if needed)."""
    if _SETTINGS.backend == "serial":
        return {"backend": "serial", "workers": 1}
    client = _client()
    return {"backend": "dask", "workers": len(client.scheduler_info(n_workers=-1)["workers"]),
            "dashboard": getattr(client, "dashboard_link", None)}


def map_tasks(function: Callable, items: Sequence, *, seed: np.random.SeedSequence | int | None = None,
              progress: bool = True, desc: str = "tasks") -> list:
    """``[function(item) for item in items]``, serially or on the configured Dask cluster, in order.

    With ``seed`` (an int or a ``SeedSequence``), task ``i`` is called as
    ``function(item, seed_i)`` where ``seed_i`` is the ``i``-th child spawned from ``seed``: the
    same seed gives the same results whatever the backend or the number of workers.
    ``function`` and the items must be picklable for Dask (functions from modules, partials).
    """
    items = list(items)
    seeds: list = [None] * len(items)
    if seed is not None:
        root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        seeds = root.spawn(len(items))
    if not items:
        return []
    if _SETTINGS.backend == "serial":
        from tqdm.auto import tqdm

        out = []
        for item, child in tqdm(list(zip(items, seeds)), desc=desc, disable=not progress, leave=False):
            out.append(function(item) if seed is None else function(item, child))
        return out
    return _map_dask(function, items, seeds, seed is not None, progress, desc)


def _run_block(function: Callable, block: list, seeded: bool) -> list:
    return [function(item, child) if seeded else function(item) for item, child in block]


def _map_dask(function, items, seeds, seeded: bool, progress: bool, desc: str) -> list:
    from distributed import as_completed
    from tqdm.auto import tqdm

    client = _client()
    n_workers = max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
    n_blocks = min(len(items), BLOCKS_PER_WORKER * n_workers)
    bounds = np.linspace(0, len(items), n_blocks + 1).astype(int)
    pairs = list(zip(items, seeds))
    blocks = [pairs[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    try:
        futures = client.map(_run_block, [function] * len(blocks), blocks, [seeded] * len(blocks), pure=False)
    except Exception as exc:  # the client was closed or lost its scheduler after config()
        raise ParallelError(f"the Dask client could not take the work ({type(exc).__name__}: {exc}). Fix: start "
                            "a new client and call kz.config(backend='dask', client=...), or "
                            "kz.config('serial').") from exc
    index = {future.key: k for k, future in enumerate(futures)}
    results: list = [None] * len(blocks)
    bar = tqdm(total=len(items), desc=f"{desc} (dask, {n_workers} workers)", disable=not progress, leave=False)
    try:
        for future in as_completed(futures):
            k = index[future.key]
            try:
                results[k] = future.result()
            except Exception as exc:
                _raise_task_failure(exc, k, blocks)
            bar.update(len(blocks[k]))
    finally:
        bar.close()
        for future in futures:
            future.release()
    return [value for block in results for value in block]


def _raise_task_failure(exc: BaseException, k: int, blocks: list) -> None:
    from distributed import KilledWorker

    from .errors import KzCausalError

    if isinstance(exc, KzCausalError):
        raise exc
    if isinstance(exc, KilledWorker):
        raise ParallelError(f"Dask workers kept dying while running block {k + 1} of {len(blocks)} (tasks "
                            f"{sum(len(b) for b in blocks[:k])}-{sum(len(b) for b in blocks[:k + 1]) - 1}); no "
                            "result is returned. Usually a worker ran out of memory: give workers more memory "
                            "(LocalCluster(memory_limit=...)) or run kz.config('serial').") from exc
    raise exc


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ParallelError("backend='dask' needs the dask and distributed packages. Fix: pip install "
                            "'kzcausal[dask]' (or pip install 'dask[distributed]').") from None
    return distributed


def _connect(address: str):
    from distributed import Client

    try:
        return Client(address, timeout="5s")
    except (OSError, TimeoutError) as exc:
        raise ParallelError(f"client={address!r}: no Dask scheduler answers there ({exc}). Fix: start the "
                            "scheduler or check the address; kz.config('serial') runs everything here.") from None


def _check_running(client) -> None:
    status = getattr(client, "status", None)
    if status not in ("running", "connecting", "newly-created"):
        raise ParallelError(f"the Dask client is {status!r}, not running. Fix: pass an open distributed.Client, "
                            "or call kz.config(backend='dask') for a local cluster.")


def _client():
    settings = _SETTINGS
    if settings.client is None:
        from distributed import Client, LocalCluster

        n = settings.workers or os.cpu_count() or 1
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        settings.client = Client(cluster)
        settings.owned = True
    _check_running(settings.client)
    return settings.client


@atexit.register
def _shutdown() -> None:
    if _SETTINGS.owned:
        _close(_SETTINGS)


def _close(settings: _Settings) -> None:
    client = settings.client
    if client is None:
        return
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()
    settings.client, settings.owned = None, False
