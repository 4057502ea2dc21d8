"""Round-3 audit cases of kzcausal's public API and CLI (run them with ``run_audit.py``).

Each case is a name, a class letter (a-g, see README.md), a callable (API) or an argv of the
``kzcausal`` console script (CLI), what a correct outcome is (``want``) and how to judge it:

``expect="error"``  the input must be refused with a KzCausalError whose message names ``keywords``
                    (each keyword may list alternatives separated by ``|``) and gives a fix;
                    ``cost=True``: a size refusal must state the cost or cap; ``max_s``: within so
                    many seconds (up front, not after the work)
``expect="ok"``     the input is legitimate: the call must return and ``check(value, warnings)``
                    must return None (a string describes the wrong answer); a refusal is unhelpful
``expect="either"`` a refusal (judged as for "error") or a result that passes ``check``

Fixtures are built here, in the parent, only when cheap (simulated panels); anything that fits a
model is built inside the case (forked child), since thread pools do not survive a fork.
"""

from __future__ import annotations

import html
import io
import math
import os
import re
import tempfile
import unicodedata
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import kzcausal as kz  # noqa: E402
from kzcausal.report import ReportSpec  # noqa: E402


@dataclass
class Case:
    name: str
    cls: str
    target: str                                  # the public function / CLI option exercised
    call: Callable | None = None
    argv: list[str] | None = None
    setup: Callable | None = None                # CLI: writes files into the case's folder, returns {name: path}
    expect: str = "error"
    want: str = ""
    keywords: tuple[str, ...] = ()
    check: Callable | None = None
    cost: bool = False
    max_s: float | None = None
    timeout: float | None = None


CASES: list[Case] = []


def case(name, cls, target, call=None, *, argv=None, setup=None, expect="error", want="", keywords=(), check=None,
         cost=False, max_s=None, timeout=None):
    if any(c.name == name for c in CASES):
        raise AssertionError(f"duplicate case name {name!r}")
    CASES.append(Case(name, cls, target, call, argv, setup, expect, want, tuple(keywords), check, cost, max_s,
                      timeout))


def refuse(name, cls, target, call, *keywords, want="a typed error naming the argument, with a fix", **kw):
    case(name, cls, target, call, expect="error", want=want, keywords=keywords, **kw)


def big(name, target, call, *keywords, want="refused up front with the cost/cap, before any work", **kw):
    case(name, "b", target, call, expect="error", want=want, keywords=keywords, cost=True,
         max_s=kw.pop("max_s", 15), **kw)


def ok(name, cls, target, call, check=None, *, want="a correct result", **kw):
    case(name, cls, target, call, expect="ok", want=want, check=check, **kw)


def either(name, cls, target, call, check=None, *keywords, want="a typed refusal or a correct result", **kw):
    case(name, cls, target, call, expect="either", want=want, check=check, keywords=keywords, **kw)


# =========================================================================== fixtures (cheap)
def quiet(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call()


P, TRUTH = kz.simulate_panel(n_regions=12, years=range(2008, 2018), cohorts={2012: 3, 2014: 3}, random_seed=1)
P1, TRUTH1 = kz.simulate_panel(n_regions=12, years=range(2008, 2018), cohorts={2013: 4}, random_seed=2)
PS, TRUTH_S = kz.simulate_panel(n_regions=8, years=range(2008, 2016), cohorts={2011: 2, 2013: 2}, random_seed=4)
BASE = P.to_frame()
BASE1 = P1.to_frame()
BASE_S = PS.to_frame()
REGIONS1 = P1.regions
TREATED1 = TRUTH1.first_treated.dropna().index.tolist()
RNG = np.random.default_rng(3)


def panel_of(frame: pd.DataFrame, **kw) -> kz.RegionPanel:
    return quiet(lambda: kz.read_panel(frame, regions=None, **kw))


def renamed(names: dict[str, str], base: pd.DataFrame = BASE1) -> pd.DataFrame:
    frame = base.copy()
    frame["region"] = frame["region"].map(lambda r: names.get(r, r))
    return frame


def with_column(name: str, base: pd.DataFrame = BASE, values=None) -> pd.DataFrame:
    frame = base.copy()
    frame[name] = RNG.normal(size=len(frame)) if values is None else values
    return frame


DERIVED = list(kz.panel.core.DERIVED_INDICATORS) if hasattr(kz, "panel") else []


def scaled(factor: float = 1.0, offset: float = 0.0, base: pd.DataFrame = BASE1, column: str = "outcome"):
    """``base`` with ``column`` x factor + offset; the derived indicators are left for the reader to recompute."""
    frame = base.drop(columns=[c for c in DERIVED if c in base.columns])
    frame[column] = frame[column] * factor + offset
    return frame


def tmpdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="kzaudit3-"))


def write_text(name: str, text: str, encoding: str = "utf-8", prefix: bytes = b"") -> Path:
    path = tmpdir() / name
    path.write_bytes(prefix + text.encode(encoding, "surrogatepass" if encoding.startswith("utf") else "strict"))
    return path


@lru_cache(maxsize=None)
def flows21():
    return quiet(lambda: kz.load_migration_flows(2021))


@lru_cache(maxsize=None)
def kz21():
    return quiet(lambda: kz.load_kazakhstan(2021))


@lru_cache(maxsize=None)
def flows_gravity():
    return flows21().select(years=[2015, 2020, 2021])


@lru_cache(maxsize=None)
def did1():
    return quiet(lambda: kz.did_2x2(P1, "outcome", first_treated="first_treated"))


@lru_cache(maxsize=None)
def es_sa():
    return quiet(lambda: kz.event_study(P, "outcome", first_treated="first_treated", method="sun_abraham"))


SERPIN = kz.datasets.serpin_regions()
SENDING = SERPIN.loc[SERPIN["role"] == "sending", "region"].tolist()
RECEIVING = SERPIN.loc[SERPIN["role"] == "receiving", "region"].tolist()

# hostile text
H_SCRIPT = "<script>alert(1)</script>"
H_IMG = "<img src=x onerror=alert(1)>"
H_PIPE = "left|right"
H_NL = "line1\nline2"
H_BLANK = "para1\n\npara2"
H_TEX = r"\input{/etc/passwd}"
H_MATH = r"$\alpha^2$ index"
H_BADMATH = r"$\undefinedmacro$ x"
H_AMP = "R&D 50% #1 ~x_y^z {a}"
H_MD = "**bold** _it_ `code` [link](http://x)"
H_CTRL = "ctl\x00\x07\x1b[31mred"
H_LONG = "L" * 100_000
H_SURR = "bad\ud800name"
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# =========================================================================== checks
def latex_escape(text: str) -> str:
    from kzcausal.report.tables import esc

    return esc(text)


def danger(text: str, fmt: str, hostile: str) -> str | None:
    """How ``hostile`` (user text) shows up as markup, or breaks the format, in ``text`` (None: safe)."""
    if CONTROL.search(hostile) and CONTROL.search(text):
        found = sorted({hex(ord(c)) for c in CONTROL.findall(text)})
        return f"raw control character(s) {found} written into the {fmt} output"
    if fmt == "html":
        for tag in ("<script>alert", "<img src=x"):
            if tag in hostile and tag in text:
                return f"raw {tag}...> from user text in the HTML (markup, not text)"
        return None
    if fmt == "md":
        for tag in ("<script>alert", "<img src=x"):
            if tag in hostile and tag in text:
                return f"raw {tag}...> from user text in the Markdown (rendered as HTML)"
        if "**bold**" in hostile and ("**bold**" in text or "`code`" in text or "[link](" in text):
            return "Markdown emphasis/code/link markup from user text left unescaped"
        if "\n" in hostile:
            first, _, rest = hostile.partition("\n")
            if first + "\n" in text:
                return "a newline in user text splits a Markdown table row"
        if "|" in hostile and hostile in text:
            return "a '|' in user text is an unescaped Markdown cell delimiter"
        return None
    if fmt == "tex":
        if r"\input" in hostile and r"\input{" in text:
            return r"raw \input{...} from user text in the LaTeX (executed by TeX)"
        if "$" in hostile and re.search(r"(?<!\\)\$\\alpha", text):
            return "unescaped $...$ math from user text in the LaTeX"
        if "\n\n" in hostile and "para1\n\npara2" in text:
            return "a blank line from user text inside a LaTeX tabular cell (TeX error: paragraph in cell)"
        if "&" in hostile and "R&D" in text:
            return "an unescaped & from user text (a LaTeX column separator)"
        return None
    raise ValueError(fmt)


def safe_in(fmt: str, hostile: str, *, must_show: bool = False):
    """A check: the value (a string, or a function making one) shows ``hostile`` safely in format ``fmt``."""
    def check(value, _warnings):
        text = value
        problem = danger(text, fmt, hostile)
        if problem:
            return problem
        if must_show:
            shown = {"html": html.escape(hostile), "tex": latex_escape(hostile), "md": hostile}[fmt]
            if shown not in text and hostile[:20] not in text:
                return f"user text {hostile[:30]!r} does not appear in the {fmt} output"
        return None
    return check


def render(ax_or_fig):
    """Draw a figure to PNG as a user saving it would; returns (texts shown, PNG size)."""
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    fig = getattr(ax_or_fig, "figure", ax_or_fig)
    if isinstance(ax_or_fig, np.ndarray):
        fig = ax_or_fig.ravel()[0].figure
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60, bbox_inches="tight")
    texts = [(t.get_text(), bool(t._preprocess_math(t.get_text())[1])) for t in fig.findobj(Text) if t.get_text()]
    size = fig.get_size_inches() * fig.dpi
    plt.close(fig)
    return dict(texts=texts, png=len(buffer.getvalue()), size=tuple(size))


def figure_safe(fragment: str):
    def check(value, _warnings):
        math_texts = [t for t, is_math in value["texts"] if is_math and fragment in t]
        if math_texts:
            return f"user text rendered as mathtext (TeX markup) in figure label {math_texts[0][:50]!r}"
        if not any(fragment in t for t, _ in value["texts"]):
            return None, "the name does not reach this figure's labels"
        return None
    return check


def finite_result(result) -> str | None:
    table = result.table
    bad = table[["estimate", "std_error"]].replace([np.inf, -np.inf], np.nan).isna().any(axis=1)
    if bad.any():
        return f"non-finite estimate/std_error for terms {table.index[bad].tolist()[:4]}"
    return None


def scaled_like(reference: Callable, factor: float, *, rtol: float = 1e-6, attr: str = "effect_estimate",
                se: bool = True):
    """The result equals the reference result times ``factor`` (estimate and standard error)."""
    def check(value, _warnings):
        ref = quiet(reference)
        got, want = float(getattr(value, attr)), float(getattr(ref, attr)) * factor
        if not np.isfinite(got):
            return f"{attr} = {got} (the unscaled data give {getattr(ref, attr):.6g}, so {want:.6g} is right)"
        if not math.isclose(got, want, rel_tol=rtol, abs_tol=0):
            return f"{attr} = {got:.8g}, should be {want:.8g} (reference x {factor:g}; rel err {abs(got / want - 1):.1e})"
        if se and hasattr(value, "table"):
            row_v = value.effect_table().iloc[0] if hasattr(value, "effect_table") else value.table.iloc[0]
            row_r = ref.effect_table().iloc[0] if hasattr(ref, "effect_table") else ref.table.iloc[0]
            s_got, s_want = float(row_v["std_error"]), float(row_r["std_error"]) * abs(factor)
            if np.isfinite(s_want) and not (np.isfinite(s_got) and math.isclose(s_got, s_want, rel_tol=max(rtol, 1e-4))):
                return f"std_error = {s_got:.6g}, should be {s_want:.6g} (reference x {abs(factor):g})"
        return None
    return check


def same_as(reference: Callable, getter: Callable, *, rtol=1e-6, atol=0.0, what="value"):
    def check(value, _warnings):
        got, want = getter(value), getter(quiet(reference))
        got_a, want_a = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
        if got_a.shape != want_a.shape or not np.allclose(got_a, want_a, rtol=rtol, atol=atol, equal_nan=False):
            return f"{what} = {np.round(got_a, 6).tolist()!s:.120}, should equal the unscaled {np.round(want_a, 6).tolist()!s:.120}"
        return None
    return check


def values_are(variable: str, expected, *, rtol=1e-9):
    """The panel's ``variable`` in panel order (region, then year) equals ``expected``."""
    def check(panel, _warnings):
        got = panel.to_frame()[variable].to_numpy(float)
        want = np.asarray(expected, dtype=float)
        if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, equal_nan=True):
            return f"{variable} read as {got.tolist()}, should be {want.tolist()}"
        return None
    return check


def flows_are(expected):
    def check(flows, _warnings):
        got = flows.to_frame().sort_values(["year", "origin", "destination"])["flow"].to_numpy(float)
        want = np.asarray(expected, dtype=float)
        if got.shape != want.shape or not np.allclose(got, want):
            return f"flows read as {got.tolist()}, should be {want.tolist()}"
        return None
    return check


def n_regions_is(n: int, what: str = "the names are one unit"):
    def check(panel, warns):
        regions = panel.regions
        if len(regions) != n:
            loud = [w for w in warns if "unicode" in w.lower() or "normaliz" in w.lower() or "look" in w.lower()]
            if loud:
                return None, f"{len(regions)} units, with a warning"
            return f"{len(regions)} units {[ascii(r) for r in regions][:4]} where {n} expected ({what}); no warning"
        return None
    return check


def returns(kind: type | tuple):
    def check(value, _warnings):
        return None if isinstance(value, kind) else f"returned a {type(value).__name__}"
    return check


def finite_check(value, _warnings):
    return finite_result(value)


# =========================================================================== (a) hostile text reaching outputs
def table_with_model(name: str, fmt: str):
    table = kz.regression_table({name: did1()})
    return {"md": table.to_markdown, "tex": table.to_latex, "html": table.to_html}[fmt]()


for label, hostile, fmts in (
    ("<script>", H_SCRIPT, ("md", "html")), ("<img onerror>", H_IMG, ("md", "html")), ("pipe", H_PIPE, ("md",)),
    ("newline", H_NL, ("md",)), ("blank line", H_BLANK, ("tex",)), (r"\input", H_TEX, ("tex",)),
    ("$math$", H_MATH, ("tex",)), ("TeX specials", H_AMP, ("tex",)), ("markdown emphasis", H_MD, ("md",)),
    ("control chars", H_CTRL, ("md", "tex", "html")),
):
    for fmt in fmts:
        ok(f"regression_table {fmt}: model name {label}", "a", "regression_table",
           lambda h=hostile, f=fmt: table_with_model(h, f), safe_in(fmt, hostile),
           want=f"the model name shown as literal text in {fmt}")


def table_with_term(column: str, fmt: str):
    panel = panel_of(with_column(column))
    fit = quiet(lambda: kz.twfe(panel, "outcome", first_treated="first_treated", covariates=[column]))
    table = kz.regression_table([fit])
    return {"md": table.to_markdown, "tex": table.to_latex, "html": table.to_html}[fmt]()


for label, hostile, fmt in (("<script>", H_SCRIPT, "md"), ("newline", H_NL, "md"), ("markdown", H_MD, "md"),
                            ("pipe", H_PIPE, "md"), (r"\input", H_TEX, "tex"), ("blank line", H_BLANK, "tex"),
                            ("TeX specials", H_AMP, "tex"), ("<img>", H_IMG, "html")):
    ok(f"twfe covariate named {label} -> regression_table {fmt}", "a", "twfe/regression_table",
       lambda h=hostile, f=fmt: table_with_term(h, f), safe_in(fmt, hostile),
       want=f"the covariate's name shown as literal text in {fmt}")

ok("regression_table md: a 100,000-character model name", "a", "regression_table",
   lambda: kz.regression_table({H_LONG: did1()}).to_markdown(),
   lambda v, w: None if len(v) < 3 * len(H_LONG) else f"Markdown table of {len(v):,} characters")


# --- figures
def covariate_plot(column: str):
    panel = panel_of(with_column(column))
    fit = quiet(lambda: kz.twfe(panel, "outcome", first_treated="first_treated", covariates=[column]))
    return render(fit.plot())


ok("twfe coefficient plot: covariate named $\\alpha^2$", "a", "EstimationResult.plot",
   lambda: covariate_plot(H_MATH), figure_safe("alpha"), want="the name drawn as literal text, not math")
ok("twfe coefficient plot: covariate named $\\undefinedmacro$", "a", "EstimationResult.plot",
   lambda: covariate_plot(H_BADMATH), figure_safe("undefinedmacro"), want="the figure saves; name as literal text")


def loo_plot(names: dict[str, str]):
    panel = panel_of(renamed(names))
    fit = quiet(lambda: kz.did_2x2(panel, "outcome", first_treated="first_treated"))
    return render(kz.leave_one_out(fit).plot())


ok("leave_one_out plot: region named $\\alpha^2$", "a", "leave_one_out/plot",
   lambda: loo_plot({REGIONS1[0]: H_MATH}), figure_safe("alpha"))
ok("leave_one_out plot: region named $\\undefinedmacro$", "a", "leave_one_out/plot",
   lambda: loo_plot({REGIONS1[0]: H_BADMATH}), figure_safe("undefinedmacro"))
ok("leave_one_out plot: region name of 100,000 characters", "a", "leave_one_out/plot",
   lambda: loo_plot({REGIONS1[0]: H_LONG}),
   lambda v, w: None if v["png"] < 20e6 else f"PNG of {v['png']:,} bytes")


def sc_plot(name: str):
    treated = TREATED1[0]
    panel = panel_of(renamed({treated: name}))
    fit = quiet(lambda: kz.synthetic_control(panel, "outcome", treated=[name], post_from=2013, average=False,
                                             random_seed=0))
    return render(fit.plot())


ok("synthetic_control plot: treated region named $\\alpha^2$", "a", "synthetic_control/plot",
   lambda: sc_plot(H_MATH), figure_safe("alpha"))


def sdid_plot(outcome: str):
    frame = BASE1.rename(columns={"outcome": outcome})
    panel = panel_of(frame)
    fit = quiet(lambda: kz.synthetic_did(panel, outcome, first_treated="first_treated", draws=20, progress=False,
                                         random_seed=0))
    return render(fit.plot())


ok("synthetic_did plot: outcome column named $\\alpha^2$", "a", "synthetic_did/plot",
   lambda: sdid_plot(H_MATH), figure_safe("alpha"))


def factor_plot(region: str):
    panel = panel_of(renamed({REGIONS1[0]: region}))
    return render(kz.factor_model(panel, region, "power").plot())


ok("factor_model plot: region named $\\alpha^2$", "a", "factor_model/plot", lambda: factor_plot(H_MATH),
   figure_safe("alpha"))
ok("factor_model plot: region named $\\undefinedmacro$", "a", "factor_model/plot", lambda: factor_plot(H_BADMATH),
   figure_safe("undefinedmacro"))


def power_plot(name: str):
    power = quiet(lambda: kz.power_analysis(P1, "outcome", first_treated="first_treated", n_sims=10, progress=False,
                                            random_seed=0, effects=[0.0, 1.0], estimators={
                                                name: lambda p, y: kz.twfe(p, y, first_treated="first_treated")}))
    return render(power.plot())


ok("power_analysis plot: estimator named $\\alpha^2$", "a", "power_analysis/plot", lambda: power_plot(H_MATH),
   figure_safe("alpha"))


def hier_plot(region: str):
    panel = panel_of(renamed({REGIONS1[0]: region}))
    fit = quiet(lambda: kz.hierarchical_elasticity(panel, draws=30, tune=30, chains=1, progress=False, random_seed=1))
    return render(fit.plot())


ok("hierarchical_elasticity plot: region named $\\alpha^2$", "a", "hierarchical_elasticity/plot",
   lambda: hier_plot(H_MATH), figure_safe("alpha"), timeout=120)


# --- the report (HTML, tables, verdict)
def report_of(panel, out=None, **spec):
    spec.setdefault("outcome", "outcome")
    spec.setdefault("first_treated", "first_treated")
    out = out or tmpdir() / "rep"
    result = quiet(lambda: kz.report.build_report(panel, ReportSpec(**spec), out, fast=True, quiet=True))
    files = {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file()}
    return dict(result=result, files=files)


def report_safe(hostile: str, files: tuple[str, ...], must_show: str | None = None):
    def check(value, _warnings):
        for name in files:
            text = value["files"].get(name)
            if text is None:
                continue
            fmt = "html" if name.endswith(".html") else "tex" if name.endswith(".tex") else "md"
            problem = danger(text, fmt, hostile)
            if problem:
                return f"{name}: {problem}"
        if must_show and must_show not in value["files"].get("report.html", ""):
            return None, "the text does not reach report.html"
        return None
    return check


ok("build_report: title <script>", "a", "build_report", lambda: report_of(P1, title=H_SCRIPT),
   report_safe(H_SCRIPT, ("report.html",), html.escape(H_SCRIPT)))
ok("build_report: outcome column named <script> (html, verdict.md)", "a", "build_report",
   lambda: report_of(panel_of(BASE1.rename(columns={"outcome": H_SCRIPT})), outcome=H_SCRIPT),
   report_safe(H_SCRIPT, ("report.html", "tables/verdict.md", "tables/did.md")))
ok("build_report: outcome column named **bold** (verdict.md)", "a", "build_report",
   lambda: report_of(panel_of(BASE1.rename(columns={"outcome": H_MD})), outcome=H_MD),
   report_safe(H_MD, ("tables/verdict.md",)))
ok("build_report: region names <img onerror> (html)", "a", "build_report",
   lambda: report_of(panel_of(renamed({r: f"{H_IMG}{i}" for i, r in enumerate(REGIONS1)}))),
   report_safe(H_IMG, ("report.html",)))
ok("build_report: region name with control characters (html)", "a", "build_report",
   lambda: report_of(panel_of(renamed({REGIONS1[1]: H_CTRL}))), report_safe(H_CTRL, ("report.html",)))
ok("build_report: region named $\\undefinedmacro$ (figures)", "a", "build_report",
   lambda: report_of(panel_of(renamed({REGIONS1[1]: H_BADMATH}))), report_safe(H_BADMATH, ("report.html",)),
   want="the report is written, the name drawn as text")
ok("build_report: factor region named <script> (factor_models.md)", "a", "build_report",
   lambda: report_of(panel_of(renamed({REGIONS1[0]: H_SCRIPT})), elasticity_outcome="grp",
                     elasticity_index="attractiveness_index", factor_regions=(H_SCRIPT,)),
   report_safe(H_SCRIPT, ("report.html", "tables/factor_models.md")))
ok("build_report: factor region named R&D 50% (factor_models.tex)", "a", "build_report",
   lambda: report_of(panel_of(renamed({REGIONS1[0]: H_AMP})), elasticity_outcome="grp",
                     elasticity_index="attractiveness_index", factor_regions=(H_AMP,)),
   report_safe(H_AMP, ("tables/factor_models.tex",)))
ok("build_report: factor region name with a blank line (factor_models.tex)", "a", "build_report",
   lambda: report_of(panel_of(renamed({REGIONS1[0]: H_BLANK})), elasticity_outcome="grp",
                     elasticity_index="attractiveness_index", factor_regions=(H_BLANK,)),
   report_safe(H_BLANK, ("tables/factor_models.tex",)))
ok("build_report: covariate named **bold** (did.md of a staggered design)", "a", "build_report",
   lambda: report_of(panel_of(with_column(H_MD, BASE_S)), options={"covariates": (H_MD,)}),
   report_safe(H_MD, ("tables/did.md",)))
ok("build_report: covariate named \\input{...} (did.tex)", "a", "build_report",
   lambda: report_of(panel_of(with_column(H_TEX, BASE_S)), options={"covariates": (H_TEX,)}),
   report_safe(H_TEX, ("tables/did.tex",)))
either("build_report: region name with a lone surrogate", "a", "build_report",
       lambda: report_of(panel_of(renamed({REGIONS1[1]: H_SURR}))), None, "region|surrogate|unicode|utf",
       want="refused when read (not UTF-8 encodable) or written escaped; never a UnicodeEncodeError")


# --- CLI: user text reaching the terminal and the HTML
def cli_files(frame: pd.DataFrame, spec: str, name: str = "panel.csv"):
    def setup(tmp: Path):
        frame.to_csv(tmp / name, index=False)
        (tmp / "spec.yaml").write_text(spec, encoding="utf-8")
        return {"data": str(tmp / name), "spec": str(tmp / "spec.yaml")}
    return setup


def cli_terminal_safe(result, _w):
    raw = result["raw_stdout"]
    if b"\x1b]" in raw or b"\x07" in raw:
        return ("the outcome name's terminal control sequence (OSC ESC]0;...BEL, sets the window title) is printed "
                "raw in the verdict (terminal injection)")
    return None


case("cli report: outcome name with a terminal control sequence", "a", "cli report --spec",
     argv=["report", "--data", "{data}", "--spec", "{spec}", "--out", "{tmp}/out", "--fast", "--quiet"],
     setup=cli_files(BASE1.rename(columns={"outcome": "y\x1b]0;pwned\x07"}),
                     'outcome: "y\\e]0;pwned\\a"\nfirst_treated: first_treated\nregion_names: any\n'),
     expect="ok", want="the name printed with its control characters escaped", check=cli_terminal_safe)


def cli_html_safe(hostile):
    def check(result, _w):
        path = Path(result["tmp"]) / "out" / "report.html"
        if not path.exists():
            return "no report.html written"
        return danger(path.read_text(encoding="utf-8"), "html", hostile)
    return check


case("cli report: title <script> in the spec", "a", "cli report --spec",
     argv=["report", "--data", "{data}", "--spec", "{spec}", "--out", "{tmp}/out", "--fast", "--quiet"],
     setup=cli_files(BASE1, f'outcome: outcome\nfirst_treated: first_treated\nregion_names: any\n'
                            f'title: "{H_SCRIPT}"\n'),
     expect="ok", want="title escaped in report.html", check=cli_html_safe(H_SCRIPT))
case("cli report: region names <img onerror> in --data", "a", "cli report --data",
     argv=["report", "--data", "{data}", "--spec", "{spec}", "--out", "{tmp}/out", "--fast", "--quiet"],
     setup=cli_files(renamed({r: f"{H_IMG}{i}" for i, r in enumerate(REGIONS1)}),
                     "outcome: outcome\nfirst_treated: first_treated\nregion_names: any\n"),
     expect="ok", want="region names escaped in report.html", check=cli_html_safe(H_IMG))


# =========================================================================== (b) absurd sizes
big("simulate_panel n_regions=10**8", "simulate_panel", lambda: kz.simulate_panel(n_regions=10**8), "n_regions")
big("simulate_panel years=range(1000, 1000+10**7)", "simulate_panel",
    lambda: kz.simulate_panel(years=range(1000, 1000 + 10**7)), "years")
big("simulate_panel n_regions=10**6 x 1000 years", "simulate_panel",
    lambda: kz.simulate_panel(n_regions=10**6, years=range(1000, 2000), cohorts={1500: 3}), "n_regions|years")
big("classify_regions n_init=10**9", "classify_regions",
    lambda: kz.classify_regions(P1, n_clusters=2, n_init=10**9), "n_init")
big("hierarchical_elasticity draws=10**9", "hierarchical_elasticity",
    lambda: kz.hierarchical_elasticity(P1, draws=10**9, chains=1, tune=10, progress=False), "draws")
big("hierarchical_elasticity chains=10**6", "hierarchical_elasticity",
    lambda: kz.hierarchical_elasticity(P1, draws=10, chains=10**6, tune=10, progress=False), "chains")
big("hierarchical_elasticity tune=10**10", "hierarchical_elasticity",
    lambda: kz.hierarchical_elasticity(P1, draws=10, chains=1, tune=10**10, progress=False), "tune")
big("bayesian_event_study draws=10**9", "bayesian_event_study",
    lambda: kz.bayesian_event_study(P1, "outcome", first_treated="first_treated", draws=10**9, tune=10, chains=1,
                                    progress=False), "draws")
big("bayesian_event_study chains=10**5", "bayesian_event_study",
    lambda: kz.bayesian_event_study(P1, "outcome", first_treated="first_treated", draws=10, tune=10, chains=10**5,
                                    progress=False), "chains")
big("bayesian_gravity draws=10**9", "bayesian_gravity",
    lambda: kz.bayesian_gravity(flows_gravity(), kz21(), draws=10**9, tune=10, chains=1, progress=False), "draws")
big("bayesian_gravity chains=10**6", "bayesian_gravity",
    lambda: kz.bayesian_gravity(flows_gravity(), kz21(), draws=10, tune=10, chains=10**6, progress=False), "chains")
big("simulation_based_calibration n_fits=10**8", "bayes.simulation_based_calibration",
    lambda: kz.bayes.simulation_based_calibration(P1, n_fits=10**8, draws=10, tune=10, chains=1, progress=False),
    "n_fits")
big("simulation_based_calibration draws=10**9", "bayes.simulation_based_calibration",
    lambda: kz.bayes.simulation_based_calibration(P1, n_fits=10, draws=10**9, tune=10, chains=1, progress=False),
    "draws")
either("power_analysis effects= 10**6 effect sizes", "b", "power_analysis",
       lambda: kz.power_analysis(P1, "outcome", first_treated="first_treated", n_sims=10, progress=False,
                                 effects=np.linspace(0, 1, 10**6).tolist()), None, "effects",
       want="refused with the cost, or done quickly (shift-equivariant estimators)")
big("power_analysis n_sims=10**9", "power_analysis",
    lambda: kz.power_analysis(P1, "outcome", first_treated="first_treated", n_sims=10**9, progress=False), "n_sims")
big("staggered_did draws=10**12", "staggered_did",
    lambda: kz.staggered_did(P, "outcome", first_treated="first_treated", draws=10**12, progress=False), "draws")
big("event_study (CS) draws=10**12", "event_study",
    lambda: kz.event_study(P, "outcome", first_treated="first_treated", draws=10**12), "draws")
big("synthetic_did draws=10**9", "synthetic_did",
    lambda: kz.synthetic_did(P1, "outcome", first_treated="first_treated", draws=10**9, progress=False), "draws")
big("randomization_inference draws=10**9", "randomization_inference",
    lambda: kz.randomization_inference(did1(), draws=10**9, progress=False), "draws")
big("wild_cluster_bootstrap draws=10**12", "wild_cluster_bootstrap",
    lambda: kz.wild_cluster_bootstrap(did1(), draws=10**12), "draws")
big("wild_cluster_bootstrap draws=3*10**7 (under its memory cap)", "wild_cluster_bootstrap",
    lambda: kz.wild_cluster_bootstrap(did1(), draws=3 * 10**7), "draws",
    want="refused (a p-value needs no 3e7 draws) or done within the time limit")
big("honest_sensitivity grid_points=10**9", "honest_sensitivity",
    lambda: kz.honest_sensitivity(es_sa(), grid_points=10**9, progress=False), "grid_points")
big("honest_sensitivity Mbar of 10**6 values", "honest_sensitivity",
    lambda: kz.honest_sensitivity(es_sa(), restriction="relative_magnitude", Mbar=np.linspace(0, 2, 10**6),
                                  progress=False), "Mbar")
big("pretrend_test n_sim=10**12", "pretrend_test", lambda: kz.pretrend_test(es_sa(), n_sim=10**12), "n_sim")
refuse("placebo_in_time 10**7 shifts", "b", "placebo_in_time",
       lambda: kz.placebo_in_time(did1(), shifts=list(range(1, 10**7))), "shifts", max_s=15,
       want="refused quickly (the shifts cannot fit the pre-period)")
either("event_study leads=10**9, lags=10**9", "b", "event_study",
       lambda: kz.event_study(P, "outcome", first_treated="first_treated", method="sun_abraham", leads=10**9,
                              lags=10**9), finite_check, "leads|lags",
       want="binned to the data's window quickly, or refused")
either("imputation_did lags=10**12", "b", "imputation_did",
       lambda: kz.imputation_did(P, "outcome", first_treated="first_treated", lags=10**12), finite_check, "lags",
       want="clipped to the data quickly, or refused")
either("bayesian_event_study leads=10**9", "b", "bayesian_event_study",
       lambda: kz.bayesian_event_study(P1, "outcome", first_treated="first_treated", leads=10**9, draws=20, tune=20,
                                       chains=1, progress=False), None, "leads",
       want="refused, or a fit on the data's window", timeout=90)
either("randomization_inference exact on a CS fit with a covariate (18,480 refits)", "b", "randomization_inference",
    lambda: kz.randomization_inference(quiet(lambda: kz.staggered_did(panel_of(with_column("cov")), "outcome",
                                                                      first_treated="first_treated", covariates=["cov"],
                                                                      progress=False)), progress=False),
    None, "draws|assignments", want="the cost (18,480 full re-fits, minutes) stated and refused or sampled, not minutes "
                              "of silent work")
either("build_report --fast with one covariate, 12 regions (its exact RI)", "b", "build_report",
    lambda: report_of(panel_of(with_column("cov")), options={"covariates": ("cov",)}), None, "covariate|randomization",
    want="a fast report (RI sampled or capped), or the cost said up front")
big("config workers=10**7", "config", lambda: kz.config("dask", workers=10**7), "workers")
big("regression_table digits=10**9", "regression_table", lambda: kz.regression_table([did1()], digits=10**9),
    "digits")
refuse("simulate_panel cohorts={2014: 10**12}", "b", "simulate_panel",
       lambda: kz.simulate_panel(cohorts={2014: 10**12}), "cohorts", max_s=15)


def sparse_file(name: str, size: int = 2**40) -> Path:
    path = tmpdir() / name
    with path.open("wb") as handle:
        handle.write(b"region,year,outcome\nA,2010,1\n")
        handle.truncate(size)
    return path


big("read_panel of a 1 TiB (sparse) CSV", "read_panel", lambda: kz.read_panel(sparse_file("huge.csv"), regions=None),
    "memory|GiB")
big("read_flows of a 1 TiB (sparse) CSV", "read_flows", lambda: kz.read_flows(sparse_file("huge.csv"), regions=None),
    "memory|GiB")


def spec_cli(spec: str):
    return cli_files(BASE1, "outcome: outcome\nfirst_treated: first_treated\nregion_names: any\n" + spec)


REPORT_ARGV = ["report", "--data", "{data}", "--spec", "{spec}", "--out", "{tmp}/out", "--fast", "--quiet"]
case("cli spec draws: 10**9", "b", "cli report --spec draws", argv=REPORT_ARGV, setup=spec_cli("draws: 1000000000\n"),
     keywords=("draws",), cost=True, max_s=20, want="refused with the cap before any section runs")
case("cli spec leads: 10**9", "b", "cli report --spec leads", argv=REPORT_ARGV, setup=spec_cli("leads: 1000000000\n"),
     expect="either", keywords=("leads",), want="refused up front, or the report written quickly (window binned)",
     check=lambda r, w: None if (Path(r["tmp"]) / "out" / "report.html").exists() else "no report written")
case("cli spec lags: 10**9", "b", "cli report --spec lags", argv=REPORT_ARGV, setup=spec_cli("lags: 1000000000\n"),
     expect="either", keywords=("lags",), want="refused up front, or the report written quickly",
     check=lambda r, w: None if (Path(r["tmp"]) / "out" / "report.html").exists() else "no report written")
case("cli spec honest_mbar with 20,000 values", "b", "cli report --spec honest_mbar", argv=REPORT_ARGV,
     setup=spec_cli("honest_mbar: [" + ", ".join(f"{x:.5f}" for x in np.linspace(0, 2, 20_000)) + "]\n"),
     keywords=("mbar",), cost=True, max_s=30, want="refused up front with the cap (1,000 bounds)")


# =========================================================================== (c) numerical extremes
def did_on(frame, **kw):
    return quiet(lambda: kz.did_2x2(panel_of(frame), "outcome", first_treated="first_treated", **kw))


REF_DID = lambda: kz.did_2x2(P1, "outcome", first_treated="first_treated")  # noqa: E731
REF_DID_CL = lambda: kz.did_2x2(P1, "outcome", first_treated="first_treated", cov="cluster")  # noqa: E731
for factor in (1e150, 1e-150, 1e300, 1e-300):
    ok(f"did_2x2 OLS on outcome x {factor:g}", "c", "did_2x2", lambda f=factor: did_on(scaled(f)),
       scaled_like(REF_DID, factor), want="estimate and SE scale exactly with the data")
ok("did_2x2 clustered on outcome x 1e200", "c", "did_2x2", lambda: did_on(scaled(1e200), cov="cluster"),
   scaled_like(REF_DID_CL, 1e200))
ok("did_2x2 on outcome + 1e9 (offset)", "c", "did_2x2", lambda: did_on(scaled(1, 1e9)),
   scaled_like(REF_DID, 1, rtol=1e-5), want="an offset absorbed: same estimate and SE")
either("did_2x2 on a near-constant outcome (5 + 1e-10 x noise)", "c", "did_2x2",
       lambda: did_on(scaled(1e-10, 5.0)), scaled_like(REF_DID, 1e-10, rtol=1e-3), "outcome",
       want="the scaled answer (1e-10 x) or a refusal saying the outcome is (nearly) constant")
ok("did_2x2 with one outlier of 1e300", "c", "did_2x2",
   lambda: did_on(BASE1.assign(outcome=np.where(np.arange(len(BASE1)) == 7, 1e300, BASE1["outcome"]))),
   finite_check, want="finite estimate and SE (the true SE is ~1e299)")
ok("did_2x2 on subnormal outcome (x 1e-310)", "c", "did_2x2", lambda: did_on(scaled(1e-310)),
   scaled_like(REF_DID, 1e-310, rtol=1e-4), want="the scaled answer, not SE=0 or NaN")

REF_TWFE = lambda: kz.twfe(P, "outcome", first_treated="first_treated")  # noqa: E731
for factor in (1e200, 1e-200):
    ok(f"twfe on outcome x {factor:g}", "c", "twfe",
       lambda f=factor: quiet(lambda: kz.twfe(panel_of(scaled(f, base=BASE)), "outcome", first_treated="first_treated")),
       scaled_like(REF_TWFE, factor))
REF_ATT = lambda: kz.staggered_did(P, "outcome", first_treated="first_treated", progress=False)  # noqa: E731
ok("staggered_did on outcome x 1e250", "c", "staggered_did",
   lambda: quiet(lambda: kz.staggered_did(panel_of(scaled(1e250, base=BASE)), "outcome", first_treated="first_treated",
                                          progress=False)), scaled_like(REF_ATT, 1e250))
REF_ES = lambda: kz.event_study(P, "outcome", first_treated="first_treated", method="sun_abraham")  # noqa: E731
ok("event_study (SA) on outcome x 1e200", "c", "event_study",
   lambda: quiet(lambda: kz.event_study(panel_of(scaled(1e200, base=BASE)), "outcome", first_treated="first_treated",
                                        method="sun_abraham")), scaled_like(REF_ES, 1e200))
REF_IMP = lambda: kz.imputation_did(P, "outcome", first_treated="first_treated")  # noqa: E731
ok("imputation_did on outcome x 1e-250", "c", "imputation_did",
   lambda: quiet(lambda: kz.imputation_did(panel_of(scaled(1e-250, base=BASE)), "outcome",
                                           first_treated="first_treated")), scaled_like(REF_IMP, 1e-250))
REF_2S = lambda: kz.two_stage_did(P, "outcome", first_treated="first_treated")  # noqa: E731
ok("two_stage_did on outcome x 1e200", "c", "two_stage_did",
   lambda: quiet(lambda: kz.two_stage_did(panel_of(scaled(1e200, base=BASE)), "outcome",
                                          first_treated="first_treated")), scaled_like(REF_2S, 1e200))
REF_SDID = lambda: kz.synthetic_did(P1, "outcome", first_treated="first_treated", draws=20, random_seed=0,  # noqa: E731
                                    progress=False)
ok("synthetic_did on outcome x 1e200", "c", "synthetic_did",
   lambda: quiet(lambda: kz.synthetic_did(panel_of(scaled(1e200)), "outcome", first_treated="first_treated", draws=20,
                                          random_seed=0, progress=False)), scaled_like(REF_SDID, 1e200, rtol=1e-4))
ok("synthetic_did on outcome x 1e-200", "c", "synthetic_did",
   lambda: quiet(lambda: kz.synthetic_did(panel_of(scaled(1e-200)), "outcome", first_treated="first_treated", draws=20,
                                          random_seed=0, progress=False)), scaled_like(REF_SDID, 1e-200, rtol=1e-4))
REF_SC = lambda: kz.synthetic_control(P1, "outcome", first_treated="first_treated", random_seed=0)  # noqa: E731
ok("synthetic_control on outcome x 1e200", "c", "synthetic_control",
   lambda: quiet(lambda: kz.synthetic_control(panel_of(scaled(1e200)), "outcome", first_treated="first_treated",
                                              random_seed=0)), scaled_like(REF_SC, 1e200, rtol=1e-4, se=False))
ok("bacon_decomposition on outcome x 1e250", "c", "bacon_decomposition",
   lambda: quiet(lambda: kz.bacon_decomposition(panel_of(scaled(1e250, base=BASE)), "outcome",
                                                first_treated="first_treated")),
   same_as(lambda: kz.bacon_decomposition(P, "outcome", first_treated="first_treated"),
           lambda b: b.table["weight"].to_numpy(), what="Bacon weights"))
ok("randomization_inference on outcome x 1e250", "c", "randomization_inference",
   lambda: quiet(lambda: kz.randomization_inference(did_on(scaled(1e250)), progress=False)),
   same_as(lambda: kz.randomization_inference(REF_DID(), progress=False), lambda r: r.p_value, what="p-value"))
ok("wild_cluster_bootstrap on outcome x 1e-250", "c", "wild_cluster_bootstrap",
   lambda: quiet(lambda: kz.wild_cluster_bootstrap(did_on(scaled(1e-250), cov="cluster"), draws=999, random_seed=0)),
   same_as(lambda: kz.wild_cluster_bootstrap(REF_DID_CL(), draws=999, random_seed=0), lambda r: r.p_value,
           what="p-value"))
ok("pretrend_test on event study of outcome x 1e200", "c", "pretrend_test",
   lambda: quiet(lambda: kz.pretrend_test(kz.event_study(panel_of(scaled(1e200, base=BASE)), "outcome",
                                                         first_treated="first_treated", method="sun_abraham"))),
   same_as(lambda: kz.pretrend_test(REF_ES()), lambda r: r.p_value, what="p-value", rtol=1e-5))
ok("honest_sensitivity on event study of outcome x 1e200", "c", "honest_sensitivity",
   lambda: quiet(lambda: kz.honest_sensitivity(kz.event_study(panel_of(scaled(1e200, base=BASE)), "outcome",
                                                              first_treated="first_treated", method="sun_abraham"),
                                               progress=False, grid_points=10)),
   same_as(lambda: kz.honest_sensitivity(REF_ES(), progress=False, grid_points=10),
           lambda r: [r.breakdown], what="breakdown value", rtol=1e-4))
def mde_scaled(factor):
    def check(value, _warnings):
        ref = quiet(lambda: kz.power_analysis(P1, "outcome", first_treated="first_treated", n_sims=10, random_seed=0,
                                              progress=False)).mde["mde"].to_numpy(float)
        got = value.mde["mde"].to_numpy(float) / factor
        if got.shape != ref.shape or not np.allclose(got, ref, rtol=1e-4):
            return f"mde = {value.mde['mde'].tolist()}, should be the unscaled {ref.tolist()} x {factor:g}"
        return None
    return check


ok("power_analysis on outcome x 1e200", "c", "power_analysis",
   lambda: quiet(lambda: kz.power_analysis(panel_of(scaled(1e200)), "outcome", first_treated="first_treated",
                                           n_sims=10, random_seed=0, progress=False)), mde_scaled(1e200))
either("power_analysis effects=[1e300]", "c", "power_analysis",
       lambda: quiet(lambda: kz.power_analysis(P1, "outcome", first_treated="first_treated", n_sims=10,
                                               random_seed=0, progress=False, effects=[0.0, 1e300])),
       lambda v, w: None if np.isfinite(v.power["power"]).all() else "NaN power for a finite effect", "effects",
       want="power 1 for the huge effect, or a refusal; never NaN")
ok("factor_model power form on grp x 1e300", "c", "factor_model",
   lambda: kz.factor_model(panel_of(scaled(1e300, column="grp")), REGIONS1[0], "power"),
   same_as(lambda: kz.factor_model(P1, REGIONS1[0], "power"), lambda r: r.elasticity, what="elasticity"))
ok("factor_model linear form on grp x 1e-300", "c", "factor_model",
   lambda: kz.factor_model(panel_of(scaled(1e-300, column="grp")), REGIONS1[0], "linear"),
   same_as(lambda: kz.factor_model(P1, REGIONS1[0], "linear"), lambda r: [r.elasticity, r.r_squared],
           what="elasticity, R^2"))
refuse("factor_model with a constant index in the region", "c", "factor_model",
       lambda: kz.factor_model(panel_of(BASE1.assign(attractiveness_index=1.0).drop(columns=["arrivals", "departures"])),
                               REGIONS1[0], "linear"), "attractiveness_index|index",
       want="refused: the index does not vary (elasticity not identified)")
either("factor_model on a constant outcome", "c", "factor_model",
       lambda: kz.factor_model(panel_of(scaled(0, 7.0, column="grp")), REGIONS1[0], "linear"),
       lambda v, w: None if np.isfinite(v.r_squared) else f"R^2 = {v.r_squared} returned silently", "grp",
       want="a refusal or a loud caveat; never NaN R^2 silently")
def huge_counts(top: float):
    """Region, year, arrivals and departures only, scaled so that the largest count is ``top``."""
    frame = BASE1[["region", "year", "arrivals", "departures"]].copy()
    peak = frame[["arrivals", "departures"]].to_numpy().max()
    frame[["arrivals", "departures"]] = frame[["arrivals", "departures"]] / peak * top
    return frame


ok("classify_regions with counts near 5e307 (window sums overflow)", "c", "classify_regions",
   lambda: kz.classify_regions(panel_of(huge_counts(5e307))),
   same_as(lambda: kz.classify_regions(panel_of(huge_counts(1.0))),
           lambda t: t.sort_values("region")["attractiveness"].to_numpy(), what="attractiveness"))
either("read_panel population 1e-305 (grp_per_capita overflows)", "c", "read_panel",
       lambda: panel_of(scaled(0, 1e-305, column="population")),
       lambda p, w: None if np.isfinite(p.to_frame()["grp_per_capita"]).all() else
       "grp_per_capita = inf in the panel, without an error", "population|grp_per_capita",
       want="refused (the ratio overflows) or finite; never inf silently")
either("read_panel arrivals 1e308, departures 1e-10 (index overflows)", "c", "read_panel",
       lambda: panel_of(scaled(0, 1e-10, base=scaled(0, 1e308, column="arrivals"), column="departures")),
       lambda p, w: None if np.isfinite(p.to_frame()["attractiveness_index"]).all() else
       "attractiveness_index = inf in the panel, without an error", "arrivals|departures|attractiveness",
       want="refused or finite; never inf silently")
ok("hierarchical_elasticity on grp x 1e200", "c", "hierarchical_elasticity",
   lambda: quiet(lambda: kz.hierarchical_elasticity(panel_of(scaled(1e200, column="grp")), draws=40, tune=40,
                                                    chains=1, progress=False, random_seed=1)),
   lambda v, w: None if np.isfinite(v.to_frame()["estimate"]).all() else "non-finite posterior summaries",
   timeout=120)
either("simulate_panel noise=nan", "c", "simulate_panel", lambda: kz.simulate_panel(noise=float("nan"), random_seed=0),
       lambda v, w: None if np.isfinite(v[0].to_frame()["outcome"]).all() else "an outcome of NaN, no error",
       "noise", want="refused naming noise=")
refuse("simulate_panel effect=inf", "c", "simulate_panel", lambda: kz.simulate_panel(effect=float("inf")), "effect")
either("simulate_panel pretrend_size=nan", "c", "simulate_panel",
       lambda: kz.simulate_panel(pretrend="linear", pretrend_size=float("nan"), random_seed=0),
       lambda v, w: None if np.isfinite(v[0].to_frame()["outcome"]).all() else "an outcome of NaN, no error",
       "pretrend_size")
def flows_times(factor: int):
    return kz.read_flows(flows_gravity().to_frame().assign(flow=lambda f: f["flow"] * factor)).harmonize(2021)


ok("gravity_model on flows x 10**6 (PPML is scale invariant)", "c", "gravity_model",
   lambda: quiet(lambda: kz.gravity_model(flows_times(10**6), kz21())),
   same_as(lambda: kz.gravity_model(flows_times(1), kz21()), lambda r: r.table["estimate"].to_numpy(),
           what="elasticities", rtol=1e-5))
ok("pair_did (OLS) on flows x 10**6", "c", "pair_did",
   lambda: quiet(lambda: kz.pair_did(kz.read_flows(flows21().to_frame().assign(flow=lambda f: f["flow"] * 10**6)),
                                     SENDING, RECEIVING, 2014, method="ols")),
   same_as(lambda: kz.pair_did(flows21(), SENDING, RECEIVING, 2014, method="ols"), lambda r: r.effect_estimate,
           what="effect", rtol=1e-6))


# =========================================================================== (d) number parsing
LONG_HEADER = "region,year,value"


def long_csv(values, *, column="value", sep=",", regions=("A", "B"), years=(2010, 2011, 2012), quote=True):
    """A long table: each region every year, cells in order (region, year); values quoted when ``quote``."""
    rows = [sep.join(["region", "year", column])]
    cells = iter(values)
    for region in regions:
        for year in years:
            cell = next(cells)
            rows.append(sep.join([region, str(year), f'"{cell}"' if quote and sep == "," else str(cell)]))
    return "\n".join(rows) + "\n"


def read_long(values, column="value", *, sep=",", **kw):
    path = write_text("t.csv", long_csv(values, column=column, sep=sep))
    return quiet(lambda: kz.read_panel(path, regions=None, **kw))


SIX = ["1", "2", "3", "4", "5", "6"]
ok("read_panel CSV population '1,234,567' and '12,000' in one column", "d", "read_panel",
   lambda: read_long(["1,234,567", "2,345,678", "12,000", "3,456,789", "4,567,890", "5,678,901"], "population"),
   values_are("population", [1234567, 2345678, 12000, 3456789, 4567890, 5678901]),
   want="'12,000' read as 12000 like its neighbours (or the ambiguity refused), not 12")
ok("read_panel CSV outcome '1,5' '2,25' and '1.234' mixed marks", "d", "read_panel",
   lambda: read_long(["1,5", "2,25", "1.234", "3,5", "4,75", "5,5"], "outcome"),
   lambda p, w: "'1.234' in a decimal-comma column read as 1.234 (it is 1234, or the column is ambiguous); no "
                "error" if np.isclose(p.to_frame()["outcome"].iloc[2], 1.234) else None,
   want="the mixed decimal marks refused (or '1.234' read as a thousands group)")
ok("read_panel CSV population '1.234.567' and '1.234' mixed", "d", "read_panel",
   lambda: read_long(["1.234.567", "2.345.678", "1.234", "3.456.789", "4.567.890", "5.678.901"], "population"),
   values_are("population", [1234567, 2345678, 1234, 3456789, 4567890, 5678901]),
   want="'1.234' read as 1234 like its neighbours (or refused), not 1.234")
ok("read_panel CSV '1,234.5' and '1.234,5' in one column", "d", "read_panel",
   lambda: read_long(["1,234.5", "1.234,5", "1,234.5", "1.234,5", "2", "3"], "outcome"),
   values_are("outcome", [1234.5, 1234.5, 1234.5, 1234.5, 2, 3]))
refuse("read_panel CSV '12%' mixed with '0.15' in one column", "d", "read_panel",
       lambda: read_long(["12%", "0.15", "14%", "0.16", "15%", "0.17"], "outcome"), "outcome|percent|%",
       want="refused: percent and plain shares mixed in one column")
ok("read_panel CSV '12%' cells", "d", "read_panel",
   lambda: read_long(["12%", "13%", "14 %", "15%", "12,5%", "-3%"], "outcome"),
   lambda p, w: values_are("outcome", [12, 13, 14, 15, 12.5, -3])(p, w) or (
       None if p.units.get("outcome") == "percent" else "unit 'percent' not recorded"))
refuse("read_panel CSV population given as '12%'", "d", "read_panel",
       lambda: read_long(["12%", "13%", "14%", "15%", "16%", "17%"], "population"), "population|percent|%",
       want="refused: a count of persons cannot be a percentage (read_flows refuses the same)")
refuse("read_panel CSV accounting negative '(123)'", "d", "read_panel",
       lambda: read_long(["(123)", "1", "2", "3", "4", "5"], "outcome"), "outcome", "(123)")
refuse("read_panel CSV trailing minus '123-'", "d", "read_panel",
       lambda: read_long(["123-", "1", "2", "3", "4", "5"], "outcome"), "outcome", "123-")
ok("read_panel CSV Unicode minus '−5'", "d", "read_panel",
   lambda: read_long(["−5", "1", "2", "3", "4", "5"], "outcome"), values_are("outcome", [-5, 1, 2, 3, 4, 5]))
either("read_panel CSV hyphen-minus lookalike '‐5' (U+2010)", "d", "read_panel",
       lambda: read_long(["‐5", "1", "2", "3", "4", "5"], "outcome"), values_are("outcome", [-5, 1, 2, 3, 4, 5]),
       "outcome")
either("read_panel CSV en dash '–5'", "d", "read_panel",
       lambda: read_long(["–5", "1", "2", "3", "4", "5"], "outcome"), values_are("outcome", [-5, 1, 2, 3, 4, 5]),
       "outcome")
ok("read_panel CSV '+5' and ' 6 '", "d", "read_panel",
   lambda: read_long(["+5", " 6 ", "2", "3", "4", "5"], "outcome"), values_are("outcome", [5, 6, 2, 3, 4, 5]))
refuse("read_panel CSV '1e400' (overflows to inf)", "d", "read_panel",
       lambda: read_long(["1e400", "1", "2", "3", "4", "5"], "outcome"), "outcome", "infinite|inf|1e400")
refuse("read_panel CSV 'Infinity'", "d", "read_panel",
       lambda: read_long(["Infinity", "1", "2", "3", "4", "5"], "outcome"), "outcome")
ok("read_panel CSV thin/no-break space thousands '1 234,5'", "d", "read_panel",
   lambda: read_long(["1\u202f234,5", "1\u00a0234,5", "1 234,5", "2", "3", "4"], "outcome"),
   values_are("outcome", [1234.5, 1234.5, 1234.5, 2, 3, 4]))
refuse("read_panel CSV bad group '12 34'", "d", "read_panel",
       lambda: read_long(["12 34", "1", "2", "3", "4", "5"], "outcome"), "outcome")
ok("read_panel CSV apostrophe thousands \"1'234'567\"", "d", "read_panel",
   lambda: read_long(["1'234'567", "1’234.5", "2", "3", "4", "5"], "outcome"),
   values_are("outcome", [1234567, 1234.5, 2, 3, 4, 5]))
either("read_panel CSV '1_000'", "d", "read_panel", lambda: read_long(["1_000", "1", "2", "3", "4", "5"], "outcome"),
       values_are("outcome", [1000, 1, 2, 3, 4, 5]), "outcome")
refuse("read_panel CSV hex '0x1A'", "d", "read_panel", lambda: read_long(["0x1A", "1", "2", "3", "4", "5"], "outcome"),
       "outcome")
either("read_panel CSV full-width digits '１２３'", "d", "read_panel",
       lambda: read_long(["１２３", "1", "2", "3", "4", "5"], "outcome"), values_are("outcome", [123, 1, 2, 3, 4, 5]),
       "outcome")
either("read_panel CSV Arabic-Indic digits '١٢٣'", "d", "read_panel",
       lambda: read_long(["١٢٣", "1", "2", "3", "4", "5"], "outcome"), values_are("outcome", [123, 1, 2, 3, 4, 5]),
       "outcome")
either("read_panel CSV Arabic decimal separator '٣٫٥'", "d", "read_panel",
       lambda: read_long(["٣٫٥", "1", "2", "3", "4", "5"], "outcome"), values_are("outcome", [3.5, 1, 2, 3, 4, 5]),
       "outcome")
ok("read_panel CSV decimal='.' reads '1,234' as 1234", "d", "read_panel",
   lambda: read_long(["1,234", "1", "2", "3", "4", "5"], "outcome", decimal="."),
   values_are("outcome", [1234, 1, 2, 3, 4, 5]))
refuse("read_panel CSV decimal='.' with '1,5'", "d", "read_panel",
       lambda: read_long(["1,5", "1", "2", "3", "4", "5"], "outcome", decimal="."), "outcome", "decimal")
refuse("read_panel CSV decimal=',' with '1.5'", "d", "read_panel",
       lambda: read_long(["1.5", "1", "2", "3", "4", "5"], "outcome", decimal=","), "outcome", "decimal")
ok("read_panel CSV decimal=',' reads '1.234' as 1234", "d", "read_panel",
   lambda: read_long(["1.234", "1", "2", "3", "4", "5"], "outcome", decimal=","),
   values_are("outcome", [1234, 1, 2, 3, 4, 5]))
refuse("read_panel CSV unquoted decimal commas in a comma-separated file", "d", "read_panel",
       lambda: kz.read_panel(write_text("t.csv", "region,year,outcome\nA,2010,1,5\nA,2011,2,5\nB,2010,3,5\n"
                                                 "B,2011,4,5\n"), regions=None), "line|separator", "decimal")
ok("read_panel ';'-separated with decimal commas", "d", "read_panel",
   lambda: read_long(["1,5", "2,5", "3,5", "4,5", "5,5", "6,5"], "outcome", sep=";"),
   values_are("outcome", [1.5, 2.5, 3.5, 4.5, 5.5, 6.5]))
either("read_panel CSV Indian grouping '1,23,456'", "d", "read_panel",
       lambda: read_long(["1,23,456", "1", "2", "3", "4", "5"], "outcome"),
       values_are("outcome", [123456, 1, 2, 3, 4, 5]), "outcome")
refuse("read_panel CSV '5.5.5'", "d", "read_panel", lambda: read_long(["5.5.5", "1", "2", "3", "4", "5"], "outcome"),
       "outcome")
ok("read_panel CSV year cells '2010.0'", "d", "read_panel",
   lambda: quiet(lambda: kz.read_panel(write_text("t.csv", "region,year,outcome\nA,2010.0,1\nA,2011.0,2\nB,2010.0,3\n"
                                                           "B,2011.0,4\n"), regions=None)),
   lambda p, w: None if p.years == [2010, 2011] else f"years {p.years}")
refuse("read_panel CSV year cells '2,010'", "d", "read_panel",
       lambda: kz.read_panel(write_text("t.csv", "region;year;outcome\nA;2,010;1\nA;2,011;2\n"), regions=None), "year")
refuse("read_panel CSV year cells '2015 г.'", "d", "read_panel",
       lambda: kz.read_panel(write_text("t.csv", "region,year,outcome\nA,2015 г.,1\nA,2016 г.,2\n"), regions=None),
       "year")
either("read_panel wide CSV with year headers '2010,0' (decimal comma)", "d", "read_panel",
       lambda: quiet(lambda: kz.read_panel(write_text("t.csv", "region;2010,0;2011,0\nA;1;2\nB;3;4\n"), regions=None,
                                           value="outcome")),
       lambda p, w: None if p.years == [2010, 2011] else f"years {p.years}", "2010|year")


def xlsx(rows, *, formats=None, name="t.xlsx"):
    """Write an XLSX from rows of Python values; ``formats``: {(row, col): number_format} (0-based)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(r, c, value)
            if formats and (r - 1, c - 1) in formats:
                cell.number_format = formats[(r - 1, c - 1)]
    path = tmpdir() / name
    book.save(path)
    return path


XL_HEAD = ["region", "year", "outcome"]
refuse("read_panel XLSX percent-formatted 0.12 mixed with text '15%'", "d", "read_panel",
       lambda: quiet(lambda: kz.read_panel(xlsx([XL_HEAD, ["A", 2010, 0.12], ["A", 2011, "15%"], ["B", 2010, 0.13],
                                                 ["B", 2011, "16%"]], formats={(1, 2): "0%", (3, 2): "0%"}),
                                           regions=None)), "outcome|percent|%",
       want="refused (12% read as 0.12 and '15%' as 15 in one column), or both read as percent")
refuse("read_panel XLSX boolean TRUE cell in the outcome column", "d", "read_panel",
       lambda: quiet(lambda: kz.read_panel(xlsx([XL_HEAD, ["A", 2010, 1.5], ["A", 2011, True], ["B", 2010, 2.5],
                                                 ["B", 2011, 3.5]]), regions=None)), "outcome", "true",
       want="refused: a TRUE cell among numbers is not the number 1")
refuse("read_panel XLSX date cell in a numeric column", "d", "read_panel",
       lambda: quiet(lambda: kz.read_panel(xlsx([XL_HEAD, ["A", 2010, 1.5], ["A", 2011, pd.Timestamp("2024-05-01")],
                                                 ["B", 2010, 2.5], ["B", 2011, 3.5]]), regions=None)), "outcome")
ok("read_panel XLSX numbers stored as text '1 234,5'", "d", "read_panel",
   lambda: quiet(lambda: kz.read_panel(xlsx([XL_HEAD, ["A", 2010, "1 234,5"], ["A", 2011, 2.5], ["B", 2010, "3,5"],
                                             ["B", 2011, 4]]), regions=None)),
   values_are("outcome", [1234.5, 2.5, 3.5, 4]))
ok("read_panel XLSX float years 2010.0", "d", "read_panel",
   lambda: quiet(lambda: kz.read_panel(xlsx([XL_HEAD, ["A", 2010.0, 1], ["A", 2011.0, 2], ["B", 2010.0, 3],
                                             ["B", 2011.0, 4]]), regions=None)),
   lambda p, w: None if p.years == [2010, 2011] else f"years {p.years}")
ok("read_panel XLSX wide table, headers as numbers", "d", "read_panel",
   lambda: quiet(lambda: kz.read_panel(xlsx([["region", 2010, 2011], ["A", 1, 2], ["B", 3, 4]]), regions=None,
                                       value="outcome")),
   values_are("outcome", [1, 2, 3, 4]))


def flows_csv(cells, **kw):
    rows = ["origin,destination,year,flow"] + [f'A,B,{2010 + i},"{c}"' for i, c in enumerate(cells)]
    return quiet(lambda: kz.read_flows(write_text("f.csv", "\n".join(rows) + "\n"), regions=None, **kw))


ok("read_flows CSV '1,000' persons (decimal=None)", "d", "read_flows", lambda: flows_csv(["1,000", "2,500,000", "35"]),
   flows_are([1000, 2500000, 35]), want="1000 persons (or the ambiguous cell refused), not 1")
ok("read_flows CSV '1.000' persons (decimal=None)", "d", "read_flows", lambda: flows_csv(["1.000", "2.500.000", "35"]),
   flows_are([1000, 2500000, 35]), want="1000 persons (or refused), not 1")
refuse("read_flows CSV '1,5' persons", "d", "read_flows", lambda: flows_csv(["1,5", "2", "3"]), "flow", "whole")
ok("read_flows CSV '1 234' and '1e3'", "d", "read_flows", lambda: flows_csv(["1 234", "1e3", "7"]),
   flows_are([1234, 1000, 7]))
refuse("read_flows CSV '12%'", "d", "read_flows", lambda: flows_csv(["12%", "2", "3"]), "flow", "percent")
refuse("read_flows CSV negative '-3'", "d", "read_flows", lambda: flows_csv(["-3", "2", "3"]), "flow", "negative")
ok("read_flows CSV decimal=',' reads '1.234' as 1234", "d", "read_flows",
   lambda: flows_csv(["1.234", "2", "3"], decimal=","), flows_are([1234, 2, 3]))


# =========================================================================== (e) Unicode and encodings
NFC_NAME = unicodedata.normalize("NFC", "Région Été")
NFD_NAME = unicodedata.normalize("NFD", "Région Été")
ok("read_panel regions=None: one region in NFC and NFD forms", "e", "read_panel",
   lambda: panel_of(renamed({REGIONS1[0]: NFC_NAME}).pipe(
       lambda f: f.assign(region=np.where((f["region"] == NFC_NAME) & (f["year"] >= 2015), NFD_NAME, f["region"])))),
   n_regions_is(12, "NFC and NFD spell the same name"), want="one unit (normalized), or the clash refused")
ok("read_panel kazakhstan: 'Костанайская' in NFD (decomposed й)", "e", "read_panel",
   lambda: quiet(lambda: kz.read_panel(pd.DataFrame({"region": [unicodedata.normalize("NFD", "Костанайская")] * 2,
                                                     "year": [2015, 2016], "outcome": [1.0, 2.0]}))),
   lambda p, w: None if p.regions == ["Kostanay"] else f"regions {p.regions}",
   want="matched to Kostanay (NFC-normalized)")
either("read_panel kazakhstan: full-width 'Ａｋｍｏｌａ'", "e", "read_panel",
       lambda: quiet(lambda: kz.read_panel(pd.DataFrame({"region": ["Ａｋｍｏｌａ"] * 2, "year": [2015, 2016],
                                                         "outcome": [1.0, 2.0]}))),
       lambda p, w: None if p.regions == ["Akmola"] else f"regions {p.regions}", "Akmola")
refuse("read_panel kazakhstan: Cyrillic lookalike 'Аkmola'", "e", "read_panel",
       lambda: kz.read_panel(pd.DataFrame({"region": ["Аkmola"] * 2, "year": [2015, 2016], "outcome": [1.0, 2.0]})),
       "Akmola", want="refused with the closest name Akmola")
LOOK = REGIONS1[0].replace("e", "е")  # Cyrillic е
ok("read_panel regions=None: Latin/Cyrillic lookalike spellings of one region", "e", "read_panel",
   lambda: panel_of(BASE1.assign(region=np.where((BASE1["region"] == REGIONS1[0]) & (BASE1["year"] >= 2015), LOOK,
                                                 BASE1["region"]))),
   n_regions_is(12, "a Cyrillic е in one spelling"), want="the confusable spellings refused or warned about")
ok("read_panel regions=None: no-break space inside one region's name", "e", "read_panel",
   lambda: panel_of(BASE1.assign(region=np.where((BASE1["region"] == REGIONS1[0]) & (BASE1["year"] >= 2015),
                                                 REGIONS1[0].replace(" ", "\u00a0"), BASE1["region"]))),
   n_regions_is(12, "NBSP vs space"))
ok("read_panel regions=None: zero-width space in one region's name", "e", "read_panel",
   lambda: panel_of(BASE1.assign(region=np.where((BASE1["region"] == REGIONS1[0]) & (BASE1["year"] >= 2015),
                                                 REGIONS1[0] + "\u200b", BASE1["region"]))),
   n_regions_is(12, "an invisible zero-width space"))
either("read_panel kazakhstan: 'Akmola' + zero-width space", "e", "read_panel",
       lambda: quiet(lambda: kz.read_panel(pd.DataFrame({"region": ["Akmola\u200b"] * 2, "year": [2015, 2016],
                                                         "outcome": [1.0, 2.0]}))),
       lambda p, w: None if p.regions == ["Akmola"] else f"regions {p.regions}", "Akmola")
ok("read_panel kazakhstan: 'North\\xa0Kazakhstan' and trailing NBSP", "e", "read_panel",
   lambda: quiet(lambda: kz.read_panel(pd.DataFrame({"region": ["North\u00a0Kazakhstan", "Akmola\u00a0"],
                                                     "year": [2015, 2015], "outcome": [1.0, 2.0]}))),
   lambda p, w: None if sorted(p.regions) == ["Akmola", "North Kazakhstan"] else f"regions {p.regions}")
either("read_panel kazakhstan: Kazakh Latin 'Qostanai'", "e", "read_panel",
       lambda: quiet(lambda: kz.read_panel(pd.DataFrame({"region": ["Qostanai"] * 2, "year": [2015, 2016],
                                                         "outcome": [1.0, 2.0]}))),
       lambda p, w: None if p.regions == ["Kostanay"] else f"regions {p.regions}", "Kostanay")
either("read_panel kazakhstan: 'Түркiстан' with a Latin i", "e", "read_panel",
       lambda: quiet(lambda: kz.read_panel(pd.DataFrame({"region": ["Түркiстан"] * 2, "year": [2019, 2020],
                                                         "outcome": [1.0, 2.0]}))),
       lambda p, w: None if p.regions == ["Turkestan"] else f"regions {p.regions}", "Turkestan")
ok("read_panel UTF-8 BOM CSV", "e", "read_panel",
   lambda: quiet(lambda: kz.read_panel(write_text("t.csv", "region,year,outcome\nA,2010,1\nA,2011,2\n",
                                                  prefix=b"\xef\xbb\xbf"), regions=None)),
   lambda p, w: None if p.variables == ["outcome"] else f"variables {p.variables}")
either("read_panel CSV with two BOMs (saved twice)", "e", "read_panel",
       lambda: quiet(lambda: kz.read_panel(write_text("t.csv", "\ufeffregion,year,outcome\nA,2010,1\nA,2011,2\n",
                                                      prefix=b"\xef\xbb\xbf"), regions=None)),
       lambda p, w: None if p.variables == ["outcome"] else f"variables {p.variables}", "region")
either("read_panel XLSX header cell with a BOM", "e", "read_panel",
       lambda: quiet(lambda: kz.read_panel(xlsx([["\ufeffregion", "year", "outcome"], ["A", 2010, 1], ["A", 2011, 2]]),
                                           regions=None)),
       lambda p, w: None if p.variables == ["outcome"] else f"variables {p.variables}", "region")
refuse("read_panel UTF-16 LE CSV with BOM (Excel 'Unicode text')", "e", "read_panel",
       lambda: kz.read_panel(write_text("t.csv", "region\tyear\toutcome\nA\t2010\t1\nA\t2011\t2\n", "utf-16"),
                             regions=None), "UTF-16|UTF 16|encoding", want="refused naming the UTF-16 encoding and "
                                                                            "saying to save as UTF-8")
refuse("read_panel UTF-16 BE CSV without BOM", "e", "read_panel",
       lambda: kz.read_panel(write_text("t.csv", "region,year,outcome\nA,2010,1\nA,2011,2\n", "utf-16-be"),
                             regions=None), "UTF-16|UTF 16|encoding")
refuse("read_panel cp1251 (Windows Cyrillic) CSV", "e", "read_panel",
       lambda: kz.read_panel(write_text("t.csv", "region,year,outcome\nАкмолинская,2010,1\nАкмолинская,2011,2\n",
                                        "cp1251")), "UTF-8")
refuse("read_panel latin-1 CSV", "e", "read_panel",
       lambda: kz.read_panel(write_text("t.csv", "region,year,outcome\nRégion,2010,1\nRégion,2011,2\n", "latin-1"),
                             regions=None), "UTF-8")
def tmp_invalid_tail() -> Path:
    """A UTF-8 CSV whose one bad byte sits after the 64,000 characters the reader samples."""
    path = tmpdir() / "tail.csv"
    body = "region,year,outcome\n" + "".join(f"R{i},2010,1\n" for i in range(8000))
    path.write_bytes(body.encode() + b"X\xff,2010,1\n")
    return path


refuse("read_panel CSV with an invalid UTF-8 byte after 64 KB", "e", "read_panel",
       lambda: kz.read_panel(tmp_invalid_tail(), regions=None), "UTF-8|utf-8|decode", "line|row|byte")
refuse("read_panel CSV with a NUL byte in a cell", "e", "read_panel",
       lambda: kz.read_panel(write_text("t.csv", "region,year,outcome\nA\x00,2010,1\nA,2011,2\n"), regions=None),
       "binary|NUL|null")
ok("read_panel CSV with CR-only (old Mac) line endings", "e", "read_panel",
   lambda: quiet(lambda: kz.read_panel(write_text("t.csv", "region,year,outcome\rA,2010,1\rA,2011,2\rB,2010,3\r"
                                                           "B,2011,4\r"), regions=None)),
   lambda p, w: None if len(p) == 4 else f"{len(p)} rows")
ok("read_panel regions=None: emoji and RTL names", "e", "read_panel",
   lambda: panel_of(renamed({REGIONS1[0]: "Ünïcødé 🏔", REGIONS1[1]: "שלום"})),
   lambda p, w: None if "Ünïcødé 🏔" in p.regions and "שלום" in p.regions else f"regions {p.regions[:3]}")
ok("read_panel column mapping NFC, file header NFD ('Población')", "e", "read_panel",
   lambda: quiet(lambda: kz.read_panel(write_text("t.csv", f"region,year,{unicodedata.normalize('NFD', 'Población')}\n"
                                                           "A,2010,10\nA,2011,11\n"), regions=None,
                                       population=unicodedata.normalize("NFC", "Población"))),
   values_are("population", [10, 11]), want="the column found (normalized), or refused naming the normalization")
ok("read_flows regions=None: origin NFC, destination NFD of one region", "e", "read_flows",
   lambda: quiet(lambda: kz.read_flows(pd.DataFrame({"origin": [NFC_NAME, "B"], "destination": [NFD_NAME, NFC_NAME],
                                                     "year": [2015, 2015], "flow": [5, 6]}), regions=None)),
   lambda f, w: f"{len(f.regions)} regions {[ascii(r) for r in f.regions]}: a flow from a region to itself kept as "
                "interregional" if len(f.regions) == 3 else None,
   want="the self-flow recognised (refused as a positive diagonal), not a third region")
ok("did_2x2 treated= NFD name on an NFC panel", "e", "did_2x2",
   lambda: quiet(lambda: kz.did_2x2(panel_of(renamed({TREATED1[0]: NFC_NAME})), "outcome",
                                    treated=[NFD_NAME, *TREATED1[1:]], post_from=2013)),
   None, want="the region found (normalized), or refused naming the normalization")
ok("factor_model region= NFD name on an NFC panel", "e", "factor_model",
   lambda: kz.factor_model(panel_of(renamed({REGIONS1[0]: NFC_NAME})), NFD_NAME), None)
ok("pair_did with the Russian alias 'Жамбылская' (read_panel accepts it)", "e", "pair_did",
   lambda: quiet(lambda: kz.pair_did(flows21(), ["Жамбылская"], ["Kostanay"], 2014, method="ols")), None,
   want="aliases matched as everywhere else (read_panel, did_2x2 treated=)")
ok("did_2x2 treated=[NFD 'Костанайская'] on the Kazakhstan panel (NFC form accepted)", "e", "did_2x2",
   lambda: quiet(lambda: kz.did_2x2(kz.load_kazakhstan().with_logs("grp_per_capita"), "log_grp_per_capita",
                                    treated=[unicodedata.normalize("NFD", "Костанайская"), "Akmola"],
                                    post_from=2016)), None, want="matched to Kostanay, like its NFC form")
case("cli spec outcome NFD vs --data header NFC", "e", "cli report --spec outcome", argv=REPORT_ARGV,
     setup=cli_files(BASE1.rename(columns={"outcome": NFC_NAME}),
                     f"outcome: {NFD_NAME}\nfirst_treated: first_treated\nregion_names: any\n"),
     expect="ok", want="the column found (normalized), or refused naming the normalization",
     check=lambda r, w: None if (Path(r["tmp"]) / "out" / "report.html").exists() else "no report")
case("cli spec treated_regions in NFD ('Костанайская') on Kazakhstan-named data", "e", "cli report --spec",
     argv=REPORT_ARGV,
     setup=cli_files(quiet(lambda: kz.load_kazakhstan().with_logs("grp_per_capita")).to_frame(),
                     f"outcome: log_grp_per_capita\ntreated_regions: [{unicodedata.normalize('NFD', 'Костанайская')}, "
                     "Akmola, Pavlodar]\npost_from: 2014\n"),
     expect="ok", want="matched to Kostanay", timeout=120,
     check=lambda r, w: None if (Path(r["tmp"]) / "out" / "report.html").exists() else "no report")


# =========================================================================== (f) argument validation outside DID
# simulate_panel
for arg, value in (("n_regions", 2.5), ("n_regions", "12"), ("n_regions", None), ("n_regions", True),
                   ("years", "2010"), ("years", 2015), ("cohorts", "2014"), ("cohorts", {2014.5: 3}),
                   ("cohorts", {2014: 2.5}), ("cohorts", {"2014": 3}), ("effect", "1"), ("noise", -1.0),
                   ("anticipation", 1.5), ("anticipation", True), ("elasticity_sd", -0.5), ("random_seed", -1),
                   ("random_seed", "seed"), ("random_seed", 1.5), ("cohort_effects", {2099: 1.0}),
                   ("heterogeneity", float("inf")), ("serial_correlation", "0.5"), ("dynamic", float("nan"))):
    refuse(f"simulate_panel {arg}={value!r}", "f", "simulate_panel",
           lambda a=arg, v=value: kz.simulate_panel(**{a: v}), arg)
refuse("simulate_panel years=range(2000, 2010) with the default cohorts {2014: 6}", "f", "simulate_panel",
       lambda: kz.simulate_panel(years=range(2000, 2010)), "cohort", "2014")
refuse("simulate_panel years not consecutive [2010, 2012]", "f", "simulate_panel",
       lambda: kz.simulate_panel(years=[2010, 2012]), "years")

# classify_regions
refuse("classify_regions window=(2015,)", "f", "classify_regions", lambda: kz.classify_regions(P1, window=(2015,)),
       "window")
refuse("classify_regions window='2015'", "f", "classify_regions", lambda: kz.classify_regions(P1, window="2015"),
       "window")
refuse("classify_regions window=(2015.5, 2016)", "f", "classify_regions",
       lambda: kz.classify_regions(P1, window=(2015.5, 2016)), "window")
refuse("classify_regions n_clusters=2.5", "f", "classify_regions", lambda: kz.classify_regions(P1, n_clusters=2.5),
       "n_clusters")
refuse("classify_regions n_clusters=True", "f", "classify_regions", lambda: kz.classify_regions(P1, n_clusters=True),
       "n_clusters")
refuse("classify_regions n_init=0", "f", "classify_regions", lambda: kz.classify_regions(P1, n_clusters=2, n_init=0),
       "n_init")
refuse("classify_regions n_init='20'", "f", "classify_regions",
       lambda: kz.classify_regions(P1, n_clusters=2, n_init="20"), "n_init")
refuse("classify_regions features='grp' (a string)", "f", "classify_regions",
       lambda: kz.classify_regions(P1, n_clusters=2, features="grp"), "features", "grp")
refuse("classify_regions random_seed=-1", "f", "classify_regions",
       lambda: kz.classify_regions(P1, n_clusters=2, random_seed=-1), "random_seed")
refuse("classify_regions panel is a DataFrame", "f", "classify_regions", lambda: kz.classify_regions(BASE1), "panel")
refuse("classify_regions index unknown (no counts)", "f", "classify_regions",
       lambda: kz.classify_regions(panel_of(BASE1.drop(columns=["arrivals", "departures"])), index="imp"), "imp")

# factor_model
refuse("factor_model scale='1'", "f", "factor_model", lambda: kz.factor_model(P1, REGIONS1[0], scale="1"), "scale")
refuse("factor_model years=(2012,)", "f", "factor_model", lambda: kz.factor_model(P1, REGIONS1[0], years=(2012,)),
       "years")
refuse("factor_model years='2012'", "f", "factor_model", lambda: kz.factor_model(P1, REGIONS1[0], years="2012"),
       "years")
refuse("factor_model years reversed (2016, 2010)", "f", "factor_model",
       lambda: kz.factor_model(P1, REGIONS1[0], years=(2016, 2010)), "years")
refuse("factor_model region=5", "f", "factor_model", lambda: kz.factor_model(P1, 5), "region")
refuse("factor_model panel is a DataFrame", "f", "factor_model", lambda: kz.factor_model(BASE1, REGIONS1[0]), "panel")
refuse("factor_model form='log'", "f", "factor_model", lambda: kz.factor_model(P1, REGIONS1[0], "log"), "form")
refuse("FactorModelResult.counterfactual(year=1900)", "f", "factor_model.counterfactual",
       lambda: kz.factor_model(P1, REGIONS1[0]).counterfactual(1900), "1900|year")

# hierarchical_elasticity / Bayesian models: validated before any compiling or sampling
for arg, value in (("draws", 1.5), ("draws", "100"), ("chains", 0), ("chains", 2.5), ("tune", -1),
                   ("target_accept", 1.5), ("target_accept", 0), ("random_seed", -1), ("priors", {"bogus": 1.0}),
                   ("priors", {"sigma": -1.0}), ("regions", "Region 01"), ("regions", ["Atlantis"]),
                   ("sampler", "stan"), ("progress", "no")):
    refuse(f"hierarchical_elasticity {arg}={value!r}", "f", "hierarchical_elasticity",
           lambda a=arg, v=value: kz.hierarchical_elasticity(P1, **{"draws": 10, "tune": 10, "chains": 1,
                                                                    "progress": False, a: v}),
           "sigma" if arg == "priors" and "sigma" in value else arg, max_s=20)
refuse("hierarchical_elasticity outcome unknown", "f", "hierarchical_elasticity",
       lambda: kz.hierarchical_elasticity(P1, "gdp", draws=10, tune=10, chains=1, progress=False), "gdp")
for arg, value in (("effect_scale", "2"), ("interval", 1.5), ("draws", 0), ("chains", 0), ("leads", -1),
                   ("target_accept", 2.0), ("prior", "flat")):
    refuse(f"bayesian_event_study {arg}={value!r}", "f", "bayesian_event_study",
           lambda a=arg, v=value: kz.bayesian_event_study(P1, "outcome", first_treated="first_treated",
                                                          **{"draws": 10, "tune": 10, "chains": 1, "progress": False,
                                                             a: v}), arg, max_s=20)
for arg, value in (("draws", "1000"), ("pooling", "full"), ("target_accept", 1.0), ("priors", {"pull": 0}),
                   ("likelihood", "normal")):
    refuse(f"bayesian_gravity {arg}={value!r}", "f", "bayesian_gravity",
           lambda a=arg, v=value: kz.bayesian_gravity(flows_gravity(), kz21(), **{"draws": 10, "tune": 10, "chains": 1,
                                                                                  "progress": False, a: v}), arg,
           max_s=20)
refuse("bayesian_gravity panel missing", "f", "bayesian_gravity",
       lambda: kz.bayesian_gravity(flows_gravity(), draws=10, tune=10, chains=1, progress=False), "panel")
refuse("compare_models of []", "f", "compare_models", lambda: kz.compare_models([]), "results|model")
refuse("compare_models of two DID results", "f", "compare_models", lambda: kz.compare_models([did1(), did1()]),
       "result|ElasticityResult")
refuse("simulation_based_calibration n_fits=2.5", "f", "bayes.simulation_based_calibration",
       lambda: kz.bayes.simulation_based_calibration(P1, n_fits=2.5, draws=10, tune=10, chains=1, progress=False),
       "n_fits", max_s=20)
refuse("simulation_based_calibration bins=0", "f", "bayes.simulation_based_calibration",
       lambda: kz.bayes.simulation_based_calibration(P1, n_fits=10, bins=0, draws=10, tune=10, chains=1,
                                                     progress=False), "bins", max_s=20)
refuse("compare_gravity of one result-like object", "f", "bayes.compare_gravity",
       lambda: kz.bayes.compare_gravity([did1()]), "gravity|results")

# gravity / pair DID
refuse("gravity_model fixed_effects='region'", "f", "gravity_model",
       lambda: kz.gravity_model(flows_gravity(), kz21(), fixed_effects="region"), "fixed_effects")
refuse("gravity_model cluster='region'", "f", "gravity_model",
       lambda: kz.gravity_model(flows_gravity(), kz21(), cluster="region"), "cluster")
refuse("gravity_model alpha=5", "f", "gravity_model", lambda: kz.gravity_model(flows_gravity(), kz21(), alpha=5),
       "alpha")
refuse("gravity_model FlowTable without a panel", "f", "gravity_model", lambda: kz.gravity_model(flows_gravity()),
       "panel")
refuse("gravity_model DataFrame missing columns", "f", "gravity_model",
       lambda: kz.gravity_model(pd.DataFrame({"origin": ["A"], "destination": ["B"], "flow": [1]})),
       "column|lack")
refuse("gravity_model distances=5", "f", "gravity_model",
       lambda: kz.gravity_model(flows_gravity(), kz21(), distances=5), "distances")
refuse("gravity_data panel is a DataFrame", "f", "gravity_data", lambda: kz.gravity_data(flows_gravity(), BASE1),
       "panel")
refuse("pair_did sending as one string", "f", "pair_did",
       lambda: kz.pair_did(flows21(), "Zhambyl", RECEIVING, 2014), "sending")
refuse("pair_did post_from='2014'", "f", "pair_did", lambda: kz.pair_did(flows21(), SENDING, RECEIVING, "2014"),
       "post_from")
refuse("pair_did overlapping groups", "f", "pair_did",
       lambda: kz.pair_did(flows21(), SENDING, [SENDING[0]], 2014), "sending|receiving")
refuse("pair_did unknown region", "f", "pair_did", lambda: kz.pair_did(flows21(), ["Atlantis"], RECEIVING, 2014),
       "Atlantis")
refuse("pair_did method='poisson'", "f", "pair_did",
       lambda: kz.pair_did(flows21(), SENDING, RECEIVING, 2014, method="poisson"), "method")

# tables
refuse("regression_table of []", "f", "regression_table", lambda: kz.regression_table([]), "result")
refuse("regression_table of a string", "f", "regression_table", lambda: kz.regression_table("model"), "result|model")
refuse("regression_table digits=2.5", "f", "regression_table", lambda: kz.regression_table([did1()], digits=2.5),
       "digits")
refuse("regression_table terms='Program x Post' (a string)", "f", "regression_table",
       lambda: kz.regression_table([did1()], terms="Program x Post"), "terms")
refuse("regression_table terms unknown", "f", "regression_table",
       lambda: kz.regression_table([did1()], terms=["ATT"]), "ATT")
refuse("regression_table stars='yes'", "f", "regression_table", lambda: kz.regression_table([did1()], stars="yes"),
       "stars")
refuse("regression_table results=None", "f", "regression_table", lambda: kz.regression_table(None), "result")

# datasets loaders
refuse("load_kazakhstan boundaries='2021'", "f", "load_kazakhstan", lambda: kz.load_kazakhstan("2021"), "boundaries")
refuse("load_kazakhstan boundaries=2021.5", "f", "load_kazakhstan", lambda: kz.load_kazakhstan(2021.5), "boundaries")
either("load_kazakhstan boundaries=1990", "f", "load_kazakhstan", lambda: kz.load_kazakhstan(1990),
       returns(kz.RegionPanel), "boundaries")
either("load_kazakhstan boundaries=3000", "f", "load_kazakhstan", lambda: kz.load_kazakhstan(3000),
       returns(kz.RegionPanel), "boundaries")
refuse("load_kazakhstan migration='yes'", "f", "load_kazakhstan", lambda: kz.load_kazakhstan(migration="yes"),
       "migration")
refuse("load_migration_flows boundaries=None", "f", "load_migration_flows", lambda: kz.load_migration_flows(None),
       "boundaries")
refuse("load_migration_flows include_unreliable='no'", "f", "load_migration_flows",
       lambda: kz.load_migration_flows(include_unreliable="no"), "include_unreliable")
refuse("datasets.region_centres boundaries='x'", "f", "datasets.region_centres",
       lambda: kz.datasets.region_centres("x"), "boundaries")
refuse("datasets.named_group(5)", "f", "datasets.named_group", lambda: kz.datasets.named_group(5), "name")

# panel and flow methods
refuse("RegionPanel.harmonize('abc')", "f", "RegionPanel.harmonize", lambda: kz.load_kazakhstan().harmonize("abc"),
       "boundaries")
refuse("RegionPanel.harmonize(2021.7)", "f", "RegionPanel.harmonize", lambda: kz.load_kazakhstan().harmonize(2021.7),
       "boundaries")
refuse("RegionPanel['gdp'] (unknown variable)", "f", "RegionPanel.__getitem__", lambda: P1["gdp"], "gdp")
refuse("RegionPanel.with_logs('outcome') (negative values)", "f", "RegionPanel.with_logs",
       lambda: P1.with_logs("outcome"), "outcome")
refuse("RegionPanel.from_xarray(a DataFrame)", "f", "RegionPanel.from_xarray",
       lambda: kz.RegionPanel.from_xarray(BASE1), "dataset|xarray")
refuse("FlowTable.select(years=2015) (an int)", "f", "FlowTable.select", lambda: flows21().select(years=2015), "years")
refuse("FlowTable.select(regions='Akmola') (a string)", "f", "FlowTable.select",
       lambda: flows21().select(regions="Akmola"), "regions", "Akmola")
refuse("FlowTable.harmonize('x')", "f", "FlowTable.harmonize", lambda: flows21().harmonize("x"), "boundaries")
refuse("FlowTable.region_totals(missing='ignore')", "f", "FlowTable.region_totals",
       lambda: flows21().region_totals(missing="ignore"), "missing")
refuse("read_flows quality column unknown", "f", "read_flows",
       lambda: kz.read_flows(flows21().to_frame(), quality="flag"), "flag")
refuse("read_flows origin and destination the same column", "f", "read_flows",
       lambda: kz.read_flows(flows21().to_frame(), destination="origin"), "origin")
refuse("read_panel units='grp: KZT' (a string)", "f", "read_panel",
       lambda: kz.read_panel(BASE1, regions=None, units="grp: KZT"), "units")
refuse("read_panel sources='BNS' (a string)", "f", "read_panel",
       lambda: kz.read_panel(BASE1, regions=None, sources="BNS"), "sources",
       want="refused, or kept as one source (not split into letters)")
refuse("read_panel derive='grp_per_capita' (a string)", "f", "read_panel",
       lambda: kz.read_panel(BASE1, regions=None, derive="grp_per_capita"), "derive")

# planning, config, report objects
refuse("planning.estimate_error_process before='2014'", "f", "planning.estimate_error_process",
       lambda: kz.planning.estimate_error_process(P1, "outcome", "2014"), "before")
refuse("planning.estimate_error_process outcome unknown", "f", "planning.estimate_error_process",
       lambda: kz.planning.estimate_error_process(P1, "gdp", 2013), "gdp")
refuse("config backend='Dask' (capitalised)", "f", "config", lambda: kz.config("Dask"), "backend")
refuse("config workers='4'", "f", "config", lambda: kz.config("dask", workers="4"), "workers")
refuse("build_report spec is a dict", "f", "build_report",
       lambda: kz.build_report(P1, {"outcome": "outcome"}, None, fast=True, quiet=True), "spec")
refuse("build_report panel is a DataFrame", "f", "build_report",
       lambda: kz.build_report(BASE1, ReportSpec("outcome", "first_treated"), None, fast=True, quiet=True), "panel")
refuse("build_report out_dir=5", "f", "build_report",
       lambda: kz.build_report(P1, ReportSpec("outcome", "first_treated"), 5, fast=True, quiet=True), "out_dir")
refuse("build_report fast='yes'", "f", "build_report",
       lambda: kz.build_report(P1, ReportSpec("outcome", "first_treated"), None, fast="yes", quiet=True), "fast")
refuse("build_report random_seed='x'", "f", "build_report",
       lambda: kz.build_report(P1, ReportSpec("outcome", "first_treated"), None, fast=True, quiet=True,
                               random_seed="x"), "random_seed")
refuse("build_report out_dir is an existing file", "f", "build_report",
       lambda: kz.build_report(P1, ReportSpec("outcome", "first_treated"), write_text("f.txt", "x"), fast=True,
                               quiet=True), "out_dir|file")
refuse("ReportSpec leads=0 through build_report", "f", "build_report",
       lambda: kz.build_report(P1, ReportSpec("outcome", "first_treated", leads=0), None, fast=True, quiet=True),
       "leads")
refuse("ReportSpec outcome unknown through build_report", "f", "build_report",
       lambda: kz.build_report(P1, ReportSpec("gdp", "first_treated"), None, fast=True, quiet=True), "gdp")
refuse("report.read_spec of a directory", "f", "report.read_spec", lambda: kz.report.read_spec(tmpdir()), "directory")
refuse("report.read_spec of a PNG", "f", "report.read_spec",
       lambda: kz.report.read_spec(write_text("s.yaml", "", prefix=b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")), "UTF-8")
refuse("report.read_spec path=None", "f", "report.read_spec", lambda: kz.report.read_spec(None), "path|spec")
refuse("DIDDesign.from_panel outcome unknown", "f", "DIDDesign", lambda: kz.DIDDesign.from_panel(P, "gdp",
                                                                                                 "first_treated"),
       "gdp")
refuse("design.resolve_regions of an int", "f", "design.resolve_regions",
       lambda: kz.design.resolve_regions(P1, 5), "treated|region")
refuse("diagnostics.randomization_inference statistic='z'", "f", "randomization_inference",
       lambda: kz.randomization_inference(did1(), statistic="z", progress=False), "statistic")
refuse("bayes.prior_sensitivity factor=0", "f", "bayes.prior_sensitivity",
       lambda: kz.bayes.prior_sensitivity(quiet(lambda: kz.hierarchical_elasticity(
           P1, draws=20, tune=20, chains=1, progress=False, random_seed=1)), P1, factor=0), "factor", timeout=120)


# =========================================================================== (g) CLI files, folders and messages
def base_setup(tmp: Path):
    BASE1.to_csv(tmp / "panel.csv", index=False)
    (tmp / "spec.yaml").write_text("outcome: outcome\nfirst_treated: first_treated\nregion_names: any\n",
                                   encoding="utf-8")
    return {"data": str(tmp / "panel.csv"), "spec": str(tmp / "spec.yaml")}


def with_files(**files):
    """A setup writing the base panel and spec plus ``files`` (name -> bytes/str, or a callable(tmp))."""
    def setup(tmp: Path):
        subs = base_setup(tmp)
        for name, content in files.items():
            path = tmp / name.replace("__", ".")
            if callable(content):
                content(path)
            elif isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
            subs[name] = str(path)
        return subs
    return setup


def report_argv(data="{data}", spec="{spec}", out="{tmp}/out"):
    return ["report", "--data", data, "--spec", spec, "--out", out, "--fast", "--quiet"]


def wrote_report(result, _w):
    out = Path(result["tmp"]) / "out"
    missing = [p for p in ("report.html", "tables/did.md", "tables/did.tex", "tables/verdict.md") if not (out / p).exists()]
    return f"missing outputs {missing}" if missing else None


case("cli report --fast --quiet on a CSV panel", "g", "cli report", argv=report_argv(), setup=base_setup, expect="ok",
     want="report.html and tables written, rc 0",
     check=lambda r, w: wrote_report(r, w) or ("--quiet still printed the section timings"
                                              if "Time by section" in r["stdout"] else None))
case("cli report (not quiet) prints the section timings", "g", "cli report --quiet", argv=report_argv()[:-1],
     setup=base_setup, expect="ok", want="progress and timings printed",
     check=lambda r, w: None if "Time by section" in r["stdout"] else "no timings printed without --quiet")
case("cli --data file does not exist", "g", "cli report --data", argv=report_argv(data="{tmp}/missing.csv"),
     setup=base_setup, keywords=("missing.csv",))
case("cli --data is a directory", "g", "cli report --data", argv=report_argv(data="{tmp}"), setup=base_setup,
     keywords=("director|folder",), want="'is a directory' with the fix, not 'not found'")
case("cli --data /dev/null (a device)", "g", "cli report --data", argv=report_argv(data="/dev/null"), setup=base_setup,
     keywords=("regular file|not a file|device|empty",), want="'not a regular file', not 'not found'")
case("cli --data empty file", "g", "cli report --data", argv=report_argv(data="{empty}"),
     setup=with_files(empty=b""), keywords=("empty",))
case("cli --data a PNG image", "g", "cli report --data", argv=report_argv(data="{img}"),
     setup=with_files(img=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64), keywords=("binary|not a table",))
case("cli --data CSV text saved as .xlsx", "g", "cli report --data", argv=report_argv(data="{fake__xlsx}"),
     setup=with_files(fake__xlsx="region,year,outcome\nA,2010,1\n"), keywords=("xlsx|excel|spreadsheet|readable",))
case("cli --data corrupt .xlsx (zip header, garbage)", "g", "cli report --data", argv=report_argv(data="{bad__xlsx}"),
     setup=with_files(bad__xlsx=b"PK\x03\x04" + b"\x00garbage" * 200), keywords=("xlsx|zip|corrupt|readable",))
case("cli --data legacy .xls (OLE2 header)", "g", "cli report --data", argv=report_argv(data="{old__xls}"),
     setup=with_files(old__xls=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024), keywords=("xls",),
     want="refused: .xls needs xlrd / save as .xlsx; no ImportError traceback")
case("cli --data UTF-16 CSV", "g", "cli report --data", argv=report_argv(data="{u16__csv}"),
     setup=with_files(u16__csv=BASE1.to_csv(index=False).encode("utf-16")), keywords=("UTF-16|UTF 16|encoding",))
case("cli --data 1 TiB sparse CSV", "g", "cli report --data", argv=report_argv(data="{huge__csv}"),
     setup=with_files(huge__csv=lambda p: (p.write_bytes(b"region,year,outcome\n"), os.truncate(p, 2**40))),
     keywords=("memory|GiB",), max_s=30)
case("cli --data dangling symlink", "g", "cli report --data", argv=report_argv(data="{link}"),
     setup=with_files(link=lambda p: p.symlink_to(p.parent / "nowhere.csv")), keywords=("link|not found|exist",))
case("cli --data symlink loop", "g", "cli report --data", argv=report_argv(data="{loop}"),
     setup=with_files(loop=lambda p: p.symlink_to(p)), keywords=("link|loop",))
case("cli --data without --spec", "g", "cli report --data", argv=["report", "--data", "{data}", "--out", "{tmp}/o"],
     setup=base_setup, keywords=("--spec",))
case("cli --data pointing at the spec YAML", "g", "cli report --data", argv=report_argv(data="{spec}"),
     setup=base_setup, keywords=("region|table|column",))
case("cli --spec does not exist", "g", "cli report --spec", argv=report_argv(spec="{tmp}/nope.yaml"), setup=base_setup,
     keywords=("nope.yaml",))
case("cli --spec is a directory", "g", "cli report --spec", argv=report_argv(spec="{tmp}"), setup=base_setup,
     keywords=("director",))
case("cli --spec /dev/null", "g", "cli report --spec", argv=report_argv(spec="/dev/null"), setup=base_setup,
     keywords=("regular file|not a file|device|empty|outcome",), want="'not a regular file' or 'empty', not 'not found'")
case("cli --spec empty file", "g", "cli report --spec", argv=report_argv(spec="{s}"), setup=with_files(s=""),
     keywords=("outcome",))
case("cli --spec binary file", "g", "cli report --spec", argv=report_argv(spec="{s}"),
     setup=with_files(s=b"\x89PNG\r\n\x1a\n\xff\xfe\x00"), keywords=("UTF-8|yaml",))
case("cli --spec YAML list", "g", "cli report --spec", argv=report_argv(spec="{s}"),
     setup=with_files(s="- outcome\n- first_treated\n"), keywords=("mapping",))
case("cli --spec JSON (valid YAML)", "g", "cli report --spec", argv=report_argv(spec="{s}"),
     setup=with_files(s='{"outcome": "outcome", "first_treated": "first_treated", "region_names": "any"}'),
     expect="ok", want="JSON is YAML: the report is written", check=wrote_report)
case("cli --spec sheet: 3 with a CSV --data", "g", "cli report --spec sheet",
     argv=report_argv(spec="{s}"),
     setup=with_files(s="outcome: outcome\nfirst_treated: first_treated\nregion_names: any\nsheet: 3\n"),
     keywords=("sheet",), want="refused (sheet applies to spreadsheets), not silently ignored")
case("cli --spec header_row: 10**9", "g", "cli report --spec header_row", argv=report_argv(spec="{s}"),
     setup=with_files(s="outcome: outcome\nfirst_treated: first_treated\nregion_names: any\nheader_row: 1000000000\n"),
     keywords=("header",), max_s=30)
case("cli --spec decimal: ';'", "g", "cli report --spec decimal", argv=report_argv(spec="{s}"),
     setup=with_files(s="outcome: outcome\nfirst_treated: first_treated\nregion_names: any\ndecimal: ';'\n"),
     keywords=("decimal",))
case("cli --spec read keys but no --data", "g", "cli report --spec", argv=["report", "--spec", "{s}", "--out", "{tmp}/o"],
     setup=with_files(s="outcome: log_grp_per_capita\nfirst_treated: first_treated\ndecimal: ','\n"),
     keywords=("--data",))
case("cli --out is an existing file", "g", "cli report --out", argv=report_argv(out="{f}"),
     setup=with_files(f="not a folder"), keywords=("--out", "file"))
case("cli --out under an existing file", "g", "cli report --out", argv=report_argv(out="{f}/sub"),
     setup=with_files(f="not a folder"), keywords=("--out", "file"))
case("cli --out '' (empty string)", "g", "cli report --out", argv=report_argv(out=""), setup=base_setup,
     keywords=("--out",), want="refused: an empty folder name (not silently the working directory)")
case("cli --out with a 300-character component", "g", "cli report --out", argv=report_argv(out="{tmp}/" + "x" * 300),
     setup=base_setup, keywords=("--out", "long"))
case("cli --out deeper than PATH_MAX", "g", "cli report --out",
     argv=report_argv(out="{tmp}/" + "/".join(["d" * 200] * 25)), setup=base_setup, keywords=("--out", "long"))
case("cli --out /proc/kzcausal (read-only file system)", "g", "cli report --out",
     argv=report_argv(out="/proc/kzcausal-audit"), setup=base_setup, keywords=("--out",))
case("cli --out /dev/null", "g", "cli report --out", argv=report_argv(out="/dev/null"), setup=base_setup,
     keywords=("--out",))
case("cli --out with markup and spaces in the name", "g", "cli report --out",
     argv=report_argv(out="{tmp}/<b> out 'x'"), setup=base_setup, expect="ok", want="written there",
     check=lambda r, w: None if (Path(r["tmp"]) / "<b> out 'x'" / "report.html").exists() else "no report")
case("cli --data path with spaces and Cyrillic", "g", "cli report --data", argv=report_argv(data="{p}"),
     setup=lambda tmp: {**base_setup(tmp), "p": str(BASE1.to_csv(tmp / "мои данные.csv", index=False) or
                                                      tmp / "мои данные.csv")},
     expect="ok", check=wrote_report)
case("cli report unknown option", "g", "cli report", argv=["report", "--bogus"], setup=base_setup,
     keywords=("bogus",))
case("cli report --data without a value", "g", "cli report --data", argv=["report", "--data"], setup=base_setup,
     keywords=("--data",))
case("cli report --fast=yes", "g", "cli report --fast", argv=["report", "--fast=yes"], setup=base_setup,
     keywords=("--fast",))
case("cli data --boundaries abc", "g", "cli data --boundaries", argv=["data", "--boundaries", "abc"],
     keywords=("boundaries",))
case("cli data --boundaries 1990", "g", "cli data --boundaries", argv=["data", "--boundaries", "1990"],
     expect="either", keywords=("boundaries",), check=lambda r, w: None if "RegionPanel" in r["stdout"] else "no summary")
case("cli data --boundaries 99999", "g", "cli data --boundaries", argv=["data", "--boundaries", "99999"],
     expect="either", keywords=("boundaries",), check=lambda r, w: None if "RegionPanel" in r["stdout"] else "no summary")
case("cli data (bundled summary)", "g", "cli data", argv=["data"], expect="ok",
     check=lambda r, w: None if "RegionPanel" in r["stdout"] and "FlowTable" in r["stdout"] else "no summary")
case("cli with no arguments prints help", "g", "cli", argv=[], expect="either", keywords=("usage",),
     check=lambda r, w: None if "report" in r["stdout"] else "no help")
case("cli --spec random_seed: -1", "g", "cli report --spec random_seed", argv=report_argv(spec="{s}"),
     setup=with_files(s="outcome: outcome\nfirst_treated: first_treated\nregion_names: any\nrandom_seed: -1\n"),
     keywords=("random_seed",))
case("cli --spec alpha: 5%", "g", "cli report --spec alpha", argv=report_argv(spec="{s}"),
     setup=with_files(s="outcome: outcome\nfirst_treated: first_treated\nregion_names: any\nalpha: 5%\n"),
     keywords=("alpha",))
case("cli --spec columns maps to a missing column", "g", "cli report --spec columns", argv=report_argv(spec="{s}"),
     setup=with_files(s="outcome: outcome\nfirst_treated: first_treated\nregion_names: any\n"
                        "columns: {outcome: Outcome, first_treated: first_treated}\n"), keywords=("Outcome",))
case("cli --data XLSX with sheet: Nope", "g", "cli report --spec sheet", argv=report_argv(data="{x__xlsx}", spec="{s}"),
     setup=with_files(x__xlsx=lambda p: BASE1.to_excel(p, index=False),
                      s="outcome: outcome\nfirst_treated: first_treated\nregion_names: any\nsheet: Nope\n"),
     keywords=("Nope", "sheet"))
