"""Where do Kazakhstan's internal migrants go, and why: real BNS flows, gravity models, Serpin-2050 on flows.

Real data only: BNS interregional origin -> destination flows (2010, 2015, 2020-2025; 2022 left
out as unreliable), BNS GRP and population, distances between regional centres (GeoNames).

Run: .venv/bin/python examples/migration_gravity.py [--fast]
(--fast: fewer posterior draws for the Bayesian gravity model)
"""

import sys
import warnings

import kzcausal as kz
from kzcausal.migration import gravity_model, pair_did

fast = "--fast" in sys.argv
warnings.simplefilter("ignore", kz.errors.HarmonizationWarning)  # moves within merged regions are removed, as listed

# --- the flows, on the seed papers' 17 regions
flows = kz.load_migration_flows(boundaries=2021)
print(flows.summary(), "\n")
totals = flows.region_totals().to_frame().query("year == 2024").set_index("region")
print("2024, from the flows:")
print(totals[["arrivals", "departures", "net_migration", "attractiveness_index"]]
      .sort_values("net_migration").round(3).to_string(), "\n")

# --- paper 000's printed index is not arrivals / departures of these flows
panel = kz.load_kazakhstan(boundaries=2021, migration=True)
both = panel.to_frame().dropna(subset=["attractiveness_index_published"])
gap = (both["attractiveness_index_published"] - both["attractiveness_index"]).abs()
print(f"paper 000's IMP vs arrivals/departures of BNS flows: {int((gap <= 0.02).sum())} of {len(gap)} region-years "
      f"within 0.02, mean |difference| {gap.mean():.3f}\n")

# --- gravity: PPML with year effects, with region effects, and the structural form
grp = kz.load_kazakhstan(boundaries=2021)
recent = flows.select(years=[2015, 2020, 2021, 2023, 2024])
models = {fe: gravity_model(recent, grp, fixed_effects=fe, cluster="origin+destination")
          for fe in ("year", "origin+destination+year", "origin-year+destination-year")}
print(kz.regression_table(models, stars=True), "\n")

# --- Serpin-2050 on flows: sending -> receiving pairs vs all other pairs, 2010 vs 2015-2024
serpin = kz.datasets.serpin_regions()
sending = serpin.query("role == 'sending'")["region"].tolist()
receiving = serpin.query("role == 'receiving'")["region"].tolist()
before_after = flows.select(years=[2010, 2015, 2020, 2021, 2023, 2024])
for method in ("ppml", "ols"):
    fit = pair_did(before_after, sending, receiving, post_from=2014, method=method)
    print(fit.summary())
    print(fit.by_year.round(3).to_string())
    print(kz.randomization_inference(fit, draws=99_999, random_seed=1, progress=False).summary(), "\n")
