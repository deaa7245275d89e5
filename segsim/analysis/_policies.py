"""What delivery policies removed or delayed: per flow and channel, from the result frames."""

from __future__ import annotations

from typing import Any

import pandas as pd

from segsim._internal.localtime import time_zone
from segsim._internal.vocab import ACTION_CHANNEL, MESSAGE_ACTIONS, MESSAGE_CHANNELS
from segsim.analysis._tables import _require

#: The columns of :func:`policy_effects` after ``flow`` and ``channel``, in order.
POLICY_EFFECT_COLUMNS = (
    "messages",
    "sent",
    "deferred",
    "quiet_hours_skipped",
    "frequency_capped",
    "queued",
    "queue_delay",
)


def policy_effects(actions: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """Messages per flow and channel, and what the delivery policy did to them.

    Returns
    -------
    DataFrame
        ``flow``, ``channel``, ``messages`` (message action rows: each send decided once),
        ``sent``, ``deferred`` (times a send was deferred by quiet hours: ``steps`` rows
        with outcome ``deferred``; a send deferred once and sent later counts in both),
        ``quiet_hours_skipped``, ``frequency_capped`` (skipped with those reasons),
        ``queued`` (sent messages that waited in a rate-limit queue) and ``queue_delay``
        (their total wait, ``timedelta64[us]``). Counts are int64; flows sorted, channels
        in the documented order; only flow/channel pairs with a message or a deferral.

    Examples
    --------
    >>> policy_effects(result.actions, result.steps).columns.tolist()
    ['flow', 'channel', 'messages', 'sent', 'deferred', 'quiet_hours_skipped', 'frequency_capped', 'queued', 'queue_delay']
    """
    _require(actions, ["flow", "action", "channel", "status", "reason", "queued"], "actions")
    _require(steps, ["flow", "kind", "outcome"], "steps")
    messages = actions[actions["action"].isin(MESSAGE_ACTIONS)]
    sent = messages["status"] == "sent"
    table = pd.DataFrame(
        {
            "flow": messages["flow"],
            "channel": messages["channel"],
            "messages": 1,
            "sent": sent.astype("int64"),
            "deferred": 0,
            "quiet_hours_skipped": (messages["reason"] == "quiet_hours").astype("int64"),
            "frequency_capped": (messages["reason"] == "frequency_cap").astype("int64"),
            "queued": (sent & (messages["queued"] > 0)).astype("int64"),
            "queue_delay": pd.to_timedelta(messages["queued"].where(sent, 0.0), unit="s"),
        }
    )
    deferred = steps[steps["outcome"] == "deferred"]
    extra = pd.DataFrame(
        {
            "flow": deferred["flow"],
            "channel": deferred["kind"].map(ACTION_CHANNEL),
            "messages": 0,
            "sent": 0,
            "deferred": 1,
            "quiet_hours_skipped": 0,
            "frequency_capped": 0,
            "queued": 0,
            "queue_delay": pd.to_timedelta([0.0] * len(deferred), unit="s"),
        }
    )
    both = pd.concat([table, extra], ignore_index=True) if len(extra) else table
    counts = list(POLICY_EFFECT_COLUMNS[:-1])
    if both.empty:
        out = pd.DataFrame(columns=["flow", "channel", *POLICY_EFFECT_COLUMNS])
    else:
        out = both.groupby(["flow", "channel"], sort=False).sum().reset_index()
        order = {channel: i for i, channel in enumerate(MESSAGE_CHANNELS)}
        out = out.sort_values(
            ["flow", "channel"], key=lambda c: c.map(order) if c.name == "channel" else c
        ).reset_index(drop=True)
    out = out.astype({"flow": object, "channel": object, **dict.fromkeys(counts, "int64")})
    out["queue_delay"] = pd.to_timedelta(out["queue_delay"]).astype("timedelta64[us]")
    return out[["flow", "channel", *POLICY_EFFECT_COLUMNS]]


def sends_by_local_hour(actions: pd.DataFrame, zones: Any = "UTC") -> pd.DataFrame:
    """Messages sent per local weekday and hour: when contacts received them, on their clock.

    Parameters
    ----------
    actions : DataFrame
        An ``actions`` frame.
    zones : str, mapping or DataFrame
        Each contact's IANA time zone: one name for everyone; a mapping (or Series)
        ``contact_id -> zone`` (contacts not in it: ``"UTC"``); or a zone history, a
        DataFrame ``contact_id, ts, zone`` in which each send reads the contact's latest row
        at or before it (as the engine does for ``Channels(timezone_attribute=...)``).

    Returns
    -------
    DataFrame
        ``weekday`` (0 = Monday … 6 = Sunday), ``hour`` (0–23, local) and ``messages``
        (int64): all 168 cells, in that order, zeros included.

    Examples
    --------
    >>> sends_by_local_hour(result.actions, "Europe/Paris").shape
    (168, 3)
    """
    _require(actions, ["time", "contact_id", "action", "status"], "actions")
    sent = actions[actions["action"].isin(MESSAGE_ACTIONS) & (actions["status"] == "sent")]
    times = pd.DatetimeIndex(sent["time"])
    if isinstance(zones, str):
        zone_of = pd.Series(zones, index=sent.index, dtype=object)
    elif isinstance(zones, pd.DataFrame):
        _require(zones, ["contact_id", "ts", "zone"], "zones")
        left = pd.DataFrame(
            {"contact_id": sent["contact_id"].to_numpy(), "ts": times, "_row": range(len(sent))}
        ).sort_values("ts")
        right = zones[["contact_id", "ts", "zone"]].copy()
        right["ts"] = pd.to_datetime(right["ts"], utc=True).astype(left["ts"].dtype)
        right = right.sort_values("ts")
        merged = pd.merge_asof(left, right, on="ts", by="contact_id").sort_values("_row")
        zone_of = pd.Series(merged["zone"].fillna("UTC").to_numpy(), index=sent.index)
    else:
        mapping = dict(zones)
        zone_of = pd.Series(
            [mapping.get(c, "UTC") for c in sent["contact_id"]], index=sent.index, dtype=object
        )
    weekday = pd.Series(0, index=sent.index, dtype="int64")
    hour = pd.Series(0, index=sent.index, dtype="int64")
    stamps = pd.Series(times, index=sent.index)
    for zone, rows in zone_of.groupby(zone_of, sort=False).groups.items():
        local = pd.DatetimeIndex(stamps.loc[rows]).tz_convert(time_zone(zone))
        weekday.loc[rows] = local.day_of_week
        hour.loc[rows] = local.hour
    grid = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"])
    counts = (
        pd.DataFrame({"weekday": weekday, "hour": hour})
        .value_counts()
        .reindex(grid, fill_value=0)
        .rename("messages")
        .reset_index()
    )
    return counts.astype({"weekday": "int64", "hour": "int64", "messages": "int64"})
