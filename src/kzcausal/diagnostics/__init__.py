"""Robustness toolkit: few-cluster inference, placebo checks, pre-trends, Bacon decomposition, design power."""

from .bacon import BaconResult, bacon_decomposition
from .honest import HonestResult, honest_sensitivity
from .inference import BootstrapResult, RandomizationResult, randomization_inference, wild_cluster_bootstrap
from .power import ErrorProcess, PowerResult, estimate_error_process, power_analysis
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
    "power_analysis",
    "PowerResult",
    "ErrorProcess",
    "estimate_error_process",
    "RandomizationResult",
    "BootstrapResult",
    "PretrendResult",
    "BaconResult",
]
