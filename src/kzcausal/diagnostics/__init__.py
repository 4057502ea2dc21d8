"""Robustness toolkit: few-cluster inference, placebo checks, pre-trends, HonestDiD, Bacon decomposition.

Design power moved to :mod:`kzcausal.planning` (it plans a study; it is not a check of a result).
"""

from .bacon import BaconResult, bacon_decomposition
from .honest import HonestResult, honest_sensitivity
from .inference import BootstrapResult, RandomizationResult, randomization_inference, wild_cluster_bootstrap
from .pretrends import PretrendResult, pretrend_test
from .refits import leave_one_out, placebo_in_time, placebo_outcome

__all__ = [
    "randomization_inference",
    "wild_cluster_bootstrap",
    "pretrend_test",
    "honest_sensitivity",
    "HonestResult",
    "bacon_decomposition",
    "placebo_in_time",
    "placebo_outcome",
    "leave_one_out",
    "RandomizationResult",
    "BootstrapResult",
    "PretrendResult",
    "BaconResult",
]


_MOVED = {"power_analysis", "PowerResult", "ErrorProcess", "estimate_error_process"}


def __getattr__(name: str):
    """``kz.diagnostics.power_analysis`` and friends: deprecated aliases of :mod:`kzcausal.planning` for one
    release (imported by name on first use, so this package does not depend on the planning layer)."""
    if name in _MOVED:
        import importlib
        import warnings

        warnings.warn(f"kzcausal.diagnostics.{name} moved to kzcausal.planning.{name} (kz.{name} for the function); "
                      "the old place will be removed in the next release.", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module("kzcausal.planning"), name)
    raise AttributeError(f"module 'kzcausal.diagnostics' has no attribute {name!r}")
