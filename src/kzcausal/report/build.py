"""The robustness report: every check on one design, one self-contained HTML file, tables, a verdict.

``build_report`` runs paper 002's 2x2 as published, TWFE with clustered errors, the staggered
ATT(g,t), CS and Sun-Abraham event studies, the pre-trend test with its power, HonestDiD
sensitivity with breakdown values, the Bacon decomposition, placebo in time, exact
randomization inference and the wild cluster bootstrap (on TWFE and on the Callaway-Sant'Anna
ATT) and leave-one-region-out, then paper 000's
factor models and the hierarchical elasticities. A check the design cannot support is stated in
the report and the rest still run.
"""

from __future__ import annotations

import base64
import io
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .. import text as _text
from ..errors import KzCausalError, SpecificationError, check_flag, check_seed
from ..panel import RegionPanel, canonical_region, read_panel
from .tables import regression_table

__all__ = ["build_report", "Report", "ReportSpec", "default_spec", "read_spec"]


# ------------------------------------------------------------------ specification
@dataclass(frozen=True)
class ReportSpec:
    """What the report estimates: the DID design and, optionally, the elasticity model."""

    outcome: str
    first_treated: str                          # panel column: first treated year (NaN: never)
    leads: int = 3
    lags: int = 5
    elasticity_outcome: str | None = None
    elasticity_index: str | None = None
    factor_regions: tuple[str, ...] = ()
    title: str = "kzcausal robustness report"
    notes: tuple[str, ...] = ()
    source: str = "the specification"
    migration: bool = False                     # add the real interregional-flow sections (Kazakhstan)
    # keyword arguments of read_panel for the user's --data file (region/year columns, decimal, header_row, ...)
    read_options: Mapping[str, object] = field(default_factory=dict, hash=False)
    # estimator options (ESTIMATION_KEYS), validated by the API's own checks; absent keys keep the defaults
    options: Mapping[str, object] = field(default_factory=dict, hash=False)

    def option(self, name: str, default=None):
        """An estimator option of the spec, or ``default`` where the spec does not set it."""
        return self.options.get(name, default)

    def require_columns(self, panel: RegionPanel) -> None:
        """Raise naming the spec's columns the data lack (listing those they have); check first_treated holds years."""
        cluster = self.options.get("cluster")
        columns = [self.outcome, self.first_treated, self.elasticity_outcome, self.elasticity_index,
                   *self.options.get("covariates", ()), cluster if isinstance(cluster, str) else None]
        missing = [c for c in columns if c is not None and c not in panel.variables]
        if missing:
            raise SpecificationError(f"{self.source}: column(s) {missing} not in the data; available columns: "
                                     f"{panel.variables}. Fix: name columns from that list (or add them to --data).")
        values = panel.to_frame()[self.first_treated].dropna()
        if len(values) and values.isin([0, 1]).all():
            raise SpecificationError(
                f"{self.source}: first_treated column {self.first_treated!r} holds only 0/1, a treatment indicator, "
                "not first treated years. Fix: a column with each treated region's first treated year (empty for "
                "never treated), or treated_regions: [...] with post_from: <year>.")


#: Keys that say how to read the user's panel file: read_panel's arguments (``region_names`` is its ``regions``).
READ_KEYS = ("region", "year", "value", "decimal", "header_row", "sheet", "missing", "allow_gaps", "columns")
#: Keys that set the estimators' options (the API's keyword arguments, checked by the API's own checks).
ESTIMATION_KEYS = ("control_group", "anticipation", "covariates", "cluster", "alpha", "random_seed", "draws",
                   "sdid_variance", "honest_mbar", "honest_m")
SPEC_KEYS = {"outcome", "first_treated", "treated_regions", "post_from", "leads", "lags", "elasticity", "title",
             "region_names", *READ_KEYS, *ESTIMATION_KEYS}


def _unique_key_loader():
    """yaml's safe loader, refusing a key given twice (plain YAML keeps the last one silently)."""
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                try:
                    hash(key)
                except TypeError:
                    continue  # an unhashable key: the safe loader's own error names it
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} is given twice (line {key_node.start_mark.line + 1}); "
                        "only one value can hold. Fix: keep one of them", key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return Loader


def read_spec(path: str | Path) -> tuple[ReportSpec, dict]:
    """Read and validate a YAML specification (``yaml.safe_load``); returns the spec and the raw mapping.

    The design: ``outcome`` (a column), and either ``first_treated`` (a column of first treated
    years) or ``treated_regions`` (a list) with ``post_from`` (a year); ``leads`` and ``lags``
    (whole numbers >= 1), ``elasticity: {outcome, index, factor_regions}``, ``title``.

    How to read the ``--data`` file (the arguments of :func:`kzcausal.read_panel`): ``region``
    and ``year`` (the names of its region and year columns, e.g. ``region: state``), ``value``
    (the variable a wide table holds), ``decimal`` (``"."`` or ``","``), ``header_row`` (0-based),
    ``sheet`` (name or 0-based position), ``missing`` (``raise`` or ``drop``), ``allow_gaps``
    (``true``/``false``), ``columns`` (panel variable -> file column, e.g. ``{grp: GRP}``; only
    those columns are read) and ``region_names`` (``any`` or ``kazakhstan``). Every value's type is
    checked here; columns are checked against the data later, by :meth:`ReportSpec.require_columns`.
    """
    import yaml

    if not isinstance(path, (str, Path)) or not str(path).strip():
        raise SpecificationError(f"read_spec: path={path!r}. Fix: pass the path of the YAML specification file.")
    path = Path(path)
    if path.is_dir():
        raise SpecificationError(f"--spec {str(path)!r} is a directory. Fix: give the YAML file inside it.")
    if not path.is_file():
        raise SpecificationError(f"specification file {str(path)!r} not found. Fix: check the path.")
    toml = (" The specification is YAML (key: value lines), not TOML (key = value). Fix: write e.g. "
            "'outcome: in_migration_rate'.")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_unique_key_loader())
    except yaml.YAMLError as exc:
        raise SpecificationError(f"{path} is not valid YAML: {exc}" + (toml if path.suffix == ".toml" or " = " in
                                 path.read_text(encoding="utf-8", errors="replace") else
                                 "" if "Fix:" in str(exc) else " Fix: correct the line it names.")) from None
    except UnicodeDecodeError as exc:
        raise SpecificationError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}). Fix: save the "
                                 "specification as a UTF-8 YAML file.") from None
    except OSError as exc:
        raise SpecificationError(f"{path}: cannot be read ({exc.strerror}). Fix: check the file's permissions.") from None
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise SpecificationError(f"{path} must hold a mapping (key: value lines); got {type(raw).__name__}."
                                 + (toml if isinstance(raw, str) and " = " in raw else
                                    " Fix: write one 'key: value' line per setting, e.g. 'outcome: grp'."))
    unknown = sorted((key for key in raw if key not in SPEC_KEYS), key=str)
    if unknown:
        import difflib

        close = {k: difflib.get_close_matches(str(k), SPEC_KEYS, n=1) for k in unknown}
        hint = "; ".join(f"{k!r} -> {v[0]!r}" for k, v in close.items() if v)
        raise SpecificationError(f"{path}: unknown key(s) {unknown}; the keys are {sorted(SPEC_KEYS)}. Fix: "
                                 + (f"correct the spelling ({hint})." if hint else "remove them."))
    where = str(path)
    if "outcome" not in raw:
        raise SpecificationError(f"{where}: 'outcome' is required (the DID outcome column). Fix: add a line "
                                 "'outcome: <column of --data>'.")
    if ("first_treated" in raw) == ("treated_regions" in raw):
        raise SpecificationError(f"{where}: the design is given by exactly one of 'first_treated' (a column of first "
                                 "treated years) or 'treated_regions' with 'post_from' (a 2x2 design). Fix: keep "
                                 "one of them.")
    elasticity = raw.get("elasticity")
    elasticity = {} if elasticity is None or elasticity is False else elasticity  # `elasticity: false`: none
    if not isinstance(elasticity, Mapping) or set(elasticity) - {"outcome", "index", "factor_regions"} \
            or (elasticity and not {"outcome", "index"} <= set(elasticity)):
        raise SpecificationError(f"{where}: 'elasticity' must be a mapping with 'outcome' and 'index' (columns) "
                                 "and optionally 'factor_regions' (a list of regions), e.g.\n"
                                 f"  elasticity: {{outcome: grp, index: attractiveness_index}}\ngot {elasticity!r}. "
                                 "Fix: write it in that form, or leave it out.")
    for key in ("outcome", "index"):
        if key in elasticity and not _is_name(elasticity[key]):
            raise SpecificationError(f"{where}: elasticity {key!r} must be a column name (text); "
                                     f"got {elasticity[key]!r}. Fix: name a column of --data.")
    factor_regions = elasticity.get("factor_regions", [])
    if not isinstance(factor_regions, list) or not all(_is_name(r) for r in factor_regions):
        raise SpecificationError(f"{where}: elasticity 'factor_regions' must be a YAML list of region names, e.g. "
                                 f"[Zhambyl, Almaty region]; got {factor_regions!r}. Fix: write it as such a list.")
    for key in ("leads", "lags"):  # YAML reads `true` as a bool, which Python counts as an int
        if key in raw and (isinstance(raw[key], bool) or not isinstance(raw[key], int) or raw[key] < 1):
            raise SpecificationError(f"{where}: {key!r} must be a positive whole number of years; got {raw[key]!r}. "
                                     f"Fix: e.g. {key}: {3 if key == 'leads' else 5}.")
    for key in ("outcome", "first_treated", "title"):
        if key in raw and not (isinstance(raw[key], str) and (key == "title" or raw[key].strip())):
            what = "a title" if key == "title" else "a column name"
            raise SpecificationError(f"{where}: {key!r} must be text ({what}); got {raw[key]!r} "
                                     f"({type(raw[key]).__name__}). Fix: quote it, e.g. {key}: \"...\".")
    if "treated_regions" in raw:
        regions = raw["treated_regions"]
        if isinstance(regions, str) or not isinstance(regions, list) or not regions \
                or not all(isinstance(r, str) for r in regions):
            raise SpecificationError(f"{where}: 'treated_regions' must be a YAML list of region names, e.g.\n"
                                     f"  treated_regions: [Akmola, Kostanay]\ngot {regions!r}. Fix: write it as "
                                     "such a list.")
        if len(set(regions)) < len(regions):
            raise SpecificationError(f"{where}: 'treated_regions' lists {sorted({r for r in regions if regions.count(r) > 1})} "
                                     "more than once. Fix: list each region once.")
        if "post_from" not in raw:
            raise SpecificationError(f"{where}: 'treated_regions' needs 'post_from' (the first treated year). Fix: add "
                                     "'post_from: <year>'.")
    if "post_from" in raw and (isinstance(raw["post_from"], bool) or not isinstance(raw["post_from"], int)):
        raise SpecificationError(f"{where}: 'post_from' must be a whole year; got {raw['post_from']!r}. Fix: e.g. "
                                 "post_from: 2014 (no quotes).")
    if "post_from" in raw and "treated_regions" not in raw:
        raise SpecificationError(f"{where}: 'post_from' goes with 'treated_regions' (a 2x2 design); with "
                                 "'first_treated' the column holds each region's first treated year. Remove one.")
    if "region_names" in raw and raw["region_names"] not in ("any", "kazakhstan"):
        raise SpecificationError(f"{where}: 'region_names' is 'any' (any unit names) or 'kazakhstan' (the default); "
                                 f"got {raw['region_names']!r}. Fix: region_names: any, for regions other than "
                                 "Kazakhstan's.")
    spec = ReportSpec(outcome=raw["outcome"], first_treated=raw.get("first_treated", "first_treated"),
                      leads=raw.get("leads", 3), lags=raw.get("lags", 5),
                      elasticity_outcome=elasticity.get("outcome"), elasticity_index=elasticity.get("index"),
                      factor_regions=tuple(factor_regions),
                      title=raw.get("title", ReportSpec.title), source=where, read_options=_read_options(raw, where),
                      options=estimation_options(raw, where))
    return spec, raw


def estimation_options(raw: Mapping, where: str = "the specification") -> dict:
    """The estimator options of a spec (:data:`ESTIMATION_KEYS`), each checked by the function the API uses
    for the same argument, so the spec accepts what the API accepts with the API's message.

    ``control_group`` and ``anticipation`` (the staggered estimators), ``covariates`` (a list of columns),
    ``cluster`` (a column, or a mapping region -> cluster label), ``alpha``, ``random_seed``, ``draws`` (the
    wild bootstrap's and sampled randomization inference's draws, synthetic DID's replications),
    ``sdid_variance`` (``placebo``, ``jackknife`` or ``bootstrap``), ``honest_mbar`` and ``honest_m`` (the
    HonestDiD grids of relative magnitudes and smoothness).
    """
    from typing import get_args

    from ..design import check_anticipation, check_clustering, check_control_group
    from ..did.synthetic import Variance
    from ..errors import check_alpha, check_count, check_names, check_seed

    options: dict = {}
    try:
        if "control_group" in raw:
            options["control_group"] = check_control_group(raw["control_group"])
        if "anticipation" in raw:
            options["anticipation"] = check_anticipation(raw["anticipation"])
        if "covariates" in raw:
            options["covariates"] = tuple(check_names(raw["covariates"], "covariates"))
        if "cluster" in raw:
            check_clustering(raw["cluster"])
            options["cluster"] = dict(raw["cluster"]) if isinstance(raw["cluster"], Mapping) else raw["cluster"]
        if "alpha" in raw:
            options["alpha"] = check_alpha(raw["alpha"])
        if "random_seed" in raw:
            options["random_seed"] = check_seed(raw["random_seed"])
        if "draws" in raw:
            options["draws"] = check_count(raw["draws"], "draws", minimum=19, cap=100_000,
                                           unit_cost="one re-estimation", fix="999 or 9999")
        if "sdid_variance" in raw:
            if raw["sdid_variance"] not in get_args(Variance):
                raise SpecificationError(f"sdid_variance={raw['sdid_variance']!r}. Fix: use one of "
                                         f"{list(get_args(Variance))} (synthetic_did's variance=).")
            options["sdid_variance"] = raw["sdid_variance"]
        for key in ("honest_mbar", "honest_m"):
            if key in raw:
                grid = raw[key]
                if isinstance(grid, (str, bool)) or not isinstance(grid, list) or not grid or not all(
                        isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in grid):
                    raise SpecificationError(f"{key}={grid!r}. Fix: give a YAML list of numbers >= 0, e.g. "
                                             f"{key}: [0, 0.5, 1].")
                options[key] = [float(v) for v in grid]
    except SpecificationError as exc:
        raise SpecificationError(f"{where}: {exc}") from None
    return options


def _is_name(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _read_options(raw: Mapping, where: str) -> dict:
    """read_panel's keyword arguments from the spec's read keys, each type-checked."""
    import inspect

    options: dict = {"regions": None if raw.get("region_names") == "any" else "kazakhstan"}
    for key in ("region", "year", "value"):
        if key in raw:
            if not _is_name(raw[key]):
                raise SpecificationError(f"{where}: {key!r} must be the name of a column of --data (text); got "
                                         f"{raw[key]!r}. Fix: e.g. {key}: {'state' if key == 'region' else key}.")
            options[key] = raw[key]
    if "decimal" in raw:
        if raw["decimal"] not in (".", ","):
            raise SpecificationError(f"{where}: 'decimal' is the decimal mark of --data; got {raw['decimal']!r}. "
                                     "Fix: decimal: \".\" or decimal: \",\" (quoted).")
        options["decimal"] = raw["decimal"]
    if "header_row" in raw:
        row = raw["header_row"]
        if isinstance(row, bool) or not isinstance(row, int) or row < 0:
            raise SpecificationError(f"{where}: 'header_row' must be the 0-based row of the header in --data; got "
                                     f"{row!r}. Fix: header_row: 0 for the first row.")
        options["header_row"] = row
    if "sheet" in raw:
        sheet = raw["sheet"]
        if isinstance(sheet, bool) or not (_is_name(sheet) or (isinstance(sheet, int) and sheet >= 0)):
            raise SpecificationError(f"{where}: 'sheet' must be a sheet's name or its 0-based position; "
                                     f"got {sheet!r}. Fix: e.g. sheet: 0.")
        options["sheet"] = sheet
    if "missing" in raw:
        if raw["missing"] not in ("raise", "drop"):
            raise SpecificationError(f"{where}: 'missing' is 'raise' (default) or 'drop' (rows with missing counts "
                                     f"are dropped and listed); got {raw['missing']!r}. Fix: missing: raise or "
                                     "missing: drop.")
        options["missing"] = raw["missing"]
    if "allow_gaps" in raw:
        if not isinstance(raw["allow_gaps"], bool):
            raise SpecificationError(f"{where}: 'allow_gaps' is true or false; got {raw['allow_gaps']!r}. Fix: "
                                     "allow_gaps: true (no quotes).")
        options["allow_gaps"] = raw["allow_gaps"]
    if "columns" in raw:
        columns = raw["columns"]
        taken = set(inspect.signature(read_panel).parameters) - {"columns"}
        if not isinstance(columns, Mapping) or not columns or not all(
                _is_name(k) and _is_name(v) for k, v in columns.items()):
            raise SpecificationError(f"{where}: 'columns' must map panel variables to columns of --data, e.g.\n"
                                     f"  columns: {{grp: GRP, population: Население}}\ngot {columns!r}. Fix: write "
                                     "it in that form.")
        clash = sorted(set(columns) & taken)
        if clash:
            raise SpecificationError(f"{where}: 'columns' cannot name the variable(s) {clash}: read_panel uses those "
                                     "names for its own options. Fix: choose other variable names.")
        options.update(columns)
    return options


def with_treated_regions(panel: RegionPanel, regions, post_from: int) -> RegionPanel:
    """Add ``first_treated`` (= ``post_from`` for ``regions``) and ``treated`` to a panel."""
    if panel.regions_scheme == "kazakhstan":
        regions = [canonical_region(r) or r for r in regions]
    unknown = [r for r in regions if r not in panel.regions]
    if unknown:
        raise SpecificationError(f"treated_regions {unknown} are not in the data; its regions: {panel.regions}. "
                                 "Fix: use names from that list.")
    frame = panel.to_frame()
    frame["first_treated"] = np.where(frame["region"].isin(regions), float(post_from), np.nan)
    frame["treated"] = (frame["region"].isin(regions) & (frame["year"] >= post_from)).astype(float)
    return read_panel(frame, regions=panel.regions_scheme, sources=panel.sources, units=panel.units)


def default_spec() -> tuple[RegionPanel, ReportSpec]:
    """The bundled real panel with the Serpin-2050 design (receiving regions from 2014)."""
    from ..datasets import load_kazakhstan, serpin_regions

    panel = load_kazakhstan().with_logs("grp_per_capita")
    serpin = serpin_regions()
    receiving = serpin.loc[serpin["role"] == "receiving", "region"].tolist()
    panel = with_treated_regions(panel, receiving, 2014)
    spec = ReportSpec(
        outcome="log_grp_per_capita", first_treated="first_treated", leads=3, lags=5,
        elasticity_outcome="grp", elasticity_index="attractiveness_index",
        factor_regions=("Zhambyl", "Almaty region"),
        title="Kazakhstan: Serpin-2050, interregional migration flows and GRP-attractiveness elasticities",
        migration=True,
        notes=("Real data only. The region-level DID checks run on log GRP per capita (BNS), a yearly series, with the "
               "six Serpin-2050 receiving regions treated from 2014. The migration sections use real BNS "
               "interregional origin-destination flows (2010, 2015, 2020-2025; 2022 left out as unreliable): the "
               "Serpin-2050 question is asked of the flows from its sending to its receiving regions, with pair and "
               "year effects and randomization inference over the regions' roles. Region-level migration series "
               "exist only in those years, so a region-level event study on migration is not possible.",))
    return panel, spec


# ------------------------------------------------------------------ sections
@dataclass
class Section:
    title: str
    html: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)          # base64 PNG
    seconds: float = 0.0
    status: str = "ok"                                       # ok | skipped | not supported


@dataclass(frozen=True)
class Report:
    """What ``build_report`` produced: sections, the verdict, timings and the files written."""

    sections: list[Section]
    verdict: list[str]
    timings: pd.Series
    html_path: Path | None
    tables_dir: Path | None
    results: dict = field(repr=False, default_factory=dict)
    #: the DID sections (estimates and their checks) that ran; none means the design could not be checked
    did_checks: tuple[str, ...] = ()


def _figure(ax_or_fig) -> str:
    """A plot's figure (from its Axes or the Figure itself) as base64 PNG, closed afterwards."""
    import matplotlib.pyplot as plt

    fig = getattr(ax_or_fig, "figure", ax_or_fig)
    _text.literal_figure(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _frame_html(frame: pd.DataFrame) -> str:
    """A DataFrame as an HTML table, its labels and cells shown as text (:mod:`kzcausal.text`)."""
    shown = frame.rename(index=_text.clean, columns=_text.clean)
    shown = shown.apply(lambda col: col.map(_text.clean) if col.dtype == object else col)
    return shown.to_html(escape=True)


def _pre(text: str) -> str:
    return f"<pre>{_text.html_block(text)}</pre>"


def _fmt_p(p: float) -> str:
    """``p = 0.012``, ``p < 0.001`` or ``p n/a``."""
    return "p n/a" if not np.isfinite(p) else f"p = {p:.3f}" if p >= 0.001 else "p < 0.001"


class _Run:
    """Runs the sections in order, timing each and turning a KzCausalError into a stated gap."""

    def __init__(self, panel: RegionPanel, spec: ReportSpec, fast: bool, quiet: bool):
        self.panel, self.spec, self.fast, self.quiet = panel, spec, fast, quiet
        self.sections: list[Section] = []
        self.results: dict = {}
        self.tables: dict[str, object] = {}

    def section(self, title: str, body: Callable[[Section], None], *, skip: str | None = None) -> None:
        section = Section(title)
        start = time.perf_counter()
        if skip:
            section.status = "skipped"
            section.html.append(f"<p class='gap'>Skipped: {_text.html_any(skip)}</p>")
        else:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    body(section)
            except KzCausalError as exc:
                section.status = "not supported"
                section.html.append(f"<p class='gap'>This check cannot run on this design: {_text.html_any(str(exc))}</p>")
        section.seconds = time.perf_counter() - start
        self.sections.append(section)
        if not self.quiet:
            print(f"  {title:<52s} {section.seconds:6.1f} s  {section.status}", flush=True)


def build_report(
    panel: RegionPanel | None = None,
    spec: ReportSpec | None = None,
    out_dir: str | Path | None = "kzcausal-report",
    *,
    fast: bool = False,
    quiet: bool = False,
    random_seed: int = 2014,
) -> Report:
    """Run the robustness suite and write ``report.html`` and ``tables/`` into ``out_dir``.

    Parameters
    ----------
    panel, spec
        The data and the design; both ``None``: the bundled Kazakhstan panel (:func:`default_spec`).
    out_dir
        Folder for ``report.html`` and ``tables/`` (``None``: write nothing).
    fast
        Skip the MCMC sections (Bayesian gravity and hierarchical elasticities) and simulate 100
        rather than 300 panels for design power.
    quiet
        No progress output.
    """
    from .. import bayes
    from .. import diagnostics as dx
    from ..did import did_2x2, event_study, staggered_did, twfe
    from ..planning import power_analysis

    if (panel is None) != (spec is None):
        raise SpecificationError("give both panel and spec, or neither (the bundled Kazakhstan report). Fix: pass "
                                 "both, e.g. build_report(panel, read_spec('spec.yaml')[0]).")
    if panel is None:
        panel, spec = default_spec()
    if not isinstance(panel, RegionPanel) or not isinstance(spec, ReportSpec):
        wrong = "panel" if not isinstance(panel, RegionPanel) else "spec"
        raise SpecificationError(f"build_report: {wrong} is a {type(panel if wrong == 'panel' else spec).__name__}. "
                                 "Fix: pass a RegionPanel (kz.read_panel) and a ReportSpec (read_spec('spec.yaml')[0]).")
    fast, quiet = check_flag(fast, "fast"), check_flag(quiet, "quiet")
    random_seed = check_seed(random_seed) if random_seed is not None else 2014
    out = _output_folder(out_dir)
    import matplotlib

    matplotlib.use("Agg", force=False)
    run = _Run(panel, spec, fast, quiet)
    s, res = spec, run.results
    if not quiet:
        print(f"kzcausal report: {s.title}", flush=True)
    cohorts, design_notes = _check_design(panel, s)
    if design_notes:
        spec = s = replace(s, notes=(*s.notes, *design_notes))
        run.spec = spec
        if not quiet:
            for note in design_notes:
                print(f"  note: {note}", flush=True)
    treated = cohorts.dropna().index.tolist()
    single_cohort = cohorts.dropna().nunique() == 1
    design = dict(first_treated=s.first_treated)  # every estimator reads the assignment the same way
    random_seed = s.option("random_seed", random_seed)
    alpha = dict(alpha=s.option("alpha", 0.05))
    cluster = dict(cluster=s.option("cluster")) if s.option("cluster") is not None else {}
    covariates = dict(covariates=list(s.option("covariates"))) if s.option("covariates") else {}
    staggered_options = {k: s.option(k) for k in ("control_group", "anticipation") if s.option(k) is not None}
    draws = s.option("draws")

    def paper_2x2(sec):
        models = {}
        if single_cohort:
            res["ols"] = models["Paper 002 2x2 (OLS errors)"] = did_2x2(panel, s.outcome, **design, **alpha)
            if covariates:
                sec.html.append("<p class='gap'>Paper 002's 2x2 has no covariates; they enter TWFE and the "
                                "staggered estimators below.</p>")
            res["twfe"] = did_2x2(panel, s.outcome, **design, fixed_effects=True, cov="cluster", **cluster, **alpha)
        else:
            sec.html.append("<p class='gap'>Paper 002's 2x2 needs one adoption year; the design is staggered "
                            f"(cohorts {_text.html_any(str(sorted(cohorts.dropna().unique().tolist())))}), so only "
                            "TWFE is shown.</p>")
            res["twfe"] = twfe(panel, s.outcome, **design, cov="cluster", **cluster, **covariates, **alpha)
        models["TWFE, region-clustered"] = res["twfe"]
        table = regression_table(models, stars=True)
        run.tables["did"] = table
        sec.html.append(table.to_html())

    def staggered(sec):
        res["att"] = staggered_did(panel, s.outcome, **design, **staggered_options, **covariates, **cluster, **alpha,
                                   random_seed=random_seed)
        overall = res["att"].aggregate("simple")
        sec.html.append(_pre(overall.summary()))

    def event_studies(sec):
        options = dict(**design, **staggered_options, **covariates, **cluster, **alpha, leads=s.leads, lags=s.lags)
        res["es_cs"] = event_study(panel, s.outcome, method="cs", **options)
        anticipation = s.option("anticipation", 0)
        res["es_sa"] = event_study(panel, s.outcome, method="sun_abraham", reference=-1 - anticipation, **options)
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
        res["es_cs"].plot(ax=axes[0]).set_title("Callaway-Sant'Anna (universal base period)", fontsize="small")
        res["es_sa"].plot(ax=axes[1]).set_title("Sun-Abraham (end bins pooled)", fontsize="small")
        sec.figures.append(_figure(fig))
        table = regression_table({"Callaway-Sant'Anna": res["es_cs"], "Sun-Abraham": res["es_sa"]})
        run.tables["event_study"] = table
        sec.html.append(table.to_html())

    def pretrends(sec):
        res["pretrend"] = dx.pretrend_test(res["es_cs"])
        sec.html.append(_pre(res["pretrend"].summary()))

    def honest(sec):
        es = res["es_cs"]
        res["honest_sd"] = dx.honest_sensitivity(es, restriction="smoothness", target="average", progress=False,
                                                 M=s.option("honest_m"), **alpha)
        sec.html.append(_pre(res["honest_sd"].summary()))
        sec.figures.append(_figure(res["honest_sd"].plot()))
        res["honest_rm"] = dx.honest_sensitivity(es, restriction="relative_magnitude", target="average",
                                                 progress=False, Mbar=s.option("honest_mbar"), **alpha)
        sec.html.append(_pre(res["honest_rm"].summary()))
        sec.figures.append(_figure(res["honest_rm"].plot()))

    def bacon(sec):
        res["bacon"] = dx.bacon_decomposition(panel, s.outcome, **design)
        sec.html.append(_pre(res["bacon"].summary()))
        sec.figures.append(_figure(res["bacon"].plot()))

    def needs_fit():
        if res.get("twfe") is None:
            raise SpecificationError("this check runs on the 2x2 / TWFE fit, which failed above.")
        return res["twfe"]

    def placebo(sec):
        room = int(cohorts.min() - min(panel.years)) - 1           # a placebo needs a year before it
        if room < 1:
            raise SpecificationError(f"the earliest adoption ({int(cohorts.min())}) leaves no pre-treatment year "
                                     "before a placebo adoption date.")
        res["placebo"] = dx.placebo_in_time(needs_fit(), shifts=list(range(1, min(3, room) + 1)))
        sec.html.append(_pre(res["placebo"].summary()))

    def randomization(sec):
        res["ri"] = dx.randomization_inference(needs_fit(), progress=False)
        sec.html.append(_pre(res["ri"].summary()))
        sec.figures.append(_figure(res["ri"].plot()))
        if "att" in res:  # the heterogeneity-robust estimate, through the same check
            res["ri_cs"] = dx.randomization_inference(res["att"], progress=False)
            sec.html.append(_pre(res["ri_cs"].summary()))

    def bootstrap(sec):
        res["wcb"] = dx.wild_cluster_bootstrap(needs_fit(), draws=draws or 9999, random_seed=random_seed)
        sec.html.append(_pre(res["wcb"].summary()))
        if "att" in res:
            exact = res["att"].n_clusters <= 17
            res["wcb_cs"] = dx.wild_cluster_bootstrap(res["att"], draws="exact" if exact else draws or 9999,
                                                      random_seed=random_seed)
            sec.html.append(_pre(res["wcb_cs"].summary()))

    def single_adoption() -> None:
        if not single_cohort:
            raise SpecificationError("the synthetic estimators need one adoption year; this design is staggered "
                                     f"(cohorts {sorted(cohorts.dropna().unique().tolist())}).")

    def synthetic_did_section(sec):
        from ..did import synthetic_did

        single_adoption()
        res["sdid"] = fit = synthetic_did(panel, s.outcome, **design, variance=s.option("sdid_variance", "placebo"),
                                          draws=draws or 200, random_seed=random_seed, progress=False, **alpha)
        sec.html.append(_pre(fit.summary()))
        weights = fit.unit_weights.sort_values(ascending=False)
        sec.html.append("<p>Unit weights of the control regions and time weights of the pre-period years:</p>"
                        + _frame_html(weights.round(3).to_frame()) + _frame_html(fit.time_weights.round(3).to_frame()))
        sec.figures.append(_figure(fit.plot()))

    def synthetic_control_section(sec):
        from ..did import synthetic_control

        single_adoption()
        res["sc"] = fit = synthetic_control(panel, s.outcome, **design, random_seed=random_seed, **alpha)
        sec.html.append(_pre(fit.summary()))
        if len(treated) > 1:  # the placebo-set p-value of an average over-rejects; RI over all regions does not
            res["sc_ri"] = ri = dx.randomization_inference(fit, draws=draws or 999, random_seed=random_seed,
                                                           progress=False)
            sec.html.append(f"<p>Randomization inference (treatment reassigned across all regions, {draws or 999} draws), the "
                            "test to read for the average: its size is right where the placebo-set p-value's is "
                            "not (see the caveat above).</p>" + _pre(ri.summary()))
        sec.figures.append(_figure(fit.plot()))

    def design_power(sec):
        n_sims = 100 if run.fast else 300
        res["power"] = power = power_analysis(panel, s.outcome, **design, n_sims=n_sims, **alpha,
                                                 random_seed=random_seed, progress=not quiet)
        sec.html.append("<p>Power of the two-sided 5% test for this exact layout (regions, years, adoption dates), "
                        "with untreated outcomes simulated from the outcome's own pre-period error process "
                        f"({n_sims} panels).</p>" + _pre(power.summary()))
        sec.figures.append(_figure(power.plot()))

    def leave_out(sec):
        res["loo"] = dx.leave_one_out(needs_fit())
        sec.html.append(_pre(res["loo"].summary()))
        sec.figures.append(_figure(res["loo"].plot()))

    def factor_models(sec):
        fits = {r: bayes.factor_model(panel, r, form, s.elasticity_outcome, s.elasticity_index)
                for r, form in zip(s.factor_regions, ("linear", "power") * len(s.factor_regions))}
        res["factor"] = fits
        table = regression_table({f"{r} ({f.form})": f for r, f in fits.items()}, digits=4)
        run.tables["factor_models"] = table
        sec.html.append(table.to_html())
        for fit in fits.values():
            sec.figures.append(_figure(fit.plot()))

    def hierarchical(sec):
        res["elasticity"] = bayes.hierarchical_elasticity(panel, s.elasticity_outcome, s.elasticity_index,
                                                          random_seed=random_seed, draws=500, tune=500, chains=2,
                                                          progress=not quiet)
        fit = res["elasticity"]
        sec.html.append(_pre(fit.summary()))
        sec.figures.append(_figure(fit.plot()))

    no_elasticity = None if s.elasticity_outcome and s.elasticity_index else "no elasticity model in the spec"
    run.section("Paper 002's 2x2 as published, and TWFE", paper_2x2)
    run.section("Staggered ATT(g,t) (Callaway-Sant'Anna)", staggered)
    run.section("Event studies (CS and Sun-Abraham)", event_studies)
    run.section("Pre-trend test and its power (Roth 2022)", pretrends,
                skip=None if "es_cs" in res else "no event study")
    run.section("HonestDiD sensitivity (Rambachan-Roth)", honest, skip=None if "es_cs" in res else "no event study")
    run.section("Bacon decomposition", bacon)
    run.section("Placebo in time", placebo)
    run.section("Exact randomization inference", randomization)
    run.section("Wild cluster bootstrap", bootstrap)
    run.section("Leave one region out", leave_out)
    run.section("Synthetic difference-in-differences (Arkhangelsky et al. 2021)", synthetic_did_section)
    run.section("Synthetic control with placebos in space (Abadie et al. 2010)", synthetic_control_section)
    run.section("Design power: what this layout can detect", design_power)
    did_checks = [sec.title for sec in run.sections if sec.status == "ok"]
    if s.migration:
        _migration_sections(run, random_seed)
    run.section("Paper 000's factor models", factor_models,
                skip=no_elasticity or (None if s.factor_regions else "no factor_regions in the spec"))
    run.section("Hierarchical elasticities (PyMC)", hierarchical,
                skip=no_elasticity or ("--fast skips sampling" if fast else None))
    verdict = _verdict(res, spec)
    timings = pd.Series({sec.title: sec.seconds for sec in run.sections}, name="seconds")
    html_path = tables_dir = None
    if out is not None:
        tables_dir = out / "tables"
        tables_dir.mkdir(parents=True, exist_ok=True)
        for name, table in run.tables.items():
            (tables_dir / f"{name}.md").write_text(table.to_markdown() + "\n", encoding="utf-8")
            (tables_dir / f"{name}.tex").write_text(table.to_latex() + "\n", encoding="utf-8")
        (tables_dir / "verdict.md").write_text("\n".join(f"- {_text.markdown(v, None)}" for v in verdict) + "\n",
                                               encoding="utf-8")
        html_path = out / "report.html"
        html_path.write_text(_html(spec, panel, run.sections, verdict, timings), encoding="utf-8")
    return Report(sections=run.sections, verdict=verdict, timings=timings, html_path=html_path,
                  tables_dir=tables_dir, results=res, did_checks=tuple(did_checks))


def _output_folder(out_dir) -> Path | None:
    """The folder the report writes into, checked before anything is computed: a path (not empty), not an
    existing file, and under a folder that exists or can be made."""
    if out_dir is None:
        return None
    if not isinstance(out_dir, (str, Path)) or not str(out_dir).strip():
        raise SpecificationError(f"out_dir={out_dir!r} is not a folder name. Fix: pass the folder to write "
                                 "report.html and tables/ into, e.g. out_dir='kzcausal-report'.")
    out = Path(out_dir)
    try:
        if out.exists() and not out.is_dir():
            raise SpecificationError(f"out_dir {str(out)!r} is a file, not a folder. Fix: choose another folder name.")
        for parent in out.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise SpecificationError(f"out_dir {str(out)!r}: {str(parent)!r} is a file, so the folder cannot "
                                             "be made. Fix: choose a path under a folder.")
                break
    except OSError as exc:
        raise SpecificationError(f"out_dir {str(out)[:200]!r}: {exc.strerror}. Fix: choose a shorter or valid "
                                 "path.") from None
    return out


def _check_design(panel: RegionPanel, spec: ReportSpec) -> tuple[pd.Series, tuple[str, ...]]:
    """Region -> first treated year (NaN: never) and the design layer's notes (regions excluded or recoded,
    rows left out), validated before any section runs by the code every estimator uses: one first treated
    year per region (0 or empty: never; R did's conventions), a treated cohort with a pre-period, an outcome
    that is observed and varies."""
    from ..design import DIDDesign, estimation_rows, require_clusters, resolve_assignment

    cluster = spec.option("cluster")
    try:
        assignment = resolve_assignment(panel, first_treated=spec.first_treated, estimator="the report",
                                        warn=False)
        rows, notes = estimation_rows(panel, spec.outcome, assignment, warn=False,
                                      covariates=list(spec.option("covariates") or ()), cluster=cluster)
        if cluster is not None:
            require_clusters(rows["cluster"].nunique() if "cluster" in rows else rows["region"].nunique())
    except SpecificationError as exc:
        raise SpecificationError(f"{spec.source}: {exc}") from None
    cohorts = rows.groupby("region", sort=False)["cohort"].first().replace(np.inf, np.nan)
    if cohorts.isna().all():
        raise SpecificationError(f"{spec.source}: no region is ever treated in {spec.first_treated!r} (it is empty "
                                 "or 0 everywhere), so there is no DID design to check. Fix: give the treated "
                                 "regions' first treated years, or treated_regions: [...] with post_from: <year>.")
    try:
        DIDDesign.from_frame(rows, spec.outcome, control_group="not_yet_treated")
    except SpecificationError as exc:
        raise SpecificationError(f"{spec.source}: {exc}") from None
    return cohorts, notes


# ------------------------------------------------------------------ migration flows
#: Years of the bundled flows used by the migration sections: 2025 may be partial, 2022 is unreliable.
MIGRATION_YEARS = (2010, 2015, 2020, 2021, 2023, 2024)


def _migration_sections(run: _Run, random_seed: int) -> None:
    """Real interregional flows: the OD matrix, gravity models and Serpin-2050 on flows (Kazakhstan only)."""
    from .. import diagnostics as dx
    from ..datasets import load_kazakhstan, load_migration_flows, serpin_regions
    from ..migration import gravity_model, pair_did

    res = run.results

    def flows_section(sec):
        flows = load_migration_flows(2021).select(years=list(MIGRATION_YEARS))
        res["flows"] = flows
        sec.html.append(_pre(flows.summary()))
        totals = flows.region_totals().to_frame()
        latest = totals[totals["year"] == max(MIGRATION_YEARS)].set_index("region")[
            ["arrivals", "departures", "net_migration", "attractiveness_index"]].sort_values("net_migration")
        res["panel_2021"] = load_kazakhstan(2021)   # GRP and population on the flows' 17 regions
        published = res["panel_2021"].to_frame().dropna(subset=["attractiveness_index"])
        both = published.merge(totals, on=["region", "year"], suffixes=("_published", "_flows"))
        diff = (both["attractiveness_index_published"] - both["attractiveness_index_flows"]).abs()
        sec.html.append(f"<p>Arrivals, departures and the attractiveness index (arrivals / departures) from the "
                        f"flows, {max(MIGRATION_YEARS)}, 17 regions:</p>" + _frame_html(latest.round(3)))
        sec.html.append(f"<p>Paper 000's printed index against arrivals / departures of these flows in the same "
                        f"region-years ({len(both)}): {int((diff <= 0.02).sum())} within ±0.02, mean |difference| "
                        f"{diff.mean():.3f}. The printed index is not this ratio; its values sit much closer to 1.</p>")
        sec.figures.append(_figure(_od_heatmap(flows, max(MIGRATION_YEARS))))

    def gravity(sec):
        flows = res["flows"].select(years=[y for y in MIGRATION_YEARS if y >= 2015])
        panel = res["panel_2021"]
        models = {
            "year effects": gravity_model(flows, panel, fixed_effects="year", cluster="origin+destination"),
            "region + year effects": gravity_model(flows, panel, fixed_effects="origin+destination+year",
                                                   cluster="origin+destination"),
            "structural (origin-year, destination-year)": gravity_model(
                flows, panel, fixed_effects="origin-year+destination-year", cluster="origin+destination"),
        }
        res["gravity"] = models
        table = regression_table(models, stars=True, digits=3)
        run.tables["gravity_ppml"] = table
        sec.html.append("<p>PPML (Santos Silva &amp; Tenreyro 2006) of flows on log GRP per capita and log "
                        "population of origin and destination and log distance between regional centres, "
                        "2015-2024 (GRP on 17-region boundaries starts in 2011), two-way clustered by origin and "
                        "destination.</p>" + table.to_html())

    def bayesian_gravity(sec):
        from ..bayes import bayesian_gravity as fit_gravity

        flows = res["flows"].select(years=[y for y in MIGRATION_YEARS if y >= 2015])
        # 300 tuning draws (nutpie's own default): over seeds 10-34 as often converged as 500 (r_hat <= 1.01
        # and ESS >= 400 failed on 7 against 6 of 25), no divergence, about 1.4 s less
        res["gravity_bayes"] = fit = fit_gravity(flows, res["panel_2021"], draws=500, tune=300, chains=4,
                                                 random_seed=random_seed, progress=not run.quiet)
        sec.html.append(_pre(fit.summary()))
        sec.figures.append(_figure(fit.plot()))

    def serpin_flows(sec):
        serpin = serpin_regions()
        sending = serpin.loc[serpin["role"] == "sending", "region"].tolist()
        receiving = serpin.loc[serpin["role"] == "receiving", "region"].tolist()
        flows = res["flows"]
        fits = {m: pair_did(flows, sending, receiving, 2014, method=m) for m in ("ppml", "ols")}
        res["serpin_flows"] = fits
        table = regression_table({"PPML": fits["ppml"], "log-linear": fits["ols"]}, stars=True, digits=3)
        run.tables["serpin_flows"] = table
        sec.html.append(f"<p>Flows from the {len(sending)} sending regions ({_text.html_any(', '.join(sending))}) to the "
                        f"{len(receiving)} receiving regions ({_text.html_any(', '.join(receiving))}) against all "
                        "other pairs, 2010 before vs 2015-2024 after the programme (2014), pair and year "
                        "effects.</p>" + table.to_html())
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
        fits["ppml"].plot(ax=axes[0]).set_title("PPML: sending -> receiving vs other pairs", fontsize="small")
        fits["ols"].plot(ax=axes[1]).set_title("log-linear", fontsize="small")
        sec.figures.append(_figure(fig))
        res["serpin_flows_ri"] = {m: dx.randomization_inference(fit, draws=99_999, random_seed=random_seed,
                                                                progress=False) for m, fit in fits.items()}
        for ri in res["serpin_flows_ri"].values():
            sec.html.append(_pre(ri.summary()))
        sec.html.append("<p>Randomization inference relabels which regions are sending and which receiving (same "
                        "numbers of each), keeping the flows: the honest test when the treatment is assigned to 17 "
                        "regions, not to 272 pairs. Both estimators have closed forms in pair sums here (every "
                        "pair is observed every year), so 99,999 relabellings take a second.</p>")
        sec.figures.append(_figure(res["serpin_flows_ri"]["ols"].plot()))

    run.section("Real interregional migration flows (BNS)", flows_section)
    have_flows = None if "flows" in res else "the flows could not be loaded"
    run.section("Gravity model of migration (PPML)", gravity, skip=have_flows)
    run.section("Bayesian gravity: region pull and push elasticities (PyMC)", bayesian_gravity,
                skip=have_flows or ("--fast skips sampling" if run.fast else None))
    run.section("Serpin-2050 on flows: pair-level DID", serpin_flows, skip=have_flows)


def _od_heatmap(flows, year: int):
    """Heat map of the origin-destination matrix of one year (log scale), origins as rows."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    matrix = flows.to_xarray().sel(year=year)
    order = matrix.sum("origin").to_series().sort_values(ascending=False).index.tolist()
    matrix = matrix.sel(origin=order, destination=order)
    values = matrix.to_numpy().astype(float)
    values[values <= 0] = np.nan
    fig, ax = plt.subplots(figsize=(8.5, 7))
    image = ax.imshow(values, cmap="viridis", norm=LogNorm())
    ax.set_xticks(range(len(order)), order, rotation=90, fontsize="x-small")
    ax.set_yticks(range(len(order)), order, fontsize="x-small")
    ax.set_xlabel("destination")
    ax.set_ylabel("origin")
    ax.set_title(f"Interregional migration flows, {year} (persons, log scale; BNS)", fontsize="small")
    fig.colorbar(image, ax=ax, shrink=0.8, label="persons")
    return fig


# ------------------------------------------------------------------ verdict and HTML
def _verdict(res: dict, spec: ReportSpec) -> list[str]:
    out = []
    fit = res.get("twfe")
    if fit is not None:
        row = fit.effect_table().iloc[0]
        sign = "positive" if row["estimate"] > 0 else "negative"
        out.append(f"DID estimate on {spec.outcome}: {row['estimate']:.4f} ({sign}).")
        checks = []
        if "ols" in res:
            checks.append(("paper 002's OLS errors", res["ols"].effect_table()["p_value"].iloc[0]))
        checks.append(("region-clustered errors", row["p_value"]))
        if "wcb" in res:
            checks.append(("wild cluster bootstrap", res["wcb"].p_value))
        if "ri" in res:
            checks.append(("exact randomization inference", res["ri"].p_value))
        for name, p in checks:
            mark = "significant" if p < 0.05 else "NOT significant"
            out.append(f"{mark} at 5% with {name} ({_fmt_p(p)}).")
    if "att" in res:
        row = res["att"].effect_table().iloc[0]
        checks = [("influence-function errors", row["p_value"])]
        if "wcb_cs" in res:
            checks.append((f"the wild cluster bootstrap ({res['wcb_cs'].kind})", res["wcb_cs"].p_value))
        if "ri_cs" in res:
            checks.append(("exact randomization inference", res["ri_cs"].p_value))
        marks = "; ".join(f"{'significant' if p < 0.05 else 'NOT significant'} with {name} ({_fmt_p(p)})"
                          for name, p in checks)
        out.append(f"Callaway-Sant'Anna ATT (heterogeneity-robust): {row['estimate']:.4f}; {marks}.")
    if "pretrend" in res:
        p = res["pretrend"].p_value
        out.append(f"pre-trends: parallel trends REJECTED (joint Wald {_fmt_p(p)})." if p < 0.05 else
                   f"pre-trends: no evidence against parallel trends (joint Wald {_fmt_p(p)}); a passed test "
                   "can still miss trends that bias the estimate, see its power.")
    for key, name in (("honest_rm", "Mbar (relative magnitudes)"), ("honest_sd", "M (smoothness)")):
        if key in res:
            h = res[key]
            if np.isnan(h.breakdown):
                out.append(f"HonestDiD, {name}: the average post-period event-study effect is not significant even "
                           "under exact parallel trends.")
            else:
                out.append(f"HonestDiD, {name}: the average post-period event-study effect survives violations up "
                           "to a breakdown value of "
                           f"{h.breakdown:.3g}{' (or more)' if h.breakdown_capped else ''}.")
    if "placebo" in res:
        p = res["placebo"].table["p_value"]
        bad = int((p < 0.05).sum())
        out.append(f"placebo in time: {bad} of {len(p)} placebo adoption dates significant at 5%"
                   + (" -- a warning sign." if bad else "."))
    if "loo" in res and fit is not None:
        est = res["loo"].table["estimate"]
        same = int((np.sign(est) == np.sign(fit.effect_estimate)).sum())
        out.append(f"leave one region out: the sign holds in {same} of {len(est)} fits "
                   f"(estimates {est.min():.4f} to {est.max():.4f}).")
    for key, name in (("sdid", "synthetic DID (placebo SE)"), ("sc", "synthetic control (placebo-in-space rank)")):
        if key in res:
            row = res[key].effect_table().iloc[0]
            p_value = row["p_value"]
            if key == "sc" and "sc_ri" in res:
                name, p_value = "synthetic control (randomization inference over all regions)", res["sc_ri"].p_value
            mark = "significant" if p_value < 0.05 else "NOT significant"
            out.append(f"{name}: {row['estimate']:.4f}; {mark} at 5% ({_fmt_p(p_value)}).")
    if "power" in res:
        for _, row in res["power"].mde.iterrows():
            if row["inference"] == "analytic" and np.isfinite(row["mde"]):
                out.append(f"design power: with this layout, effects smaller than {row['mde']:.3g} on {spec.outcome} "
                           f"are detected less than {res['power'].target:.0%} of the time by {row['estimator']} "
                           "(simulated from the pre-period error process).")
    out += _migration_verdict(res)
    if "elasticity" in res:
        frame = res["elasticity"].to_frame().set_index("term")
        mu = frame.loc["mu_beta"]
        regions = frame.drop(["mu_beta", "tau_beta"])
        sure = int(((regions["prob_positive"] > 0.95) | (regions["prob_positive"] < 0.05)).sum())
        out.append(f"population elasticity mu_beta = {mu['estimate']:.3f}, 90% interval [{mu['ci_low']:.3f}, "
                   f"{mu['ci_high']:.3f}]; {sure} of {len(regions)} regions have an elasticity whose sign is 95% "
                   "certain after partial pooling.")
    return out


def _migration_verdict(res: dict) -> list[str]:
    out = []
    if "gravity" in res:
        fit = res["gravity"]["year effects"].table
        pull, push, dist = (fit.loc[t] for t in ("log_grp_pc_destination", "log_grp_pc_origin", "log_distance"))
        out.append(f"migration (real BNS flows, PPML gravity with year effects): a 1% higher GRP per capita at the "
                   f"destination goes with {pull['estimate']:.2f}% more arrivals ({_fmt_p(pull['p_value'])}), at "
                   f"the origin with {push['estimate']:.2f}% more departures ({_fmt_p(push['p_value'])}); distance "
                   f"elasticity {dist['estimate']:.2f}. With region effects the GRP elasticities rest on changes "
                   "within regions over a few years; see that column before reading them causally.")
    if "gravity_bayes" in res:
        fit = res["gravity_bayes"]
        frame = fit.to_frame().set_index("term")
        pull, push = frame.loc["mu_pull"], frame.loc["mu_push"]
        regions = fit.elasticities()["pull"]
        sure = regions[(regions["ci_low"] > 0) | (regions["ci_high"] < 0)].index.tolist()
        out.append("Bayesian gravity (negative binomial, partial pooling): average pull elasticity "
                   f"{pull['estimate']:.2f} [{pull['ci_low']:.2f}, {pull['ci_high']:.2f}], "
                   f"push {push['estimate']:.2f} [{push['ci_low']:.2f}, "
                   f"{push['ci_high']:.2f}] (90% intervals); regions whose own pull interval excludes 0: "
                   f"{', '.join(sure) or 'none'}" + ("; the sampler's diagnostics flag problems, see the section."
                                                      if not fit.converged else "."))
    if "serpin_flows" in res:
        for method, fit in res["serpin_flows"].items():
            row = fit.effect_table().iloc[0]
            ri = res.get("serpin_flows_ri", {}).get(method)
            tests = f"clustered errors {_fmt_p(row['p_value'])}"
            if ri is not None:
                tests += f", randomization inference over regions' roles {_fmt_p(ri.p_value)}"
            out.append(f"Serpin-2050 on flows ({'PPML' if method == 'ppml' else 'log-linear'}): flows from sending "
                       f"to receiving regions changed by {100 * np.expm1(row['estimate']):+.0f}% relative to other "
                       f"pairs after 2014 ({tests}); one pre-programme year (2010), so parallel trends cannot be "
                       "checked.")
    return out


STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.85em}
table.regression,table.timings{border-collapse:collapse;font-size:.9em}
table.regression td,table.regression th,table.timings td,table.timings th{padding:.15em .8em;text-align:right}
table.regression thead th{border-bottom:1px solid #444}table.regression tfoot tr:first-child th,
table.regression tfoot tr:first-child td{border-top:1px solid #444}tr.se td{color:#555}
p.gap{color:#8a4b00;background:#fff6e6;padding:.4em}p.note{font-size:.8em;color:#555}
.verdict li{margin:.2em 0}img{max-width:100%;display:block;margin:.6em 0}"""


def _html(spec: ReportSpec, panel: RegionPanel, sections: list[Section], verdict: list[str],
          timings: pd.Series) -> str:
    e = _text.html_any
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(spec.title)}</title>"
             f"<style>{STYLE}</style></head><body><h1>{e(spec.title)}</h1>",
             f"<p>Outcome <code>{e(spec.outcome)}</code>; adoption year <code>{e(spec.first_treated)}</code>; "
             f"{len(panel.regions)} regions, {min(panel.years)}-{max(panel.years)}. Sources: "
             f"{e('; '.join(panel.sources)) or 'not stated'}.</p>"]
    if spec.options:
        parts.append("<p>Estimator options from the specification: "
                     + "; ".join(f"<code>{e(k)}: {e(str(v))}</code>" for k, v in spec.options.items()) + ".</p>")
    parts += [f"<p class='note'>{e(n)}</p>" for n in spec.notes]
    parts.append("<h2>Verdict</h2><ul class='verdict'>" + "".join(f"<li>{e(v)}</li>" for v in verdict) + "</ul>")
    for sec in sections:
        parts.append(f"<h2>{e(sec.title)}</h2>")
        parts += sec.html
        parts += [f"<img alt='{e(sec.title)}' src='data:image/png;base64,{b64}'>" for b64 in sec.figures]
    rows = "".join(f"<tr><th>{e(t)}</th><td>{s:.1f} s</td></tr>" for t, s in timings.items())
    parts.append(f"<h2>Timings</h2><table class='timings'>{rows}<tr><th>total</th><td>{timings.sum():.1f} s</td>"
                 "</tr></table><p class='note'>Written by kzcausal.</p></body></html>")
    return "\n".join(parts)
