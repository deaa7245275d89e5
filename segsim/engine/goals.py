"""Observed conversions: goal events in the data, credited to the flow's sent messages.

A flow's :class:`~segsim.responses.Goal` names an event. Each occurrence of it at ``p`` in
the window ``[start, end)`` (the store's ``segsim_events``) is credited, by **last touch**,
to the latest message the flow *sent* the contact at ``m`` with ``p - within < m < p``: a
message at the very instant of the occurrence does not count (it cannot have caused it), one
exactly ``within`` before does not either. Two messages of the flow at one instant (steps
with no wait between them) tie: the one sent last — the later step — is credited. Each
occurrence is credited separately (two purchases, two conversions); one the flow sent no
message before, in the window, is no conversion. Occurrences after the contact's deletion
are ignored (its later history is). These are ``source="observed"`` conversions: what the
messages would be credited with, not what they caused.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

from segsim import schema
from segsim._internal.naming import did_you_mean
from segsim._internal.sql import quote_identifier, quote_literal
from segsim.engine.goal_exit import exit_on_goal_problems
from segsim.errors import ScenarioError
from segsim.flows import Edit

__all__ = ["compile_goals", "goal_problems", "last_touch", "observed_conversions"]

_ONE_US = dt.timedelta(microseconds=1)

#: a sent message as the engine records it for attribution: (t, run key, flow, step, channel)
Message = tuple[int, int, str, str, str]


def last_touch(
    messages: Sequence[Message], times: Sequence[int], p: int, within: int
) -> int | None:
    """The index in ``messages`` (sorted by send time, in send order) of the message credited
    with an occurrence at ``p``: the last one with ``p - within < t < p``; None if none.

    ``times`` are the messages' send instants (``[m[0] for m in messages]``).
    """
    last = bisect.bisect_left(times, p) - 1  # the last message strictly before p
    if last < 0 or times[last] <= p - within:
        return None
    return last


def observed_conversions(
    plan: Any,
    store: Any,
    contacts_sql: str | None,
    messages: dict[Any, list[Message]],
    deleted_at: dict[Any, int],
) -> list[tuple]:
    """The ``conversions`` rows of the observed goal events of one simulation's contacts."""
    goals = {flow: goal for flow, goal in plan.goals.items() if flow in plan.observed_goals}
    if not goals or not messages:
        return []
    events = sorted({goal.event for goal in goals.values()})
    properties = sorted({g.value for g in goals.values() if isinstance(g.value, str)})
    columns = "".join(f", {quote_identifier(schema.property_column(p))}" for p in properties)
    contacts = f" AND ({contacts_sql})" if contacts_sql else ""
    listing = ", ".join(quote_literal(e) for e in events)
    cursor = store.con.cursor()
    try:
        rows = cursor.execute(
            f"""SELECT contact_id, epoch_us(ts), event{columns} FROM {schema.EVENTS}
                WHERE event IN ({listing}) AND ts >= make_timestamp(?) AND ts < make_timestamp(?)
                  AND contact_id IN (SELECT unnest(?)){contacts}
                ORDER BY contact_id, ts, seq""",
            [plan.start, plan.end, list(messages)],
        ).fetchall()
    finally:
        cursor.close()
    by_flow: dict[tuple[Any, str], tuple[list[Message], list[int]]] = {}
    for contact, contact_messages in messages.items():
        for message in contact_messages:
            entry = by_flow.setdefault((contact, message[2]), ([], []))
            entry[0].append(message)
            entry[1].append(message[0])
    out = []
    flows = list(goals.items())
    for contact, p, event, *values in rows:
        if contact in deleted_at and p > deleted_at[contact]:
            continue
        props = dict(zip(properties, values, strict=True))
        for flow, goal in flows:
            if goal.event != event:
                continue
            flow_messages = by_flow.get((contact, flow))
            if flow_messages is None:
                continue
            sent, times = flow_messages
            found = last_touch(sent, times, p, goal.within // _ONE_US)
            if found is None:
                continue
            _, run_key, _, step_id, channel = sent[found]
            out.append(
                (p, contact, flow, step_id, channel, _value(goal, props), "observed", run_key)
            )
    return out


def _value(goal: Any, props: dict[str, Any]) -> float:
    if isinstance(goal.value, str):
        value = props.get(goal.value)
        return math.nan if value is None else float(value)
    return math.nan if goal.value is None else float(goal.value)


def goal_problems(scenario: Any, store: Any) -> list[tuple[str, str]]:
    """Every problem of the flows' goals against the data, as ``(path, message)``: a goal
    event the data lacks when the goal simulates no conversions, a value property that is
    not a number, an ``Edit`` changing a flow's goal or ``exit_on_goal`` (they belong to
    the flow)."""
    problems = []
    names = set(store.event_names)
    property_types = store.event_property_types
    for i, flow in enumerate(scenario.flows):
        goal = flow.goal
        if goal is None:
            continue
        if goal.event not in names and goal.conversion_rate is None:
            problems.append(
                (
                    f"flows[{i}].goal.event",
                    f"flow {flow.name!r}: the goal event {goal.event!r} is not in the data"
                    f"{did_you_mean(goal.event, names)}, and the goal has no conversion_rate",
                )
            )
        if isinstance(goal.value, str) and goal.event in names:
            kind = property_types.get(goal.value)
            if kind != "number":
                what = "no property" if kind is None else f"a {kind} property"
                hint = did_you_mean(goal.value, property_types) if kind is None else ""
                problems.append(
                    (
                        f"flows[{i}].goal.value",
                        f"flow {flow.name!r}: the goal value {goal.value!r} is {what} of the "
                        f"events{hint}; a goal value is a number property or a fixed amount",
                    )
                )
    goals = {flow.name: flow.goal for flow in scenario.flows}
    for k, event in enumerate(scenario.schedule):
        if isinstance(event, Edit) and event.flow.goal != goals.get(event.flow_name):
            problems.append(
                (
                    f"schedule[{k}].flow.goal",
                    f"flow {event.flow_name!r}: an edit at {event.at} changes the flow's goal; "
                    "a goal belongs to the flow, not to one version",
                )
            )
    return problems + exit_on_goal_problems(scenario)


def compile_goals(scenario: Any, store: Any) -> tuple[dict[str, Any], frozenset[str], list[str]]:
    """The flows' goals, checked against the data: ``(goals by flow, flows whose goal event
    the data has, warnings)``; the first of :func:`goal_problems` is a
    :class:`~segsim.errors.ScenarioError`.
    """
    problems = goal_problems(scenario, store)
    if problems:
        raise ScenarioError(problems[0][1])
    goals = {flow.name: flow.goal for flow in scenario.flows if flow.goal is not None}
    names = set(store.event_names)
    observed = frozenset(flow for flow, goal in goals.items() if goal.event in names)
    warnings = [
        f"flow {flow!r}: the goal has a conversion_rate but the scenario has no response "
        "model (Scenario(responses=...)): no click, so no simulated conversion"
        for flow, goal in goals.items()
        if goal.conversion_rate is not None and getattr(scenario, "responses", None) is None
    ]
    return goals, observed, warnings
