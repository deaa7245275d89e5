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
    # the summary shows what the demo's policy, response model and goals add (rows by name)
    rows = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert {"deferred", "frequency_capped", "delivered", "clicked", "converted", "revenue"} <= rows
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


SEGMENTS_ONLY = """\
data: {kind: demo, contacts: 200}
start: 2026-01-01
end: 2026-03-01
segments:
  - name: Pro
    where: {kind: compare, attribute: plan, op: "==", value: pro}
flows: []
"""


def test_a_scenario_without_flows_validates_and_runs(tmp_path, capsys):
    path = tmp_path / "segments.yaml"
    path.write_text(SEGMENTS_ONLY)
    assert main(["validate", str(path)]) == 0
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    assert (out / "report.html").exists()
    assert len(pd.read_parquet(out / "segment_events.parquet")) > 0
    assert pd.read_parquet(out / "runs.parquet").empty


def test_validate_names_a_channel_attribute_missing_from_the_data(tmp_path, capsys):
    flow = """\
  - name: Hello
    trigger: {segment: Pro}
    steps:
      - {kind: send_email, id: e1, template: hi}
"""
    path = tmp_path / "missing.yaml"
    path.write_text(
        SEGMENTS_ONLY.replace("flows: []\n", "flows:\n" + flow)
        + "channels: {email_consent: email_optin}\n"
    )
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "channels.email_consent" in err and "'email_optin'" in err
    assert "did you mean 'email_subscribed'" in err
    # set by a flow step: a warning, and the scenario is valid
    setter = "      - {kind: update_contact, id: u1, set: {email_optin: true}}\n"
    path.write_text(
        path.read_text().replace("      - {kind: send_email", setter + "      - {kind: send_email")
    )
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err
    assert "warning: channel email" in err and "'u1'" in err


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


@pytest.mark.parametrize("command", ["run", "report", "demo"])
def test_out_pointing_at_an_existing_file_is_a_clear_input_error(
    command, small_scenario, tmp_path, capsys
):
    existing = tmp_path / "taken"
    existing.write_text("not a folder")
    args = [command] if command == "demo" else [command, str(small_scenario)]
    args += ["--out", str(existing), "--no-progress"]
    if command == "demo":
        args += ["--contacts", "50"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "is an existing file" in err and "taken" in err
    assert "Traceback" not in err and "FileExistsError" not in err
    assert existing.read_text() == "not a folder"


def test_run_with_csv_writes_each_frame_beside_its_parquet(small_scenario, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(small_scenario), "--out", str(out), "--csv", "--no-progress"]) == 0
    for name in ("runs", "steps", "actions", "segment_events", "suppressed"):
        parquet = pd.read_parquet(out / f"{name}.parquet")
        text = pd.read_csv(out / f"{name}.csv")
        assert list(text.columns) == list(parquet.columns), name
        assert len(text) == len(parquet), name
    runs = pd.read_csv(out / "runs.csv")
    first = pd.read_parquet(out / "runs.parquet")["entered_at"].iloc[0]
    assert runs["entered_at"].iloc[0] == first.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "Parquet and CSV" in capsys.readouterr().out


def test_run_prints_the_summary_with_metric_names_integers_and_currency(
    small_scenario, tmp_path, capsys
):
    assert main(["run", str(small_scenario), "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "messages sent" in lines["<SimulationResult"] and "operations" in out
    assert lines["runs"].split()[1].isdigit()
    assert lines["cost"].split()[2] == "EUR"
    assert "horizon" in lines and "webhooks_called" in lines
    assert ".000" not in out


def _variant_file(small_scenario, tmp_path, name, *replacements):
    text = small_scenario.read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_compare_prints_named_metrics_percent_changes_and_costs_with_currency(
    small_scenario, tmp_path, capsys
):
    other = _variant_file(
        small_scenario, tmp_path, "event.yaml", ("reentry_mode: recheck", "reentry_mode: event")
    )
    assert main(["compare", str(small_scenario), str(other), "--no-progress"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["metric"] == ["metric", "scenario", "event", "event_delta", "event_change"]
    assert rows["runs"][4].endswith("%") and rows["runs"][1].isdigit()
    assert rows["cost"][2] == "EUR"
    assert "webhooks_called" in rows and "messages_sent" in rows


@pytest.mark.parametrize(
    ("replacement", "named"),
    [
        (("contacts: 100", "contacts: 101"), "data source"),
        (("seed: 1\n", "seed: 2\n"), "seed: 1 vs 2"),
        (("end: '2026-07-01T00:00:00Z'", "end: '2026-06-01T00:00:00Z'"), "window"),
        (("cost_sms: 0.05", "cost_sms: 0.07"), "channels: cost_sms 0.05 vs 0.07"),
        (("duration: 60d", "duration: 90d"), "segments: 'Lapsed' is defined differently"),
    ],
)
def test_compare_refuses_scenarios_that_differ_in_more_than_flows(
    replacement, named, small_scenario, tmp_path, capsys
):
    other = _variant_file(small_scenario, tmp_path, "other.yaml", replacement)
    assert main(["compare", str(small_scenario), str(other), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "other differs from scenario in" in err and named in err
    assert "--allow-different" in err


def test_compare_allow_different_warns_loudly_in_the_output_and_the_report(
    small_scenario, tmp_path, capsys
):
    other = _variant_file(small_scenario, tmp_path, "other.yaml", ("seed: 1\n", "seed: 2\n"))
    folder = tmp_path / "cmp"
    args = ["compare", str(small_scenario), str(other), "--allow-different", "--out", str(folder)]
    assert main([*args, "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "WARNING" in captured.out and "seed: 1 vs 2" in captured.out
    assert "WARNING" in captured.err
    html = (folder / "comparison.html").read_text(encoding="utf-8")
    assert "seed: 1 vs 2" in html and "Warnings" in html
