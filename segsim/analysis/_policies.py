"""What delivery policies removed or delayed: per flow and channel, from the result frames."""

from __future__ import annotations

import pandas as pd

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
    >>> policy_effects(result.actions, result.steps)
        flow channel  messages  sent  deferred ...
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
