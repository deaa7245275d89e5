"""Segments over time: entries and exits per period, and sizes from the membership changes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from segsim._internal.periods import (
    PERIOD_COLUMNS,
    assign_periods,
    period_freq,
    period_grid,
    window_attr,
    window_of,
)
from segsim.analysis._tables import (
    _PERIOD_DTYPES,
    _finish,
    _group,
    _require,
    _sort_key,
)

# -- segments -------------------------------------------------------------------------------------


def _segment_deltas(segment_events: pd.DataFrame, freq: str, window: Any) -> pd.DataFrame:
    key = period_freq(freq)
    _require(segment_events, ["time", "segment", "event"], "segment_events")
    unknown = set(segment_events["event"].dropna()) - {"enter", "exit"}
    if unknown or segment_events["event"].isna().any():
        raise ValueError(
            f"segment_events.event must be 'enter' or 'exit', found {sorted(unknown, key=str)}"
        )
    deltas = assign_periods(segment_events["time"], key, window)
    deltas["segment"] = segment_events["segment"]
    deltas["entries"] = (segment_events["event"] == "enter").astype("int64")
    deltas["exits"] = (segment_events["event"] == "exit").astype("int64")
    return deltas


def entries_exits(
    segment_events: pd.DataFrame, *, freq: str = "D", window: Any = None
) -> pd.DataFrame:
    """Segment entries and exits per period.

    Parameters
    ----------
    segment_events : DataFrame
        The ``segment_events`` frame of a result.
    freq : str, default "D"
        Calendar period, as in :func:`sends_by_period`.
    window : (start, end), Scenario or SimulationResult, optional
        The window periods are clipped to (default: ``segment_events.attrs["window"]``).

    Returns
    -------
    DataFrame
        ``period``, ``period_end``, ``partial``, ``segment``, ``entries``, ``exits`` and
        ``net`` (entries − exits), all counts int64; only periods with at least one event of
        the segment appear. ``attrs["freq"]`` and ``attrs["window"]`` say how.

    Examples
    --------
    >>> entries_exits(result.segment_events, freq="W").pipe(plot_entries_exits, segment="VIP")
    <Axes: ...>
    """
    bounds = window_of(segment_events, window)
    deltas = _segment_deltas(segment_events, freq, bounds)
    keys = [*PERIOD_COLUMNS, "segment"]
    sums = _group(deltas, keys)[["entries", "exits"]].sum().reset_index()
    sums["net"] = sums["entries"] - sums["exits"]
    dtypes = {
        **_PERIOD_DTYPES,
        "segment": segment_events["segment"].dtype,
        "entries": "int64",
        "exits": "int64",
        "net": "int64",
    }
    out = _finish(sums, dtypes, sort=["period", "segment"])
    out.attrs = {"freq": period_freq(freq), "window": window_attr(bounds)}
    return out


def segment_sizes_from_events(
    segment_events: pd.DataFrame,
    *,
    freq: str = "D",
    initial: Mapping[str, int] | None = None,
    window: Any = None,
) -> pd.DataFrame:
    """Segment sizes over time, from the membership changes alone.

    The same frame as :func:`segsim.segment_sizes` (which reads the store instead), so
    either goes to :func:`~segsim.plots.plot_segment_sizes`. ``members`` is the size at the
    end of each period: the initial size plus entries minus exits so far.
    ``segment_events`` only logs changes inside the simulated window (members at ``start``
    are not entrants), so without ``initial`` the sizes are net changes since the start of
    the window; :func:`segsim.segment_sizes` counts the members before the window itself.

    Parameters
    ----------
    segment_events : DataFrame
        The ``segment_events`` frame of a result.
    freq : str, default "D"
        Calendar period, as in :func:`sends_by_period`.
    initial : mapping of str to int, optional
        Segment name → size at the start of the window (default 0). Segments named here
        but without events get a flat line.
    window : (start, end), Scenario or SimulationResult, optional
        The window (default: ``segment_events.attrs["window"]``). With a window, every
        period of the window has a row; without, every period from the first event's to
        the last event's (none when there are no events).

    Returns
    -------
    DataFrame
        ``period``, ``period_end``, ``partial``, ``segment``, ``entries``, ``exits`` (in
        the period) and ``members`` (at the period's end), all counts int64; by period, then
        segment name. ``attrs["freq"]`` and ``attrs["window"]`` say how.

    Examples
    --------
    >>> sizes = segment_sizes_from_events(result.segment_events, initial={"VIP": 120})
    """
    key = period_freq(freq)
    bounds = window_of(segment_events, window)
    deltas = _segment_deltas(segment_events, key, bounds)
    initial = dict(initial or {})
    dtypes = {
        **_PERIOD_DTYPES,
        "segment": segment_events["segment"].dtype,
        "entries": "int64",
        "exits": "int64",
        "members": "int64",
    }
    if bounds is not None:
        grid = period_grid(key, bounds)
    elif len(deltas):
        grid = period_grid(key, first=deltas["period"].min(), last=deltas["period"].max())
    else:
        grid = period_grid(key)
    segments = sorted(set(deltas["segment"].dropna()) | set(initial), key=str)
    if grid.empty or not segments:
        out = _finish(pd.DataFrame(), dtypes)
        out.attrs = {"freq": key, "window": window_attr(bounds)}
        return out
    sums = _group(deltas, ["period", "segment"])[["entries", "exits"]].sum().reset_index()
    table = grid.merge(pd.DataFrame({"segment": segments}), how="cross")
    table = table.merge(sums, on=["period", "segment"], how="left")
    table[["entries", "exits"]] = table[["entries", "exits"]].fillna(0).astype("int64")
    table = table.sort_values(["segment", "period"], key=_sort_key, kind="stable")
    net = (table["entries"] - table["exits"]).groupby(table["segment"]).cumsum()
    table["members"] = table["segment"].map(lambda s: int(initial.get(s, 0))) + net
    out = _finish(table, dtypes, sort=["period", "segment"])
    out.attrs = {"freq": key, "window": window_attr(bounds)}
    return out
