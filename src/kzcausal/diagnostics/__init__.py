"""Robustness toolkit: few-cluster inference, placebo in space, pre-trends."""

from .inference import BootstrapResult, RandomizationResult, randomization_inference, wild_cluster_bootstrap

__all__ = ["randomization_inference", "wild_cluster_bootstrap", "RandomizationResult", "BootstrapResult"]
