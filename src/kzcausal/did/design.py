"""What a difference-in-differences compares: cohorts, controls, periods, anticipation.

The design is built and validated once; estimators consume it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import KzCausalWarning, PanelError, SpecificationError, check_names, show_rows
from ..panel import RegionPanel, canonical_region

__all__ = ["DIDDesign", "resolve_regions", "check_panel", "check_anticipation", "few_cluster_notes",
           "check_outcome_varies", "FEW_CLUSTERS"]

ControlGroup = Literal["never_treated", "not_yet_treated"]

#: Below this many clusters, cluster-robust errors are unreliable (Cameron, Gelbach & Miller 2008).
FEW_CLUSTERS = 10

NAMED_GROUPS = {"serpin_receiving": "receiving", "serpin_sending": "sending"}


def resolve_regions(panel: RegionPanel, treated: str | Iterable[str]) -> list[str]:
    """Region names from a list or a named group (``"serpin_receiving"``, ``"serpin_sending"``)."""
    check_panel(panel)
    if isinstance(treated, str):
        if treated not in NAMED_GROUPS:
            hint = (f" To treat the one region {treated!r}, pass treated=[{treated!r}]."
                    if treated in panel.regions else "")
            raise SpecificationError(f"treated={treated!r}: pass a list of regions or one of {list(NAMED_GROUPS)}."
                                     + hint)
        from ..datasets import serpin_regions

        table = serpin_regions()
        names = table.loc[table["role"] == NAMED_GROUPS[treated], "region"].tolist()
    else:
        names = check_names(treated, "treated")
        if panel.regions_scheme == "kazakhstan":
            names = [canonical_region(n) or n for n in names]
    absent = [n for n in names if n not in panel.regions]
    if absent:
        raise SpecificationError(f"treated regions {absent} are not in the panel; its regions: {panel.regions}. "
                                 "Fix: use names from that list.")
    return names


def check_panel(panel: object, name: str = "panel") -> None:
    """Estimators take a :class:`RegionPanel`; a DataFrame (or anything else) is refused with the way to build one."""
    if not isinstance(panel, RegionPanel):
        raise SpecificationError(f"{name} is a {type(panel).__name__}, not a RegionPanel. Fix: build one with "
                                 f"kz.read_panel(table, region='<region column>', year='<year column>').")


@dataclass(frozen=True, eq=False)
class DIDDesign:
    """Cohorts (first treated year by region), the control group, periods and anticipation.

    Build it with :meth:`from_panel`. ``data`` holds the rows used, sorted by region and
    year: ``region, year, <outcome>, first_treated`` (NaN for never-treated regions),
    indexed by their row in the panel.
    ``region_cohorts`` maps each region to its first treated year.
    """

    data: pd.DataFrame
    outcome: str
    control_group: ControlGroup
    anticipation: int
    region_cohorts: pd.Series
    excluded: tuple[str, ...]
    notes: tuple[str, ...]

    @classmethod
    def from_panel(
        cls,
        panel: RegionPanel,
        outcome: str,
        first_treated: str | Mapping[str, float],
        *,
        control_group: ControlGroup = "never_treated",
        anticipation: int = 0,
    ) -> DIDDesign:
        """Validate a staggered design on ``panel``.

        Parameters
        ----------
        first_treated
            A panel variable holding each region's first treated year (constant within a
            region; NaN or 0 for never treated), or a mapping region -> year.
        """
        return cls.from_frame(cls.panel_rows(panel, outcome, first_treated), outcome, control_group=control_group,
                              anticipation=anticipation)

    @staticmethod
    def panel_rows(panel: RegionPanel, outcome: str, first_treated: str | Mapping[str, float]) -> pd.DataFrame:
        """Estimation rows ``region, year, <outcome>, cohort`` (inf: never treated) for every panel row, validated."""
        panel.require(outcome, role="outcome")
        frame = panel._data  # read only: the panel is immutable and sorted by region, year
        codes, regions = pd.factorize(frame["region"])
        cohort_of = _first_treated_by_region(panel, frame, codes, regions, first_treated)
        return pd.DataFrame({"region": frame["region"], "year": frame["year"], outcome: frame[outcome],
                             "cohort": cohort_of.fillna(np.inf).to_numpy()[codes]})

    @staticmethod
    def estimation_rows(data: pd.DataFrame) -> pd.DataFrame:
        """Rows in the design's layout (``first_treated``, NaN: never) back in the results' (``cohort``, inf)."""
        rows = data.rename(columns={"first_treated": "cohort"})
        rows["cohort"] = rows["cohort"].fillna(np.inf)
        return rows

    @classmethod
    def from_frame(cls, rows: pd.DataFrame, outcome: str, *, control_group: ControlGroup = "never_treated",
                   anticipation: int = 0) -> DIDDesign:
        """The design of estimation rows ``region, year, <outcome>, cohort`` (NaN or inf: never treated), as
        :meth:`panel_rows` builds them; what :meth:`from_panel` and every re-fit use. ``data`` holds
        them sorted by region then year with ``first_treated`` (NaN: never) for ``cohort``."""
        if control_group not in ("never_treated", "not_yet_treated"):
            raise SpecificationError(f"control_group={control_group!r}; use 'never_treated' or 'not_yet_treated'.")
        check_anticipation(anticipation)
        data = rows.rename(columns={"cohort": "first_treated"}).sort_values(["region", "year"], kind="stable")
        first = data["first_treated"].to_numpy(float)
        if np.isinf(first).any():
            data = data.assign(first_treated=np.where(np.isinf(first), np.nan, first))
        codes, regions = pd.factorize(data["region"])
        cohort_of = pd.Series(data["first_treated"].to_numpy(float)[np.unique(codes, return_index=True)[1]],
                              index=regions, name="first_treated")
        notes: list[str] = []
        keep = ~data[outcome].isna().to_numpy()
        if not keep.all():
            rows = data.loc[~keep, ["region", "year", "first_treated"]]
            treated_rows = int(rows["first_treated"].notna().sum())
            message = (f"outcome {outcome!r} missing in {int((~keep).sum())} row(s) ({treated_rows} of treated "
                       f"regions); those rows are left out:\n{show_rows(rows)}")
            warnings.warn(message, KzCausalWarning, stacklevel=3)
            notes.append(message.split(":\n")[0])
        if not keep.any():
            raise SpecificationError(f"outcome {outcome!r} is missing in every row; nothing to estimate. Fix: check "
                                     "the column (the wrong variable, or values that could not be read).")
        check_outcome_varies(data[outcome].to_numpy(float)[keep], outcome)
        first_year = int(data["year"].to_numpy()[keep].min())
        last_year = int(data["year"].to_numpy()[keep].max())
        late = cohort_of[cohort_of - anticipation > last_year]
        if len(late):
            note = (f"first_treated: {len(late)} region(s) are first treated after the last year with data "
                    f"({last_year}), so they are untreated in every row here: "
                    f"{[f'{r}: {g:g}' for r, g in late.head(10).items()]}")
            warnings.warn(note + ". If that year is a typo, correct first_treated.", KzCausalWarning, stacklevel=3)
            notes.append(note)
        indicator = set(cohort_of.dropna().unique()) == {1.0}
        cohort_of_all = cohort_of
        early_regions = (cohort_of - anticipation <= first_year).to_numpy()
        early = sorted(regions[early_regions])
        if early:
            notes.append(f"excluded {len(early)} region(s) treated in the first period ({first_year}) or before, "
                         f"which have no pre-period: {early}")
            keep &= ~early_regions[codes]
        if not keep.all():
            data = data.loc[keep]
            cohort_of = cohort_of[np.bincount(codes[keep], minlength=len(regions)) > 0]
        design = cls(data=data, outcome=outcome, control_group=control_group,
                     anticipation=anticipation, region_cohorts=cohort_of, excluded=tuple(early), notes=tuple(notes))
        if not design.cohorts:
            shown = [f"{r}: {cohort_of_all[r]:g}" for r in early[:10]]
            excluded = f" (treated in or before the first year {first_year}: {shown})" if early else ""
            if indicator:
                excluded += ("; first_treated holds 0/1, a treatment indicator, not first treated years (pass the "
                             "column of years, or use kz.twfe for a 0/1 treatment)")
            raise SpecificationError(f"no treated cohort with a pre-period remains{excluded}; nothing to estimate. "
                                     "Fix: check first_treated (years inside the panel, after its first year) and "
                                     "anticipation.")
        if control_group == "never_treated" and not design.never_treated:
            raise SpecificationError("control_group='never_treated' but every region is treated eventually. "
                                     "Fix: use control_group='not_yet_treated'.")
        if not design.never_treated and len(design.cohorts) == 1:
            raise SpecificationError(f"every region is treated, all from {design.cohorts[0]} (control_group="
                                     f"{control_group!r}): from then on no region is untreated, so there is no "
                                     "comparison. Fix: add never-treated regions or regions that adopt later.")
        return design

    # ------------------------------------------------------------------ views
    @property
    def years(self) -> list[int]:
        return sorted(int(y) for y in pd.unique(self.data["year"]))

    @property
    def cohorts(self) -> list[int]:
        return sorted(int(g) for g in self.region_cohorts.dropna().unique())

    @property
    def never_treated(self) -> list[str]:
        return self.region_cohorts.index[self.region_cohorts.isna()].tolist()

    @property
    def n_regions(self) -> int:
        return len(self.region_cohorts)

    def describe(self) -> str:
        """What will be compared, one line per cohort."""
        cohorts = self.region_cohorts
        years = self.years
        lines = []
        for g in self.cohorts:
            size = int((cohorts == g).sum())
            pre = sum(1 for y in years if y < g - self.anticipation)
            post = sum(1 for y in years if y >= g)
            controls = (f"{len(self.never_treated)} never-treated regions" if self.control_group == "never_treated"
                        else f"never-treated and not-yet-treated regions ({len(self.never_treated)} never treated)")
            lines.append(f"cohort {g}: {size} region{'s' if size != 1 else ''} vs {controls}, "
                         f"{pre} pre-periods, {post} post-periods")
        if self.anticipation:
            lines.append(f"anticipation: {self.anticipation} year(s) before adoption are treated as post")
        lines += list(self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<DIDDesign {self.outcome!r}: cohorts {self.cohorts}, {self.n_regions} regions>\n{self.describe()}"

    def cluster_warnings(self) -> list[str]:
        """Caveats about inference with few clusters or treated regions."""
        return few_cluster_notes(self.n_regions, int(self.region_cohorts.notna().sum()))


def check_anticipation(anticipation: object) -> int:
    """Years of anticipation: a whole number >= 0 (a bool or a fraction is refused)."""
    if isinstance(anticipation, bool) or not isinstance(anticipation, (int, np.integer)) or anticipation < 0:
        raise SpecificationError(f"anticipation={anticipation!r}; it must be a whole number of years >= 0 (0: no "
                                 "anticipation). Fix: pass e.g. anticipation=1.")
    return int(anticipation)


def check_outcome_varies(values: np.ndarray, outcome: str) -> None:
    """A constant outcome has no effect to estimate: raise instead of returning 0 with a zero standard error."""
    finite = values[np.isfinite(values)]
    if len(finite) and np.ptp(finite) <= 1e-12 * max(1.0, float(np.abs(finite).max())):
        raise SpecificationError(f"outcome {outcome!r} is the same ({finite[0]:.6g}) in every row used, so there is "
                                 "no variation to estimate an effect from. Fix: check the column (a typo, a filled-in "
                                 "default, or the wrong variable).")


def few_cluster_notes(n_clusters: int, n_treated: int, *, clustered: bool = True) -> list[str]:
    """The caveats every DID result carries when regions (clusters) or treated regions are few."""
    notes = []
    if clustered and n_clusters < FEW_CLUSTERS:
        notes.append(f"only {n_clusters} clusters (regions): cluster-robust errors are unreliable; "
                     "use the wild cluster bootstrap or randomization inference")
    if n_treated == 1:
        notes.append("a single treated region: cluster-robust and OLS errors are unreliable; use randomization "
                     "inference")
    return notes


def _first_treated_by_region(panel: RegionPanel, frame: pd.DataFrame, codes: np.ndarray, regions: pd.Index,
                             first_treated: str | Mapping[str, float]) -> pd.Series:
    """Region -> first treated year (NaN: never), checking it is constant within each region."""
    if isinstance(first_treated, str):
        panel.require(first_treated, role="first_treated column")
        values = frame[first_treated].to_numpy(float).copy()
        values[values == 0] = np.nan
        first_rows = np.unique(codes, return_index=True)[1]
        per_region = values[first_rows]
        expected = per_region[codes]
        varying = ~((values == expected) | (np.isnan(values) & np.isnan(expected)))
        if varying.any():
            bad = list(pd.unique(frame["region"].to_numpy()[varying]))
            rows = frame.loc[frame["region"].isin(bad), ["region", "year", first_treated]]
            indicator = np.isin(values[np.isfinite(values)], (0.0, 1.0)).all()
            raise PanelError(f"column {first_treated!r} changes within region(s) {bad[:5]}; it must be one "
                             f"first treated year per region:\n{show_rows(rows)}\n"
                             + ("It holds 0/1: a treatment indicator, not first treated years. Fix: pass the column "
                                "of first treated years as first_treated (or use kz.twfe with the 0/1 treatment)."
                                if indicator else
                                "Fix: give each region a single first treated year (NaN or 0 if never treated)."))
        return _whole_years(pd.Series(per_region, index=regions, name="first_treated"), first_treated)
    if not isinstance(first_treated, Mapping):
        raise SpecificationError(f"first_treated is a {type(first_treated).__name__}; give the name of a panel "
                                 "column holding each region's first treated year, or a mapping region -> year, e.g. "
                                 "first_treated={'Region A': 2014}.")
    names = {(canonical_region(k) if panel.regions_scheme == "kazakhstan" and isinstance(k, str) else None) or k: v
             for k, v in first_treated.items()}
    unknown = [k for k in names if k not in set(regions)]
    if unknown:
        raise SpecificationError(f"first_treated names regions not in the panel: {unknown}. Fix: use names from its "
                                 f"regions: {list(regions)}.")
    wrong = {k: v for k, v in names.items() if v is not None and (
        isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)))}
    if wrong:
        raise SpecificationError(f"first_treated: these years are not numbers:\n"
                                 f"{show_rows(f'{k}: {v!r}' for k, v in wrong.items())}\n"
                                 " Fix: give each region a year as a number (NaN, None or 0: never "
                                 "treated).")
    values = [float(names[r]) if r in names and names[r] is not None and np.isfinite(names[r]) and names[r] != 0
              else np.nan for r in regions]
    return _whole_years(pd.Series(values, index=regions, name="first_treated"), "first_treated")


def _whole_years(per_region: pd.Series, source: str) -> pd.Series:
    """Refuse fractional first treated years (2014.5 would silently match no year of the panel)."""
    values = per_region.to_numpy(float)
    fractional = np.isfinite(values) & (values != np.round(values))
    if fractional.any():
        raise SpecificationError(f"{source}: first treated years must be whole years; these are not: "
                                 f"{show_rows(f'{r}: {g}' for r, g in per_region[fractional].items())}\n"
                                 "Fix: round them to the first year of treatment.")
    return per_region


def check_absorbing(frame: pd.DataFrame, treatment: str) -> None:
    """Raise if a 0/1 treatment switches off after switching on (staggered DID needs absorbing adoption)."""
    values = frame[treatment]
    bad_values = frame.loc[~values.isin([0, 1]), ["region", "year", treatment]]
    if len(bad_values):
        raise PanelError(f"treatment column {treatment!r} must be 0/1:\n{show_rows(bad_values)}")
    ordered = frame.sort_values(["region", "year"])
    switched_off = ordered.groupby("region")[treatment].diff() < 0
    regions = ordered.loc[switched_off, "region"].unique().tolist()
    if regions:
        rows = ordered.loc[ordered["region"].isin(regions), ["region", "year", treatment]]
        raise PanelError(f"treatment {treatment!r} switches off (1 then 0) in region(s) {regions}: adoption must be "
                         f"absorbing:\n{show_rows(rows[rows[treatment] == 0])}\n"
                         "Fix: correct the treatment coding, or study the switching design separately.")
