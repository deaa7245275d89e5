"""Re-simulating variants of one flow, reusing what a change cannot reach.

:class:`IncrementalSimulation` is what the explorer (:mod:`segsim.widgets`) runs on every
change: it simulates again only the contacts on which the changed flow has a trigger event,
keeps everyone else's rows and the segment transitions, and assembles frames identical to a
full :func:`segsim.simulate`. The rule, and why it is exact, is in the class docstring and
in docs/semantics.md.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from segsim.flows import Edit, EventTrigger, SegmentTrigger

__all__ = ["IncrementalSimulation"]


class IncrementalSimulation:
    """Re-simulate variants of one flow of a scenario, reusing what they cannot change.

    The rule (exact, not an approximation): contacts are independent, so a change to flow
    ``F`` can only change the story of a contact on which some version of ``F`` — as
    simulated, or as changed — has a trigger event. Until a first difference, such a
    contact's story is the same in both runs, and the first difference has to come from
    ``F`` deciding differently at one of its trigger events (entry, suppression, then its
    runs); exits, restarts and rechecks of ``F`` only follow its runs. So only contacts with
    an entry into (for ``on="exit"``, an exit from) one of those trigger segments in the
    baseline's ``segment_events`` (which logs every transition of every scenario segment,
    cascades included) are simulated again, *with every flow*, since flows may interact
    through a contact's state (lists, attributes, deletion). Everyone else keeps its baseline rows, whatever the flows share,
    and the frames are assembled exactly as a sharded run assembles them: identical to a
    full :func:`~segsim.simulate` (tested).

    The segment transitions are computed in DuckDB once per set of tracked conditions
    (waits and settings do not change them) and kept as an Arrow table.

    A variant must differ from the baseline in flow ``F`` only (its first version and its
    scheduled edits); any other variant is simulated in full (still from the kept
    transitions when its conditions match). So is every variant while some flow version of
    the scenario or the variant has an :class:`~segsim.flows.EventTrigger` (its trigger
    events are occurrences, not transitions in ``segment_events``).

    Parameters
    ----------
    scenario : Scenario
        The baseline; simulated once, at construction (:attr:`baseline`).
    flow_name : str
        The flow whose variants are simulated.
    """

    def __init__(self, scenario: Any, flow_name: str) -> None:
        self.scenario = scenario
        self.flow_name = flow_name
        self._transitions: dict[Any, Any] = {}
        # per set of trigger events: the contacts to re-run, and everyone else's parts
        self._kept: dict[
            tuple[tuple[str, str], ...], tuple[Any, dict[str, list[pd.DataFrame]]]
        ] = {}
        self.baseline = self._run(scenario, None)
        #: how many contacts the last :meth:`simulate` re-ran (None: every contact)
        self.last_contacts: int | None = None
        #: how many contacts the store holds
        self.contacts = len(scenario.store.contacts)

    def simulate(self, variant: Any) -> Any:
        """The :class:`~segsim.result.SimulationResult` of ``variant``; see the class."""
        from segsim.engine.output import frames_to_parts

        if (
            not self._only_flow_differs(variant)
            or variant.policy.rate_limits  # shared by every contact: re-running some is not exact
            or _event_triggered(self.scenario, variant)
        ):
            self.last_contacts = None
            return self._run(variant, None)
        triggers = _trigger_events(self.scenario, self.flow_name) | _trigger_events(
            variant, self.flow_name
        )
        events = self.baseline.segment_events
        key = tuple(sorted(triggers))
        if key not in self._kept:
            pairs = pd.MultiIndex.from_arrays([events["segment"], events["event"]])
            hit = pairs.isin(list(triggers)) if triggers else [False] * len(events)
            reached = events.loc[hit, "contact_id"].unique()
            kept = {
                name: frame[~frame["contact_id"].isin(reached)]
                for name, frame in self.baseline.frames.items()
            }
            self._kept[key] = reached, frames_to_parts(kept, _id_dtype(self.scenario.store))
        reached, kept_parts = self._kept[key]
        self.last_contacts = len(reached)
        return self._run(variant, reached, kept_parts)

    def _run(
        self,
        scenario: Any,
        contacts: Any,
        kept: dict[str, list[pd.DataFrame]] | None = None,
    ) -> Any:
        """Simulate ``scenario``: every contact, or only ``contacts`` with the ``kept``
        parts of everyone else."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from segsim.engine.core import Simulation
        from segsim.engine.output import MemorySink, frames_from_parts
        from segsim.engine.plan import build_plan
        from segsim.engine.stream import transitions_table
        from segsim.result import SimulationResult

        plan = build_plan(scenario)
        store = scenario.store
        id_dtype = _id_dtype(store)
        key = _conditions_key(plan)
        if key not in self._transitions:
            self._transitions[key] = transitions_table(plan, store)
        table = self._transitions[key]
        sink = MemorySink(id_dtype)
        if contacts is not None and table.num_columns:
            wanted = pa.array(list(contacts), type=table.schema.field("contact_id").type)
            table = table.filter(pc.is_in(table["contact_id"], value_set=wanted))
        Simulation(
            plan,
            store,
            include_existing_members=scenario.include_existing_members,
            transitions=table,
            sink=sink,
            key_offset=1 << 40,  # beyond the baseline's run ids, reused as run keys below
        ).run()
        parts = sink.parts
        for name, reused in (kept or {}).items():
            parts[name] = reused + parts[name]
        frames = frames_from_parts(parts, plan.flow_order, id_dtype)
        meta = {"flows": list(plan.flow_order), "seed": scenario.seed, "shards": 1}
        return SimulationResult(frames, scenario=scenario, meta=meta)

    def _only_flow_differs(self, variant: Any) -> bool:
        def rest(scenario: Any) -> tuple[Any, ...]:
            fields = {
                name: getattr(scenario, name)
                for name in type(scenario).model_fields
                if name not in ("flows", "schedule", "data")
            }
            flows = [(f.name, None if f.name == self.flow_name else f) for f in scenario.flows]
            schedule = [e for e in scenario.schedule if not _edits(e, self.flow_name)]
            return fields, flows, schedule

        return variant.store is self.scenario.store and rest(variant) == rest(self.scenario)


def _id_dtype(store: Any) -> str:
    return "int64" if store.id_type == "integer" else "object"


def _edits(event: Any, flow_name: str) -> bool:
    return isinstance(event, Edit) and event.flow_name == flow_name


def _trigger_events(scenario: Any, flow_name: str) -> set[tuple[str, str]]:
    """``(segment, "enter" | "exit")``: the trigger events of every version of a flow."""
    flows = [f for f in scenario.flows if f.name == flow_name]
    flows += [e.flow for e in scenario.schedule if _edits(e, flow_name)]
    return {
        (f.trigger.segment, f.trigger.on) for f in flows if isinstance(f.trigger, SegmentTrigger)
    }


def _event_triggered(*scenarios: Any) -> bool:
    """Whether some flow version is triggered by events: their trigger events are not in
    ``segment_events``, so the contacts a change reaches are not known from it (such
    variants are simulated in full)."""
    return any(
        isinstance(flow.trigger, EventTrigger)
        for scenario in scenarios
        for flow in (*scenario.flows, *(e.flow for e in scenario.schedule if isinstance(e, Edit)))
    )


def _conditions_key(plan: Any) -> tuple[Any, ...]:
    """What a plan's transitions depend on: tracked conditions, types and window."""
    segments = tuple(s.model_dump_json() for s in (*plan.segments, *plan.hidden))
    return segments, tuple(sorted(plan.types.items())), plan.start, plan.end
