"""Paper 002's 2x2 difference-in-differences and two-way fixed effects (via linearmodels)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import SpecificationError, show_rows
from ..panel import RegionPanel
from .design import check_absorbing, few_cluster_notes, resolve_regions
from .results import DIDResult, coefficient_table

__all__ = ["did_2x2", "twfe"]

Cov2x2 = Literal["ols", "robust", "cluster"]
_COV_NAMES = {"ols": "OLS", "robust": "HC1 robust", "cluster": "region-clustered"}
CovTWFE = Literal["cluster", "robust", "driscoll-kraay", "unadjusted"]


def did_2x2(
    panel: RegionPanel,
    outcome: str,
    treated: str | Iterable[str],
    post_from: int,
    *,
    fixed_effects: bool = False,
    cov: Cov2x2 = "ols",
    alpha: float = 0.05,
) -> DIDResult:
    """Paper 002's pooled 2x2 DID: ``Y = b0 + b1 Program + b2 Post + b3 Program x Post``.

    Parameters
    ----------
    panel, outcome
        The panel and the outcome variable.
    treated
        Treated regions, or a named group: ``"serpin_receiving"`` (terms named
        ``Program``) or ``"serpin_sending"`` (terms named ``Sender``, paper 002's Table 3).
        Every other region in the panel is a control.
    post_from
        First post-period year (paper 002: 2014).
    fixed_effects
        Replace ``Program`` and ``Post`` by region and year fixed effects (only the
        interaction is reported).
    cov
        ``"ols"`` (homoskedastic, as the paper; Student-t with n - k df), ``"robust"``
        (HC1) or ``"cluster"`` (by region, with the small-sample factor
        G/(G-1) (n-1)/(n-k) and Student-t with G - 1 df).

    References
    ----------
    Akhmetova, G. et al. (2025), Serpin-2050 evaluation (seed paper 002), Tables 2-3.
    """
    if cov not in ("ols", "robust", "cluster"):
        raise SpecificationError(f"cov={cov!r}; use 'ols', 'robust' or 'cluster'.")
    panel.require(outcome, role="outcome")
    label = "Sender" if isinstance(treated, str) and treated == "serpin_sending" else "Program"
    regions = resolve_regions(panel, treated)
    frame = panel.to_frame()
    missing = frame[outcome].isna()
    if missing.any():
        raise SpecificationError(f"outcome {outcome!r} is missing in {int(missing.sum())} row(s):\n"
                                 f"{show_rows(frame.loc[missing, ['region', 'year', outcome]])}\n"
                                 "Fix: drop those region-years from the panel explicitly before estimating.")
    program = frame["region"].isin(regions).to_numpy(float)
    post = (frame["year"] >= post_from).to_numpy(float)
    if post.all() or not post.any():
        raise SpecificationError(f"post_from={post_from}: the panel covers {panel.years[0]}-{panel.years[-1]}, "
                                 "so there is no pre or no post period.")
    interaction = f"{label} x Post"
    if fixed_effects:
        dummies = pd.get_dummies(frame[["region", "year"]].astype(str), drop_first=True, dtype=float)
        X = pd.concat([pd.Series(1.0, index=frame.index, name="Intercept"),
                       pd.Series(program * post, index=frame.index, name=interaction), dummies], axis=1)
    else:
        X = pd.DataFrame({"Intercept": 1.0, label: program, "Post": post, interaction: program * post},
                         index=frame.index)
    beta, vcov, df = ols(frame[outcome].to_numpy(float), X.to_numpy(float), cov=cov,
                         clusters=frame["region"].to_numpy())
    terms = list(X.columns)
    keep = [interaction] if fixed_effects else terms
    index = [terms.index(t) for t in keep]
    table = coefficient_table(pd.Series(beta[index], index=keep), pd.Series(np.sqrt(np.diag(vcov)[index]), index=keep),
                              alpha=alpha, df=df)
    n_clusters = len(np.unique(frame["region"]))
    notes = few_cluster_notes(n_clusters, len(regions), clustered=cov == "cluster")
    if cov == "ols":
        notes.append("OLS errors ignore within-region correlation over time (as paper 002); see cov='cluster', "
                     "the wild cluster bootstrap and randomization inference")
    method = (f"2x2 DID{' with region and year fixed effects' if fixed_effects else ''}, "
              f"{_COV_NAMES[cov]} errors")
    return DIDResult(
        table=table,
        vcov=pd.DataFrame(vcov[np.ix_(index, index)], index=keep, columns=keep),
        method=method,
        spec=dict(estimator="did_2x2", outcome=outcome, treated=regions, treated_group=treated if isinstance(
            treated, str) else None, post_from=post_from, fixed_effects=fixed_effects, cov=cov, alpha=alpha),
        n_obs=len(frame),
        n_clusters=n_clusters if cov == "cluster" else None,
        warnings=tuple(notes),
        data=pd.DataFrame({"region": frame["region"], "year": frame["year"], outcome: frame[outcome],
                           "cohort": np.where(program == 1, float(post_from), np.inf)}),
    )


def ols(y: np.ndarray, X: np.ndarray, *, cov: Cov2x2, clusters: np.ndarray | None = None
        ) -> tuple[np.ndarray, np.ndarray, float]:
    """Least squares with OLS, HC1 or cluster-robust covariance; returns (beta, vcov, t df)."""
    n, k = X.shape
    if np.linalg.matrix_rank(X) < k:
        raise SpecificationError("the design matrix is rank deficient (a regressor is collinear with the others); "
                                 "check that treated and control regions both have pre and post years.")
    xtx_inv = np.linalg.inv(X.T @ X)
    beta = xtx_inv @ (X.T @ y)
    resid = y - X @ beta
    if cov == "ols":
        return beta, xtx_inv * (resid @ resid) / (n - k), n - k
    if cov == "robust":
        meat = (X * resid[:, None] ** 2).T @ X
        return beta, xtx_inv @ meat @ xtx_inv * n / (n - k), n - k
    codes, uniques = pd.factorize(clusters)
    g = len(uniques)
    if g < 2:
        raise SpecificationError("cluster-robust errors need at least 2 clusters.")
    scores = np.zeros((g, k))
    np.add.at(scores, codes, X * resid[:, None])
    factor = g / (g - 1) * (n - 1) / (n - k)
    return beta, xtx_inv @ (scores.T @ scores) @ xtx_inv * factor, g - 1


def twfe(
    panel: RegionPanel,
    outcome: str,
    treatment: str,
    covariates: Sequence[str] | None = None,
    *,
    cov: CovTWFE = "cluster",
    alpha: float = 0.05,
) -> DIDResult:
    """Two-way fixed effects: ``Y_it = a_i + g_t + b D_it (+ X_it c) + e_it`` via linearmodels ``PanelOLS``.

    Parameters
    ----------
    treatment
        A 0/1 panel variable (absorbing: once 1, it stays 1).
    covariates
        Time-varying controls.
    cov
        ``"cluster"`` (by region), ``"robust"``, ``"driscoll-kraay"`` (kernel, across
        regions and time) or ``"unadjusted"``.

    Notes
    -----
    With staggered adoption and heterogeneous or dynamic effects the TWFE coefficient
    is a weighted average with possibly negative weights (Goodman-Bacon 2021); use
    :func:`staggered_did` for a clean comparison.
    """
    from linearmodels.panel import PanelOLS

    options = {"cluster": dict(cov_type="clustered", cluster_entity=True), "robust": dict(cov_type="robust"),
               "driscoll-kraay": dict(cov_type="kernel"), "unadjusted": dict(cov_type="unadjusted")}
    if cov not in options:
        raise SpecificationError(f"cov={cov!r}; use one of {list(options)}.")
    covariates = list(covariates or [])
    needed = [outcome, treatment, *covariates]
    panel.require(*needed)
    frame = panel.to_frame()
    missing = frame[needed].isna().any(axis=1)
    if missing.any():
        raise SpecificationError(f"{int(missing.sum())} row(s) miss {needed}:\n"
                                 f"{show_rows(frame.loc[missing, ['region', 'year', *needed]])}\n"
                                 "Fix: drop those region-years from the panel explicitly before estimating.")
    check_absorbing(frame, treatment)
    data = frame.set_index(["region", "year"])
    fit = PanelOLS(data[outcome], data[[treatment, *covariates]], entity_effects=True,
                   time_effects=True).fit(**options[cov])
    table = coefficient_table(fit.params, fit.std_errors, alpha=alpha)
    n_clusters = int(frame["region"].nunique())
    notes = few_cluster_notes(n_clusters, frame.loc[frame[treatment] == 1, "region"].nunique(),
                              clustered=cov == "cluster")
    return DIDResult(
        table=table,
        vcov=fit.cov.copy(),
        method=f"TWFE (region and year effects, linearmodels PanelOLS), {cov} errors",
        spec=dict(estimator="twfe", outcome=outcome, treatment=treatment, covariates=covariates, cov=cov,
                  alpha=alpha),
        n_obs=int(fit.nobs),
        n_clusters=n_clusters if cov == "cluster" else None,
        warnings=tuple(notes),
        data=frame[["region", "year", outcome, *covariates]].assign(cohort=_first_on(frame, treatment)),
    )


def _first_on(frame: pd.DataFrame, treatment: str) -> np.ndarray:
    """Each row's region's first year with treatment 1 (inf if never): the absorbing adoption date."""
    on = frame["year"].where(frame[treatment] == 1)
    return on.groupby(frame["region"]).transform("min").fillna(np.inf).to_numpy(float)
