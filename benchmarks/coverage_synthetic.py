"""Coverage of synthetic DID and synthetic control inference on Kazakhstan-shaped panels (SIMULATED).

Run:  .venv/bin/python benchmarks/coverage_synthetic.py  [--panels 500 --seed 0 --workers 2]

17 regions x 15 years (2009-2023), six treated from 2014, from a factor model
``Y = a_i + g_t + l_i f_t + tau D_it + e_it`` with a trending factor ``f_t = (t - 2009) / 4`` and
AR(1) noise within regions (rho 0.3). Two designs:
  exchangeable   every region's loading l_i ~ U(0, 2), treated regions drawn at random: the
                 setting of the placebo variance (Arkhangelsky et al. 2021, Algorithm 4);
  trend-selected treated regions load more on the trend (l ~ U(1.2, 1.8)): parallel trends fail,
                 DID is biased, synthetic weights should repair it.
For each panel (true effect tau = 1): does the 95% interval cover tau, for SDID with placebo
variance (200 replications), SDID with jackknife variance and TWFE DID with region-clustered
errors; and, on panels with tau = 0, does synthetic control's placebo-in-space test (six treated
regions averaged, every set of six placebos) reject at 5%, and does randomization inference on the
same fit (treatment reassigned across all 17 regions, 499 draws). Target: SDID intervals cover 90-97%.
Panels run through kzcausal's parallel backend (``--workers N``); each panel has its own seed.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

YEARS = np.arange(2009, 2024)
ADOPTION = 2014


def factor_panel(seed: int, effect: float, design: str):
    """One SIMULATED 17 x 15 panel and its treated regions."""
    import kzcausal as kz

    rng = np.random.default_rng(seed)
    n, n_treated = 17, 6
    treated = np.zeros(n, bool)
    treated[rng.choice(n, n_treated, replace=False)] = True
    loading = rng.uniform(0, 2, n)
    if design == "trend-selected":
        loading[treated] = rng.uniform(1.2, 1.8, n_treated)
    factor = (YEARS - YEARS[0]) / 4.0
    noise = np.empty((n, len(YEARS)))
    noise[:, 0] = rng.normal(0, 0.5 / np.sqrt(1 - 0.09), n)
    for t in range(1, len(YEARS)):
        noise[:, t] = 0.3 * noise[:, t - 1] + rng.normal(0, 0.5, n)
    Y = (rng.normal(0, 1, n)[:, None] + rng.normal(0, 0.5, len(YEARS))[None, :] + loading[:, None] * factor
         + effect * (treated[:, None] & (YEARS[None, :] >= ADOPTION)) + noise)
    names = np.array([f"Region {i:02d}" for i in range(n)])
    frame = pd.DataFrame({"region": np.repeat(names, len(YEARS)), "year": np.tile(YEARS, n), "outcome": Y.ravel()})
    frame["treated"] = (np.repeat(treated, len(YEARS)) & (frame["year"] >= ADOPTION)).astype(float)
    return kz.read_panel(frame, regions=None), list(names[treated])


def one_panel(task: tuple[str, int, bool]) -> dict[str, float]:
    """Coverage indicators (tau = 1) and, with ``with_sc``, the SC size indicators (tau = 0) for one seed."""
    import kzcausal as kz

    design, seed, with_sc = task
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel, treated = factor_panel(seed, 1.0, design)
        out = {}
        for name, fit in (("SDID placebo", lambda: kz.synthetic_did(panel, "outcome", treated=treated, post_from=ADOPTION,
                                                                    random_seed=seed, progress=False)),
                          ("SDID jackknife", lambda: kz.synthetic_did(panel, "outcome", treated=treated, post_from=ADOPTION,
                                                                      variance="jackknife", progress=False)),
                          ("TWFE clustered", lambda: kz.twfe(panel, "outcome", treatment="treated"))):
            row = fit().effect_table().iloc[0]
            out[name] = float(row["ci_low"] <= 1.0 <= row["ci_high"])
            out[name + " error"] = float(row["estimate"] - 1.0)
        if not with_sc:
            return out
        null, treated0 = factor_panel(seed, 0.0, design)
        sc = kz.synthetic_control(null, "outcome", treated=treated0, post_from=ADOPTION)
        out["SC placebo rejects (tau=0)"] = float(sc.effect_table().iloc[0]["p_value"] < 0.05)
        ri = kz.randomization_inference(sc, draws=499, random_seed=seed, progress=False)
        out["SC RI rejects (tau=0)"] = float(ri.p_value < 0.05)
    return out


def study(panels: int, seed: int = 0, designs=("exchangeable", "trend-selected"), progress: bool = True,
          with_sc: bool | int = True) -> dict[str, dict[str, float]]:
    """Mean of each indicator by design; ``with_sc``: SC sizes on every panel (True), none, or the first n."""
    from kzcausal.parallel import map_tasks

    sc_panels = panels if with_sc is True else int(with_sc)
    tasks = [(design, seed * 100_000 + i, i < sc_panels) for design in designs for i in range(panels)]
    out = map_tasks(one_panel, tasks, progress=progress, desc="synthetic coverage")
    table = {}
    for design in designs:
        rows = pd.DataFrame([o for (d, _, _), o in zip(tasks, out) if d == design])
        table[design] = rows.mean().to_dict() | {"panels": len(rows), "sc panels": int(rows.iloc[:, -1].notna().sum())}
    return table


def main() -> None:
    import kzcausal as kz

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panels", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=0, help="Dask LocalCluster workers (0: serial)")
    parser.add_argument("--sc-panels", type=int, default=200, help="panels per design with the SC size checks "
                        "(randomization inference costs ~2 s a panel)")
    args = parser.parse_args()
    start = time.perf_counter()
    with kz.config("dask", workers=args.workers) if args.workers else kz.config("serial"):
        table = study(args.panels, args.seed, with_sc=min(args.sc_panels, args.panels))
    n = args.panels
    print(f"SIMULATED 17 x 15 panels, six treated from {ADOPTION}, {n} per design; Monte Carlo s.e. of a 95% "
          f"coverage about {np.sqrt(0.95 * 0.05 / n):.3f}, of a 5% rejection rate about {np.sqrt(0.05 * 0.95 / n):.3f}")
    columns = ["SDID placebo", "SDID jackknife", "TWFE clustered"]
    print(f"{'design':<16}" + "".join(f"{c + ' cover':>22}" for c in columns) + f"{'SC size':>10}{'SC RI size':>12}")
    for design, row in table.items():
        print(f"{design:<16}" + "".join(f"{row[c]:>22.3f}" for c in columns)
              + f"{row['SC placebo rejects (tau=0)']:>10.3f}{row['SC RI rejects (tau=0)']:>12.3f}")
    print(f"(SC sizes from the first {table['exchangeable']['sc panels']} panels of each design)")
    print(f"{'mean error':<16}" + "".join(f"{table['trend-selected'][c + ' error']:>22.3f}" for c in columns)
          + "   (trend-selected design)")
    verdict = all(0.90 <= table["exchangeable"][c] <= 0.97 for c in columns[:2])
    print(f"target: SDID intervals cover 90-97% where the placebo variance's assumptions hold (exchangeable) -> "
          f"{'meets' if verdict else 'misses (see the table)'}; the trend-selected row shows what 5 pre-period "
          "years cannot repair")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
