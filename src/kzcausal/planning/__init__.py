"""Planning a study before estimating it: simulated power and minimum detectable effects on the
user's own region x year layout (it runs estimators and checks, so it sits above both)."""

from .power import ErrorProcess, PowerResult, estimate_error_process, power_analysis

__all__ = ["power_analysis", "estimate_error_process", "ErrorProcess", "PowerResult"]
