"""The command line: every command, its exit codes, its files."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from segsim.cli import main

DEMO = Path(__file__).resolve().parent.parent / "datasets" / "demo_scenario.yaml"


@pytest.fixture
def small_scenario(tmp_path):
    """The demo scenario file with a small population."""
    path = tmp_path / "scenario.yaml"
    path.write_text(DEMO.read_text().replace("contacts: 5000", "contacts: 100"))
    return path


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("demo", "run", "validate", "compare", "report", "schema"):
        assert command in out


@pytest.mark.parametrize("command", ["demo", "run", "validate", "compare", "report", "schema"])
def test_each_command_help_shows_an_example(command, capsys):
    assert main([command, "--help"]) == 0
    assert "example" in capsys.readouterr().out


def test_no_command_and_unknown_option_are_usage_errors(capsys):
    assert main([]) == 2
    assert main(["run", "--bogus"]) == 2


def test_demo_simulates_and_writes_the_report(tmp_path, capsys):
    assert (
        main(["demo", "--contacts", "100", "--out", str(tmp_path / "demo"), "--no-progress"]) == 0
    )
    out = capsys.readouterr().out
    assert "Welcome Pro" in out and "report:" in out
    assert (tmp_path / "demo" / "report.html").stat().st_size > 10_000


def test_run_writes_frames_and_report(small_scenario, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(small_scenario), "--out", str(out), "--no-progress"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {
        "runs.parquet",
        "steps.parquet",
        "actions.parquet",
        "segment_events.parquet",
        "suppressed.parquet",
        "report.html",
    } <= names
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) > 0 and runs["end_reason"].notna().all()


def test_validate_ok_and_broken(small_scenario, tmp_path, capsys):
    assert main(["validate", str(small_scenario)]) == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        small_scenario.read_text()
        .replace("attribute: plan\n", "attribute: plam\n", 1)
        .replace("attribute: ltv", "attribute: ltvv")
    )
    assert main(["validate", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "segments[0].where" in err and "'plam'" in err and "did you mean 'plan'" in err


def test_validate_lists_every_yaml_problem_with_its_path(small_scenario, tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    text = (
        small_scenario.read_text()
        .replace("duration: 2d", "duration: two days")
        .replace("duration: 3d", "duration: -3d")
    )
    broken.write_text(text)
    assert main(["validate", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "flows[0].steps[1].duration" in err and "flows[1].steps[1].duration" in err


def test_missing_file_is_an_input_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 1
    assert "nope.yaml" in capsys.readouterr().err


def test_schema_is_json(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "flows" in schema["properties"]


def test_compare_two_files(small_scenario, tmp_path, capsys):
    other = tmp_path / "event.yaml"
    other.write_text(
        small_scenario.read_text().replace("reentry_mode: recheck", "reentry_mode: event")
    )
    assert (
        main(
            [
                "compare",
                str(small_scenario),
                str(other),
                "--out",
                str(tmp_path / "cmp"),
                "--no-progress",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "scenario" in out and "event" in out
    assert (tmp_path / "cmp" / "comparison.html").exists()


def test_report_writes_html_and_markdown(small_scenario, tmp_path):
    assert (
        main(
            [
                "report",
                str(small_scenario),
                "--out",
                str(tmp_path / "r"),
                "--markdown",
                "--no-progress",
            ]
        )
        == 0
    )
    assert (tmp_path / "r" / "report.html").exists()
    assert (tmp_path / "r" / "report.md").read_text().startswith("#")


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "segsim"
    assert script.exists() or shutil.which("segsim") is not None
