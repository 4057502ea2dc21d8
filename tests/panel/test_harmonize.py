"""Boundary harmonization: counts are summed, ratios recomputed, impossible splits refused."""

import numpy as np
import pandas as pd
import pytest

import kzcausal as kz
from kzcausal.errors import HarmonizationError, HarmonizationWarning, SpecificationError


def published_2022_layout():
    """2020-2021 on old boundaries (no Abay), 2022 with Abay split from East Kazakhstan."""
    return pd.DataFrame({
        "region": ["East Kazakhstan", "East Kazakhstan", "East Kazakhstan", "Abay", "Pavlodar", "Pavlodar", "Pavlodar"],
        "year": [2020, 2021, 2022, 2022, 2020, 2021, 2022],
        "arrivals": [10_000, 11_000, 6_000, 3_000, 8_000, 8_100, 8_200],
        "departures": [12_000, 12_500, 5_000, 2_000, 9_000, 9_100, 9_200],
        "population": [1.37e6, 1.36e6, 0.73e6, 0.61e6, 0.75e6, 0.75e6, 0.75e6],
        "grp": [4.6e6, 5.0e6, 3.5e6, 2.0e6, 3.0e6, 3.2e6, 3.4e6],
    })


def test_merge_sums_counts_and_recomputes_ratios():
    panel = kz.read_panel(published_2022_layout())
    with pytest.warns(HarmonizationWarning, match="moves between the merged regions"):
        merged = panel.harmonize(2021)
    assert merged.boundaries == 2021 and merged.regions == ["East Kazakhstan", "Pavlodar"]
    row = merged.to_frame().set_index(["region", "year"]).loc[("East Kazakhstan", 2022)]
    assert row["arrivals"] == 9_000 and row["departures"] == 7_000 and row["grp"] == 5.5e6
    assert row["attractiveness_index"] == pytest.approx(9 / 7, rel=1e-15)  # ratio of sums ...
    mean_of_ratios = (6_000 / 5_000 + 3_000 / 2_000) / 2
    assert abs(row["attractiveness_index"] - mean_of_ratios) > 0.05  # ... not the mean of ratios
    assert row["in_migration_rate"] == pytest.approx(1000 * 9_000 / 1.34e6, rel=1e-15)
    assert row["grp_per_capita"] == pytest.approx(5.5e6 / 1.34e6, rel=1e-15)
    # old-territory years and untouched regions are unchanged
    original = panel.to_frame().set_index(["region", "year"])
    harmonized = merged.to_frame().set_index(["region", "year"])
    pd.testing.assert_series_equal(harmonized.loc[("East Kazakhstan", 2021)], original.loc[("East Kazakhstan", 2021)])
    pd.testing.assert_frame_equal(harmonized.loc["Pavlodar"], original.loc["Pavlodar"])


def test_splitting_an_old_territory_is_refused():
    panel = kz.read_panel(published_2022_layout())
    with pytest.raises(HarmonizationError, match=r"East Kazakhstan in 2020 covers[\s\S]*boundaries=2021"):
        panel.harmonize(2022)
    later = kz.read_panel(published_2022_layout().query("year == 2022"))
    assert later.harmonize(2022).to_frame().equals(later.to_frame())


def test_incomplete_parts_are_refused():
    frame = published_2022_layout().query("region != 'East Kazakhstan' or year != 2022")
    with pytest.raises(HarmonizationError, match=r"2022: \['Abay'\] present but not all"):
        kz.read_panel(frame, allow_gaps=True).harmonize(2021)


def test_south_kazakhstan_split_2018():
    frame = pd.DataFrame({
        "region": ["South Kazakhstan", "Turkestan", "Shymkent city"] + ["Zhambyl"] * 2,
        "year": [2017, 2018, 2018, 2017, 2018],
        "population": [2.9e6, 1.98e6, 0.98e6, 1.11e6, 1.12e6],
        "grp": [3.4e6, 2.0e6, 2.3e6, 1.6e6, 1.8e6],
    })
    panel = kz.read_panel(frame, allow_gaps=True)
    to_2017 = panel.harmonize(2017).to_frame().set_index(["region", "year"])
    assert to_2017.loc[("South Kazakhstan", 2018), "grp"] == 4.3e6
    assert to_2017.loc[("South Kazakhstan", 2018), "population"] == 2.96e6
    with pytest.raises(HarmonizationError, match="South Kazakhstan in 2017"):
        panel.harmonize(2018)


def test_observed_ratios_become_missing_for_merged_units_with_a_warning():
    imp = kz.datasets.seed_imp_table()
    with pytest.warns(HarmonizationWarning, match=r"\['attractiveness_index'\] are neither counts"):
        merged = imp.harmonize(2017)
    values = merged["attractiveness_index"]
    assert values.loc["South Kazakhstan"].isna().all()
    assert values.loc[("Zhambyl", 2016)] == 0.72


def test_real_grp_harmonized_sums_to_the_national_total():
    """Independent check: BNS national GRP equals the sum of the 17 harmonized regions."""
    from importlib import resources

    raw = pd.read_csv(resources.files("kzcausal.datasets").joinpath("data", "bns_grp_by_region.csv"))
    national = raw[raw["bns_region_code"] == "national"].set_index("year")["grp_million_kzt"]
    panel = kz.load_kazakhstan(2021)
    total = panel.to_frame().groupby("year")["grp"].sum()
    assert len(panel.regions) == 17
    np.testing.assert_allclose(total, national.loc[total.index], rtol=2e-6)  # rounding in the source


def test_real_population_harmonized_sums_to_the_national_total():
    # National average population 2009-2014, BNS table 6576 (same source row 'national').
    national = pd.Series([16092762.5, 16321713.5, 16556948.5, 16791721.0, 17035009.5, 17287553.5],
                         index=range(2009, 2015))
    for boundaries in (2017, 2021, 2022):
        panel = kz.datasets.bns_population().harmonize(boundaries)
        total = panel.to_frame().groupby("year")["population"].sum()
        np.testing.assert_allclose(total.loc[national.index], national, rtol=1e-12)


def test_harmonize_needs_kazakhstan_names():
    panel, _ = kz.simulate_panel(random_seed=0)
    with pytest.raises(SpecificationError, match="regions=None"):
        panel.harmonize(2021)
