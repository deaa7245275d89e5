"""Local wall-clock arithmetic (segsim/_internal/localtime.py), with literal UTC instants.

Europe/Paris is UTC+1 in winter and UTC+2 in summer; in 2026 clocks go forward on Sunday
29 March at 02:00 (to 03:00) and back on Sunday 25 October at 03:00 (to 02:00).
America/New_York is UTC-5 / UTC-4; in 2026 it goes forward on 8 March and back on 1 November.
"""

from __future__ import annotations

import pytest

from segsim._internal.localtime import (
    calendar_period,
    clock_minutes,
    in_quiet_hours,
    quiet_hours_end,
    time_zone,
    wait_until,
)
from segsim._time import from_us, to_us

PARIS = time_zone("Europe/Paris")
NEW_YORK = time_zone("America/New_York")
UTC = time_zone("UTC")


def utc(text: str) -> int:
    return to_us(text + "Z")


def shown(t_us: int) -> str:
    return from_us(t_us).strftime("%Y-%m-%d %H:%M")


def test_clock_times_are_24_hour_hh_mm():
    assert clock_minutes("00:00") == 0
    assert clock_minutes("09:05") == 545
    assert clock_minutes("23:59") == 1439
    for bad in ("24:00", "9:00", "09:60", "09h00", "", None, 900):
        with pytest.raises(ValueError, match="HH:MM"):
            clock_minutes(bad)


def test_unknown_time_zones_are_refused():
    with pytest.raises(ValueError, match="'Europe/Pariss' is not an IANA time zone"):
        time_zone("Europe/Pariss")
    with pytest.raises(ValueError, match="IANA"):
        time_zone("")


@pytest.mark.parametrize(
    ("entered", "zone", "days", "clock", "weekdays", "resumes"),
    [
        # "wait 2 days until 15:00" in Paris winter: 15:00 local = 14:00 UTC, two days later
        ("2026-03-02 16:00", PARIS, 2, "15:00", None, "2026-03-04 14:00"),
        # the same day when the time is still ahead, the next day when it has passed
        ("2026-03-02 08:00", PARIS, 0, "15:00", None, "2026-03-02 14:00"),
        (
            "2026-03-02 14:00",
            PARIS,
            0,
            "15:00",
            None,
            "2026-03-03 14:00",
        ),  # exactly 15:00: next day
        ("2026-03-02 13:59", PARIS, 0, "15:00", None, "2026-03-02 14:00"),
        # calendar days are local: 23:30 UTC on 2 March is already 3 March in Paris
        ("2026-03-02 23:30", PARIS, 1, "09:00", None, "2026-03-04 08:00"),
        # ... and still 2 March in New York (18:30 local)
        ("2026-03-02 23:30", NEW_YORK, 1, "09:00", None, "2026-03-03 14:00"),
        # weekdays: Friday 6 March + 1 day is Saturday; the first allowed day is Monday 9 March
        ("2026-03-06 10:00", PARIS, 1, "09:00", [0, 1, 2, 3, 4], "2026-03-09 08:00"),
        # across the spring change: 28 March is UTC+1, 30 March UTC+2
        ("2026-03-28 10:00", PARIS, 2, "09:00", None, "2026-03-30 07:00"),
        # on the change day itself, 02:30 does not exist: read with the winter offset (03:30 CEST)
        ("2026-03-28 10:00", PARIS, 1, "02:30", None, "2026-03-29 01:30"),
        # the autumn change: 02:30 happens twice on 25 October; the first one is meant (UTC+2)
        ("2026-10-24 10:00", PARIS, 1, "02:30", None, "2026-10-25 00:30"),
        ("2026-10-24 10:00", PARIS, 2, "09:00", None, "2026-10-26 08:00"),
        # New York's change is on another day than Paris's
        ("2026-03-07 12:00", NEW_YORK, 1, "09:00", None, "2026-03-08 13:00"),
        ("2026-03-06 12:00", NEW_YORK, 1, "09:00", None, "2026-03-07 14:00"),
    ],
)
def test_wait_until_resumes_at_the_first_allowed_local_time(
    entered, zone, days, clock, weekdays, resumes
):
    assert shown(wait_until(utc(entered), zone, days, clock_minutes(clock), weekdays)) == resumes


def test_wait_until_needs_an_allowed_weekday_and_non_negative_days():
    with pytest.raises(ValueError, match="weekday"):
        wait_until(utc("2026-03-02 10:00"), UTC, 0, 0, [])
    with pytest.raises(ValueError, match="negative"):
        wait_until(utc("2026-03-02 10:00"), UTC, -1, 0)


@pytest.mark.parametrize(
    ("at", "quiet"),
    [
        ("2026-03-02 19:59", False),  # 20:59 Paris
        ("2026-03-02 20:00", True),  # 21:00 Paris: the start is quiet
        ("2026-03-02 23:00", True),
        ("2026-03-03 06:59", True),  # 07:59 Paris
        ("2026-03-03 07:00", False),  # 08:00 Paris: the end is not quiet
        ("2026-07-02 19:00", True),  # 21:00 Paris in summer (UTC+2)
        ("2026-07-02 06:00", False),  # 08:00 Paris in summer
    ],
)
def test_quiet_hours_wrap_midnight_in_local_time(at, quiet):
    assert in_quiet_hours(utc(at), PARIS, clock_minutes("21:00"), clock_minutes("08:00")) is quiet


def test_quiet_hours_within_one_day():
    start, end = clock_minutes("12:00"), clock_minutes("14:00")
    assert not in_quiet_hours(utc("2026-03-02 10:59"), PARIS, start, end)
    assert in_quiet_hours(utc("2026-03-02 11:00"), PARIS, start, end)
    assert not in_quiet_hours(utc("2026-03-02 13:00"), PARIS, start, end)


@pytest.mark.parametrize(
    ("at", "ends"),
    [
        ("2026-03-02 20:00", "2026-03-03 07:00"),  # 21:00 Paris -> 08:00 Paris next morning
        ("2026-03-03 01:00", "2026-03-03 07:00"),  # after midnight: the same morning
        # the night of the spring change: 08:00 on 29 March is already summer time
        ("2026-03-28 22:00", "2026-03-29 06:00"),
    ],
)
def test_quiet_hours_end_at_the_next_local_end_time(at, ends):
    assert (
        shown(quiet_hours_end(utc(at), PARIS, clock_minutes("21:00"), clock_minutes("08:00")))
        == ends
    )


@pytest.mark.parametrize(
    ("at", "unit", "period"),
    [
        ("2026-03-02 10:00", "day", ("2026-03-01 23:00", "2026-03-02 23:00")),
        ("2026-03-02 23:30", "day", ("2026-03-02 23:00", "2026-03-03 23:00")),  # 00:30 Paris
        # the spring change day is 23 hours long, the autumn one 25
        ("2026-03-29 12:00", "day", ("2026-03-28 23:00", "2026-03-29 22:00")),
        ("2026-10-25 12:00", "day", ("2026-10-24 22:00", "2026-10-25 23:00")),
        # weeks run Monday to Sunday in local time: Wednesday 4 March -> Monday 2 March
        ("2026-03-04 10:00", "week", ("2026-03-01 23:00", "2026-03-08 23:00")),
        # Sunday 1 March 23:30 UTC is already Monday 2 March in Paris
        ("2026-03-01 23:30", "week", ("2026-03-01 23:00", "2026-03-08 23:00")),
    ],
)
def test_calendar_periods_are_local(at, unit, period):
    start, end = calendar_period(utc(at), PARIS, unit)
    assert (shown(start), shown(end)) == period


def test_calendar_period_unit_is_day_or_week():
    with pytest.raises(ValueError, match="'day' or 'week'"):
        calendar_period(0, UTC, "month")
