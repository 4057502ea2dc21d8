"""What a difference-in-differences compares: cohorts, controls, periods, anticipation.

The design is built and validated once; estimators consume it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import KzCausalWarning, SpecificationError, show_rows
from ..panel import RegionPanel
from .assignment import resolve_assignment
from .rows import estimation_rows

__all__ = ["DIDDesign", "cohort_share_weights", "check_control_group", "check_anticipation", "few_cluster_notes", "check_outcome_varies", "FEW_CLUSTERS"]

ControlGroup = Literal["never_treated", "not_yet_treated"]

#: Below this many clusters, cluster-robust errors are unreliable (Cameron, Gelbach & Miller 2008).
FEW_CLUSTERS = 10

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
        assignment = resolve_assignment(panel, first_treated=first_treated, estimator="DIDDesign")
        rows, notes = estimation_rows(panel, outcome, assignment)
        return cls.from_frame(rows, outcome, control_group=control_group, anticipation=anticipation, notes=notes)

    @staticmethod
    def panel_rows(panel: RegionPanel, outcome: str, first_treated: str | Mapping[str, float]) -> pd.DataFrame:
        """Estimation rows ``region, year, <outcome>, cohort`` (inf: never treated), validated (see
        :func:`kzcausal.design.estimation_rows`)."""
        assignment = resolve_assignment(panel, first_treated=first_treated, estimator="DIDDesign")
        return estimation_rows(panel, outcome, assignment)[0]

    @staticmethod
    def estimation_rows(data: pd.DataFrame) -> pd.DataFrame:
        """Rows in the design's layout (``first_treated``, NaN: never) back in the results' (``cohort``, inf)."""
        rows = data.rename(columns={"first_treated": "cohort"})
        rows["cohort"] = rows["cohort"].fillna(np.inf)
        return rows

    @classmethod
    def from_frame(cls, rows: pd.DataFrame, outcome: str, *, control_group: ControlGroup = "never_treated",
                   anticipation: int = 0, notes: tuple[str, ...] = (),
                   codes: tuple[np.ndarray, pd.Index] | None = None) -> DIDDesign:
        """The design of estimation rows ``region, year, <outcome>, cohort`` (NaN or inf: never treated), as
        :meth:`panel_rows` builds them; what :meth:`from_panel` and every re-fit use. ``data`` holds
        them sorted by region then year with ``first_treated`` (NaN: never) for ``cohort``.

        ``codes`` (each row's region code and the regions they index, :attr:`RegionPanel.region_codes`)
        says the rows come from a panel in its order, already sorted: they are then neither sorted nor
        their region names hashed again."""
        check_control_group(control_group)
        check_anticipation(anticipation)
        data = rows.rename(columns={"cohort": "first_treated"})
        if codes is None:
            data = data.sort_values(["region", "year"], kind="stable")
            codes, regions = pd.factorize(data["region"])
        else:
            codes, regions = codes
        first = data["first_treated"].to_numpy(float)
        if np.isinf(first).any():
            data = data.assign(first_treated=np.where(np.isinf(first), np.nan, first))
        # rows sorted by region: one run of codes per region; renumber them 0.. in order (a subset skips codes)
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else np.array([], int)
        regions = regions[codes[starts]]
        codes = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(codes)]))
        cohort_of = pd.Series(data["first_treated"].to_numpy(float)[starts], index=regions, name="first_treated")
        notes: list[str] = list(notes)
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
            warnings.warn(notes[-1], KzCausalWarning, stacklevel=3)
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
    @cached_property
    def years(self) -> list[int]:
        return sorted(int(y) for y in pd.unique(self.data["year"]))

    @cached_property
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


def check_control_group(control_group: object) -> str:
    """``"never_treated"`` or ``"not_yet_treated"``."""
    if control_group not in ("never_treated", "not_yet_treated"):
        raise SpecificationError(f"control_group={control_group!r}. Fix: use 'never_treated' or 'not_yet_treated'.")
    return str(control_group)


def check_anticipation(anticipation: object) -> int:
    """Years of anticipation: a whole number >= 0 (a bool or a fraction is refused)."""
    if isinstance(anticipation, bool) or not isinstance(anticipation, (int, np.integer)) or anticipation < 0:
        raise SpecificationError(f"anticipation={anticipation!r}; it must be a whole number of years >= 0 (0: no "
                                 "anticipation). Fix: pass e.g. anticipation=1.")
    return int(anticipation)


def check_outcome_varies(values: np.ndarray, outcome: str) -> None:
    """A constant outcome has no effect to estimate: raise instead of returning 0 with a zero standard error."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return
    spread, size = float(np.ptp(finite)), float(np.abs(finite).max())
    if spread <= 1e-12 * size or spread == 0:
        raise SpecificationError(f"outcome {outcome!r} is the same ({finite[0]:.6g}) in every row used, so there is "
                                 "no variation to estimate an effect from. Fix: check the column (a typo, a filled-in "
                                 "default, or the wrong variable).")
    if spread < 1e-100 or size > 1e100:  # squares and cross-products would underflow or overflow in float64
        raise SpecificationError(f"outcome {outcome!r} ranges over {spread:.3g} with values up to {size:.3g}: at this "
                                 "scale the squared residuals of the standard errors underflow or overflow in floating "
                                 "point. Fix: rescale the outcome (e.g. divide it by 10 to the power of its order of "
                                 "magnitude) and scale the effect back.")


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


def cohort_share_weights(row_cell: np.ndarray, cells: list, times: list[int]) -> np.ndarray:
    """Rows: event times; columns: cohort x event-time cells; weight = share of the cell's
    observations among treated observations at that event time (Sun & Abraham 2021)."""
    counts = np.bincount(row_cell[row_cell >= 0], minlength=len(cells)).astype(float)
    weights = np.zeros((len(times), len(cells)))
    for row, e in enumerate(times):
        columns = [j for j, (_, f) in enumerate(cells) if f == e]
        weights[row, columns] = counts[columns] / counts[columns].sum()
    return weights
