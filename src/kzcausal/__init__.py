"""kzcausal: causal and Bayesian analysis of regional panel data.

Built first for Kazakhstan's internal-migration research, usable for any country's
regions: validated region x year panels, difference-in-differences with honest
few-cluster inference, and hierarchical Bayesian elasticities.
"""

from . import bayes, datasets, design, diagnostics, planning, report
from .bayes import bayesian_event_study, bayesian_gravity, compare_models, factor_model, hierarchical_elasticity
from .datasets import SimulationTruth, load_kazakhstan, load_migration_flows, simulate_panel
from .diagnostics import (
    bacon_decomposition,
    honest_sensitivity,
    leave_one_out,
    placebo_in_time,
    placebo_outcome,
    pretrend_test,
    randomization_inference,
    wild_cluster_bootstrap,
)
from .did import (
    DIDDesign,
    did_2x2,
    event_study,
    imputation_did,
    staggered_did,
    synthetic_control,
    synthetic_did,
    twfe,
    two_stage_did,
)
from .migration import gravity_data, gravity_model, pair_did
from .planning import power_analysis
from .errors import (
    ConvergenceWarning,
    DataFileError,
    DataQualityWarning,
    HarmonizationError,
    HarmonizationWarning,
    KzCausalError,
    PanelError,
    ParallelError,
    RegionNameError,
    SpecificationError,
)
from .parallel import config
from .panel import FlowTable, RegionPanel, read_flows, read_panel
from .report import build_report, regression_table
from .results import CheckResult, EstimationResult, EventStudyResult
from .typology import classify_regions

__version__ = "0.1.0"

__all__ = [
    "RegionPanel",
    "read_panel",
    "FlowTable",
    "read_flows",
    "load_kazakhstan",
    "load_migration_flows",
    "simulate_panel",
    "SimulationTruth",
    "classify_regions",
    "DIDDesign",
    "EstimationResult",
    "EventStudyResult",
    "CheckResult",
    "did_2x2",
    "twfe",
    "staggered_did",
    "event_study",
    "imputation_did",
    "two_stage_did",
    "synthetic_did",
    "synthetic_control",
    "gravity_data",
    "gravity_model",
    "pair_did",
    "randomization_inference",
    "wild_cluster_bootstrap",
    "pretrend_test",
    "honest_sensitivity",
    "bacon_decomposition",
    "placebo_in_time",
    "placebo_outcome",
    "leave_one_out",
    "power_analysis",
    "factor_model",
    "hierarchical_elasticity",
    "compare_models",
    "bayesian_event_study",
    "bayesian_gravity",
    "regression_table",
    "build_report",
    "bayes",
    "report",
    "datasets",
    "diagnostics",
    "design",
    "planning",
    "KzCausalError",
    "DataFileError",
    "PanelError",
    "RegionNameError",
    "HarmonizationError",
    "SpecificationError",
    "ParallelError",
    "config",
    "HarmonizationWarning",
    "ConvergenceWarning",
    "DataQualityWarning",
]
