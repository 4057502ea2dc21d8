"""Benchmark: the hierarchical elasticity model on a simulated 20-region x 15-year panel.

Run:  .venv/bin/python benchmarks/bench_bayes.py [--no-sbc]
(optional samplers: pip install -e ".[nutpie]" / ".[numpyro]"; the ones installed are timed)

1. Time to posterior (model build, compilation and sampling of 4 chains x 1,000 draws after
   1,000 tuning steps; predictive draws and log likelihood not included) and ESS_bulk per second
   of mu_beta and tau_beta, for each available NUTS implementation against PyMC's default,
   printed side by side. Sampling time without compilation is printed too (nutpie compiles once
   per model; repeated fits such as SBC pay it once). Target: <= 10 s to posterior and >= 3x the
   default's ESS/s with the fastest sampler.
2. Simulation-based calibration (Talts et al. 2018): 100 fits from the prior, ranks of mu_beta
   and tau_beta among 100 thinned posterior draws, chi-square p-values over 10 bins.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import warnings

warnings.filterwarnings("ignore")


def main() -> None:
    import arviz as az
    import pymc as pm

    import kzcausal as kz
    from kzcausal.bayes.hierarchical import _build_model, _design, _priors, quiet_pymc
    from kzcausal.bayes.sbc import simulation_based_calibration

    panel, truth = kz.simulate_panel(n_regions=20, elasticity=0.3, elasticity_sd=0.2, random_seed=3)
    samplers = ["pymc"] + [s for s in ("nutpie", "numpyro") if importlib.util.find_spec(s)]
    print("1. hierarchical log-log elasticities, 20 regions x 15 years (SIMULATED), 4 chains x 1,000 draws")
    print(f"   {'sampler':8s} {'to posterior':>13s} {'sampling only':>14s} {'ESS mu':>8s} {'ESS tau':>8s} "
          f"{'ESS/s mu':>9s} {'ESS/s tau':>10s} {'vs pymc':>8s}")
    base = None
    for sampler in samplers:
        start = time.perf_counter()
        model = _build_model(_design(panel, "grp", "attractiveness_index", "log-log", None), "region_trend",
                             "normal", _priors(None))
        with model, quiet_pymc(True):
            if sampler == "nutpie":
                import nutpie

                compiled = nutpie.compile_pymc_model(model)
                sampling = time.perf_counter()
                idata = nutpie.sample(compiled, draws=1000, tune=1000, chains=4, seed=1, progress_bar=False)
            else:
                sampling = time.perf_counter()
                kwargs = {"nuts_sampler": sampler} if sampler != "pymc" else {"cores": 2}
                idata = pm.sample(draws=1000, tune=1000, chains=4, random_seed=1, progressbar=False,
                                  compute_convergence_checks=False, **kwargs)
        end = time.perf_counter()
        total = end - start
        ess = az.ess(idata, var_names=["mu_beta", "tau_beta"])
        rate = float(min(ess["mu_beta"], ess["tau_beta"])) / total
        base = base or rate
        print(f"   {sampler:8s} {total:12.1f}s {end - sampling:13.1f}s {float(ess['mu_beta']):8.0f} "
              f"{float(ess['tau_beta']):8.0f} {float(ess['mu_beta']) / total:9.0f} "
              f"{float(ess['tau_beta']) / total:10.0f} {rate / base:7.1f}x")
    print("   (vs pymc: ratio of the smaller of the two ESS/s, compilation included)")

    if "--no-sbc" in sys.argv:
        return
    sampler = "nutpie" if "nutpie" in samplers else "pymc"
    start = time.perf_counter()
    small, _ = kz.simulate_panel(n_regions=8, years=range(2015, 2023), cohorts={2018: 3}, elasticity_sd=0.2,
                                 random_seed=4)
    sbc = simulation_based_calibration(small, n_fits=100, draws=250, tune=300, thin=5, bins=10, sampler=sampler,
                                       random_seed=1, progress=False)
    print(f"\n2. simulation-based calibration, 8 regions x 8 years, {sampler}, {time.perf_counter() - start:.0f} s")
    print(sbc.summary())


if __name__ == "__main__":
    main()
