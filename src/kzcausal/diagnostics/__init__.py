"""Robustness toolkit: few-cluster inference, placebo in space, pre-trends."""

from .bacon import BaconResult, bacon_decomposition
from .pretrends import PretrendResult, pretrend_test
from .inference import BootstrapResult, RandomizationResult, randomization_inference, wild_cluster_bootstrap

__all__ = ["pretrend_test", "PretrendResult", "bacon_decomposition", "BaconResult", "randomization_inference", "wild_cluster_bootstrap", "RandomizationResult", "BootstrapResult"]
