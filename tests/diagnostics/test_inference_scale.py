"""Inference from cluster sums (no observation x region matrix) equals brute-force dense regressions.

The fixed effects are absorbed (closed form when balanced, alternating projections otherwise) and
cluster scores are sparse sums, so these tests use the cases where that could go wrong: an
unbalanced panel, a time-varying covariate and clusters coarser than regions. The references
re-fit every assignment / bootstrap draw as OLS with explicit region and year dummies (numpy).
"""

import itertools

import numpy as np
import pandas as pd
import pytest

import kzcausal as kz
from kzcausal.diagnostics import randomization_inference, wild_cluster_bootstrap
from kzcausal.linalg import Absorber


@pytest.fixture(scope="module", params=["balanced", "unbalanced"])
def case(request):
    panel, truth = kz.simulate_panel(n_regions=10, years=range(2010, 2019), cohorts={2014: 2, 2016: 2}, effect=0.6,
                                     random_seed=5)
    frame = panel.to_frame()
    rng = np.random.default_rng(1)
    frame["covariate"] = rng.normal(size=len(frame)) + 0.1 * (frame["year"] - 2010)
    frame["macro"] = frame["region"].map({r: i % 5 for i, r in enumerate(panel.regions)})
    if request.param == "unbalanced":
        frame = frame.drop(index=rng.choice(frame.index[frame["year"] > 2010], size=7, replace=False))
    frame = frame[["region", "year", "outcome", "first_treated", "treated", "covariate", "macro"]]
    panel = kz.read_panel(frame, regions=None, allow_gaps=True)
    return panel, frame.reset_index(drop=True)


def _arrangements(labels: list) -> list[tuple]:
    """Every distinct ordering of a multiset of labels (inf included), by recursion."""
    if not labels:
        return [()]
    out = []
    for value in sorted(set(labels)):
        rest = list(labels)
        rest.remove(value)
        out += [(value, *tail) for tail in _arrangements(rest)]
    return out


def _dense(frame: pd.DataFrame, d: np.ndarray):
    """[D, covariate, region dummies, year dummies] for a full dense OLS."""
    regions = pd.get_dummies(frame["region"], dtype=float).to_numpy()
    years = pd.get_dummies(frame["year"], dtype=float).to_numpy()[:, 1:]
    return np.column_stack([d, frame["covariate"].to_numpy(), regions, years])


def _ols_t(X, y, clusters):
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    bread = np.linalg.pinv(X.T @ X)
    scores = pd.DataFrame(X * resid[:, None]).groupby(clusters).sum().to_numpy()
    se = np.sqrt((bread @ scores.T @ scores @ bread)[0, 0])
    return beta[0], beta[0] / se


def test_absorber_equals_dense_projection(case):
    _, frame = case
    values = np.random.default_rng(0).normal(size=(len(frame), 3))
    Z = _dense(frame, np.zeros(len(frame)))[:, 1:]
    dense = values - Z @ np.linalg.lstsq(Z, values, rcond=None)[0]
    absorb = Absorber(factors=(pd.factorize(frame["region"])[0], pd.factorize(frame["year"])[0]),
                      dense=frame[["covariate"]].to_numpy())
    np.testing.assert_allclose(absorb(values), dense, atol=1e-11)


def test_randomization_inference_equals_dense_refits(case):
    panel, frame = case
    result = kz.twfe(panel, "outcome", treatment="treated", covariates=["covariate"], cluster="macro")
    ri = randomization_inference(result, statistic="t")
    cohorts = result.region_cohorts()
    labels = cohorts.to_numpy()
    y = frame["outcome"].to_numpy()
    rows = result.rows()
    assert len(rows) == len(frame)
    reference = []
    for assigned in _arrangements(list(labels)):
        region_cohort = pd.Series(assigned, index=cohorts.index)
        d = (frame["year"].to_numpy() >= frame["region"].map(region_cohort).to_numpy()).astype(float)
        reference.append(_ols_t(_dense(frame, d), y, frame["macro"].to_numpy())[1])
    reference = np.array(reference)
    assert ri.n_assignments == len(reference) >= 1260
    # RI reports t on the result's own small-sample scale, a positive factor common to every assignment
    ratio = np.sort(ri.distribution) / np.sort(reference)
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    estimates = randomization_inference(result).distribution
    assert np.isclose(ri.observed / ratio[0], _ols_t(_dense(frame, frame["treated"].to_numpy(float)), y,
                                                     frame["macro"].to_numpy())[1], rtol=1e-9)
    assert len(estimates) == len(reference)


def test_wild_bootstrap_equals_dense_refits_of_every_sign_vector(case):
    panel, frame = case
    result = kz.twfe(panel, "outcome", treatment="treated", covariates=["covariate"], cluster="macro")
    boot = wild_cluster_bootstrap(result, draws="exact")
    y = frame["outcome"].to_numpy()
    d = frame["treated"].to_numpy(float)
    clusters = pd.factorize(frame["macro"])[0]
    X = _dense(frame, d)
    Z = X[:, 1:]
    restricted = y - Z @ np.linalg.lstsq(Z, y, rcond=None)[0]  # residuals with the effect set to 0
    fitted = y - restricted
    _, t_obs = _ols_t(X, y, clusters)
    t_star = []
    for signs in itertools.product([-1.0, 1.0], repeat=5):
        t_star.append(_ols_t(X, fitted + np.array(signs)[clusters] * restricted, clusters)[1])
    p_reference = np.mean(np.abs(t_star) >= abs(t_obs) - 1e-9)
    assert boot.n_boot == 32 and boot.kind == "WCR"
    assert boot.p_value == pytest.approx(p_reference, abs=1e-12)


def test_bootstrap_memory_guard_names_the_fix(monkeypatch, case):
    from kzcausal.diagnostics import inference

    panel, _ = case
    result = kz.twfe(panel, "outcome", treatment="treated", cluster="macro")
    monkeypatch.setattr(inference, "MAX_BOOTSTRAP_BYTES", 1000)
    with pytest.raises(kz.SpecificationError, match="coarser level"):
        wild_cluster_bootstrap(result, draws=99)


@pytest.mark.parametrize("balanced", [True, False])
def test_cluster_level_randomization_equals_dense_refits(balanced):
    """Treatment assigned to whole clusters (2 regions each): labels permuted across the 6 clusters."""
    rng = np.random.default_rng(3)
    regions = [f"R{i:02d}" for i in range(12)]
    frame = pd.DataFrame([(r, y) for r in regions for y in range(2010, 2019)], columns=["region", "year"])
    frame["macro"] = frame["region"].map({r: i // 2 for i, r in enumerate(regions)})
    cluster_cohort = {0: 2014.0, 1: 2016.0, 2: 2014.0}
    frame["first_treated"] = frame["macro"].map(cluster_cohort)
    frame["treated"] = (frame["year"] >= frame["first_treated"].fillna(np.inf)).astype(float)
    frame["covariate"] = rng.normal(size=len(frame))
    frame["outcome"] = (rng.normal(size=len(frame)) + 0.5 * frame["treated"] + frame["macro"] * 0.3
                        + 0.2 * frame["covariate"])
    if not balanced:
        frame = frame.drop(index=rng.choice(frame.index[frame["year"] <= 2012], size=6, replace=False))
    frame = frame.reset_index(drop=True)
    panel = kz.read_panel(frame, regions=None, allow_gaps=True)
    result = kz.twfe(panel, "outcome", treatment="treated", covariates=["covariate"], cluster="macro")
    y, clusters = frame["outcome"].to_numpy(), frame["macro"].to_numpy()
    ri_t = randomization_inference(result, statistic="t", level="cluster")
    ri_b = randomization_inference(result, level="cluster")
    assert ri_t.n_assignments == ri_b.n_assignments == 6 * 5 * 4 // 2  # 2 x 2014, 1 x 2016, 3 never: 60
    estimates, t_stats = [], []
    for assigned in _arrangements([2014.0, 2016.0, 2014.0, np.inf, np.inf, np.inf]):
        cohort = frame["macro"].map(dict(enumerate(assigned))).to_numpy()
        d = (frame["year"].to_numpy() >= cohort).astype(float)
        beta, t = _ols_t(_dense(frame, d), y, clusters)
        estimates.append(beta)
        t_stats.append(t)
    np.testing.assert_allclose(np.sort(ri_b.distribution), np.sort(estimates), atol=1e-10)
    ratio = np.sort(ri_t.distribution) / np.sort(t_stats)
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    assert "cluster sums" in ri_b.method
    # a result clustered by region has no clusters to permute
    with pytest.raises(kz.SpecificationError, match="clustered by region"):
        randomization_inference(kz.twfe(panel, "outcome", treatment="treated"), level="cluster")
