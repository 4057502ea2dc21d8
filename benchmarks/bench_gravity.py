"""Benchmark: PPML gravity models on the real flows and on 5 million SIMULATED pair-years, against pyfixest.

Run:  .venv/bin/python benchmarks/bench_gravity.py  [--regions 1000 --years 5 --repeats 1]  [--quick]

1. Real data: ``kz.gravity_model`` with origin-year + destination-year effects on the bundled BNS
   flows, 20 regions x 19 destinations x 8 years (2010, 2015, 2020-2025, 2022 included: 3,040
   rows) with the bundled great-circle distances, clustered by pair; and the 17-region FlowTable +
   panel path (``gravity_data`` included). Warm time, best of ``--real-repeats``; the peer is
   ``pyfixest.fepois`` on the same rows. Target: <= 0.5 s.
2. SIMULATED flows (Poisson, with origin-year and destination-year effects and a distance
   elasticity of -1.3): ``--regions`` x (``--regions`` - 1) pairs x ``--years`` years, 1,000 x 999 x 5
   = 4,995,000 rows by default, region and pair names as text, as ``gravity_data`` gives them.
   ``kz.gravity_model(rows)`` against ``pyfixest.fepois("flow ~ log_distance | origin^year +
   destination^year", vcov={"CRV1": "pair"})`` on the same DataFrame, once with pyfixest's default
   tolerances and once with kzcausal's (IRLS 1e-12, demeaning 1e-8). Each fit runs in a fresh
   process after a warm-up fit on 20,000 rows (compiled kernels); peak memory is the high-water mark
   of the resident set (Linux VmHWM, reset just before the fit) above the process with its data
   loaded. The estimates are checked to agree before any time is printed. Targets: <= 1.5x the
   peer, <= 8 GiB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from timing import best

STEP = r"""
import json, sys, time, warnings
import pandas as pd
import pyfixest as pf
import kzcausal as kz

warnings.simplefilter("ignore")

def status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field))  # KiB

path, which = sys.argv[1], sys.argv[2]
rows = pd.read_parquet(path)
FORMULA = "flow ~ log_distance | origin^year + destination^year"
TIGHT = {"iwls_tol": 1e-12, "iwls_maxiter": 100, "demeaner": pf.MapDemeaner(fixef_tol=1e-8)}

def fit(data):
    if which == "kzcausal":
        result = kz.gravity_model(data, fixed_effects="origin-year+destination-year", cluster="pair")
        return float(result.params.iloc[0]), float(result.std_errors.iloc[0]), result.n_obs
    options = TIGHT if which == "pyfixest-tight" else {}
    model = pf.fepois(FORMULA, data=data, vcov={"CRV1": "pair"}, ssc=pf.ssc(k_adj=False, G_adj=True), **options)
    return float(model.coef().iloc[0]), float(model.se().iloc[0]), int(model._N)

fit(rows.head(20_000))  # warm: compiled kernels, imports
with open("/proc/self/clear_refs", "w") as f:  # reset the peak (VmHWM) to the current RSS
    f.write("5")
base = status("VmRSS:")
start = time.perf_counter()
estimate, std_error, n_obs = fit(rows)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_mib": (status("VmHWM:") - base) / 1024, "base_mib": base / 1024,
                  "estimate": estimate, "std_error": std_error, "n_obs": n_obs}))
"""


def simulate_rows(n_regions: int, n_years: int, seed: int = 0) -> pd.DataFrame:
    """SIMULATED gravity rows: Poisson flows with origin-year and destination-year effects, elasticity -1.3."""
    rng = np.random.default_rng(seed)
    names = np.array([f"region {i:05d}" for i in range(n_regions)], dtype=object)
    lat = np.radians(rng.uniform(40.5, 55.5, n_regions))
    lon = np.radians(rng.uniform(46.5, 87.5, n_regions))
    origin, destination = np.nonzero(~np.eye(n_regions, dtype=bool))
    half = (np.sin((lat[origin] - lat[destination]) / 2) ** 2
            + np.cos(lat[origin]) * np.cos(lat[destination]) * np.sin((lon[origin] - lon[destination]) / 2) ** 2)
    km = 2 * 6371.0088 * np.arcsin(np.sqrt(half)) + 1.0
    n_pairs = len(origin)
    o, d = np.tile(origin, n_years), np.tile(destination, n_years)
    t = np.repeat(np.arange(n_years), n_pairs)
    push, pull = rng.normal(0, 1, (n_regions, n_years)), rng.normal(0, 1, (n_regions, n_years))
    log_distance = np.log(np.tile(km, n_years))
    flow = rng.poisson(np.exp(10.0 + push[o, t] + pull[d, t] - 1.3 * log_distance))
    pairs = np.array([f"{names[a]} -> {names[b]}" for a, b in zip(origin, destination)], dtype=object)
    return pd.DataFrame({"origin": names[o], "destination": names[d], "pair": np.tile(pairs, n_years),
                         "year": np.arange(2020, 2020 + n_years)[t], "flow": flow, "log_distance": log_distance})



def real_data(repeats: int) -> None:
    import pyfixest as pf

    import kzcausal as kz
    from kzcausal.errors import DataQualityWarning, HarmonizationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        flows = kz.load_migration_flows(include_unreliable=True)
    rows = flows.to_frame().merge(kz.datasets.region_distances(2022), on=["origin", "destination"])
    rows = rows.assign(pair=rows["origin"] + " -> " + rows["destination"], log_distance=np.log(rows["distance_km"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HarmonizationWarning)
        flows17 = kz.load_migration_flows(2021).select(years=[2015, 2020, 2021, 2023, 2024, 2025])
        panel17 = kz.load_kazakhstan(2021)

    def ours():
        return kz.gravity_model(rows, fixed_effects="origin-year+destination-year", cluster="pair")

    def peer():
        return pf.fepois("flow ~ log_distance | origin^year + destination^year", data=rows, vcov={"CRV1": "pair"},
                         ssc=pf.ssc(k_adj=False, G_adj=True))

    def ours17():
        return kz.gravity_model(flows17, panel17, fixed_effects="origin-year+destination-year", cluster="pair")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn in (ours, peer, ours17):
            fn()  # warm-up
        t_peer, fit = best(peer, repeats)
        t_ours, result = best(ours, repeats)
        t_ours17, result17 = best(ours17, repeats)
    assert np.isclose(result.params.iloc[0], fit.coef().iloc[0], rtol=1e-6), "estimates disagree"
    print(f"1. Real BNS flows: {len(flows.regions)} regions x {len(flows.regions) - 1} destinations x "
          f"{len(flows.years)} years = {len(rows):,} rows (2022 included), origin-year + destination-year effects, "
          f"clustered by pair; best of {repeats} warm runs")
    print(f"   distance elasticity {result.params.iloc[0]:.4f} (SE {result.std_errors.iloc[0]:.4f}); "
          f"17 regions, {len(flows17.years)} years: {result17.params.iloc[0]:.4f}")
    print(f"{'step':<76}{'wall s':>8}")
    print(f"{'pyfixest.fepois (peer), same rows':<76}{t_peer:>8.3f}")
    print(f"{'kz.gravity_model(rows)':<76}{t_ours:>8.3f}")
    print(f"{f'kz.gravity_model(flows, panel): 17 regions, {len(result17.pairs):,} rows, with gravity_data':<76}"
          f"{t_ours17:>8.3f}")
    print(f"ratio kzcausal / pyfixest: {t_ours / t_peer:.2f}x")
    verdict = "meets" if max(t_ours, t_ours17) <= 0.5 else "MISSES"
    print(f"target <= 0.5 s: {verdict}\n")


def measure(path: Path, which: str, repeats: int) -> dict:
    runs = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", STEP, str(path), which], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{which} failed:\n{done.stderr[-3000:]}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    fastest = min(runs, key=lambda r: r["seconds"])
    return {**fastest, "peak_mib": max(r["peak_mib"] for r in runs)}


def simulated(n_regions: int, n_years: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.parquet"
        start = time.perf_counter()
        rows = simulate_rows(n_regions, n_years)
        rows.to_parquet(path)
        n_rows, zeros = len(rows), float((rows["flow"] == 0).mean())
        del rows
        made = time.perf_counter() - start
        print(f"2. SIMULATED flows: {n_regions:,} regions x {n_regions - 1:,} destinations x {n_years} years = "
              f"{n_rows:,} rows ({zeros:.0%} zeros; made in {made:.0f} s), origin-year + destination-year effects "
              f"({2 * n_regions * n_years:,} levels), clustered by pair; best of {repeats}, each fit in a fresh process")
        results = {which: measure(path, which, repeats) for which in ("pyfixest", "pyfixest-tight", "kzcausal")}
    ours, peer, tight = results["kzcausal"], results["pyfixest"], results["pyfixest-tight"]
    assert ours["n_obs"] == peer["n_obs"] == tight["n_obs"]
    assert np.isclose(ours["estimate"], tight["estimate"], rtol=1e-9), "estimates disagree"
    assert np.isclose(ours["std_error"], tight["std_error"], rtol=1e-6), "standard errors disagree"
    assert np.isclose(ours["estimate"], peer["estimate"], rtol=1e-6), "estimates disagree"
    print(f"   distance elasticity {ours['estimate']:.5f} (SE {ours['std_error']:.2e}; truth -1.3); "
          f"SE with pyfixest's default tolerances differs by {abs(peer['std_error'] / ours['std_error'] - 1):.1e} "
          "(relative)")
    print(f"{'step':<72}{'wall s':>8}{'peak MiB':>10}")
    labels = {"pyfixest": "pyfixest.fepois (peer), origin^year + destination^year, its defaults",
              "pyfixest-tight": "pyfixest.fepois (peer), same, kzcausal's tolerances",
              "kzcausal": "kz.gravity_model(rows)"}
    for which, label in labels.items():
        print(f"{label:<72}{results[which]['seconds']:>8.1f}{results[which]['peak_mib']:>10.0f}")
    print(f"ratio kzcausal / pyfixest (defaults): time {ours['seconds'] / peer['seconds']:.2f}x, "
          f"memory {ours['peak_mib'] / max(peer['peak_mib'], 1):.2f}x")
    print(f"ratio kzcausal / pyfixest (same tolerances): time {ours['seconds'] / tight['seconds']:.2f}x, "
          f"memory {ours['peak_mib'] / max(tight['peak_mib'], 1):.2f}x")
    verdict = "meets" if ours["seconds"] <= 1.5 * peer["seconds"] and ours["peak_mib"] <= 8 * 1024 else "MISSES"
    print(f"target <= 1.5x pyfixest and <= 8 GiB: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=1000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1, help="fits per tool on the simulated rows")
    parser.add_argument("--real-repeats", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="200 regions (199,000 rows), 5 real repeats")
    args = parser.parse_args()
    if args.quick:
        args.regions, args.real_repeats = 200, 5
    real_data(args.real_repeats)
    simulated(args.regions, args.years, args.repeats)


if __name__ == "__main__":
    main()
