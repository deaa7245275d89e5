"""Runs and steps: the funnel of each flow, and time to first message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from segsim._internal.vocab import END_REASONS
from segsim.analysis._tables import (
    _DELAY,
    _TIME,
    _columns,
    _dtypes_of,
    _finish,
    _group,
    _messages,
    _require,
)

#: The responses :func:`funnel` counts per step stage when given the ``responses`` frame.
FUNNEL_RESPONSES: tuple[str, ...] = ("delivered", "opened", "clicked")

# -- runs and steps -------------------------------------------------------------------------------


def funnel(
    runs: pd.DataFrame,
    steps: pd.DataFrame,
    *,
    flow: str | Sequence[str] | None = None,
    step_order: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    responses: pd.DataFrame | None = None,
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
    responses : DataFrame, optional
        The ``responses`` frame (docs/design.md §10): each step stage then also counts the
        responses to its messages, ``delivered``, ``opened`` (human) and ``clicked``
        (int64; 0 on the entry and end stages and on steps that send nothing), for the
        given runs.

    Returns
    -------
    DataFrame
        ``flow``, ``stage`` (``"entered"``, a step id or an end reason), ``stage_type``
        (``"entry"``, ``"step"`` or ``"end"``; a step id may equal an end reason's name),
        ``runs`` (int64) and ``share_of_entered`` (float64; NaN when no run entered), then
        with ``responses`` the columns ``delivered``, ``opened``, ``clicked``.

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
    dtypes = {
        "flow": runs["flow"].dtype,
        "stage": object,
        "stage_type": object,
        "runs": "int64",
        "share_of_entered": "float64",
    }
    if responses is not None:
        _require(responses, ["run_id", "flow", "step_id", "response"], "responses")
        mine = responses[responses["run_id"].isin(runs["run_id"])]
        for kind in FUNNEL_RESPONSES:
            counts = mine[mine["response"] == kind].groupby(["flow", "step_id"]).size()
            keys = zip(table["flow"], table["stage"], table["stage_type"], strict=True)
            table[kind] = [int(counts.get((f, s), 0)) if t == "step" else 0 for f, s, t in keys]
            dtypes[kind] = "int64"
    return _finish(table, dtypes)


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
          flow  runs  messaged ...
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
