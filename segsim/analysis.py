"""Analysis of simulation results: pure functions from the frames of DESIGN §5 to tidy frames.

Every function here takes one or two result frames (``actions``, ``runs``, ``steps``,
``segment_events``, ``suppressed``) and returns a new DataFrame; nothing is mutated, nothing
is plotted (see :mod:`segsim.plots`). The conventions, shared by all of them:

* **Sends.** A *send* is an action of kind ``send_email``, ``send_sms``, ``send_whatsapp`` or
  ``webhook`` (:data:`SEND_ACTIONS`); webhooks count under channel ``"webhook"``. List and
  contact actions (``add_to_list``, ``update_contact``, ...) are never sends. A *message* is
  a send whose status is ``"sent"``. To leave webhooks out of a count, filter first:
  ``actions[actions["channel"] != "webhook"]``.
* **Periods** (``freq``) are pandas period aliases: ``"D"`` (day), ``"W"`` (week, Monday to
  Sunday), ``"M"`` (calendar month), also ``"h"``, ``"Q"``, ``"Y"``. A period is labelled by
  its start, a tz-aware UTC timestamp (``datetime64[us, UTC]``) in column ``period``; the
  frequency is kept in ``frame.attrs["freq"]`` for the plots.
* **Groups** (``by``) are column names of the input frame, a string or a sequence. Group
  columns keep their input dtype (``None`` stays ``None``, e.g. a send without template).
* **Order** is deterministic: by period, then by group in the documented order of the values
  where DESIGN lists one (channels, actions, reasons, end reasons), otherwise sorted.
* **Counts** are ``int64``, costs and shares ``float64``, delays ``timedelta64[us]``.
* **Empty input** gives an empty frame with the same columns and dtypes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from segsim.flows import ACTION_KINDS

__all__ = [
    "CHANNELS",
    "END_REASONS",
    "SEND_ACTIONS",
    "SKIP_REASONS",
    "SUPPRESSION_REASONS",
    "cost_by_channel",
    "describe_time_to_first_message",
    "entries_exits",
    "funnel",
    "messages_per_contact",
    "messages_per_contact_distribution",
    "reach",
    "reach_total",
    "segment_sizes_from_events",
    "sends_by_period",
    "sends_by_variant",
    "skip_reasons",
    "suppression_reasons",
    "time_to_first_message",
]

#: Action kinds that send something out (a message to the contact, or a webhook call).
SEND_ACTIONS = ("send_email", "send_sms", "send_whatsapp", "webhook")
#: Channels in their documented order.
CHANNELS = ("email", "sms", "whatsapp", "webhook")
#: Every action kind, in the documented order.
ACTIONS = ACTION_KINDS
#: Why a send was skipped, in the documented order.
SKIP_REASONS = ("no_email", "no_phone", "unsubscribed")
#: Why a trigger event did not enter, in the documented (priority) order.
SUPPRESSION_REASONS = (
    "flow_inactive",
    "flow_paused",
    "deleted",
    "already_in_flow",
    "no_reentry",
    "reentry_wait",
    "filters",
)
#: How a run ends, in the documented order.
END_REASONS = (
    "completed",
    "exit_condition",
    "restarted",
    "contact_deleted",
    "step_removed",
    "paused_exit",
    "horizon",
)

# Columns whose values have a documented order; any other value sorts after them.
_VALUE_ORDER: dict[str, tuple[str, ...]] = {
    "channel": CHANNELS,
    "action": ACTIONS,
    "end_reason": END_REASONS,
    "event": ("enter", "exit"),
}
_TIME = "datetime64[us, UTC]"
_DELAY = "timedelta64[us]"


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


def _check_freq(freq: str) -> str:
    try:
        pd.Period("2026-01-01", freq=freq)
    except (ValueError, TypeError):
        raise ValueError(
            f"freq must be a pandas period alias such as 'D' (day), 'W' (week) or 'M' "
            f"(month), got {freq!r}"
        ) from None
    return freq


def _period_start(times: pd.Series, freq: str) -> pd.Series:
    """The start of each instant's period, tz-aware UTC."""
    naive = pd.to_datetime(times, utc=True).dt.tz_convert(None)
    starts = naive.dt.to_period(freq).dt.start_time
    return starts.dt.tz_localize("UTC").astype(_TIME)


def _period_range(first: pd.Timestamp, last: pd.Timestamp, freq: str) -> pd.DatetimeIndex:
    """Every period start from ``first``'s period to ``last``'s, tz-aware UTC."""
    periods = pd.period_range(
        pd.Period(first.tz_convert(None), freq=freq), pd.Period(last.tz_convert(None), freq=freq)
    )
    return periods.start_time.tz_localize("UTC").astype(_TIME)


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
    return out.reset_index(drop=True)


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


def _sends(actions: pd.DataFrame, status: str | Sequence[str] | None = "sent") -> pd.DataFrame:
    """The send actions (webhooks under channel ``"webhook"``), optionally of given status."""
    sends = actions[actions["action"].isin(SEND_ACTIONS)].copy()
    if "channel" in sends:
        is_webhook = sends["action"] == "webhook"
        sends.loc[is_webhook, "channel"] = "webhook"
    if status is not None:
        wanted = [status] if isinstance(status, str) else list(status)
        sends = sends[sends["status"].isin(wanted)]
    return sends


def _group(frame: pd.DataFrame, keys: Sequence[str]):
    return frame.groupby(list(keys), dropna=False, sort=False, observed=True)


# -- sends ----------------------------------------------------------------------------------------


def sends_by_period(
    actions: pd.DataFrame,
    *,
    freq: str = "D",
    by: str | Sequence[str] | None = ("channel",),
    status: str | Sequence[str] | None = "sent",
) -> pd.DataFrame:
    """Count sends per period and group.

    Parameters
    ----------
    actions : DataFrame
        The ``actions`` frame of a result.
    freq : str, default "D"
        Period length: ``"D"``, ``"W"`` (Monday to Sunday) or ``"M"``; any pandas period alias.
    by : str or sequence of str, default ("channel",)
        Columns of ``actions`` to count by, e.g. ``("flow", "channel")``, ``"template"`` or
        ``"step_id"``; ``None`` or ``()`` counts all sends together.
    status : str, sequence of str or None, default "sent"
        Which sends to count; ``None`` counts every status (add ``"status"`` to ``by`` to
        split them).

    Returns
    -------
    DataFrame
        ``period`` (period start, UTC), the ``by`` columns, ``messages`` (int64). Only
        periods and groups with at least one send appear. ``attrs["freq"]`` is ``freq``.

    Examples
    --------
    >>> weekly = sends_by_period(result.actions, freq="W", by=("flow", "channel"))
    >>> sends_by_period(result.actions).pipe(plot_sends)
    <Axes: ...>
    """
    keys = _columns(by)
    _check_freq(freq)
    _require(actions, ["time", "action", "status", *keys], "actions")
    _check_by(keys, ["period", "messages"])
    sends = _sends(actions, status)
    table = pd.DataFrame({"period": _period_start(sends["time"], freq)})
    for key in keys:
        table[key] = sends[key]
    counts = _group(table, ["period", *keys]).size().reset_index(name="messages")
    out = _finish(
        counts,
        {"period": _TIME, **_dtypes_of(actions, keys), "messages": "int64"},
        sort=["period", *keys],
    )
    out.attrs["freq"] = freq
    return out


def sends_by_variant(
    actions_by_variant: Mapping[str, pd.DataFrame],
    *,
    by: str | Sequence[str] | None = ("channel",),
    status: str | Sequence[str] | None = "sent",
) -> pd.DataFrame:
    """Count sends of several variants side by side, the input of ``plot_compare_sends``.

    Parameters
    ----------
    actions_by_variant : mapping of str to DataFrame
        Variant name → that variant's ``actions`` frame (same scenario, other flow).
    by : str or sequence of str, default ("channel",)
        Columns to count by within each variant.
    status : str, sequence of str or None, default "sent"
        Which sends to count (as in :func:`sends_by_period`).

    Returns
    -------
    DataFrame
        ``variant``, the ``by`` columns, ``messages`` (int64): one row for every variant and
        every group seen in any variant (0 where a variant has none), variants in the
        mapping's order.

    Examples
    --------
    >>> sends_by_variant({"A": result_a.actions, "B": result_b.actions})
      variant channel  messages
    0       A   email  ...
    """
    keys = _columns(by)
    _check_by(keys, ["variant", "messages"])
    variants = list(actions_by_variant)
    counted = []
    for variant, actions in actions_by_variant.items():
        _require(actions, ["action", "status", *keys], f"actions of variant {variant!r}")
        sends = _sends(actions, status)
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
    """Unique contacts that got at least one message, per group.

    A contact reached on two channels counts once in each channel's row; the number of
    distinct contacts over all groups is :func:`reach_total`.

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
          flow channel  contacts
    0  Welcome   email  ...
    """
    keys = _columns(by)
    _require(actions, ["action", "status", "contact_id", *keys], "actions")
    _check_by(keys, ["contacts", "contact_id"])
    sends = _sends(actions)
    if not keys:
        return _finish(
            pd.DataFrame({"contacts": [sends["contact_id"].nunique()]}), {"contacts": "int64"}
        )
    counts = _group(sends, keys)["contact_id"].nunique().reset_index(name="contacts")
    return _finish(counts, {**_dtypes_of(actions, keys), "contacts": "int64"}, sort=keys)


def reach_total(actions: pd.DataFrame) -> int:
    """How many distinct contacts got at least one message, over every channel and flow.

    Examples
    --------
    >>> reach_total(result.actions) == reach(result.actions, by=None)["contacts"].item()
    True
    """
    _require(actions, ["action", "status", "contact_id"], "actions")
    return int(_sends(actions)["contact_id"].nunique())


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
        The ``by`` columns, ``messages`` (sends with status sent, int64) and ``cost`` (sum of
        ``cost`` over the group's sends, float64; skipped sends cost nothing). Groups where
        every send was skipped appear with 0 messages.

    Examples
    --------
    >>> cost_by_channel(result.actions, by=("flow", "channel"))
          flow channel  messages  cost
    0  Welcome   email  ...
    """
    keys = _columns(by)
    _require(actions, ["action", "status", "cost", *keys], "actions")
    _check_by(keys, ["messages", "cost"])
    sends = _sends(actions, status=None)
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
       action  reason  count
    0  ...
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
        ``flow``, ``reason``, ``count`` (int64); flows sorted, reasons in the order DESIGN §4
        checks them (``flow_inactive``, ``flow_paused``, ``deleted``, ``already_in_flow``,
        ``no_reentry``, ``reentry_wait``, ``filters``).

    Examples
    --------
    >>> suppression_reasons(result.suppressed)
          flow   reason  count
    0  Welcome  ...
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
    present) and every other end reason that occurs, in DESIGN order.

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
    >>> funnel(result.runs, result.steps, flow="Welcome").pipe(plot_funnel)
    <Axes: ...>
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
    >>> delays = time_to_first_message(result.runs, result.actions)
    """
    _require(runs, ["run_id", "flow", "contact_id", "entered_at"], "runs")
    _require(actions, ["time", "run_id", "action", "status"], "actions")
    first = _sends(actions).groupby("run_id")["time"].min().rename("first_message_at")
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
          flow  runs  messaged  share_messaged  ...
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
    >>> messages_per_contact(result.actions).head()
       contact_id  messages
    0  ...
    """
    keys = _columns(by)
    _require(actions, ["action", "status", "contact_id", *keys], "actions")
    _check_by(keys, ["contact_id", "messages"])
    counts = _group(_sends(actions), [*keys, "contact_id"]).size().reset_index(name="messages")
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
       messages  contacts  share
    ...
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


def _segment_deltas(segment_events: pd.DataFrame, freq: str) -> pd.DataFrame:
    _check_freq(freq)
    _require(segment_events, ["time", "segment", "event"], "segment_events")
    unknown = set(segment_events["event"].dropna()) - {"enter", "exit"}
    if unknown or segment_events["event"].isna().any():
        raise ValueError(
            f"segment_events.event must be 'enter' or 'exit', found {sorted(unknown, key=str)}"
        )
    return pd.DataFrame(
        {
            "period": _period_start(segment_events["time"], freq),
            "segment": segment_events["segment"],
            "entered": (segment_events["event"] == "enter").astype("int64"),
            "exited": (segment_events["event"] == "exit").astype("int64"),
        }
    )


def entries_exits(segment_events: pd.DataFrame, *, freq: str = "D") -> pd.DataFrame:
    """Segment entries and exits per period.

    Parameters
    ----------
    segment_events : DataFrame
        The ``segment_events`` frame of a result.
    freq : str, default "D"
        Period length (``"D"``, ``"W"``, ``"M"``, ...).

    Returns
    -------
    DataFrame
        ``period``, ``segment``, ``entered``, ``exited`` and ``net`` (entered − exited),
        all counts int64; only periods with at least one event of the segment appear.
        ``attrs["freq"]`` is ``freq``.

    Examples
    --------
    >>> entries_exits(result.segment_events, freq="W").pipe(plot_entries_exits, segment="VIP")
    <Axes: ...>
    """
    deltas = _segment_deltas(segment_events, freq)
    sums = _group(deltas, ["period", "segment"])[["entered", "exited"]].sum().reset_index()
    sums["net"] = sums["entered"] - sums["exited"]
    dtypes = {
        "period": _TIME,
        "segment": segment_events["segment"].dtype,
        "entered": "int64",
        "exited": "int64",
        "net": "int64",
    }
    out = _finish(sums, dtypes, sort=["period", "segment"])
    out.attrs["freq"] = freq
    return out


def segment_sizes_from_events(
    segment_events: pd.DataFrame, *, freq: str = "D", initial: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """Segment sizes over time, from the membership changes alone.

    The size at the end of each period is the initial size plus entries minus exits so
    far. ``segment_events`` only logs changes inside the simulated window (members at
    ``start`` are not entrants), so without ``initial`` the sizes are net changes since
    the start of the window.

    Parameters
    ----------
    segment_events : DataFrame
        The ``segment_events`` frame of a result.
    freq : str, default "D"
        Period length (``"D"``, ``"W"``, ``"M"``, ...).
    initial : mapping of str to int, optional
        Segment name → size at the start of the window (default 0). Segments named here
        but without events get a flat line.

    Returns
    -------
    DataFrame
        ``period`` (every period from the first event's to the last event's, UTC),
        ``segment``, ``size`` (int64, at the end of the period); by period, then segment
        name. Empty when there are no events. ``attrs["freq"]`` is ``freq``.

    Examples
    --------
    >>> sizes = segment_sizes_from_events(result.segment_events, initial={"VIP": 120})
    """
    deltas = _segment_deltas(segment_events, freq)
    initial = dict(initial or {})
    dtypes = {"period": _TIME, "segment": segment_events["segment"].dtype, "size": "int64"}
    if deltas.empty:
        out = _finish(pd.DataFrame(), dtypes)
        out.attrs["freq"] = freq
        return out
    deltas["net"] = deltas["entered"] - deltas["exited"]
    net = deltas.pivot_table(index="period", columns="segment", values="net", aggfunc="sum")
    segments = sorted(set(net.columns) | set(initial), key=str)
    periods = _period_range(deltas["period"].min(), deltas["period"].max(), freq)
    net = net.reindex(index=periods, columns=segments).fillna(0).astype("int64")
    sizes = net.cumsum() + pd.Series({s: int(initial.get(s, 0)) for s in segments})
    sizes.index.name = "period"
    sizes.columns.name = "segment"
    table = sizes.stack().rename("size").reset_index()
    out = _finish(table, dtypes)
    out.attrs["freq"] = freq
    return out
