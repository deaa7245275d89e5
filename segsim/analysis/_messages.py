"""Messages and operations: counts per period and group, reach, cost, skips, suppressions, per contact.

Messages are email, SMS and WhatsApp only; operations are counted apart (see :mod:`segsim.analysis`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from segsim._internal.periods import PERIOD_COLUMNS, period_freq
from segsim._internal.vocab import OPERATION_LABELS
from segsim.analysis._tables import (
    _OPERATION_ORDER,
    _check_by,
    _columns,
    _dtypes_of,
    _finish,
    _group,
    _messages,
    _operations,
    _per_period,
    _require,
    _sort_key,
)

# -- messages -------------------------------------------------------------------------------------


def sends_by_period(
    actions: pd.DataFrame,
    *,
    freq: str = "D",
    by: str | Sequence[str] | None = ("channel",),
    status: str | Sequence[str] | None = "sent",
    window: Any = None,
) -> pd.DataFrame:
    """Count messages (email, SMS, WhatsApp) per period and group.

    Parameters
    ----------
    actions : DataFrame
        The ``actions`` frame of a result.
    freq : str, default "D"
        Calendar period: ``"h"``, ``"D"``, ``"W"`` (Monday to Sunday), ``"M"``, ``"Q"``,
        ``"Y"`` (or ``"day"``, ``"week"``, ...).
    by : str or sequence of str, default ("channel",)
        Columns of ``actions`` to count by, e.g. ``("flow", "channel")``, ``"template"`` or
        ``"step_id"``; ``None`` or ``()`` counts all messages together.
    status : str, sequence of str or None, default "sent"
        Which messages to count; ``None`` counts every status (add ``"status"`` to ``by``
        to split sent and skipped).
    window : (start, end), Scenario or SimulationResult, optional
        The window periods are clipped to (default: ``actions.attrs["window"]``, which a
        result's frames carry).

    Returns
    -------
    DataFrame
        ``period``, ``period_end``, ``partial``, the ``by`` columns, ``messages`` (int64).
        Only periods and groups with at least one message appear. ``attrs["freq"]`` and
        ``attrs["window"]`` say how the periods were made. Webhooks and list or contact
        changes are operations: :func:`operations_by_period`.

    Examples
    --------
    >>> weekly = sends_by_period(result.actions, freq="W", by=("flow", "channel"))
    >>> sends_by_period(result.actions).pipe(plot_sends)
    <Axes: ...>
    """
    keys = _columns(by)
    period_freq(freq)
    _require(actions, ["time", "action", "status", *keys], "actions")
    _check_by(keys, [*PERIOD_COLUMNS, "messages"])
    return _per_period(_messages(actions, status), actions, keys, freq, window, "messages")


def operations_by_period(
    actions: pd.DataFrame,
    *,
    freq: str = "D",
    by: str | Sequence[str] | None = ("action",),
    window: Any = None,
) -> pd.DataFrame:
    """Count operations (webhooks called, list and contact changes) per period and group.

    Parameters
    ----------
    actions : DataFrame
        The ``actions`` frame of a result.
    freq : str, default "D"
        Calendar period, as in :func:`sends_by_period`.
    by : str or sequence of str, default ("action",)
        Columns of ``actions`` to count by (``"action"`` is the operation's kind).
    window : (start, end), Scenario or SimulationResult, optional
        As in :func:`sends_by_period`.

    Returns
    -------
    DataFrame
        ``period``, ``period_end``, ``partial``, the ``by`` columns, ``operations``
        (int64): webhooks with status ``sent``, list and contact changes ``applied``.

    Examples
    --------
    >>> operations_by_period(result.actions, freq="W")
    Empty DataFrame ...
    """
    keys = _columns(by)
    period_freq(freq)
    _require(actions, ["time", "action", "status", *keys], "actions")
    _check_by(keys, [*PERIOD_COLUMNS, "operations"])
    return _per_period(_operations(actions), actions, keys, freq, window, "operations")


def operation_counts(
    actions: pd.DataFrame, *, by: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """Operations per kind, with their cost: webhooks called, list adds and removes, contact
    updates and deletes.

    Parameters
    ----------
    actions : DataFrame
        The ``actions`` frame of a result.
    by : str or sequence of str, optional
        Columns of ``actions`` to split by, e.g. ``"flow"``.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``action`` (the kind), ``operation`` (how it is written:
        ``"webhooks called"``, ...), ``operations`` (int64) and ``cost`` (float64; only
        webhooks cost something, ``Channels.cost_webhook``). Without ``by``, every kind has
        a row, in display order (webhooks first), 0 where none happened; with ``by``, the
        groups and kinds that occur.

    Examples
    --------
    >>> operation_counts(result.actions, by="flow")
    Empty DataFrame ...
    """
    keys = _columns(by)
    _require(actions, ["action", "status", "cost", *keys], "actions")
    _check_by(keys, ["action", "operation", "operations", "cost"])
    done = _operations(actions)
    dtypes = {
        **_dtypes_of(actions, keys),
        "action": object,
        "operation": object,
        "operations": "int64",
        "cost": "float64",
    }
    sums = (
        _group(done, [*keys, "action"])
        .agg(operations=("action", "size"), cost=("cost", "sum"))
        .reset_index()
    )
    if not keys:
        sums = (
            pd.DataFrame({"action": list(_OPERATION_ORDER)})
            .merge(sums, on="action", how="left")
            .fillna({"operations": 0, "cost": 0.0})
        )
    sums["operation"] = sums["action"].map(OPERATION_LABELS)
    order = {action: i for i, action in enumerate(_OPERATION_ORDER)}
    sums["_order"] = sums["action"].map(order)
    out = _finish(sums.sort_values("_order", kind="stable"), dtypes, sort=keys)
    return out


def sends_by_variant(
    actions_by_variant: Mapping[str, pd.DataFrame],
    *,
    by: str | Sequence[str] | None = ("channel",),
    status: str | Sequence[str] | None = "sent",
) -> pd.DataFrame:
    """Count messages of several variants side by side, the input of ``plot_compare_sends``.

    Parameters
    ----------
    actions_by_variant : mapping of str to DataFrame
        Variant name → that variant's ``actions`` frame (same scenario, other flow).
    by : str or sequence of str, default ("channel",)
        Columns to count by within each variant.
    status : str, sequence of str or None, default "sent"
        Which messages to count (as in :func:`sends_by_period`).

    Returns
    -------
    DataFrame
        ``variant``, the ``by`` columns, ``messages`` (int64): one row for every variant and
        every group seen in any variant (0 where a variant has none), variants in the
        mapping's order. Operations are not messages and are not counted.

    Examples
    --------
    >>> sends_by_variant({"A": result_a.actions, "B": result_b.actions})
      variant channel  messages ...
    """
    keys = _columns(by)
    _check_by(keys, ["variant", "messages"])
    variants = list(actions_by_variant)
    counted = []
    for variant, actions in actions_by_variant.items():
        _require(actions, ["action", "status", *keys], f"actions of variant {variant!r}")
        sends = _messages(actions, status)
        if keys:
            counts = _group(sends[list(keys)], keys).size().reset_index(name="messages")
        else:
            counts = pd.DataFrame({"messages": [len(sends)]})
        counts.insert(0, "variant", variant)
        counted.append(counts)
    dtypes = {"variant": object, **{key: object for key in keys}, "messages": "int64"}
    if variants and keys:
        first = next(iter(actions_by_variant.values()))
        dtypes.update(_dtypes_of(first, keys))
    if not counted:
        return _finish(pd.DataFrame(), dtypes)
    counts = pd.concat(counted, ignore_index=True)
    if keys:
        groups = counts[list(keys)].drop_duplicates()
        grid = pd.DataFrame({"variant": variants}).merge(groups, how="cross")
        counts = grid.merge(counts, on=["variant", *keys], how="left")
        counts["messages"] = counts["messages"].fillna(0)
    counts["_variant"] = counts["variant"].map({v: i for i, v in enumerate(variants)})
    counts = counts.sort_values(["_variant", *keys], key=_sort_key, kind="stable")
    return _finish(counts, dtypes)


def reach(actions: pd.DataFrame, *, by: str | Sequence[str] | None = ("channel",)) -> pd.DataFrame:
    """Unique contacts that were sent at least one message, per group.

    A contact reached on two channels counts once in each channel's row; the number of
    distinct contacts over all groups is :func:`reach_total`. A webhook call reaches no one.

    Parameters
    ----------
    actions : DataFrame
        The ``actions`` frame of a result.
    by : str or sequence of str, default ("channel",)
        Columns of ``actions`` to group by; ``None`` or ``()`` gives one row.

    Returns
    -------
    DataFrame
        The ``by`` columns and ``contacts`` (int64).

    Examples
    --------
    >>> reach(result.actions, by=("flow", "channel"))
          flow channel  contacts ...
    """
    keys = _columns(by)
    _require(actions, ["action", "status", "contact_id", *keys], "actions")
    _check_by(keys, ["contacts", "contact_id"])
    sends = _messages(actions)
    if not keys:
        return _finish(
            pd.DataFrame({"contacts": [sends["contact_id"].nunique()]}), {"contacts": "int64"}
        )
    counts = _group(sends, keys)["contact_id"].nunique().reset_index(name="contacts")
    return _finish(counts, {**_dtypes_of(actions, keys), "contacts": "int64"}, sort=keys)


def reach_total(actions: pd.DataFrame) -> int:
    """How many distinct contacts were sent at least one message, over every channel and flow.

    Examples
    --------
    >>> reach_total(result.actions)
    17
    """
    _require(actions, ["action", "status", "contact_id"], "actions")
    return int(_messages(actions)["contact_id"].nunique())


def cost_by_channel(
    actions: pd.DataFrame, *, by: str | Sequence[str] | None = ("channel",)
) -> pd.DataFrame:
    """Messages sent and their cost, per channel (or other groups).

    Parameters
    ----------
    actions : DataFrame
        The ``actions`` frame of a result.
    by : str or sequence of str, default ("channel",)
        Columns of ``actions`` to group by; ``None`` or ``()`` gives one total row.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``messages`` (messages with status sent, int64) and ``cost``
        (sum of their ``cost``, float64; skipped messages cost nothing). Groups where every
        message was skipped appear with 0 messages. The cost of webhook calls is an
        operation's: :func:`operation_counts`.

    Examples
    --------
    >>> cost_by_channel(result.actions, by=("flow", "channel"))
          flow channel  messages   cost ...
    """
    keys = _columns(by)
    _require(actions, ["action", "status", "cost", *keys], "actions")
    _check_by(keys, ["messages", "cost"])
    sends = _messages(actions, status=None)
    table = sends.assign(_sent=(sends["status"] == "sent").astype("int64"))
    dtypes = {**_dtypes_of(actions, keys), "messages": "int64", "cost": "float64"}
    if not keys:
        total = pd.DataFrame({"messages": [table["_sent"].sum()], "cost": [table["cost"].sum()]})
        return _finish(total, dtypes)
    sums = _group(table, keys).agg(messages=("_sent", "sum"), cost=("cost", "sum")).reset_index()
    return _finish(sums, dtypes, sort=keys)


def skip_reasons(actions: pd.DataFrame) -> pd.DataFrame:
    """Skipped sends by action and reason (``no_email``, ``no_phone``, ``unsubscribed``).

    Returns
    -------
    DataFrame
        ``action``, ``reason``, ``count`` (int64), in the documented order of actions and
        reasons.

    Examples
    --------
    >>> skip_reasons(result.actions)
         action        reason  count ...
    """
    _require(actions, ["action", "status", "reason"], "actions")
    skipped = actions[actions["status"] == "skipped"]
    counts = _group(skipped, ["action", "reason"]).size().reset_index(name="count")
    dtypes = {**_dtypes_of(actions, ["action", "reason"]), "count": "int64"}
    return _finish(counts, dtypes, sort=["action", "reason"])


def suppression_reasons(suppressed: pd.DataFrame) -> pd.DataFrame:
    """Trigger events that did not enter, by flow and reason.

    Returns
    -------
    DataFrame
        ``flow``, ``reason``, ``count`` (int64); flows sorted, reasons in the order docs/design.md §4.3
        checks them (``flow_inactive``, ``flow_paused``, ``deleted``, ``already_in_flow``,
        ``no_reentry``, ``reentry_wait``, ``filters``).

    Examples
    --------
    >>> suppression_reasons(result.suppressed)
          flow   reason  count ...
    """
    _require(suppressed, ["flow", "reason"], "suppressed")
    counts = _group(suppressed, ["flow", "reason"]).size().reset_index(name="count")
    dtypes = {**_dtypes_of(suppressed, ["flow", "reason"]), "count": "int64"}
    return _finish(counts, dtypes, sort=["flow", "reason"])


# -- contacts -------------------------------------------------------------------------------------


def messages_per_contact(
    actions: pd.DataFrame, *, by: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """How many messages each contact got (contacts with none do not appear).

    Parameters
    ----------
    actions : DataFrame
        The ``actions`` frame of a result.
    by : str or sequence of str, optional
        Columns of ``actions`` to count within, e.g. ``"channel"`` or ``"flow"``.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``contact_id``, ``messages`` (int64). Within each group the
        most-messaged contacts come first (ties by ``contact_id``), so the first row is
        the worst case.

    Examples
    --------
    >>> messages_per_contact(result.actions).head()
       contact_id  messages ...
    """
    keys = _columns(by)
    _require(actions, ["action", "status", "contact_id", *keys], "actions")
    _check_by(keys, ["contact_id", "messages"])
    counts = _group(_messages(actions), [*keys, "contact_id"]).size().reset_index(name="messages")
    dtypes = {**_dtypes_of(actions, [*keys, "contact_id"]), "messages": "int64"}
    out = _finish(counts, dtypes, sort=["contact_id"])
    return _finish(out, dtypes, sort=[*keys, "messages"], ascending=[True] * len(keys) + [False])


def messages_per_contact_distribution(
    data: pd.DataFrame, *, by: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """How many contacts got 1, 2, 3, ... messages.

    Parameters
    ----------
    data : DataFrame
        An ``actions`` frame, or the output of :func:`messages_per_contact`.
    by : str or sequence of str, optional
        Columns to split the distribution by (present in ``data``).

    Returns
    -------
    DataFrame
        The ``by`` columns, ``messages``, ``contacts`` (int64) and ``share`` (of the
        group's messaged contacts, float64), by ascending ``messages``: the last row of each
        group is the worst case, the most messages any contact got.

    Examples
    --------
    >>> messages_per_contact_distribution(result.actions).tail(1)  # the worst case
       messages  contacts     share ...
    """
    keys = _columns(by)
    if isinstance(data, pd.DataFrame) and "action" in data.columns:
        counts = messages_per_contact(data, by=keys)
    else:
        _require(data, ["contact_id", "messages", *keys], "messages per contact")
        counts = data
    _check_by(keys, ["messages", "contacts", "share"])
    table = _group(counts, [*keys, "messages"]).size().reset_index(name="contacts")
    if keys:
        totals = _group(table, keys)["contacts"].transform("sum")
    else:
        totals = pd.Series(table["contacts"].sum(), index=table.index)
    table["share"] = table["contacts"] / totals
    dtypes = {
        **_dtypes_of(counts, keys),
        "messages": "int64",
        "contacts": "int64",
        "share": "float64",
    }
    return _finish(table, dtypes, sort=[*keys, "messages"])
