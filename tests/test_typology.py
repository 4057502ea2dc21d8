
import numpy as np
import pandas as pd
import pytest

import kzcausal as kz
from kzcausal.errors import SpecificationError


def test_donors_and_recipients_on_the_seed_table():
    table = kz.classify_regions(kz.datasets.seed_imp_table(), window=(2022, 2022))
    assert (table["role"] == "donor").sum() == 13
    assert set(table.loc[table["role"] == "recipient", "region"]) == {
        "Astana city", "Almaty city", "Shymkent city", "Almaty region"}
    whole = kz.classify_regions(kz.datasets.seed_imp_table())
    zhambyl = whole.set_index("region").loc["Zhambyl"]
    values = [0.89, 0.72, 0.8, 0.87, 0.89, 0.89, 0.89, 0.89]
    assert zhambyl["attractiveness"] == pytest.approx(np.exp(np.mean(np.log(values))), rel=1e-12)
    assert whole.set_index("region").loc["Shymkent city", "years_observed"] == 6


def test_with_counts_the_ratio_of_sums_is_used():
    panel, _ = kz.simulate_panel(random_seed=1)
    table = kz.classify_regions(panel, window=(2010, 2012)).set_index("region")
    frame = panel.to_frame().query("2010 <= year <= 2012").groupby("region")[["arrivals", "departures"]].sum()
    np.testing.assert_allclose(table["attractiveness"], (frame["arrivals"] / frame["departures"]).loc[table.index])
    assert (table["method"] == "sum(arrivals) / sum(departures)").all()


def test_two_clusters_match_the_optimal_one_dimensional_split():
    """For k=2 in one dimension the k-means optimum is a threshold split: brute force it."""
    table = kz.classify_regions(kz.datasets.seed_imp_table(), n_clusters=2, random_seed=3)
    x = np.sort(table["attractiveness"].to_numpy())[::-1]
    inertia = [((x[:i] - x[:i].mean()) ** 2).sum() + ((x[i:] - x[i:].mean()) ** 2).sum() for i in range(1, len(x))]
    best = int(np.argmin(inertia)) + 1
    assert (table["cluster"] == 1).sum() == best
    assert table.loc[table["cluster"] == 1, "attractiveness"].min() > table.loc[table["cluster"] == 2,
                                                                                "attractiveness"].max()


def test_clusters_are_reproducible_with_a_seed():
    panel = kz.load_kazakhstan()
    a = kz.classify_regions(panel, window=(2015, 2022), n_clusters=3, features=["grp_per_capita"], random_seed=7)
    b = kz.classify_regions(panel, window=(2015, 2022), n_clusters=3, features=["grp_per_capita"], random_seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert set(a["cluster"]) == {1, 2, 3}


def test_bad_requests():
    imp = kz.datasets.seed_imp_table()
    with pytest.raises(SpecificationError, match="no years"):
        kz.classify_regions(imp, window=(1990, 1995))
    with pytest.raises(SpecificationError, match="n_clusters"):
        kz.classify_regions(imp, n_clusters=40)
    with pytest.raises(SpecificationError, match="missing features"):
        kz.classify_regions(imp, n_clusters=3, features=["attractiveness_index"], window=(2015, 2016))
    with pytest.raises(SpecificationError, match="neither"):
        kz.classify_regions(kz.datasets.bns_grp())
