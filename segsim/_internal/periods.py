"""Calendar periods of every period table and chart: one convention, written once.

A *period* is a calendar unit in UTC: an hour, a day, a week from Monday to Sunday, a
month, a quarter or a year (:data:`FREQS`, keyed by ``"h"``, ``"D"``, ``"W"``, ``"M"``,
``"Q"``, ``"Y"``; the words ``"day"``, ``"week"``, ... are accepted too). Given the simulated
window ``[start, end)``, periods are **clipped to it**: the first period starts at ``start``,
the last one ends at ``end``, and a period cut short that way is flagged ``partial``. So a
weekly table of a window starting on Thursday 1 January has a first, partial, period
``[Thu 1 Jan, Mon 5 Jan)``, never a week labelled with a date before the window.

Every period table has the columns ``period`` (the period's start, tz-aware UTC),
``period_end`` (its end, excluded) and ``partial`` (bool). Without a window, periods are
whole calendar periods and ``partial`` is False: there is nothing to clip to.

The window of a result's frames travels with them in ``frame.attrs["window"]`` (set by
:class:`~segsim.result.SimulationResult`, as two ISO 8601 strings so that the frame still
writes to Parquet), so analysis functions find it without being told; :func:`as_window`
reads an explicit one. (Local-time calendar periods of delivery
policies, per contact time zone, are :mod:`segsim._internal.localtime`'s.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FREQS",
    "PERIOD_COLUMNS",
    "as_window",
    "assign_periods",
    "freq_label",
    "period_freq",
    "period_grid",
    "window_attr",
    "window_of",
]

#: The period lengths, by key, with how each is written in prose.
FREQS: dict[str, str] = {
    "h": "hour",
    "D": "day",
    "W": "week (Mon–Sun)",
    "M": "month",
    "Q": "quarter",
    "Y": "year",
}
#: The columns every period table starts with.
PERIOD_COLUMNS = ("period", "period_end", "partial")

_WORDS = {"hour": "h", "day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
_TIME = "datetime64[us, UTC]"
_US = {"h": 3_600_000_000, "D": 86_400_000_000, "W": 7 * 86_400_000_000}

Window = tuple[pd.Timestamp, pd.Timestamp]


def period_freq(freq: Any) -> str:
    """The key of a period length (``"W"`` for ``"W"``, ``"1W"`` or ``"week"``), or ValueError.

    >>> period_freq("week"), period_freq("1D")
    ('W', 'D')
    """
    if isinstance(freq, str):
        text = freq.strip()
        key = _WORDS.get(text.lower(), text.removeprefix("1"))
        if key in FREQS:
            return key
    accepted = ", ".join(f"{key!r} ({word})" for key, word in FREQS.items())
    raise ValueError(
        f"freq must be a calendar period: {accepted}, or the word (e.g. 'week'); got {freq!r}. "
        "Fixed-length periods such as '7D' are not offered: every period table and chart "
        "uses calendar periods, clipped to the simulated window"
    )


def freq_label(freq: Any) -> str:
    """How a period length is written in prose: ``"week (Mon–Sun)"``."""
    return FREQS[period_freq(freq)]


def as_window(window: Any) -> Window | None:
    """A window ``(start, end)`` as two UTC timestamps, from a pair, a scenario or a result.

    ``None`` stays ``None``. An object with a ``window`` attribute (a
    :class:`~segsim.result.SimulationResult`) gives that; one with ``start`` and ``end``
    (a :class:`~segsim.scenario.Scenario`) gives those.
    """
    if window is None:
        return None
    if hasattr(window, "window") and not isinstance(window, (tuple, list)):
        return as_window(window.window)
    if (
        hasattr(window, "start")
        and hasattr(window, "end")
        and not isinstance(window, (tuple, list))
    ):
        window = (window.start, window.end)
    if not isinstance(window, (tuple, list)) or len(window) != 2:
        raise TypeError(
            "window must be (start, end), a Scenario or a SimulationResult; "
            f"got {type(window).__name__}"
        )
    start, end = (_utc(value) for value in window)
    if not start < end:
        raise ValueError(f"a window's start must be before its end, got {start} → {end}")
    return start, end


def window_attr(window: Window | None) -> tuple[str, str] | None:
    """A window as kept in ``frame.attrs["window"]``: two ISO 8601 strings.

    Strings, not timestamps, so that a frame carrying it still writes to Parquet (pandas
    stores ``attrs`` as JSON).
    """
    if window is None:
        return None
    start, end = window
    return (start.isoformat(), end.isoformat())


def window_of(frame: Any, window: Any = None) -> Window | None:
    """The window to clip to: ``window`` if given, else the one the frame carries."""
    if window is not None:
        return as_window(window)
    attrs = getattr(frame, "attrs", None) or {}
    return as_window(attrs.get("window"))


def _utc(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _calendar(us: np.ndarray, freq: str) -> tuple[np.ndarray, np.ndarray]:
    """The calendar period ``[start, end)`` of each instant (int64 epoch µs), unclipped."""
    if freq in ("h", "D"):
        size = _US[freq]
        starts = us - us % size
        return starts, starts + size
    if freq == "W":
        days = us // _US["D"]
        monday = days - (days + 3) % 7  # 1970-01-01 was a Thursday
        starts = monday * _US["D"]
        return starts, starts + _US["W"]
    months = us.astype("datetime64[us]").astype("datetime64[M]").astype("int64")
    step = {"M": 1, "Q": 3, "Y": 12}[freq]
    first = months - months % step
    starts = first.astype("datetime64[M]").astype("datetime64[us]").astype("int64")
    ends = (first + step).astype("datetime64[M]").astype("datetime64[us]").astype("int64")
    return starts, ends


def _to_us(times: Any) -> np.ndarray:
    values = pd.to_datetime(pd.Series(times), utc=True).astype(_TIME)
    return values.to_numpy(dtype="datetime64[us]").astype("int64")


def _frame(starts: np.ndarray, ends: np.ndarray, partial: np.ndarray, index: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": pd.to_datetime(starts, unit="us", utc=True).astype(_TIME),
            "period_end": pd.to_datetime(ends, unit="us", utc=True).astype(_TIME),
            "partial": partial.astype(bool),
        },
        index=index,
    )


def assign_periods(times: pd.Series, freq: str, window: Window | None = None) -> pd.DataFrame:
    """``period``, ``period_end``, ``partial`` of each instant, aligned with ``times``.

    Instants outside the window keep their whole calendar period.
    """
    key = period_freq(freq)
    window = as_window(window)
    us = _to_us(times)
    starts, ends = _calendar(us, key)
    partial = np.zeros(len(us), dtype=bool)
    if window is not None:
        start, end = (int(t.value // 1000) for t in window)
        inside = (us >= start) & (us < end)
        cut_start = inside & (starts < start)
        cut_end = inside & (ends > end)
        starts = np.where(cut_start, start, starts)
        ends = np.where(cut_end, end, ends)
        partial = cut_start | cut_end
    index = times.index if isinstance(times, pd.Series) else None
    return _frame(starts, ends, partial, index)


def period_grid(
    freq: str,
    window: Window | None = None,
    *,
    first: Any = None,
    last: Any = None,
) -> pd.DataFrame:
    """Every period of the window (clipped), or from ``first``'s period to ``last``'s.

    Returns ``period``, ``period_end``, ``partial``, in time order; empty when there is
    neither a window nor instants.
    """
    key = period_freq(freq)
    window = as_window(window)
    if window is not None:
        lo, end = (int(t.value // 1000) for t in window)
        hi = end - 1  # the window's end is excluded
    elif first is not None and last is not None:
        lo, hi = (int(_utc(t).value // 1000) for t in (first, last))
        end = None
    else:
        empty = np.array([], dtype="int64")
        return _frame(empty, empty, empty.astype(bool), index=None)
    starts, ends = [], []
    start = int(_calendar(np.array([lo]), key)[0][0])
    while start <= hi:
        stop = int(_calendar(np.array([start]), key)[1][0])
        starts.append(start)
        ends.append(stop)
        start = stop
    calendar_starts, calendar_ends = np.array(starts), np.array(ends)
    if end is None:
        return _frame(calendar_starts, calendar_ends, np.zeros(len(starts), bool), index=None)
    clipped_starts = np.maximum(calendar_starts, lo)
    clipped_ends = np.minimum(calendar_ends, end)
    partial = (calendar_starts < lo) | (calendar_ends > end)
    return _frame(clipped_starts, clipped_ends, partial, index=None)
