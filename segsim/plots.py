"""Charts of simulation results, drawn with matplotlib from the frames of :mod:`segsim.analysis`.

Every function takes a DataFrame first and the rest by keyword, draws on ``ax`` (the current
Axes when ``ax`` is None) and returns that ``Axes``; none calls ``plt.show()``. Most also
accept the raw result frame and aggregate it with the matching analysis function, so both
``plot_sends(result.actions)`` and ``sends_by_period(result.actions).pipe(plot_sends)`` work.

Times are drawn in UTC (tz-naive on the axis). A channel has the same colour in every chart
(:data:`CHANNEL_COLORS`).
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

from segsim.analysis import (
    CHANNELS,
    entries_exits,
    messages_per_contact_distribution,
    sends_by_period,
)

__all__ = [
    "CHANNEL_COLORS",
    "plot_compare_sends",
    "plot_entries_exits",
    "plot_funnel",
    "plot_messages_per_contact",
    "plot_segment_sizes",
    "plot_sends",
]

#: One colour per channel, the same in every chart.
CHANNEL_COLORS = {"email": "C0", "sms": "C1", "whatsapp": "C2", "webhook": "C7"}
_OTHER_COLORS = ("C4", "C5", "C6", "C8", "C9")
_PERIOD_WORDS = {"D": "day", "W": "week", "M": "month", "h": "hour", "Q": "quarter", "Y": "year"}
_STAGE_COLORS = {"entry": "C0", "step": "C9", "end": "C7"}


def _channel_colors(channels: Sequence[Any]) -> list[str]:
    others = iter(_OTHER_COLORS * (len(channels) // len(_OTHER_COLORS) + 1))
    return [CHANNEL_COLORS.get(str(channel)) or next(others) for channel in channels]


def _channel_order(channels: Sequence[Any]) -> list[Any]:
    known = [c for c in CHANNELS if c in set(channels)]
    return known + sorted((c for c in set(channels) if c not in CHANNELS), key=str)


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


def _period_ends(periods: pd.DatetimeIndex, freq: str | None) -> pd.DatetimeIndex:
    """Where each period ends (the next one's start): from ``freq``, else the smallest gap."""
    if freq is not None:
        return (periods.to_period(freq) + 1).start_time
    gaps = np.diff(periods.asi8)
    step = pd.Timedelta(int(gaps.min()), unit="ns") if gaps.size else pd.Timedelta(days=1)
    return periods + step


def _period_widths(periods: pd.DatetimeIndex, freq: str | None) -> np.ndarray:
    """Bar widths in days: 80 % of each period's length."""
    lengths = (_period_ends(periods, freq) - periods) / pd.Timedelta(days=1)
    return 0.8 * np.asarray(lengths, dtype=float)


def plot_sends(
    data: pd.DataFrame,
    *,
    channel: str | Sequence[str] | None = None,
    freq: str | None = None,
    stacked: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Messages sent over time, one band (or line) per channel.

    Parameters
    ----------
    data : DataFrame
        An ``actions`` frame, or the output of :func:`~segsim.analysis.sends_by_period`
        (other group columns are summed into channels; without a ``channel`` column all
        sends are one series, ``"all"``).
    channel : str or sequence of str, optional
        Only these channels (default: every channel present).
    freq : str, optional
        Period length. For an ``actions`` frame it is the aggregation (default ``"D"``);
        for aggregated data it defaults to ``data.attrs["freq"]`` and is used to draw the
        periods without sends as zeros.
    stacked : bool, default True
        When True, stacked areas (``stackplot``, drawn as steps: each period's count spans
        the period, up to the end of the last one); when False, one line per channel
        through the period starts.
    ax : matplotlib Axes, optional
        Where to draw (default: the current Axes).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> sends_by_period(result.actions, freq="W").pipe(plot_sends, channel="sms")
    <Axes: ...>
    """
    if ax is None:
        ax = plt.gca()
    _require(data, [], "data")
    if "action" in data.columns:
        freq = freq or "D"
        table = sends_by_period(data, freq=freq, by=("channel",))
    else:
        _require(data, ["period", "messages"], "sends per period")
        freq = freq or data.attrs.get("freq")
        table = data
    if "channel" not in table.columns:
        table = table.assign(channel="all")
    if channel is not None:
        wanted = [channel] if isinstance(channel, str) else list(channel)
        table = table[table["channel"].isin(wanted)]
    wide = table.pivot_table(
        index="period", columns="channel", values="messages", aggfunc="sum", fill_value=0
    )
    wide = wide[_channel_order(list(wide.columns))] if len(wide.columns) else wide
    if freq is not None and len(wide):
        periods = pd.period_range(
            _naive_utc([wide.index.min()])[0], _naive_utc([wide.index.max()])[0], freq=freq
        ).start_time
        wide.index = _naive_utc(wide.index)
        wide = wide.reindex(periods, fill_value=0)
    else:
        wide.index = _naive_utc(wide.index)
    channels = list(wide.columns)
    colors = _channel_colors(channels)
    if channels and len(wide):
        if stacked:
            # Each period's count covers the whole period: steps, closed at the last one's end.
            end = _period_ends(wide.index[-1:], freq)
            closed = pd.concat([wide, wide.iloc[-1:].set_axis(end)])
            ax.stackplot(
                closed.index,
                *(closed[c].to_numpy() for c in channels),
                labels=channels,
                colors=colors,
                step="post",
            )
        else:
            for name, color in zip(channels, colors, strict=True):
                ax.plot(wide.index, wide[name].to_numpy(), marker=".", label=name, color=color)
        ax.legend(title="channel")
        _date_axis(ax)
        ax.set_ylim(bottom=0)
    word = _PERIOD_WORDS.get(str(freq), "period") if freq else "period"
    ax.set_title(f"Messages sent per {word}")
    ax.set_ylabel("messages")
    ax.set_xlabel("period start (UTC)")
    return ax


def plot_funnel(
    funnel_df: pd.DataFrame, *, flow: str | None = None, ax: Axes | None = None
) -> Axes:
    """One flow's funnel as horizontal bars: entered, each step, each way of ending.

    Parameters
    ----------
    funnel_df : DataFrame
        The output of :func:`~segsim.analysis.funnel`.
    flow : str, optional
        The flow to draw; required when ``funnel_df`` holds several.
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
    _require(funnel_df, ["flow", "stage", "stage_type", "runs", "share_of_entered"], "funnel_df")
    flow = _one_of(funnel_df["flow"], flow, "flow")
    rows = funnel_df[funnel_df["flow"] == flow].reset_index(drop=True)
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


def plot_segment_sizes(sizes_df: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Segment sizes over time, one step line per segment.

    Parameters
    ----------
    sizes_df : DataFrame
        The output of :func:`~segsim.analysis.segment_sizes_from_events`. Each period's
        size (at its end) is drawn across that period, so each line ends where the last
        period ends (``attrs["freq"]`` says how long periods are).
    ax : matplotlib Axes, optional
        Where to draw (default: the current Axes).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> segment_sizes_from_events(result.segment_events).pipe(plot_segment_sizes)
    <Axes: ...>
    """
    if ax is None:
        ax = plt.gca()
    _require(sizes_df, ["period", "segment", "size"], "sizes_df")
    freq = sizes_df.attrs.get("freq")
    for segment, rows in sizes_df.groupby("segment", sort=False):
        periods = _naive_utc(rows["period"])
        sizes = rows["size"].to_numpy()
        # Each size holds across its period: repeat the last one at that period's end.
        x = periods.append(_period_ends(periods[-1:], freq))
        ax.plot(x, np.append(sizes, sizes[-1:]), drawstyle="steps-post", label=str(segment))
    if len(sizes_df):
        ax.legend(title="segment")
        _date_axis(ax)
    ax.set_title("Segment sizes")
    ax.set_ylabel("contacts")
    ax.set_xlabel("period start (UTC)")
    return ax


def plot_entries_exits(
    df: pd.DataFrame, *, segment: str | None = None, ax: Axes | None = None
) -> Axes:
    """Entries (up) and exits (down) of one segment per period, as bars.

    Parameters
    ----------
    df : DataFrame
        The output of :func:`~segsim.analysis.entries_exits`, or a ``segment_events``
        frame (counted per day).
    segment : str, optional
        The segment to draw; required when ``df`` holds several.
    ax : matplotlib Axes, optional
        Where to draw (default: the current Axes).

    Returns
    -------
    matplotlib Axes
        The entry bars come first in ``ax.patches`` (heights = entries), then the exit
        bars (heights = −exits).

    Examples
    --------
    >>> entries_exits(result.segment_events, freq="W").pipe(plot_entries_exits, segment="VIP")
    <Axes: ...>
    """
    if ax is None:
        ax = plt.gca()
    if isinstance(df, pd.DataFrame) and "event" in df.columns:
        df = entries_exits(df)
    _require(df, ["period", "segment", "entered", "exited"], "df")
    segment = _one_of(df["segment"], segment, "segment")
    rows = df[df["segment"] == segment].sort_values("period", kind="stable")
    periods = _naive_utc(rows["period"])
    widths = _period_widths(periods, df.attrs.get("freq"))
    # Bars start at the period start and cover 80 % of it, so they sit inside their period.
    ax.bar(
        periods, rows["entered"].to_numpy(), width=widths, align="edge", color="C2", label="entered"
    )
    ax.bar(
        periods, -rows["exited"].to_numpy(), width=widths, align="edge", color="C3", label="exited"
    )
    ax.axhline(0, color="black", linewidth=0.8)
    if len(rows):
        ax.legend()
        _date_axis(ax)
    ax.set_title(f"Entries and exits: {segment}" if segment is not None else "Entries and exits")
    ax.set_ylabel("contacts")
    ax.set_xlabel("period start (UTC)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def plot_messages_per_contact(actions_or_counts: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Histogram of messages per contact; the worst case (the maximum) is highlighted.

    Parameters
    ----------
    actions_or_counts : DataFrame
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
    data = actions_or_counts
    _require(data, [], "actions_or_counts")
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


def _variant_sends(summary: pd.DataFrame) -> pd.DataFrame:
    """``variant, channel, messages`` from a long table or a wide ``<channel>_sent`` one."""
    if "variant" not in summary.columns and summary.index.name == "variant":
        summary = summary.reset_index()
    _require(summary, ["variant"], "summary_by_variant_df")
    if {"channel", "messages"} <= set(summary.columns):
        long = summary[["variant", "channel", "messages"]]
    else:
        sent = [c for c in summary.columns if str(c).endswith("_sent")]
        if not sent:
            raise ValueError(
                "summary_by_variant_df needs either columns variant, channel, messages "
                "(see segsim.analysis.sends_by_variant) or variant and <channel>_sent columns "
                f"(like SimulationResult.summary()); it has {list(summary.columns)}"
            )
        long = summary.melt(
            id_vars="variant", value_vars=sent, var_name="channel", value_name="messages"
        )
        long["channel"] = long["channel"].str.removesuffix("_sent")
    return long.groupby(["variant", "channel"], sort=False, as_index=False)["messages"].sum()


def plot_compare_sends(summary_by_variant_df: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Messages sent per variant and channel, as grouped bars.

    Parameters
    ----------
    summary_by_variant_df : DataFrame
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
    long = _variant_sends(summary_by_variant_df)
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
