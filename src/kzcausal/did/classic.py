"""Paper 002's 2x2 difference-in-differences and two-way fixed effects (via linearmodels).

Each estimator is two steps: validate the panel into estimation rows (``region, year,
<outcome>, cohort[, cluster][, covariates]``), then fit those rows. The second step is also
the result's ``refitter``, so checks re-estimate the same specification on other rows,
assignments or outcomes without going back to the panel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import SpecificationError, check_alpha, check_flag, check_names
from ..panel import RegionPanel
from ..results import EstimationResult, LinearDesign, coefficient_table
from ..design import (SSC, FitSettings, check_clustering, check_outcome_varies, check_panel, check_ssc,
                      estimation_rows, few_cluster_notes, positional_deprecated, resolve_assignment, ssc_scale)
from .regression import cluster_sums, two_way_demean, within_ols

__all__ = ["did_2x2", "twfe"]

Cov2x2 = Literal["ols", "robust", "cluster"]
_COV_NAMES = {"ols": "OLS", "robust": "HC1 robust", "cluster": "clustered"}
CovTWFE = Literal["cluster", "robust", "driscoll-kraay", "unadjusted"]


@dataclass(frozen=True)
class DID2x2Settings(FitSettings):
    """The 2x2's options: what a re-fit repeats."""

    label: str
    fixed_effects: bool
    cov: str
    cluster: str | None
    ssc: str
    alpha: float
    treated_group: str | None = None


@dataclass(frozen=True)
class TWFESettings(FitSettings):
    """TWFE's options: what a re-fit repeats."""

    treatment: str
    covariates: tuple[str, ...]
    cov: str
    cluster: str | None
    ssc: str
    alpha: float


@positional_deprecated("treated", "post_from")
def did_2x2(
    panel: RegionPanel,
    outcome: str,
    *,
    treated: str | Iterable[str] | None = None,
    post_from: int | None = None,
    first_treated: str | Mapping[str, float] | None = None,
    treatment: str | None = None,
    fixed_effects: bool = False,
    cov: Cov2x2 = "ols",
    cluster: str | Mapping[str, object] | None = None,
    ssc: SSC = "fixest",
    alpha: float = 0.05,
) -> EstimationResult:
    """Paper 002's pooled 2x2 DID: ``Y = b0 + b1 Program + b2 Post + b3 Program x Post``.

    Parameters
    ----------
    panel, outcome
        The panel and the outcome variable.
    treated, post_from
        Treated regions, or a named group: ``"serpin_receiving"`` (terms named
        ``Program``) or ``"serpin_sending"`` (terms named ``Sender``, paper 002's Table 3), and
        the first post-period year (paper 002: 2014). Every other region is a control.
    first_treated, treatment
        The same assignment as a column (or mapping) of first treated years, or a 0/1 absorbing
        column (see :mod:`kzcausal.design.assignment`); every treated region must adopt in the
        same year. Give exactly one of the three spellings.
    fixed_effects
        Replace ``Program`` and ``Post`` by region and year fixed effects (only the
        interaction is reported).
    cov
        ``"ols"`` (homoskedastic, as the paper; Student-t with n - k df), ``"robust"``
        (HC1) or ``"cluster"`` (by ``cluster``, with the small-sample correction ``ssc``).
    cluster
        What to cluster on under ``cov="cluster"`` (default: the region): a column or a mapping
        region -> label, coarser than the region. Refused under the other ``cov``, which ignore it.
    ssc
        Small-sample correction of clustered errors (see :mod:`kzcausal.design.inference`):
        ``"fixest"`` (default; = R fixest, Stata ``regress``/``reghdfe``), ``"linearmodels"``
        or ``"none"``.

    Notes
    -----
    Rows with a missing outcome are left out (a warning and a caveat name them).

    References
    ----------
    Akhmetova, G. et al. (2025), Serpin-2050 evaluation (seed paper 002), Tables 2-3.
    """
    if cov not in ("ols", "robust", "cluster"):
        raise SpecificationError(f"cov={cov!r}; use 'ols', 'robust' or 'cluster'.")
    check_ssc(ssc)
    check_panel(panel)
    check_alpha(alpha)
    check_flag(fixed_effects, "fixed_effects")
    clustering = check_clustering(cluster, cov=cov, estimator="did_2x2")
    panel.require(outcome, role="outcome")
    assignment = resolve_assignment(panel, first_treated=first_treated, treated=treated, post_from=post_from,
                                    treatment=treatment, estimator="did_2x2", single_cohort=True)
    rows, notes = estimation_rows(panel, outcome, assignment,
                                  cluster=cluster if clustering is not None and clustering.coarser else None)
    settings = DID2x2Settings(label=assignment.term, fixed_effects=fixed_effects, cov=cov,
                              cluster=clustering.name if clustering is not None else None, ssc=ssc, alpha=alpha,
                              treated_group=assignment.group)
    return _fit_2x2(rows, outcome, settings=settings).noting(notes)


def _fit_2x2(rows: pd.DataFrame, outcome: str, *, settings: DID2x2Settings) -> EstimationResult:
    """The 2x2 on estimation rows (``cohort``: the adoption year for treated regions, inf for controls)."""
    label, fixed_effects, cov, ssc, alpha = (settings.label, settings.fixed_effects, settings.cov, settings.ssc,
                                             settings.alpha)
    check_outcome_varies(rows[outcome].to_numpy(float), outcome)
    cohort = rows["cohort"].to_numpy(float)
    adoption = np.unique(cohort[np.isfinite(cohort)])
    if len(adoption) != 1:
        raise SpecificationError(f"paper 002's 2x2 needs one adoption year for every treated region; these rows "
                                 f"have {adoption.tolist() or 'none'}. Fix: use kz.twfe or kz.staggered_did for "
                                 "staggered designs.")
    post_from = int(adoption[0])
    program = np.isfinite(cohort).astype(float)
    post = (rows["year"].to_numpy() >= post_from).astype(float)
    if post.all() or not post.any():
        raise SpecificationError(f"post_from={post_from}: the rows cover {int(rows['year'].min())}-"
                                 f"{int(rows['year'].max())}, so there is no pre or no post period. Fix: choose a "
                                 f"post_from after {int(rows['year'].min())} and no later than "
                                 f"{int(rows['year'].max())}.")
    if program.all():
        raise SpecificationError("every region is treated: the 2x2 needs control regions. Fix: leave at least one "
                                 "region out of treated.")
    interaction = f"{label} x Post"
    if fixed_effects:
        dummies = pd.get_dummies(rows[["region", "year"]].astype(str), drop_first=True, dtype=float)
        X = pd.concat([pd.Series(1.0, index=rows.index, name="Intercept"),
                       pd.Series(program * post, index=rows.index, name=interaction), dummies], axis=1)
    else:
        X = pd.DataFrame({"Intercept": 1.0, label: program, "Post": post, interaction: program * post},
                         index=rows.index)
    x = X.to_numpy(float)
    y = rows[outcome].to_numpy(float)
    n, k = x.shape
    if np.linalg.matrix_rank(x) < k:
        raise SpecificationError("the design matrix is rank deficient (a regressor is collinear with the others); "
                                 "check that treated and control regions both have pre and post years.")
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ (x.T @ y)
    resid = y - x @ beta
    clusters = rows["cluster"] if "cluster" in rows else rows["region"]
    codes, labels = pd.factorize(clusters.to_numpy())
    g = len(labels)
    scores = cluster_sums(x * resid[:, None], codes, g) @ bread  # G x k: each cluster's influence on beta
    n_regions, n_years = rows["region"].nunique(), rows["year"].nunique()
    if cov == "ols":
        vcov, df = bread * (resid @ resid) / (n - k), n - k
    elif cov == "robust":
        vcov, df = bread @ ((x * resid[:, None] ** 2).T @ x) @ bread * n / (n - k), n - k
    else:
        if fixed_effects:
            factor, df = ssc_scale(ssc, n_obs=n, n_clusters=g, k=1, fixed_effects=(n_regions, n_years),
                                   nested=(True, False))
        else:
            factor, df = ssc_scale(ssc, n_obs=n, n_clusters=g, k=k)
        vcov = scores.T @ scores * factor
    terms = list(X.columns)
    keep = [interaction] if fixed_effects else terms
    index = [terms.index(t) for t in keep]
    table = coefficient_table(pd.Series(beta[index], index=keep), pd.Series(np.sqrt(np.diag(vcov)[index]), index=keep),
                              alpha=alpha, df=df)
    n_treated = int(rows.loc[np.isfinite(cohort), "region"].nunique())
    notes = few_cluster_notes(g, n_treated, clustered=cov == "cluster")
    if cov == "ols":
        notes.append("OLS errors ignore within-region correlation over time (as paper 002); see cov='cluster', "
                     "the wild cluster bootstrap and randomization inference")
    cluster_name = settings.cluster or "region"
    method = (f"2x2 DID{' with region and year fixed effects' if fixed_effects else ''}, "
              + (f"{cluster_name}-clustered errors (ssc={ssc})" if cov == "cluster" else f"{_COV_NAMES[cov]} errors"))
    j = terms.index(interaction)
    return EstimationResult(
        table=table,
        vcov=pd.DataFrame(vcov[np.ix_(index, index)], index=keep, columns=keep),
        method=method,
        effect=(interaction,),
        spec={"estimator": "did_2x2", "outcome": outcome,
              "treated": sorted(rows.loc[np.isfinite(cohort), "region"].unique()), "post_from": post_from,
              **settings.display()},
        alpha=alpha, ssc=ssc if cov == "cluster" else None, covariance=cov, outcome=outcome,
        n_obs=n,
        n_clusters=g if cov == "cluster" else None,
        cluster=cluster_name if cov == "cluster" else None,
        fixed_effects=("region", "year") if fixed_effects else (),
        caveats=tuple(notes),
        data=rows,
        scores=pd.DataFrame({interaction: scores[:, j]}, index=pd.Index(labels, name="cluster")),
        refitter=partial(_fit_2x2, settings=settings),
        linear=LinearDesign("two_way") if fixed_effects else LinearDesign("pooled", post_from=post_from),
    )


@positional_deprecated("treatment", "covariates")
def twfe(
    panel: RegionPanel,
    outcome: str,
    *,
    treatment: str | None = None,
    first_treated: str | Mapping[str, float] | None = None,
    treated: str | Iterable[str] | None = None,
    post_from: int | None = None,
    covariates: Sequence[str] | None = None,
    cov: CovTWFE = "cluster",
    cluster: str | Mapping[str, object] | None = None,
    ssc: SSC = "fixest",
    alpha: float = 0.05,
) -> EstimationResult:
    """Two-way fixed effects: ``Y_it = a_i + g_t + b D_it (+ X_it c) + e_it``.

    Parameters
    ----------
    treatment, first_treated, treated + post_from
        The assignment, exactly one spelling (see :mod:`kzcausal.design.assignment`): a 0/1
        absorbing column (the effect term is named after it), a column or mapping of first
        treated years, or treated regions from one year (the effect term is then ``treated``).
    covariates
        Time-varying controls.
    cov
        ``"cluster"`` (by ``cluster``), ``"robust"``, ``"driscoll-kraay"`` (kernel, across
        regions and time) or ``"unadjusted"``; the last three via linearmodels ``PanelOLS``.
    cluster
        What to cluster on under ``cov="cluster"`` (default: the region): a column or a mapping
        region -> label, coarser than the region. Refused under the other ``cov``.
    ssc
        Small-sample correction of clustered errors: ``"fixest"`` (default; region effects
        nested in the clusters are not counted, G/(G-1), t with G - 1 df: R fixest, Stata
        ``reghdfe``), ``"linearmodels"`` (``PanelOLS``: N/(N-K), every effect counted, normal)
        or ``"none"``.

    Notes
    -----
    Rows with a missing outcome or covariate are left out (a warning and a caveat name them).

    With staggered adoption and heterogeneous or dynamic effects the TWFE coefficient
    is a weighted average with possibly negative weights (Goodman-Bacon 2021); use
    :func:`staggered_did` for a clean comparison.
    """
    if cov not in _TWFE_COV:
        raise SpecificationError(f"cov={cov!r}; use one of {list(_TWFE_COV)}.")
    check_ssc(ssc)
    check_panel(panel)
    check_alpha(alpha)
    clustering = check_clustering(cluster, cov=cov, estimator="twfe")
    covariates = check_names(covariates, "covariates", allow_empty=True)
    assignment = resolve_assignment(panel, first_treated=first_treated, treated=treated, post_from=post_from,
                                    treatment=treatment, estimator="twfe")
    term = assignment.source if assignment.spelling == "treatment" else "treated"
    clash = [c for c in covariates if c in (outcome, term)]
    if clash:
        raise SpecificationError(f"covariates {clash} include the outcome or the treatment ({outcome!r}, "
                                 f"{term!r}). Fix: list only control variables in covariates.")
    rows, notes = estimation_rows(panel, outcome, assignment, covariates=covariates,
                                  cluster=cluster if clustering is not None and clustering.coarser else None)
    settings = TWFESettings(treatment=term, covariates=tuple(covariates), cov=cov,
                            cluster=clustering.name if clustering is not None else None, ssc=ssc, alpha=alpha)
    return _fit_twfe(rows, outcome, settings=settings).noting(notes)


_TWFE_COV = {"cluster": None, "robust": dict(cov_type="robust"), "driscoll-kraay": dict(cov_type="kernel"),
             "unadjusted": dict(cov_type="unadjusted")}


def _fit_twfe(rows: pd.DataFrame, outcome: str, *, settings: TWFESettings) -> EstimationResult:
    """TWFE on estimation rows: the treatment is ``1[year >= cohort]``."""
    treatment, covariates, cov, ssc, alpha = (settings.treatment, settings.covariates, settings.cov, settings.ssc,
                                              settings.alpha)
    check_outcome_varies(rows[outcome].to_numpy(float), outcome)
    d = (rows["year"].to_numpy() >= rows["cohort"].to_numpy(float)).astype(float)
    if d.all() or not d.any():
        raise SpecificationError(f"treatment {treatment!r} is {'always 1' if d.all() else 'never 1'} in these rows; "
                                 "there is nothing to compare. Fix: check the column (it must be 0 before adoption "
                                 "and 1 after, with some regions never or not yet treated).")
    regressors = pd.DataFrame({treatment: d, **{c: rows[c].to_numpy(float) for c in covariates}}, index=rows.index)
    clusters = rows["cluster"] if "cluster" in rows else rows["region"]
    codes, labels = pd.factorize(clusters.to_numpy())
    beta, bread, sums, _ = within_ols(rows, outcome, regressors, clusters, covariates=covariates)
    scores = sums @ bread
    n, k = len(rows), regressors.shape[1]
    g = scores.shape[0]
    terms = list(regressors.columns)
    shortcut = None
    if cov == "cluster":
        factor, df = ssc_scale(ssc, n_obs=n, n_clusters=g, k=k,
                               fixed_effects=(rows["region"].nunique(), rows["year"].nunique()), nested=(True, False))
        vcov = pd.DataFrame(scores.T @ scores * factor, index=terms, columns=terms)
        shortcut = partial(_twfe_outcomes, rows=rows[["region", "year"]], regressors=regressors.to_numpy(float),
                           codes=codes, n_clusters=g, factor=factor)
    else:
        from linearmodels.panel import PanelOLS

        data = rows.assign(**{treatment: d}).set_index(["region", "year"])
        fit = PanelOLS(data[outcome], data[terms], entity_effects=True, time_effects=True).fit(**_TWFE_COV[cov])
        vcov, df = fit.cov.copy(), None
    table = coefficient_table(pd.Series(beta, index=terms), pd.Series(np.sqrt(np.diag(vcov.to_numpy())), index=terms),
                              alpha=alpha, df=df)
    notes = few_cluster_notes(g, int(rows.loc[d == 1, "region"].nunique()), clustered=cov == "cluster")
    cluster_name = settings.cluster or "region"
    return EstimationResult(
        table=table,
        vcov=vcov,
        method="TWFE (region and year effects), " + (f"{cluster_name}-clustered errors (ssc={ssc})"
                                                     if cov == "cluster" else f"{cov} errors (linearmodels)"),
        effect=(treatment,),
        spec={"estimator": "twfe", "outcome": outcome, **settings.display()},
        alpha=alpha, ssc=ssc if cov == "cluster" else None, covariance=cov, outcome=outcome,
        n_obs=n,
        n_clusters=g if cov == "cluster" else None,
        cluster=cluster_name if cov == "cluster" else None,
        fixed_effects=("region", "year"),
        caveats=tuple(notes),
        data=rows,
        scores=pd.DataFrame({treatment: scores[:, 0]}, index=pd.Index(labels, name="cluster")),
        refitter=partial(_fit_twfe, settings=settings),
        linear=LinearDesign("two_way", covariates=covariates),
        outcome_refitter=shortcut,
    )


def _twfe_outcomes(outcomes: np.ndarray, *, rows: pd.DataFrame, regressors: np.ndarray, codes: np.ndarray,
                   n_clusters: int, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """The treatment coefficient and its clustered standard error for each column of ``outcomes`` (the
    same rows, regressors and clusters): :func:`within_ols` with every outcome demeaned at once."""
    demeaned = two_way_demean(rows, np.column_stack([outcomes, regressors]))
    y, X = demeaned[:, :outcomes.shape[1]], demeaned[:, outcomes.shape[1]:]
    bread = np.linalg.inv(X.T @ X)
    beta = bread @ (X.T @ y)
    residuals = y - X @ beta
    # the effect's cluster scores: row 0 of bread X_g' e_g = sum over the cluster of (X bread[:, 0]) * e
    scores = cluster_sums((X @ bread[:, 0])[:, None] * residuals, codes, n_clusters)
    return beta[0], np.sqrt(factor * np.einsum("gm,gm->m", scores, scores))
