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


class _Captured:
    """Stands in for build_report: records the panel and design the CLI built, writes nothing."""

    def __init__(self):
        self.calls = []

    def __call__(self, panel, design, out, **options):
        from types import SimpleNamespace

        self.calls.append((panel, design))
        return SimpleNamespace(verdict=["stub"], timings={}, html_path=out / "report.html", tables_dir=out / "tables",
                               did_checks=("stub",))


def _report(tmp_path, monkeypatch, spec_text, data_name, data):
    captured = _Captured()
    monkeypatch.setattr("kzcausal.report.build_report", captured)
    spec = tmp_path / "spec.yaml"
    spec.write_text(spec_text, encoding="utf-8")
    path = tmp_path / data_name
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        data(path)
    result = CliRunner().invoke(app, ["report", "--data", str(path), "--spec", str(spec), "--out",
                                      str(tmp_path / "out"), "--quiet"])
    return result, captured.calls


def test_a_panel_whose_region_column_is_called_state(tmp_path, monkeypatch):
    """The issue: 'a panel whose region column is called state cannot be used from the CLI at all'."""
    data = "state,yr,y,adopted\nTexas,2010,1,\nTexas,2011,2,\nOhio,2010,1,2011\nOhio,2011,3,2011\n"
    result, calls = _report(tmp_path, monkeypatch, "outcome: y\nfirst_treated: adopted\nregion_names: any\n",
                            "d.csv", data)
    assert result.exit_code == 2 and "no region column 'region'" in result.output  # as before: say which
    result, calls = _report(tmp_path, monkeypatch, "outcome: y\nfirst_treated: adopted\nregion_names: any\n"
                            "region: state\nyear: yr\n", "d.csv", data)
    assert result.exit_code == 0, result.output
    (panel, design), = calls
    assert panel.regions == ["Ohio", "Texas"] and panel.years == [2010, 2011]
    assert panel["y"].loc[("Ohio", 2011)] == 3.0 and design.read_options["region"] == "state"


def test_read_options_in_the_spec(tmp_path, monkeypatch):
    """Title lines, ';' and decimal commas with points for thousands, a text column left out by `columns:`."""
    data = ("Gross regional product; mln tenge\n\nОбласть;Год;ВРП;note\nAkmola;2019;1.234,5;revised\n"
            "Akmola;2020;1.300,25;\nZhambyl;2019;2.000;\nZhambyl;2020;2.100,5;first estimate\n")
    spec = "outcome: grp\ntreated_regions: [Zhambyl]\npost_from: 2020\nregion: Область\nyear: Год\n"
    result, _ = _report(tmp_path, monkeypatch, spec, "d.csv", data)
    assert result.exit_code == 2 and "header_row=2" in result.output
    result, _ = _report(tmp_path, monkeypatch, spec + "header_row: 2\n", "d.csv", data)
    assert result.exit_code == 2 and "'note' holds text" in result.output
    spec += "header_row: 2\ndecimal: ','\ncolumns: {grp: ВРП}\n"
    result, calls = _report(tmp_path, monkeypatch, spec, "d.csv", data)
    assert result.exit_code == 0, result.output
    (panel, _), = calls
    assert panel["grp"].tolist() == [1234.5, 1300.25, 2000.0, 2100.5]  # '2.000' is two thousand: decimal=','
    assert panel.to_frame()["first_treated"].tolist()[2:] == [2020.0, 2020.0]


def test_sheet_and_wide_layout_in_the_spec(tmp_path, monkeypatch):
    import pandas as pd

    def xlsx(path):
        with pd.ExcelWriter(path) as writer:
            pd.DataFrame({"a": [1]}).to_excel(writer, sheet_name="Notes", index=False)
            pd.DataFrame({"Region": ["Akmola", "Zhambyl"], "2019": [1.5, 2.5], "2020": [1.6, 2.7]}).to_excel(
                writer, sheet_name="GRP", index=False)

    spec = "outcome: grp\ntreated_regions: [Zhambyl]\npost_from: 2020\nregion: Region\nvalue: grp\n"
    result, _ = _report(tmp_path, monkeypatch, spec + "sheet: Data\n", "d.xlsx", xlsx)
    assert result.exit_code == 2 and "no sheet 'Data'" in result.output and "'GRP'" in result.output
    result, calls = _report(tmp_path, monkeypatch, spec + "sheet: GRP\n", "d.xlsx", xlsx)
    assert result.exit_code == 0, result.output
    assert calls[0][0]["grp"].loc[("Zhambyl", 2020)] == 2.7
    result, calls = _report(tmp_path, monkeypatch, spec + "sheet: 1\n", "d.xlsx", xlsx)
    assert result.exit_code == 0 and calls[0][0]["grp"].loc[("Akmola", 2019)] == 1.5


def test_read_options_are_type_checked_and_need_data(tmp_path, monkeypatch):
    base = "outcome: y\nfirst_treated: f\n"
    cases = {"region: 3\n": "'region' must be the name of a column", "header_row: true\n": "'header_row'",
             "header_row: 1.0\n": "'header_row'", "decimal: ';'\n": "'decimal'", "sheet: [1]\n": "'sheet'",
             "missing: ignore\n": "'missing'", "allow_gaps: 'yes'\n": "'allow_gaps'",
             "columns: grp\n": "'columns' must map", "columns: {units: x}\n": "cannot name the variable(s) ['units']",
             "year: 2015\n": "'year'"}
    for text, message in cases.items():
        result, calls = _report(tmp_path, monkeypatch, base + text, "d.csv", "region,year,y,f\nA,2010,1,\n")
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, text
        assert not calls
    spec = tmp_path / "bundled.yaml"
    spec.write_text(base + "region: state\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["report", "--spec", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "no --data" in result.output


def test_a_design_with_nothing_to_check_fails_before_the_report(tmp_path, monkeypatch):
    """Issue 14: no treated region was a ValueError traceback, and a first_treated that varies within a
    region was collapsed to its first value; both are now typed errors (exit 2) before any section runs."""
    runner = CliRunner()
    spec = tmp_path / "spec.yaml"
    spec.write_text("outcome: y\nfirst_treated: g\nregion_names: any\n", encoding="utf-8")
    data = tmp_path / "d.csv"
    cases = {
        "region,year,y,g\nA,2010,1,\nA,2011,2,\nB,2010,1,\nB,2011,3,\n": "no region is ever treated",
        "region,year,y,g\nA,2010,1,2011\nA,2011,2,2012\nB,2010,1,\nB,2011,3,\n": "changes within region",
        "region,year,y,g\nA,2010,1,2011\nA,2011,1,2011\nB,2010,1,\nB,2011,1,\n": "the same (1) in every row",
    }
    for text, message in cases.items():
        data.write_text(text, encoding="utf-8")
        result = runner.invoke(app, ["report", "--data", str(data), "--spec", str(spec), "--out", str(tmp_path / "r"),
                                     "--quiet"])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, text
        assert not (tmp_path / "r" / "report.html").exists()


def test_a_report_in_which_no_did_check_ran_exits_non_zero(tmp_path, monkeypatch):
    """A report whose every DID section could not run is written, but the exit code says there is no verdict."""
    from types import SimpleNamespace

    def nothing_ran(panel, design, out, **options):
        return SimpleNamespace(verdict=[], timings={}, html_path=out / "report.html", tables_dir=out / "tables",
                               did_checks=())

    monkeypatch.setattr("kzcausal.report.build_report", nothing_ran)
    spec = tmp_path / "spec.yaml"
    spec.write_text("outcome: y\nfirst_treated: g\nregion_names: any\n", encoding="utf-8")
    data = tmp_path / "d.csv"
    data.write_text("region,year,y,g\nA,2010,1,2011\nA,2011,2,2011\nB,2010,1,\nB,2011,3,\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["report", "--data", str(data), "--spec", str(spec), "--out", str(tmp_path / "r"),
                                      "--quiet"])
    assert result.exit_code == 1 and "no DID estimate or check could run" in result.output


def _console(tmp_path, *args):
    """The console script's entry point (``kzcausal.cli:run``) in a new Python, with an exit handler
    registered before the command: it must still run, and the exit code and output must come through."""
    import subprocess
    import sys

    code = ("import atexit, sys\n"
            "atexit.register(lambda: print('exit handler ran', flush=True))\n"
            "from kzcausal.cli import run\n"
            f"sys.argv = ['kzcausal', *{list(args)!r}]\n"
            "run()\n"
            "print('not reached')\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)


def test_the_console_script_exits_with_the_commands_code_after_the_exit_handlers(tmp_path):
    done = _console(tmp_path, "data")
    assert done.returncode == 0, done.stderr
    assert "17 Kazakhstan regions x 2011-2025" in done.stdout
    assert done.stdout.rstrip().endswith("exit handler ran") and "not reached" not in done.stdout
    failed = _console(tmp_path, "report", "--spec", "missing.yaml")
    assert failed.returncode == 2
    assert "missing.yaml" in failed.stderr and "exit handler ran" in failed.stdout
    usage = _console(tmp_path, "no-such-command")
    assert usage.returncode == 2 and "exit handler ran" in usage.stdout
