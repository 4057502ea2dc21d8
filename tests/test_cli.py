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
