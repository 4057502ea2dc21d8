"""Bundled data: shapes, published numbers and provenance."""

import numpy as np
import pytest

import kzcausal as kz
from kzcausal.panel.regions import regions_at


def test_seed_imp_table_has_17_regions_8_years_134_values():
    panel = kz.datasets.seed_imp_table()
    assert len(panel.regions) == 17 and set(panel.regions) == set(regions_at(2021))
    assert panel.years == list(range(2015, 2023)) and len(panel) == 136
    assert panel["attractiveness_index"].notna().sum() == 134
    assert panel["attractiveness_index"].loc[("Astana city", 2016)] == 1.53
    assert "Table 3" in panel.sources[0]


def test_paper_000_says_13_regions_below_one_in_2022():
    imp = kz.datasets.seed_imp_table()["attractiveness_index"].xs(2022, level="year")
    assert (imp < 1).sum() == 13


def test_small_seed_tables():
    social = kz.datasets.social_attractiveness_2019()
    assert len(social) == 17 and social["region"].notna().all()
    assert social.set_index("region").loc["Zhambyl", "points"] == 5.45
    serpin = kz.datasets.serpin_regions()
    assert sorted(serpin.loc[serpin["role"] == "receiving", "region"]) == [
        "Akmola", "East Kazakhstan", "Karaganda", "Kostanay", "North Kazakhstan", "Pavlodar"]
    assert sorted(serpin.loc[serpin["role"] == "sending", "region"]) == [
        "Almaty region", "Kyzylorda", "Mangystau", "Turkestan", "Zhambyl"]
    did = kz.datasets.seed002_did_tables()
    assert did.query("table == 2 and term == 'Program x Post'")["coef"].item() == 0.79
    models = kz.datasets.seed000_factor_models().set_index("region")
    assert models.loc["Zhambyl", "imp_coef"] == -0.426 and models.loc["Almaty region", "elasticity_reported"] == 0.456


def test_bns_grp_as_published():
    grp = kz.datasets.bns_grp()
    assert grp.years == list(range(2010, 2026))
    assert set(grp.dropped["reason"].str.split(",").str[0]) == {"national total", "South Kazakhstan overlaps Turkestan + Shymkent city (BNS back-cast the split to 2011)"}
    assert grp["grp"].loc[("Akmola", 2015)] == 1121025.0
    frame = grp.to_frame()
    assert set(frame.loc[frame["year"] == 2020, "region"]) == set(regions_at(2021))
    assert set(frame.loc[frame["year"] == 2021, "region"]) == set(regions_at(2022))


def test_load_kazakhstan_is_the_17_region_real_panel():
    panel = kz.load_kazakhstan()
    assert panel.boundaries == 2021 and len(panel.regions) == 17 and panel.years == list(range(2011, 2026))
    assert not panel.simulated
    assert {"grp", "population", "grp_per_capita", "attractiveness_index"} <= set(panel.variables)
    assert panel["attractiveness_index"].notna().sum() == 134
    assert len(panel.sources) == 3 and all("BNS" in s or "Table 3" in s for s in panel.sources)
    frame = panel.to_frame()
    np.testing.assert_allclose(frame["grp_per_capita"], frame["grp"] / frame["population"], rtol=1e-15)
    # East Kazakhstan 2021 on 2021 boundaries includes Abay (BNS publishes them apart from 2021)
    raw = kz.datasets.bns_grp()["grp"]
    assert panel["grp"].loc[("East Kazakhstan", 2021)] == pytest.approx(
        raw.loc[("East Kazakhstan", 2021)] + raw.loc[("Abay", 2021)], rel=1e-15)


@pytest.mark.parametrize(("boundaries", "n_regions", "first_year"), [(2017, 16, 2010), (2022, 20, 2021)])
def test_load_kazakhstan_other_boundaries(boundaries, n_regions, first_year):
    panel = kz.load_kazakhstan(boundaries)
    assert len(panel.regions) == n_regions and panel.years[0] == first_year
    assert "attractiveness_index" not in panel.variables


def test_every_bundled_file_is_documented():
    from importlib import resources

    folder = resources.files("kzcausal.datasets")
    readme = folder.joinpath("README.md").read_text(encoding="utf-8")
    files = [f.name for f in folder.joinpath("data").iterdir() if f.name.endswith(".csv")]
    assert len(files) == 9
    for name in files:
        section = readme.split(f"`{name}`", 1)
        assert len(section) == 2, f"{name} is not documented in datasets/README.md"
        text = section[1].split("\n### ", 1)[0].lower()
        assert "source" in text and "unit" in text and "licen" in text, name
