"""Benchmark: Callaway-Sant'Anna ATT(g,t) on big SIMULATED panels, kzcausal against moderndid (pandas and Dask).

Run:  .venv/bin/python benchmarks/bench_scale_attgt.py  [--quick] [--repeats 3] [--big-repeats 1]
(peers: moderndid >= 0.2 with its Dask backend, dask[distributed]; all in the dev extra)

The panels are SIMULATED (numpy, seed 0): N units x 10 years, cohorts 2014/2016/2018/2020 and never
treated (a fifth each), a unit-level covariate ``x`` that shifts the outcome and, for treated units,
its trend (so the covariate matters), true effects 1 + 0.1 x (years since adoption).

1. 100,000 units x 10 years, doubly robust with one covariate: ``kz.staggered_did(method="dr",
   covariates=["x"])`` + simple aggregation against ``moderndid.att_gt(est_method="dr", xformla="~ x")``
   + ``aggte(type="simple")``, in pandas and through moderndid's Dask backend (a ``dask.dataframe``
   read from the Parquet files, one partition each, on an in-process LocalCluster of one worker with
   2 threads). Target: kzcausal <= 5 s.
2. The same panel without covariates (kzcausal's group-mean path, moderndid ``est_method="reg"``).
3. 1,000,000 units x 10 years, no covariates: kzcausal from a pandas DataFrame (read_panel +
   staggered_did), moderndid in pandas and on Dask. Target: peak memory <= 8 GiB.

Every run is a fresh process that reads the same Parquet files (100,000 units each). Times: ``fit``
is the estimator on data already in memory (kzcausal: from a RegionPanel; moderndid: from the
DataFrame; moderndid-Dask: from the lazy Dask DataFrame, reading included); ``+panel`` adds
kzcausal's ``read_panel`` (validation). Peak memory is the high-water mark of the whole process's
resident set (Linux VmHWM: interpreter, imports, data, panel and fit; summed with any worker
processes), the number the <= 8 GiB target is about; ``step`` is the high-water mark of the timed
steps above the resident set just before them. Medians of ``--repeats`` runs (``--big-repeats`` for
section 3). The simple ATT and its standard error are checked to agree across the three before any
time is printed; the load average is printed because the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

YEARS = 10
FULL = {"dr": 100_000, "plain": 100_000, "big": 1_000_000}
QUICK = {"dr": 20_000, "plain": 20_000, "big": 100_000}
TOOLS = ("kzcausal", "moderndid", "moderndid-dask")
TARGET_SECONDS, TARGET_GIB = 5.0, 8.0


def simulate(directory: Path, n_units: int, n_files: int, seed: int = 0) -> None:
    """Write the SIMULATED panel as Parquet files of whole units (Dask reads one partition per file)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    years = np.arange(2011, 2011 + YEARS)
    g = rng.choice(np.array([2014, 2016, 2018, 2020, 0]), size=n_units)
    x = rng.normal(size=n_units)
    level = rng.normal(size=n_units)
    bounds = np.linspace(0, n_units, n_files + 1).astype(int)
    for part, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        units = np.arange(lo, hi)
        year = np.tile(years, len(units))
        gg, xx = np.repeat(g[units], YEARS), np.repeat(x[units], YEARS)
        effect = np.where((gg > 0) & (year >= gg), 1.0 + 0.1 * (year - gg), 0.0)
        y = (np.repeat(level[units], YEARS) + 0.05 * (year - 2011) + 0.5 * xx + 0.1 * xx * (gg > 0) * (year - 2011)
             + effect + rng.normal(size=len(year)))
        pd.DataFrame({
            "unit": np.repeat(np.char.add("u", units.astype(str)).astype(object), YEARS),  # names, for read_panel
            "id": np.repeat(units + 1, YEARS), "year": year, "y": y, "x": xx, "g": gg,  # moderndid's layout
            "first_treated": np.where(gg > 0, gg, np.nan),
        }).to_parquet(directory / f"part{part:03d}.parquet", index=False)


STEP = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd

PIDS = ["self"]  # this process and any worker processes (none with the in-process cluster below)

def status(field):
    total = 0
    for pid in PIDS:
        with open(f"/proc/{pid}/status") as f:
            total += next(int(line.split()[1]) for line in f if line.startswith(field))  # KiB
    return total

def reset_peak():
    for pid in PIDS:
        with open(f"/proc/{pid}/clear_refs", "w") as f:  # the peak (VmHWM) restarts from the current RSS
            f.write("5")

tool, task, path = sys.argv[1], sys.argv[2], sys.argv[3]
covariates = ["x"] if task == "dr" else []
out = {}
if tool == "kzcausal":
    import kzcausal as kz
    frame = pd.read_parquet(path, columns=["unit", "year", "y", *covariates, "first_treated"])
    peak_before = status("VmHWM:")
    reset_peak()
    base = status("VmRSS:")
    start = time.perf_counter()
    panel = kz.read_panel(frame, region="unit", regions=None)
    middle = time.perf_counter()
    result = kz.staggered_did(panel, "y", "first_treated", method="dr" if covariates else "reg",
                              covariates=covariates, progress=False)
    simple = result.aggregate("simple").table.iloc[0]
    end = time.perf_counter()
    out.update(panel_seconds=middle - start, fit_seconds=end - middle, att=float(simple["estimate"]),
               se=float(simple["std_error"]), cells=len(result.att_gt))
else:
    import moderndid
    columns = ["id", "year", "y", *covariates, "g"]
    if tool == "moderndid-dask":
        import dask.dataframe as dd
        import psutil
        from distributed import Client, LocalCluster
        client = Client(LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None))
        PIDS += [str(p.pid) for p in psutil.Process().children(recursive=True)]
        from pathlib import Path
        # one partition per file; dd.read_parquet's fused partitions make moderndid 0.2 fail with "lost
        # dependencies" (dask 2026.8) as soon as there is more than one file
        data = dd.from_map(pd.read_parquet, sorted(Path(path).glob("*.parquet")), columns=columns)
    else:
        data = pd.read_parquet(path, columns=columns)
    peak_before = status("VmHWM:")
    reset_peak()
    base = status("VmRSS:")
    start = time.perf_counter()
    result = moderndid.att_gt(data, yname="y", tname="year", idname="id", gname="g",
                              xformla="~ x" if covariates else None, est_method="dr" if covariates else "reg",
                              boot=False, cband=False)
    simple = moderndid.aggte(result, type="simple")  # boot/cband from att_gt: analytic
    end = time.perf_counter()
    out.update(panel_seconds=0.0, fit_seconds=end - start, att=float(simple.overall_att),
               se=float(simple.overall_se), cells=len(np.asarray(result.att_gt)))
peak = status("VmHWM:")
out.update(peak_mib=max(peak, peak_before) / 1024, step_mib=(peak - base) / 1024)
print(json.dumps(out))
"""


def measure(tool: str, task: str, path: Path, repeats: int) -> dict:
    """Median over ``repeats`` fresh processes; the error of a run that fails is returned, not raised."""
    runs = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", STEP, tool, task, str(path)], capture_output=True, text=True)
        if done.returncode:  # the exception's line, not the log lines a dying cluster writes after it
            lines = [line for line in (done.stderr or "").splitlines() if "Error" in line or "Exception" in line]
            return {"tool": tool, "error": lines[-1] if lines else f"exit {done.returncode}"}
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    row = {"tool": tool, "runs": len(runs)}
    for key in runs[0]:
        row[key] = statistics.median(r[key] for r in runs)
    row["total_seconds"] = statistics.median(r["panel_seconds"] + r["fit_seconds"] for r in runs)
    row["fit_seconds_all"] = [round(r["fit_seconds"], 3) for r in runs]
    return row


def section(title: str, name: str, task: str, n_units: int, repeats: int, workdir: Path) -> list[dict]:
    path = workdir / f"{task}_{n_units}"
    path.mkdir()
    simulate(path, n_units, n_files=max(1, n_units // 100_000))
    rows = [measure(tool, task, path, repeats) for tool in TOOLS]
    for row in rows:
        row.update(benchmark=name, units=n_units, years=YEARS, data="simulated")
    ok = [r for r in rows if "error" not in r]
    ours = next((r for r in ok if r["tool"] == "kzcausal"), None)
    for r in ok:  # the same estimand, or the times mean nothing
        if ours and (abs(r["att"] - ours["att"]) > 1e-8 or abs(r["se"] - ours["se"]) > 1e-8 * max(1.0, ours["se"])):
            raise SystemExit(f"{r['tool']}: ATT {r['att']} (se {r['se']}) differs from kzcausal's {ours['att']} "
                             f"(se {ours['se']}): not the same estimand")
    described = (f"; {ours['cells']} ATT(g,t) cells, simple ATT {ours['att']:.6f} (se {ours['se']:.6f}) in every "
                 "package" if ours else "")
    print(f"\n{title}: {n_units:,} units x {YEARS} years, SIMULATED{described}")
    print(f"   {'':<16}{'fit s':>8}{'+panel s':>10}{'peak GiB':>10}{'step GiB':>10}   kzcausal/peer: fit, "
          f"fit+panel, peak memory")
    for r in rows:
        if "error" in r:
            print(f"   {r['tool']:<16}failed: {r['error']}")
            continue
        ratio = ""
        if ours and r is not ours:
            r.update(ratio_fit=ours["fit_seconds"] / r["fit_seconds"],
                     ratio_total=ours["total_seconds"] / r["fit_seconds"], ratio_peak=ours["peak_mib"] / r["peak_mib"])
            ratio = f"   {r['ratio_fit']:6.3f}  {r['ratio_total']:6.3f}  {r['ratio_peak']:6.3f}"
        print(f"   {r['tool']:<16}{r['fit_seconds']:8.2f}{r['total_seconds']:10.2f}{r['peak_mib'] / 1024:10.2f}"
              f"{r['step_mib'] / 1024:10.2f}{ratio}")
    return rows


def run(quick: bool, repeats: int | None = None, big_repeats: int | None = None) -> list[dict]:
    """Every section; one dict per (benchmark, tool) with times (s), memory (MiB) and kzcausal/peer ratios."""
    sizes = QUICK if quick else FULL
    repeats = repeats or (1 if quick else 3)
    big_repeats = big_repeats or 1
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)"
          + ("; --quick: reduced sizes, the targets apply to the full run" if quick else ""))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        rows = section("1. Doubly robust, one covariate", "attgt_dr", "dr", sizes["dr"], repeats, workdir)
        rows += section("2. No covariates", "attgt_plain", "plain", sizes["plain"], repeats, workdir)
        rows += section("3. No covariates, big", "attgt_plain_big", "plain", sizes["big"], big_repeats, workdir)
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")
    ours = {r["benchmark"]: r for r in rows if r["tool"] == "kzcausal" and "error" not in r}
    verdict = (lambda ok: "meets" if ok else "MISSES") if not quick else (lambda ok: "quick run, not checked")
    if "attgt_dr" in ours:
        seconds = ours["attgt_dr"]["fit_seconds"]
        print(f"DR with one covariate on {sizes['dr']:,} x {YEARS} <= {TARGET_SECONDS:g} s: kzcausal {seconds:.2f} s "
              f"-> {verdict(seconds <= TARGET_SECONDS)}")
    if "attgt_plain_big" in ours:
        peak_gib = ours["attgt_plain_big"]["peak_mib"] / 1024
        print(f"{sizes['big']:,} × {YEARS} ATT(g,t) ≤ {TARGET_GIB:g} GiB: kzcausal peak {peak_gib:.2f} GiB "
              f"(whole process: data, panel, fit) -> {verdict(peak_gib <= TARGET_GIB)}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 / 100,000 units, one run each")
    parser.add_argument("--repeats", type=int, default=None, help="runs per tool in sections 1-2 (default 3)")
    parser.add_argument("--big-repeats", type=int, default=None, help="runs per tool in section 3 (default 1)")
    args = parser.parse_args()
    run(args.quick, args.repeats, args.big_repeats)


if __name__ == "__main__":
    main()
