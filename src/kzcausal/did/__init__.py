"""Difference-in-differences: paper 002's 2x2, two-way fixed effects, staggered designs."""

from ..results import EstimationResult, EventStudyResult
from .classic import did_2x2, twfe
from ..design import DIDDesign
from .event_study import event_study
from .imputation import imputation_did, two_stage_did
from .synthetic import SyntheticControlResult, SyntheticDIDResult, synthetic_control, synthetic_did
from .staggered import AttgtResult, staggered_did

__all__ = ["did_2x2", "twfe", "staggered_did", "event_study", "imputation_did", "two_stage_did", "synthetic_did",
           "synthetic_control", "SyntheticDIDResult", "SyntheticControlResult", "DIDDesign", "EstimationResult",
           "AttgtResult", "EventStudyResult"]
