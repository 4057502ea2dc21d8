"""Pre-trends: the joint Wald test of the leads and its power against linear trends (Roth 2022)."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..results import CheckResult, EventStudyResult, no_sampling_error
from ..errors import SpecificationError, check_alpha, check_count, check_seed

__all__ = ["pretrend_test", "PretrendResult"]


@dataclass(frozen=True, eq=False)
class PretrendResult(CheckResult):
    """Joint test that every pre-period coefficient is zero, and what the test can detect.

    ``power`` has one row per target power: the linear pre-trend ``slope`` (per year,
    zero at the reference period) that the Wald test detects with that probability,
    and for each post-period event time the bias such a trend leaves in the estimate,
    unconditionally (``bias``) and among samples that pass the pre-test
    (``bias_if_passed``, by simulation).
    """

    wald: float = np.nan
    df: int = 0
    p_value: float = np.nan
    alpha: float = 0.05
    leads: list[int] = field(default_factory=list)
    power: pd.DataFrame = field(default=None, repr=False)
    event_study: EventStudyResult | None = field(default=None, repr=False)

    def plot(self, ax=None):
        """The event study with the linear trends the test detects with 50% / 80% power overlaid."""
        ax = self.event_study.plot(ax=ax)
        times = np.array(self.event_study.event_times + [self.event_study.reference])
        times.sort()
        for (target, part), style in zip(self.power.groupby("power"), ("--", ":")):
            slope = part["slope"].iloc[0]
            ax.plot(times, slope * (times - self.event_study.reference), style, color="C3",
                    label=f"trend detected with {target:.0%} power")
        ax.set_title(f"{self.method}: p = {self.p_value:.3f}", fontsize="small")
        ax.legend(fontsize="small")
        return ax

    def summary(self) -> str:
        verdict = "rejects" if self.p_value < self.alpha else "does not reject"
        lines = [f"{self.method}: W = {self.wald:.3f} on {self.df} leads {self.leads}, p = {self.p_value:.4f} "
                 f"({verdict} parallel pre-trends at {self.alpha:.0%})", "",
                 "Linear pre-trends this test detects (Roth 2022), and the bias they leave after adoption:",
                 self.power.to_string(index=False, float_format=lambda x: f"{x:.4f}")]
        if self.p_value >= self.alpha:
            lines += ["", "Passing the test does not rule out these trends; see honest sensitivity analysis."]
        return "\n".join(lines)



#: The most simulated event studies for the power calculation (memory: n_sim x event times x 8 bytes, x3).
MAX_SIM = 2_000_000


def pretrend_test(
    event_study: EventStudyResult,
    *,
    alpha: float = 0.05,
    power: tuple[float, ...] = (0.5, 0.8),
    n_sim: int = 20_000,
    random_seed: int | None = 0,
) -> PretrendResult:
    """Joint Wald test of the pre-period event-study coefficients, with pre-test power.

    ``W = b' V^-1 b`` over the leads (event times before the reference period), compared
    with chi-square(k). The slope of a linear violation ``delta(e) = slope * (e - reference)``
    that the test detects with probability ``power`` solves the noncentral chi-square
    power equation; the bias it leaves in post-period estimates is ``delta(e)``
    unconditionally, and is simulated (seeded) conditional on passing the test.

    References
    ----------
    Roth, J. (2022). Pretest with caution: event-study estimates after testing for
    parallel trends. American Economic Review: Insights 4(3), 305-322.
    """
    if not isinstance(event_study, EventStudyResult):
        raise SpecificationError(f"pretrend_test takes an event-study result; got {type(event_study).__name__}. "
                                 "Fix: pass what kz.event_study (or kz.imputation_did, kz.bayesian_event_study) "
                                 "returns.")
    check_alpha(alpha)
    check_count(n_sim, "n_sim", minimum=100, cap=MAX_SIM, unit_cost="one simulated event study",
                fix="20000 (the default) is plenty")
    check_seed(random_seed)
    if isinstance(power, (str, bytes)) or not isinstance(power, Iterable):
        raise SpecificationError(f"power={power!r}; give a tuple of probabilities, e.g. power=(0.5, 0.8).")
    power = tuple(power)
    wrong = [p for p in power if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 < p < 1]
    if wrong or not power:
        raise SpecificationError(f"power={power!r}: {wrong or 'empty'}; each must be a probability strictly between 0 "
                                 "and 1. Fix: pass e.g. power=(0.5, 0.8).")
    times = np.array(event_study.event_times)
    reference = event_study.reference if event_study.reference is not None else -1
    leads = times < reference
    if not leads.any():
        raise SpecificationError(f"the event study has 0 pre-period coefficients before the reference period "
                                 f"(e = {reference}); event times: {times.tolist()}. A pre-trend test needs "
                                 "at least one lead: widen the window (leads=...).")
    b = event_study.table["estimate"].to_numpy()
    cov = event_study.vcov.to_numpy()
    pre = np.flatnonzero(leads)
    v_pre = cov[np.ix_(pre, pre)]
    if not np.isfinite(v_pre).all() or no_sampling_error(b[pre], np.sqrt(np.clip(np.diag(v_pre), 0, None))).all():
        raise SpecificationError(f"the pre-period coefficients of {event_study.method} have no sampling variance "
                                 "(zero or undefined standard errors: the outcome is fitted exactly, e.g. constant "
                                 "within regions or a 0/1 column), so a pre-trend test has nothing to test. Fix: check "
                                 "the outcome.")
    v_inv = np.linalg.pinv(v_pre)
    wald = float(b[pre] @ v_inv @ b[pre])
    k = len(pre)
    critical = stats.chi2.ppf(1 - alpha, k)
    slope_unit = times[pre] - reference
    noncentrality_per_slope2 = float(slope_unit @ v_inv @ slope_unit)
    post = np.flatnonzero(times >= 0)
    rng = np.random.default_rng(random_seed)
    noise = rng.multivariate_normal(np.zeros(len(times)), cov, size=n_sim, method="eigh")
    rows = []
    for target in power:
        lam = optimize.brentq(lambda x, p=target: stats.ncx2.sf(critical, k, x) - p, 1e-9, 1e4) \
            if target > alpha else 0.0
        slope = float(np.sqrt(lam / noncentrality_per_slope2))
        delta = slope * (times - reference)
        draws = delta[None, :] + noise
        passed = np.einsum("ij,jk,ik->i", draws[:, pre], v_inv, draws[:, pre]) < critical
        conditional = draws[passed][:, post].mean(axis=0) if passed.any() else np.full(len(post), np.nan)
        for j, e in zip(post, times[post]):
            rows.append({"power": target, "slope": slope, "event_time": int(e), "bias": delta[j],
                         "bias_if_passed": conditional[list(post).index(j)]})
    p_value = float(stats.chi2.sf(wald, k))
    table = pd.DataFrame({"estimate": [wald], "std_error": [np.nan], "ci_low": [np.nan], "ci_high": [np.nan],
                          "p_value": [p_value]}, index=pd.Index(["pre-trends (joint Wald)"], name="term"))
    return PretrendResult(table=table, method="joint Wald pre-trend test", result=event_study,
                          wald=wald, df=k, p_value=p_value, alpha=alpha,
                          leads=times[pre].tolist(), power=pd.DataFrame(rows), event_study=event_study)
