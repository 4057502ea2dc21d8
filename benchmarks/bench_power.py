"""Benchmark: design power for the Serpin layout (17 regions x 15 years, six treated from 2014).

Run:  .venv/bin/python benchmarks/bench_power.py  [--sims 500 --workers 2]

kz.power_analysis with 500 SIMULATED panels x 3 estimators (TWFE, Callaway-Sant'Anna, synthetic
DID with jackknife errors), analytic inference, on the panel's own layout and pre-period error
process: serially, then on a Dask LocalCluster of ``--workers`` workers (identical numbers are
checked). The peer is the naive loop a user would write: build each simulated panel with
kz.read_panel and call the estimator (timed on 20 panels and scaled to the same work).
Target: <= 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def estimators():
    return {"TWFE": twfe, "Callaway-Sant'Anna": callaway_santanna, "SDID": sdid}


def twfe(panel, outcome):
    import kzcausal as kz

    return kz.twfe(panel, outcome, treatment="treated")


def callaway_santanna(panel, outcome):
    import kzcausal as kz

    return kz.staggered_did(panel, outcome, first_treated="first_treated", progress=False)


def sdid(panel, outcome):
    import kzcausal as kz

    treated = sorted(panel.to_frame().dropna(subset=["first_treated"])["region"].unique())
    return kz.synthetic_did(panel, outcome, treated=treated, post_from=2014, variance="jackknife", progress=False)


def naive(panel, error, n: int) -> float:
    """Seconds for ``n`` panels x 3 estimators the naive way: read_panel each simulated panel, fit."""
    import kzcausal as kz

    frame = panel.to_frame()[["region", "year", "first_treated", "treated"]]
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(n):
        y = error.simulate(17, 15, rng).ravel() + frame["treated"].to_numpy()
        simulated = kz.read_panel(frame.assign(outcome=y), regions=None)
        for fit in estimators().values():
            fit(simulated, "outcome").effect_table()
    return time.perf_counter() - start


def main() -> None:
    import kzcausal as kz

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    panel, _ = kz.simulate_panel(random_seed=2014, serial_correlation=0.5)  # SIMULATED, Kazakhstan-shaped
    options = dict(estimators=estimators(), inference=["analytic"], n_sims=args.sims, random_seed=1, progress=False)
    kz.power_analysis(panel, "outcome", first_treated="first_treated", **{**options, "n_sims": 10})  # warm the compiled kernels
    start = time.perf_counter()
    serial = kz.power_analysis(panel, "outcome", first_treated="first_treated", **options)
    t_serial = time.perf_counter() - start
    with kz.config("dask", workers=args.workers):
        kz.parallel.current()  # start the cluster outside the timing
        start = time.perf_counter()
        parallel = kz.power_analysis(panel, "outcome", first_treated="first_treated", **options)
        t_parallel = time.perf_counter() - start
    pd.testing.assert_frame_equal(serial.power, parallel.power, check_exact=True)
    t_naive = naive(panel, serial.error, 20) * args.sims / 20
    print(f"power analysis, {args.sims} SIMULATED panels x 3 estimators (TWFE, CS, SDID jackknife), 17 x 15, "
          "six treated from 2014")
    print(serial.mde.to_string(index=False))
    print(f"   kzcausal, serial            {t_serial:7.1f} s")
    print(f"   kzcausal, {args.workers} Dask workers     {t_parallel:7.1f} s   (identical numbers; speed-up "
          f"{t_serial / t_parallel:.2f}x)")
    print(f"   naive loop (read_panel + fit, 20 panels scaled)  {t_naive:7.1f} s   kzcausal serial / naive = "
          f"{t_serial / t_naive:.2f}")
    best = min(t_serial, t_parallel)
    print(f"target: <= 60 s on 2 cores -> {'meets' if best <= 60 else 'misses'} ({best:.1f} s)")


if __name__ == "__main__":
    main()
