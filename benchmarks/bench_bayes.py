"""Benchmark: time to posterior of kzcausal's three Bayesian models with every installed NUTS sampler.

Run:  .venv/bin/python benchmarks/bench_bayes.py [--models hierarchical,event_study,gravity]
                                                 [--samplers pymc,nutpie,...] [--warm 3] [--fresh-cache] [--sbc]
(optional samplers: pip install -e ".[numpyro]" for numpyro and nutpie's JAX backend; the installed ones are timed)

Models (simulated data are labelled; the gravity flows are the bundled BNS flows):

- hierarchical: log-log elasticities, 20 regions x 15 years (SIMULATED), 4 chains x 1,000 draws after
  1,000 tuning steps;
- event study: 17 regions x 15 years, two cohorts of 4 (SIMULATED), leads and lags 4, 2 chains x
  1,000 draws, in the collapsed parametrization (the default) and the original one;
- gravity: 17 regions, 2015-2024 flows (5 years, 1,360 pair-years), partial pooling, negative
  binomial, 2 chains x 1,000 draws.

Each (model, sampler) runs in a fresh Python process. *cold*: the first fit in that process
(importing PyMC, building, compiling and sampling; the disk caches of PyTensor and numba as they
are, or empty with --fresh-cache); *warm*: median of --warm further fits of the same shape on other
data (kzcausal's compiled-model store re-used where the sampler allows it). ESS/s: the smallest bulk
ESS of the monitored parameters per second of the warm fit; "vs pymc" divides by PyMC's default
NUTS measured in the same run, "cold vs" the same for the cold fit (compilation included). The earlier
parametrizations (event study "original", gravity "projected") run with nutpie only; their ratios are
against PyMC on the default parametrization. Then the estimator functions themselves (default sampler, predictive
draws, log likelihood and diagnostics included), cold and warm, and optionally simulation-based
calibration (--sbc).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

MODELS = ("hierarchical", "event_study", "gravity")
SAMPLERS = ("pymc", "nutpie", "nutpie_stock", "nutpie_jax", "numpyro", "blackjax")
NEEDS = {"pymc": (), "nutpie": ("nutpie",), "nutpie_stock": ("nutpie",), "nutpie_jax": ("nutpie", "jax"),
         "numpyro": ("numpyro",), "blackjax": ("blackjax",)}
LABELS = {"pymc": "PyMC NUTS (default before)", "nutpie": "nutpie numba, kzcausal (default)",
          "nutpie_stock": "nutpie numba, nutpie's compile", "nutpie_jax": "nutpie JAX",
          "numpyro": "numpyro", "blackjax": "blackjax"}


# ------------------------------------------------------------------ the worker (one fresh process)
def _problem(model: str, variant: int, parametrization: str):
    """(PyMC model, draws, chains, monitored variables) for a model's data variant."""
    import kzcausal as kz

    if model == "hierarchical":
        from kzcausal.bayes.hierarchical import _build_model, _design, _priors

        panel, _ = kz.simulate_panel(n_regions=20, elasticity=0.3, elasticity_sd=0.2, random_seed=3 + variant)
        design = _design(panel, "grp", "attractiveness_index", "log-log", None)
        return _build_model(design, "region_trend", "normal", _priors(None)), 1000, 4, \
            ["mu_beta", "tau_beta", "elasticity", "sigma"]
    if model == "event_study":
        from kzcausal.bayes.event_study import _build_model, _inputs
        from kzcausal.design import DIDDesign

        panel, _ = kz.simulate_panel(cohorts={2013: 4, 2016: 4}, effect=1.0, dynamic=0.3, random_seed=5 + variant)
        inputs = _inputs(DIDDesign.panel_rows(panel, "outcome", "first_treated"), "outcome", 4, 4)
        return _build_model(inputs, "independent", 2.5, parametrization), 1000, 2, \
            ["effect", "theta_e", "tau_cohort", "sigma", "rho"]
    from kzcausal.bayes.gravity import MONITORED, _build_model, _design, _gravity_rows, _priors
    from kzcausal.datasets import load_kazakhstan, load_migration_flows

    flows = load_migration_flows(2021).select(years=[2015, 2020, 2021, 2023, 2024])
    design = _design(_gravity_rows(flows, load_kazakhstan(2021), None), "year")
    return _build_model(design, "partial", "negative_binomial", _priors(None), "centred", parametrization), \
        1000, 2, [n for n in MONITORED]


def _fit(sampler: str, model, draws: int, chains: int, seed: int):
    from kzcausal.bayes.sampling import quiet_pymc, sample_nuts

    settings = dict(draws=draws, tune=1000, chains=chains, target_accept=0.9, random_seed=seed, progress=False)
    if sampler in ("pymc", "nutpie", "numpyro", "blackjax"):
        return sample_nuts(model, sampler, **settings)
    import nutpie

    backend = {"nutpie_stock": {}, "nutpie_jax": {"backend": "jax", "gradient_backend": "jax"}}[sampler]
    with quiet_pymc(True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = nutpie.compile_pymc_model(model, **backend)
        return nutpie.sample(compiled, draws=draws, tune=1000, chains=chains, seed=seed, target_accept=0.9,
                             progress_bar=False, cores=min(chains, os.cpu_count() or 1))


def _worker(model_name: str, sampler: str, warm: int, parametrization: str) -> None:
    """Cold fit, then ``warm`` fits of other data of the same shape; one JSON line per fit."""
    from kzcausal.bayes.convergence import convergence_diagnostics

    warnings.filterwarnings("ignore")
    for i in range(1 + warm):
        start = time.perf_counter()
        model, draws, chains, monitored = _problem(model_name, i, parametrization)
        idata = _fit(sampler, model, draws, chains, seed=11 + i)
        seconds = time.perf_counter() - start
        monitored = [n for n in monitored if n in idata.posterior]
        table, divergences, _ = convergence_diagnostics(idata, monitored)
        print(json.dumps({"fit": i, "seconds": seconds, "ess": float(table["ess_bulk"].min()),
                          "r_hat": float(table["r_hat"].max()), "divergences": divergences,
                          "steps": float(idata.sample_stats["n_steps"].mean()) if "n_steps" in idata.sample_stats
                          else float(2 ** idata.sample_stats["tree_depth"].mean())
                          if "tree_depth" in idata.sample_stats else float("nan")}), flush=True)


def _estimator_worker(model_name: str, warm: int) -> None:
    """The estimator functions with their defaults (sampler="auto"): cold, then warm fits."""
    import kzcausal as kz

    warnings.filterwarnings("ignore")
    for i in range(1 + warm):
        start = time.perf_counter()
        if model_name == "hierarchical":
            panel, _ = kz.simulate_panel(n_regions=20, elasticity=0.3, elasticity_sd=0.2, random_seed=3 + i)
            fit = kz.hierarchical_elasticity(panel, random_seed=1 + i, progress=False)
        elif model_name == "event_study":
            panel, _ = kz.simulate_panel(cohorts={2013: 4, 2016: 4}, effect=1.0, dynamic=0.3, random_seed=5 + i)
            fit = kz.bayesian_event_study(panel, "outcome", first_treated="first_treated", leads=4, lags=4, draws=1000,
                                          chains=2, random_seed=1 + i, progress=False)
        else:
            from kzcausal.datasets import load_kazakhstan, load_migration_flows

            flows = load_migration_flows(2021).select(years=[2015, 2020, 2021, 2023, 2024])
            fit = kz.bayesian_gravity(flows, load_kazakhstan(2021), draws=500, tune=500, chains=4,  # the report's
                                      random_seed=1 + i, progress=False)
        print(json.dumps({"fit": i, "seconds": time.perf_counter() - start, "divergences": fit.divergences,
                          "r_hat": float(fit.diagnostics["r_hat"].max()),
                          "ess": float(fit.diagnostics["ess_bulk"].min())}), flush=True)


# ------------------------------------------------------------------ the driver
def _run(args: list[str], env: dict) -> list[dict]:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env)
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    if not rows:
        print(f"   ({' '.join(args)} failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else '?'})")
    return rows


def _summary(rows: list[dict]) -> dict:
    warm = rows[1:] or rows
    return {"cold": rows[0]["seconds"], "ess_cold": rows[0]["ess"],
            "warm": statistics.median(r["seconds"] for r in warm),
            "ess": statistics.median(r["ess"] for r in warm), "r_hat": max(r["r_hat"] for r in rows),
            "divergences": sum(r["divergences"] for r in rows), "fits": len(rows),
            "steps": statistics.median(r.get("steps", float("nan")) for r in warm)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--samplers", default=",".join(SAMPLERS))
    parser.add_argument("--warm", type=int, default=3, help="warm fits per process (median reported)")
    parser.add_argument("--fresh-cache", action="store_true", help="empty PyTensor/numba disk caches (first run ever)")
    parser.add_argument("--sbc", action="store_true", help="also run simulation-based calibration")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--estimator", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        model, sampler, parametrization = args.worker
        return _worker(model, sampler, args.warm, parametrization)
    if args.estimator:
        return _estimator_worker(args.estimator, args.warm)

    env = dict(os.environ)
    if args.fresh_cache:
        cache = tempfile.mkdtemp(prefix="bench_bayes_")
        env["PYTENSOR_FLAGS"] = f"base_compiledir={cache}"
        env["NUMBA_CACHE_DIR"] = os.path.join(cache, "numba")
    asked = args.samplers.split(",")
    installed = [s for s in asked if all(importlib.util.find_spec(p) for p in NEEDS[s])]
    missing = [f"{s} ({', '.join(p for p in NEEDS[s] if not importlib.util.find_spec(p))})"
               for s in asked if s not in installed]
    print(f"{os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; samplers installed: "
          f"{', '.join(installed)}; not installed: {', '.join(missing) or 'none'}; warm = median of {args.warm} fits"
          + ("; empty disk caches" if args.fresh_cache else ""))
    for model in args.models.split(","):
        variants = ["collapsed", "original"] if model == "event_study" else \
            ["basis", "projected"] if model == "gravity" else ["-"]
        print(f"\n{model}: time to posterior (build, compile, sample), seconds")
        print(f"   {'sampler':34s} {'form':9s} {'cold':>6s} {'warm':>6s} {'ESS':>6s} {'ESS/s':>7s} {'vs pymc':>8s} "
              f"{'cold vs':>8s} {'r_hat':>6s} {'div':>4s} {'steps':>6s}")
        base = base_cold = None         # PyMC's default NUTS on the default parametrization, this run
        for variant in variants:
            for sampler in installed:
                if variant != variants[0] and sampler != "nutpie":
                    continue            # the earlier parametrization: with nutpie only (PyMC's NUTS takes minutes)
                # the slow ones (PyMC's NUTS takes minutes on the gravity model): one warm fit
                warm = args.warm if sampler in ("nutpie", "nutpie_stock") else min(args.warm, 1)
                rows = _run(["--worker", model, sampler, variant, "--warm", str(warm)], env)
                if not rows:
                    continue
                s = _summary(rows)
                rate, rate_cold = s["ess"] / s["warm"], s["ess_cold"] / s["cold"]
                if sampler == "pymc" and variant == variants[0]:
                    base, base_cold = rate, rate_cold
                ratio = f"{rate / base:7.1f}x" if base else "     n/a"
                ratio_cold = f"{rate_cold / base_cold:7.1f}x" if base_cold else "     n/a"
                print(f"   {LABELS[sampler]:34s} {variant:9s} {s['cold']:6.1f} {s['warm']:6.1f} {s['ess']:6.0f} "
                      f"{rate:7.0f} {ratio:>8s} {ratio_cold:>8s} {s['r_hat']:6.3f} {s['divergences']:4d} "
                      f"{s['steps']:6.1f}", flush=True)
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\nestimators with their defaults (sampler='auto'; predictive draws, log likelihood, diagnostics included;"
          "\n hierarchical 4 x 1,000, event study 2 x 1,000, gravity as in the report: 4 x 500 after 500)")
    for model in args.models.split(","):
        rows = _run(["--estimator", model, "--warm", str(args.warm)], env)
        if rows:
            s = _summary(rows)
            print(f"   {model:12s} cold {s['cold']:5.1f} s, warm {s['warm']:5.1f} s (median of {len(rows) - 1}); "
                  f"r_hat <= {s['r_hat']:.3f}, {s['divergences']} divergences in {s['fits']} fits, "
                  f"min bulk ESS {s['ess']:.0f}", flush=True)
    if args.sbc:
        import kzcausal as kz
        from kzcausal.bayes.sbc import simulation_based_calibration

        start = time.perf_counter()
        small, _ = kz.simulate_panel(n_regions=8, years=range(2015, 2023), cohorts={2018: 3}, elasticity_sd=0.2,
                                     random_seed=4)
        sbc = simulation_based_calibration(small, n_fits=100, draws=250, tune=300, thin=5, bins=10, random_seed=1,
                                           progress=False)
        print(f"\nsimulation-based calibration, 8 regions x 8 years (SIMULATED), {sbc.spec['sampler']}, "
              f"{time.perf_counter() - start:.0f} s")
        print(sbc.summary())


if __name__ == "__main__":
    main()
