"""Difference-in-differences on origin-destination pairs (a programme that targets flows between groups).

Paper 002 asks whether Serpin-2050 moved people from the southern "sending" regions to the
northern "receiving" ones. On region totals this is a 2x2 DID per side; on flows it is one
question: did flows from sending to receiving regions grow more than all other flows after
the programme? ``pair_did`` answers it with pair and year fixed effects,

    E[flow_pt] = exp(a_p + l_t + b * 1[p: sending -> receiving] * 1[t >= post_from])   (PPML), or
    log flow_pt = a_p + l_t + b * 1[...] * 1[...] + e_pt                               (log-linear),

``b`` being the proportional change (``exp(b) - 1``) of the targeted flows relative to the
others. The treatment is assigned to regions, not pairs, so the honest test permutes which
regions are labelled sending and receiving: ``kz.randomization_inference(result,
draws=9999)`` works on the result directly (its regions' labels are the "cohorts").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd

from .._imports import pyfixest
from ..design import FitSettings
from ..errors import PanelError, RegionNameError, SpecificationError, check_alpha, show_rows
from ..panel.flows import FlowTable
from ..panel.regions import closest_regions
from ..results import COLUMNS, EstimationResult, axes_for, coefficient_table
from .gravity import small_sample

__all__ = ["pair_did", "PairDIDResult", "SENDING", "RECEIVING", "NEITHER"]

#: Region labels in ``region_cohorts()`` (what randomization inference permutes).
SENDING, RECEIVING, NEITHER = 1.0, 2.0, np.inf
_TERM = "sending->receiving x post"


@dataclass(frozen=True, eq=False)
class PairDIDResult(EstimationResult):
    """Pair-level DID: the effect, the year-by-year coefficients (``by_year``) and the pair rows.

    ``region_cohorts()`` gives each region's label (1: sending, 2: receiving, inf: neither),
    and ``permuted`` the effect under any relabelling, so randomization inference permutes
    the roles of regions. Re-fits on other rows (leave-one-out, placebo in time) do not
    apply to pairs and raise a clear error.
    """

    by_year: pd.DataFrame | None = field(default=None, repr=False)
    pairs: pd.DataFrame | None = field(default=None, repr=False)
    labels: pd.Series | None = field(default=None, repr=False)
    settings: PairDIDSettings | None = field(default=None, repr=False)

    def region_cohorts(self) -> pd.Series:
        return self.labels.copy()

    def refit(self, data=None, *, cohorts=None, outcome=None) -> PairDIDResult:
        """Re-estimate with other region labels (``cohorts``: region -> 1 sending, 2 receiving, else neither)."""
        if data is not None or outcome is not None or cohorts is None:
            raise SpecificationError("a pair-level DID can be re-estimated only with other region labels "
                                     "(refit(cohorts=...)); subsets of rows and other outcomes do not apply to pairs.")
        labels = pd.Series(cohorts, dtype=float).reindex(self.labels.index).fillna(NEITHER)
        return _fit(self.pairs, labels, self.settings)

    def plot(self, ax=None):
        """Year-by-year coefficients of sending -> receiving pairs (reference year marked); returns the Axes."""
        ax = axes_for(ax, (7, 3.5))
        table = self.by_year
        years = table.index.to_numpy(int)
        ax.axhline(0, color="0.5", lw=0.8)
        ax.axvline(self.spec["post_from"] - 0.5, color="0.3", ls=":", lw=0.8,
                   label=f"programme from {self.spec['post_from']}")
        ax.vlines(years, table["ci_low"], table["ci_high"], color="C0")
        ax.plot(years, table["estimate"], "o", color="C0", label="sending -> receiving vs other pairs")
        ax.set_xticks(years)
        ax.set_xlabel("year")
        ax.set_ylabel("log-point difference vs reference year")
        ax.set_title(self.method, fontsize="small")
        ax.legend(fontsize="x-small")
        return ax


def pair_did(
    flows: FlowTable,
    sending: Sequence[str],
    receiving: Sequence[str],
    post_from: int,
    *,
    method: Literal["ppml", "ols"] = "ppml",
    cluster: Literal["origin+destination", "pair", "origin", "destination"] = "origin+destination",
    alpha: float = 0.05,
) -> PairDIDResult:
    """Difference-in-differences of flows from ``sending`` to ``receiving`` regions against all other pairs.

    Parameters
    ----------
    flows
        Origin-destination flows (:func:`kzcausal.read_flows`, :func:`kzcausal.load_migration_flows`).
    sending, receiving
        The programme's origin and destination regions (disjoint; names as in ``flows``).
    post_from
        First year of the programme; years before it are the pre-period (at least one).
    method
        ``"ppml"`` (Poisson pseudo-maximum likelihood; keeps zero flows) or ``"ols"`` (log
        flows; zero flows cannot be logged and are an error).
    cluster
        Standard errors clustered by ``"origin+destination"`` (two-way, the default: the
        treatment is assigned to regions), ``"pair"``, ``"origin"`` or ``"destination"``.
        With 17-20 regions, trust randomization inference over these errors.

    Returns
    -------
    PairDIDResult
        ``effect`` is the sending -> receiving x post coefficient (log points); ``by_year``
        holds one coefficient per year relative to the last pre-period year.

    References
    ----------
    Santos Silva & Tenreyro (2006), The log of gravity; Akhmetova et al. (2025) for the
    programme's regions.
    """
    if not isinstance(flows, FlowTable):
        raise SpecificationError(f"flows is a {type(flows).__name__}; pass a FlowTable (kz.load_migration_flows).")
    if method not in ("ppml", "ols"):
        raise SpecificationError(f"method={method!r}; use 'ppml' or 'ols'.")
    if cluster not in ("origin+destination", "pair", "origin", "destination"):
        raise SpecificationError(f"cluster={cluster!r}; use 'origin+destination', 'pair', 'origin' or 'destination'.")
    check_alpha(alpha)
    if isinstance(post_from, bool) or not isinstance(post_from, (int, np.integer)):
        raise SpecificationError(f"post_from={post_from!r}; give the programme's first year as an integer (2014).")
    regions = flows.regions
    groups = {}
    for name, given in (("sending", sending), ("receiving", receiving)):
        if isinstance(given, str):
            raise SpecificationError(f"{name}={given!r} is one string; pass a list of region names ([{given!r}]).")
        given = list(given)
        unknown = [r for r in given if r not in regions]
        if unknown:
            hints = "; ".join(f"{r!r} (closest: {', '.join(closest_regions(r)) or 'none'})" for r in unknown)
            raise RegionNameError(f"{name}: {hints} not among the flows' regions {regions}. Fix: use those names "
                                  "(after harmonization, merged regions carry their parent's name).")
        if not given:
            raise SpecificationError(f"{name} is empty. Fix: name at least one region.")
        groups[name] = given
    both = sorted(set(groups["sending"]) & set(groups["receiving"]))
    if both:
        raise SpecificationError(f"{both} are both sending and receiving; the groups must be disjoint. Fix: put "
                                 "each region in one group only.")
    years = flows.years
    pre = [y for y in years if y < post_from]
    post = [y for y in years if y >= post_from]
    if not pre or not post:
        raise SpecificationError(f"post_from={post_from} leaves no {'pre' if not pre else 'post'}-period year; the "
                                 f"flows cover {years}. Fix: choose a year inside that span.")
    rows = flows.to_frame()[["origin", "destination", "year", "flow", "quality"]]
    rows.insert(2, "pair", rows["origin"] + " -> " + rows["destination"])
    if method == "ols":
        zero = rows["flow"] <= 0
        if zero.any():
            raise PanelError(f"method='ols' logs the flows, and {int(zero.sum())} flow(s) are zero:\n"
                             f"{show_rows(rows.loc[zero, ['origin', 'destination', 'year', 'flow']])}\n"
                             "Fix: use method='ppml', which keeps zeros.")
    labels = pd.Series(NEITHER, index=pd.Index(regions, name="region"))
    labels[groups["sending"]] = SENDING
    labels[groups["receiving"]] = RECEIVING
    return _fit(rows, labels, PairDIDSettings(post_from=int(post_from), method=method, cluster=cluster, alpha=alpha))


@dataclass(frozen=True)
class PairDIDSettings(FitSettings):
    """The pair DID's options: what a re-fit or a relabelling repeats."""

    post_from: int
    method: str
    cluster: str
    alpha: float


def _fit(rows: pd.DataFrame, labels: pd.Series, settings: PairDIDSettings) -> PairDIDResult:
    pf = pyfixest()
    post_from, method, cluster, alpha = settings.post_from, settings.method, settings.cluster, settings.alpha

    years = sorted(rows["year"].unique().tolist())
    reference = max(y for y in years if y < post_from)
    targeted = _targeted(rows, labels)
    data = rows.assign(treated_post=(targeted & (rows["year"] >= post_from).to_numpy()).astype(float),
                       log_flow=np.log(rows["flow"].where(rows["flow"] > 0)))
    dynamic = [y for y in years if y != reference]
    for y in dynamic:
        data[f"targeted_{y}"] = (targeted & (data["year"] == y).to_numpy()).astype(float)
    outcome = "flow" if method == "ppml" else "log_flow"
    engine = pf.fepois if method == "ppml" else pf.feols
    ssc = small_sample()
    fit = engine(f"{outcome} ~ treated_post | pair + year", data=data, vcov={"CRV1": cluster}, ssc=ssc)
    estimates, errors = fit.coef(), fit.se()
    table = coefficient_table(estimates.rename({"treated_post": _TERM}), errors.rename({"treated_post": _TERM}),
                              alpha=alpha).rename_axis("term")
    vcov = pd.DataFrame(np.asarray(fit._vcov), index=[_TERM], columns=[_TERM])
    dynamic_fit = engine(f"{outcome} ~ {' + '.join(f'targeted_{y}' for y in dynamic)} | pair + year", data=data,
                         vcov={"CRV1": cluster}, ssc=ssc)
    by_year = coefficient_table(dynamic_fit.coef().set_axis(dynamic), dynamic_fit.se().set_axis(dynamic),
                                alpha=alpha)
    by_year.loc[reference] = [0.0, 0.0, 0.0, 0.0, np.nan]
    by_year = by_year.sort_index().rename_axis("year")[COLUMNS]
    n_targeted = int(targeted.sum() // len(years)) if len(years) else 0
    clusters = {"pair": rows["pair"].nunique(), "origin": rows["origin"].nunique(),
                "destination": rows["destination"].nunique()}
    n_clusters = (min(clusters["origin"], clusters["destination"]) if cluster == "origin+destination"
                  else clusters[cluster])
    pre_years = [y for y in years if y < post_from]
    caveats = [f"only {len(pre_years)} pre-programme year(s) ({', '.join(map(str, pre_years))}): parallel trends "
               + ("cannot be checked at all" if len(pre_years) == 1 else "can be checked only on "
                  f"{len(pre_years) - 1} placebo coefficient(s)"),
               f"{n_targeted} sending -> receiving pairs against {rows['pair'].nunique() - n_targeted} others; the "
               "treatment is assigned to regions, so use randomization inference over the regions' roles"]
    if n_clusters < 30:
        caveats.append(f"{n_clusters} clusters ({cluster}): cluster-robust errors are approximate")
    if not np.isfinite(table["std_error"]).all():
        caveats.append("the two-way cluster variance is not positive here (Cameron-Gelbach-Miller can be negative); "
                       "use cluster='pair' or randomization inference")
    partial_years = sorted(rows.loc[rows["quality"].astype(str).str.contains("partial"), "year"].unique().tolist())
    if partial_years:
        caveats.append(f"{partial_years} may be partial years (a proportional shortfall is absorbed by the year "
                       "effects)")
    if int(fit._N) < len(rows):
        caveats.append(f"{len(rows) - int(fit._N)} row(s) dropped by pyfixest (pairs whose flows are all zero)")
    spec = {"estimator": "pair_did", "outcome": outcome, **settings.display(), "reference_year": reference,
            "years": years, "sending": labels.index[labels == SENDING].tolist(),
            "receiving": labels.index[labels == RECEIVING].tolist()}
    name = "PPML" if method == "ppml" else "log-linear OLS"
    return PairDIDResult(
        table=table, vcov=vcov, effect=(_TERM,), spec=spec, alpha=alpha, outcome=outcome, n_obs=int(fit._N), n_clusters=n_clusters,
        cluster=cluster, fixed_effects=("pair", "year"), caveats=tuple(caveats),
        method=f"pair-level DID of flows, {name} with pair and year effects (SE clustered by {cluster})",
        by_year=by_year, pairs=rows, labels=labels, settings=settings,
        permuted=partial(_permuted, rows=rows, regions=tuple(labels.index), settings=settings),
    )


def _targeted(rows: pd.DataFrame, labels: pd.Series) -> np.ndarray:
    return (rows["origin"].map(labels).to_numpy() == SENDING) & \
        (rows["destination"].map(labels).to_numpy() == RECEIVING)


def _permuted(matrix: np.ndarray, *, rows: pd.DataFrame, regions: tuple[str, ...],
              settings: PairDIDSettings) -> np.ndarray:
    """The effect for every relabelling (rows of ``matrix``: a label per region, in ``regions`` order).

    With every pair observed in every year both estimators have closed forms in pair-level
    sums, so all relabellings are a few matrix products (:func:`_closed_form`); otherwise each
    relabelling is re-fitted.
    """
    matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
    fast = _closed_form(matrix, rows, regions, settings.post_from, settings.method)
    if fast is not None:
        return fast
    import warnings

    from tqdm.auto import tqdm

    out = np.full(len(matrix), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in tqdm(range(len(matrix)), desc="pair DID re-fits", disable=len(matrix) < 50, leave=False):
            labels = pd.Series(matrix[i], index=list(regions))
            out[i] = _effect_only(rows, labels, settings)
    return out


def _effect_only(rows: pd.DataFrame, labels: pd.Series, settings: PairDIDSettings) -> float:
    pf = pyfixest()

    targeted = _targeted(rows, labels)
    data = rows.assign(treated_post=(targeted & (rows["year"] >= settings.post_from).to_numpy()).astype(float))
    if settings.method == "ppml":
        fit = pf.fepois("flow ~ treated_post | pair + year", data=data, vcov="iid")
    else:
        fit = pf.feols("log_flow ~ treated_post | pair + year", data=data.assign(log_flow=np.log(data["flow"])),
                       vcov="iid")
    return float(fit.coef()["treated_post"])


def _closed_form(matrix: np.ndarray, rows: pd.DataFrame, regions: tuple[str, ...], post_from: int,
                 method: str) -> np.ndarray | None:
    """Both pair DIDs for many labellings at once, when every pair is observed in every year.

    With pair and year effects and one common post period:

    * log-linear OLS: the coefficient is the mean post-minus-pre change of log flows over the
      targeted pairs minus that over the other pairs;
    * PPML: concentrating out the pair effects leaves a multinomial likelihood in which the
      data enter only through the targeted and other flows summed by year, and the first-order
      conditions then give ``b = logit(s_post) - logit(s_pre)``, ``s`` being the targeted pairs'
      share of all flows in the period (a log odds ratio).

    Returns ``None`` when the pairs are unbalanced (the caller then re-fits).
    """
    years = np.sort(rows["year"].unique())
    if (rows.groupby("pair").size() != len(years)).any():
        return None
    index = {r: i for i, r in enumerate(regions)}
    o = rows["origin"].map(index).to_numpy()
    d = rows["destination"].map(index).to_numpy()
    post = (rows["year"] >= post_from).to_numpy()
    k = len(regions)
    send = (matrix == SENDING).astype(float)
    receive = (matrix == RECEIVING).astype(float)

    def pair_sums(values: np.ndarray) -> np.ndarray:
        out = np.zeros((k, k))
        np.add.at(out, (o, d), values)
        return out

    def targeted_sum(pair_matrix: np.ndarray) -> np.ndarray:
        return np.einsum("ai,ij,aj->a", send, pair_matrix, receive)

    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "ppml":
            flow = rows["flow"].to_numpy(float)
            shares = []
            for period in (~post, post):
                sums = pair_sums(flow * period)
                targeted = targeted_sum(sums)
                shares.append(targeted / (sums.sum() - targeted))
            return np.log(shares[1]) - np.log(shares[0])
        log_flow = np.log(rows["flow"].to_numpy(float))
        n_post = int((years >= post_from).sum())
        change = pair_sums(log_flow * post) / n_post - pair_sums(log_flow * ~post) / (len(years) - n_post)
        present = pair_sums(np.ones(len(o))) > 0
        n_targeted = targeted_sum(present.astype(float))
        targeted = targeted_sum(change)
        return targeted / n_targeted - (change.sum() - targeted) / (present.sum() - n_targeted)
