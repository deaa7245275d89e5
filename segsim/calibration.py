"""Response funnels estimated from a history of real response events (docs/design.md §10.6).

:func:`calibrate_responses` reads the message events of a loaded store and estimates, per
channel and per template, the probabilities of a :class:`~segsim.responses.Funnel`, so a
:class:`~segsim.responses.ResponseModel` can start from the user's own data.

**The input convention.** Events named ``<channel>_<kind>`` (``channel`` one of ``email``,
``sms``, ``whatsapp``), one per message and kind, as ESPs export unique opens and clicks:

================================ ================================================
``<channel>_sent``               a message sent (the trials); required
``<channel>_delivered``          delivered (or ``<channel>_bounced``: not)
``email_opened``, ``whatsapp_opened``  an open; an ``email_opened`` whose boolean
                                 property ``machine_open`` is true is a machine open
                                 (Apple Mail Privacy Protection), never a human open
``<channel>_clicked``            a click
``<channel>_unsubscribed``       an unsubscribe
================================ ================================================

Each event may carry a string property ``template`` (per-template estimates) and a
``message_id`` property: with it, each message counts once per kind however many events it
has; without it, each event counts once. Events of other names are ignored.

**The estimates** follow the funnel's conditioning (docs/design.md §10.2), each a ratio of
counts ``successes / trials`` with standard error ``sqrt(p (1 - p) / trials)``:

* ``delivered`` = delivered / sent (or 1 - bounced / sent without delivery events);
* ``opened`` = human opens / delivered, ``machine_open`` = machine opens / delivered (email);
* ``clicked`` = clicks / human opens (SMS: clicks / delivered), capped at 1 (clicks by
  people whose open was not tracked — images blocked — exceed the tracked opens);
* ``unsubscribed`` = unsubscribes / delivered.

A kind without events in the data estimates 0 (with ``trials`` counted), except delivery: a
channel without delivery nor bounce events is delivered at rate 1 (the estimate says so,
``trials=0``). A channel with fewer than ``min_messages`` sends is left out of the model; a
template with fewer is left to its channel's funnel (``used`` is False in the estimates).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from segsim import schema
from segsim._internal.naming import did_you_mean
from segsim._internal.sql import quote_identifier, quote_literal
from segsim._internal.vocab import MESSAGE_CHANNELS
from segsim.errors import SegsimError, SegsimWarning
from segsim.responses import Funnel, ResponseModel

__all__ = ["ESTIMATE_COLUMNS", "calibrate_responses"]

#: the event kinds read per channel (``<channel>_<kind>``)
_KINDS: dict[str, tuple[str, ...]] = {
    "email": ("sent", "delivered", "bounced", "opened", "clicked", "unsubscribed"),
    "sms": ("sent", "delivered", "bounced", "clicked", "unsubscribed"),
    "whatsapp": ("sent", "delivered", "bounced", "opened", "clicked", "unsubscribed"),
}
#: the columns of the estimates frame
ESTIMATE_COLUMNS = ("channel", "template", "field", "successes", "trials", "rate", "se", "used")


def calibrate_responses(
    store: Any,
    channels: Sequence[str] | None = None,
    *,
    min_messages: int = 100,
    template_property: str = "template",
    machine_property: str = "machine_open",
    message_property: str = "message_id",
) -> tuple[ResponseModel, Any]:
    """Estimate a response model from the store's real message events.

    Parameters
    ----------
    store : Store
        A store with events loaded (``store.load_events``), named as the module docstring
        says (``email_sent``, ``email_delivered``, ``email_opened``, ...).
    channels : sequence of "email", "sms", "whatsapp", optional
        The channels to estimate; by default every channel with ``<channel>_sent`` events.
    min_messages : int
        The fewest sends a channel (or a template) needs to be estimated.
    template_property, machine_property, message_property : str
        The event properties naming the template, marking machine opens (boolean) and
        identifying the message.

    Returns
    -------
    (ResponseModel, pandas.DataFrame)
        The model (one funnel per estimated channel, ``by_template`` for templates with
        enough sends) and the estimates: one row per channel (``template`` None) or template
        and funnel field, with ``successes``, ``trials``, ``rate``, ``se`` (standard error)
        and ``used`` (whether the model carries it).

    >>> import pandas as pd, segsim as ss
    >>> store = ss.Store()
    >>> store.load_events(pd.DataFrame({"contact_id": [1, 1, 2], "event": ["email_sent",
    ...     "email_delivered", "email_sent"], "ts": pd.Timestamp("2026-01-01", tz="UTC")}))
    3
    >>> model, estimates = ss.calibrate_responses(store, min_messages=2)
    >>> model.email.delivered
    0.5
    """
    import pandas as pd

    if min_messages < 1:
        raise SegsimError(f"min_messages is at least 1, got {min_messages!r}")
    names = set(store.event_names)
    wanted = _channels(channels, names)
    types = store.event_property_types
    template = template_property if types.get(template_property) == "string" else None
    machine = machine_property if types.get(machine_property) == "boolean" else None
    message = message_property if message_property in types else None
    _warn_unknown(wanted, names)
    counts = _counts(store, wanted, names, template, machine, message)
    rows: list[tuple] = []
    funnels: dict[str, Funnel] = {}
    by_template: dict[str, dict[str, dict[str, float]]] = {}
    for channel in wanted:
        per_template = counts.get(channel, {})
        total = _total(per_template, channel)
        estimates = _estimates(channel, total, names)
        used = total["sent"] >= min_messages
        rows += [(channel, None, *e, used) for e in estimates]
        if not used:
            continue
        funnels[channel] = Funnel(**{f: rate for f, _, _, rate, _ in estimates})
        for name in sorted(t for t in per_template if t is not None):
            found = per_template[name]
            estimates = _estimates(channel, found, names)
            used_t = found["sent"] >= min_messages
            rows += [(channel, name, *e, used_t) for e in estimates if e[2] > 0]
            if used_t:
                fields = {f: rate for f, _, trials, rate, _ in estimates if trials > 0}
                by_template.setdefault(name, {})[channel] = fields
    if not funnels:
        sends = {c: _total(counts.get(c, {}), c)["sent"] for c in wanted}
        listed = ", ".join(f"{n} {c}_sent" for c, n in sends.items())
        raise SegsimError(
            f"no channel has min_messages={min_messages} sends to estimate from ({listed}); "
            "lower min_messages or load more history"
        )
    model = ResponseModel(**funnels, by_template=by_template)
    frame = pd.DataFrame(rows, columns=list(ESTIMATE_COLUMNS))
    frame = frame.astype({"successes": "int64", "trials": "int64", "rate": "float64"})
    frame["se"] = frame["se"].astype("float64")
    # the channel-wide rows have no template: None, not NaN
    frame["template"] = frame["template"].astype(object).where(frame["template"].notna(), None)
    return model, frame


def _channels(channels: Sequence[str] | None, names: set[str]) -> list[str]:
    """The channels to estimate; a :class:`SegsimError` naming the missing sends."""
    if channels is None:
        found = [c for c in MESSAGE_CHANNELS if f"{c}_sent" in names]
        if not found:
            expected = ", ".join(f"{c}_sent" for c in MESSAGE_CHANNELS)
            hint = did_you_mean("email_sent", names)
            raise SegsimError(
                f"the store has no message send events ({expected}) to calibrate from{hint}; "
                "name each sent message <channel>_sent and its responses <channel>_delivered, "
                "<channel>_opened, <channel>_clicked, <channel>_unsubscribed"
            )
        return found
    out = []
    for channel in channels:
        if channel not in MESSAGE_CHANNELS:
            raise SegsimError(
                f"unknown channel {channel!r}{did_you_mean(channel, MESSAGE_CHANNELS)}"
            )
        if f"{channel}_sent" not in names:
            raise SegsimError(
                f"the store has no {channel}_sent events to calibrate {channel} from"
                f"{did_you_mean(f'{channel}_sent', names)}"
            )
        out.append(channel)
    return out


def _warn_unknown(channels: list[str], names: set[str]) -> None:
    """Events named like a channel's but of no known kind: most likely a misspelling."""
    for channel in channels:
        known = {f"{channel}_{kind}" for kind in _KINDS[channel]}
        for name in sorted(n for n in names if n.startswith(f"{channel}_") and n not in known):
            warnings.warn(
                f"event {name!r} is not read by the calibration{did_you_mean(name, known)}",
                SegsimWarning,
                stacklevel=3,
            )


def _counts(
    store: Any,
    channels: list[str],
    names: set[str],
    template: str | None,
    machine: str | None,
    message: str | None,
) -> dict[str, dict[Any, dict[str, int]]]:
    """Counts per channel, template (None: events without one) and kind (``opened`` human,
    ``machine_opened`` apart), one query."""
    events = [f"{c}_{k}" for c in channels for k in _KINDS[c] if f"{c}_{k}" in names]
    template_sql = f"{quote_identifier(schema.property_column(template))}" if template else "NULL"
    kind = "event"
    if machine:
        flag = quote_identifier(schema.property_column(machine))
        kind = f"CASE WHEN event = 'email_opened' AND {flag} THEN 'email_machine_opened' ELSE event END"
    if message:
        column = quote_identifier(schema.property_column(message))
        count = (
            f"count(DISTINCT (contact_id, {column})) FILTER (WHERE {column} IS NOT NULL)"
            f" + count(*) FILTER (WHERE {column} IS NULL)"
        )
    else:
        count = "count(*)"
    listing = ", ".join(quote_literal(e) for e in events)
    rows = store.con.execute(
        f"""SELECT {kind} AS kind, {template_sql} AS template, {count} AS n
            FROM {schema.EVENTS} WHERE event IN ({listing}) GROUP BY ALL"""
    ).fetchall()
    out: dict[str, dict[Any, dict[str, int]]] = {}
    for name, template_name, n in rows:
        channel, kind_name = name.split("_", 1)
        per = out.setdefault(channel, {}).setdefault(template_name, _zero(channel))
        per[kind_name] += int(n)
    return out


def _zero(channel: str) -> dict[str, int]:
    return dict.fromkeys((*_KINDS[channel], "machine_opened"), 0)


def _total(per_template: dict[Any, dict[str, int]], channel: str) -> dict[str, int]:
    total = _zero(channel)
    for found in per_template.values():
        for kind, n in found.items():
            total[kind] += n
    return total


def _estimates(channel: str, n: dict[str, int], names: set[str]) -> list[tuple]:
    """``(field, successes, trials, rate, se)`` of each funnel field of ``channel``."""
    sent = n["sent"]
    out = []
    if f"{channel}_delivered" in names:
        delivered = n["delivered"]
        out.append(_ratio("delivered", delivered, sent))
    elif f"{channel}_bounced" in names:
        delivered = sent - n["bounced"]
        out.append(_ratio("delivered", delivered, sent))
    else:
        delivered = sent
        out.append(("delivered", 0, 0, 1.0, 0.0))  # nothing says otherwise
    touched = delivered
    if channel != "sms":
        out.append(_ratio("opened", n["opened"], delivered))
        touched = n["opened"]
    if channel == "email":
        out.append(_ratio("machine_open", n["machine_opened"], delivered))
    out.append(_ratio("clicked", n["clicked"], touched))
    out.append(_ratio("unsubscribed", n["unsubscribed"], delivered))
    return out


def _ratio(field: str, successes: int, trials: int) -> tuple:
    if trials <= 0:
        return (field, successes, 0, 0.0, math.nan)
    rate = min(1.0, max(0.0, successes / trials))
    return (field, successes, trials, rate, math.sqrt(rate * (1 - rate) / trials))
