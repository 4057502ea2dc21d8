"""PPML gravity model against statsmodels' Poisson GLM with explicit dummies (1e-6), a closed form,
its inference conventions and its bad input.

Reference: ``statsmodels.GLM(family=Poisson())`` with every fixed effect as a dummy column, fitted
to a deviance change of 1e-14; the cluster sandwich is built here from that fit (bread: the inverse
Hessian of the Poisson log-likelihood with all dummies; meat: the sum over clusters of the outer
products of the summed scores), times G/(G-1). Two-way clustering: ``G/(G-1) (V_origin +
V_destination - V_pair)`` with one G, the smaller of the numbers of origins and destinations
(Cameron, Gelbach & Miller 2011; pyfixest's and fixest's ``G_df="min"``). Nothing of the
reference comes from pyfixest.
"""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import kzcausal as kz
from kzcausal.errors import HarmonizationWarning, PanelError, SpecificationError
from kzcausal.migration.gravity import FIXED_EFFECTS, gravity_data, gravity_model

YEARS = [2015, 2020, 2021, 2023, 2024]
CLUSTERS = ["pair", "origin", "origin+destination"]
RTOL = 1e-6


@pytest.fixture(scope="module")
def real():
    """The 17-region real flows and panel (harmonizing the flows to 2021 warns: expected)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HarmonizationWarning)
        flows = kz.load_migration_flows(2021).select(years=YEARS)
        panel = kz.load_kazakhstan(2021)
    return flows, panel, gravity_data(flows, panel)


def dummy_design(rows: pd.DataFrame, fixed_effects: str) -> tuple[pd.DataFrame, list[str]]:
    """The regressors and every fixed effect as 0/1 columns, one level left out where collinear."""
    terms = list(FIXED_EFFECTS[fixed_effects][1])
    X = rows[terms].astype(float)

    def dummies(labels: pd.Series, prefix: str, drop: list[str] = ()) -> pd.DataFrame:
        frame = pd.get_dummies(labels.astype(str), prefix=prefix, prefix_sep="=", dtype=float)
        return frame.drop(columns=[f"{prefix}={d}" for d in drop])

    if fixed_effects == "year":
        parts = [dummies(rows["year"], "year").iloc[:, 1:]]
    elif fixed_effects == "origin+destination+year":
        parts = [dummies(rows[c], c).iloc[:, 1:] for c in ("origin", "destination", "year")]
    else:
        # origin-year dummies sum to the year indicator, and so do destination-year dummies:
        # without an intercept, leave out one destination per year
        origin_year = rows["origin"] + "|" + rows["year"].astype(str)
        destination_year = rows["destination"] + "|" + rows["year"].astype(str)
        first = [f"{d}|{y}" for y, d in rows.groupby("year")["destination"].min().items()]
        X = pd.concat([X, dummies(origin_year, "oy"), dummies(destination_year, "dy", first)], axis=1)
        return X, terms
    X = pd.concat([X, *parts], axis=1)
    X.insert(len(terms), "const", 1.0)
    return X, terms


def statsmodels_fit(rows: pd.DataFrame, fixed_effects: str):
    X, terms = dummy_design(rows, fixed_effects)
    assert np.linalg.matrix_rank(X.to_numpy()) == X.shape[1]
    model = sm.GLM(rows["flow"].to_numpy(float), X, family=sm.families.Poisson())
    fit = model.fit(tol=1e-14, maxiter=500)
    assert fit.converged
    params = fit.params.to_numpy()
    bread = np.linalg.inv(-model.hessian(params))  # minus the log-likelihood Hessian, all dummies in
    scores = model.score_obs(params)  # x_i (y_i - mu_i)
    index = [X.columns.get_loc(t) for t in terms]
    return fit.params[terms].to_numpy(), bread, scores, index


def cluster_sandwich(bread, scores, groups: pd.Series):
    codes, labels = pd.factorize(groups)
    summed = np.zeros((len(labels), scores.shape[1]))
    np.add.at(summed, codes, scores)
    return bread @ (summed.T @ summed) @ bread, len(labels)


def reference_covariance(rows, bread, scores, cluster: str, two_way: str = "min"):
    if cluster != "origin+destination":
        V, G = cluster_sandwich(bread, scores, rows[cluster])
        return V * G / (G - 1)
    V_o, G_o = cluster_sandwich(bread, scores, rows["origin"])
    V_d, G_d = cluster_sandwich(bread, scores, rows["destination"])
    V_od, G_od = cluster_sandwich(bread, scores, rows["pair"])
    if two_way == "min":
        G = min(G_o, G_d)
        return G / (G - 1) * (V_o + V_d - V_od)
    return G_o / (G_o - 1) * V_o + G_d / (G_d - 1) * V_d - G_od / (G_od - 1) * V_od  # "conventional"


@pytest.fixture(scope="module")
def references(real):
    _, _, rows = real
    return {fe: statsmodels_fit(rows, fe) for fe in FIXED_EFFECTS}


@pytest.mark.parametrize("cluster", CLUSTERS)
@pytest.mark.parametrize("fixed_effects", list(FIXED_EFFECTS))
def test_ppml_equals_statsmodels_poisson_glm_with_dummies(real, references, fixed_effects, cluster):
    flows, panel, rows = real
    ours = gravity_model(flows, panel, fixed_effects=fixed_effects, cluster=cluster)
    params, bread, scores, index = references[fixed_effects]
    covariance = reference_covariance(rows, bread, scores, cluster)[np.ix_(index, index)]
    np.testing.assert_allclose(ours.table["estimate"].to_numpy(), params, rtol=RTOL)
    np.testing.assert_allclose(ours.table["std_error"].to_numpy(), np.sqrt(np.diag(covariance)), rtol=RTOL)
    scale = np.sqrt(np.outer(np.diag(covariance), np.diag(covariance)))
    np.testing.assert_allclose(ours.vcov.to_numpy() / scale, covariance / scale, atol=RTOL)
    assert list(ours.table.index) == list(FIXED_EFFECTS[fixed_effects][1])
    assert ours.n_obs == len(rows) == 17 * 16 * len(YEARS)
    assert ours.n_clusters == {"pair": 272, "origin": 17, "origin+destination": 17}[cluster]


def test_two_way_clustering_uses_one_factor_from_the_smaller_dimension(real, references):
    """pyfixest (G_df="min"): min(G)/(min(G)-1) on all three terms, not G_i/(G_i-1) on each."""
    flows, panel, rows = real
    ours = gravity_model(flows, panel, fixed_effects="year", cluster="origin+destination")
    params, bread, scores, index = references["year"]
    minimum = np.sqrt(np.diag(reference_covariance(rows, bread, scores, "origin+destination", "min"))[index])
    conventional = np.sqrt(np.diag(reference_covariance(rows, bread, scores, "origin+destination",
                                                        "conventional"))[index])
    np.testing.assert_allclose(ours.std_errors.to_numpy(), minimum, rtol=RTOL)
    assert np.all(np.abs(ours.std_errors.to_numpy() / conventional - 1) > 1e-3)  # the test tells them apart


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_p_values_and_intervals_are_normal(real, alpha):
    flows, panel, _ = real
    ours = gravity_model(flows, panel, fixed_effects="origin+destination+year", cluster="origin", alpha=alpha)
    z = ours.table["estimate"] / ours.table["std_error"]
    np.testing.assert_allclose(ours.table["p_value"], 2 * stats.norm.sf(np.abs(z)), rtol=1e-12)
    half = stats.norm.ppf(1 - alpha / 2) * ours.table["std_error"]
    np.testing.assert_allclose(ours.table["ci_low"], ours.table["estimate"] - half, rtol=1e-12)
    np.testing.assert_allclose(ours.table["ci_high"], ours.table["estimate"] + half, rtol=1e-12)
    student = 2 * stats.t(ours.n_clusters - 1).sf(np.abs(z))
    assert np.all(ours.table["p_value"].to_numpy() < student)  # not t(G - 1)


def test_year_effects_and_binary_regressors_give_log_ratios_of_means():
    """Closed form. With year effects and regressors that are indicators of disjoint sets of pairs,
    the same sets every year, the Poisson score equations make the fitted totals of each year and
    each set equal the observed ones; the model is then row x column independence on the
    year x set table, so exp(coefficient_k) = mean flow of set k / mean flow of the pairs in no set,
    both pooled over the years (for one binary regressor: log of the ratio of its two means)."""
    rng = np.random.default_rng(7)
    regions = [f"unit {i}" for i in range(9)]
    origin, destination = np.nonzero(~np.eye(len(regions), dtype=bool))
    years = [2019, 2020, 2021, 2022]
    terms = FIXED_EFFECTS["year"][1]
    group = rng.integers(0, len(terms) + 1, len(origin))  # 0: reference set
    rows = pd.DataFrame({
        "origin": np.tile(np.array(regions)[origin], len(years)),
        "destination": np.tile(np.array(regions)[destination], len(years)),
        "year": np.repeat(years, len(origin)),
        "group": np.tile(group, len(years)),
    })
    rows["pair"] = rows["origin"] + " -> " + rows["destination"]
    level = np.exp(rng.normal(0, 0.7, len(origin)))  # pair heterogeneity beyond the model: PPML is still exact
    rows["flow"] = rng.poisson(np.tile(40 * level, len(years)) * np.repeat([1.0, 1.3, 0.8, 1.1], len(origin)))
    for k, term in enumerate(terms, start=1):
        rows[term] = (rows["group"] == k).astype(float)
    ours = gravity_model(rows, fixed_effects="year", cluster="pair")
    means = rows.groupby("group")["flow"].mean()
    expected = np.log(means.loc[1:].to_numpy() / means.loc[0])
    np.testing.assert_allclose(ours.table["estimate"].to_numpy(), expected, rtol=1e-9, atol=1e-10)


def test_dataframe_rows_give_the_same_fit_and_are_not_modified(real):
    flows, panel, rows = real
    before = rows.copy()
    from_rows = gravity_model(rows, fixed_effects="origin-year+destination-year", cluster="origin+destination")
    from_flows = gravity_model(flows, panel, fixed_effects="origin-year+destination-year",
                               cluster="origin+destination")
    pd.testing.assert_frame_equal(rows, before)
    pd.testing.assert_frame_equal(from_rows.table, from_flows.table)
    pd.testing.assert_frame_equal(from_rows.pairs, rows)
    assert from_rows.pairs is not rows


def test_terms_absorbed_by_the_fixed_effects_are_a_typed_error(real):
    flows, panel, _ = real
    with pytest.raises(SpecificationError, match=r"log_grp_pc_origin[\s\S]*absorbed[\s\S]*Fix"):
        gravity_model(flows.select(years=[2023]), panel, fixed_effects="origin+destination+year")


def test_rows_without_the_gravity_columns(real):
    _, _, rows = real
    with pytest.raises(SpecificationError, match=r"lack \['flow', 'log_distance'\][\s\S]*gravity_data"):
        gravity_model(rows.drop(columns=["flow", "log_distance"]))
    with pytest.raises(SpecificationError, match=r"lack \['log_grp_pc_origin'\]"):
        gravity_model(rows.drop(columns=["log_grp_pc_origin"]), fixed_effects="year")
    gravity_model(rows.drop(columns=["log_grp_pc_origin"]), fixed_effects="origin-year+destination-year")
    with pytest.raises(SpecificationError, match=r"column 'origin': 1 row\(s\) without a value"):
        gravity_model(rows.assign(origin=rows["origin"].where(rows.index != 3)),
                      fixed_effects="origin-year+destination-year")
    with pytest.raises(SpecificationError, match="pass a FlowTable"):
        gravity_model(rows.to_numpy(), real[1])


@pytest.mark.parametrize(("argument", "value"), [("fixed_effects", "origin-year"), ("cluster", "region"),
                                                  ("cluster", "origin + destination")])
def test_unknown_options(real, argument, value):
    flows, panel, _ = real
    with pytest.raises(SpecificationError, match=re.escape(f"{argument}={value!r}; use one of")):
        gravity_model(flows, panel, **{argument: value})


def test_flows_in_years_the_panel_lacks(real):
    _, panel, _ = real
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HarmonizationWarning)
        flows = kz.load_migration_flows(2021)  # 2010: the 17-region panel starts in 2011
    with pytest.raises(PanelError, match=r"years \[2010\][\s\S]*flows.select"):
        gravity_model(flows, panel)


def test_flows_and_panel_on_different_boundaries(real):
    _, panel, _ = real
    with pytest.raises(SpecificationError, match=r"flows are on 2022 boundaries and the panel on 2021[\s\S]*harmonize"):
        gravity_model(kz.load_migration_flows().select(years=YEARS), panel)
    with pytest.raises(SpecificationError, match="pass the region panel"):
        gravity_model(real[0])
