"""Robustness toolkit: few-cluster inference, placebo in space, pre-trends."""

from .bacon import BaconResult, bacon_decomposition
from .refits import leave_one_out, placebo_in_time, placebo_outcome
from .pretrends import PretrendResult, pretrend_test
from .inference import BootstrapResult, RandomizationResult, randomization_inference, wild_cluster_bootstrap

__all__ = ["placebo_in_time", "placebo_outcome", "leave_one_out", "pretrend_test", "PretrendResult", "bacon_decomposition", "BaconResult", "randomization_inference", "wild_cluster_bootstrap", "RandomizationResult", "BootstrapResult"]
