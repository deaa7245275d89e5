"""``segsim forecast``, the scenario's ``forecast:`` section and the "Projection" report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import segsim as ss
from segsim.cli import main
from segsim.scenario import ForecastSettings, load_scenario, scenario_json_schema

DEMO = Path(__file__).resolve().parent.parent / "datasets" / "demo_scenario.yaml"


@pytest.fixture
def small_scenario(tmp_path):
    """The demo scenario file with a small population."""
    path = tmp_path / "scenario.yaml"
    path.write_text(DEMO.read_text().replace("contacts: 5000", "contacts: 100"))
    return path


def with_section(path: Path, section: str) -> Path:
    path.write_text(path.read_text() + f"\nforecast: {section}\n")
    return path


def test_help_lists_the_forecast_command_with_an_example(capsys):
    assert main(["--help"]) == 0
    assert "forecast" in capsys.readouterr().out
    assert main(["forecast", "--help"]) == 0
    assert "example" in capsys.readouterr().out


def test_forecast_writes_the_frames_and_the_projection_report(small_scenario, tmp_path, capsys):
    out = tmp_path / "fc"
    args = ["forecast", str(small_scenario), "--horizon", "14d", "--replications", "3"]
    assert main([*args, "--seed", "2", "--out", str(out), "--markdown", "--csv"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(
        "Forecast(estimate, 2026-07-01 00:00 → 2026-07-15 00:00, 3 replications"
    )
    names = {p.name for p in out.iterdir()}
    assert names == {
        "forecast.parquet",
        "forecast.csv",
        "forecast_summary.parquet",
        "forecast_summary.csv",
        "forecast.html",
        "forecast.md",
    }
    expected = ss.forecast(load_scenario(small_scenario), horizon="14d", replications=3, seed=2)
    frame = pd.read_parquet(out / "forecast.parquet")
    pd.testing.assert_frame_equal(frame, expected.to_frame(), check_dtype=False)
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "forecast_summary.parquet"), expected.summary(), check_dtype=False
    )
    html = (out / "forecast.html").read_text()
    for title in ("Projection (an estimate, not a replay)", "Projection per week (estimate)"):
        assert title in html
    assert "Projection assumptions" in (out / "forecast.md").read_text()


def test_the_forecast_section_gives_the_defaults_and_options_override_it(small_scenario, tmp_path):
    path = with_section(small_scenario, "{horizon: 7d, replications: 2, seed: 4}")
    scenario = load_scenario(path)
    assert scenario.forecast == ForecastSettings(horizon="7d", replications=2, seed=4)
    out = tmp_path / "a"
    assert main(["forecast", str(path), "--out", str(out)]) == 0
    frame = pd.read_parquet(out / "forecast.parquet")
    assert sorted(frame["replication"].unique()) == [0, 1]
    assert frame["day"].nunique() == 7
    pd.testing.assert_frame_equal(frame, ss.forecast(scenario).to_frame(), check_dtype=False)
    out = tmp_path / "b"
    assert main(["forecast", str(path), "--out", str(out), "--replications", "3"]) == 0
    assert sorted(pd.read_parquet(out / "forecast.parquet")["replication"].unique()) == [0, 1, 2]


def test_backtest_writes_the_weeks_and_says_the_coverage(small_scenario, tmp_path, capsys):
    out = tmp_path / "bt"
    args = ["forecast", str(small_scenario), "--horizon", "14d", "--replications", "3"]
    assert main([*args, "--backtest", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "95% intervals cover" in printed and "90% intervals cover" in printed
    weeks = pd.read_parquet(out / "backtest.parquet")
    assert len(weeks) == 2 and weeks["days"].tolist() == [7, 7]
    assert "Backtest of the projection" in (out / "forecast.html").read_text()


def test_bad_forecast_input_exits_1_naming_the_file(small_scenario, tmp_path, capsys):
    out = str(tmp_path / "x")
    assert main(["forecast", str(small_scenario), "--horizon", "soon", "--out", out]) == 1
    err = capsys.readouterr().err
    assert str(small_scenario) in err and "horizon" in err
    with_section(small_scenario, "{method: poisson, block: 7d}")
    assert main(["forecast", str(small_scenario), "--out", out]) == 1
    err = capsys.readouterr().err
    assert "forecast: block is a length of the bootstrap; method 'poisson' has none" in err
    assert "(line " in err


def test_validate_checks_the_forecast_section_against_the_data(small_scenario, tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(small_scenario.read_text())
    assert main(["validate", str(with_section(good, "{method: poisson, horizon: 30d}"))]) == 0
    # the demo history starts in July 2025, a year before the window's end: a 400-day
    # block reaches back before it
    with_section(small_scenario, "{horizon: 400d}")
    assert main(["validate", str(small_scenario)]) == 1
    assert "forecast: the block" in capsys.readouterr().err


def test_the_schema_describes_the_forecast_section():
    schema = scenario_json_schema()
    assert "forecast" in schema["properties"]
    settings = schema["$defs"]["ForecastSettings"]["properties"]
    assert set(settings) == {
        "horizon",
        "method",
        "replications",
        "seed",
        "block",
        "positions",
    }
    assert settings["method"]["enum"] == ["bootstrap", "poisson"]


def test_the_replay_report_can_end_with_the_projection(small_scenario):
    scenario = load_scenario(small_scenario)
    result = ss.simulate(scenario, progress=False)
    fc = ss.forecast(scenario, horizon="7d", replications=2, seed=1)
    keys = [s.key for s in ss.build_report(result, forecast=fc)]
    replay = [s.key for s in ss.build_report(result)]
    assert keys == [*replay, "projection", "projection_weekly", "projection_assumptions"]


def test_the_fitted_method_from_the_command_line(small_scenario, tmp_path, capsys):
    out = tmp_path / "p"
    args = ["forecast", str(small_scenario), "--horizon", "7d", "--replications", "2"]
    assert main([*args, "--method", "poisson", "--seed", "5", "--out", str(out)]) == 0
    assert "2 replications" in capsys.readouterr().out
    expected = ss.forecast(
        load_scenario(small_scenario), horizon="7d", method="poisson", replications=2, seed=5
    )
    frame = pd.read_parquet(out / "forecast.parquet")
    pd.testing.assert_frame_equal(frame, expected.to_frame(), check_dtype=False)
    assert "gamma-Poisson" in (out / "forecast.html").read_text()


def test_positions_from_the_command_line_and_the_forecast_section(small_scenario, tmp_path):
    out = tmp_path / "p"
    args = ["forecast", str(small_scenario), "--horizon", "14d", "--replications", "3"]
    assert main([*args, "--positions", "1", "--seed", "2", "--out", str(out)]) == 0
    scenario = load_scenario(small_scenario)
    expected = ss.forecast(scenario, horizon="14d", replications=3, seed=2, positions=1)
    frame = pd.read_parquet(out / "forecast.parquet")
    pd.testing.assert_frame_equal(frame, expected.to_frame(), check_dtype=False)
    # the section's positions are the default of ss.forecast
    with_section(small_scenario, "{horizon: 14d, replications: 3, seed: 2, positions: 1}")
    sectioned = ss.forecast(load_scenario(small_scenario))
    pd.testing.assert_frame_equal(sectioned.to_frame(), expected.to_frame())
