"""SimulationResult's own views: summary(), repr, the window its frames carry, CSV export."""

from __future__ import annotations

import pandas as pd
import pytest

from segsim._internal.frames import FRAMES
from segsim._internal.vocab import END_REASONS
from segsim.flows import Channels
from segsim.result import SimulationResult
from tests.test_report import _frames, result, store  # noqa: F401 (fixtures)


def test_summary_has_one_column_per_end_reason_adding_up_to_runs(result):  # noqa: F811
    summary = result.summary()
    assert list(summary.columns[:3]) == ["flow", "runs", "contacts_entered"]
    assert list(summary.columns[3 : 3 + len(END_REASONS)]) == list(END_REASONS)
    by_flow = summary.set_index("flow")
    assert by_flow.loc["Welcome", list(END_REASONS)].tolist() == [2, 1, 0, 0, 0, 0, 0, 1]
    assert (by_flow[list(END_REASONS)].sum(axis=1) == by_flow["runs"]).all()


def test_summary_counts_messages_and_operations_apart(result):  # noqa: F811
    by_flow = result.summary().set_index("flow")
    welcome, hook = by_flow.loc["Welcome"], by_flow.loc["Hook"]
    assert (welcome["email_sent"], welcome["sms_sent"], welcome["messages_sent"]) == (1, 2, 3)
    assert welcome["list_adds"] == 1 and welcome["webhooks_called"] == 0
    assert hook["messages_sent"] == 0 and hook["webhooks_called"] == 1
    assert "webhook_sent" not in by_flow.columns
    assert welcome["message_cost"] == pytest.approx(0.101)
    assert hook["operation_cost"] == pytest.approx(0.002) and hook["message_cost"] == 0
    assert (by_flow["cost"] == by_flow["message_cost"] + by_flow["operation_cost"]).all()
    counts = by_flow.drop(columns=["message_cost", "operation_cost", "cost"])
    assert all(str(dtype) == "int64" for dtype in counts.dtypes)


def test_repr_counts_messages_not_actions(result):  # noqa: F811
    assert repr(result) == (
        "<SimulationResult 2026-01-01 → 2026-01-31, 5 runs, 3 messages sent, "
        "2 operations, 4 suppressed>"
    )
    html = result._repr_html_()
    assert "messages_sent" in html and "0.10 EUR" in html


def test_the_frames_carry_the_window_and_the_currency_is_the_scenarios(result):  # noqa: F811
    assert result.actions.attrs["window"] == (
        "2026-01-01T00:00:00+00:00",
        "2026-01-31T00:00:00+00:00",
    )
    filtered = result.actions[result.actions["flow"] == "Welcome"]
    assert filtered.attrs["window"] == result.actions.attrs["window"]
    assert result.currency == "EUR"
    bare = SimulationResult(_frames(), meta={"currency": "GBP"})
    assert bare.window is None and bare.currency == "GBP"


def test_to_csv_writes_every_frame_with_iso_times(result, tmp_path):  # noqa: F811
    result.to_csv(tmp_path)
    for name in FRAMES:
        assert (tmp_path / f"{name}.csv").exists()
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert runs["entered_at"].iloc[0] == "2026-01-01T00:00:00Z"
    assert runs["run_id"].tolist() == result.runs["run_id"].tolist()
    result.to_parquet(tmp_path / "parquet")  # frames carrying the window still write


def test_the_currency_is_a_three_letter_code():
    assert Channels().currency == "EUR"
    assert Channels(currency="USD").currency == "USD"
    with pytest.raises(ValueError, match="ISO 4217"):
        Channels(currency="euro")
