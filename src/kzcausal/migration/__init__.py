"""Migration flows between regions: gravity models and difference-in-differences on pairs."""

from .gravity import GravityResult, gravity_data, gravity_model
from .pairs import PairDIDResult, pair_did

__all__ = ["gravity_data", "gravity_model", "GravityResult", "pair_did", "PairDIDResult"]
