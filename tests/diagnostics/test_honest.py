"""HonestDiD sensitivity: against moderndid's port of the R package, closed forms and limits."""

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

import kzcausal as kz
from kzcausal.diagnostics import honest
from kzcausal.diagnostics.honest import _ARPTest, _levels_from_differences, _RelativeMagnitudes
from kzcausal.did.staggered import EventStudyResult
from kzcausal.errors import SpecificationError

pytest.importorskip("cvxpy")
from moderndid.didhonest import compute_flci  # noqa: E402
from moderndid.didhonest.arp_nuisance import compute_least_favorable_cv  # noqa: E402
from moderndid.didhonest.delta.rm.rm import compute_conditional_cs_rm, compute_identified_set_rm  # noqa: E402

N_PRE, N_POST = 3, 2
TIMES = [-4, -3, -2, 0, 1]


def _inputs():
    # a fixed covariance for deterministic comparisons, not a Monte Carlo draw: built from an explicit bit
    # generator so that the suite's seed family (tests/conftest.py) leaves it as it is
    rng = np.random.Generator(np.random.PCG64(1))
    k = N_PRE + N_POST
    A = rng.normal(size=(k, k))
    sigma = A @ A.T / k * 0.01 + 0.002 * np.eye(k)
    # the earliest pre-period difference is not the largest: moderndid 0.2.0 leaves it out of Delta^RM
    beta = np.array([-0.005, -0.01, 0.025, 0.2, 0.25])
    return beta, sigma


def event_study(beta, sigma, times=TIMES, reference=-1):
    table = pd.DataFrame({"estimate": beta, "std_error": np.sqrt(np.diag(sigma)), "ci_low": np.nan,
                          "ci_high": np.nan, "p_value": np.nan}, index=pd.Index(times, name="event_time"))
    return EventStudyResult(table=table, vcov=pd.DataFrame(sigma, index=times, columns=times), method="test",
                            reference=reference)


@pytest.mark.parametrize("target,weights", [("first", [1.0, 0.0]), ("average", [0.5, 0.5]), (1, [0.0, 1.0])])
def test_flci_equals_moderndid(target, weights):
    beta, sigma = _inputs()
    M = [0.0, 0.01, 0.05, 0.2]
    result = kz.honest_sensitivity(event_study(beta, sigma), restriction="smoothness", M=M, target=target,
                                   progress=False)
    for m, lo, hi in result.table[["M", "ci_low", "ci_high"]].itertuples(index=False):
        ref = compute_flci(beta, sigma, m, N_PRE, N_POST, np.array(weights), alpha=0.05).flci
        # both optimize numerically; moderndid solves M = 0 by golden-section search (about 2e-5 off)
        assert lo == pytest.approx(ref[0], abs=1e-4) and hi == pytest.approx(ref[1], abs=1e-4)


def test_flci_at_zero_is_the_minimum_variance_linear_extrapolation():
    beta, sigma = _inputs()
    result = kz.honest_sensitivity(event_study(beta, sigma), restriction="smoothness", M=[0.0], progress=False)
    # closed form: minimize var(v'beta) over v = (v_pre, 1, 0) exact for linear trends delta_t = c * t
    t = np.array([-3, -2, -1, 1, 2], dtype=float)
    l = np.array([1.0, 0.0])
    K = np.block([[2 * sigma[:3, :3], t[:3, None]], [t[None, :3], np.zeros((1, 1))]])
    v_pre = np.linalg.solve(K, np.r_[-2 * sigma[:3, 3:] @ l, -t[3:] @ l])[:3]
    v = np.r_[v_pre, l]
    half = 1.959963984540054 * np.sqrt(v @ sigma @ v)
    assert result.table["ci_low"].iloc[0] == pytest.approx(v @ beta - half, abs=1e-10)
    assert result.table["ci_high"].iloc[0] == pytest.approx(v @ beta + half, abs=1e-10)


def test_levels_from_differences_reproduce_a_trend():
    B = _levels_from_differences(3, 2)
    t = np.array([-3, -2, -1, 1, 2], dtype=float)
    # slope 0.7 through delta_0 = 0 with no second differences; then one kink of 0.2 at t = 1
    assert np.allclose(B @ np.r_[0.7, np.zeros(4)], 0.7 * t)
    kink = np.r_[0.0, 0.0, 0.0, 0.0, 0.2]
    assert np.allclose(B @ kink, [0, 0, 0, 0, 0.2])


class LaterChangesOnly(_RelativeMagnitudes):
    """Delta^RM without the earliest pre-period change, as moderndid 0.2.0 builds it."""

    def constraints(self, mbar, s, positive):
        return super().constraints(mbar, max(s, 1), positive)


@pytest.mark.parametrize("method,flag,mbar,weights", [("conditional", "ARP", 0.5, [1.0, 0.0]),
                                                     ("conditional", "ARP", 1.0, [0.5, 0.5]),
                                                     ("hybrid", "LF", 1.0, [1.0, 0.0]),
                                                     ("hybrid", "LF", 2.0, [0.5, 0.5])])
def test_relative_magnitudes_equal_moderndid(method, flag, mbar, weights):
    """Same polyhedra as moderndid 0.2.0 (which omits the earliest pre-period change) -> same interval."""
    beta, sigma = _inputs()
    l = np.array(weights)
    lo, hi = LaterChangesOnly(beta, sigma, N_PRE, N_POST, l, 0.05, method, 40, 0).interval(mbar)
    ref = compute_conditional_cs_rm(beta, sigma, N_PRE, N_POST, l_vec=l[:, None], m_bar=mbar, hybrid_flag=flag)
    accepted = ref["grid"][ref["accept"] > 0]
    step = ref["grid"][1] - ref["grid"][0]
    # moderndid reports the outermost accepted points of a 1,000-point grid, so the true edges lie within
    # one step outside them; we bisect to 1e-4 s.e.
    assert accepted.min() - step - 1e-6 <= lo <= accepted.min() + 1e-6
    assert accepted.max() - 1e-6 <= hi <= accepted.max() + step + 1e-6
    # with the earliest change included (the paper's Delta^RM) the set can only grow
    full = kz.honest_sensitivity(event_study(beta, sigma), restriction="relative_magnitude", Mbar=[mbar],
                                 target="first" if weights[0] == 1 else "average", method=method,
                                 progress=False).table
    assert full["ci_low"].iloc[0] <= lo + 1e-9 and full["ci_high"].iloc[0] >= hi - 1e-9


def test_least_favourable_critical_value_equals_moderndid():
    beta, sigma = _inputs()
    rm = _RelativeMagnitudes(beta, sigma, N_PRE, N_POST, np.array([1.0, 0.0]), 0.05, "hybrid", 40, 0)
    for s, positive in [(1, False), (2, True)]:
        test = _ARPTest(rm.constraints(1.0, s, positive), rm)
        ref = compute_least_favorable_cv(test.X, test.sigma, 0.005, seed=0)
        assert test.lf_cv == pytest.approx(ref, abs=1e-9)


def test_dual_vertices_give_the_lp_value_and_the_same_sets_as_one_lp_per_test(monkeypatch):
    rng = np.random.default_rng(3)
    beta, sigma = _inputs()
    rm = _RelativeMagnitudes(beta, sigma, N_PRE, N_POST, np.array([0.5, 0.5]), 0.05, "conditional", 40, 0)
    test = _ARPTest(rm.constraints(0.8, 1, True), rm)
    for _ in range(50):
        y = rng.normal(size=len(test.sd)) * 0.1
        lp = optimize.linprog(np.r_[1.0, np.zeros(test.X.shape[1])], A_ub=-test.W, b_ub=-y, bounds=(None, None),
                              method="highs")
        assert test._eta(y)[0] == pytest.approx(lp.x[0], abs=1e-10)

    # the fallback for problems with too many bases (one LP per statistic) gives the same set and critical value
    hybrid = _RelativeMagnitudes(beta, sigma, N_PRE, N_POST, np.array([0.5, 0.5]), 0.05, "hybrid", 40, 0)
    fast_interval = rm.interval(1.0)
    fast_cv = _ARPTest(hybrid.constraints(1.0, 2, False), hybrid).lf_cv
    monkeypatch.setattr(honest, "_dual_vertices", lambda W: None)
    assert rm.interval(1.0) == pytest.approx(fast_interval, abs=1e-6)
    assert _ARPTest(hybrid.constraints(1.0, 2, False), hybrid).lf_cv == pytest.approx(fast_cv, abs=1e-9)


def test_identified_set_closed_form_and_moderndid():
    beta, sigma = _inputs()
    rm = _RelativeMagnitudes(beta, sigma, N_PRE, N_POST, np.array([1.0, 0.0]), 0.05, "conditional", 40, 0)
    largest = np.max(np.abs(np.diff(np.r_[beta[:3], 0.0])))
    for mbar in (0.0, 0.5, 2.0):
        lo, hi = rm.identified_set(mbar)
        assert (lo, hi) == pytest.approx((0.2 - mbar * largest, 0.2 + mbar * largest), abs=1e-12)
        ref = compute_identified_set_rm(mbar, beta, np.array([1.0, 0.0]), N_PRE, N_POST)
        assert (lo, hi) == pytest.approx((ref.id_lb, ref.id_ub), abs=1e-12)


def test_earliest_pre_period_difference_counts():
    """Delta^RM bounds by the largest of all pre-period changes, the earliest included (paper's definition)."""
    beta = np.array([1.0, 0.0, 0.0, 0.5, 0.5])
    rm = _RelativeMagnitudes(beta, np.eye(5) * 1e-4, 3, 2, np.array([1.0, 0.0]), 0.05, "conditional", 40, 0)
    assert rm.identified_set(1.0) == pytest.approx((-0.5, 1.5), abs=1e-12)


def test_small_noise_confidence_set_approaches_identified_set():
    beta, _ = _inputs()
    sigma = np.eye(5) * 1e-10
    result = kz.honest_sensitivity(event_study(beta, sigma), restriction="relative_magnitude", Mbar=[1.0],
                                   method="conditional", progress=False)
    largest = 0.035
    assert result.table["ci_low"].iloc[0] == pytest.approx(0.2 - largest, abs=1e-3)
    assert result.table["ci_high"].iloc[0] == pytest.approx(0.2 + largest, abs=1e-3)


def test_original_interval_breakdown_and_interface():
    beta, sigma = _inputs()
    beta = beta.copy()
    beta[3] = 0.45
    result = kz.honest_sensitivity(event_study(beta, sigma), restriction="smoothness",
                                   M=np.linspace(0, 1.0, 6), progress=False)
    se = np.sqrt(sigma[3, 3])
    assert result.original == pytest.approx((0.45 - 1.959963984540054 * se, 0.45 + 1.959963984540054 * se))
    # breakdown: the interval at the breakdown value excludes zero, a little above it includes zero
    assert 0 < result.breakdown < 1.0 and not result.breakdown_capped
    from kzcausal.diagnostics.honest import _Smoothness

    solver = _Smoothness(beta, sigma, 3, 2, np.array([1.0, 0.0]), 0.05)
    assert solver.interval(result.breakdown)[0] > 0
    assert solver.interval(result.breakdown * 1.01 + 1e-6)[0] <= 0
    assert "Breakdown value" in result.summary()
    assert len(result.to_frame()) == 7
    assert result.plot() is not None


def test_breakdown_values_agree_with_moderndid():
    """The breakdown value is where moderndid's own intervals (on a fine grid) first cover zero."""
    beta, sigma = _inputs()
    beta = beta.copy()
    beta[3] = 0.45
    smooth = kz.honest_sensitivity(event_study(beta, sigma), restriction="smoothness", M=np.linspace(0, 1.0, 6),
                                   progress=False)
    grid = np.linspace(0.25, 0.35, 11)                   # around the breakdown value (about 0.307)
    excludes = [compute_flci(beta, sigma, m, N_PRE, N_POST, np.array([1.0, 0.0]), alpha=0.05).flci[0] > 0
                for m in grid]
    last = grid[np.flatnonzero(excludes)[-1]]
    assert last <= smooth.breakdown <= last + (grid[1] - grid[0]) + 1e-3
    # relative magnitudes, conditional test, on moderndid's polyhedra: its accepted grids bracket zero the same way
    mine = LaterChangesOnly(beta, sigma, N_PRE, N_POST, np.array([1.0, 0.0]), 0.05, "conditional", 40, 0)
    for mbar in (0.5, 3.0):
        ref = compute_conditional_cs_rm(beta, sigma, N_PRE, N_POST, l_vec=np.array([[1.0], [0.0]]), m_bar=mbar,
                                        hybrid_flag="ARP")
        accepted = ref["grid"][ref["accept"] > 0]
        assert (mine.interval(mbar)[0] > 0) == (accepted.min() > 0)


def test_bad_input():
    beta, sigma = _inputs()
    es = event_study(beta, sigma)
    with pytest.raises(SpecificationError, match="Mbar must be"):
        kz.honest_sensitivity(es, restriction="relative_magnitude", Mbar=[-0.5, 1.0])
    with pytest.raises(SpecificationError, match="M must be"):
        kz.honest_sensitivity(es, restriction="smoothness", M=[-1])
    with pytest.raises(SpecificationError, match="reference"):
        kz.honest_sensitivity(event_study(beta, sigma, reference=-2))
    with pytest.raises(SpecificationError, match="at least 2 pre-periods"):
        kz.honest_sensitivity(event_study(beta[2:], sigma[2:, 2:], times=[-2, 0, 1]), restriction="relative_magnitude")
    with pytest.raises(SpecificationError, match="target"):
        kz.honest_sensitivity(es, target=5)


def test_on_a_simulated_event_study():
    panel, truth = kz.simulate_panel(random_seed=3, effect=1.0)
    es = kz.event_study(panel, "outcome", first_treated="first_treated", leads=3, lags=2)
    result = kz.honest_sensitivity(es, restriction="smoothness", M=[0.0, 0.05], progress=False)
    assert result.table["ci_low"].iloc[0] < 1.0 < result.table["ci_high"].iloc[0]
