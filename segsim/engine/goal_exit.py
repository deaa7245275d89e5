"""``Flow(exit_on_goal=True)``: a run ends the instant the contact performs the goal event.

A flow with a :class:`~segsim.responses.Goal` and ``exit_on_goal=True`` ends its contact's
open run, reason ``goal``, at the instant of each **goal occurrence** of that contact
(docs/design.md §10.3):

* an occurrence of the goal's event in the data (the store's events, in the window, not
  after the contact's deletion) — whether or not a message of the flow is credited with it;
* a simulated conversion of the flow (a click converting, ``Goal.conversion_rate``).

The goal exit is an exit of the exits phase of its instant (docs/design.md §4.2), checked
before the exit and restart conditions: when a goal occurrence and an exit or restart
condition come at one instant, the run ends with ``goal`` (and does not restart). So a data
occurrence at the instant a run *enters* does not end it (it comes before the triggers of its
instant), while a simulated conversion at the instant of the send that caused it — all delays
0 — is a cascade of the send: the run ends at once, before its next step at that instant. A
goal exit is an exit like an exit condition: ``reentry_mode="recheck"`` rechecks after it.

The data's occurrences come in the event loop's occurrence stream
(:mod:`segsim.engine.occurrences`): each exiting flow's ``(event, None)`` is one of the
plan's ``event_triggers`` (:attr:`segsim.engine.plan.Plan.goal_exits` says which).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segsim.flows import Edit

__all__ = ["GoalExits", "compile_goal_exits", "exit_on_goal_problems"]


def compile_goal_exits(
    scenario: Any, store: Any, event_triggers: list[tuple[str, Any]]
) -> dict[str, int | None]:
    """The flows that exit on their goal: ``{flow: index of (goal event, None) in
    event_triggers}`` (appended there if new); ``None`` when the data has no such event
    (only simulated conversions can end its runs)."""
    names = set(store.event_names)
    exits: dict[str, int | None] = {}
    for flow in scenario.flows:
        if not flow.exit_on_goal or flow.goal is None:
            continue
        if flow.goal.event not in names:
            exits[flow.name] = None
            continue
        key = (flow.goal.event, None)
        if key not in event_triggers:
            event_triggers.append(key)
        exits[flow.name] = event_triggers.index(key)
    return exits


def exit_on_goal_problems(scenario: Any) -> list[tuple[str, str]]:
    """An ``Edit`` changing a flow's ``exit_on_goal``: ``(path, message)`` (like its goal,
    whether a flow exits on it belongs to the flow, not to one version)."""
    exits = {flow.name: flow.exit_on_goal for flow in scenario.flows}
    return [
        (
            f"schedule[{k}].flow.exit_on_goal",
            f"flow {event.flow_name!r}: an edit at {event.at} changes the flow's exit_on_goal; "
            "whether a flow exits on its goal belongs to the flow, not to one version",
        )
        for k, event in enumerate(scenario.schedule)
        if isinstance(event, Edit) and event.flow.exit_on_goal != exits.get(event.flow_name)
    ]


class GoalExits:
    """Ends the runs of exiting flows at their contacts' goal occurrences (see the module
    docstring). ``sim`` is the :class:`~segsim.engine.core.Simulation`."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        exits: dict[str, int | None] = sim.plan.goal_exits
        order = sim.plan.flow_order
        #: exiting flows in scenario order, with their index in the occurrences' matches
        self.observed = [(f, exits[f]) for f in order if f in exits and exits[f] is not None]
        self.flows = frozenset(exits)

    def occurred(self, occurrences: Sequence[tuple], pending: Sequence[tuple], t: int) -> None:
        """The exits phase of instant ``t``: the data's occurrences (``(contact, matches)``)
        and the simulated conversions due now (``(contact, flow)``), in that order."""
        if self.observed:
            for contact_id, matches in occurrences:
                for flow_name, index in self.observed:
                    if matches[index]:
                        self.end(contact_id, flow_name, t)
        for contact_id, flow_name in pending:
            self.end(contact_id, flow_name, t)

    def converted(self, rows: Sequence[tuple], now: int) -> None:
        """Simulated conversions just drawn (``conversions`` rows): one at ``now`` ends the
        run at once (a cascade of the send); a later one at its instant's exits phase."""
        sim = self.sim
        for row in rows:
            at, contact_id, flow_name = row[0], row[1], row[2]
            if flow_name not in self.flows:
                continue
            if at == now:
                self.end(contact_id, flow_name, now)
            else:
                sim._bucket(at)["goals"].append((contact_id, flow_name))
                sim._wake(at)

    def end(self, contact_id: Any, flow_name: str, t: int) -> None:
        """End the contact's open run of ``flow_name``, if it has one (reason ``goal``)."""
        contact = self.sim.contacts.get(contact_id)
        if contact is None or contact.deleted:
            return
        run = contact.runs.get(flow_name)
        if run is not None:
            self.sim._end_run(run, t, "goal")
