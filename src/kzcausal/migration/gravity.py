"""Gravity models of interregional migration: PPML with fixed effects (Santos Silva & Tenreyro 2006).

``gravity_data`` joins a :class:`FlowTable` to a region panel (GRP per capita, population)
and the distance between regions; ``gravity_model`` fits the Poisson pseudo-maximum-likelihood
gravity equation through ``pyfixest.fepois`` (its fixed effects are absorbed, so the structural
form with origin-year and destination-year effects runs on large tables) and returns the
common :class:`~kzcausal.results.EstimationResult`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .._imports import pyfixest
from ..errors import ConvergenceWarning, PanelError, SpecificationError, check_alpha, show_rows
from ..panel import RegionPanel
from ..panel.flows import FlowTable
from ..results import EstimationResult, coefficient_table

__all__ = ["gravity_data", "gravity_model", "GravityResult", "FIXED_EFFECTS", "CLUSTERS"]

#: Fixed-effect structures: name -> (pyfixest absorbed effects, regressors identified).
FIXED_EFFECTS = {
    "year": ("year", ("log_grp_pc_origin", "log_grp_pc_destination", "log_population_origin",
                      "log_population_destination", "log_distance")),
    "origin+destination+year": ("origin + destination + year", (
        "log_grp_pc_origin", "log_grp_pc_destination", "log_population_origin", "log_population_destination",
        "log_distance")),
    "origin-year+destination-year": ("origin_year + destination_year", ("log_distance",)),
}
#: Cluster structures for the standard errors.
CLUSTERS = ("pair", "origin", "destination", "origin+destination")


def small_sample() -> dict:
    """pyfixest's small-sample setting of the migration models: G/(G-1) (G the smallest number of clusters
    for two-way clustering), no (N-1)/(N-K).

    (pyfixest renamed ``adj``/``cluster_adj``/``cluster_df`` to ``k_adj``/``G_adj``/``G_df``; both spellings work.)
    """
    pf = pyfixest()

    if hasattr(pf, "MapDemeaner"):  # pyfixest >= 0.60 names (the older ones are deprecated there)
        return pf.ssc(k_adj=False, G_adj=True, G_df="min")
    return pf.ssc(adj=False, cluster_adj=True, cluster_df="min")


def gravity_data(flows: FlowTable, panel: RegionPanel, distances: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per origin -> destination -> year: the flow and the gravity regressors.

    Parameters
    ----------
    flows
        Origin-destination flows (persons).
    panel
        A region panel with ``grp_per_capita`` and ``population`` for every region and
        year of ``flows``, on the same boundaries (e.g. ``load_kazakhstan(boundaries)``).
    distances
        ``origin, destination, distance_km`` for every pair; by default the great-circle
        distances between Kazakhstan's regional centres on the flows' boundaries.

    Returns
    -------
    DataFrame
        ``origin, destination, pair, year, flow, log_grp_pc_origin, log_grp_pc_destination,
        log_population_origin, log_population_destination, log_distance, distance_km``.
    """
    if not isinstance(flows, FlowTable):
        raise SpecificationError(f"flows is a {type(flows).__name__}; pass a FlowTable (kz.read_flows or "
                                 "kz.load_migration_flows).")
    if not isinstance(panel, RegionPanel):
        raise SpecificationError(f"panel is a {type(panel).__name__}; pass a RegionPanel (kz.load_kazakhstan).")
    panel.require("grp_per_capita", "population", role="gravity regressor")
    if None not in (flows.boundaries, panel.boundaries) and flows.boundaries != panel.boundaries:
        raise SpecificationError(
            f"the flows are on {flows.boundaries} boundaries and the panel on {panel.boundaries}. Fix: "
            f"flows.harmonize({panel.boundaries}) or a panel on {flows.boundaries} boundaries.")
    rows = flows.to_frame()
    regressors = panel.to_frame()[["region", "year", "grp_per_capita", "population"]]
    needed = pd.concat([rows[["origin", "year"]].set_axis(["region", "year"], axis=1),
                        rows[["destination", "year"]].set_axis(["region", "year"], axis=1)]).drop_duplicates()
    have = needed.merge(regressors, on=["region", "year"], how="left")
    absent = have[have[["grp_per_capita", "population"]].isna().any(axis=1)][["region", "year"]]
    if len(absent):
        years = sorted(absent["year"].unique().tolist())
        raise PanelError(
            f"{len(absent)} region-year(s) of the flows have no GRP per capita or population in the panel "
            f"(years {years}):\n{show_rows(absent.sort_values(['year', 'region']))}\n"
            f"Fix: flows.select(years=[...]) to the years the panel covers ({panel.years[0]}-{panel.years[-1]}), "
            "or supply those values.")
    bad = have[(have["grp_per_capita"] <= 0) | (have["population"] <= 0)]
    if len(bad):
        raise PanelError(f"GRP per capita or population <= 0, so their logs are undefined:\n{show_rows(bad)}\n"
                         "Fix: correct those values.")
    if distances is None:
        if flows.regions_scheme != "kazakhstan":
            raise SpecificationError("these flows are not Kazakhstan's regions, so no bundled distances apply. "
                                     "Fix: pass distances=<DataFrame with origin, destination, distance_km>.")
        from ..datasets import region_distances

        distances = region_distances(flows.boundaries if flows.boundaries is not None else 2022)
    if not isinstance(distances, pd.DataFrame):
        raise SpecificationError(f"distances is a {type(distances).__name__}, not a DataFrame. Fix: pass a DataFrame "
                                 "with columns origin, destination, distance_km (or None for the bundled distances).")
    missing_cols = {"origin", "destination", "distance_km"} - set(distances.columns)
    if missing_cols:
        raise SpecificationError(f"distances lack column(s) {sorted(missing_cols)}. Fix: give a DataFrame with "
                                 "columns origin, destination, distance_km.")
    distance = rows.merge(distances[["origin", "destination", "distance_km"]], on=["origin", "destination"],
                          how="left")["distance_km"].to_numpy(float)
    no_distance = ~np.isfinite(distance) | (distance <= 0)
    if no_distance.any():
        raise PanelError(f"{int(no_distance.sum())} pair(s) have no positive distance:\n"
                         f"{show_rows(rows.loc[no_distance, ['origin', 'destination']].drop_duplicates())}\n"
                         "Fix: add them to distances (km, > 0).")
    logged = regressors.assign(log_grp_pc=np.log(regressors["grp_per_capita"]),
                               log_population=np.log(regressors["population"]))[
        ["region", "year", "log_grp_pc", "log_population"]]
    out = rows[["origin", "destination", "year", "flow"]].copy()
    for side in ("origin", "destination"):
        side_values = logged.rename(columns={"region": side, "log_grp_pc": f"log_grp_pc_{side}",
                                             "log_population": f"log_population_{side}"})
        out = out.merge(side_values, on=[side, "year"], how="left")
    out["distance_km"] = distance
    out["log_distance"] = np.log(distance)
    out.insert(2, "pair", out["origin"] + " -> " + out["destination"])
    return out


@dataclass(frozen=True, eq=False)
class GravityResult(EstimationResult):
    """PPML gravity estimates (elasticities) with the pair-year rows they were fitted on (``pairs``).

    ``data`` is ``None``: the rows are pairs, not region-years with a treatment cohort, so
    the DID checks (randomization inference, placebo in time) do not apply and say so.
    """

    pairs: pd.DataFrame | None = field(default=None, repr=False)


def gravity_model(
    flows: FlowTable | pd.DataFrame,
    panel: RegionPanel | None = None,
    *,
    fixed_effects: Literal["year", "origin+destination+year", "origin-year+destination-year"] = "year",
    cluster: Literal["pair", "origin", "destination", "origin+destination"] = "pair",
    distances: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> GravityResult:
    """Poisson pseudo-maximum-likelihood gravity model of migration flows.

    ``E[flow_odt] = exp(b_o log GRPpc_ot + b_d log GRPpc_dt + c_o log pop_ot + c_d log pop_dt
    + g log dist_od + fixed effects)``, estimated by PPML, which is consistent under any
    heteroskedasticity and keeps zero flows (Santos Silva & Tenreyro 2006).

    Parameters
    ----------
    flows, panel
        A :class:`FlowTable` and a panel with ``grp_per_capita`` and ``population`` (see
        :func:`gravity_data`), or the DataFrame that :func:`gravity_data` returns (then
        ``panel`` is not used).
    fixed_effects
        ``"year"``: year effects (elasticities from cross-section and time variation);
        ``"origin+destination+year"``: region effects too (elasticities from changes within
        a region over time); ``"origin-year+destination-year"``: the structural gravity form
        (Anderson & van Wincoop 2003; multilateral resistance absorbed), which identifies only
        pair-level terms (distance).
    cluster
        ``"pair"`` (serial correlation of a pair over years), ``"origin"``, ``"destination"``
        or ``"origin+destination"`` (two-way, the safest with 17-20 regions).
    alpha
        1 - confidence level of the intervals.

    Returns
    -------
    GravityResult
        Elasticities (normal inference, as fixest and pyfixest report for GLMs), their
        covariance, the rows used and caveats. ``effect`` is the destination and origin GRP
        per capita elasticities (the distance elasticity for the structural form).

    Notes
    -----
    Standard errors: cluster-robust sandwich with the factor G/(G-1), no (N-1)/(N-K)
    factor. Two-way: ``G/(G-1) (V_origin + V_destination - V_pair)`` (Cameron, Gelbach &
    Miller 2011) with one factor for all three terms, G the smaller of the numbers of
    origins and destinations (pyfixest's and fixest's ``G_df="min"``). Pairs whose flow is
    zero in every year carry no information with pair-varying effects and are dropped by
    the engine (reported).
    """
    pf = pyfixest()

    if fixed_effects not in FIXED_EFFECTS:
        raise SpecificationError(f"fixed_effects={fixed_effects!r}; use one of {list(FIXED_EFFECTS)}.")
    if cluster not in CLUSTERS:
        raise SpecificationError(f"cluster={cluster!r}; use one of {list(CLUSTERS)}.")
    check_alpha(alpha)
    absorbed, terms = FIXED_EFFECTS[fixed_effects]
    if not isinstance(flows, (pd.DataFrame, FlowTable)):
        raise SpecificationError(f"flows is a {type(flows).__name__}; pass a FlowTable (kz.read_flows or "
                                 "kz.load_migration_flows) with a panel, or the DataFrame kz.gravity_data returns.")
    if isinstance(flows, pd.DataFrame):
        needed = {"origin", "destination", "pair", "year", "flow", *terms}
        if needed - set(flows.columns):
            raise SpecificationError(f"the gravity rows lack {sorted(needed - set(flows.columns))}; build them with "
                                     "kz.gravity_data(flows, panel).")
        rows = flows.copy()
    else:
        if panel is None:
            raise SpecificationError("gravity_model(flows, panel): pass the region panel with grp_per_capita and "
                                     "population (e.g. kz.load_kazakhstan(boundaries=flows.boundaries)).")
        rows = gravity_data(flows, panel, distances)
    _check_rows(rows, terms)
    engine, n_groups = _engine_frame(rows, terms, absorbed, cluster)
    formula = f"flow ~ {' + '.join(terms)} | {absorbed}"
    # IRLS to a relative deviance change of 1e-12 (pyfixest: 1e-8) and fixed effects demeaned to
    # 1e-8 (1e-6): pyfixest evaluates the sandwich at the weights of the last-but-one iteration, so
    # with its defaults the standard errors are only good to ~2e-5 (relative); here to ~1e-7.
    options = {"ssc": small_sample()}
    if hasattr(pf, "MapDemeaner"):  # pyfixest >= 0.60 names (the older ones are deprecated there)
        options["demeaner"] = pf.MapDemeaner(fixef_tol=1e-8)
    else:
        options["fixef_tol"] = 1e-8
    with warnings.catch_warnings():  # terms absorbed by the fixed effects get the typed error below
        warnings.filterwarnings("ignore", message=r"[\s\S]*dropped due to multicollinearity", category=UserWarning)
        fit = pf.fepois(formula, data=engine, vcov={"CRV1": cluster}, iwls_tol=1e-12, iwls_maxiter=100,
                        copy_data=False, **options)
    identified = set(fit.coef().index)
    absorbed_terms = [t for t in terms if t not in identified]
    if absorbed_terms:
        raise SpecificationError(
            f"{absorbed_terms} do not vary within the fixed effects ({fixed_effects}) on these rows, so they are "
            "absorbed and not identified (for example, regional regressors with region effects and a single year). "
            + ("Fix: regressors that differ between pairs within a year." if fixed_effects == "year"
               else "Fix: more years, or fixed_effects='year'."))
    estimates = fit.coef().reindex(list(terms))
    std_errors = fit.se().reindex(list(terms))
    table = coefficient_table(estimates, std_errors, alpha=alpha).rename_axis("term")
    covariance = pd.DataFrame(np.asarray(fit._vcov), index=list(fit.coef().index), columns=list(fit.coef().index))
    caveats = []
    n_used = int(fit._N)
    if n_used < len(rows):
        caveats.append(f"{len(rows) - n_used} row(s) dropped by pyfixest (pairs or fixed-effect groups whose "
                       "flows are all zero, or singletons)")
    if not getattr(fit, "convergence", True):
        warnings.warn(f"the PPML iterations (IRLS) did not converge in 100 steps ({fixed_effects}); the estimates "
                      "may be inaccurate.", ConvergenceWarning, stacklevel=2)
        caveats.append("IRLS did not converge in 100 iterations")
    n_clusters = min(n_groups[part] for part in cluster.split("+"))
    if n_clusters < 30:
        caveats.append(f"{n_clusters} clusters ({cluster}): cluster-robust errors are unreliable below ~30-50 "
                       "clusters; read the intervals as approximate")
    if "+" in cluster:
        caveats.append("two-way clustered by origin and destination (Cameron, Gelbach & Miller 2011)")
    partial = [y for y in rows["year"].unique() if y == 2025]
    if partial and isinstance(flows, FlowTable):
        flagged = flows.to_frame().query("year == 2025")["quality"].str.contains("partial").any()
        if flagged:
            caveats.append("2025 flows may be a partial year (a shortfall proportional across pairs is absorbed by the "
                            "year effects)")
    effect = (("log_grp_pc_destination", "log_grp_pc_origin") if "log_grp_pc_origin" in terms
              else ("log_distance",))
    spec = {"estimator": "ppml_gravity", "outcome": "flow", "fixed_effects": fixed_effects, "cluster": cluster,
            "alpha": alpha, "years": sorted(int(y) for y in rows["year"].unique())}
    return GravityResult(
        table=table, vcov=covariance.loc[list(terms), list(terms)], method=(
            f"PPML gravity model (fixed effects: {fixed_effects}; SE clustered by {cluster})"),
        effect=effect, spec=spec, alpha=alpha, outcome="flow", n_obs=n_used, n_clusters=n_clusters, cluster=cluster,
        fixed_effects=tuple(absorbed.replace(" ", "").split("+")), caveats=tuple(caveats),
        pairs=rows,
    )


def _check_rows(rows: pd.DataFrame, terms: tuple[str, ...]) -> None:
    """PPML needs one row per pair-year, finite regressors and flows that are finite, >= 0 and not all zero."""
    where = ["origin", "destination", "year"]
    repeated = rows.duplicated(where, keep=False)
    if repeated.any():
        raise SpecificationError(f"{int(repeated.sum())} row(s) repeat an origin-destination-year (duplicates):\n"
                                 f"{show_rows(rows.loc[repeated, [*where, 'flow']])}\n"
                                 "Fix: keep one row per pair and year (sum or correct the duplicates).")
    for column in ("flow", *terms):
        values = pd.to_numeric(rows[column], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(values) | ((values < 0) if column == "flow" else False)
        if bad.any():
            what = "missing, non-numeric, infinite or negative" if column == "flow" else "missing or not finite"
            raise SpecificationError(f"column {column!r} is {what} in {int(bad.sum())} row(s):\n"
                                     f"{show_rows(rows.loc[bad, [*where, column]])}\n"
                                     "Fix: correct or remove those rows (flows are counts >= 0).")
    if not (rows["flow"].to_numpy(float) > 0).any():
        raise SpecificationError("column 'flow' is zero in every row: a PPML gravity model has nothing to fit. "
                                 "Fix: check the flows (the wrong column, or a year with no data).")


def _engine_frame(rows: pd.DataFrame, terms: tuple[str, ...], absorbed: str,
                  cluster: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """The columns pyfixest needs, with fixed effects and clusters as integer codes; groups per column.

    Codes, not names: pyfixest copies its input and takes rows from every column, and on 5M
    pair-years the region and pair names (and "origin#year" labels built from them) cost more
    than a third of the fit. The codes number the same groups in the same order of first
    appearance, so the estimates and errors are those of the named columns.
    """
    effects = absorbed.replace(" ", "").split("+")
    categorical = ({effect.removesuffix("_year") for effect in effects} | set(cluster.split("+"))
                   | ({"year"} if any(effect.endswith("_year") for effect in effects) else set()))
    codes, n_groups = {}, {}
    for column in sorted(categorical):
        values, labels = pd.factorize(rows[column])
        missing = values < 0
        if missing.any():
            raise SpecificationError(f"column {column!r}: {int(missing.sum())} row(s) without a value:\n"
                                     f"{show_rows(rows.loc[missing, ['origin', 'destination', 'year', 'flow']])}\n"
                                     "Fix: fill them in or remove those rows.")
        codes[column], n_groups[column] = values, len(labels)
    engine = {"flow": rows["flow"].to_numpy(), **{term: rows[term].to_numpy() for term in terms}}
    for effect in effects:
        side = effect.removesuffix("_year")
        # origin-year: one code per (origin, year), as the pair of codes would give
        engine[effect] = (codes[side] if side == effect
                          else codes[side].astype(np.int64) * n_groups["year"] + codes["year"])
    for column in cluster.split("+"):
        engine[column] = codes[column]
    return pd.DataFrame(engine), n_groups
