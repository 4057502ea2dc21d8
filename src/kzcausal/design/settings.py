"""Every estimator's options after validation, in one frozen object.

An estimator validates its arguments once, puts what a re-fit must repeat into a frozen
:class:`FitSettings` subclass, and fits its rows with ``_fit(rows, outcome, settings)``; the
result's ``refitter`` is that function with the settings bound, so randomization inference,
placebos and leave-one-out repeat exactly the original options. The result's ``spec`` is built
from :meth:`FitSettings.display` and is for display only: what checks and tables need is a typed
field of the result (``alpha``, ``ssc``, ``covariance``, ``cluster``, ``base_period``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["FitSettings"]


@dataclass(frozen=True)
class FitSettings:
    """Base of the estimators' settings (subclasses add their options as fields)."""

    def display(self) -> dict[str, object]:
        """The options as the result's ``spec`` shows them (tuples as lists; fields with ``repr=False`` left out)."""
        out = {}
        for spec in fields(self):
            if spec.repr:
                value = getattr(self, spec.name)
                out[spec.name] = list(value) if isinstance(value, tuple) else value
        return out
