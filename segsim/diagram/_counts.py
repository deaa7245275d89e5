"""Versions of a flow in force and the counts of a simulation per step: what the diagrams
of :mod:`segsim.diagram` write into their boxes. Part of :mod:`segsim.diagram` (import from
there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from segsim._internal.steps import walk
from segsim.analysis import funnel, has_outcomes

__all__ = [
    "STEP_COUNT_COLUMNS",
    "STEP_RESPONSE_COLUMNS",
    "FlowVersion",
    "step_counts",
    "versions_in_force",
]

#: Columns of :func:`step_counts`, in order.
STEP_COUNT_COLUMNS = (
    "step_id",
    "kind",
    "reached",
    "sent",
    "skipped",
    "applied",
    "then",
    "otherwise",
    "timed_out",
)

#: Columns :func:`step_counts` adds when the result has outcomes (docs/design.md §10).
STEP_RESPONSE_COLUMNS = ("delivered", "opened", "clicked", "converted")


# -- versions and counts --------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowVersion:
    """One version of a flow and when it was in force: ``[start, end)`` of the window.

    ``version`` is the number the simulation gives it (the ``version`` of ``runs``,
    ``steps`` and ``actions``): an edit's flow keeps its own ``version`` when higher than
    the one it replaces, else takes that one + 1.
    """

    flow: Any
    start: pd.Timestamp
    end: pd.Timestamp
    version: int

    def caption(self) -> str:
        """``"v2, in force 2026-05-01 → 2026-07-01"``."""
        return f"v{self.version}, in force {_when(self.start)} → {_when(self.end)}"


def versions_in_force(scenario: Any, flow_name: str) -> list[FlowVersion]:
    """The versions of a flow in force during the scenario's window, in time order.

    The scenario's flow is in force from ``start`` until the first scheduled
    :class:`~segsim.flows.Edit`; each edit's flow from its instant until the next. An edit
    at or before ``start`` replaces the version in force from ``start``; one at or after
    ``end`` never comes into force; of several edits at one instant the last wins.

    Raises ``KeyError`` when the scenario has no such flow.
    """
    flows = [f for f in scenario.flows if f.name == flow_name]
    if not flows:
        known = ", ".join(repr(f.name) for f in scenario.flows) or "none"
        raise KeyError(f"the scenario has no flow {flow_name!r}; its flows: {known}")
    start, end = pd.Timestamp(scenario.start), pd.Timestamp(scenario.end)
    periods: list[tuple[pd.Timestamp, Any, int]] = []
    for at, number, flow in _numbered_versions(scenario, flow_name):
        at = max(at, start)
        if at >= end:
            break
        if periods and at == periods[-1][0]:
            periods[-1] = (at, flow, number)  # in force for no time at all: replaced at once
        else:
            periods.append((at, flow, number))
    ends = [at for at, _, _ in periods[1:]] + [end]
    return [
        FlowVersion(flow, at, until, number)
        for (at, flow, number), until in zip(periods, ends, strict=True)
    ]


def _numbered_versions(scenario: Any, flow_name: str) -> list[tuple[pd.Timestamp, int, Any]]:
    """``(from, version number, flow)`` of the flow and each of its edits, in time order,
    numbered as the simulation numbers them."""
    flows = [f for f in getattr(scenario, "flows", ()) if f.name == flow_name]
    if not flows:
        return []
    edits = sorted(
        (
            (pd.Timestamp(event.at), i, event.flow)
            for i, event in enumerate(getattr(scenario, "schedule", ()))
            if getattr(event, "kind", None) == "edit" and event.flow_name == flow_name
        ),
        key=lambda item: (item[0], item[1]),
    )
    number = int(flows[0].version)
    out = [(pd.Timestamp.min.tz_localize("UTC"), number, flows[0])]
    for at, _, flow in edits:
        number = int(flow.version) if flow.version > number else number + 1
        out.append((at, number, flow))
    return out


def step_counts(result: Any, flow_name: str, *, version: int | None = None) -> pd.DataFrame:
    """Per step of one flow: how many runs reached it and what happened there.

    Parameters
    ----------
    result : SimulationResult
        A simulation result (its ``runs``, ``steps`` and ``actions`` frames are read).
    flow_name : str
        The flow to count.
    version : int, optional
        Only what happened while this version was in force (the ``version`` column of
        ``steps`` and ``actions``): a run that entered on v1 and went on after the edit to
        v2 counts in v1's boxes up to the edit and in v2's after it. Each execution of a
        step thus counts in exactly one version. Default: every version.

    Returns
    -------
    DataFrame
        ``step_id``, ``kind``, ``reached`` (distinct runs that executed the step, as in
        :func:`~segsim.analysis.funnel`), ``sent``, ``skipped``, ``applied`` (action rows of
        the step by status), ``then``, ``otherwise`` (branch outcomes), ``timed_out`` (with
        ``then``, the outcomes of a WaitFor: a run still waiting has no outcome yet and has
        not reached the step); all counts int64. With a response model or a flow goal (or
        rows in ``responses`` or ``conversions``), then ``delivered``, ``opened`` (human),
        ``clicked`` (responses to the step's messages) and ``converted`` (conversions
        credited to the step), the step's version's alone with ``version``.
        Steps come in the flow's tree order when the result records its scenario (with
        ``version``, that version's steps; without, every step of the flow and of its
        scheduled edits; 0 where no run reached it), then any other step in order of first
        appearance.

    Examples
    --------
    >>> from segsim.diagram import flow_svg
    >>> flow_svg(flow, counts=step_counts(result, "Welcome", version=2))
    '<svg ...</svg>'
    """
    runs = result.runs[result.runs["flow"] == flow_name]
    steps = result.steps[result.steps["flow"] == flow_name]
    actions = result.actions[result.actions["flow"] == flow_name]
    if version is not None:
        steps = steps[steps["version"] == version]
        actions = actions[actions["version"] == version]
    order, kinds = _declared_steps(getattr(result, "scenario", None), flow_name, version)

    reached = funnel(runs, steps, flow=flow_name, step_order=order)
    reached = reached[reached["stage_type"] == "step"]
    for step_id, kind in zip(steps["step_id"], steps["kind"], strict=True):
        kinds.setdefault(step_id, kind)
    status = actions.groupby(["step_id", "status"]).size()
    outcome = steps.groupby(["step_id", "outcome"]).size()

    def count(table: pd.Series, step_id: str, value: str) -> int:
        return int(table.get((step_id, value), 0))

    rows = [
        (
            step_id,
            kinds.get(step_id),
            int(n),
            count(status, step_id, "sent"),
            count(status, step_id, "skipped"),
            count(status, step_id, "applied"),
            count(outcome, step_id, "then"),
            count(outcome, step_id, "otherwise"),
            count(outcome, step_id, "timed_out"),
        )
        for step_id, n in zip(reached["stage"], reached["runs"], strict=True)
    ]
    frame = pd.DataFrame(rows, columns=list(STEP_COUNT_COLUMNS))
    frame["step_id"] = frame["step_id"].astype(object)
    frame["kind"] = frame["kind"].astype(object)
    for column in STEP_COUNT_COLUMNS[2:]:
        frame[column] = frame[column].astype("int64")
    if has_outcomes(result):
        _add_responses(frame, result, flow_name, version)
    return frame


def _add_responses(frame: pd.DataFrame, result: Any, flow_name: str, version: int | None) -> None:
    """The responses and conversions of each step's messages (of one version: those of the
    runs' actions sent while it was in force, matched by run and step)."""
    responses = result.responses[result.responses["flow"] == flow_name]
    conversions = result.conversions[result.conversions["flow"] == flow_name]
    if version is not None:
        actions = result.actions
        sent = actions[
            (actions["flow"] == flow_name)
            & (actions["version"] == version)
            & (actions["status"] == "sent")
        ]
        keys = pd.MultiIndex.from_frame(sent[["run_id", "step_id"]])
        responses = responses[pd.MultiIndex.from_frame(responses[["run_id", "step_id"]]).isin(keys)]
        conversions = conversions[
            pd.MultiIndex.from_frame(conversions[["run_id", "step_id"]]).isin(keys)
        ]
    by_kind = responses.groupby(["step_id", "response"]).size()
    for kind in STEP_RESPONSE_COLUMNS[:3]:
        frame[kind] = [int(by_kind.get((step_id, kind), 0)) for step_id in frame["step_id"]]
    credited = conversions["step_id"].value_counts()
    frame["converted"] = [int(credited.get(step_id, 0)) for step_id in frame["step_id"]]
    for column in STEP_RESPONSE_COLUMNS:
        frame[column] = frame[column].astype("int64")


def _declared_steps(
    scenario: Any, flow_name: str, version: int | None
) -> tuple[list[str], dict[str, str]]:
    """Step ids (tree order) and kinds of a flow in the scenario (one version, or all)."""
    if scenario is None:
        return [], {}
    numbered = _numbered_versions(scenario, flow_name)
    flows = [flow for _, number, flow in numbered if version is None or number == version]
    order: list[str] = []
    kinds: dict[str, str] = {}
    for flow in flows:
        for _, step, _next in walk(flow.steps):
            if step.id not in kinds:
                order.append(step.id)
                kinds[step.id] = step.kind
    return order, kinds


def _when(stamp: pd.Timestamp) -> str:
    return f"{stamp:%Y-%m-%d}" if stamp == stamp.normalize() else f"{stamp:%Y-%m-%d %H:%M}"
