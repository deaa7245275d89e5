"""``--replications`` and ``--seed`` on ``segsim run``, ``report`` and ``compare``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import segsim as ss
from segsim.cli import main
from segsim.scenario import load_scenario

DEMO = Path(__file__).resolve().parent.parent / "datasets" / "demo_scenario.yaml"


@pytest.fixture
def held_out(tmp_path):
    """The demo scenario file, 80 contacts, with a 30% holdout: replications differ."""
    path = tmp_path / "scenario.yaml"
    text = DEMO.read_text().replace("contacts: 5000", "contacts: 80")
    path.write_text(text + "holdout:\n  percent: 30\n")
    return path


def _held(frame):
    return frame[frame["reason"] == "holdout"].groupby("replication")["contact_id"].apply(frozenset)


def test_run_with_replications_and_a_seed_writes_every_replication(held_out, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["run", str(held_out), "--out", str(out), "--no-progress"]
    assert main([*argv, "--replications", "3", "--seed", "4"]) == 0
    printed = capsys.readouterr().out
    assert "over 3 replications" in printed and "mean" in printed
    expected = ss.simulate(load_scenario(held_out).replace(seed=4), progress=False, replications=3)
    actions = pd.read_parquet(out / "actions.parquet")
    assert sorted(set(actions["replication"])) == [0, 1, 2]
    assert _held(actions).equals(_held(expected.actions))
    assert len(_held(actions).unique()) == 3  # the replications hold out different contacts
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == ["flow", "metric", "mean", "std", "low", "high", "replications"]
    assert (summary["replications"] == 3).all()
    assert len(pd.read_csv(out / "replications.csv")) == len(expected.replications)
    assert (out / "report.html").exists()
    # the file's seed (1) holds out other contacts than seed 4
    again = tmp_path / "again"
    assert main(["run", str(held_out), "--out", str(again), "--no-progress"]) == 0
    plain = pd.read_parquet(again / "actions.parquet")
    assert "replication" not in plain.columns
    held = frozenset(plain.loc[plain["reason"] == "holdout", "contact_id"])
    assert held != _held(actions)[0]
    assert (
        held
        == _held(ss.simulate(load_scenario(held_out), progress=False, replications=2).actions)[0]
    )


def test_report_and_compare_take_replications(held_out, tmp_path, capsys):
    assert (
        main(
            [
                "report",
                str(held_out),
                "--out",
                str(tmp_path / "r"),
                "--replications",
                "2",
                "--no-progress",
            ]
        )
        == 0
    )
    assert (tmp_path / "r" / "summary.csv").exists() and (tmp_path / "r" / "report.html").exists()
    other = tmp_path / "other.yaml"
    other.write_text(held_out.read_text().replace("template: pro-welcome", "template: other"))
    capsys.readouterr()
    argv = ["compare", str(held_out), str(other), "--replications", "3", "--seed", "2"]
    assert main([*argv, "--no-progress", "--out", str(tmp_path / "c")]) == 0
    printed = capsys.readouterr().out
    assert "p_higher" in printed or "P(" in printed
    assert (tmp_path / "c" / "comparison.html").exists()


@pytest.mark.parametrize("bad", ["0", "-2"])
def test_replications_must_be_positive(held_out, tmp_path, capsys, bad):
    argv = ["run", str(held_out), "--out", str(tmp_path / "o"), "--replications", bad]
    assert main([*argv, "--no-progress"]) == 1
    assert f"--replications must be a positive integer, got {bad}" in capsys.readouterr().err
    assert main(["run", str(held_out), "--out", str(tmp_path / "o"), "--replications", "x"]) == 2
