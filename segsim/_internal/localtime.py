"""Local wall-clock time of a contact: time zones, clock times, calendar days and weeks.

Delivery policies and ``Wait(until=...)`` read the contact's *local* time (its IANA time
zone). Instants stay what they are everywhere else in segsim — ``int`` microseconds since
the Unix epoch, UTC; these functions only answer questions about the local calendar:

* :func:`wait_until` — the instant a ``Wait(days, until="HH:MM", weekdays=...)`` resumes;
* :func:`in_quiet_hours` / :func:`quiet_hours_end` — whether an instant falls in a daily
  local quiet period, and when that period ends;
* :func:`calendar_period` — the local calendar day or week (Monday to Sunday) holding an
  instant, as UTC instants ``[start, end)``.

**Clock times that do not exist or happen twice.** On the day clocks go forward, a local time
in the gap (02:30 in Europe/Paris on the last Sunday of March) does not exist: it is read
with the offset in force *before* the change, so it lands as far after the gap's start as
it was meant to (02:30 → 03:30 CEST). On the day clocks go back, a local time that happens
twice (02:30 on the last Sunday of October) means its *first* occurrence. These are
Python's ``zoneinfo`` rules with ``fold=0``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Collection

__all__ = [
    "WEEKDAYS",
    "calendar_period",
    "clock_in_period",
    "clock_instant",
    "clock_minutes",
    "in_quiet_hours",
    "local_datetime",
    "local_minutes",
    "quiet_hours_end",
    "time_zone",
    "wait_until",
]

#: Weekday names, Monday first (``datetime.weekday()`` order).
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_ONE_US = dt.timedelta(microseconds=1)
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def clock_minutes(text: str) -> int:
    """``"HH:MM"`` (24-hour) as minutes after midnight.

    >>> clock_minutes("21:30")
    1290
    """
    match = _CLOCK.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"a clock time is 'HH:MM' on a 24-hour clock, e.g. '09:00' or '21:30'; got {text!r}"
        )
    return int(match.group(1)) * 60 + int(match.group(2))


@functools.lru_cache(maxsize=1024)
def time_zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone ``name`` (``"Europe/Paris"``); ``ValueError`` for an unknown one."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(
            f"{name!r} is not an IANA time zone name (such as 'Europe/Paris' or 'UTC')"
        ) from None


def _to_us(value: dt.datetime) -> int:
    return (value.astimezone(_UTC) - _EPOCH) // _ONE_US


def local_datetime(t_us: int, zone: dt.tzinfo) -> dt.datetime:
    """The instant ``t_us`` as an aware local ``datetime`` in ``zone``."""
    return (_EPOCH + dt.timedelta(microseconds=t_us)).astimezone(zone)


def clock_instant(day: dt.date, minutes: int, zone: dt.tzinfo) -> int:
    """The instant of local clock time ``minutes`` on local ``day`` (see module notes)."""
    hour, minute = divmod(minutes, 60)
    return _to_us(dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone))


def wait_until(
    t_us: int,
    zone: dt.tzinfo,
    days: int,
    clock: int,
    weekdays: Collection[int] | None = None,
) -> int:
    """When ``Wait(f"{days}d", until=clock, weekdays=...)`` entered at ``t_us`` resumes.

    ``days`` counts calendar days in ``zone``; the run resumes at the first local ``clock``
    time (minutes after midnight) on or after that day whose weekday is allowed
    (``weekdays``: 0 = Monday … 6 = Sunday; ``None`` allows all) and that is strictly
    after ``t_us`` — so with ``days=0`` it is the same day if that time is still ahead.

    >>> paris = time_zone("Europe/Paris")
    >>> from segsim._time import to_us, from_us
    >>> str(from_us(wait_until(to_us("2026-03-02 16:00Z"), paris, 2, clock_minutes("15:00"))))
    '2026-03-04 14:00:00+00:00'
    """
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}")
    allowed = set(range(7)) if weekdays is None else set(weekdays)
    if not allowed:
        raise ValueError("at least one weekday must be allowed")
    day = local_datetime(t_us, zone).date() + dt.timedelta(days=days)
    for _ in range(15):  # at most a week ahead, plus the day a passed clock time skips
        if day.weekday() in allowed:
            candidate = clock_instant(day, clock, zone)
            if candidate > t_us:
                return candidate
        day += dt.timedelta(days=1)
    raise AssertionError(
        "unreachable: some allowed weekday comes within two weeks"
    )  # pragma: no cover


def in_quiet_hours(t_us: int, zone: dt.tzinfo, start: int, end: int) -> bool:
    """Whether local time at ``t_us`` is in the daily quiet period ``[start, end)``.

    ``start`` and ``end`` are minutes after midnight; ``start > end`` wraps midnight
    (``21:00``–``08:00``). The period holds from ``start`` included to ``end`` excluded.
    """
    return clock_in_period(local_minutes(t_us, zone), start, end)


def local_minutes(t_us: int, zone: dt.tzinfo) -> float:
    """The local wall-clock time at ``t_us`` in minutes after local midnight (with fractions)."""
    local = local_datetime(t_us, zone)
    return (
        local.hour * 60 + local.minute + (local.second * 1_000_000 + local.microsecond) / 60_000_000
    )


def clock_in_period(now: float, start: int, end: int) -> bool:
    """Whether wall-clock ``now`` (minutes after midnight) is in the daily ``[start, end)``;
    ``start > end`` wraps midnight. The one rule :func:`in_quiet_hours` applies."""
    if start < end:
        return start <= now < end
    return now >= start or now < end


def quiet_hours_end(t_us: int, zone: dt.tzinfo, start: int, end: int) -> int:
    """The end of the quiet period holding ``t_us`` (the next local ``end`` clock time).

    Only meaningful when :func:`in_quiet_hours` is true for ``t_us``.
    """
    return wait_until(t_us, zone, 0, end)


def calendar_period(t_us: int, zone: dt.tzinfo, unit: str) -> tuple[int, int]:
    """The local calendar ``"day"`` or ``"week"`` (Monday–Sunday) holding ``t_us``.

    Returns ``(start_us, end_us)``: local midnight to the next period's local midnight, as
    UTC instants (a DST day is 23 or 25 hours long).
    """
    day = local_datetime(t_us, zone).date()
    if unit == "day":
        first, length = day, 1
    elif unit == "week":
        first, length = day - dt.timedelta(days=day.weekday()), 7
    else:
        raise ValueError(f"a calendar period is 'day' or 'week', got {unit!r}")
    following = first + dt.timedelta(days=length)
    return clock_instant(first, 0, zone), clock_instant(following, 0, zone)
