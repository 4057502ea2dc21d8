"""Bad-input audit of kzcausal's public API (issue 14): run ``python tests/audit_script/audit.py``.

Each case calls the public API (``kz.*``, results' and checks' methods, ``kz.config``) with one bad
(or borderline but legitimate) input, in a forked process with a 30 s limit, and is classified:

a  a typed ``KzCausalError`` whose message names the argument/column and says the fix
b  a silent wrong answer: a result returned for invalid input, rows dropped without a report, or the
   caller's DataFrame changed
c  a raw exception (ValueError, KeyError, TypeError, LinAlgError ... from numpy/pandas/linearmodels)
d  a typed error whose message does not name the argument or say the fix (or a refusal of a huge request
   that took more than its time budget)
e  a hang (past 30 s)
f  correct behaviour on legitimate input: a result, with a loud caveat/warning where it is degenerate

Not collected by pytest (no ``test_`` names). ``--only SUBSTRING`` runs the cases whose name contains it;
``--verbose`` prints every case. Exit status 1 when any case is in b, c, d or e.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import sys
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

os.environ.setdefault("MPLBACKEND", "Agg")
for _threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")  # forked cases must not inherit busy thread pools (deadlocks)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import kzcausal as kz  # noqa: E402
from kzcausal.errors import KzCausalError, KzCausalWarning  # noqa: E402

TIMEOUT_S = 30
FIX_WORDS = re.compile(r"\b(fix|use|pass|give|drop|choose|set|add|remove|check|lower|raise|increase|reduce|"
                       r"select|keep|need|needs|must|try|call|rename|leave|only|build|name|widen|restrict)\b|"
                       r"its (variables|regions|columns)|their regions|one of", re.I)


@dataclass
class Case:
    name: str
    call: Callable
    kind: str  # "bad": must be refused; "degenerate": refused or a loud caveat; "ok": legitimate input
    keywords: tuple[str, ...] = ()
    max_s: float | None = None  # a refusal must come within this many seconds (resource guards)
    outcome: dict = field(default_factory=dict)


CASES: list[Case] = []


def bad(name: str, call: Callable, *keywords: str, max_s: float | None = None) -> None:
    CASES.append(Case(name, call, "bad", keywords, max_s))


def degenerate(name: str, call: Callable, *keywords: str) -> None:
    CASES.append(Case(name, call, "degenerate", keywords))


def ok(name: str, call: Callable) -> None:
    CASES.append(Case(name, call, "ok"))


class Mutated(Exception):
    """The caller's DataFrame was changed by the call."""


def unchanged(frame: pd.DataFrame, call: Callable) -> Callable:
    """Wrap ``call`` so that a change to ``frame`` (values, columns, index, dtypes) is reported as class b."""
    def run():
        before = frame.copy(deep=True)
        try:
            return call()
        finally:
            if not (before.columns.equals(frame.columns) and before.index.equals(frame.index)
                    and before.dtypes.equals(frame.dtypes) and before.equals(frame)):
                raise Mutated("the caller's DataFrame was modified")
    return run


# --------------------------------------------------------------------------- fixtures
def quiet(call: Callable):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call()


P, TRUTH = kz.simulate_panel(n_regions=14, years=range(2008, 2020), cohorts={2014: 5}, random_seed=11, effect=1.0)
PS, TRUTH_S = kz.simulate_panel(n_regions=14, years=range(2008, 2020), cohorts={2013: 3, 2016: 3},
                                random_seed=12, effect=1.0)
T = TRUTH.first_treated.dropna().index.tolist()
CONTROLS = [r for r in P.regions if r not in T]
KEEP = ["region", "year", "outcome", "treated", "first_treated", "grp", "population"]
BASE = P.to_frame()[KEEP]
BASE_S = PS.to_frame()[KEEP]


def panel_from(frame: pd.DataFrame, **kwargs):
    return kz.read_panel(frame, regions=None, **kwargs)


def variant(base: pd.DataFrame = BASE, **columns) -> pd.DataFrame:
    out = base.copy()
    for name, values in columns.items():
        out[name] = values(out) if callable(values) else values
    return out


def quiet_panel(frame: pd.DataFrame, **kwargs):
    return quiet(lambda: panel_from(frame, **kwargs))


rng = np.random.default_rng(0)
n_rows = len(BASE)
region_code = pd.factorize(BASE["region"])[0]
P_CONST = quiet_panel(variant(outcome=5.0))
P_X = quiet_panel(variant(
    x=rng.normal(size=n_rows), x2=lambda f: 2 * f["x"], region_const=region_code * 1.0,
    macro=np.where(region_code < 7, 1.0, 2.0),
    varying_cluster=np.where(np.arange(n_rows) % 2 == 0, 1.0, 2.0),
    one_cluster=1.0, year_const=lambda f: f["year"] * 0.5, treated_years=lambda f: f["first_treated"].fillna(0),
    switch=lambda f: np.where((f["year"] >= 2014) & (f["year"] < 2016) & f["region"].isin(T[:2]), 1, 0),
    always=1.0, never=0.0, xnan=lambda f: f["grp"].where(f.index % 17 != 3)))
P_NAN = quiet_panel(variant(outcome=lambda f: f["outcome"].where(f.index % 13 != 4)))
P_ALLNAN = quiet_panel(variant(outcome=np.nan))
P_GAP = quiet_panel(BASE.drop(index=[5, 30]), allow_gaps=True)
P_TWO = quiet_panel(BASE[BASE["region"].isin([T[0], CONTROLS[0]])])
P_ONE_TREATED = quiet_panel(variant(first_treated=lambda f: f["first_treated"].where(f["region"] == T[0]),
                                    treated=lambda f: f["treated"].where(f["region"] == T[0], 0)))
P_ALL_TREATED = quiet_panel(variant(first_treated=2014.0, treated=lambda f: (f["year"] >= 2014).astype(float)))
P_SHORT = quiet_panel(BASE[BASE["year"] >= 2013])  # one pre-period before 2014
P_TREND = quiet_panel(variant(outcome=lambda f: f["year"] - 2000.0))  # common trend only: effect exactly 0

R2 = kz.did_2x2(P, "outcome", treated=T, post_from=2014, cov="cluster")
R2_OLS = kz.did_2x2(P, "outcome", treated=T, post_from=2014)
RT = kz.twfe(P, "outcome", treatment="treated")
R2_MACRO = quiet(lambda: kz.did_2x2(P_X, "outcome", treated=T, post_from=2014, cov="cluster", cluster="macro", fixed_effects=True))
ES = quiet(lambda: kz.event_study(PS, "outcome", first_treated="first_treated"))
ES_SA = quiet(lambda: kz.event_study(PS, "outcome", first_treated="first_treated", method="sun_abraham"))
ES_NOPRE = quiet(lambda: kz.event_study(PS, "outcome", first_treated="first_treated", method="sun_abraham", leads=1, lags=2))
IM = quiet(lambda: kz.imputation_did(PS, "outcome", first_treated="first_treated"))
SD = quiet(lambda: kz.synthetic_did(P, "outcome", treated=T, post_from=2014, progress=False, draws=50, random_seed=1))
SC = quiet(lambda: kz.synthetic_control(P, "outcome", treated=T[:1], post_from=2014, random_seed=1))
AT = quiet(lambda: kz.staggered_did(PS, "outcome", first_treated="first_treated", progress=False))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    FLOWS = kz.load_migration_flows(2021).select(years=[2015, 2020, 2021, 2023, 2024])
    KZ = kz.load_kazakhstan(2021)
    ROWS = kz.gravity_data(FLOWS, KZ)
SERPIN = kz.datasets.serpin_regions()
SENDING = SERPIN.loc[SERPIN["role"] == "sending", "region"].tolist()
RECEIVING = SERPIN.loc[SERPIN["role"] == "receiving", "region"].tolist()


class Lazy:
    """A fixture fitted in the forked case, not in the parent: pyfixest's thread pools do not survive a fork."""

    def __init__(self, make):
        self._make, self._value = make, None

    def __getattr__(self, name):
        if self._value is None:
            self._value = quiet(self._make)
        return getattr(self._value, name)

    def get(self):
        self.__getattr__("method")
        return self._value


_GR = Lazy(lambda: kz.gravity_model(FLOWS, KZ))
_PD = Lazy(lambda: kz.pair_did(FLOWS, SENDING, RECEIVING, 2021))
RI = quiet(lambda: kz.randomization_inference(R2, 200, random_seed=0, progress=False))
HS = quiet(lambda: kz.honest_sensitivity(ES_SA, progress=False, grid_points=10))


def did(panel=P, **kw):
    args = dict(outcome="outcome", treated=T, post_from=2014)
    args.update(kw)
    return kz.did_2x2(panel, args.pop("outcome"), treated=args.pop("treated"), post_from=args.pop("post_from"), **args)


def tw(panel=P_X, **kw):
    args = dict(outcome="outcome", treatment="treated")
    args.update(kw)
    return kz.twfe(panel, args.pop("outcome"), treatment=args.pop("treatment"), **args)


def es(panel=PS, **kw):
    args = dict(outcome="outcome", first_treated="first_treated")
    args.update(kw)
    return kz.event_study(panel, args.pop("outcome"), first_treated=args.pop("first_treated"), **args)


def sdid(panel=P, **kw):
    args = dict(outcome="outcome", treated=T, post_from=2014, progress=False, n_reps=20, random_seed=0)
    args.update(kw)
    return kz.synthetic_did(panel, args.pop("outcome"), treated=args.pop("treated"), post_from=args.pop("post_from"), **args)


def sc(panel=P, **kw):
    args = dict(outcome="outcome", treated=T[:1], post_from=2014, random_seed=0)
    args.update(kw)
    return kz.synthetic_control(panel, args.pop("outcome"), treated=args.pop("treated"), post_from=args.pop("post_from"), **args)


def imp(panel=PS, two_stage=False, **kw):
    args = dict(outcome="outcome", first_treated="first_treated")
    args.update(kw)
    fn = kz.two_stage_did if two_stage else kz.imputation_did
    return fn(panel, args.pop("outcome"), args.pop("first_treated"), **args)


def att(panel=PS, **kw):
    args = dict(outcome="outcome", first_treated="first_treated", progress=False)
    args.update(kw)
    return kz.staggered_did(panel, args.pop("outcome"), first_treated=args.pop("first_treated"), **args)


def power(**kw):
    args = dict(n_sims=10, random_seed=0, progress=False)
    args.update(kw)
    return kz.power_analysis(P, "outcome", first_treated="first_treated", **args)


# --------------------------------------------------------------------------- cases: did_2x2
for value in (1.5, 0, -0.1, "0.05", True, float("nan")):
    bad(f"did_2x2 alpha={value!r}", lambda v=value: did(alpha=v), "alpha")
for value in (2014.5, "2014", True, None):
    bad(f"did_2x2 post_from={value!r}", lambda v=value: did(post_from=v), "post_from")
bad("did_2x2 post_from before the sample", lambda: did(post_from=1990), "post_from")
bad("did_2x2 post_from after the sample", lambda: did(post_from=2035), "post_from")
bad("did_2x2 post_from=first year (no pre period)", lambda: did(post_from=2008), "post_from")
bad("did_2x2 treated is one region as a string", lambda: did(treated=T[0]), "treated")
bad("did_2x2 treated unknown region", lambda: did(treated=["Atlantis"]), "Atlantis")
bad("did_2x2 treated empty list", lambda: did(treated=[]), "treated")
bad("did_2x2 treated None", lambda: did(treated=None), "treated")
bad("did_2x2 treated integers", lambda: did(treated=[1, 2]), "treated")
bad("did_2x2 every region treated", lambda: did(treated=P.regions), "control")
bad("did_2x2 treated duplicated", lambda: did(treated=[T[0], T[0]]), "treated")
bad("did_2x2 outcome unknown", lambda: did(outcome="outcom"), "outcom")
bad("did_2x2 outcome is the region column", lambda: did(outcome="region"), "region")
bad("did_2x2 outcome not a string", lambda: did(outcome=["outcome"]), "outcome")
bad("did_2x2 cov unknown", lambda: did(cov="clustered"), "cov")
bad("did_2x2 cluster column unknown", lambda: did(cov="cluster", cluster="state"), "state")
bad("did_2x2 cluster varies within region", lambda: did(P_X, cov="cluster", cluster="varying_cluster"),
    "varying_cluster")
bad("did_2x2 one cluster", lambda: did(P_X, cov="cluster", cluster="one_cluster"), "cluster")
bad("did_2x2 ssc unknown", lambda: did(cov="cluster", ssc="stata"), "ssc")
bad("did_2x2 fixed_effects as a string", lambda: did(fixed_effects="yes"), "fixed_effects")
bad("did_2x2 fixed_effects as an int", lambda: did(fixed_effects=2), "fixed_effects")
bad("did_2x2 panel is a DataFrame", lambda: did(BASE), "panel")
bad("did_2x2 constant outcome", lambda: did(P_CONST), "outcome")
bad("did_2x2 missing outcome rows", lambda: did(P_NAN), "outcome")
bad("did_2x2 all-NaN outcome", lambda: did(P_ALLNAN), "outcome")
degenerate("did_2x2 outcome with exact fit (zero residual)", lambda: did(P_TREND, cov="cluster"),
           "standard error", "zero")
ok("did_2x2 unbalanced panel (gaps allowed)", lambda: did(P_GAP))
ok("did_2x2 two regions, robust errors (caveat)", lambda: did(P_TWO, treated=[T[0]], cov="robust"))
degenerate("did_2x2 two clusters clustered", lambda: did(P_TWO, treated=[T[0]], cov="cluster"), "degenerate")
ok("did_2x2 one treated region", lambda: did(treated=T[:1]))

# --------------------------------------------------------------------------- twfe
bad("twfe treatment not 0/1", lambda: tw(treatment="outcome"), "outcome")
bad("twfe treatment is first_treated years", lambda: tw(treatment="first_treated"), "first_treated")
bad("twfe treatment switches off", lambda: tw(treatment="switch"), "switch")
bad("twfe treatment always 1", lambda: tw(treatment="always"), "always")
bad("twfe treatment never 1", lambda: tw(treatment="never"), "never")
bad("twfe treatment unknown", lambda: tw(treatment="treat"), "treat")
bad("twfe covariate unknown", lambda: tw(covariates=["gdp"]), "gdp")
bad("twfe covariate constant within regions", lambda: tw(covariates=["region_const"]), "region_const")
bad("twfe covariate constant within regions, robust cov", lambda: tw(covariates=["region_const"], cov="robust"),
    "region_const")
bad("twfe covariate absorbed by year effects", lambda: tw(covariates=["year_const"]), "year_const")
bad("twfe collinear covariates", lambda: tw(covariates=["x", "x2"]), "x2")
bad("twfe covariate duplicated", lambda: tw(covariates=["x", "x"]), "x")
bad("twfe covariate is the outcome", lambda: tw(covariates=["outcome"]), "outcome")
bad("twfe covariate is the treatment", lambda: tw(covariates=["treated"]), "treated")
bad("twfe covariate with NaN", lambda: tw(covariates=["xnan"]), "xnan")
bad("twfe covariates as an int", lambda: tw(covariates=5), "covariates")
bad("twfe cov unknown", lambda: tw(cov="hc1"), "cov")
bad("twfe alpha > 1", lambda: tw(alpha=2), "alpha")
bad("twfe alpha as string", lambda: tw(alpha="5%"), "alpha")
bad("twfe cluster varying", lambda: tw(cluster="varying_cluster"), "varying_cluster")
bad("twfe cluster one level", lambda: tw(cluster="one_cluster"), "cluster")
bad("twfe ssc unknown", lambda: tw(ssc="Stata"), "ssc")
bad("twfe constant outcome", lambda: tw(P_CONST), "outcome")
bad("twfe NaN outcome rows", lambda: tw(P_NAN), "outcome")
degenerate("twfe exact fit outcome", lambda: tw(P_TREND), "standard error", "zero")
ok("twfe robust cov", lambda: tw(cov="robust"))
ok("twfe driscoll-kraay", lambda: tw(cov="driscoll-kraay", covariates=["x"]))
ok("twfe covariates as one string", lambda: tw(covariates="x"))
ok("twfe clustered by macro region (few clusters caveat)", lambda: tw(cluster="macro"))
ok("twfe unbalanced", lambda: tw(P_GAP))

# --------------------------------------------------------------------------- event_study
bad("event_study method unknown", lambda: es(method="callaway"), "method")
for arg, value in (("leads", -1), ("leads", True), ("leads", 2.5), ("leads", "3"), ("lags", -2), ("lags", "2"),
                   ("lags", 1.5), ("lags", False)):
    bad(f"event_study {arg}={value!r}", lambda a=arg, v=value: es(**{a: v}), arg)
bad("event_study reference=0", lambda: es(reference=0), "reference")
bad("event_study reference far outside", lambda: es(reference=-100), "reference")
bad("event_study reference float", lambda: es(reference=-1.5), "reference")
bad("event_study reference bool", lambda: es(method="sun_abraham", reference=True), "reference")
for value in (-5, 2.5, True, "100"):
    bad(f"event_study n_boot={value!r}", lambda v=value: es(n_boot=v), "n_boot")
bad("event_study n_boot huge", lambda: es(n_boot=10**12), "n_boot", max_s=2)
bad("event_study random_seed string", lambda: es(n_boot=50, random_seed="abc"), "random_seed")
bad("event_study random_seed negative", lambda: es(n_boot=50, random_seed=-1), "random_seed")
bad("event_study alpha negative", lambda: es(alpha=-0.1), "alpha")
bad("event_study anticipation negative", lambda: es(anticipation=-1), "anticipation")
bad("event_study anticipation float", lambda: es(anticipation=1.5), "anticipation")
bad("event_study anticipation huge", lambda: es(anticipation=100, reference=-101), "anticipation")
bad("event_study anticipation with the default reference (CS)", lambda: es(anticipation=1), "reference=-2")
bad("event_study control_group unknown", lambda: es(control_group="never"), "control_group")
bad("event_study first_treated unknown column", lambda: es(first_treated="adoption"), "adoption")
bad("event_study first_treated is a 0/1 column", lambda: es(first_treated="treated"), "treated")
bad("event_study first_treated unknown region", lambda: es(first_treated={"Atlantis": 2014}), "Atlantis")
bad("event_study first_treated string year", lambda: es(first_treated={T[0]: "2014"}), "first_treated")
bad("event_study first_treated fractional year", lambda: es(first_treated={T[0]: 2014.5}), "2014.5")
bad("event_study first_treated a list", lambda: es(first_treated=[2014] * 3), "first_treated")
degenerate("event_study cohort after the sample (kept untreated, warned)",
           lambda: es(first_treated={T[0]: 2050, T[1]: 2014}), "2050")
bad("event_study cohort before the sample only",
    lambda: es(first_treated={T[0]: 1990}), "1990")
bad("event_study covariate unknown", lambda: es(P_X, method="sun_abraham", covariates=["gdp"]), "gdp")
bad("event_study covariate region-constant (SA)", lambda: es(P_X, method="sun_abraham", covariates=["region_const"]),
    "region_const")
bad("event_study covariate collinear (twfe)", lambda: es(P_X, method="twfe", covariates=["x", "x2"]), "x2")
bad("event_study cluster unknown", lambda: es(cluster="state"), "state")
bad("event_study ssc unknown", lambda: es(method="sun_abraham", ssc="x"), "ssc")
bad("event_study bin_endpoints string", lambda: es(method="twfe", bin_endpoints="no"), "bin_endpoints")
bad("event_study all treated, never-treated controls", lambda: es(P_ALL_TREATED), "control_group")
bad("event_study all treated at once, not-yet controls", lambda: es(P_ALL_TREATED, control_group="not_yet_treated"),
    "control")
bad("event_study constant outcome", lambda: es(P_CONST), "outcome")
bad("event_study all-NaN outcome", lambda: es(P_ALLNAN), "outcome")
ok("event_study NaN outcome rows (warned)", lambda: es(P_NAN))
ok("event_study sun_abraham unbalanced", lambda: es(P_GAP, method="sun_abraham"))
bad("event_study leads=0 with reference -1", lambda: es(method="twfe", leads=0, lags=2), "reference")

# --------------------------------------------------------------------------- staggered_did (not owned: reported)
bad("staggered_did method unknown", lambda: att(method="ols"), "method")
bad("staggered_did base_period unknown", lambda: att(base_period="fixed"), "base_period")
bad("staggered_did n_boot negative", lambda: att(n_boot=-1), "n_boot")
bad("staggered_did n_boot huge", lambda: att(n_boot=10**12), "n_boot", max_s=2)
bad("staggered_did n_boot float", lambda: att(n_boot=99.5), "n_boot")
bad("staggered_did alpha 1", lambda: att(alpha=1), "alpha")
bad("staggered_did covariate unknown", lambda: att(covariates=["gdp"]), "gdp")
bad("staggered_did unknown region in mapping", lambda: att(first_treated={"Atlantis": 2014}), "Atlantis")
bad("staggered_did all-NaN outcome", lambda: att(P_ALLNAN), "outcome")
bad("staggered_did constant outcome", lambda: att(P_CONST), "outcome")
bad("staggered_did aggregate kind unknown", lambda: AT.aggregate("weekly"), "weekly")
bad("staggered_did aggregate min_e > max_e", lambda: AT.aggregate("event", min_e=3, max_e=-3), "min_e")

# --------------------------------------------------------------------------- imputation_did / two_stage_did
for two in (False, True):
    tag = "two_stage_did" if two else "imputation_did"
    bad(f"{tag} leads negative", lambda t=two: imp(two_stage=t, leads=-1), "leads")
    bad(f"{tag} lags string", lambda t=two: imp(two_stage=t, lags="all"), "lags")
    bad(f"{tag} leads bool", lambda t=two: imp(two_stage=t, leads=True), "leads")
    bad(f"{tag} covariate unknown", lambda t=two: imp(P_X, two_stage=t, first_treated={T[0]: 2014, T[1]: 2015},
                                                     covariates=["gdp"]), "gdp")
    bad(f"{tag} covariate region-constant", lambda t=two: imp(P_X, two_stage=t, first_treated={T[0]: 2014},
                                                             covariates=["region_const"]), "region_const")
    bad(f"{tag} covariates collinear", lambda t=two: imp(P_X, two_stage=t, first_treated={T[0]: 2014},
                                                        covariates=["x", "x2"]), "x2")
    bad(f"{tag} cluster unknown", lambda t=two: imp(two_stage=t, cluster="state"), "state")
    bad(f"{tag} alpha 0", lambda t=two: imp(two_stage=t, alpha=0), "alpha")
    bad(f"{tag} first_treated unknown", lambda t=two: imp(two_stage=t, first_treated="adopt"), "adopt")
    bad(f"{tag} constant outcome", lambda t=two: imp(P_CONST, two_stage=t), "outcome")
    bad(f"{tag} all-NaN outcome", lambda t=two: imp(P_ALLNAN, two_stage=t), "outcome")
    bad(f"{tag} first_treated a 0/1 column", lambda t=two: imp(two_stage=t, first_treated="treated"), "treated")
    degenerate(f"{tag} exact fit outcome", lambda t=two: imp(P_TREND, two_stage=t), "standard error", "zero")
    ok(f"{tag} NaN outcome rows", lambda t=two: imp(P_NAN, two_stage=t))
    ok(f"{tag} unbalanced", lambda t=two: imp(P_GAP, two_stage=t))
bad("imputation_did ssc unknown", lambda: imp(ssc="x"), "ssc")
bad("imputation_did all regions treated at once", lambda: imp(P_ALL_TREATED), "treated")

# --------------------------------------------------------------------------- synthetic_did / synthetic_control
bad("synthetic_did variance unknown", lambda: sdid(variance="delta"), "variance")
for value in (0, -1, 2.5, True, "50"):
    bad(f"synthetic_did n_reps={value!r}", lambda v=value: sdid(n_reps=v), "n_reps")
bad("synthetic_did n_reps huge", lambda: sdid(n_reps=10**10), "n_reps", max_s=2)
bad("synthetic_did treated unknown", lambda: sdid(treated=["Atlantis"]), "Atlantis")
bad("synthetic_did treated empty", lambda: sdid(treated=[]), "treated")
bad("synthetic_did treated string region", lambda: sdid(treated=T[0]), "treated")
bad("synthetic_did all treated", lambda: sdid(treated=P.regions), "control")
bad("synthetic_did post_from after the sample", lambda: sdid(post_from=2030), "post_from")
bad("synthetic_did post_from first year", lambda: sdid(post_from=2008), "post_from")
bad("synthetic_did post_from float", lambda: sdid(post_from=2014.5), "post_from")
bad("synthetic_did post_from string", lambda: sdid(post_from="2014"), "post_from")
bad("synthetic_did alpha 5", lambda: sdid(alpha=5), "alpha")
bad("synthetic_did random_seed string", lambda: sdid(random_seed="x"), "random_seed")
bad("synthetic_did placebo with more treated than controls", lambda: sdid(treated=P.regions[:8]), "control")
degenerate("synthetic_did jackknife with one treated", lambda: sdid(treated=T[:1], variance="jackknife"), "jackknife")
bad("synthetic_did constant outcome", lambda: sdid(P_CONST), "outcome")
bad("synthetic_did NaN outcome", lambda: sdid(P_NAN), "outcome")
bad("synthetic_did unbalanced", lambda: sdid(P_GAP), "every year")
bad("synthetic_did outcome unknown", lambda: sdid(outcome="y"), "y")
bad("synthetic_did progress as string", lambda: sdid(progress="no"), "progress")
ok("synthetic_did bootstrap variance", lambda: sdid(variance="bootstrap"))
ok("synthetic_did one pre period", lambda: sdid(P_SHORT, n_reps=10))
bad("synthetic_control predictors unknown", lambda: sc(predictors=["gdp"]), "gdp")
bad("synthetic_control predictors NaN", lambda: sc(P_X, predictors=["xnan"]), "xnan")
bad("synthetic_control predictors int", lambda: sc(predictors=3), "predictors")
bad("synthetic_control average string", lambda: sc(average="no"), "average")
bad("synthetic_control treated unknown", lambda: sc(treated=["Atlantis"]), "Atlantis")
bad("synthetic_control treated empty", lambda: sc(treated=[]), "treated")
bad("synthetic_control all treated", lambda: sc(treated=P.regions), "control")
bad("synthetic_control post_from outside", lambda: sc(post_from=1999), "post_from")
bad("synthetic_control post_from float", lambda: sc(post_from=2014.0), "post_from")
bad("synthetic_control alpha negative", lambda: sc(alpha=-1), "alpha")
bad("synthetic_control constant outcome", lambda: sc(P_CONST), "outcome")
bad("synthetic_control NaN outcome", lambda: sc(P_NAN), "outcome")
degenerate("synthetic_control unbalanced (controls dropped, warned)", lambda: sc(P_GAP), "dropped")
bad("synthetic_control random_seed float", lambda: sc(random_seed=1.5), "random_seed")
ok("synthetic_control predictors as a string", lambda: sc(predictors="grp"))
ok("synthetic_control one pre period", lambda: sc(P_SHORT))

# --------------------------------------------------------------------------- gravity / pair DID
bad("gravity_model fixed_effects unknown", lambda: kz.gravity_model(FLOWS, KZ, fixed_effects="pair"),
    "fixed_effects")
bad("gravity_model cluster unknown", lambda: kz.gravity_model(FLOWS, KZ, cluster="region"), "cluster")
bad("gravity_model alpha 1", lambda: kz.gravity_model(FLOWS, KZ, alpha=1), "alpha")
bad("gravity_model alpha string", lambda: kz.gravity_model(FLOWS, KZ, alpha="0.05"), "alpha")
bad("gravity_model flows is a list", lambda: kz.gravity_model([1, 2, 3]), "flows")
bad("gravity_model FlowTable without a panel", lambda: kz.gravity_model(FLOWS), "panel")
bad("gravity_model rows missing a column", lambda: kz.gravity_model(ROWS.drop(columns=["flow"])), "flow")
NEG = ROWS.copy()
NEG.loc[NEG.index[:3], "flow"] = -5.0
bad("gravity_model negative flows", unchanged(NEG, lambda: kz.gravity_model(NEG)), "flow")
NANF = ROWS.copy()
NANF.loc[NANF.index[:3], "flow"] = np.nan
bad("gravity_model NaN flows", unchanged(NANF, lambda: kz.gravity_model(NANF)), "flow")
INFR = ROWS.copy()
INFR.loc[INFR.index[:2], "log_distance"] = np.inf
bad("gravity_model inf regressor", unchanged(INFR, lambda: kz.gravity_model(INFR)), "log_distance")
ZERO = ROWS.assign(flow=0.0)
bad("gravity_model all flows zero", unchanged(ZERO, lambda: kz.gravity_model(ZERO)), "flow")
DUP = pd.concat([ROWS, ROWS.iloc[:5]])
bad("gravity_model duplicated pair-years", unchanged(DUP, lambda: kz.gravity_model(DUP)), "duplicate")
bad("gravity_model distances not a frame", lambda: kz.gravity_model(FLOWS, KZ, distances="km"), "distances")
bad("gravity_model distances missing columns", lambda: kz.gravity_model(FLOWS, KZ, distances=pd.DataFrame({"a": [1]})),
    "distances")
ok("gravity_model origin-year+destination-year", lambda: kz.gravity_model(FLOWS, KZ,
                                                                          fixed_effects="origin-year+destination-year"))
bad("gravity_data panel missing", lambda: kz.gravity_data(FLOWS, None), "panel")
bad("pair_did sending empty", lambda: kz.pair_did(FLOWS, [], RECEIVING, 2021), "sending")
bad("pair_did sending a string", lambda: kz.pair_did(FLOWS, SENDING[0], RECEIVING, 2021), "sending")
bad("pair_did overlapping groups", lambda: kz.pair_did(FLOWS, SENDING, SENDING[:1] + RECEIVING, 2021), SENDING[0])
bad("pair_did unknown region", lambda: kz.pair_did(FLOWS, ["Atlantis"], RECEIVING, 2021), "Atlantis")
bad("pair_did post_from outside", lambda: kz.pair_did(FLOWS, SENDING, RECEIVING, 2030), "post_from")
bad("pair_did post_from before", lambda: kz.pair_did(FLOWS, SENDING, RECEIVING, 2000), "post_from")
bad("pair_did post_from float", lambda: kz.pair_did(FLOWS, SENDING, RECEIVING, 2021.5), "post_from")
bad("pair_did post_from bool", lambda: kz.pair_did(FLOWS, SENDING, RECEIVING, True), "post_from")
bad("pair_did method unknown", lambda: kz.pair_did(FLOWS, SENDING, RECEIVING, 2021, method="logit"), "method")
bad("pair_did cluster unknown", lambda: kz.pair_did(FLOWS, SENDING, RECEIVING, 2021, cluster="year"), "cluster")
bad("pair_did alpha 0", lambda: kz.pair_did(FLOWS, SENDING, RECEIVING, 2021, alpha=0), "alpha")
bad("pair_did flows a DataFrame", lambda: kz.pair_did(ROWS, SENDING, RECEIVING, 2021), "flows")
ok("pair_did ols", lambda: kz.pair_did(FLOWS, SENDING, RECEIVING, 2021, method="ols"))

# --------------------------------------------------------------------------- randomization inference
for value in (0, -1, 1, 2.5, True, "all", None):
    bad(f"randomization_inference assignments={value!r}",
        lambda v=value: kz.randomization_inference(R2, v, progress=False), "assignments")
bad("randomization_inference assignments 10^8", lambda: kz.randomization_inference(R2, 10**8, progress=False),
    "assignments", max_s=2)
bad("randomization_inference assignments 10^12 (fast path)",
    lambda: kz.randomization_inference(SD, 10**12, progress=False), "assignments", max_s=2)
bad("randomization_inference statistic unknown", lambda: kz.randomization_inference(R2, 100, statistic="z"),
    "statistic")
bad("randomization_inference level unknown", lambda: kz.randomization_inference(R2, 100, level="state"), "level")
bad("randomization_inference random_seed string",
    lambda: kz.randomization_inference(R2, 100, random_seed="x", progress=False), "random_seed")
bad("randomization_inference on a gravity result", lambda: kz.randomization_inference(_GR.get(), 100, progress=False),
    "gravity")
bad("randomization_inference result is a DataFrame", lambda: kz.randomization_inference(BASE, 100), "result")
bad("randomization_inference level cluster without clusters",
    lambda: kz.randomization_inference(R2, 100, level="cluster", progress=False), "cluster")
ok("randomization_inference exact on 2x2", lambda: kz.randomization_inference(R2, progress=False))
ok("randomization_inference on pair DID",
   lambda: kz.randomization_inference(_PD.get(), 50, random_seed=0, progress=False))
ok("randomization_inference t statistic", lambda: kz.randomization_inference(R2, 50, statistic="t",
                                                                            random_seed=0, progress=False))

# --------------------------------------------------------------------------- wild bootstrap
bad("wild_cluster_bootstrap weights unknown", lambda: kz.wild_cluster_bootstrap(R2, weights="normal"), "weights")
for value in (0, -1, 2.5, True, "all", None):
    bad(f"wild_cluster_bootstrap n_boot={value!r}", lambda v=value: kz.wild_cluster_bootstrap(R2, draws=v),
        "n_boot")
bad("wild_cluster_bootstrap n_boot 10^10", lambda: kz.wild_cluster_bootstrap(R2, draws=10**10), "n_boot",
    max_s=2)
bad("wild_cluster_bootstrap impose_null string", lambda: kz.wild_cluster_bootstrap(R2, impose_null="yes"),
    "impose_null")
bad("wild_cluster_bootstrap alpha 1", lambda: kz.wild_cluster_bootstrap(R2, alpha=1), "alpha")
bad("wild_cluster_bootstrap random_seed list", lambda: kz.wild_cluster_bootstrap(R2, random_seed=[1]),
    "random_seed")
degenerate("wild_cluster_bootstrap 2 clusters", lambda: kz.wild_cluster_bootstrap(R2_MACRO, draws=99),
           "cluster")
bad("wild_cluster_bootstrap on gravity result", lambda: kz.wild_cluster_bootstrap(_GR.get(), draws=99), "gravity")
bad("wild_cluster_bootstrap result None", lambda: kz.wild_cluster_bootstrap(None), "result")
ok("wild_cluster_bootstrap on an OLS-errors 2x2", lambda: kz.wild_cluster_bootstrap(R2_OLS, draws=99))
ok("wild_cluster_bootstrap on synthetic DID (or a typed refusal)",
   lambda: kz.wild_cluster_bootstrap(SD, draws=99))
ok("wild_cluster_bootstrap exact enumeration", lambda: kz.wild_cluster_bootstrap(RT, draws="exact"))

# --------------------------------------------------------------------------- pretrends / honest
bad("pretrend_test alpha 2", lambda: kz.pretrend_test(ES_SA, alpha=2), "alpha")
bad("pretrend_test power above 1", lambda: kz.pretrend_test(ES_SA, power=(1.5,)), "power")
bad("pretrend_test power a float", lambda: kz.pretrend_test(ES_SA, power=0.8), "power")
bad("pretrend_test n_sim 0", lambda: kz.pretrend_test(ES_SA, n_sim=0), "n_sim")
bad("pretrend_test n_sim huge", lambda: kz.pretrend_test(ES_SA, n_sim=10**12), "n_sim", max_s=2)
bad("pretrend_test n_sim float", lambda: kz.pretrend_test(ES_SA, n_sim=1e4), "n_sim")
bad("pretrend_test on a 2x2", lambda: kz.pretrend_test(R2), "event")
bad("pretrend_test without pre-periods", lambda: kz.pretrend_test(ES_NOPRE), "pre")
bad("pretrend_test random_seed string", lambda: kz.pretrend_test(ES_SA, random_seed="x"), "random_seed")
bad("honest_sensitivity restriction unknown", lambda: kz.honest_sensitivity(ES_SA, restriction="monotone"),
    "restriction")
bad("honest_sensitivity Mbar strings", lambda: kz.honest_sensitivity(ES_SA, restriction="relative_magnitude",
                                                                     Mbar=["a"]), "Mbar")
bad("honest_sensitivity Mbar negative", lambda: kz.honest_sensitivity(ES_SA, restriction="relative_magnitude",
                                                                      Mbar=[-1]), "Mbar")
bad("honest_sensitivity Mbar NaN", lambda: kz.honest_sensitivity(ES_SA, restriction="relative_magnitude",
                                                                 Mbar=[np.nan]), "Mbar")
ok("honest_sensitivity Mbar scalar (one bound)",
   lambda: kz.honest_sensitivity(ES_SA, restriction="relative_magnitude", Mbar=1, progress=False))
bad("honest_sensitivity M negative", lambda: kz.honest_sensitivity(ES_SA, M=[-0.5]), "M")
bad("honest_sensitivity M inf", lambda: kz.honest_sensitivity(ES_SA, M=[np.inf]), "M")
bad("honest_sensitivity M empty", lambda: kz.honest_sensitivity(ES_SA, M=[]), "M")
bad("honest_sensitivity Mbar with smoothness", lambda: kz.honest_sensitivity(ES_SA, Mbar=[1.0]), "Mbar")
bad("honest_sensitivity target out of range", lambda: kz.honest_sensitivity(ES_SA, target=99), "target")
bad("honest_sensitivity target unknown", lambda: kz.honest_sensitivity(ES_SA, target="middle"), "target")
bad("honest_sensitivity target negative (a pre-period)", lambda: kz.honest_sensitivity(ES_SA, target=-3), "target")
bad("honest_sensitivity alpha 0", lambda: kz.honest_sensitivity(ES_SA, alpha=0), "alpha")
bad("honest_sensitivity method unknown", lambda: kz.honest_sensitivity(ES_SA, method="bayes"), "method")
bad("honest_sensitivity grid_points 0", lambda: kz.honest_sensitivity(ES_SA, grid_points=0), "grid_points")
bad("honest_sensitivity grid_points float", lambda: kz.honest_sensitivity(ES_SA, grid_points=10.5), "grid_points")
bad("honest_sensitivity grid_points huge", lambda: kz.honest_sensitivity(ES_SA, grid_points=10**9), "grid_points",
    max_s=2)
bad("honest_sensitivity M grid huge", lambda: kz.honest_sensitivity(ES_SA, M=np.linspace(0, 1, 10**7)), "M",
    max_s=2)
bad("honest_sensitivity on a 2x2", lambda: kz.honest_sensitivity(R2), "event")
bad("honest_sensitivity without pre-periods", lambda: kz.honest_sensitivity(ES_NOPRE), "pre")

# --------------------------------------------------------------------------- refits
for value in ([0], [-1], [100], "1", [1.5], [True], [], 2):
    bad(f"placebo_in_time shifts={value!r}", lambda v=value: kz.placebo_in_time(R2, v), "shifts")
bad("placebo_in_time on gravity result", lambda: kz.placebo_in_time(_GR.get()), "gravity")
ok("placebo_in_time on twfe", lambda: kz.placebo_in_time(RT, [1, 2]))
bad("leave_one_out by unknown", lambda: kz.leave_one_out(R2, by="state"), "by")
bad("leave_one_out by int", lambda: kz.leave_one_out(R2, by=1), "by")
bad("leave_one_out on gravity result", lambda: kz.leave_one_out(_GR.get()), "gravity")
degenerate("leave_one_out one treated region", lambda: kz.leave_one_out(did(treated=T[:1])), "not estimable")
ok("leave_one_out on synthetic control", lambda: kz.leave_one_out(SC))
bad("placebo_outcome unknown outcome", lambda: kz.placebo_outcome(R2, P, ["gdp"]), "gdp")
bad("placebo_outcome empty list", lambda: kz.placebo_outcome(R2, P, []), "outcomes")
bad("placebo_outcome outcomes as int", lambda: kz.placebo_outcome(R2, P, 5), "outcomes")
bad("placebo_outcome the same outcome", lambda: kz.placebo_outcome(R2, P, ["outcome"]), "outcome")
bad("placebo_outcome other panel's regions", lambda: kz.placebo_outcome(R2, KZ, ["grp"]), "region-years", "'grp'")
degenerate("placebo_outcome constant placebo outcome", lambda: kz.placebo_outcome(R2, P_X, ["always"]), "always")
ok("placebo_outcome outcomes a string", lambda: kz.placebo_outcome(R2, P, "grp"))

# --------------------------------------------------------------------------- bacon
bad("bacon_decomposition outcome unknown", lambda: kz.bacon_decomposition(P, "y", treatment="treated"), "y")
bad("bacon_decomposition treatment not 0/1", lambda: kz.bacon_decomposition(P, "outcome", treatment="grp"), "grp")
bad("bacon_decomposition treatment switches off", lambda: kz.bacon_decomposition(P_X, "outcome", treatment="switch"),
    "switch")
bad("bacon_decomposition constant outcome", lambda: kz.bacon_decomposition(P_CONST, "outcome", treatment="treated"),
    "outcome")
bad("bacon_decomposition NaN outcome", lambda: kz.bacon_decomposition(P_NAN, "outcome", treatment="treated"), "outcome")
bad("bacon_decomposition unbalanced", lambda: kz.bacon_decomposition(P_GAP, "outcome", treatment="treated"), "balanced")
bad("bacon_decomposition treatment always 1", lambda: kz.bacon_decomposition(P_X, "outcome", treatment="always"), "always")
bad("bacon_decomposition treatment never 1", lambda: kz.bacon_decomposition(P_X, "outcome", treatment="never"), "never")
ok("bacon_decomposition staggered", lambda: kz.bacon_decomposition(PS, "outcome", treatment="treated"))

# --------------------------------------------------------------------------- power
for arg, value in (("n_sims", 0), ("n_sims", -3), ("n_sims", 2.5), ("n_sims", True), ("target", 1.5),
                   ("target", 0), ("alpha", 1.0), ("n_draws", 0), ("n_draws", 1.5), ("effects", []),
                   ("effects", ["big"]), ("effects", [np.nan]), ("effects", 1.0), ("inference", ["bayes"]),
                   ("estimators", {"x": 5}), ("estimators", ["twfe"]), ("random_seed", "s")):
    bad(f"power_analysis {arg}={value!r}", lambda a=arg, v=value: power(**{a: v}), arg)
bad("power_analysis n_sims huge", lambda: power(n_sims=10**9), "n_sims", max_s=2)
bad("power_analysis n_draws huge with RI", lambda: power(inference=["randomization"], n_draws=10**9), "n_draws",
    max_s=2)
bad("power_analysis first_treated unknown", lambda: kz.power_analysis(P, "outcome", first_treated="adopt", n_sims=10), "adopt")
bad("power_analysis constant outcome", lambda: kz.power_analysis(P_CONST, "outcome", first_treated="first_treated", n_sims=10,
                                                                progress=False), "outcome")
ok("power_analysis small", lambda: power(effects=[0.0, 1.0]))

# --------------------------------------------------------------------------- results' methods
bad("result.refit unknown outcome", lambda: R2.refit(outcome="y"), "y")
bad("result.refit cohorts unknown region", lambda: R2.refit(cohorts={"Atlantis": 2014}), "Atlantis")
bad("result.refit data missing columns", lambda: R2.refit(BASE[["region", "year"]]), "outcome")
bad("result.refit data not a frame", lambda: R2.refit("rows"), "data")
bad("result.plot ax not an Axes", lambda: R2.plot(ax="left"), "ax")
bad("event study plot ax not an Axes", lambda: ES.plot(ax=5), "ax")
bad("check plot ax not an Axes", lambda: RI.plot(ax=[1]), "ax")
bad("honest plot ax not an Axes", lambda: HS.plot(ax="x"), "ax")
ok("result.summary/to_frame/to_xarray", lambda: (R2.summary(), R2.to_frame(), R2.to_xarray()))
ok("event study to_frame/summary/to_xarray", lambda: (ES.summary(), ES.to_frame(), ES.to_xarray()))
ok("synthetic results' summaries and plots", lambda: (SD.summary(), SD.plot(), SC.summary(), SC.plot()))
ok("gravity and pair results' tables", lambda: (_GR.summary(), _GR.to_frame(), _PD.summary(), _PD.to_frame()))
ok("check to_frame/summary/plot", lambda: (RI.to_frame(), RI.summary(), RI.plot(), HS.to_frame(), HS.plot()))
bad("regression_table of strings", lambda: kz.regression_table(["a", "b"]), "result")
bad("regression_table digits negative", lambda: kz.regression_table([R2], digits=-1), "digits")

# --------------------------------------------------------------------------- config / parallel
bad("config backend unknown", lambda: kz.config("spark"), "backend")
bad("config backend int", lambda: kz.config(1), "backend")
bad("config workers 0", lambda: kz.config("dask", workers=0), "workers")
bad("config workers negative", lambda: kz.config("dask", workers=-2), "workers")
bad("config workers float", lambda: kz.config("dask", workers=2.5), "workers")
bad("config workers bool", lambda: kz.config("dask", workers=True), "workers")
bad("config workers huge", lambda: kz.config("dask", workers=10**6), "workers", max_s=5)
bad("config client not a client", lambda: kz.config("dask", client="tcp://nowhere:1"), "client")
bad("config serial with workers", lambda: kz.config("serial", workers=4), "workers")

# --------------------------------------------------------------------------- panel (not owned: reported)
DUPROWS = pd.concat([BASE, BASE.iloc[:3]])
bad("read_panel duplicated region-years", unchanged(DUPROWS, lambda: panel_from(DUPROWS)), "duplicate")
FRACYEAR = variant(year=lambda f: f["year"] + 0.5)
bad("read_panel fractional years", unchanged(FRACYEAR, lambda: panel_from(FRACYEAR)), "year")
bad("read_panel region column unknown", lambda: panel_from(BASE, region="state"), "state")
NANREG = variant(region=lambda f: f["region"].where(f.index != 7))
bad("read_panel missing region label", unchanged(NANREG, lambda: panel_from(NANREG)), "region")
INFOUT = variant(outcome=lambda f: f["outcome"].where(f.index != 9, np.inf))
bad("read_panel inf outcome", unchanged(INFOUT, lambda: panel_from(INFOUT)), "outcome")
bad("DIDDesign anticipation negative",
    lambda: kz.DIDDesign.from_panel(PS, "outcome", "first_treated", anticipation=-1), "anticipation")
bad("DIDDesign control_group unknown",
    lambda: kz.DIDDesign.from_panel(PS, "outcome", "first_treated", control_group="all"), "control_group")


# --------------------------------------------------------------------------- more borderline windows and samples
bad("did_2x2 post_from numpy float", lambda: did(post_from=np.float64(2014)), "post_from")
ok("event_study leads beyond the data (binned)", lambda: es(method="sun_abraham", leads=50))
ok("event_study lags beyond the data", lambda: es(method="twfe", lags=50))
ok("imputation_did lags beyond the data", lambda: imp(lags=100))
ok("synthetic_control one control region", lambda: sc(treated=P.regions[:-1][:12]))
ok("synthetic_did one post period", lambda: sdid(post_from=2019))
ok("randomization_inference exact on synthetic control", lambda: kz.randomization_inference(SC, progress=False))
bad("wild_cluster_bootstrap exact with webb weights", lambda: kz.wild_cluster_bootstrap(R2, weights="webb",
                                                                                   draws="exact"), "exact")
bad("leave_one_out by cohort with one cohort", lambda: kz.leave_one_out(R2, by="cohort"), "cohort")
ok("pretrend_test on imputation result", lambda: kz.pretrend_test(IM))
ok("placebo_in_time on synthetic DID", lambda: kz.placebo_in_time(SD, [1, 2]))
ok("honest_sensitivity average target", lambda: kz.honest_sensitivity(ES_SA, target="average", progress=False,
                                                                      grid_points=10))
ok("gravity_model clustered by origin", lambda: kz.gravity_model(FLOWS, KZ, cluster="origin"))


# --------------------------------------------------------------------------- more objects and mappings
bad("extra: did_2x2 named group on a non-Kazakhstan panel", lambda: did(treated="serpin_receiving"), "treated")
bad("extra: result.refit cohorts with a string year", lambda: R2.refit(cohorts={T[0]: "2014"}), "cohorts")
bad("extra: result.refit outcome not a column", lambda: R2.refit(outcome=5), "outcome")
bad("extra: event_study cs covariate with NaN", lambda: es(P_X, covariates=["xnan"]), "xnan")
bad("extra: imputation_did cluster varying within region", lambda: imp(P_X, first_treated={T[0]: 2014},
                                                                      cluster="varying_cluster"), "varying_cluster")
bad("extra: synthetic_did treated a dict", lambda: sdid(treated={T[0]: 2014}), "treated")
bad("extra: twfe cluster unknown", lambda: tw(cluster="state"), "state")
bad("extra: randomization_inference level cluster on pair DID", lambda: kz.randomization_inference(
    _PD.get(), 100, level="cluster", progress=False), "cluster")
bad("extra: honest_sensitivity on a check result", lambda: kz.honest_sensitivity(RI), "RandomizationResult")
bad("extra: pretrend_test on None", lambda: kz.pretrend_test(None), "NoneType")
bad("extra: placebo_in_time shifts None", lambda: kz.placebo_in_time(R2, None), "shifts")
bad("extra: leave_one_out on a check result", lambda: kz.leave_one_out(RI), "result")
bad("extra: power_analysis panel a DataFrame", lambda: kz.power_analysis(BASE, "outcome", first_treated="first_treated",
                                                                          n_sims=10), "panel")
bad("extra: bacon_decomposition panel a DataFrame", lambda: kz.bacon_decomposition(BASE, "outcome", treatment="treated"),
    "panel")
bad("extra: synthetic_control predictors include the outcome", lambda: sc(predictors=["outcome", "outcome"]),
    "predictors")


# --------------------------------------------------------------------------- running and classifying
def _message_mentions(message: str, keywords: tuple[str, ...]) -> bool:
    low = message.lower()
    return all(k.lower() in low for k in keywords)


def _run_in_child(case: Case, conn) -> None:
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = case.call()
        loud = [str(w.message) for w in caught
                if issubclass(w.category, (KzCausalWarning, RuntimeWarning, UserWarning))]
        caveats = []
        for item in value if isinstance(value, tuple) else (value,):
            caveats += [str(c) for c in getattr(item, "caveats", ()) or ()]
        conn.send(dict(status="returned", elapsed=time.perf_counter() - start, warnings=loud, caveats=caveats,
                       value=type(value).__name__))
    except Mutated as exc:
        conn.send(dict(status="mutated", elapsed=time.perf_counter() - start, message=str(exc)))
    except BaseException as exc:  # noqa: BLE001 - the audit classifies every exception
        conn.send(dict(status="raised", elapsed=time.perf_counter() - start, type=type(exc).__name__,
                       module=type(exc).__module__, typed=isinstance(exc, KzCausalError), message=str(exc),
                       where="".join(traceback.format_tb(exc.__traceback__)[-1:]).strip()))
    finally:
        conn.close()


def run_case(case: Case) -> dict:
    parent, child = mp.Pipe(duplex=False)
    process = mp.get_context("fork").Process(target=_run_in_child, args=(case, child))
    process.start()
    child.close()
    if parent.poll(TIMEOUT_S):
        try:
            out = parent.recv()
        except EOFError:
            out = dict(status="crashed", elapsed=float("nan"))
        process.join(5)
    else:
        out = dict(status="hang", elapsed=TIMEOUT_S)
    if process.is_alive():
        process.kill()
        process.join()
    return out


def classify(case: Case, out: dict) -> tuple[str, str]:
    status = out["status"]
    if status == "hang":
        return "e", f"no answer within {TIMEOUT_S} s"
    if status == "crashed":
        return "c", f"the process died (exit without an answer)"
    if status == "mutated":
        return "b", out["message"]
    if status == "raised":
        head = f"{out['type']}: {out['message'][:300]}"
        if not out["typed"]:
            return "c", f"{head}\n      at {out['where'][:200]}"
        if case.kind == "ok":
            return "a", head  # a typed refusal of borderline input
        if not _message_mentions(out["message"], case.keywords):
            return "d", f"does not mention {list(case.keywords)}: {head}"
        if not FIX_WORDS.search(out["message"]):
            return "d", f"says no fix: {head}"
        if case.max_s is not None and out["elapsed"] > case.max_s:
            return "d", f"refused only after {out['elapsed']:.1f} s (budget {case.max_s} s): {head}"
        return "a", head
    # returned
    loud = out["warnings"] + out["caveats"]
    if case.kind == "ok":
        return "f", f"{out['value']} in {out['elapsed']:.2f} s"
    if case.kind == "degenerate" and any(_message_mentions(text, case.keywords[:1]) for text in loud):
        return "f", f"{out['value']} with a caveat/warning"
    return "b", f"returned {out['value']} (warnings: {[w[:120] for w in loud][:3]})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    cases = [c for c in CASES if args.only in c.name]
    counts: Counter = Counter()
    problems = []
    for i, case in enumerate(cases, 1):
        out = run_case(case)
        label, detail = classify(case, out)
        counts[label] += 1
        if label not in ("a", "f"):
            problems.append((label, case.name, detail))
        if args.verbose:
            print(f"[{i:3d}/{len(cases)}] {label} {case.name}: {detail[:200]}", flush=True)
    names = dict(a="typed, names the argument, says the fix", b="silent wrong answer", c="raw exception",
                 d="unhelpful typed message", e="hang", f="correct on legitimate input / loud caveat")
    print(f"\n{len(cases)} cases")
    print(f"{'class':<6}{'count':>6}  meaning")
    for label in "abcdef":
        print(f"{label:<6}{counts[label]:>6}  {names[label]}")
    if problems:
        print("\nCases in b, c, d, e:")
        for label, name, detail in sorted(problems):
            print(f"  ({label}) {name}\n      {detail}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
