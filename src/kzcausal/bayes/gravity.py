"""A hierarchical Bayesian negative-binomial gravity model of interregional migration (PyMC).

The PPML gravity model (:func:`kzcausal.migration.gravity_model`) gives one GRP-per-capita
elasticity for all origins and one for all destinations. Here every region has its own
"push" elasticity (how its out-flows respond to its GRP per capita) and its own "pull"
elasticity (how its in-flows respond), partially pooled towards the population values
(Gelman & Hill 2007, ch. 12), and the flows are counts with extra-Poisson variation:

``log mu_odt = a + year_t + push_o x_ot + pull_d x_dt + c_o p_ot + c_d p_dt + g s_od + u_o + v_d``,
``flow_odt ~ NegativeBinomial(mu_odt, alpha)`` (or ``Poisson(mu_odt)``),

with ``x`` log GRP per capita, ``p`` log population and ``s`` log distance, each centred and
divided by its standard deviation across region-years (pairs for distance);
``push_o = mu_push + tau_push z_o`` and ``pull_d = mu_pull + tau_pull w_d`` (non-centred,
``z, w ~ Normal(0, 1)``); ``u ~ ZeroSumNormal(sigma_origin)`` and
``v ~ ZeroSumNormal(sigma_destination)`` origin and destination intercepts (summing to zero);
``year_t`` zero-sum year effects. The prior is on the overall level
``level = a + mean_o(push_o xbar_o + c_o pbar_o) + mean_d(pull_d xbar_d + c_d pbar_d)``, the log
expected flow averaged over the regions as origins and destinations at their mean regressors
(``xbar``, ``pbar``) in an average year, which the flows pin tightly; ``a`` (reported as
``intercept``) follows from it. (With the prior on ``a`` instead, region slopes that move the
average level had to be offset by ``a``: the sampler took 25 rather than 15 leapfrog steps a draw
on the Kazakhstan flows, and ``a`` mixed worst of all.) Priors are weakly informative on the
standardized scale (:data:`DEFAULT_PRIORS`); every elasticity is reported on the natural
(log-log) scale.

Flows between large regions pin each region's whole level as an origin (``u_o`` plus its GRP
and population terms at the region's means) far more tightly than they split it, so by default
(``region_intercepts="centred"``) the sampler draws those levels centred on their group-level
regression, in an orthonormal basis of the zero-sum vectors, and derives ``u`` from them: the
same model (Gelman & Hill 2007, sec. 12.6 on group-level predictors), with several times fewer
leapfrog steps on the Kazakhstan flows than ``u = sigma_origin z``. Where the flows are small or
few, the levels are not pinned and the centred form meets Neal's funnel (divergences):
``region_intercepts="non_centred"`` then samples ``u = sigma_origin z`` (Betancourt & Girolami
2015). (Drawing all the levels freely and projecting their mean deviation out, as earlier
versions did, gives the same ``u`` but leaves a direction the data do not see, along which every
level moves at once; the sampler then needs more steps. Both forms have the same prior and
posterior: ``tests/bayes/test_gravity.py`` compares them.) The negative-binomial gradient needs
digamma, which PyTensor's numba backend could not keep on disk: :mod:`kzcausal.bayes.sampling`
registers one it can, so the model compiles once per machine (about 15 s) instead of once per
process.

By default ``x`` is centred by year (GRP per capita relative to the regions' mean that year):
GRP per capita is nominal, and with ``centre="overall"`` the common nominal growth times a
region's deviation ``push_o - mu_push`` would act as a region-specific trend in out-flows,
which the region elasticities would then absorb. Under complete pooling the two centrings are
the same model (the year effects absorb the common part).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import ConvergenceWarning, KzCausalWarning, SpecificationError, show_rows
from ..panel import RegionPanel
from ..panel.flows import FlowTable
from .hierarchical import ESS_MIN, RHAT_MAX, convergence_diagnostics
from .sampling import check_sampling, sample_nuts
from ..text import literal_plot

__all__ = ["bayesian_gravity", "BayesianGravityResult", "compare_gravity", "DEFAULT_PRIORS"]

#: Prior scales on the standardized scale (regressors centred and divided by their sd, so a
#: coefficient is the change of log expected flow per sd of the regressor). ``intercept``: Normal
#: sd of the overall level (see the module notes) around the log of the mean flow; ``year``: sd of
#: the zero-sum year effects; ``elasticity``: Normal sd of ``mu_push``, ``mu_pull`` (and of the
#: single push and pull under complete pooling); ``tau``: HalfNormal sd of ``tau_push``,
#: ``tau_pull``; ``unpooled``: Normal sd of each region's push and pull under ``pooling="none"``;
#: ``population``, ``distance``: Normal sd of the population and distance coefficients;
#: ``region_sd``: HalfNormal sd of ``sigma_origin`` and ``sigma_destination``; ``dispersion``:
#: HalfNormal sd of ``1 / sqrt(alpha)``, the flow's coefficient of variation beyond Poisson
#: (``var = mu + dispersion^2 mu^2``).
DEFAULT_PRIORS: Mapping[str, float] = {"intercept": 2.5, "year": 1.0, "elasticity": 1.0, "tau": 0.5, "unpooled": 2.5,
                                       "population": 1.0, "distance": 1.0, "region_sd": 1.0, "dispersion": 1.0}

POOLING = ("partial", "none", "complete")
LIKELIHOODS = ("negative_binomial", "poisson")
CENTRES = ("year", "overall")
REGRESSORS = ("log_grp_pc_origin", "log_grp_pc_destination", "log_population_origin", "log_population_destination",
              "log_distance")
#: the sampled quantities whose diagnostics decide convergence (natural scale, present ones only)
MONITORED = ("intercept", "year_effect", "mu_push", "mu_pull", "tau_push", "tau_pull", "push", "pull",
             "log_population_origin", "log_population_destination", "log_distance", "sigma_origin",
             "sigma_destination", "origin_effect", "destination_effect", "dispersion")


# ------------------------------------------------------------------ data
@dataclass(frozen=True)
class _GravityDesign:
    """The pair-year rows, their indices and the standardized regressors (and the scales back)."""

    data: pd.DataFrame          # the rows plus origin_index, destination_index, year_index and *_std regressors
    regions: list[str]
    years: list[int]
    scales: dict[str, float]    # grp, population, distance: sd of the centred regressor
    region_means: pd.DataFrame  # region -> mean over its years of the standardized grp and population
    log_mean_flow: float
    centre: str


def _gravity_rows(flows, panel, distances) -> pd.DataFrame:
    if isinstance(flows, pd.DataFrame):
        rows = flows.copy()
    elif isinstance(flows, FlowTable):
        if panel is None:
            raise SpecificationError("bayesian_gravity(flows, panel): pass the region panel with grp_per_capita and "
                                     "population (e.g. kz.load_kazakhstan(boundaries=flows.boundaries)), or the rows "
                                     "of kz.migration.gravity_data(flows, panel).")
        if not isinstance(panel, RegionPanel):
            raise SpecificationError(f"panel is a {type(panel).__name__}; pass a RegionPanel (kz.load_kazakhstan).")
        from ..migration.gravity import gravity_data

        rows = gravity_data(flows, panel, distances)
    else:
        raise SpecificationError(f"flows is a {type(flows).__name__}; pass a FlowTable with a panel, or the DataFrame "
                                 "of kz.migration.gravity_data(flows, panel).")
    needed = {"origin", "destination", "year", "flow", *REGRESSORS}
    if needed - set(rows.columns):
        raise SpecificationError(f"the gravity rows lack column(s) {sorted(needed - set(rows.columns))}; build them "
                                 "with kz.migration.gravity_data(flows, panel).")
    if "pair" not in rows.columns:
        rows["pair"] = rows["origin"].astype(str) + " -> " + rows["destination"].astype(str)
    missing = rows[rows[["origin", "destination", "year", "flow", *REGRESSORS]].isna().any(axis=1)]
    if len(missing):
        raise SpecificationError(f"{len(missing)} row(s) have a missing flow, year or regressor:\n{show_rows(missing)}"
                                 "\nFix: drop or fill them before fitting.")
    flow = pd.to_numeric(rows["flow"], errors="coerce")
    values = flow.to_numpy(float)
    bad = rows[~np.isfinite(values) | (values < 0) | (values != np.round(values))]
    if len(bad):
        raise SpecificationError(f"column 'flow' must hold counts of persons (integers >= 0); {len(bad)} row(s) do "
                                 f"not:\n{show_rows(bad[['origin', 'destination', 'year', 'flow']])}\nFix: pass the "
                                 "flows in persons (round estimated flows), or use kz.migration.gravity_model (PPML), "
                                 "which accepts non-integer outcomes.")
    rows["flow"] = values.astype(np.int64)
    year = pd.to_numeric(rows["year"], errors="coerce").to_numpy(float)
    if not (np.isfinite(year) & (year == np.round(year))).all():
        bad = rows[~(np.isfinite(year) & (year == np.round(year)))]
        raise SpecificationError(f"column 'year' must hold whole years; {len(bad)} row(s) do not:\n{show_rows(bad)}")
    rows["year"] = year.astype(int)
    for column in REGRESSORS:
        rows[column] = pd.to_numeric(rows[column], errors="coerce")
    regressors = rows[list(REGRESSORS)].to_numpy(float)
    if not np.isfinite(regressors).all():
        bad = rows[~np.isfinite(regressors).all(axis=1)]
        raise SpecificationError(f"non-numeric or non-finite regressors (the log of a value <= 0?) in {len(bad)} "
                                 f"row(s):\n{show_rows(bad)}\nFix: correct GRP per capita, population or distance.")
    same = rows[rows["origin"] == rows["destination"]]
    if len(same):
        raise SpecificationError(f"{len(same)} row(s) have origin == destination:\n{show_rows(same)}\nFix: a gravity "
                                 "model is of flows between regions; drop moves within a region.")
    duplicated = rows[rows.duplicated(["origin", "destination", "year"], keep=False)]
    if len(duplicated):
        raise SpecificationError(f"{len(duplicated)} row(s) repeat an origin, destination and year:\n"
                                 f"{show_rows(duplicated)}\nFix: aggregate the flows to one row per pair and year.")
    return rows.reset_index(drop=True)


def _design(rows: pd.DataFrame, centre: str) -> _GravityDesign:
    years = sorted(int(y) for y in rows["year"].unique())
    if len(years) < 2:
        raise SpecificationError(f"the gravity rows cover {len(years)} year ({years}); year effects and the region "
                                 "elasticities need at least 2 years. Fix: select more years of flows "
                                 "(flows.select(years=[...])).")
    regions = sorted(set(rows["origin"]) | set(rows["destination"]))
    if len(regions) < 3:
        raise SpecificationError(f"the gravity rows have {len(regions)} regions ({regions}); origin and destination "
                                 "effects need at least 3. Fix: pass flows between more regions.")
    # a region-year has one GRP per capita and one population, whichever side of the flow it is on
    sides = []
    for side in ("origin", "destination"):
        sides.append(rows[[side, "year", f"log_grp_pc_{side}", f"log_population_{side}"]].set_axis(
            ["region", "year", "log_grp_pc", "log_population"], axis=1))
    region_years = pd.concat(sides).drop_duplicates()
    clash = region_years[region_years.duplicated(["region", "year"], keep=False)]
    if len(clash):
        raise SpecificationError(f"a region-year has different GRP per capita or population as origin and as "
                                 f"destination:\n{show_rows(clash.sort_values(['region', 'year']))}\nFix: build the "
                                 "rows with kz.migration.gravity_data(flows, panel).")
    grp = region_years.set_index(["region", "year"])["log_grp_pc"]
    if centre == "year":
        grp_centre = grp.groupby(level="year").mean()
        centred = grp - grp_centre.reindex(grp.index.get_level_values("year")).to_numpy()
    else:
        grp_centre = pd.Series(grp.mean(), index=years)
        centred = grp - grp.mean()
    population = region_years.set_index(["region", "year"])["log_population"]
    distance = rows.drop_duplicates(["origin", "destination"])["log_distance"]
    scales = {"grp": float(centred.std()), "population": float(population.std()), "distance": float(distance.std())}
    for name, scale in scales.items():
        if not scale > 0:
            raise SpecificationError(f"log {name} does not vary across the rows; its elasticity is not identified. "
                                     "Fix: pass flows between regions that differ in it.")
    d = rows.copy()
    for side in ("origin", "destination"):
        d[f"grp_{side}_std"] = ((d[f"log_grp_pc_{side}"] - d["year"].map(grp_centre)) / scales["grp"])
        d[f"population_{side}_std"] = (d[f"log_population_{side}"] - population.mean()) / scales["population"]
        d[f"{side}_index"] = pd.Categorical(d[side], categories=regions).codes
    d["distance_std"] = (d["log_distance"] - distance.mean()) / scales["distance"]
    d["year_index"] = pd.Categorical(d["year"], categories=years).codes
    standardized = pd.DataFrame({"grp": centred / scales["grp"],
                                 "population": (population - population.mean()) / scales["population"]})
    region_means = standardized.groupby(level="region").mean().reindex(regions)
    return _GravityDesign(data=d, regions=regions, years=years, scales=scales, region_means=region_means,
                          log_mean_flow=float(np.log(max(d["flow"].mean(), 1.0))), centre=centre)


def _zero_sum_basis(n: int) -> np.ndarray:
    """An orthonormal basis (n x n-1) of the vectors summing to zero (Helmert's)."""
    basis = np.zeros((n, n - 1))
    for k in range(1, n):
        basis[:k, k - 1] = 1.0
        basis[k, k - 1] = -k
        basis[:, k - 1] /= np.sqrt(k * (k + 1))
    return basis


def _priors(priors: Mapping[str, float] | None) -> dict[str, float]:
    merged = dict(DEFAULT_PRIORS)
    for key, value in (priors or {}).items():
        if key not in DEFAULT_PRIORS:
            raise SpecificationError(f"unknown prior {key!r} in priors=; the prior scales are "
                                     f"{sorted(DEFAULT_PRIORS)}.")
        if not (isinstance(value, (int, float, np.number)) and np.isfinite(value) and value > 0):
            raise SpecificationError(f"prior scale {key!r} must be a positive number; got {value!r}.")
        merged[key] = float(value)
    return merged


# ------------------------------------------------------------------ model
def _elasticities(pm, name: str, pooling: str, priors: Mapping[str, float], n_regions: int):
    """Region elasticities on the standardized scale, and the population value, by pooling."""
    if pooling == "partial":
        mu = pm.Normal(f"mu_{name}_std", 0.0, priors["elasticity"])
        tau = pm.HalfNormal(f"tau_{name}_std", priors["tau"])
        z = pm.Normal(f"z_{name}", 0.0, 1.0, dims="region")
        return pm.Deterministic(f"{name}_std", mu + tau * z, dims="region"), mu, tau
    if pooling == "none":
        region = pm.Normal(f"{name}_std", 0.0, priors["unpooled"], dims="region")
        return region, region.mean(), None        # the population value: the regions' average
    mu = pm.Normal(f"mu_{name}_std", 0.0, priors["elasticity"])
    return pm.Deterministic(f"{name}_std", mu * np.ones(n_regions), dims="region"), mu, None


def _build_model(design: _GravityDesign, pooling: str, likelihood: str, priors: Mapping[str, float],
                 region_intercepts: str = "centred", parametrization: str = "basis"):
    """The PyMC model; ``parametrization="projected"`` is the earlier sampling form of the centred
    region levels (17 free levels, their mean deviation projected out), kept to show that the
    default samples the same posterior."""
    import pymc as pm
    import pytensor.tensor as pt

    d = design.data
    origin, destination = d["origin_index"].to_numpy(), d["destination_index"].to_numpy()
    year = d["year_index"].to_numpy()
    n_regions = len(design.regions)
    coords = {"region": design.regions, "year": design.years, "obs": np.arange(len(d)),
              "region_contrast": np.arange(n_regions - 1)}
    s = design.scales
    grp_mean, population_mean = design.region_means["grp"].to_numpy(), design.region_means["population"].to_numpy()
    with pm.Model(coords=coords) as model:
        flow = pm.Data("flow_data", d["flow"].to_numpy(np.int64), dims="obs")
        level = pm.Normal("level", design.log_mean_flow, priors["intercept"])
        year_effect = pm.ZeroSumNormal("year_effect", sigma=priors["year"], dims="year")
        push, mu_push, tau_push = _elasticities(pm, "push", pooling, priors, n_regions)
        pull, mu_pull, tau_pull = _elasticities(pm, "pull", pooling, priors, n_regions)
        population_origin = pm.Normal("log_population_origin_std", 0.0, priors["population"])
        population_destination = pm.Normal("log_population_destination_std", 0.0, priors["population"])
        distance = pm.Normal("log_distance_std", 0.0, priors["distance"])
        sigma_origin = pm.HalfNormal("sigma_origin", priors["region_sd"])
        sigma_destination = pm.HalfNormal("sigma_destination", priors["region_sd"])
        origin_mean = population_origin * population_mean + push * grp_mean
        destination_mean = population_destination * population_mean + pull * grp_mean
        # level minus the regions' average origin and destination levels (as dot products: PyTensor's
        # fusion rewrite fails on the mean of these vectors)
        intercept = pm.Deterministic("intercept", level - (population_origin + population_destination)
                                     * population_mean.mean() - pt.dot(push + pull, grp_mean) / n_regions)
        effects = {}
        for side, mean, sd in (("origin", origin_mean, sigma_origin), ("destination", destination_mean,
                                                                          sigma_destination)):
            if region_intercepts == "non_centred":
                effects[side] = sd * pm.ZeroSumNormal(f"z_{side}", sigma=1.0, dims="region")
            elif parametrization == "projected":
                free = pm.Normal(f"{side}_level", mean, sd, dims="region")
                effects[side] = free - mean - (free - mean).mean()
            else:
                # The data pin each region's whole level as an origin (u_o plus its GRP and population terms
                # at the region's means) far more tightly than they split it, so the sampler draws the
                # levels, centred on their group-level regression (Gelman & Hill 2007, sec. 12.6), in an
                # orthonormal basis B of the zero-sum vectors: with w ~ Normal(B' mean, sd),
                # u = B w - (mean - mean(mean)) is exactly ZeroSumNormal(sd). (Drawing all 17 levels and
                # projecting their mean deviation out gives the same u, but leaves a direction the data do
                # not see, as wide as sd / sqrt(17), along which every level moves at once: nutpie then
                # takes 19 rather than 15 leapfrog steps a draw on the Kazakhstan flows (benchmarks/
                # bench_bayes.py), and took 43 rather than 19 on 8 simulated regions x 4 years. Same prior
                # and posterior: tests/bayes/test_gravity.py.)
                basis = _zero_sum_basis(n_regions)
                coordinates = pm.Normal(f"{side}_level_basis", pt.dot(basis.T, mean), sd, dims="region_contrast")
                effects[side] = pt.dot(basis, coordinates) - (mean - mean.mean())
            if region_intercepts == "centred" and parametrization != "projected":
                pm.Deterministic(f"{side}_level", mean + effects[side], dims="region")
        origin_effect = pm.Deterministic("origin_effect", effects["origin"], dims="region")
        destination_effect = pm.Deterministic("destination_effect", effects["destination"], dims="region")
        log_mu = (intercept + year_effect[year]
                  + push[origin] * (d["grp_origin_std"].to_numpy() - grp_mean[origin])
                  + pull[destination] * (d["grp_destination_std"].to_numpy() - grp_mean[destination])
                  + population_origin * (d["population_origin_std"].to_numpy() - population_mean[origin])
                  + population_destination * (d["population_destination_std"].to_numpy()
                                              - population_mean[destination])
                  + distance * d["distance_std"].to_numpy()
                  + (origin_mean + origin_effect)[origin] + (destination_mean + destination_effect)[destination])
        # kept for the predictive draws and the log likelihood, then dropped from the posterior
        pm.Deterministic("log_mu", log_mu, dims="obs")
        if likelihood == "negative_binomial":
            dispersion = pm.HalfNormal("dispersion", priors["dispersion"])
            pm.Deterministic("alpha", 1.0 / dispersion**2)
            pm.NegativeBinomial("flow", mu=pm.math.exp(log_mu), alpha=1.0 / dispersion**2, observed=flow, dims="obs")
        else:
            pm.Poisson("flow", mu=pm.math.exp(log_mu), observed=flow, dims="obs")
        # the natural (log-log) scale: divide by the regressor's sd
        pm.Deterministic("push", push / s["grp"], dims="region")
        pm.Deterministic("pull", pull / s["grp"], dims="region")
        pm.Deterministic("mu_push", mu_push / s["grp"])
        pm.Deterministic("mu_pull", mu_pull / s["grp"])
        if tau_push is not None:
            pm.Deterministic("tau_push", tau_push / s["grp"])
            pm.Deterministic("tau_pull", tau_pull / s["grp"])
        pm.Deterministic("log_population_origin", population_origin / s["population"])
        pm.Deterministic("log_population_destination", population_destination / s["population"])
        pm.Deterministic("log_distance", distance / s["distance"])
    return model


# ------------------------------------------------------------------ result
@dataclass(frozen=True, eq=False)
class BayesianGravityResult:
    """Posterior of the region push and pull elasticities and the other gravity terms.

    Attributes
    ----------
    idata
        ``arviz.InferenceData``: posterior (``push``, ``pull``, ``origin_effect``,
        ``destination_effect`` over ``region``; ``year_effect`` over ``year``; ``mu_push``,
        ``mu_pull``, ``tau_push``, ``tau_pull``, ``log_population_origin``,
        ``log_population_destination``, ``log_distance``, ``intercept``, ``dispersion``, ... on the
        natural scale; ``level``, ``*_std``, ``z_*``, ``*_level`` and ``*_level_basis`` are the
        sampler's parametrization), posterior predictive, observed data and log likelihood of
        ``flow`` over ``obs`` (labelled by ``origin``, ``destination``, ``pair`` and ``year``),
        sample stats.
    spec
        The settings that produced it (pooling, likelihood, centre, priors, sampler, ...).
    caveats
        What a reader must know: failed sampler diagnostics, weak identification.
    diagnostics
        r_hat, bulk and tail ESS by parameter, ``ok`` where they pass.
    divergences, max_treedepth_hits
        Divergent transitions and draws that hit the maximum tree depth.
    rows
        The pair-year rows fitted (``origin, destination, pair, year, flow`` and the regressors),
        in the order of ``obs``.
    """

    idata: object = field(repr=False)
    spec: Mapping[str, object] = field(default_factory=dict)
    caveats: tuple[str, ...] = ()
    diagnostics: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    divergences: int = 0
    max_treedepth_hits: int = 0
    rows: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def label(self) -> str:
        likelihood = {"negative_binomial": "negative binomial", "poisson": "Poisson"}[self.spec["likelihood"]]
        pooling = {"partial": "partial", "none": "no", "complete": "complete"}[self.spec["pooling"]]
        return f"{pooling} pooling, {likelihood}"

    @property
    def method(self) -> str:
        return f"Bayesian gravity model ({self.label})"

    @property
    def converged(self) -> bool:
        return bool(self.diagnostics["ok"].all()) and self.divergences == 0 and self.max_treedepth_hits == 0

    @property
    def regions(self) -> list[str]:
        return [str(r) for r in self.idata.posterior["region"].values]

    def _draws(self, name: str, region: str | None = None) -> np.ndarray:
        values = self.idata.posterior[name]
        if region is not None:
            values = values.sel(region=region)
        return np.asarray(values).ravel()

    def to_frame(self, interval: float = 0.9) -> pd.DataFrame:
        """Tidy table: term, estimate (posterior mean), std_error (posterior sd), ci_low, ci_high
        (equal-tailed ``interval``), p_value (NaN: Bayesian), method.

        Terms: the population terms (``mu_pull``, ``mu_push``, ``tau_pull``, ``tau_push``,
        ``log_population_origin``, ``log_population_destination``, ``log_distance``,
        ``intercept``, ``dispersion``, ``sigma_origin``, ``sigma_destination``), then
        ``year_effect[<year>]``, ``pull[<region>]``, ``push[<region>]``, ``origin_effect[<region>]``
        and ``destination_effect[<region>]``.
        """
        low, high = (1 - interval) / 2, 1 - (1 - interval) / 2
        posterior = self.idata.posterior
        scalars = [n for n in ("mu_pull", "mu_push", "tau_pull", "tau_push", "log_population_origin",
                               "log_population_destination", "log_distance", "intercept", "dispersion",
                               "sigma_origin", "sigma_destination") if n in posterior]
        terms = [(n, self._draws(n)) for n in scalars]
        terms += [(f"year_effect[{y}]", np.asarray(posterior["year_effect"].sel(year=y)).ravel())
                  for y in posterior["year"].values]
        for name in ("pull", "push", "origin_effect", "destination_effect"):
            terms += [(f"{name}[{r}]", self._draws(name, r)) for r in self.regions]
        rows = [{"term": t, "estimate": v.mean(), "std_error": v.std(ddof=1), "ci_low": np.quantile(v, low),
                 "ci_high": np.quantile(v, high), "p_value": np.nan} for t, v in terms]
        return pd.DataFrame(rows).assign(method=f"{self.method}: posterior mean, sd, {interval:.0%} equal-tailed "
                                                "interval")

    def elasticities(self, interval: float = 0.9) -> pd.DataFrame:
        """Region x (pull, push) x (mean, sd, ci_low, ci_high): the posterior of each region's
        destination (pull) and origin (push) elasticity w.r.t. GRP per capita, equal-tailed
        ``interval``; regions in alphabetical order."""
        low, high = (1 - interval) / 2, 1 - (1 - interval) / 2
        parts = {}
        for name in ("pull", "push"):
            draws = self.idata.posterior[name].stack(sample=("chain", "draw")).transpose("region", "sample").values
            parts[name] = pd.DataFrame({"mean": draws.mean(1), "sd": draws.std(1, ddof=1),
                                        "ci_low": np.quantile(draws, low, axis=1),
                                        "ci_high": np.quantile(draws, high, axis=1)},
                                       index=pd.Index(self.regions, name="region"))
        return pd.concat(parts, axis=1)

    def summary(self) -> str:
        frame = self.to_frame().set_index("term")
        population = frame[~frame.index.str.contains(r"\[")].drop(columns=["p_value", "method"])
        lines = [f"{self.method}: {self.spec['n_obs']} pair-years, {len(self.regions)} regions, years "
                 f"{self.spec['years']}; GRP per capita centred by {self.spec['centre']}; posterior mean, sd, "
                 "90% equal-tailed interval",
                 population.to_string(float_format=lambda x: f"{x:.3f}"), "",
                 "Region elasticities w.r.t. GRP per capita (pull: as destination, push: as origin)",
                 self.elasticities().round(3).to_string()]
        lines += [f"! {c}" for c in self.caveats]
        return "\n".join(lines)

    def to_xarray(self, interval: float = 0.9) -> xr.Dataset:
        """Posterior summaries of ``pull`` and ``push`` over ``region`` x ``statistic``
        (mean, sd, ci_low, ci_high; equal-tailed ``interval``)."""
        frame = self.elasticities(interval)
        statistics = ["mean", "sd", "ci_low", "ci_high"]
        ds = xr.Dataset({name: (("region", "statistic"), frame[name][statistics].to_numpy(float))
                         for name in ("pull", "push")}, coords={"region": self.regions, "statistic": statistics})
        ds.attrs.update(method=self.method, interval=interval)
        return ds

    @literal_plot
    def plot(self, ax=None, interval: float = 0.9, which: Sequence[str] = ("pull", "push")):
        """Forest plot of the region elasticities (``which``: pull and/or push), regions ordered
        by the first one's posterior mean, the population mean's interval shaded; returns the Axes."""
        import matplotlib.pyplot as plt

        which = [which] if isinstance(which, str) else list(which)
        if not which or set(which) - {"pull", "push"}:
            raise SpecificationError(f"which= takes 'pull' and/or 'push'; got {which!r}.")
        frame = self.elasticities(interval).sort_values((which[0], "mean"))
        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 0.8 + 0.34 * len(frame)))
        y = np.arange(len(frame))
        offsets = {name: (0.15 - 0.3 * i if len(which) > 1 else 0.0) for i, name in enumerate(which)}
        low, high = (1 - interval) / 2, 1 - (1 - interval) / 2
        ax.axvline(0, color="0.5", lw=0.8)
        for i, name in enumerate(which):
            mu = self._draws(f"mu_{name}")
            ax.axvspan(np.quantile(mu, low), np.quantile(mu, high), color=f"C{i}", alpha=0.1, lw=0)
            ax.hlines(y + offsets[name], frame[(name, "ci_low")], frame[(name, "ci_high")], color=f"C{i}")
            ax.plot(frame[(name, "mean")], y + offsets[name], "o", color=f"C{i}",
                    label=f"{name} (mu_{name} {interval:.0%} interval shaded)")
        ax.set_yticks(y, frame.index)
        ax.set_xlabel(f"elasticity of flows w.r.t. GRP per capita (posterior mean, {interval:.0%} interval)")
        ax.set_title(self.method, fontsize="small")
        ax.legend(fontsize="x-small", loc="best")
        return ax

    def plot_ppc(self, ax=None, interval: float = 0.9):
        """Posterior predictive check: each pair-year's observed flow against the posterior
        predictive median and ``interval`` (log scales), with the share of observed flows inside
        their interval in the title; returns the Axes."""
        import matplotlib.pyplot as plt

        observed = self.idata.observed_data["flow"].values
        replicated = self.idata.posterior_predictive["flow"].stack(sample=("chain", "draw")).transpose("obs", "sample")
        low, high = (1 - interval) / 2, 1 - (1 - interval) / 2
        q = np.quantile(replicated.values, [low, 0.5, high], axis=1)
        inside = float(np.mean((observed >= q[0]) & (observed <= q[2])))
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 5))
        shown = observed + 1.0                      # log scale with zero flows
        ax.vlines(shown, q[0] + 1.0, q[2] + 1.0, color="C0", alpha=0.25, lw=1)
        ax.plot(shown, q[1] + 1.0, ".", color="C0", ms=3, label="posterior predictive median")
        lims = [min(shown.min(), q[0].min() + 1.0), max(shown.max(), q[2].max() + 1.0)]
        ax.plot(lims, lims, color="0.3", lw=0.8, ls="--", label="observed = predicted")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("observed flow + 1 (persons)")
        ax.set_ylabel(f"predicted flow + 1 ({interval:.0%} interval)")
        ax.set_title(f"{self.method}: {inside:.0%} of pair-years inside their {interval:.0%} interval",
                     fontsize="small")
        ax.legend(fontsize="x-small", loc="upper left")
        return ax


# ------------------------------------------------------------------ fitting
def bayesian_gravity(
    flows: FlowTable | pd.DataFrame,
    panel: RegionPanel | None = None,
    *,
    pooling: Literal["partial", "none", "complete"] = "partial",
    likelihood: Literal["negative_binomial", "poisson"] = "negative_binomial",
    centre: Literal["year", "overall"] = "year",
    region_intercepts: Literal["centred", "non_centred"] = "centred",
    priors: Mapping[str, float] | None = None,
    distances: pd.DataFrame | None = None,
    sampler: Literal["auto", "pymc", "nutpie", "numpyro", "blackjax"] = "auto",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.9,
    random_seed: int | None = None,
    progress: bool = True,
) -> BayesianGravityResult:
    """Hierarchical Bayesian gravity model with region-specific push and pull GRP elasticities.

    Parameters
    ----------
    flows, panel
        A :class:`FlowTable` and a panel with ``grp_per_capita`` and ``population`` (see
        :func:`kzcausal.migration.gravity_data`), or the DataFrame that ``gravity_data``
        returns (then ``panel`` is not used). Flows must be counts (integers >= 0).
    pooling
        ``"partial"``: ``push_o ~ Normal(mu_push, tau_push)``, ``pull_d ~ Normal(mu_pull,
        tau_pull)`` (non-centred); ``"none"``: independent ``Normal(0, unpooled)`` priors per
        region (``mu_push``, ``mu_pull`` are then the regions' averages); ``"complete"``: one push
        and one pull elasticity for all regions. The origin and destination intercepts are
        partially pooled in all three.
    likelihood
        ``"negative_binomial"`` (``var = mu + dispersion^2 mu^2``) or ``"poisson"``.
    centre
        Centre log GRP per capita by ``"year"`` (relative to that year's mean across regions;
        see the module notes) or ``"overall"`` (one mean over all region-years).
    region_intercepts
        How the sampler draws the origin and destination intercepts (the model is the same):
        ``"centred"`` (fast where the flows are large, as between Kazakhstan's regions) or
        ``"non_centred"`` (small or sparse flows; use it if the centred form diverges).
    priors
        Overrides of :data:`DEFAULT_PRIORS` (scales on the standardized scale).
    distances
        Passed to ``gravity_data`` when ``flows`` is a FlowTable.
    sampler
        NUTS implementation: PyMC's own or the optional ``nutpie`` (much faster here),
        ``numpyro``, ``blackjax``.
    draws, tune, chains, target_accept, random_seed
        Passed to ``pymc.sample``; the same seed gives identical draws on the same machine.
    progress
        Show the sampler's progress bar.

    Returns
    -------
    BayesianGravityResult
        Warns :class:`~kzcausal.errors.ConvergenceWarning` (and lists it in ``caveats``) where
        r_hat > 1.01, bulk or tail ESS < 400, or there are divergences. Compare fits of the same
        rows by PSIS-LOO with :func:`compare_gravity`.

    References
    ----------
    Santos Silva, J. & Tenreyro, S. (2006), "The log of gravity"; Gelman, A. & Hill, J. (2007),
    *Data Analysis Using Regression and Multilevel/Hierarchical Models*; Betancourt, M. &
    Girolami, M. (2015) on the non-centred parametrization; Vehtari, A., Gelman, A. & Gabry, J.
    (2017) on PSIS-LOO.
    """
    if pooling not in POOLING:
        raise SpecificationError(f"pooling={pooling!r}; use one of {list(POOLING)}.")
    if likelihood not in LIKELIHOODS:
        raise SpecificationError(f"likelihood={likelihood!r}; use one of {list(LIKELIHOODS)}.")
    if centre not in CENTRES:
        raise SpecificationError(f"centre={centre!r}; use one of {list(CENTRES)}.")
    if region_intercepts not in ("centred", "non_centred"):
        raise SpecificationError(f"region_intercepts={region_intercepts!r}; use 'centred' or 'non_centred'.")
    checked = check_sampling(draws=draws, tune=tune, chains=chains, target_accept=target_accept,
                             random_seed=random_seed, progress=progress, sampler=sampler)
    sampler, draws, tune, chains, random_seed = (checked["sampler"], checked["draws"], checked["tune"],
                                                 checked["chains"], checked["random_seed"])
    prior_scales = _priors(priors)
    rows = _gravity_rows(flows, panel, distances)
    design = _design(rows, centre)
    model = _build_model(design, pooling, likelihood, prior_scales, region_intercepts)
    seeds = np.random.default_rng(random_seed).integers(0, 2**31 - 1, size=2)
    idata = sample_nuts(model, sampler, draws=draws, tune=tune, chains=chains, target_accept=target_accept,
                        random_seed=int(seeds[0]), progress=progress)
    _add_predictive(idata, design, likelihood, np.random.default_rng(int(seeds[1])))
    d = design.data
    labels = {"origin": ("obs", d["origin"].to_numpy()), "destination": ("obs", d["destination"].to_numpy()),
              "pair": ("obs", d["pair"].to_numpy()), "year": ("obs", d["year"].to_numpy())}
    for group in ("posterior_predictive", "observed_data", "log_likelihood", "constant_data"):
        if group in idata.groups():
            setattr(idata, group, idata[group].assign_coords(labels))
    monitored = [n for n in MONITORED if n in idata.posterior]
    diagnostics, divergences, depth_hits = convergence_diagnostics(idata, monitored)
    caveats = _caveats(design, diagnostics, divergences, depth_hits, pooling, region_intercepts)
    spec = dict(estimator="bayesian_gravity", outcome="flow", pooling=pooling, likelihood=likelihood, centre=centre,
                region_intercepts=region_intercepts, priors=prior_scales, sampler=sampler, draws=draws, tune=tune,
                chains=chains, target_accept=target_accept, random_seed=random_seed, n_obs=len(d),
                n_pairs=int(d["pair"].nunique()), years=design.years, scales=design.scales)
    result = BayesianGravityResult(idata=idata, spec=spec, caveats=tuple(caveats), diagnostics=diagnostics,
                                   divergences=divergences, max_treedepth_hits=depth_hits,
                                   rows=d[["origin", "destination", "pair", "year", "flow", *REGRESSORS]])
    if not result.converged:
        warnings.warn(caveats[0] + ". Sample longer (draws=, tune=), raise target_accept, or simplify the model "
                      "before reading the posterior.", ConvergenceWarning, stacklevel=2)
    return result


def _add_predictive(idata, design: _GravityDesign, likelihood: str, rng: np.random.Generator) -> None:
    """Posterior predictive draws and the pointwise log likelihood of the flows from the posterior's
    ``log_mu`` (the model's own linear predictor, dropped from the posterior afterwards), in closed form
    rather than by recompiling the model."""
    from scipy import special

    posterior = idata.posterior
    log_mu = posterior["log_mu"].values
    idata.posterior = posterior.drop_vars("log_mu")
    flow = design.data["flow"].to_numpy(float)
    mu = np.exp(log_mu)
    if likelihood == "negative_binomial":
        alpha = posterior["alpha"].values[..., None]
        log_total = np.logaddexp(np.log(alpha), log_mu)                 # log(alpha + mu)
        log_lik = (special.gammaln(flow + alpha) - special.gammaln(alpha) - special.gammaln(flow + 1)
                   + alpha * (np.log(alpha) - log_total) + flow * (log_mu - log_total))
        predicted = rng.negative_binomial(alpha, np.exp(np.log(alpha) - log_total))
    else:
        log_lik = flow * log_mu - mu - special.gammaln(flow + 1)
        predicted = rng.poisson(mu)
    dims, coords = ("chain", "draw", "obs"), {"chain": posterior["chain"], "draw": posterior["draw"],
                                              "obs": np.arange(len(flow))}
    idata.add_groups({"posterior_predictive": xr.Dataset({"flow": (dims, predicted.astype(np.int64))}, coords=coords),
                      "log_likelihood": xr.Dataset({"flow": (dims, log_lik)}, coords=coords)})


def _caveats(design: _GravityDesign, diagnostics: pd.DataFrame, divergences: int, depth_hits: int,
             pooling: str, region_intercepts: str) -> list[str]:
    caveats = []
    parts = []
    bad = diagnostics[~diagnostics["ok"]]
    if len(bad):
        parts.append(f"r_hat > {RHAT_MAX} or ESS < {ESS_MIN} for {bad.index.tolist()[:10]}"
                     + (f" and {len(bad) - 10} more" if len(bad) > 10 else ""))
    if divergences:
        parts.append(f"{divergences} divergent transitions (raise target_accept, e.g. 0.95" + (
            "; with small or sparse flows, region_intercepts='non_centred')"
            if region_intercepts == "centred" else ")"))
    if depth_hits:
        parts.append(f"{depth_hits} draws hit the maximum tree depth")
    if parts:
        caveats.append("the sampler's diagnostics failed: " + "; ".join(parts))
    if pooling != "complete":
        # a region's push/pull is separated from its intercept only by its GRP's movement over the years
        d = design.data
        x = pd.concat([d[["origin", "year", "grp_origin_std"]].set_axis(["region", "year", "x"], axis=1),
                       d[["destination", "year", "grp_destination_std"]].set_axis(["region", "year", "x"], axis=1)]
                      ).drop_duplicates(["region", "year"])
        within = float((x["x"] - x.groupby("region")["x"].transform("mean")).std())
        between = float(x.groupby("region")["x"].mean().std())
        if within < 0.5 * between:
            caveats.append(f"GRP per capita moves little within a region over the years (sd {within:.2f} against "
                           f"{between:.2f} between regions, standardized): a region's push and pull are told apart "
                           "from its origin and destination intercepts mostly by the prior and the pooling, so read "
                           "the region elasticities as shrunken, weakly identified estimates")
    return caveats


# ------------------------------------------------------------------ model checking
def compare_gravity(results: Sequence[BayesianGravityResult] | Mapping[str, BayesianGravityResult]) -> pd.DataFrame:
    """Rank fitted gravity models by PSIS-LOO expected log predictive density (arviz ``compare``).

    The models must be fitted on the same pair-years (e.g. partial pooling negative binomial
    against Poisson and against no pooling). Pair-years with Pareto k > 0.7 are named in a
    warning (Vehtari, Gelman & Gabry 2017); ``max_pareto_k`` and ``n_high_pareto_k`` are columns.
    """
    import arviz as az

    if isinstance(results, Mapping):
        named = dict(results)
    else:
        labels = [r.label for r in results]
        named = {(label if labels.count(label) == 1 else f"{label} #{i + 1}"): r
                 for i, (label, r) in enumerate(zip(labels, results))}
    if len(named) < 2:
        raise SpecificationError("compare_gravity needs at least two fitted gravity models.")
    if not all(isinstance(r, BayesianGravityResult) for r in named.values()):
        raise SpecificationError("compare_gravity takes results of kz.bayesian_gravity; use kz.compare_models for "
                                 "hierarchical elasticities.")
    keys = [r.rows[["origin", "destination", "year", "flow"]].to_numpy().tolist() for r in named.values()]
    if any(k != keys[0] for k in keys):
        raise SpecificationError("the models were fitted on different pair-years or flows; PSIS-LOO compares models "
                                 "of the same observations. Fit them on the same rows.")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Pp]areto.*")
        loos = {name: az.loo(r.idata, pointwise=True) for name, r in named.items()}
        table = az.compare({name: r.idata for name, r in named.items()}, ic="loo")
    for name, loo in loos.items():
        high = np.flatnonzero(np.asarray(loo.pareto_k) > 0.7)
        if len(high):
            rows = named[name].rows.iloc[high]
            where = ", ".join(f"{p} {y}" for p, y in zip(rows["pair"].head(5), rows["year"].head(5)))
            hint = ("a Poisson likelihood on overdispersed flows often causes this; compare with "
                    "likelihood='negative_binomial'" if named[name].spec["likelihood"] == "poisson"
                    else "these pair-years are influential; consider K-fold cross-validation")
            warnings.warn(f"model {name!r}: Pareto k > 0.7 for {len(high)} pair-year(s) ({where}"
                          f"{', ...' if len(high) > 5 else ''}); PSIS-LOO is unreliable there ({hint}).",
                          KzCausalWarning, stacklevel=2)
    table["max_pareto_k"] = [float(np.max(loos[n].pareto_k)) for n in table.index]
    table["n_high_pareto_k"] = [int(np.sum(np.asarray(loos[n].pareto_k) > 0.7)) for n in table.index]
    return table
