"""Errors and warnings raised by kzcausal.

Every error names the column, shows up to five offending rows and says the fix,
so that a user reading only the message knows what to change.
"""

from __future__ import annotations

import numbers
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
    "check_alpha",
    "check_count",
    "check_flag",
    "check_seed",
    "check_names",
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


# ---------------------------------------------------------------------------- argument checks
# Validate once at the public boundary: each names the argument, the value given and what to pass instead.

def check_alpha(alpha: object, name: str = "alpha") -> float:
    """A significance level strictly between 0 and 1 (a bool or a string is not a number here)."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < float(alpha) < 1:
        raise SpecificationError(f"{name}={alpha!r}; use a level between 0 and 1 (exclusive; a number, not a string "
                                 f"or a bool). Fix: pass e.g. {name}=0.05.")
    return float(alpha)


def check_count(value: object, name: str, *, minimum: int = 1, cap: int | None = None, unit_cost: str = "",
                fix: str = "") -> int:
    """A whole number >= ``minimum`` (bools and floats refused), and at most ``cap`` when one is given.

    ``unit_cost`` says what one unit costs (e.g. "one re-fit of the model") for the message of a refusal
    above the cap, so that the user sees the estimate of the work and the cap to use.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SpecificationError(f"{name}={value!r}; it must be a whole number (int) >= {minimum}. "
                                 f"Fix: pass e.g. {name}={max(minimum, 1)}{fix and '; ' + fix}.")
    value = int(value)
    if value < minimum:
        raise SpecificationError(f"{name}={value}; it must be at least {minimum}. Fix: pass {name}>={minimum}"
                                 f"{fix and '; ' + fix}.")
    if cap is not None and value > cap:
        cost = f" ({value:,} x {unit_cost})" if unit_cost else ""
        raise SpecificationError(f"{name}={value:,} is more work or memory than this machine can do in reasonable "
                                 f"time{cost}; the cap is {cap:,}. Fix: use {name}<={cap:,}"
                                 f"{fix and '; ' + fix}.")
    return value


def check_flag(value: object, name: str) -> bool:
    """A True/False switch: a string such as "no" or a number is refused rather than read as truthy."""
    if not isinstance(value, bool) and not (hasattr(value, "dtype") and getattr(value, "dtype", None) == bool):
        raise SpecificationError(f"{name}={value!r}; it must be True or False. Fix: pass {name}=True or "
                                 f"{name}=False.")
    return bool(value)


def check_seed(seed: object, name: str = "random_seed") -> int | None:
    """A random seed: None or a non-negative whole number."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise SpecificationError(f"{name}={seed!r}; it must be None or a non-negative whole number. "
                                 f"Fix: pass e.g. {name}=0.")
    return int(seed)


def check_names(value: object, name: str, *, allow_empty: bool = False) -> list[str]:
    """A list of column or region names: one string is taken as a list of one, anything else that is not
    an iterable of strings (a number, None, a dict) is refused, and so are duplicates."""
    if isinstance(value, str):
        return [value]
    if value is None and allow_empty:
        return []
    if value is None or isinstance(value, (bytes, dict, numbers.Number)) or not isinstance(value, Iterable):
        raise SpecificationError(f"{name}={value!r} is not a list of names. Fix: give a list of names (strings), "
                                 f"e.g. {name}=['...'].")
    names = list(value)
    wrong = [v for v in names if not isinstance(v, str)]
    if wrong:
        raise SpecificationError(f"{name}: {wrong[:5]} are not names (strings). Fix: give a list of names, "
                                 f"e.g. {name}=['...'].")
    seen: set[str] = set()
    repeated = [v for v in names if v in seen or seen.add(v)]
    if repeated:
        raise SpecificationError(f"{name} names {sorted(set(repeated))} more than once. Fix: list each once.")
    if not names and not allow_empty:
        raise SpecificationError(f"{name} is empty. Fix: name at least one.")
    return names
