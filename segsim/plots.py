"""Charts of simulation results, drawn with matplotlib from the frames of :mod:`segsim.analysis`.

Every function follows seaborn's shape: the data first, always named ``data``; the rest by
keyword; drawn on ``ax`` (the current Axes when ``ax`` is None); the ``Axes`` returned; never
``plt.show()``. Most also accept the raw result frame and aggregate it with the matching
analysis function, so both ``plot_sends(result.actions)`` and
``sends_by_period(result.actions).pipe(plot_sends)`` work.

Message charts count messages only (email, SMS, WhatsApp); webhooks and list or contact
changes are operations and never appear among them. Periods are the calendar periods of
:mod:`segsim.analysis`, clipped to the simulated window; a partial first or last period is
shaded grey (an ``axvspan`` with ``gid="partial"``) so that a short period is not read as a
dip. Times are drawn in UTC (tz-naive on the axis). Count axes have integer ticks. A channel
has the same colour in every chart (:data:`CHANNEL_COLORS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from segsim._internal.periods import FREQS, period_grid
from segsim._internal.vocab import CHANNELS, MESSAGE_CHANNELS, SENT_COLUMNS
from segsim.analysis import (
    entries_exits,
    messages_per_contact_distribution,
    segment_sizes_from_events,
    sends_by_period,
)

__all__ = [
    "CHANNEL_COLORS",
    "plot_compare_sends",
    "plot_entries_exits",
    "plot_forecast",
    "plot_funnel",
    "plot_intervals",
    "plot_messages_per_contact",
    "plot_segment_sizes",
    "plot_send_heatmap",
    "plot_sends",
]

#: One colour per channel, the same in every chart.
CHANNEL_COLORS = {"email": "C0", "sms": "C1", "whatsapp": "C2", "webhook": "C7"}
_OTHER_COLORS = ("C4", "C5", "C6", "C8", "C9", "C3")
_GROUP_COLORS = ("C0", "C1", "C2", "C3", "C4", "C5", "C6", "C8", "C9")
_STAGE_COLORS = {"entry": "C0", "step": "C9", "end": "C7"}
_PARTIAL_SHADE = "0.92"
_PERIOD_WORDS = {key: word.split(" ")[0] for key, word in FREQS.items()}


def _channel_colors(channels: Sequence[Any]) -> list[str]:
    others = iter(_OTHER_COLORS * (len(channels) // len(_OTHER_COLORS) + 1))
    return [CHANNEL_COLORS.get(str(channel)) or next(others) for channel in channels]


def _group_colors(by: str, groups: Sequence[Any]) -> list[str]:
    if by == "channel":
        return _channel_colors(groups)
    return [_GROUP_COLORS[i % len(_GROUP_COLORS)] for i in range(len(groups))]


def _channel_order(channels: Sequence[Any]) -> list[Any]:
    known = [c for c in CHANNELS if c in set(channels)]
    return known + sorted((c for c in set(channels) if c not in CHANNELS), key=str)


def _group_order(by: str, groups: Sequence[Any]) -> list[Any]:
    if by == "channel":
        return _channel_order(groups)
    present = list(dict.fromkeys(groups))
    return sorted((g for g in present if g is not None), key=str) + (
        [None] if None in present else []
    )


def _naive_utc(values: Any) -> pd.DatetimeIndex:
    """Instants as naive UTC, which matplotlib draws without a timezone converter."""
    return pd.DatetimeIndex(pd.to_datetime(values, utc=True)).tz_convert(None)


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _one_of(values: pd.Series, chosen: Any, what: str) -> Any:
    """The one ``what`` to draw: ``chosen``, or the only one present."""
    present = list(dict.fromkeys(values.dropna()))
    if chosen is not None:
        if chosen not in present:
            raise ValueError(f"no {what} {chosen!r} in the data; it has {present}")
        return chosen
    if len(present) > 1:
        raise ValueError(f"the data has several {what}s {present}: pass {what}=... to pick one")
    return present[0] if present else None


def _require(frame: Any, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} has no column(s) {missing}; it has {list(frame.columns)}")


def _periods(table: pd.DataFrame) -> pd.DataFrame:
    """Every period to draw: the window's (from ``attrs``), else the table's own span."""
    freq, window = table.attrs.get("freq"), table.attrs.get("window")
    if freq is not None and window is not None:
        return period_grid(freq, window)
    if freq is not None and len(table):
        return period_grid(freq, first=table["period"].min(), last=table["period"].max())
    spans = table[["period", "period_end", "partial"]].drop_duplicates("period")
    return spans.sort_values("period").reset_index(drop=True)


def _shade_partial(ax: Axes, periods: pd.DataFrame) -> None:
    for row in periods[periods["partial"]].itertuples(index=False):
        start, end = _naive_utc([row.period, row.period_end])
        ax.axvspan(start, end, color=_PARTIAL_SHADE, zorder=0, gid="partial", linewidth=0)


def _word(freq: Any) -> str:
    return _PERIOD_WORDS.get(str(freq), "period") if freq else "period"


def plot_sends(
    data: pd.DataFrame,
    *,
    by: str = "channel",
    channel: str | Sequence[str] | None = None,
    freq: str | None = None,
    stacked: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Messages sent over time, one band (or line) per channel, flow or template.

    Parameters
    ----------
    data : DataFrame
        An ``actions`` frame, or the output of :func:`~segsim.analysis.sends_by_period`
        (other group columns are summed; without a ``by`` column all messages are one
        series, ``"all"``).
    by : str, default "channel"
        What one band stands for: ``"channel"``, ``"flow"``, ``"template"``, ``"step_id"``
        or any other column of ``data``.
    channel : str or sequence of str, optional
        Only messages of these channels (default: every channel present; needs a
        ``channel`` column).
    freq : str, optional
        For an ``actions`` frame, the calendar period (default ``"D"``). Aggregated data
        keeps its own (``data.attrs["freq"]``).
    stacked : bool, default True
        When True, stacked areas drawn as steps (each period's count spans the period, up
        to the end of the last one); when False, one line per group through the period
        starts.
    ax : matplotlib Axes, optional
        Where to draw (default: the current Axes).

    Returns
    -------
    matplotlib Axes
        Periods without messages are drawn as zeros; partial periods are shaded.

    Examples
    --------
    >>> sends_by_period(result.actions, freq="W").pipe(plot_sends, channel="sms")
    <Axes: ...>
    >>> plot_sends(result.actions, by="flow", freq="W")
    <Axes: ...>
    """
    if ax is None:
        ax = plt.gca()
    _require(data, [], "data")
    if "action" in data.columns:
        by_columns = [by] if channel is None or by == "channel" else [by, "channel"]
        table = sends_by_period(data, freq=freq or "D", by=by_columns)
    else:
        _require(data, ["period", "period_end", "partial", "messages"], "data (sends per period)")
        table = data
    freq = table.attrs.get("freq")
    if channel is not None:
        _require(table, ["channel"], "data")
        wanted = [channel] if isinstance(channel, str) else list(channel)
        table = table[table["channel"].isin(wanted)]
    if by not in table.columns:
        table = table.assign(**{by: "all"})
    groups = table[by].astype(object).where(table[by].notna(), "(none)")
    wide = (
        table.assign(_group=groups)
        .pivot_table(
            index="period", columns="_group", values="messages", aggfunc="sum", fill_value=0
        )
        .astype("int64")
    )
    order = _group_order(by, [g for g in dict.fromkeys(groups)])
    wide = wide[[g for g in order if g in wide.columns]] if len(wide.columns) else wide
    periods = _periods(table) if len(table) else table.iloc[:0]
    if len(periods):
        wide = wide.reindex(periods["period"], fill_value=0)
        wide.index = _naive_utc(wide.index)
    names = list(wide.columns)
    colors = _group_colors(by, names)
    if names and len(wide):
        _shade_partial(ax, periods)
        if stacked:
            # Each period's count covers the whole period: steps, closed at the last one's end.
            end = _naive_utc(periods["period_end"].iloc[-1:])
            closed = pd.concat([wide, wide.iloc[-1:].set_axis(end)])
            ax.stackplot(
                closed.index,
                *(closed[c].to_numpy() for c in names),
                labels=[str(n) for n in names],
                colors=colors,
                step="post",
            )
        else:
            for name, color in zip(names, colors, strict=True):
                ax.plot(wide.index, wide[name].to_numpy(), marker=".", label=str(name), color=color)
        ax.legend(title=by)
        _date_axis(ax)
        ax.set_ylim(bottom=0)
    title = f"Messages sent per {_word(freq)}"
    if by != "channel":
        title += f", by {by}"
    ax.set_title(title)
    ax.set_ylabel("messages")
    ax.set_xlabel("period start (UTC)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def plot_funnel(data: pd.DataFrame, *, flow: str | None = None, ax: Axes | None = None) -> Axes:
    """One flow's funnel as horizontal bars: entered, each step, each way of ending.

    Parameters
    ----------
    data : DataFrame
        The output of :func:`~segsim.analysis.funnel`.
    flow : str, optional
        The flow to draw; required when ``data`` holds several.
    ax : matplotlib Axes, optional
        Where to draw (default: the current Axes).

    Returns
    -------
    matplotlib Axes
        Bars top to bottom in the funnel's order, labelled with runs and share of entered.

    Examples
    --------
    >>> funnel(result.runs, result.steps).pipe(plot_funnel, flow="Welcome")
    <Axes: ...>
    """
    if ax is None:
        ax = plt.gca()
    _require(data, ["flow", "stage", "stage_type", "runs", "share_of_entered"], "data (a funnel)")
    flow = _one_of(data["flow"], flow, "flow")
    rows = data[data["flow"] == flow].reset_index(drop=True)
    labels = [
        f"end: {stage}" if kind == "end" else str(stage)
        for stage, kind in zip(rows["stage"], rows["stage_type"], strict=True)
    ]
    colors = [
        "C2" if (kind == "end" and stage == "completed") else _STAGE_COLORS.get(kind, "C7")
        for stage, kind in zip(rows["stage"], rows["stage_type"], strict=True)
    ]
    positions = np.arange(len(rows))
    bars = ax.barh(positions, rows["runs"].to_numpy(), color=colors)
    shares = rows["share_of_entered"].to_numpy()
    ax.bar_label(
        bars,
        labels=[
            f"{runs:,}" + ("" if np.isnan(share) else f" ({share:.0%})")
            for runs, share in zip(rows["runs"], shares, strict=True)
        ],
        padding=3,
    )
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    if len(rows) and rows["runs"].max() > 0:
        ax.set_xlim(0, rows["runs"].max() * 1.2)  # room for the labels
    ax.set_xlabel("runs")
    ax.set_title(f"Funnel: {flow}" if flow is not None else "Funnel")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def plot_segment_sizes(
    data: pd.DataFrame, *, segment: str | Sequence[str] | None = None, ax: Axes | None = None
) -> Axes:
    """Segment sizes over time, one line per segment, through the sizes at period ends.

    Parameters
    ----------
    data : DataFrame
        The output of :func:`segsim.segment_sizes` or
        :func:`~segsim.analysis.segment_sizes_from_events` (the same frame), or a
        ``segment_events`` frame (sizes per day, as net changes since the window's start).
    segment : str or sequence of str, optional
        Only these segments (default: every segment).
    ax : matplotlib Axes, optional
        Where to draw (default: the current Axes).

    Returns
    -------
    matplotlib Axes
        Each line starts at the first period's start with the size then, and goes through
        each period's end with ``members`` there. Partial periods are shaded.

    Examples
    --------
    >>> vip = ss.Segment("VIP", ss.attr("plan") == "pro")
    >>> ss.segment_sizes(store, vip, "2026-01-01", "2026-04-01", freq="W").pipe(plot_segment_sizes)
    <Axes: ...>
    """
    if ax is None:
        ax = plt.gca()
    if isinstance(data, pd.DataFrame) and "event" in data.columns:
        data = segment_sizes_from_events(data)
    _require(
        data,
        ["period", "period_end", "partial", "segment", "entries", "exits", "members"],
        "data (segment sizes)",
    )
    if segment is not None:
        wanted = [segment] if isinstance(segment, str) else list(segment)
        data = data[data["segment"].isin(wanted)]
    for name, rows in data.groupby("segment", sort=False):
        rows = rows.sort_values("period", kind="stable")
        members = rows["members"].to_numpy()
        first = members[0] - rows["entries"].iloc[0] + rows["exits"].iloc[0]
        x = _naive_utc(rows["period"].iloc[:1]).append(_naive_utc(rows["period_end"]))
        ax.plot(x, np.append(first, members), marker=".", label=str(name))
    if len(data):
        _shade_partial(ax, data.drop_duplicates("period"))
        ax.legend(title="segment")
        _date_axis(ax)
    ax.set_title("Segment sizes")
    ax.set_ylabel("contacts")
    ax.set_xlabel("UTC")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def plot_entries_exits(
    data: pd.DataFrame, *, segment: str | None = None, ax: Axes | None = None
) -> Axes:
    """Entries (up) and exits (down) of one segment per period, as bars.

    Parameters
    ----------
    data : DataFrame
        The output of :func:`~segsim.analysis.entries_exits`, or a ``segment_events``
        frame (counted per day).
    segment : str, optional
        The segment to draw; required when ``data`` holds several.
    ax : matplotlib Axes, optional
        Where to draw (default: the current Axes).

    Returns
    -------
    matplotlib Axes
        The entry bars come first in ``ax.patches`` (heights = entries), then the exit
        bars (heights = −exits); each bar starts at its period's start and covers 80 % of
        the period (of the clipped part, for a partial one).

    Examples
    --------
    >>> entries_exits(result.segment_events, freq="W").pipe(plot_entries_exits, segment="VIP")
    <Axes: ...>
    """
    if ax is None:
        ax = plt.gca()
    if isinstance(data, pd.DataFrame) and "event" in data.columns:
        data = entries_exits(data)
    _require(data, ["period", "period_end", "segment", "entries", "exits"], "data")
    segment = _one_of(data["segment"], segment, "segment")
    rows = data[data["segment"] == segment].sort_values("period", kind="stable")
    starts, ends = _naive_utc(rows["period"]), _naive_utc(rows["period_end"])
    widths = 0.8 * np.asarray((ends - starts) / pd.Timedelta(days=1), dtype=float)
    ax.bar(
        starts, rows["entries"].to_numpy(), width=widths, align="edge", color="C2", label="entries"
    )
    ax.bar(starts, -rows["exits"].to_numpy(), width=widths, align="edge", color="C3", label="exits")
    ax.axhline(0, color="black", linewidth=0.8)
    if len(rows):
        ax.legend()
        _date_axis(ax)
    ax.set_title(f"Entries and exits: {segment}" if segment is not None else "Entries and exits")
    ax.set_ylabel("contacts")
    ax.set_xlabel("period start (UTC)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def plot_messages_per_contact(data: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Histogram of messages per contact; the worst case (the maximum) is highlighted.

    Parameters
    ----------
    data : DataFrame
        An ``actions`` frame, the output of
        :func:`~segsim.analysis.messages_per_contact`, or of
        :func:`~segsim.analysis.messages_per_contact_distribution` (summed over its groups).
    ax : matplotlib Axes, optional
        Where to draw (default: the current Axes).

    Returns
    -------
    matplotlib Axes
        One bar per number of messages (height = contacts), the last one, the maximum, in
        red; the title states the maximum.

    Examples
    --------
    >>> plot_messages_per_contact(result.actions)
    <Axes: ...>
    """
    if ax is None:
        ax = plt.gca()
    _require(data, [], "data")
    if {"messages", "contacts"} <= set(data.columns) and "contact_id" not in data.columns:
        table = data.groupby("messages", as_index=False)["contacts"].sum()
    else:
        table = messages_per_contact_distribution(data)
    table = table.sort_values("messages")
    counts = table["messages"].to_numpy()
    colors = ["C0"] * len(table)
    if len(table):
        colors[-1] = "C3"
    ax.bar(counts, table["contacts"].to_numpy(), width=0.8, color=colors)
    ax.set_xlabel("messages per contact")
    ax.set_ylabel("contacts")
    title = "Messages per contact"
    if len(table):
        title += f" (max {int(counts[-1]):,})"
    ax.set_title(title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def _variant_sends(data: pd.DataFrame) -> pd.DataFrame:
    """``variant, channel, messages`` from a long table or a wide ``<channel>_sent`` one."""
    if "variant" not in data.columns and data.index.name == "variant":
        data = data.reset_index()
    _require(data, ["variant"], "data")
    if {"channel", "messages"} <= set(data.columns):
        long = data[["variant", "channel", "messages"]]
    else:
        sent = [SENT_COLUMNS[c] for c in MESSAGE_CHANNELS if SENT_COLUMNS[c] in data.columns]
        if not sent:
            raise ValueError(
                "data needs either columns variant, channel, messages "
                "(see segsim.analysis.sends_by_variant) or variant and <channel>_sent columns "
                f"(like SimulationResult.summary()); it has {list(data.columns)}"
            )
        long = data.melt(
            id_vars="variant", value_vars=sent, var_name="channel", value_name="messages"
        )
        long["channel"] = long["channel"].str.removesuffix("_sent")
    return long.groupby(["variant", "channel"], sort=False, as_index=False)["messages"].sum()


def plot_compare_sends(data: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Messages sent per variant and channel, as grouped bars.

    Parameters
    ----------
    data : DataFrame
        Either ``variant, channel, messages`` (the output of
        :func:`~segsim.analysis.sends_by_variant`), or one row per variant (and possibly per
        flow, summed) with ``<channel>_sent`` columns, like ``SimulationResult.summary()``
        with a ``variant`` column or index.
    ax : matplotlib Axes, optional
        Where to draw (default: the current Axes).

    Returns
    -------
    matplotlib Axes
        Variants along x in order of appearance; within a variant one bar per channel.
        ``ax.patches`` holds the bars channel by channel.

    Examples
    --------
    >>> sends_by_variant({"A": a.actions, "B": b.actions}).pipe(plot_compare_sends)
    <Axes: ...>
    """
    if ax is None:
        ax = plt.gca()
    long = _variant_sends(data)
    variants = list(dict.fromkeys(long["variant"]))
    channels = _channel_order(list(long["channel"].unique()))
    wide = long.pivot_table(
        index="variant", columns="channel", values="messages", aggfunc="sum", fill_value=0
    )
    wide = wide.reindex(index=variants, columns=channels, fill_value=0)
    positions = np.arange(len(variants))
    width = 0.8 / max(len(channels), 1)
    for i, (name, color) in enumerate(zip(channels, _channel_colors(channels), strict=True)):
        offset = (i - (len(channels) - 1) / 2) * width
        ax.bar(positions + offset, wide[name].to_numpy(), width=width, label=str(name), color=color)
    ax.set_xticks(positions, [str(v) for v in variants])
    if channels:
        ax.legend(title="channel")
    ax.set_xlabel("variant")
    ax.set_ylabel("messages sent")
    ax.set_title("Messages sent by variant")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def plot_send_heatmap(data: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Messages sent per local weekday (rows) and hour (columns), as a heat map.

    Parameters
    ----------
    data : DataFrame
        The output of :func:`~segsim.analysis.sends_by_local_hour` (``weekday``, ``hour``,
        ``messages``).
    ax : matplotlib Axes, optional
        Where to draw (default: the current Axes).

    Returns
    -------
    matplotlib Axes
        The image is ``ax.images[0]``; its array holds the counts (7 × 24).

    Examples
    --------
    >>> from segsim.analysis import sends_by_local_hour
    >>> sends_by_local_hour(result.actions, "Europe/Paris").pipe(plot_send_heatmap)
    <Axes: ...>
    """
    if ax is None:
        ax = plt.gca()
    _require(data, ["weekday", "hour", "messages"], "data")
    grid = np.zeros((7, 24), dtype="int64")
    for weekday, hour, messages in zip(
        data["weekday"], data["hour"], data["messages"], strict=True
    ):
        grid[int(weekday), int(hour)] += int(messages)
    image = ax.imshow(grid, aspect="auto", cmap="Blues", interpolation="nearest")
    ax.set_yticks(range(7), ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
    ax.set_xticks(range(0, 24, 3), [f"{h:02d}:00" for h in range(0, 24, 3)])
    ax.set_xlabel("local hour")
    ax.set_title(f"Messages sent by local weekday and hour ({int(grid.sum()):,})")
    ax.figure.colorbar(image, ax=ax, label="messages")
    return ax


def plot_intervals(
    data: pd.DataFrame, *, reference: float | None = 0.0, ax: Axes | None = None
) -> Axes:
    """A forest chart: each row's mean as a dot and its interval as a horizontal line.

    Parameters
    ----------
    data : DataFrame
        ``metric, variant, mean, low, high`` (the output of
        :meth:`Comparison.deltas <segsim.compare.Comparison.deltas>`: a variant's difference
        from the baseline over replications), or ``metric, mean, low, high`` (one series).
    reference : float or None, default 0
        A vertical line, e.g. at no difference; ``None`` draws none.
    ax : matplotlib Axes, optional
        Where to draw (default: the current Axes).

    Returns
    -------
    matplotlib Axes
        One row per (metric, variant), the first at the top; ``ax.lines`` holds, per row,
        its interval (x data ``[low, high]``) then its mean marker, and last the reference.

    Examples
    --------
    >>> table = pd.DataFrame({"metric": ["sms_sent"], "variant": ["B"], "mean": [12.0],
    ...                       "low": [4.0], "high": [20.0]})
    >>> [float(x) for x in plot_intervals(table).lines[0].get_xdata()]
    [4.0, 20.0]
    """
    _require(data, ["metric", "mean", "low", "high"], "plot_intervals")
    if ax is None:
        ax = plt.gca()
    has_variant = "variant" in data.columns
    variants = list(dict.fromkeys(data["variant"])) if has_variant else [None]
    colors = dict(
        zip(variants, _GROUP_COLORS * (len(variants) // len(_GROUP_COLORS) + 1), strict=False)
    )
    labels = []
    rows = list(data.itertuples(index=False))
    seen: set[Any] = set()
    for i, row in enumerate(rows):
        y = len(rows) - 1 - i
        variant = getattr(row, "variant", None)
        color = colors[variant]
        label = None if variant in seen or variant is None else str(variant)
        seen.add(variant)
        ax.plot([row.low, row.high], [y, y], color=color, linewidth=2, label=label)
        ax.plot([row.mean], [y], marker="o", color=color, linestyle="none")
        labels.append(str(row.metric) if variant is None else f"{row.metric} ({variant})")
    ax.set_yticks(range(len(rows) - 1, -1, -1), labels)
    if reference is not None:
        ax.axvline(reference, color="0.5", linewidth=1, linestyle="--")
    if has_variant and len(variants) > 1:
        ax.legend(title="variant")
    ax.set_xlabel("difference from the baseline" if has_variant else "value")
    ax.set_title("Mean and 95% interval over replications")
    return ax


def plot_forecast(data: pd.DataFrame, *, level: float = 0.95, ax: Axes | None = None) -> Axes:
    """A fan chart of projected messages per day: an estimate, never replayed figures.

    Parameters
    ----------
    data : DataFrame
        ``day, messages_mean, messages_low, messages_high`` (the output of
        :meth:`Forecast.summary() <segsim.forecast.Forecast.summary>`), one row per day.
    level : float, default 0.95
        The interval's level, for the labels.
    ax : matplotlib Axes, optional
        Where to draw (default: the current Axes).

    Returns
    -------
    matplotlib Axes
        The band (``ax.collections[0]``, ``gid="interval"``) between the low and high of each
        day and the mean (``ax.lines[0]``, ``gid="mean"``); the title says it is a projection.

    Examples
    --------
    >>> table = pd.DataFrame({"day": pd.date_range("2026-04-01", periods=2, tz="UTC"),
    ...     "messages_mean": [3.0, 4.0], "messages_low": [1.0, 2.0], "messages_high": [5.0, 6.0]})
    >>> [float(y) for y in plot_forecast(table).lines[0].get_ydata()]
    [3.0, 4.0]
    """
    _require(data, ["day", "messages_mean", "messages_low", "messages_high"], "plot_forecast")
    if ax is None:
        ax = plt.gca()
    days = _naive_utc(data["day"])
    percent = f"{level * 100:g}%"
    band = ax.fill_between(
        days,
        data["messages_low"].to_numpy(dtype="float64"),
        data["messages_high"].to_numpy(dtype="float64"),
        color="C0",
        alpha=0.25,
        linewidth=0,
        label=f"{percent} interval over replications",
    )
    band.set_gid("interval")
    (mean,) = ax.plot(
        days, data["messages_mean"].to_numpy(dtype="float64"), color="C0", label="mean"
    )
    mean.set_gid("mean")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _date_axis(ax)
    ax.set_ylabel("projected messages per day")
    ax.set_title("Forecast (estimate, not a replay): projected messages per day")
    ax.legend(loc="upper left")
    return ax
