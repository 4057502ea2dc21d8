"""Benchmark: inference and estimation at scale, and the parallel backend (SIMULATED panels).

Run:  .venv/bin/python benchmarks/bench_scale.py  [--quick] [--skip-attgt]
(peers: pyfixest's wildboottest, moderndid with Dask; all in the dev extra)

1. Wild cluster bootstrap (WCR, 9,999 Rademacher draws) of a TWFE effect, N units x 10 years
   clustered at 50 groups (15 treated from 2015), N = 500 ... 100,000: kzcausal (fixed effects
   absorbed, cluster sums) against pyfixest's ``Feols.wildboottest`` (where it finishes in 120 s)
   on the same data. Target: 100,000 x 10 at 50 clusters <= 10 s.
2. Randomization inference on the same panels, 9,999 sampled reassignments of treatment across
   the 50 clusters (``level="cluster"``, statistic t), and across regions for the smallest panel.
3. The coverage study (benchmarks/coverage_study.py, 4 methods per panel) on a Dask LocalCluster
   of 1 and of 2 workers: identical numbers, and the speed-up. Target: >= 1.7x.
4. Callaway-Sant'Anna ATT(g,t) up to 1,000,000 units (benchmarks/bench_scale_attgt.py: DR with a
   covariate <= 5 s on 100,000 x 10; 1,000,000 x 10 within 8 GiB; moderndid with Dask alongside).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def clustered_panel(n_units: int, n_groups: int = 50, years: int = 10, seed: int = 0) -> pd.DataFrame:
    """SIMULATED: units nested in groups, 15 groups treated from 2015, group shocks, effect 0.05."""
    rng = np.random.default_rng(seed)
    group = np.arange(n_units) % n_groups
    treated_groups = rng.choice(n_groups, 15, replace=False)
    first = np.where(np.isin(group, treated_groups), 2015.0, np.nan)
    frame = pd.DataFrame({"region": np.repeat(np.arange(n_units), years).astype(str),
                          "year": np.tile(np.arange(2010, 2010 + years), n_units),
                          "group": np.repeat(group, years), "first_treated": np.repeat(first, years)})
    frame["treated"] = (frame["year"] >= frame["first_treated"].fillna(np.inf)).astype(float)
    shocks = rng.normal(0, 0.3, (n_groups, years))
    frame["outcome"] = (rng.normal(size=len(frame)) + shocks[frame["group"], frame["year"] - 2010]
                        + 0.05 * frame["treated"])
    return frame


def _pyfixest_seconds(frame: pd.DataFrame, timeout: float = 120.0) -> tuple[float, float] | None:
    """pyfixest's WCR bootstrap (9,999 draws) in a subprocess, so a slow run can be stopped."""
    path = HERE / "_scale_frame.parquet"
    frame.to_parquet(path)
    code = ("import time, warnings; warnings.filterwarnings('ignore'); import pandas as pd, pyfixest as pf\n"
            f"df = pd.read_parquet({str(path)!r}); df['unit'] = df['region'].astype(int)\n"
            "fit = pf.feols('outcome ~ treated | unit + year', data=df, vcov={'CRV1': 'group'})\n"
            "t = time.perf_counter(); r = fit.wildboottest(param='treated', reps=9999, cluster='group', seed=1)\n"
            "print(time.perf_counter() - t, float(r['Pr(>|t|)']))")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
        seconds, p = map(float, out.stdout.split()[-2:])
        return seconds, p
    except (subprocess.TimeoutExpired, ValueError):
        return None
    finally:
        path.unlink(missing_ok=True)


def inference_section(sizes: list[int]) -> None:
    import kzcausal as kz

    print("1-2. WCR bootstrap and RI, 9,999 draws, N units x 10 years, 50 clusters (SIMULATED)")
    print(f"   {'units':>8} {'fit TWFE':>9} {'kz WCR':>8} {'p':>6} {'pyfixest':>9} {'p':>6} {'kz/pf':>7}"
          f" {'RI cluster':>11} {'RI region':>10}")
    for n in sizes:
        frame = clustered_panel(n)
        panel = kz.read_panel(frame, regions=None)
        start = time.perf_counter()
        result = kz.twfe(panel, "outcome", treatment="treated", cluster="group")
        t_fit = time.perf_counter() - start
        start = time.perf_counter()
        boot = kz.wild_cluster_bootstrap(result, draws=9999, random_seed=1)
        t_boot = time.perf_counter() - start
        start = time.perf_counter()
        kz.randomization_inference(result, draws=9999, level="cluster", statistic="t", random_seed=1,
                                   progress=False)
        t_ri = time.perf_counter() - start
        t_region = "-"
        if n <= 2000:
            start = time.perf_counter()
            kz.randomization_inference(result, draws=9999, statistic="t", random_seed=1, progress=False)
            t_region = f"{time.perf_counter() - start:.1f}"
        peer = _pyfixest_seconds(frame) if n <= 2000 else None
        if peer:
            peer_text = f"{peer[0]:9.1f} {peer[1]:6.3f} {t_boot / peer[0]:7.3f}"
        else:  # pyfixest builds dense unit dummies: past 2,000 units it does not finish in minutes
            peer_text = f"{'(>120 s)' if n <= 2000 else '(skipped)':>9} {'':>6} {'':>7}"
        print(f"   {n:>8,} {t_fit:9.1f} {t_boot:8.2f} {boot.p_value:6.3f} {peer_text} {t_ri:11.2f} {t_region:>10}")
        if n == 100_000:
            print(f"   target: WCR 9,999 draws on 100,000 x 10 at 50 clusters <= 10 s -> "
                  f"{'meets' if t_boot <= 10 else 'MISSES'} ({t_boot:.2f} s)")


def coverage_section(panels: int) -> None:
    import kzcausal as kz
    from coverage_study import study

    print(f"\n3. coverage study, {panels} panels x 2 effects x 4 methods, Dask LocalCluster of 1 and 2 workers")
    times, tables = {}, {}
    for workers in (1, 2):
        with kz.config("dask", workers=workers):
            kz.parallel.current()  # the cluster starts outside the timing
            start = time.perf_counter()
            tables[workers] = study(panels, progress=False)
            times[workers] = time.perf_counter() - start
        print(f"   {workers} worker(s): {times[workers]:6.1f} s")
    same = tables[1] == tables[2]
    speedup = times[1] / times[2]
    print(f"   identical numbers: {same}; speed-up {speedup:.2f}x (target >= 1.7x -> "
          f"{'meets' if same and speedup >= 1.7 else 'MISSES'}; load average {os.getloadavg()[0]:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (targets apply to the full run)")
    parser.add_argument("--skip-attgt", action="store_true", help="leave out section 4 (ATT(g,t), ~10 min)")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    inference_section([500, 2000, 10_000] if args.quick else [500, 2000, 10_000, 100_000])
    coverage_section(20 if args.quick else 100)
    if not args.skip_attgt:
        from bench_scale_attgt import run

        print("\n4. Callaway-Sant'Anna ATT(g,t) at scale (bench_scale_attgt.py)")
        run(args.quick)


if __name__ == "__main__":
    main()
