"""Donor and recipient regions (after Argynbayeva 2025, paper 004) on the bundled data.

Run: .venv/bin/python examples/region_typology_paper_004.py
"""

import kzcausal as kz

panel = kz.load_kazakhstan()
print(panel.summary().split("\n\n")[0], "\n")

print("Donors and recipients, 2022 (paper 000: 13 regions below 1):")
roles = kz.classify_regions(panel, window=(2022, 2022))
print(roles[["region", "attractiveness", "role"]].to_string(index=False), "\n")

print("Whole window 2015-2022 (geometric mean of the published index), three clusters on")
print("attractiveness and GRP per capita (seeded k-means):")
clusters = kz.classify_regions(panel, window=(2015, 2022), n_clusters=3, features=["grp_per_capita"],
                               random_seed=2025)
print(clusters[["region", "attractiveness", "years_above_1", "role", "grp_per_capita", "cluster"]]
      .to_string(index=False, float_format=lambda x: f"{x:.3f}"))
