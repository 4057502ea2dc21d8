from typer.testing import CliRunner

from kzcausal.cli import app


def test_kzcausal_data_prints_the_bundled_panel():
    result = CliRunner().invoke(app, ["data"])
    assert result.exit_code == 0, result.output
    assert "17 Kazakhstan regions x 2011-2025" in result.output
    for word in ("grp", "population", "attractiveness_index", "Sources:", "BNS", "Table 3"):
        assert word in result.output


def test_kzcausal_data_other_boundaries():
    result = CliRunner().invoke(app, ["data", "--boundaries", "2022"])
    assert result.exit_code == 0 and "20 Kazakhstan regions" in result.output


def test_spec_types_and_output_folder_are_checked_before_any_work(tmp_path):
    """Issue 14: wrongly typed YAML values and unusable --out folders are one-line errors (exit 2), not tracebacks."""
    runner = CliRunner()
    spec = tmp_path / "spec.yaml"
    cases = {
        "outcome: grp\ntreated_regions: Akmola\npost_from: 2014\n": "YAML list",
        "outcome: grp\ntreated_regions: [Akmola]\npost_from: 2014.5\n": "whole year",
        "outcome: grp\ntreated_regions: [Akmola]\n": "needs 'post_from'",
        "outcome: grp\nfirst_treated: x\nleads: true\n": "positive whole number",
        "outcome: grp\nfirst_treated: x\nleads: -2\n": "positive whole number",
        "outcome: 3\nfirst_treated: x\n": "must be text",
        "outcome: grp\nfirst_treated: x\nregion_names: all\n": "region_names",
    }
    for text, message in cases.items():
        spec.write_text(text, encoding="utf-8")
        result = runner.invoke(app, ["report", "--spec", str(spec), "--out", str(tmp_path / "r")])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, text
    data = tmp_path / "d.csv"
    data.write_text("region,year,y,d\nA,2010,1,0\nA,2011,2,1\nB,2010,1,0\nB,2011,3,0\n", encoding="utf-8")
    spec.write_text("outcome: y\nfirst_treated: d\nregion_names: any\n", encoding="utf-8")
    indicator = runner.invoke(app, ["report", "--data", str(data), "--spec", str(spec), "--out", str(tmp_path / "r")])
    assert indicator.exit_code == 2 and "0/1" in indicator.output
    directory = runner.invoke(app, ["report", "--spec", str(tmp_path)])
    assert directory.exit_code == 2 and "is a directory" in directory.output
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    for out in (afile, afile / "sub"):
        result = runner.invoke(app, ["report", "--out", str(out)])
        assert result.exit_code == 2 and "is a file" in result.output
