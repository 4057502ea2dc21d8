"""Robustness toolkit: few-cluster inference, placebo in space, pre-trends."""

from .bacon import BaconResult, bacon_decomposition
from .inference import BootstrapResult, RandomizationResult, randomization_inference, wild_cluster_bootstrap

__all__ = ["bacon_decomposition", "BaconResult", "randomization_inference", "wild_cluster_bootstrap", "RandomizationResult", "BootstrapResult"]
