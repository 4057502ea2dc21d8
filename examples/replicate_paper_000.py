"""Paper 000 (Bokayev & Akhmetova 2024): the attractiveness index, the Zhambyl and Almaty factor
models, then the GRP-attractiveness elasticity for all 17 regions with partial pooling.

All data are real: GRP by region from the Bureau of National Statistics (current prices, million
KZT) and the migration attractiveness index IMP = arrivals / departures from the paper's Table 3
(2015-2022). Figures are written to the working directory.

Run: .venv/bin/python examples/replicate_paper_000.py [--fast]
(--fast: fewer posterior draws; under a minute on two cores)
"""

import sys
import time
import warnings

import matplotlib
import numpy as np

matplotlib.use("Agg")

import kzcausal as kz  # noqa: E402

fast = "--fast" in sys.argv
warnings.simplefilter("ignore", kz.errors.KzCausalWarning)           # the 2011-2014 and 2023-2025 rows without IMP
started = time.perf_counter()
panel = kz.load_kazakhstan()

# --- 1. the index (paper 000, Table 3)
imp = panel["attractiveness_index"].unstack("year").loc[:, 2015:2022]
print("Migration attractiveness index (arrivals / departures), paper 000 Table 3:")
print(imp.round(2).to_string(), "\n")

# --- 2. the published factor models, refitted on real BNS GRP (trillion tenge, t = 1 in 2015)
printed = kz.datasets.seed000_factor_models().set_index("region")
for region, form in [("Zhambyl", "linear"), ("Almaty region", "power")]:
    fit = kz.factor_model(panel, region, form, scale=1e6)
    print(fit.summary())
    row = printed.loc[region]
    print(f"  paper: coefficients ({row['intercept_or_scale']}, {row['imp_coef']}, {row['t_coef']}), "
          f"R^2 {row['r2']}, elasticity {row['elasticity_reported']}")
    change = fit.counterfactual(2022) * 1000                         # trillion -> billion tenge
    print(f"  +1% IMP in 2022: {change['model']:+.1f} bn tenge implied by the refitted model, "
          f"{change['at_mean_elasticity']:+.1f} bn by the paper's arithmetic (elasticity x 1% x GRP)\n")
    fit.plot().figure.savefig(f"factor_model_{region.replace(' ', '_').lower()}.png", dpi=110)

# --- 3. every region at once: hierarchical log-log elasticities with region trends
draws = dict(draws=300, tune=300, chains=2) if fast else dict(draws=1000, tune=1000, chains=4)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", kz.errors.ConvergenceWarning)     # reported below instead
    loglog = kz.hierarchical_elasticity(panel, form="log-log", random_seed=2024, progress=False, **draws)
print(loglog.summary(), "\n")
if not loglog.converged:
    print("! with --fast the sampler's diagnostics are not all met; run without --fast before citing numbers\n")
ax = loglog.plot()
ax.figure.savefig("elasticity_forest.png", dpi=110, bbox_inches="tight")

# --- 4. the paper's counterfactual with uncertainty: GRP change from +1% IMP in 2022, billion tenge
change = loglog.counterfactual(2022) / 1000
for region in ("Zhambyl", "Almaty region"):
    d = change.sel(region=region).values.ravel()
    print(f"{region}: +1% IMP in 2022 -> posterior mean {d.mean():+.1f} bn tenge, 90% interval "
          f"[{np.quantile(d, 0.05):+.1f}, {np.quantile(d, 0.95):+.1f}]")
print()

# --- 5. model comparison by PSIS-LOO: functional form and likelihood
if not fast:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kz.errors.ConvergenceWarning)
        linear = kz.hierarchical_elasticity(panel, form="linear", random_seed=2024, progress=False, **draws)
        robust = kz.hierarchical_elasticity(panel, form="log-log", likelihood="student_t", random_seed=2024,
                                            progress=False, **draws)
        years = kz.hierarchical_elasticity(panel, form="log-log", time="year_effects", random_seed=2024,
                                           progress=False, **draws)
    comparison = kz.compare_models([loglog, linear, robust, years])
    print("Model comparison (PSIS-LOO, log score on the GRP scale):")
    print(comparison[["rank", "elpd_loo", "p_loo", "elpd_diff", "dse", "weight", "max_pareto_k"]].round(2)
          .to_string(), "\n")
print(f"done in {time.perf_counter() - started:.0f} s; figures: factor_model_*.png, elasticity_forest.png")
