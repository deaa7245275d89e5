"""The flow engine: :func:`simulate` turns a scenario into a :class:`SimulationResult`.

Modules, upstream first: :mod:`.plan` validates and compiles a scenario, :mod:`.live`
evaluates contacts touched by actions, :mod:`.core` is the event loop.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from segsim.engine.core import Logs, Simulation
from segsim.engine.plan import Plan, build_plan
from segsim.result import SimulationResult, build_frame

__all__ = ["simulate"]


class _Progress:
    """A tqdm bar over simulated time, shown only for runs longer than a second."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.started = time.perf_counter()

    def update_to(self, fraction: float) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if time.perf_counter() - self.started < 1.0 and fraction < 1.0:
                return
            from tqdm.auto import tqdm

            self.bar = tqdm(total=1000, desc="simulating", unit="‰", leave=False)
        self.bar.n = int(min(max(fraction, 0.0), 1.0) * 1000)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def simulate(scenario: Any, *, progress: bool = True) -> SimulationResult:
    """Replay the scenario's history through its flows; nothing is sent.

    Parameters
    ----------
    scenario : Scenario
        Data (a store), segments, flows, window, schedule, channels and seed.
    progress : bool
        Show a progress bar (notebooks and terminals) when the run takes over a second.

    Returns
    -------
    SimulationResult
        ``segment_events``, ``runs``, ``steps``, ``actions``, ``suppressed`` and helpers.

    Raises
    ------
    FlowNotReady
        A flow without a trigger is active from the start or activated later.
    ConditionError, SegmentError, ScenarioError
        The scenario does not fit its data (unknown attribute, bad types, ...).
    CascadeLoopError
        Flows feed each other at one instant without making progress in time.
    """
    plan = build_plan(scenario)
    bar = _Progress(progress)
    try:
        sim = Simulation(
            plan,
            scenario.store,
            include_existing_members=scenario.include_existing_members,
            progress=bar,
        )
        logs = sim.run()
    finally:
        bar.close()
    frames = assemble(logs, plan, scenario.store.id_type)
    meta = {"flows": list(plan.flow_order), "seed": scenario.seed}
    return SimulationResult(frames, scenario=scenario, meta=meta)


def assemble(logs: Logs, plan: Plan, id_type: str | None) -> dict[str, pd.DataFrame]:
    """Build the five frames, numbering runs in a canonical order.

    Run ids follow (entry time, contact, flow order, entry order), so they do not depend
    on how contacts were processed or sharded.
    """
    id_dtype = "int64" if id_type == "integer" else "object"
    flow_rank = {name: i for i, name in enumerate(plan.flow_order)}
    runs = sorted(
        logs.runs, key=lambda r: (r[4], _contact_key(r[3]), flow_rank.get(r[1], len(flow_rank)), r[0])
    )
    run_id = {record[0]: i + 1 for i, record in enumerate(runs)}
    run_rows = [(run_id[r[0]], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in runs]
    step_rows = sorted(
        ((t, run_id[key], *rest) for t, key, *rest in logs.steps), key=lambda r: (r[0], r[1])
    )
    action_rows = sorted(
        ((t, run_id[key], *rest) for t, key, *rest in logs.actions), key=lambda r: (r[0], r[1])
    )
    event_rows = sorted(logs.segment_events, key=lambda r: (r[0], _contact_key(r[1])))
    suppressed_rows = sorted(
        logs.suppressed, key=lambda r: (r[0], _contact_key(r[2]), flow_rank.get(r[1], 0))
    )
    return {
        "segment_events": build_frame("segment_events", event_rows, id_dtype),
        "runs": build_frame("runs", run_rows, id_dtype),
        "steps": build_frame("steps", step_rows, id_dtype),
        "actions": build_frame("actions", action_rows, id_dtype),
        "suppressed": build_frame("suppressed", suppressed_rows, id_dtype),
    }


def _contact_key(contact_id: Any) -> tuple[int, Any]:
    return (0, contact_id) if isinstance(contact_id, int) else (1, str(contact_id))
