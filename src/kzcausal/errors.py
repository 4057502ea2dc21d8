"""Errors and warnings raised by kzcausal.

Every error names the column, shows up to five offending rows and says the fix,
so that a user reading only the message knows what to change.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

__all__ = [
    "KzCausalError",
    "DataFileError",
    "PanelError",
    "RegionNameError",
    "HarmonizationError",
    "SpecificationError",
    "KzCausalWarning",
    "HarmonizationWarning",
    "DroppedRowsWarning",
    "DataQualityWarning",
    "ConvergenceWarning",
    "DegenerateEstimateWarning",
]

MAX_SHOWN = 5


class KzCausalError(Exception):
    """Base class of every error kzcausal raises on purpose."""


class DataFileError(KzCausalError):
    """A file that does not exist, cannot be read, or is not a table."""


class PanelError(KzCausalError, ValueError):
    """A table that cannot become a valid region x year panel."""


class RegionNameError(PanelError):
    """A region name that matches no known region (or two names for one region)."""


class HarmonizationError(PanelError):
    """A request for region boundaries that the data cannot support."""


class SpecificationError(KzCausalError, ValueError):
    """A model or indicator request that does not fit the data."""


class ParallelError(KzCausalError, RuntimeError):
    """The parallel backend (Dask) cannot run the work: client closed or unreachable, workers dying."""


class KzCausalWarning(UserWarning):
    """Base class of kzcausal warnings."""


class HarmonizationWarning(KzCausalWarning):
    """Boundary harmonization that is not exact (for example, merged migration flows)."""


class DroppedRowsWarning(KzCausalWarning):
    """Rows removed on the user's request; the panel's ``dropped`` table lists them."""


class DataQualityWarning(KzCausalWarning):
    """Data kept on request although their source is known to be unreliable or incomplete."""


class ConvergenceWarning(KzCausalWarning):
    """A sampler or optimiser whose diagnostics say the result may be wrong."""


class DegenerateEstimateWarning(KzCausalWarning):
    """An estimate whose standard error is zero or undefined: no inference is possible from it."""


def show_rows(rows: pd.DataFrame | Iterable, limit: int = MAX_SHOWN) -> str:
    """Format up to ``limit`` offending rows for an error message, with the total count."""
    if isinstance(rows, pd.DataFrame):
        total = len(rows)
        body = rows.head(limit).to_string()
    else:
        items = list(rows)
        total = len(items)
        body = "\n".join(f"  {item}" for item in items[:limit])
    more = f"\n  ... and {total - limit} more" if total > limit else ""
    return f"{body}{more}"
