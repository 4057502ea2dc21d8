"""Benchmark: read + validate + derive indicators for 50,000 regions x 20 years (1,000,000 rows).

Run:  .venv/bin/python benchmarks/bench_panel.py  [--regions 50000 --years 20]

Each measurement runs in a fresh subprocess; peak memory is the high-water mark of the
resident set (Linux VmHWM, reset just before the step) less the interpreter with its
imports, so it belongs to that step alone. The peer is plain
``pandas.read_csv`` of the same file, the floor any reader pays; the ratio says what
validation and derivation cost on top. Targets (issue 2): <= 2 s and <= 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

STEP = r"""
import json, sys, time
import pandas as pd
import kzcausal as kz

def status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field))  # KiB

path, which = sys.argv[1], sys.argv[2]
with open("/proc/self/clear_refs", "w") as f:  # reset the peak (VmHWM) to the current RSS
    f.write("5")
base = status("VmRSS:")
start = time.perf_counter()
if which == "kzcausal":
    panel = kz.read_panel(path, regions=None)
    rows, columns = len(panel), len(panel.variables)
else:
    frame = pd.read_csv(path)
    rows, columns = len(frame), frame.shape[1] - 2
seconds = time.perf_counter() - start
peak = (status("VmHWM:") - base) / 1024  # MiB above the interpreter with its imports
print(json.dumps({"seconds": seconds, "peak_mib": peak, "rows": rows, "columns": columns}))
"""


def make_csv(path: Path, n_regions: int, n_years: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n = n_regions * n_years
    population = rng.integers(50_000, 3_000_000, n)
    departures = (population * rng.uniform(0.01, 0.03, n)).round()
    pd.DataFrame({
        "region": np.repeat([f"unit{i:06d}" for i in range(n_regions)], n_years),
        "year": np.tile(np.arange(2001, 2001 + n_years), n_regions),
        "arrivals": (departures * rng.uniform(0.8, 1.2, n)).round(),
        "departures": departures,
        "population": population,
        "grp": rng.uniform(1e5, 1e7, n).round(1),
    }).to_csv(path, index=False)


def measure(path: Path, which: str, repeats: int) -> dict:
    runs = [json.loads(subprocess.run([sys.executable, "-c", STEP, str(path), which], check=True,
                                      capture_output=True, text=True).stdout) for _ in range(repeats)]
    best = min(runs, key=lambda r: r["seconds"])
    return {**best, "peak_mib": max(r["peak_mib"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=50_000)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "panel.csv"
        make_csv(path, args.regions, args.years)
        size = path.stat().st_size / 2**20
        print(f"{args.regions:,} regions x {args.years} years = {args.regions * args.years:,} rows, "
              f"CSV {size:.0f} MiB; best of {args.repeats} runs, each in a fresh process")
        peer = measure(path, "pandas", args.repeats)
        ours = measure(path, "kzcausal", args.repeats)
    print(f"{'step':<44}{'wall s':>8}{'peak MiB':>10}")
    print(f"{'pandas.read_csv (peer: parse only)':<44}{peer['seconds']:>8.2f}{peer['peak_mib']:>10.0f}")
    print(f"{'kz.read_panel (parse+validate+5 indicators)':<44}{ours['seconds']:>8.2f}{ours['peak_mib']:>10.0f}")
    print(f"ratio kzcausal / pandas.read_csv: time {ours['seconds'] / peer['seconds']:.2f}x, "
          f"memory {ours['peak_mib'] / max(peer['peak_mib'], 1):.2f}x")
    verdict = "meets" if ours["seconds"] <= 2 and ours["peak_mib"] <= 1024 else "MISSES"
    print(f"target <= 2 s and <= 1024 MiB: {verdict}")


if __name__ == "__main__":
    main()
