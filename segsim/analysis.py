"""Analysis of simulation results: pure functions from the result frames to tidy frames.

Every function here takes one or two result frames (``actions``, ``runs``, ``steps``,
``segment_events``, ``suppressed``; columns in docs/design.md §5) and returns a new
DataFrame; nothing is mutated, nothing is plotted (see :mod:`segsim.plots`). The
conventions, shared by all of them:

* **Messages and operations.** A *message* is an Email, SMS or WhatsApp send
  (:data:`MESSAGE_ACTIONS`, channels :data:`MESSAGE_CHANNELS`). Webhook calls, list changes
  and contact changes are *operations* (:data:`OPERATION_ACTIONS`): never messages. So
  every message figure leaves them out — :func:`sends_by_period`, :func:`sends_by_variant`,
  :func:`reach`, :func:`reach_total`, :func:`cost_by_channel`, :func:`messages_per_contact`,
  :func:`messages_per_contact_distribution`, :func:`time_to_first_message` and
  :func:`skip_reasons` count messages only, and no switch counts webhooks among them.
  Operations have their own functions, with their own column name ``operations``:
  :func:`operation_counts` (per kind, with the webhooks' cost) and
  :func:`operations_by_period`. A *send* in a function's name means a message.
* **Periods** (``freq``) are calendar periods in UTC: ``"h"`` (hour), ``"D"`` (day),
  ``"W"`` (week, Monday to Sunday), ``"M"`` (month), ``"Q"``, ``"Y"`` (or the words
  ``"day"``, ``"week"``, ...), **clipped to the simulated window**: the first period starts
  at the window's start and the last one ends at its end, flagged ``partial`` when cut short.
  Every period table starts with ``period`` (the period's start, tz-aware UTC),
  ``period_end`` (excluded) and ``partial``. The window comes from ``window=`` — a
  ``(start, end)`` pair, a scenario or a result — or else from the frame itself
  (``frame.attrs["window"]``, which a result's frames carry, also once filtered); without
  one, periods are whole calendar periods and never partial. ``attrs["freq"]`` and
  ``attrs["window"]`` of a period table tell the plots how to draw it. The convention is
  written down in ``docs/semantics.md`` (Periods).
* **Groups** (``by``) are column names of the input frame, a string or a sequence. Group
  columns keep their input dtype (``None`` stays ``None``, e.g. a send without template).
* **Order** is deterministic: by period, then by group in the documented order of the values
  where one exists (channels, actions, reasons, end reasons), otherwise sorted.
* **Counts** are ``int64``, costs and shares ``float64``, delays ``timedelta64[us]``.
* **Empty input** gives an empty frame with the same columns and dtypes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from segsim._internal.periods import (
    PERIOD_COLUMNS,
    assign_periods,
    period_freq,
    period_grid,
    window_attr,
    window_of,
)
from segsim._internal.vocab import (
    ACTION_KINDS,
    CHANNELS,
    END_REASONS,
    MESSAGE_ACTIONS,
    MESSAGE_CHANNELS,
    OPERATION_ACTIONS,
    OPERATION_COLUMNS,
    OPERATION_LABELS,
    SKIP_REASONS,
    SUPPRESSION_REASONS,
)

__all__ = [
    "CHANNELS",
    "END_REASONS",
    "MESSAGE_ACTIONS",
    "MESSAGE_CHANNELS",
    "OPERATION_ACTIONS",
    "SKIP_REASONS",
    "SUPPRESSION_REASONS",
    "cost_by_channel",
    "describe_time_to_first_message",
    "entries_exits",
    "funnel",
    "messages_per_contact",
    "messages_per_contact_distribution",
    "operation_counts",
    "operations_by_period",
    "reach",
    "reach_total",
    "segment_sizes_from_events",
    "sends_by_period",
    "sends_by_variant",
    "skip_reasons",
    "suppression_reasons",
    "time_to_first_message",
]

#: Every action kind, in the documented order.
ACTIONS = ACTION_KINDS
#: Operation kinds in display order (webhooks first), as in tables and summaries.
_OPERATION_ORDER = tuple(OPERATION_COLUMNS)

# Columns whose values have a documented order; any other value sorts after them.
_VALUE_ORDER: dict[str, tuple[str, ...]] = {
    "channel": CHANNELS,
    "action": ACTIONS,
    "end_reason": END_REASONS,
    "event": ("enter", "exit"),
}
_TIME = "datetime64[us, UTC]"
_DELAY = "timedelta64[us]"
_PERIOD_DTYPES = {"period": _TIME, "period_end": _TIME, "partial": bool}


# -- helpers --------------------------------------------------------------------------------------


def _columns(by: str | Sequence[str] | None) -> tuple[str, ...]:
    """``by`` as a tuple of column names (``None`` → no grouping)."""
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    return tuple(by)


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"the {name} frame has no column(s) {', '.join(map(repr, missing))}; "
            f"it has {', '.join(map(str, frame.columns))}"
        )


def _check_by(keys: tuple[str, ...], reserved: Sequence[str]) -> None:
    clash = [key for key in keys if key in reserved]
    if clash:
        raise ValueError(f"cannot group by {', '.join(map(repr, clash))}: it is an output column")


def _finish(
    frame: pd.DataFrame,
    dtypes: Mapping[str, Any],
    *,
    sort: Sequence[str] = (),
    ascending: Any = True,
) -> pd.DataFrame:
    """Columns in order with their dtypes, rows sorted, index reset.

    An ``object`` column gets ``None`` for missing values: grouping turns ``None`` keys into
    ``NaN`` (and pandas 3 infers ``str``), which is not what the input said.
    """
    out = pd.DataFrame(index=frame.index)
    for column, dtype in dtypes.items():
        values = frame[column] if column in frame else pd.Series(dtype=dtype, index=frame.index)
        if pd.api.types.is_object_dtype(dtype):
            values = values.astype(object)
            out[column] = values.where(values.notna(), None)
        else:
            out[column] = values.astype(dtype)
    if sort and len(out):
        out = out.sort_values(list(sort), ascending=ascending, key=_sort_key, kind="stable")
    out = out.reset_index(drop=True)
    out.attrs = {}
    return out


def _sort_key(values: pd.Series) -> pd.Series:
    """Documented value orders for the columns that have one; natural order otherwise."""
    order = _VALUE_ORDER.get(str(values.name))
    if order is None and str(values.name) == "reason":
        order = SKIP_REASONS + SUPPRESSION_REASONS
    if order is None:
        return values
    present = [v for v in values.dropna().unique() if v not in order]
    categories = [v for v in order if v in set(values.dropna())] + sorted(present, key=str)
    return pd.Series(
        pd.Categorical(values, categories=categories, ordered=True), index=values.index
    )


def _dtypes_of(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, Any]:
    return {column: frame[column].dtype for column in columns}


def _messages(actions: pd.DataFrame, status: str | Sequence[str] | None = "sent") -> pd.DataFrame:
    """The message actions (email, SMS, WhatsApp), optionally of given status."""
    messages = actions[actions["action"].isin(MESSAGE_ACTIONS)]
    if status is not None:
        wanted = [status] if isinstance(status, str) else list(status)
        messages = messages[messages["status"].isin(wanted)]
    return messages


def _operations(actions: pd.DataFrame) -> pd.DataFrame:
    """The operations that happened (webhooks called, list and contact changes applied)."""
    operations = actions[actions["action"].isin(OPERATION_ACTIONS)]
    return operations[operations["status"].isin(("sent", "applied"))]


def _group(frame: pd.DataFrame, keys: Sequence[str]):
    return frame.groupby(list(keys), dropna=False, sort=False, observed=True)


def _per_period(
    rows: pd.DataFrame,
    source: pd.DataFrame,
    keys: tuple[str, ...],
    freq: str,
    window: Any,
    count: str,
) -> pd.DataFrame:
    """Count ``rows`` (a subset of ``source``) per clipped period and group."""
    key = period_freq(freq)
    bounds = window_of(source, window)
    table = assign_periods(rows["time"], key, bounds)
    for column in keys:
        table[column] = rows[column]
    counts = _group(table, [*PERIOD_COLUMNS, *keys]).size().reset_index(name=count)
    out = _finish(
        counts,
        {**_PERIOD_DTYPES, **_dtypes_of(source, keys), count: "int64"},
        sort=["period", *keys],
    )
    out.attrs = {"freq": key, "window": window_attr(bounds)}
    return out


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
    ... # doctest: +SKIP
    >>> sends_by_period(result.actions).pipe(plot_sends)  # doctest: +SKIP
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
    >>> operations_by_period(result.actions, freq="W")  # doctest: +SKIP
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
    >>> operation_counts(result.actions, by="flow")  # doctest: +SKIP
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
    >>> sends_by_variant({"A": result_a.actions, "B": result_b.actions})  # doctest: +SKIP
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
    >>> reach(result.actions, by=("flow", "channel"))  # doctest: +SKIP
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
    >>> reach_total(result.actions)  # doctest: +SKIP
    1234
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
    >>> cost_by_channel(result.actions, by=("flow", "channel"))  # doctest: +SKIP
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
    >>> skip_reasons(result.actions)  # doctest: +SKIP
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
    >>> suppression_reasons(result.suppressed)  # doctest: +SKIP
    """
    _require(suppressed, ["flow", "reason"], "suppressed")
    counts = _group(suppressed, ["flow", "reason"]).size().reset_index(name="count")
    dtypes = {**_dtypes_of(suppressed, ["flow", "reason"]), "count": "int64"}
    return _finish(counts, dtypes, sort=["flow", "reason"])


# -- runs and steps -------------------------------------------------------------------------------


def funnel(
    runs: pd.DataFrame,
    steps: pd.DataFrame,
    *,
    flow: str | Sequence[str] | None = None,
    step_order: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """How many runs of each flow reached each step, and how they ended.

    Stages, per flow, top to bottom: ``entered`` (every run), then each step id (the
    distinct runs that executed that step, whatever its outcome — a skipped send or a
    branch's ``otherwise`` still counts), then how runs ended: ``completed`` (always
    present) and every other end reason that occurs, in the order of docs/design.md §5.2.

    Only steps of the given runs count, so filtering ``runs`` first (one version, one
    entry kind) narrows the whole funnel.

    Parameters
    ----------
    runs, steps : DataFrame
        The ``runs`` and ``steps`` frames of a result.
    flow : str or sequence of str, optional
        Flows to include (default: every flow in ``runs``, sorted). A named flow with no
        runs still gets its ``entered`` and ``completed`` rows, with 0 runs.
    step_order : sequence of str, or mapping of flow name to sequence of str, optional
        Order of the step stages. Listed steps come first, in that order, even if no run
        reached them (0 runs); other steps follow in order of first appearance in time.
        A plain sequence is only accepted for a single flow.

    Returns
    -------
    DataFrame
        ``flow``, ``stage`` (``"entered"``, a step id or an end reason), ``stage_type``
        (``"entry"``, ``"step"`` or ``"end"``; a step id may equal an end reason's name),
        ``runs`` (int64) and ``share_of_entered`` (float64; NaN when no run entered).

    Examples
    --------
    >>> funnel(result.runs, result.steps, flow="Welcome").pipe(plot_funnel)  # doctest: +SKIP
    """
    _require(runs, ["run_id", "flow", "end_reason"], "runs")
    _require(steps, ["time", "run_id", "flow", "step_id"], "steps")
    if flow is None:
        flows = sorted(runs["flow"].dropna().unique(), key=str)
    else:
        flows = [flow] if isinstance(flow, str) else list(flow)
    if step_order is not None and not isinstance(step_order, Mapping):
        if isinstance(step_order, str):
            raise TypeError("step_order is a sequence of step ids, not one string")
        if len(flows) > 1:
            raise ValueError(
                f"a step_order list fits one flow, but the funnel has {len(flows)} flows "
                f"({', '.join(map(str, flows))}): pass flow=..., or a mapping flow -> step ids"
            )
        step_order = {name: step_order for name in flows}
    orders: Mapping[str, Sequence[str]] = step_order or {}

    runs = runs[runs["flow"].isin(flows)]
    steps = steps[steps["run_id"].isin(runs["run_id"])]
    rows: list[tuple[Any, str, str, int]] = []
    for name in flows:
        flow_runs = runs[runs["flow"] == name]
        flow_steps = steps[steps["flow"] == name].sort_values("time", kind="stable")
        rows.append((name, "entered", "entry", len(flow_runs)))
        reached = flow_steps.groupby("step_id", sort=False)["run_id"].nunique()
        listed = list(orders.get(name, ()))
        for step_id in listed + [s for s in flow_steps["step_id"].unique() if s not in listed]:
            rows.append((name, step_id, "step", int(reached.get(step_id, 0))))
        ends = flow_runs["end_reason"].value_counts()
        reasons = ["completed"] + [r for r in END_REASONS[1:] if r in ends.index]
        reasons += sorted((r for r in ends.index if r not in END_REASONS), key=str)
        rows.extend((name, reason, "end", int(ends.get(reason, 0))) for reason in reasons)
    table = pd.DataFrame(rows, columns=["flow", "stage", "stage_type", "runs"])
    entered = table["flow"].map({name: len(runs[runs["flow"] == name]) for name in flows})
    table["share_of_entered"] = table["runs"] / entered.replace(0, np.nan)
    return _finish(
        table,
        {
            "flow": runs["flow"].dtype,
            "stage": object,
            "stage_type": object,
            "runs": "int64",
            "share_of_entered": "float64",
        },
    )


def time_to_first_message(runs: pd.DataFrame, actions: pd.DataFrame) -> pd.DataFrame:
    """Per run, how long after entry the contact got its first message.

    Parameters
    ----------
    runs, actions : DataFrame
        The ``runs`` and ``actions`` frames of a result.

    Returns
    -------
    DataFrame
        One row per run, by ``run_id``: ``run_id``, ``flow``, ``contact_id``,
        ``entered_at``, ``first_message_at`` (NaT if the run sent nothing) and ``delay``
        (``first_message_at - entered_at``, ``timedelta64[us]``, NaT if none).

    See Also
    --------
    describe_time_to_first_message : quantiles of the delays per flow.

    Examples
    --------
    >>> delays = time_to_first_message(result.runs, result.actions)  # doctest: +SKIP
    """
    _require(runs, ["run_id", "flow", "contact_id", "entered_at"], "runs")
    _require(actions, ["time", "run_id", "action", "status"], "actions")
    first = _messages(actions).groupby("run_id")["time"].min().rename("first_message_at")
    table = runs[["run_id", "flow", "contact_id", "entered_at"]].merge(
        first, left_on="run_id", right_index=True, how="left"
    )
    table["first_message_at"] = pd.to_datetime(table["first_message_at"], utc=True).astype(_TIME)
    table["entered_at"] = pd.to_datetime(table["entered_at"], utc=True).astype(_TIME)
    table["delay"] = table["first_message_at"] - table["entered_at"]
    dtypes = {
        "run_id": "int64",
        **_dtypes_of(runs, ["flow", "contact_id"]),
        "entered_at": _TIME,
        "first_message_at": _TIME,
        "delay": _DELAY,
    }
    return _finish(table, dtypes, sort=["run_id"])


def describe_time_to_first_message(
    delays: pd.DataFrame, *, by: str | Sequence[str] | None = ("flow",)
) -> pd.DataFrame:
    """Summarise :func:`time_to_first_message`, like ``describe()``, per flow.

    Parameters
    ----------
    delays : DataFrame
        The output of :func:`time_to_first_message` (a ``delay`` column is all it needs).
    by : str or sequence of str, default ("flow",)
        Columns to group by; ``None`` or ``()`` gives one row.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``runs`` and ``messaged`` (runs with a message, int64),
        ``share_messaged`` (float64), then over the messaged runs ``mean``, ``min``,
        ``p25``, ``median``, ``p75``, ``p90`` and ``max`` (``timedelta64[us]``; NaT when no
        run of the group was messaged).

    Examples
    --------
    >>> time_to_first_message(result.runs, result.actions).pipe(describe_time_to_first_message)
    ... # doctest: +SKIP
    """
    keys = _columns(by)
    _require(delays, ["delay", *keys], "delays")
    stats = ["mean", "min", "p25", "median", "p75", "p90", "max"]
    quantiles = {"p25": 0.25, "median": 0.5, "p75": 0.75, "p90": 0.9}

    def summarise(delay: pd.Series) -> dict[str, Any]:
        values = pd.to_timedelta(delay).dropna()
        row: dict[str, Any] = {"runs": len(delay), "messaged": len(values)}
        row["share_messaged"] = len(values) / len(delay) if len(delay) else np.nan
        # a typed NaT: a bare pd.NaT would make the column datetime64
        missing = np.timedelta64("NaT", "us")
        row["mean"] = values.mean() if len(values) else missing
        row["min"] = values.min() if len(values) else missing
        row["max"] = values.max() if len(values) else missing
        for name, q in quantiles.items():
            row[name] = values.quantile(q) if len(values) else missing
        return row

    dtypes = {
        **_dtypes_of(delays, keys),
        "runs": "int64",
        "messaged": "int64",
        "share_messaged": "float64",
        **{stat: _DELAY for stat in stats},
    }
    if not keys:
        return _finish(pd.DataFrame([summarise(delays["delay"])]), dtypes)
    rows = []
    for group, part in _group(delays, keys):
        rows.append({**dict(zip(keys, group, strict=True)), **summarise(part["delay"])})
    return _finish(pd.DataFrame(rows, columns=list(dtypes)), dtypes, sort=keys)


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
    >>> messages_per_contact(result.actions).head()  # doctest: +SKIP
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
    ... # doctest: +SKIP
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
    ... # doctest: +SKIP
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
    ... # doctest: +SKIP
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
