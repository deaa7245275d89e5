"""The one period convention: calendar periods in UTC, clipped to the window, partial flagged."""

from __future__ import annotations

import pandas as pd
import pytest

from segsim._internal.periods import (
    as_window,
    assign_periods,
    freq_label,
    period_freq,
    period_grid,
)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def spans(grid: pd.DataFrame) -> list[tuple[str, str, bool]]:
    return [
        (f"{r.period:%Y-%m-%d %H:%M}", f"{r.period_end:%Y-%m-%d %H:%M}", bool(r.partial))
        for r in grid.itertuples(index=False)
    ]


def test_weeks_run_monday_to_sunday_and_are_clipped_to_the_window():
    grid = period_grid("W", as_window(("2026-01-01", "2026-01-20")))
    assert spans(grid) == [
        ("2026-01-01 00:00", "2026-01-05 00:00", True),  # Thursday → Monday
        ("2026-01-05 00:00", "2026-01-12 00:00", False),
        ("2026-01-12 00:00", "2026-01-19 00:00", False),
        ("2026-01-19 00:00", "2026-01-20 00:00", True),
    ]


@pytest.mark.parametrize(
    ("freq", "expected"),
    [
        (
            "M",
            [
                ("2026-01-15 00:00", "2026-02-01 00:00", True),
                ("2026-02-01 00:00", "2026-03-01 00:00", False),
                ("2026-03-01 00:00", "2026-03-10 12:00", True),
            ],
        ),
        (
            "Q",
            [("2026-01-15 00:00", "2026-03-10 12:00", True)],
        ),
        (
            "D",
            None,  # checked by length below
        ),
    ],
)
def test_months_and_quarters_are_calendar_ones(freq, expected):
    window = as_window(("2026-01-15", "2026-03-10T12:00:00Z"))
    grid = period_grid(freq, window)
    if expected is None:
        assert len(grid) == 55 and grid["partial"].tolist() == [False] * 54 + [True]
    else:
        assert spans(grid) == expected


def test_a_window_on_period_boundaries_has_no_partial_period():
    grid = period_grid("M", as_window(("2026-01-01", "2026-07-01")))
    assert len(grid) == 6 and not grid["partial"].any()
    assert grid["period_end"].iloc[-1] == utc("2026-07-01")


def test_instants_get_their_clipped_period():
    window = as_window(("2026-01-01", "2026-02-01"))
    times = pd.Series(pd.to_datetime(["2026-01-01 10:00:00", "2026-01-31 23:59:59"], utc=True))
    periods = assign_periods(times, "W", window)
    assert spans(periods) == [
        ("2026-01-01 00:00", "2026-01-05 00:00", True),
        ("2026-01-26 00:00", "2026-02-01 00:00", True),
    ]
    whole = assign_periods(times, "W")
    assert spans(whole) == [
        ("2025-12-29 00:00", "2026-01-05 00:00", False),
        ("2026-01-26 00:00", "2026-02-02 00:00", False),
    ]


def test_freq_names_and_words():
    assert [period_freq(f) for f in ("D", "1D", "day", "Week", "W", "month", "h")] == [
        "D",
        "D",
        "D",
        "W",
        "W",
        "M",
        "h",
    ]
    assert freq_label("W") == "week (Mon–Sun)"
    for bad in ("7D", "2W", "fortnight", "ME", 7):
        with pytest.raises(ValueError, match="calendar period"):
            period_freq(bad)


def test_a_window_comes_from_a_pair_a_scenario_or_a_result():
    class Scenario:
        start, end = utc("2026-01-01"), utc("2026-02-01")

    class Result:
        window = (utc("2026-01-01"), utc("2026-02-01"))

    expected = (utc("2026-01-01"), utc("2026-02-01"))
    assert as_window(("2026-01-01", "2026-02-01")) == expected
    assert as_window(Scenario()) == as_window(Result()) == expected
    assert as_window(None) is None
    with pytest.raises(ValueError, match="before its end"):
        as_window(("2026-02-01", "2026-01-01"))
