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

from ..errors import KzCausalWarning, PanelError, SpecificationError, show_rows
from ..panel import RegionPanel, canonical_region

__all__ = ["DIDDesign", "resolve_regions", "few_cluster_notes", "check_outcome_varies", "FEW_CLUSTERS"]

ControlGroup = Literal["never_treated", "not_yet_treated"]

#: Below this many clusters, cluster-robust errors are unreliable (Cameron, Gelbach & Miller 2008).
FEW_CLUSTERS = 10

NAMED_GROUPS = {"serpin_receiving": "receiving", "serpin_sending": "sending"}


def resolve_regions(panel: RegionPanel, treated: str | Iterable[str]) -> list[str]:
    """Region names from a list or a named group (``"serpin_receiving"``, ``"serpin_sending"``)."""
    if isinstance(treated, str):
        if treated not in NAMED_GROUPS:
            raise SpecificationError(f"treated={treated!r}: pass a list of regions or one of {list(NAMED_GROUPS)}.")
        from ..datasets import serpin_regions

        table = serpin_regions()
        names = table.loc[table["role"] == NAMED_GROUPS[treated], "region"].tolist()
    else:
        names = [str(n) for n in treated]
        if panel.regions_scheme == "kazakhstan":
            names = [canonical_region(n) or n for n in names]
    absent = [n for n in names if n not in panel.regions]
    if absent:
        raise SpecificationError(f"treated regions {absent} are not in the panel; its regions: {panel.regions}.")
    if not names:
        raise SpecificationError("treated: no regions given.")
    return names


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
        if anticipation < 0:
            raise SpecificationError(f"anticipation={anticipation}; it must be >= 0.")
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
            raise SpecificationError(f"outcome {outcome!r} is missing in every row; nothing to estimate.")
        check_outcome_varies(data[outcome].to_numpy(float)[keep], outcome)
        first_year = int(data["year"].to_numpy()[keep].min())
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
            raise SpecificationError("no treated cohort with a pre-period remains; nothing to estimate.")
        if control_group == "never_treated" and not design.never_treated:
            raise SpecificationError("control_group='never_treated' but every region is treated eventually. "
                                     "Fix: use control_group='not_yet_treated'.")
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
            raise PanelError(f"column {first_treated!r} changes within region(s) {bad[:5]}; it must be one "
                             f"first treated year per region:\n{show_rows(rows)}\n"
                             "Fix: give each region a single first treated year (NaN or 0 if never treated).")
        return pd.Series(per_region, index=regions, name="first_treated")
    names = {(canonical_region(k) if panel.regions_scheme == "kazakhstan" else None) or k: v
             for k, v in first_treated.items()}
    unknown = [k for k in names if k not in set(regions)]
    if unknown:
        raise SpecificationError(f"first_treated names regions not in the panel: {unknown}.")
    values = [float(names[r]) if r in names and names[r] is not None and np.isfinite(names[r]) and names[r] != 0
              else np.nan for r in regions]
    return pd.Series(values, index=regions, name="first_treated")


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
