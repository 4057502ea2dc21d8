"""Size of the wild cluster (score) bootstrap for Callaway-Sant'Anna and Sun-Abraham at G = 17, 6 treated.

Simulation under the null (no effect): 17 regions, 2009-2023, six treated from 2014, region and
year effects, AR(1) errors within region (rho = 0.5) whose scale differs across regions. Each
replication draws a new outcome and re-estimates through ``result.refit`` (same rows, same
design), then tests the effect at 5% with: the estimator's analytic p-value, the wild cluster
bootstrap (WCR of the effect's regression form, 999 Rademacher draws; a bootstrap test with
alpha (B + 1) an integer keeps its level), and, with --ri, exact randomization inference. The Monte
Carlo standard error of a 5% rejection rate over R replications is sqrt(0.05 x 0.95 / R).

    .venv/bin/python benchmarks/bootstrap_size.py --reps 2000
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import kzcausal as kz


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--draws", type=int, default=999, help="bootstrap draws per test (alpha (B + 1) integer)")
    parser.add_argument("--ri", action="store_true", help="also exact randomization inference (CS only)")
    args = parser.parse_args()
    panel, _ = kz.simulate_panel(n_regions=17, years=range(2009, 2024), cohorts={2014: 6}, effect=0.0,
                                 random_seed=1)
    estimators = {
        "CS simple ATT": kz.staggered_did(panel, "outcome", first_treated="first_treated"),
        "CS event study, overall": kz.event_study(panel, "outcome", first_treated="first_treated", method="cs", leads=3, lags=5),
        "Sun-Abraham, fixest ATT": kz.event_study(panel, "outcome", first_treated="first_treated", method="sun_abraham",
                                                  leads=3, lags=5),
    }
    rng = np.random.default_rng(args.seed)
    rows = next(iter(estimators.values())).data
    regions, years = rows["region"].unique(), np.sort(rows["year"].unique())
    n, t = len(regions), len(years)
    rejections = {name: {"analytic": [], "wild bootstrap": [], "randomization": []} for name in estimators}
    start = time.perf_counter()
    for rep in range(args.reps):
        scale = rng.uniform(0.5, 2.0, size=n)[:, None]
        e = np.zeros((n, t))
        e[:, 0] = rng.normal(size=n) / np.sqrt(1 - 0.25)
        for j in range(1, t):
            e[:, j] = 0.5 * e[:, j - 1] + rng.normal(size=n)
        y = rng.normal(size=n)[:, None] + rng.normal(size=t)[None, :] + scale * e
        outcome = dict(zip(((r, yr) for r in regions for yr in years), y.ravel()))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, result in estimators.items():
                data = result.data
                fresh = data.assign(outcome=[outcome[(r, yr)] for r, yr in zip(data["region"], data["year"])])
                fit = result.refit(fresh)
                rejections[name]["analytic"].append(fit.effect_table()["p_value"].iloc[0] < 0.05)
                boot = kz.wild_cluster_bootstrap(fit, draws=args.draws, random_seed=rep)
                rejections[name]["wild bootstrap"].append(boot.p_value < 0.05)
                if args.ri and name == "CS simple ATT":
                    rejections[name]["randomization"].append(kz.randomization_inference(fit).p_value < 0.05)
        if (rep + 1) % 250 == 0:
            print(f"  {rep + 1} replications, {time.perf_counter() - start:.0f} s", flush=True)
    mc = np.sqrt(0.05 * 0.95 / args.reps)
    print(f"\nrejection rate at 5% under the null, G = 17, 6 treated, {args.reps} replications "
          f"(Monte Carlo s.e. {mc:.4f}):")
    for name, tests in rejections.items():
        cells = ", ".join(f"{test} {np.mean(v):.3f}" for test, v in tests.items() if v)
        print(f"  {name:<26s} {cells}")


if __name__ == "__main__":
    main()
