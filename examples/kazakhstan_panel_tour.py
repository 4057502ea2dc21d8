"""A tour of the panel layer: the real data, a table as printed in a paper, boundaries, xarray.

Run: .venv/bin/python examples/kazakhstan_panel_tour.py
"""

import io

import kzcausal as kz

# 1. The real panel: BNS GRP and population on the papers' 17-region boundaries.
panel = kz.load_kazakhstan()
print(panel)
print(panel.dropped.groupby("reason").size().to_string(), "\n")

# 2. A table exactly as printed in paper 000 (decimal commas, '-' for missing, wide layout).
printed = io.StringIO("Regions\t2021\t2022\nKostanayskaya\t0,94\t0,94\nShymkent city\t1,1\t-\nAlmaty\t0,97\t1,02\n")
path = "table_as_printed.tsv"
with open(path, "w", encoding="utf-8") as handle:
    handle.write(printed.getvalue())
imp = kz.read_panel(path, region="Regions", value="attractiveness_index")
print(imp.to_frame(), "\n")

# 3. Boundaries: GRP as BNS publishes it (20 regions from 2021) merged back to 17 regions.
grp = kz.datasets.bns_grp()
merged = grp.to_frame().query("year >= 2011")
print(kz.read_panel(merged).harmonize(2021).to_frame().query("year == 2021 and region == 'East Kazakhstan'"), "\n")

# 4. Labeled arrays.
ds = panel.to_xarray()
print(ds["grp_per_capita"].sel(year=2024).to_series().sort_values(ascending=False).head(), "\n")

# 5. Simulated data are always labelled.
sim, truth = kz.simulate_panel(random_seed=1)
print(sim.summary().splitlines()[0])
print(truth.event_study.loc[-2:3])
