"""Kazakhstan's regions: canonical names, aliases and boundary changes.

One canonical English name per region. Aliases cover the spellings printed in the
seed papers, Russian (BNS) names and Kazakh names in Cyrillic and Latin
transliteration. Boundary changes are the two reforms that matter for 2009-2025
panels: the 2018 split of South Kazakhstan and the 2022 creation of Abay, Zhetysu
and Ulytau regions.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "KAZAKHSTAN_REGIONS",
    "BOUNDARY_CHANGES",
    "BoundaryChange",
    "canonical_region",
    "closest_regions",
    "regions_at",
]

# canonical name -> (kind, aliases). "oblast" names also match with a generic suffix
# ("region", "oblast", "oblysy", "область", "облысы", "обл") added to each alias.
_REGIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Abay": ("oblast", ("Abay", "Abai", "Абай", "область Абай", "Абайская")),
    "Akmola": ("oblast", ("Akmola", "Aqmola", "Akmolinskaya", "Акмолинская", "Ақмола", "Акмола")),
    "Aktobe": ("oblast", ("Aktobe", "Aqtobe", "Aktyubinsk", "Aktyubinskaya", "Актюбинская",
                          "Ақтөбе", "Актобе")),
    "Almaty region": ("oblast", ("Almaty region", "Almaty", "Alma-Ata's", "Alma-Ata", "Almaty oblast",
                                 "Almatinskaya", "Алматинская", "Алматы облысы")),
    "Atyrau": ("oblast", ("Atyrau", "Atyrauskaya", "Атырауская", "Атырау")),
    "East Kazakhstan": ("oblast", ("East Kazakhstan", "East-Kazakhstan", "Eastern Kazakhstan",
                                   "East Kaz", "Shyghys Qazaqstan", "Shygys Kazakhstan", "Vostochno-Kazakhstanskaya",
                                   "Восточно-Казахстанская", "ВКО", "Шығыс Қазақстан")),
    "Karaganda": ("oblast", ("Karaganda", "Karagandy", "Qaraghandy", "Qaragandy", "Qaraganda", "Karagandinskaya",
                             "Карагандинская", "Қарағанды", "Караганды")),
    "Kostanay": ("oblast", ("Kostanay", "Kostanayskaya", "Qostanay", "Kustanai", "Kustanay",
                            "Костанайская", "Қостанай", "Костанай")),
    "Kyzylorda": ("oblast", ("Kyzylorda", "Kyzyl-Orda", "Qyzylorda", "Kzyl-Orda", "Kyzylordinskaya",
                             "Кызылординская", "Қызылорда", "Кызылорда")),
    "Mangystau": ("oblast", ("Mangystau", "Mangistau", "Mangyshlak", "Mangistauskaya",
                             "Мангистауская", "Маңғыстау", "Мангистау", "Мангыстау")),
    "North Kazakhstan": ("oblast", ("North Kazakhstan", "North-Kazakhstan", "Northern Kazakhstan", "North Kaz",
                                    "Soltustik Qazaqstan", "Soltustik Kazakhstan",
                                    "Severo-Kazakhstanskaya", "Северо-Казахстанская", "СКО",
                                    "Солтүстік Қазақстан")),
    "Pavlodar": ("oblast", ("Pavlodar", "Pavlodarskaya", "Павлодарская", "Павлодар")),
    "South Kazakhstan": ("oblast", ("South Kazakhstan", "South-Kazakhstan", "Southern Kazakhstan",
                                    "Ongtustik Qazaqstan", "Ontustik Kazakhstan",
                                    "Yuzhno-Kazakhstanskaya", "Южно-Казахстанская", "ЮКО",
                                    "Оңтүстік Қазақстан")),
    "Turkestan": ("oblast", ("Turkestan", "Turkistan", "Turkestanskaya", "Туркестанская",
                             "Түркістан", "Туркестан")),
    "Ulytau": ("oblast", ("Ulytau", "Ulytauskaya", "Ұлытау", "Улытау", "область Ұлытау",
                          "область Улытау")),
    "West Kazakhstan": ("oblast", ("West Kazakhstan", "West-Kazakhstan", "Western Kazakhstan", "West Kaz",
                                   "Batys Qazaqstan", "Batys Kazakhstan", "Zapadno-Kazakhstanskaya",
                                   "Западно-Казахстанская", "ЗКО", "Батыс Қазақстан")),
    "Zhambyl": ("oblast", ("Zhambyl", "Jambyl", "Zhambylskaya", "Dzhambul", "Zhambul",
                           "Жамбылская", "Жамбыл")),
    "Zhetysu": ("oblast", ("Zhetysu", "Jetisu", "Zhetisu", "Zhetysuskaya", "Жетісу", "Жетысу",
                           "область Жетісу", "область Жетысу")),
    "Almaty city": ("city", ("Almaty city", "City of Almaty", "Almaty qalasy", "Alma-Ata city",
                             "г. Алматы", "г.Алматы", "город Алматы", "Алматы", "Алматы қаласы")),
    "Astana city": ("city", ("Astana city", "Astana", "Nur-Sultan", "Nur-Sultan city", "City of Astana",
                             "Astana qalasy", "г. Астана", "г.Астана", "Астана", "Нур-Султан",
                             "г. Нур-Султан", "Нұр-Сұлтан", "Астана қаласы")),
    "Shymkent city": ("city", ("Shymkent city", "Shymkent", "Chimkent", "City of Shymkent",
                               "Shymkent qalasy", "г. Шымкент", "г.Шымкент", "Шымкент",
                               "Шымкент қаласы")),
}

_OBLAST_SUFFIXES = ("region", "oblast", "oblysy", "province", "obl", "область", "обл", "облысы")

KAZAKHSTAN_REGIONS: tuple[str, ...] = tuple(sorted(_REGIONS))


def _normalize(name: str) -> str:
    """Case-, punctuation- and spacing-insensitive key for matching names."""
    text = unicodedata.normalize("NFKC", str(name)).strip().lower().replace("ё", "е")  # NFD and full-width forms too
    text = re.sub(r"[\-–—'’`\".,()_/]", " ", text)
    return " ".join(text.split())


def _build_alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for canonical, (kind, aliases) in _REGIONS.items():
        for alias in (canonical, *aliases):
            keys = [_normalize(alias)]
            if kind == "oblast":
                keys += [f"{keys[0]} {suffix}" for suffix in _OBLAST_SUFFIXES]
            for key in keys:
                previous = index.setdefault(key, canonical)
                if previous != canonical:  # pragma: no cover - guards the table above
                    raise AssertionError(f"alias {alias!r} maps to {previous} and {canonical}")
    return index


_ALIAS_INDEX = _build_alias_index()


def canonical_region(name: object) -> str | None:
    """Canonical English name of a Kazakhstan region, or ``None`` when unknown.

    Examples
    --------
    >>> canonical_region("Jambyl"), canonical_region("г. Алматы"), canonical_region("Almaty")
    ('Zhambyl', 'Almaty city', 'Almaty region')
    """
    return _ALIAS_INDEX.get(_normalize(name))


def closest_regions(name: object, n: int = 3) -> list[str]:
    """Canonical names whose aliases are closest to ``name`` (for error messages)."""
    matches = difflib.get_close_matches(_normalize(name), list(_ALIAS_INDEX), n=10, cutoff=0.5)
    seen: list[str] = []
    for match in matches:
        canonical = _ALIAS_INDEX[match]
        if canonical not in seen:
            seen.append(canonical)
    return seen[:n]


@dataclass(frozen=True)
class BoundaryChange:
    """A region split: from ``year`` on, ``parent``'s former territory is ``parts``.

    ``parts`` lists every successor, including the parent itself where it keeps its
    name (East Kazakhstan after Abay was carved out of it).
    """

    year: int
    parent: str
    parts: tuple[str, ...]

    @property
    def new_units(self) -> tuple[str, ...]:
        """Successors that did not exist before the change."""
        return tuple(p for p in self.parts if p != self.parent)


BOUNDARY_CHANGES: tuple[BoundaryChange, ...] = (
    BoundaryChange(2018, "South Kazakhstan", ("Turkestan", "Shymkent city")),
    BoundaryChange(2022, "East Kazakhstan", ("East Kazakhstan", "Abay")),
    BoundaryChange(2022, "Almaty region", ("Almaty region", "Zhetysu")),
    BoundaryChange(2022, "Karaganda", ("Karaganda", "Ulytau")),
)


def check_boundaries(boundaries: object) -> int:
    """A year of region boundaries: a whole number between 1991 (independence) and 2100."""
    import numbers

    from ..errors import SpecificationError

    if isinstance(boundaries, bool) or not isinstance(boundaries, numbers.Integral) or not 1991 <= boundaries <= 2100:
        raise SpecificationError(f"boundaries={boundaries!r}; it is the year whose region boundaries to use, a whole "
                                 "number (e.g. 2021 for the 17 regions, 2022 for the 20). Fix: pass e.g. "
                                 "boundaries=2021.")
    return int(boundaries)


def regions_at(boundaries: int) -> tuple[str, ...]:
    """The regions that exist on the boundaries of year ``boundaries``.

    >>> len(regions_at(2017)), len(regions_at(2018)), len(regions_at(2022))
    (16, 17, 20)
    """
    units = set(KAZAKHSTAN_REGIONS)
    for change in BOUNDARY_CHANGES:
        if boundaries >= change.year:
            units.discard(change.parent)
            units.update(change.parts)
        else:
            units.difference_update(change.new_units)
            units.add(change.parent)
    return tuple(sorted(units))
