"""The robustness report and the ``kzcausal report`` command: files, sections, verdict, bad input."""

import re

import numpy as np
import pytest
from typer.testing import CliRunner

import kzcausal as kz
from kzcausal.cli import app
from kzcausal.report import build_report
from kzcausal.report.build import ReportSpec


@pytest.fixture(scope="module")
def fast_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return build_report(out_dir=out, fast=True, quiet=True)


def test_bundled_report_is_self_contained_with_tables_and_verdict(fast_report):
    page = fast_report.html_path.read_text(encoding="utf-8")
    for section in fast_report.sections:
        assert section.title.replace("'", "&#x27;") in page
    images = re.findall(r"<img [^>]*src='([^']+)'", page)
    assert len(images) >= 8 and all(src.startswith("data:image/png;base64,") for src in images)
    assert "http://" not in page and "https://" not in page and "<script" not in page
    names = {p.name for p in fast_report.tables_dir.iterdir()}
    assert {"did.md", "did.tex", "event_study.md", "factor_models.tex", "verdict.md"} <= names
    statuses = {s.title: s.status for s in fast_report.sections}
    assert statuses["Hierarchical elasticities (PyMC)"] == "skipped"
    assert all(v == "skipped" for t, v in statuses.items() if "PyMC" in t)  # --fast: no sampling
    assert all(v == "ok" for t, v in statuses.items() if "PyMC" not in t)
    # real migration flows: the default run uses them and no longer says they are missing
    assert "not bundled" not in page
    assert {"gravity_ppml.md", "serpin_flows.md"} <= names
    for method, ri in fast_report.results["serpin_flows_ri"].items():
        fit = fast_report.results["serpin_flows"][method]
        name = "PPML" if method == "ppml" else "log-linear"
        line = next(v for v in fast_report.verdict if v.startswith(f"Serpin-2050 on flows ({name})"))
        assert f"{100 * np.expm1(fit.effect_estimate):+.0f}%" in line and f"p = {ri.p_value:.3f}" in line
        assert ri.n_assignments == 100_000
    # the verdict's numbers are the results' own
    ri = fast_report.results["ri"]
    assert any(f"exact randomization inference (p = {ri.p_value:.3f})" in v for v in fast_report.verdict)
    twfe = fast_report.results["twfe"].effect_table().iloc[0]
    assert f"{twfe['estimate']:.4f}" in fast_report.verdict[0]
    # the heterogeneity-robust estimate gets the same few-cluster checks, and the verdict says so
    att, wcb, ri_cs = (fast_report.results[k] for k in ("att", "wcb_cs", "ri_cs"))
    line = next(v for v in fast_report.verdict if v.startswith("Callaway-Sant'Anna ATT"))
    assert f"{att.effect_estimate:.4f}" in line and f"p = {ri_cs.p_value:.3f}" in line
    assert f"wild cluster bootstrap (WCR) (p = {wcb.p_value:.3f})" in line
    assert ri_cs.n_assignments == 12_376 and wcb.n_boot == 2**17
    assert fast_report.timings.sum() < 60


def test_a_check_the_design_cannot_support_is_stated_and_the_rest_run(tmp_path):
    panel, _ = kz.simulate_panel(years=range(2012, 2020), cohorts={2013: 6}, random_seed=1)
    spec = ReportSpec(outcome="outcome", first_treated="first_treated", leads=3, lags=3)
    report = build_report(panel, spec, tmp_path, fast=True, quiet=True)
    statuses = {s.title: s.status for s in report.sections}
    # adoption in the second year: one pre-period, so no leads for a pre-trend test or HonestDiD
    assert statuses["Event studies (CS and Sun-Abraham)"] == "ok"
    assert statuses["Pre-trend test and its power (Roth 2022)"] == "not supported"
    assert statuses["Exact randomization inference"] == "ok" and statuses["Wild cluster bootstrap"] == "ok"
    assert "cannot run on this design" in report.html_path.read_text(encoding="utf-8")


def test_command_line_errors_are_one_line_with_exit_code_2(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(app, ["report", "--data", str(tmp_path / "missing.csv")])
    assert missing.exit_code == 2 and "not found" in missing.output and "Traceback" not in missing.output
    spec = tmp_path / "spec.yaml"
    spec.write_text("outcome: in_migration\nfirst_treated: first_treated\n", encoding="utf-8")
    unknown = runner.invoke(app, ["report", "--spec", str(spec), "--out", str(tmp_path / "r")])
    assert unknown.exit_code == 2 and "available columns" in unknown.output and "grp_per_capita" in unknown.output
    spec.write_text("outcome: grp\nfirst_treated: x\ncolour: red\n", encoding="utf-8")
    bad_key = runner.invoke(app, ["report", "--spec", str(spec)])
    assert bad_key.exit_code == 2 and "unknown key" in bad_key.output
    spec.write_text("outcome: [unclosed\n", encoding="utf-8")
    assert runner.invoke(app, ["report", "--spec", str(spec)]).exit_code == 2


def test_user_data_and_yaml_spec_through_the_command_line(tmp_path):
    panel, _ = kz.simulate_panel(cohorts={2014: 5}, random_seed=4, effect=1.0)
    frame = panel.to_frame()
    data = tmp_path / "panel.csv"
    frame[["region", "year", "outcome"]].to_csv(data, index=False)
    treated = sorted(frame.loc[frame["first_treated"].notna(), "region"].unique())
    spec = tmp_path / "spec.yaml"
    spec.write_text("region_names: any\noutcome: outcome\npost_from: 2014\nleads: 3\nlags: 3\ntreated_regions:\n"
                    + "".join(f"  - {r}\n" for r in treated), encoding="utf-8")
    result = CliRunner().invoke(app, ["report", "--data", str(data), "--spec", str(spec), "--out",
                                      str(tmp_path / "out"), "--fast", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "Verdict" in result.output and (tmp_path / "out" / "report.html").is_file()
    truth = kz.did_2x2(panel, "outcome", treated=treated, post_from=2014, fixed_effects=True, cov="cluster")
    assert f"{truth.table.iloc[-1]['estimate']:.4f}" in result.output
    assert not np.isnan(truth.table.iloc[-1]["estimate"])


CHECK_SCRIPT = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e.type)), true);
const original = console.error;
console.error = (...a) => { window.__errors.push(a.join(' ')); original(...a); };
window.addEventListener('load', () => {
  const images = [...document.images].map(i => {
    const box = i.getBoundingClientRect();
    return [i.naturalWidth, i.naturalHeight, box.width, box.height];
  });
  const out = document.createElement('pre');
  out.id = 'kz-browser-check';
  out.textContent = 'KZ' + 'CHECK' + JSON.stringify({images: images, errors: window.__errors}) + 'KZ' + 'END';
  document.body.appendChild(out);
});
</script>"""


def test_report_renders_in_headless_chromium(fast_report, tmp_path):
    """Every figure decodes and has a non-zero size on the page; no console errors (Debian's chromium)."""
    import json
    import shutil
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("Chromium is not installed and .ci/run could not install it (apt-get install chromium)")
    page = fast_report.html_path.read_text(encoding="utf-8")
    checked = tmp_path / "report_checked.html"
    checked.write_text(page.replace("</body>", CHECK_SCRIPT + "</body>"), encoding="utf-8")
    run = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                          "--enable-logging=stderr", "--v=0", "--virtual-time-budget=15000", "--dump-dom",
                          checked.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r"KZCHECK(.*?)KZEND", run.stdout, re.S)
    assert found, f"the page did not finish loading: {run.stderr[-2000:]}"
    result = json.loads(found.group(1))
    images = result["images"]
    assert len(images) == len(re.findall(r"<img ", page)) >= 8
    assert all(w > 0 and h > 0 and bw > 0 and bh > 0 for w, h, bw, bh in images), images
    assert result["errors"] == []
    console_errors = [line for line in run.stderr.splitlines() if "CONSOLE" in line and "ERROR" in line.upper()]
    assert console_errors == []


def test_cli_reads_first_treated_as_r_did_does(tmp_path):
    """0 = never treated, a pre-sample adopter excluded with a note, the same numbers as the API."""
    panel, _ = kz.simulate_panel(n_regions=14, cohorts={2013: 3, 2016: 3}, random_seed=6, effect=1.0)
    frame = panel.to_frame()
    frame["first_treated"] = frame["first_treated"].fillna(0)
    early = sorted(frame.loc[frame["first_treated"] == 0, "region"].unique())[0]
    frame.loc[frame["region"] == early, "first_treated"] = 1950
    data = tmp_path / "panel.csv"
    frame[["region", "year", "outcome", "first_treated"]].to_csv(data, index=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text("region_names: any\noutcome: outcome\nfirst_treated: first_treated\nleads: 2\nlags: 2\n",
                    encoding="utf-8")
    result = CliRunner().invoke(app, ["report", "--data", str(data), "--spec", str(spec), "--out",
                                      str(tmp_path / "out"), "--fast"])
    assert result.exit_code == 0, result.output
    assert "excluded 1 region(s) treated in or before the first observed year" in result.output and early in result.output
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "excluded 1 region(s)" in page and early in page
    with pytest.warns(kz.errors.KzCausalWarning, match="excluded 1 region"):
        api = kz.staggered_did(kz.read_panel(frame, regions=None), "outcome", first_treated="first_treated")
    assert f"{api.aggregate('simple').effect_estimate:.4f}" in page


def test_the_spec_sets_the_estimators_options_with_the_api_checks(tmp_path):
    panel, _ = kz.simulate_panel(n_regions=12, cohorts={2013: 3, 2016: 3}, random_seed=8, effect=1.0)
    frame = panel.to_frame()
    regions = sorted(frame["region"].unique())
    frame["x"] = np.random.default_rng(1).normal(size=len(frame))
    data = tmp_path / "panel.csv"
    frame[["region", "year", "outcome", "first_treated", "x"]].to_csv(data, index=False)
    macro = "".join(f"  {r}: {'north' if i % 2 else 'south'}\n" for i, r in enumerate(regions))
    spec = tmp_path / "spec.yaml"
    spec.write_text("region_names: any\noutcome: outcome\nfirst_treated: first_treated\nleads: 2\nlags: 2\n"
                    "control_group: not_yet_treated\ncovariates: [x]\nalpha: 0.1\nrandom_seed: 3\n"
                    f"cluster:\n{macro}", encoding="utf-8")
    result = CliRunner().invoke(app, ["report", "--data", str(data), "--spec", str(spec), "--out",
                                      str(tmp_path / "out"), "--fast", "--quiet"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "control_group: not_yet_treated" in page
    labels = {r: "north" if i % 2 else "south" for i, r in enumerate(regions)}
    api = kz.staggered_did(kz.read_panel(frame, regions=None), "outcome", first_treated="first_treated",
                           control_group="not_yet_treated", covariates=["x"], cluster=labels, alpha=0.1)
    assert api.n_clusters == 2 and f"{api.aggregate('simple').effect_estimate:.4f}" in page
    for text, message in {"control_group: later\n": "control_group='later'. Fix: use 'never_treated'",
                          "anticipation: 1.5\n": "anticipation=1.5",
                          "alpha: 5\n": "alpha=5; use a level between 0 and 1",
                          "sdid_variance: exact\n": "sdid_variance='exact'",
                          "covariates: [nope]\n": "['nope'] not in the data"}.items():
        spec.write_text("region_names: any\noutcome: outcome\nfirst_treated: first_treated\n" + text, encoding="utf-8")
        bad = CliRunner().invoke(app, ["report", "--data", str(data), "--spec", str(spec), "--out",
                                       str(tmp_path / "bad"), "--fast", "--quiet"])
        assert bad.exit_code == 2 and message in bad.output and "Traceback" not in bad.output, (text, bad.output)


def test_a_spec_the_estimators_cannot_honour_is_refused_before_any_section(tmp_path):
    """A cluster the design layer refuses, a key given twice or a TOML file: exit 2 with a fix, no sections run."""
    panel, _ = kz.simulate_panel(n_regions=10, cohorts={2013: 3}, random_seed=2)
    frame = panel.to_frame()
    regions = sorted(frame["region"].unique())
    frame["varying"] = frame["year"] % 3
    data = tmp_path / "panel.csv"
    frame[["region", "year", "outcome", "first_treated", "varying"]].to_csv(data, index=False)
    spec = tmp_path / "spec.yaml"
    head = "region_names: any\noutcome: outcome\nfirst_treated: first_treated\n"
    one = "{" + ", ".join(f"'{r}': all" for r in regions) + "}"
    mixed = "{" + ", ".join(f"'{r}': {1 if i % 2 else repr('1')}" for i, r in enumerate(regions)) + "}"
    for text, message in {"cluster: varying\n": "changes within region",
                          f"cluster: {one}\n": "at least 2 clusters",
                          f"cluster: {mixed}\n": "read the same",
                          "cluster: {'Region 01': a}\n": "gives no cluster to region",
                          "outcome: treated\n": "given twice",
                          "treated_regions: [Region 01, Region 01]\npost_from: 2013\n": "more than once"}.items():
        body = head + text if "treated_regions" not in text else "region_names: any\noutcome: outcome\n" + text
        spec.write_text(body, encoding="utf-8")
        bad = CliRunner().invoke(app, ["report", "--data", str(data), "--spec", str(spec), "--out",
                                       str(tmp_path / "bad"), "--fast", "--quiet"])
        assert bad.exit_code == 2 and message in bad.output and "Fix:" in bad.output, (text, bad.output)
        assert not (tmp_path / "bad" / "report.html").exists()
    toml = tmp_path / "spec.toml"
    toml.write_text('outcome = "outcome"\nfirst_treated = "first_treated"\n', encoding="utf-8")
    bad = CliRunner().invoke(app, ["report", "--data", str(data), "--spec", str(toml), "--out", str(tmp_path / "t")])
    assert bad.exit_code == 2 and "YAML (key: value lines), not TOML" in bad.output
