"""Bayesian models: paper 000's factor models, hierarchical elasticities, a Bayesian event study, a
hierarchical gravity model of migration flows."""

from .event_study import BayesianEventStudyResult, bayesian_event_study
from .factor import FactorModelResult, factor_model
from .gravity import BayesianGravityResult, bayesian_gravity, compare_gravity
from .sbc import SBCResult, simulation_based_calibration
from .hierarchical import (
    DEFAULT_PRIORS,
    ElasticityResult,
    compare_models,
    convergence_diagnostics,
    hierarchical_elasticity,
    prior_sensitivity,
)

__all__ = ["factor_model", "FactorModelResult", "hierarchical_elasticity", "ElasticityResult", "compare_models",
           "prior_sensitivity", "convergence_diagnostics", "DEFAULT_PRIORS", "bayesian_event_study",
           "BayesianEventStudyResult", "simulation_based_calibration", "SBCResult", "bayesian_gravity",
           "BayesianGravityResult", "compare_gravity"]
