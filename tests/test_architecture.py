"""ARCHITECTURE.md stays true: its inventories match the code, every estimator returns the common
result, every check accepts one, and no check asks which estimator made a result."""

import ast
import re
import warnings
from pathlib import Path

import pytest

import kzcausal as kz
from kzcausal.results import CheckResult, EstimationResult, EventStudyResult

ROOT = Path(__file__).resolve().parents[1]
MAP = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")


def inventory(name):
    block = re.search(rf"<!-- {name} -->(.*?)<!-- /{name} -->", MAP, re.S).group(1)
    return re.findall(r"^- `(\w+)` \(`([\w/.]+)`", block, re.M)


@pytest.fixture(scope="module")
def panel():
    data, _ = kz.simulate_panel(n_regions=8, years=range(2009, 2017), cohorts={2012: 2, 2014: 1}, random_seed=3)
    return data


def call_estimator(name, panel):
    regions = panel.to_frame().groupby("region")["first_treated"].first().dropna().index.tolist()
    calls = {
        "did_2x2": lambda: kz.did_2x2(panel, "outcome", treated=regions[:2], post_from=2012, fixed_effects=True, cov="cluster"),
        "twfe": lambda: kz.twfe(panel, "outcome", treatment="treated"),
        "staggered_did": lambda: kz.staggered_did(panel, "outcome", first_treated="first_treated"),
        "event_study": lambda: kz.event_study(panel, "outcome", first_treated="first_treated", method="sun_abraham"),
        "imputation_did": lambda: kz.imputation_did(panel, "outcome", first_treated="first_treated", leads=2, lags=2),
        "two_stage_did": lambda: kz.two_stage_did(panel, "outcome", first_treated="first_treated", leads=2, lags=2),
        "synthetic_did": lambda: kz.synthetic_did(panel, "outcome", treated=regions[:2], post_from=2012, draws=20, random_seed=1),
        "synthetic_control": lambda: kz.synthetic_control(panel, "outcome", treated=regions[:2], post_from=2012),
        "bayesian_event_study": lambda: kz.bayesian_event_study(panel, "outcome", first_treated="first_treated", draws=50,
                                                                tune=50, chains=1, progress=False, random_seed=1),
    }
    return calls[name]()


def test_inventories_name_real_public_functions_in_the_files_given():
    for name, path in inventory("estimators") + inventory("checks"):
        assert hasattr(kz, name), f"{name} is in ARCHITECTURE.md but not exported by kzcausal"
        source = (ROOT / "src" / "kzcausal" / path).read_text(encoding="utf-8")
        assert f"def {name}(" in source, f"{name} is not defined in {path}"


def test_every_public_function_returning_a_result_is_in_the_inventory():
    listed = {n for n, _ in inventory("estimators") + inventory("checks")}
    for path in (ROOT / "src" / "kzcausal").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_") and node.returns is not None:
                returns = ast.unparse(node.returns)
                if returns in ("EstimationResult", "EventStudyResult", "AttgtResult", "BayesianEventStudyResult"):
                    assert node.name in listed, f"{path.name}: {node.name} returns {returns}; list it in ARCHITECTURE.md"


@pytest.mark.parametrize("name", [n for n, _ in inventory("estimators")])
def test_every_estimator_returns_the_common_result_and_every_check_accepts_it(name, panel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = call_estimator(name, panel)
    assert isinstance(result, EstimationResult)
    assert result.effect and result.data is not None and result.refitter is not None
    assert set(result.to_frame().columns) >= {"term", "estimate", "std_error", "ci_low", "ci_high", "p_value"}
    checks = [kz.leave_one_out, lambda r: kz.placebo_in_time(r, shifts=[1])]
    if name != "bayesian_event_study":  # re-fits of MCMC are allowed, but slow: one check is enough here
        checks += [lambda r: kz.randomization_inference(r, progress=False), kz.wild_cluster_bootstrap]
    else:
        checks = checks[1:]
    if isinstance(result, EventStudyResult):
        checks += [kz.pretrend_test]
    for check in checks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome = check(result)
        assert isinstance(outcome, CheckResult) and outcome.summary()


def test_no_check_asks_which_estimator_made_a_result():
    for path in (ROOT / "src" / "kzcausal" / "diagnostics").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert 'spec["estimator"]' not in text and "spec.get(\"estimator\"" not in text, path.name
        # power_analysis is a design tool that takes a panel and builds simulated ones; checks use result.refit
        assert "read_panel" not in text or path.name == "power.py", f"{path.name} re-reads a panel"


#: What each top-level part of the package may import (ARCHITECTURE.md's table). Relative imports are
#: resolved to their package, so ``from ..did import twfe`` counts as importing ``did``.
ALLOWED = {
    "errors": set(), "text": set(), "_imports": set(), "linalg": {"errors", "_imports"}, "parallel": {"errors"},
    "panel": {"errors", "text"}, "datasets": {"errors", "panel"}, "typology": {"errors", "panel", "text"},
    "design": {"errors", "panel", "datasets"},
    "results": {"errors", "text", "design"},
    "did": {"errors", "text", "_imports", "linalg", "parallel", "panel", "design", "results"},
    "migration": {"errors", "text", "_imports", "linalg", "panel", "datasets", "design", "results"},
    "bayes": {"errors", "text", "parallel", "panel", "datasets", "design", "results", "migration"},
    "diagnostics": {"errors", "text", "linalg", "parallel", "panel", "design", "results"},
    "planning": {"errors", "text", "parallel", "panel", "design", "results", "did", "diagnostics"},
    "report": {"errors", "text", "panel", "datasets", "design", "results", "did", "diagnostics", "planning", "bayes",
               "migration", "typology", "parallel"},
    "cli": {"errors", "text", "panel", "datasets", "report"},
}


def kzcausal_imports():
    """(file, importing part, imported part, imported names) for every relative import in the package."""
    src = ROOT / "src" / "kzcausal"
    for path in src.rglob("*.py"):
        parts = list(path.relative_to(src).with_suffix("").parts)
        package = parts[:-1]  # the package the module lives in
        if parts[-1] == "__init__" and not package:
            continue  # the package root exports everything
        top = parts[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[:len(package) - (node.level - 1)]
                target = base + (node.module.split(".") if node.module else [])
                names = [a.name for a in node.names]
                if not target:  # from .. import did, report
                    for name in names:
                        yield path, top, name, ["*"]
                elif target[0] != top:
                    yield path, top, ".".join(target), names


def test_layers_do_not_import_upwards():
    for path, top, target, _ in kzcausal_imports():
        assert top in ALLOWED, f"{path}: add {top!r} to ALLOWED and to ARCHITECTURE.md's table"
        assert target.split(".")[0] in ALLOWED[top], f"{path.relative_to(ROOT)}: {top} imports {target}"


def test_no_private_imports_across_packages():
    for path, top, target, names in kzcausal_imports():
        private = [n for n in names if n.startswith("_") and n != "__version__"]
        assert not private, f"{path.relative_to(ROOT)} imports private {private} from {target}"


def test_only_the_panel_reads_its_private_data_and_only_displays_read_spec():
    src = ROOT / "src" / "kzcausal"
    spec_read = re.compile(r"\bspec\s*\[|\bspec\.get\(|\.spec\s*\[|\.spec\.get\(")
    for path in src.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        relative = path.relative_to(src)
        if relative.parts[0] != "panel":
            assert "._data" not in text, f"{relative} reads a panel's private _data; use panel.select(...)"
        # checks, tables, the result protocol and the report read typed result fields, never spec keys
        if relative.parts[0] in ("diagnostics", "report") or relative.name == "results.py":
            lines = [line for line in text.splitlines() if spec_read.search(line)
                     and not line.lstrip().startswith("#")]
            assert not lines, f"{relative} reads spec keys: {lines[:3]}"


def test_every_public_name_is_in_the_reference():
    reference = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^::: kzcausal\.([\w.]+)", reference, re.M))
    import types

    missing = [name for name in kz.__all__ if not isinstance(getattr(kz, name), types.ModuleType)
               and name not in documented]
    assert not missing, f"docs/reference.md lacks {missing} (add '::: kzcausal.<name>')"
