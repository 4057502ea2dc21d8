import pytest

from kzcausal.panel.regions import (
    BOUNDARY_CHANGES,
    KAZAKHSTAN_REGIONS,
    canonical_region,
    closest_regions,
    regions_at,
)


@pytest.mark.parametrize(
    ("printed", "canonical"),
    [
        # spellings printed in the seed papers
        ("Kostanayskaya", "Kostanay"),
        ("West-Kazakhstan", "West Kazakhstan"),
        ("Alma-Ata's", "Almaty region"),
        ("Jambyl", "Zhambyl"),
        ("Mangistau", "Mangystau"),
        ("Almaty", "Almaty region"),
        ("Almaty city", "Almaty city"),
        ("Astana city", "Astana city"),
        ("North-Kazakhstan", "North Kazakhstan"),
        # Russian (BNS) names
        ("Жамбылская область", "Zhambyl"),
        ("г. Алматы", "Almaty city"),
        ("г.Астана", "Astana city"),
        ("Восточно-Казахстанская область", "East Kazakhstan"),
        ("Южно-Казахстанская обл.", "South Kazakhstan"),
        ("Нур-Султан", "Astana city"),
        # Kazakh and transliterations
        ("Aqmola", "Akmola"),
        ("Qaraghandy", "Karaganda"),
        ("Shyghys Qazaqstan", "East Kazakhstan"),
        ("Қарағанды облысы", "Karaganda"),
        ("Zhetisu", "Zhetysu"),
        ("Ұлытау", "Ulytau"),
        ("Abai region", "Abay"),
        ("South Kazakhstan", "South Kazakhstan"),
        ("  kostanay   REGION ", "Kostanay"),
    ],
)
def test_aliases_map_to_one_canonical_name(printed, canonical):
    assert canonical_region(printed) == canonical


def test_unknown_names_are_none_and_get_suggestions():
    assert canonical_region("Atlantis") is None
    assert closest_regions("Zhambil")[0] == "Zhambyl"
    assert closest_regions("Karagandaa")[0] == "Karaganda"


def test_region_counts_by_boundary_year():
    assert len(KAZAKHSTAN_REGIONS) == 21  # 20 current regions + South Kazakhstan (until 2018)
    assert len(regions_at(2017)) == 16
    assert len(regions_at(2018)) == len(regions_at(2021)) == 17
    assert len(regions_at(2022)) == 20
    assert "South Kazakhstan" in regions_at(2017) and "Shymkent city" not in regions_at(2017)
    assert {"Abay", "Zhetysu", "Ulytau"} <= set(regions_at(2022))
    assert not {"Abay", "Zhetysu", "Ulytau"} & set(regions_at(2021))


def test_boundary_changes_are_the_known_reforms():
    assert {(c.year, c.parent, c.parts) for c in BOUNDARY_CHANGES} == {
        (2018, "South Kazakhstan", ("Turkestan", "Shymkent city")),
        (2022, "East Kazakhstan", ("East Kazakhstan", "Abay")),
        (2022, "Almaty region", ("Almaty region", "Zhetysu")),
        (2022, "Karaganda", ("Karaganda", "Ulytau")),
    }
