"""The event loop: segment transitions in, runs, steps, actions and suppressions out.

SimPy drives time. Each instant is handled in the order docs/design.md §4.2 fixes:

    state changes -> segment transitions -> lifecycle -> exits/restarts -> triggers
    (then rechecks) -> due steps

Everything before "due steps" happens in one *urgent* SimPy event per instant
(``_on_instant``), so it always precedes the ordinary events of that instant: the steps of
runs whose waits end then. Runs are plain objects advanced by callbacks rather than one
SimPy process each: measured here, callbacks run a bare 5-step flow ~1.5x faster than
processes, and ending a run (exit, restart, pause, delete) is then a matter of bumping its
``token`` so its pending wait is ignored, instead of an interrupt (see benchmarks/).

Untouched contacts follow the transitions DuckDB precomputed (streamed in time order, in
batches); a contact touched by an action is replayed and evaluated live from then on
(:mod:`segsim.engine.live`). Event triggers' occurrences are streamed beside the transitions
(:mod:`segsim.engine.occurrences`) and decided in the triggers phase of their instant.

A run's steps are executed by the handler of their kind (``Simulation._handlers``: one per
step kind, as :data:`segsim.engine.compiled.STEP_RULES` has one compile rule per kind); a
message's status, reason and cost are decided by :mod:`segsim.engine.delivery`; random draws
come from :mod:`segsim.engine.draws`. Runs that enter take their first steps before the other
steps due at their instant (see ``_first_steps``, ``_react``, and docs/semantics.md).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pyarrow as pa
import simpy
from simpy.core import URGENT

from segsim import schema
from segsim._internal.frames import (
    ACTIONS,
    CONVERSIONS,
    RESPONSES,
    RUNS,
    SEGMENT_EVENTS,
    STEPS,
    SUPPRESSED,
    FrameSpec,
)
from segsim._internal.localtime import wait_until
from segsim._internal.sql import quote_identifier
from segsim._internal.vocab import ACTION_KINDS, RECHECK_AFTER, STEP_KINDS
from segsim.engine.compiled import ActionStep, BranchStep, WaitForStep, WaitStep
from segsim.engine.delivery import Delivery
from segsim.engine.draws import Draws
from segsim.engine.experiments import HoldoutGroup, audience_split_step, split_step
from segsim.engine.goal_exit import GoalExits
from segsim.engine.goals import observed_conversions
from segsim.engine.live import EVENT_ROW, LiveContact, replay, time_boundaries
from segsim.engine.occurrences import read_occurrences
from segsim.engine.plan import CompiledFlow, LifecycleStep, Plan
from segsim.engine.policy import Policies, TimeZones
from segsim.engine.responses import Responder, events_stand_in
from segsim.errors import CascadeLoopError
from segsim.flows import FlowState, next_state
from segsim.responses import response_event
from segsim.segments import transition_query

#: Runs one contact may start at one instant before it is a loop. (A run's steps are a
#: finite tree, so an instant that never ends needs ever more run starts.)
MAX_WORK_PER_INSTANT = 1_000
BATCH_ROWS = 200_000


def _writes(spec: FrameSpec, *columns: str) -> None:
    """Check, at import, that the rows this module writes for ``spec`` have its layout.

    The hot loop appends plain tuples whose fields are the frame's columns in order (see
    :mod:`segsim._internal.frames`); a column added there must be given a value here too.
    """
    if tuple(spec.names) != columns:
        raise RuntimeError(
            f"segsim.engine.core writes {spec.name} rows as {columns}, but the frame declares "
            f"{tuple(spec.names)}: give the new column its value where the engine writes the rows"
        )


_writes(SEGMENT_EVENTS, "time", "contact_id", "segment", "event", "nth", "cause")
_writes(
    RUNS, "run_id", "flow", "version", "contact_id", "entered_at", "entry", "ended_at", "end_reason"
)
_writes(STEPS, "time", "run_id", "flow", "contact_id", "step_id", "kind", "outcome", "version")
_writes(
    ACTIONS,
    "time",
    "run_id",
    "flow",
    "step_id",
    "contact_id",
    "action",
    "channel",
    "template",
    "status",
    "reason",
    "cost",
    "detail",
    "version",
    "queued",
)
_writes(SUPPRESSED, "time", "flow", "contact_id", "reason")
_writes(
    RESPONSES, "time", "run_id", "flow", "step_id", "contact_id", "channel", "template", "response"
)
_writes(
    CONVERSIONS, "time", "contact_id", "flow", "step_id", "channel", "value", "source", "run_id"
)

#: where a run's end is written in its ``runs`` record
_ENDED_AT, _END_REASON = RUNS.position("ended_at"), RUNS.position("end_reason")


class Run:
    """One contact's passage through one flow."""

    __slots__ = (
        "contact",
        "entered_at",
        "entry",
        "flow",
        "held",
        "key",
        "open",
        "record",
        "step",
        "token",
        "version",
        "waiting",
    )

    def __init__(
        self, key: int, flow: CompiledFlow, contact: Any, entered_at: int, entry: str
    ) -> None:
        self.key = key
        self.flow = flow  # the current version; runs move to new versions on edit
        self.version = flow.version  # the version it entered on
        self.contact = contact
        self.entered_at = entered_at
        self.entry = entry
        self.step: str | None = flow.first  # the step it executes next; None: it is done
        # bumped when the run ends or leaves a WaitFor early: a pending wait (or WaitFor
        # timeout) of an older token is ignored
        self.token = 0
        self.held = False
        self.waiting: int | None = None  # the tracked condition a WaitFor waits for
        self.open = True
        # its row of the runs frame (RUNS's columns); the end is filled in when it ends
        self.record: list[Any] = [
            key,
            flow.name,
            flow.version,
            contact,
            entered_at,
            entry,
            None,
            None,
        ]


class Contact:
    """What the engine knows about one contact (slotted: there may be millions)."""

    __slots__ = (
        "deleted",
        "last_end",
        "live",
        "members",
        "nth",
        "runs",
        "work",
        "work_at",
        "work_flows",
    )

    def __init__(self) -> None:
        self.members: set[int] = set()  # tracked conditions that hold now
        self.runs: dict[str, Run] = {}  # open run per flow
        self.last_end: dict[str, int] = {}  # flow -> end of its latest run
        self.live: LiveContact | None = None
        self.nth: list[int] | None = None  # live contacts: entries per tracked condition
        self.deleted = False
        self.work_at: int | None = None  # the instant ``work`` counts run starts at
        self.work = 0
        self.work_flows: set[str] | None = None  # flows started at ``work_at`` (made when needed)


@dataclass
class Logs:
    """Plain tuples appended in the hot loop; frames are built once, at the end.

    Each row's fields are its frame's columns, in order (checked at import, see
    :func:`_writes`). ``runs`` holds each run's mutable ``record`` (its end is filled in
    when it ends); a sink may move finished rows out (see :mod:`segsim.engine.output`) to
    bound memory.
    """

    segment_events: list[tuple] = field(default_factory=list)
    runs: list[list] = field(default_factory=list)
    steps: list[tuple] = field(default_factory=list)
    actions: list[tuple] = field(default_factory=list)
    suppressed: list[tuple] = field(default_factory=list)
    responses: list[tuple] = field(default_factory=list)
    conversions: list[tuple] = field(default_factory=list)


class _Soon(simpy.Event):
    """An event at ``now + delay`` that comes *before* the ordinary events of its instant.

    SimPy's own way to make an event that schedules itself, as :class:`simpy.Timeout` does,
    but at ``URGENT`` priority: the engine's phase of an instant (state changes to triggers)
    and the first steps of runs entered by a cascade precede the steps of runs whose waits
    end then (ordinary timeouts). Among themselves they keep the order they were scheduled in.
    """

    def __init__(self, env: simpy.Environment, delay: int, callback: Callable[[Any], None]):
        super().__init__(env)
        self._ok = True  # triggered on creation, as a Timeout is
        self._value = None
        self.callbacks.append(callback)
        env.schedule(self, URGENT, delay)


#: A step handler: execute ``step`` for ``run`` at ``t``; True if the run goes on at once
#: (at ``run.step``), False if it stopped (it waits, is held, or has ended).
StepHandler = Callable[[Run, Any, Contact, int], bool]


class Simulation:
    """Run a compiled scenario; see :func:`segsim.simulate`.

    Steps are executed by the handler of their kind (:attr:`_handlers`, one per step kind,
    matching the compile rules of :data:`segsim.engine.compiled.STEP_RULES`); a message's
    delivery is decided by :class:`~segsim.engine.delivery.Delivery`; random draws, for the
    step kinds that need them, come from :attr:`draws` (:mod:`segsim.engine.draws`).
    """

    def __init__(
        self,
        plan: Plan,
        store: Any,
        *,
        include_existing_members: bool = False,
        contacts_sql: str | None = None,
        progress: Any = None,
        sink: Any = None,
        key_offset: int = 0,
        transitions: pa.Table | list[tuple[int, list[tuple]]] | None = None,
        replication: int = 0,
        histories: dict[Any, tuple[list, int | None]] | None = None,
    ) -> None:
        self.plan = plan
        #: precomputed transitions (:func:`transitions_table` of this plan, possibly filtered
        #: to some contacts) read instead of querying DuckDB: a caller re-running one plan
        #: many times, like the explorer, computes them once (or a list of ``(t, rows)``
        #: grouped by instant, as the event loop reads them)
        self.transitions = transitions
        self.store = store
        self.include_existing = include_existing_members
        self.contacts_sql = contacts_sql
        self.progress = progress
        self.env = simpy.Environment(initial_time=plan.start)
        self.contacts: dict[Any, Contact] = {}
        self.logs = Logs()
        self.status: dict[str, FlowState] = dict(plan.initial_states)
        self.flows = dict(plan.flows)
        self.held: dict[str, list[Run]] = {name: [] for name in plan.flow_order}
        self.agenda: dict[int, dict[str, list]] = {}
        self.wakeups: set[int] = set()
        self.next_run_key = key_offset
        self.sink = sink
        self.delivery = Delivery(plan.channels)
        #: each contact's time zone (when a policy or a wait reads local time) and the
        #: delivery policy; made when the run starts (see :meth:`_start_policies`)
        self.zones: TimeZones | None = None
        self.policies: Policies | None = None
        self.draws = Draws(plan.seed, replication)
        self._handlers: dict[str, StepHandler] = {
            "wait": self._wait_step,
            "branch": self._branch_step,
            "split": partial(split_step, self),
            "audience_split": partial(audience_split_step, self),
            "wait_for": self._wait_for_step,
            **dict.fromkeys(ACTION_KINDS, self._action_step),
        }
        #: contacts whose story read a random draw (a split path, a holdout, a response to a
        #: sent message): the only ones another replication can change (see
        #: :func:`segsim.engine.shard_run.run_shard`)
        self.drawn: set[Any] = set()
        self.holdout = (
            None if plan.holdout is None else HoldoutGroup(plan.holdout, self.draws, self.drawn)
        )
        #: responses to sent messages and goals (docs/design.md §10)
        self.responder = Responder(plan, self.draws, self.drawn, self.contacts)
        self.goal_exits = GoalExits(self) if plan.goal_exits else None
        self.deleted_at: dict[Any, int] = {}  # when each deleted contact was deleted
        assert set(self._handlers) == set(STEP_KINDS), "every step kind has a handler"
        self.segment_of_flow_events = self._index_flow_events()
        # conditions some version of some flow reacts to: a transition is recorded as a
        # reaction even if only a version edited in at this very instant reacts to it
        # (lifecycle comes before triggers, exits and restarts at one instant)
        self.reacting = {c for cf in plan.versions.values() for c in cf.reacts_to()}
        self._stream: Iterator[tuple[int, list[tuple]]] | None = None
        self._stream_next: tuple[int, list[tuple]] | None = None
        # event triggers' occurrences, streamed beside the transitions (by instant)
        self._occurrences: Iterator[tuple[int, list[tuple]]] | None = None
        self._occurrences_next: tuple[int, list[tuple]] | None = None
        #: contacts' histories read ahead of going live; a caller running one plan many
        #: times (the replications of a shard) passes one dict to keep them for every run
        #: (a history is never modified: it depends only on the store and the plan)
        self._keep_histories = histories is not None
        self._history_cache: dict[Any, tuple[list, int | None]] = (
            {} if histories is None else histories
        )
        #: the store's event property types (None: the store has no events), read once
        self._event_types: dict[str, str] | bool | None = False
        self._segment_names = [s.name for s in plan.segments]
        # runs entered by the reactions being processed, to take their first steps once
        # those reactions are done (None outside the reactions, see _react)
        self._starting: list[Run] | None = None

    # -- setup -----------------------------------------------------------------------------

    def _index_flow_events(self) -> dict[int, list[tuple[str, str, bool]]]:
        """tracked condition -> [(flow, "trigger"|"exit"|"restart", on_enter)]."""
        index: dict[int, list[tuple[str, str, bool]]] = {}
        for name in self.plan.flow_order:
            cf = self.flows[name]
            if cf.trigger_condition is not None:
                index.setdefault(cf.trigger_condition, []).append(
                    (name, "trigger", cf.trigger_on_enter)
                )
            for condition, on_enter in cf.exit_events:
                index.setdefault(condition, []).append((name, "exit", on_enter))
            for condition, on_enter in cf.restart_events:
                index.setdefault(condition, []).append((name, "restart", on_enter))
        return index

    def run(self) -> Logs:
        # The loop allocates millions of small, long-lived objects (log tuples, runs) and no
        # reference cycles: the cyclic garbage collector would re-scan them all, again and
        # again, for nothing (measured: most of a large run). Paused for the run, restored after.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._run()
        finally:
            if collecting:
                gc.enable()

    def _start_policies(self) -> None:
        plan = self.plan
        if plan.local_time:
            self.zones = TimeZones(self.store, plan.timezone_attribute, plan.default_timezone)
        if plan.policy is not None and not plan.policy.is_empty:
            assert self.zones is not None or not plan.policy.uses_local_time
            zones = self.zones or TimeZones(self.store, None, plan.default_timezone)
            self.policies = Policies(plan.policy, zones, self.env, self)

    def _run(self) -> Logs:
        plan = self.plan
        self._start_policies()  # with the collector paused: it reads one row per contact
        self._stream = self._transitions()
        self._stream_next = next(self._stream, None)
        if self._stream_next is not None:
            self._wake(self._stream_next[0])
        # contacts about to enter event-triggered flows that change contacts: their
        # histories are prefetched per batch of occurrences, as for segment triggers
        touching = any(
            cf.trigger_event is not None and self._touches(cf) for cf in plan.versions.values()
        )
        self._occurrences = read_occurrences(
            plan, self.store, self.contacts_sql, on_batch=self._prefetch if touching else None
        )
        self._occurrences_next = next(self._occurrences, None)
        if self._occurrences_next is not None:
            self._wake(self._occurrences_next[0])
        # the schedule is validated to lie inside the window, and comes in the order it
        # applies (by time, then schedule order): appended so, each bucket keeps that order
        for step in plan.lifecycle:
            self._bucket(step.at)["lifecycle"].append(step)
            self._wake(step.at)
        self.env.run(until=plan.end)
        self._finish()
        return self.logs

    def _transitions(self) -> Iterator[tuple[int, list[tuple]]]:
        """The precomputed transitions grouped by instant, read from DuckDB in batches
        (see :func:`_transitions_sql`)."""
        plan = self.plan
        if self.store.id_type is None:
            return
        if isinstance(self.transitions, list):
            # already grouped by instant (the replications of a shard share one list, see
            # :func:`segsim.engine.shard_run.grouped_transitions`): read ahead as below
            candidates = self._touching_triggers()
            if candidates:
                self._prefetch(
                    [row[1] for _, rows in self.transitions for row in rows if row[2] in candidates]
                )
            yield from self.transitions
            return
        cursor = self.store.con.cursor()
        if self.transitions is not None:
            reader: Any = self.transitions.to_reader(BATCH_ROWS)
        else:
            sql, params = _transitions_sql(plan, self.store, self.contacts_sql)
            reader = cursor.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)
        current_t: int | None = None
        rows: list[tuple] = []
        total = max(plan.end - plan.start, 1)
        candidates = self._touching_triggers()
        for batch in _batches(reader):
            columns = [batch.column(i).to_pylist() for i in range(7)]
            if candidates:
                self._prefetch(
                    [c for c, seg in zip(columns[1], columns[2], strict=True) if seg in candidates]
                )
            if self.sink is not None:
                self.sink.maybe_flush(self.logs)
            for row in zip(*columns, strict=True):
                t = row[0]
                if t != current_t:
                    if rows:
                        yield current_t, rows  # type: ignore[misc]
                    current_t, rows = t, []
                rows.append(row)
            if self.progress is not None and current_t is not None:
                self.progress.update_to((current_t - plan.start) / total)
        if rows:
            yield current_t, rows  # type: ignore[misc]
        cursor.close()

    def _touching_triggers(self) -> set[int]:
        """Trigger conditions of flow versions with actions that change contacts."""
        return {
            cf.trigger_condition
            for cf in self.plan.versions.values()
            if cf.trigger_condition is not None and self._touches(cf)
        }

    def _touches(self, cf: CompiledFlow) -> bool:
        """Whether a flow version has actions that take a contact off the precomputed path."""
        return any(
            isinstance(step, ActionStep)
            and (step.kind == "delete_contact" or self._matters(step.changes))
            for step in cf.steps.values()
        )

    # -- the agenda: one urgent wake-up per instant ------------------------------------------

    def _bucket(self, t: int) -> dict[str, list]:
        bucket = self.agenda.get(t)
        if bucket is None:
            bucket = self.agenda[t] = {
                "live": [],
                "lifecycle": [],
                "recheck": [],
                "responses": [],
                "goals": [],
            }
        return bucket

    def _wake(self, t: int) -> None:
        if t in self.wakeups or t >= self.plan.end:
            return
        self.wakeups.add(t)
        _Soon(self.env, t - int(self.env.now), partial(self._on_event_instant, t))

    def _on_event_instant(self, t: int, _event: simpy.Event) -> None:
        self._on_instant(t)

    def _on_instant(self, t: int) -> None:
        """Everything of instant ``t`` before its due steps, in the documented order."""
        self.wakeups.discard(t)
        starting: list[Run] = []
        self._starting = starting
        reactions: dict[Any, list[tuple[int, bool]]] = {}
        if self._stream_next is not None and self._stream_next[0] == t:
            self._apply_stream(self._stream_next[1], reactions)
            self._stream_next = next(self._stream, None) if self._stream else None
            if self._stream_next is not None:
                self._wake(self._stream_next[0])
        occurrences: list[tuple] = []
        if self._occurrences_next is not None and self._occurrences_next[0] == t:
            occurrences = self._occurrences_next[1]
            self._occurrences_next = next(self._occurrences, None)  # type: ignore[arg-type]
            if self._occurrences_next is not None:
                self._wake(self._occurrences_next[0])
        bucket = self.agenda.pop(t, None)
        if bucket is not None:
            for contact_id in sorted(set(bucket["live"]), key=_sort_key):
                self._live_instant(contact_id, t, reactions)
            # responses to earlier messages (unsubscribes, response events): state changes
            # of this instant, after its data changes, as an action's would be
            responding: dict[Any, list[tuple]] = {}
            for contact_id, changes in bucket["responses"]:
                responding.setdefault(contact_id, []).extend(changes)
            for contact_id in sorted(responding, key=_sort_key):
                changed = self._respond(contact_id, responding[contact_id], t)
                if changed:
                    reactions.setdefault(contact_id, []).extend(changed)
            for step in bucket["lifecycle"]:
                self._apply_lifecycle(step, t)
        if self.goal_exits is not None:  # goal exits come before exit conditions
            self.goal_exits.occurred(occurrences, bucket["goals"] if bucket else (), t)
        for contact_id, changes in reactions.items():
            self._exits_and_restarts(contact_id, changes, t)
            self._wait_fors(contact_id, changes, t)
        for contact_id, changes in reactions.items():
            self._triggers(contact_id, changes, t)
        if occurrences:
            self._event_triggers(occurrences, t)
        if bucket is not None:
            for flow_name, contact_id, ended_at in bucket["recheck"]:
                self._recheck(flow_name, contact_id, ended_at, t)
        self._starting = None
        # the runs that entered now take their first steps: the first due steps of this instant
        self._first_steps(starting)

    def _first_steps(self, runs: list[Run], _event: Any = None) -> None:
        """Runs that entered together take their first steps: by flow (scenario order), then
        contact, then the order they entered in."""
        if len(runs) > 1:
            runs.sort(key=_start_order)
        for run in runs:
            self._advance(run, run.token)

    # -- transitions ----------------------------------------------------------------------------

    def _contact(self, contact_id: Any) -> Contact:
        contact = self.contacts.get(contact_id)
        if contact is None:
            contact = self.contacts[contact_id] = Contact()
        return contact

    def _apply_stream(
        self, rows: list[tuple], reactions: dict[Any, list[tuple[int, bool]]]
    ) -> None:
        n_user = self.plan.user_segments
        names = self._segment_names
        log = self.logs.segment_events.append
        for t, contact_id, segment, enter, nth, from_time, initial in rows:
            contact = self._contact(contact_id)
            if contact.live is not None or contact.deleted:
                continue  # this contact is evaluated live now
            if enter:
                contact.members.add(segment)
            else:
                contact.members.discard(segment)
            if initial and not self.include_existing:
                continue
            if segment < n_user:
                log(
                    (
                        t,
                        contact_id,
                        names[segment],
                        "enter" if enter else "exit",
                        nth,
                        "time" if from_time else "history",
                    )
                )
            if segment in self.reacting:
                reactions.setdefault(contact_id, []).append((segment, enter))

    def _go_live(self, contact_id: Any, contact: Contact, now: int) -> LiveContact:
        """Leave the precomputed path: replay this contact's history up to ``now``."""
        if contact.live is not None:
            return contact.live
        plan = self.plan
        history, birth = self._history(contact_id)
        state, members, nth = replay(history, birth, now, plan.predicates, plan.leaves)
        contact.live = state
        contact.nth = nth
        contact.members = {i for i, m in enumerate(members) if m}
        for t, _ in state.future:
            self._bucket(t)["live"].append(contact_id)
            self._wake(t)
        self._schedule_boundaries(contact_id, state, now)
        return state

    def _history(self, contact_id: Any) -> tuple[list[tuple[int, bool, str, Any]], int | None]:
        """A contact's used history and birth instant: prefetched in bulk, else one query."""
        if self._keep_histories:
            found = self._history_cache.get(contact_id)
            if found is None:
                found = self._fetch_histories([contact_id]).get(contact_id, ([], None))
                self._history_cache[contact_id] = found
            return found
        found = self._history_cache.pop(contact_id, None)
        if found is None:
            found = self._fetch_histories([contact_id]).get(contact_id, ([], None))
        return found

    def _fetch_histories(self, contact_ids: list[Any]) -> dict[Any, tuple[list, int | None]]:
        """The histories of many contacts in one query (one scan of the changes)."""
        plan = self.plan
        used, used_lists = plan.used_attributes, plan.used_lists
        cursor = self.store.con.cursor()
        rows = cursor.execute(
            f"""WITH wanted AS (SELECT unnest(?) AS contact_id)
                SELECT c.contact_id, epoch_us(c.ts), FALSE, c.attribute, a.type, c.v_string,
                       c.v_number, c.v_boolean, epoch_us(c.v_timestamp)
                FROM {schema.CHANGES} c JOIN {schema.ATTRIBUTES} a USING (attribute)
                WHERE c.contact_id IN (SELECT contact_id FROM wanted) AND c.ts < make_timestamp(?)
                UNION ALL
                SELECT contact_id, epoch_us(ts), TRUE, list, 'list', NULL, NULL, member, NULL
                FROM {schema.LIST_CHANGES}
                WHERE contact_id IN (SELECT contact_id FROM wanted) AND ts < make_timestamp(?)
                ORDER BY 1, 2""",
            [contact_ids, plan.end, plan.end],
        ).fetchall()
        cursor.close()
        out: dict[Any, tuple[list, int | None]] = {}
        for contact_id, t, is_list, name, kind, v_string, v_number, v_boolean, v_time in rows:
            entry = out.get(contact_id)
            if entry is None:
                entry = out[contact_id] = ([], t)  # rows come sorted: the first is the birth
            if is_list:
                if name in used_lists:
                    entry[0].append((t, True, name, bool(v_boolean)))
            elif name in used:
                value = {
                    "string": v_string,
                    "number": v_number,
                    "boolean": v_boolean,
                    "timestamp": v_time,
                }[kind]
                entry[0].append((t, False, name, value))
        self._fetch_events(contact_ids, out)
        return out

    def _fetch_events(self, contact_ids: list[Any], out: dict[Any, Any]) -> None:
        """Add the contacts' event occurrences to their histories (a contact exists from its
        first recorded anything, events included; only the used events are history rows)."""
        store, plan = self.store, self.plan
        if self._event_types is False:
            self._event_types = store.event_property_types if store.event_names else None
        types = self._event_types
        if types is None or types is False:
            return
        props = sorted(types)
        columns = "".join(
            f", epoch_us({quote_identifier(schema.property_column(p))})"
            if types[p] == "timestamp"
            else f", {quote_identifier(schema.property_column(p))}"
            for p in props
        )
        cursor = store.con.cursor()
        rows = cursor.execute(
            f"""SELECT contact_id, epoch_us(ts), event{columns} FROM {schema.EVENTS}
                WHERE contact_id IN (SELECT unnest(?)) AND ts < make_timestamp(?)
                ORDER BY contact_id, ts, seq""",
            [contact_ids, plan.end],
        ).fetchall()
        cursor.close()
        used = plan.used_events
        for contact_id, t, name, *values in rows:
            entry = out.get(contact_id)
            if entry is None:
                entry = out[contact_id] = ([], t)
            elif entry[1] is None or t < entry[1]:
                out[contact_id] = entry = (entry[0], t)
            if name in used:
                properties = {
                    p: (float(v) if types[p] == "number" else v)
                    for p, v in zip(props, values, strict=True)
                    if v is not None
                }
                entry[0].append((t, EVENT_ROW, name, properties))

    def _prefetch(self, contact_ids: list[Any]) -> None:
        """Load, in one query, the histories of contacts about to enter flows that change contacts."""
        wanted = [
            c
            for c in dict.fromkeys(contact_ids)
            if c not in self._history_cache
            and (c not in self.contacts or self.contacts[c].live is None)
        ]
        if wanted:
            self._history_cache.update(self._fetch_histories(wanted))

    def _schedule_boundaries(self, contact_id: Any, state: LiveContact, now: int) -> None:
        for instant in time_boundaries(state.attributes, self.plan.leaves, now, self.plan.end):
            self._bucket(instant)["live"].append(contact_id)
            self._wake(instant)

    def _live_instant(
        self, contact_id: Any, t: int, reactions: dict[Any, list[tuple[int, bool]]]
    ) -> None:
        """A live contact's history changes and/or time boundary at ``t``."""
        contact = self.contacts[contact_id]
        state = contact.live
        if state is None or contact.deleted:
            return
        cause = "time"
        inputs: set[tuple[bool, str]] = set()
        while state.future and state.future[0][0] <= t:
            row_t, changes = state.future.pop(0)
            # only a real change is an input that changed: a row re-setting an attribute
            # to its current value (or a list membership the contact has) changes nothing
            touched = {(is_list, name) for is_list, name, _ in changes}
            before = {key: _current(state, key) for key in touched}
            state.apply(changes, row_t)
            inputs.update(key for key in touched if _current(state, key) != before[key])
            cause = "history"
        changed = self._evaluate(contact_id, contact, t, cause, inputs)
        if cause == "history":
            self._schedule_boundaries(contact_id, state, t)
        if changed:
            reactions.setdefault(contact_id, []).extend(changed)

    def _evaluate(
        self,
        contact_id: Any,
        contact: Contact,
        t: int,
        cause: str,
        inputs: set[tuple[bool, str]] | None = None,
    ) -> list[tuple[int, bool]]:
        """Re-evaluate a live contact's tracked conditions; log and return what changed.

        With ``cause="history"``, ``inputs`` are the attributes and lists that changed: a
        condition none of whose own inputs changed turned because of time (as in SQL).
        """
        state = contact.live
        assert state is not None and contact.nth is not None
        changed = []
        n_user = self.plan.user_segments
        for i, predicate in enumerate(self.plan.predicates):
            value = predicate(state.attributes, state.lists, t)
            if value == (i in contact.members):
                continue
            if value:
                contact.members.add(i)
                contact.nth[i] += 1
            else:
                contact.members.discard(i)
            if i < n_user:
                why = cause
                if cause == "history" and inputs is not None and not (self.plan.inputs[i] & inputs):
                    why = "time"
                self.logs.segment_events.append(
                    (
                        t,
                        contact_id,
                        self.plan.segments[i].name,
                        "enter" if value else "exit",
                        contact.nth[i],
                        why,
                    )
                )
            if i in self.reacting:
                changed.append((i, value))
        return changed

    # -- reactions: exits, restarts, triggers, rechecks ------------------------------------------

    def _react(self, contact_id: Any, changes: list[tuple[int, bool]], t: int) -> None:
        """A cascade: an action changed the contact's memberships during a step.

        Exits and restarts, then triggers, as at the start of an instant; the runs this
        enters take their first steps as soon as the steps being executed stop, before
        the other steps due at this instant (an urgent event).
        """
        started: list[Run] = []
        outer, self._starting = self._starting, started
        try:
            self._exits_and_restarts(contact_id, changes, t)
            self._wait_fors(contact_id, changes, t)
            self._triggers(contact_id, changes, t)
        finally:
            self._starting = outer
        if started:
            _Soon(self.env, 0, partial(self._first_steps, started))

    def _exits_and_restarts(self, contact_id: Any, changes: list[tuple[int, bool]], t: int) -> None:
        contact = self.contacts[contact_id]
        if not contact.runs:
            return
        happened = set(changes)
        for flow_name in self.plan.flow_order:
            run = contact.runs.get(flow_name)
            if run is None:
                continue
            cf = run.flow
            if any(event in happened for event in cf.exit_events):
                self._end_run(run, t, "exit_condition")
            elif any(event in happened for event in cf.restart_events):
                # a restart is the run starting over, not an entry: no suppression rule
                # applies, a paused flow included (the new run then follows on_pause)
                self._end_run(run, t, "restarted")
                self._start_run(cf, contact_id, contact, t, "restart")

    def _triggers(self, contact_id: Any, changes: list[tuple[int, bool]], t: int) -> None:
        contact = self.contacts[contact_id]
        for condition, enter in changes:
            for flow_name, role, on_enter in self.segment_of_flow_events.get(condition, ()):
                if role == "trigger" and on_enter == enter:
                    cf = self.flows[flow_name]
                    if cf.trigger_condition == condition:
                        self._trigger(cf, contact_id, contact, t)

    def _event_triggers(self, occurrences: list[tuple], t: int) -> None:
        """Each occurrence matching a flow's event trigger is a trigger event of that flow.

        A deleted contact's later history is ignored: its occurrences trigger nothing.
        """
        event_flows = [
            cf
            for cf in (self.flows[n] for n in self.plan.flow_order)
            if cf.trigger_event is not None
        ]
        for contact_id, matches in occurrences:
            contact = self._contact(contact_id)
            if contact.deleted:
                continue
            for cf in event_flows:
                if matches[cf.trigger_event]:
                    self._trigger(cf, contact_id, contact, t)

    def _trigger(self, cf: CompiledFlow, contact_id: Any, contact: Contact, t: int) -> None:
        reason = self._suppression(cf, contact, t)
        if reason is not None:
            self.logs.suppressed.append((t, cf.name, contact_id, reason))
            return
        self._start_run(
            cf, contact_id, contact, t, "reentry" if cf.name in contact.last_end else "first"
        )

    def _suppression(self, cf: CompiledFlow, contact: Contact, t: int) -> str | None:
        status = self.status[cf.name]
        if status == "draft":
            return "flow_inactive"
        if status == "paused":
            return "flow_paused"
        if contact.deleted:
            return "deleted"
        if cf.name in contact.runs:
            return "already_in_flow"
        if cf.name in contact.last_end:  # it ran this flow before (and that run ended)
            if not cf.allow_reentry:
                return "no_reentry"
            if t < contact.last_end[cf.name] + cf.reentry_wait_us:
                return "reentry_wait"
        if cf.filter_condition is not None and cf.filter_condition not in contact.members:
            return "filters"
        return None

    def _recheck(self, flow_name: str, contact_id: Any, ended_at: int, t: int) -> None:
        """``reentry_mode="recheck"``: enter now if the contact matches the trigger state."""
        contact = self.contacts[contact_id]
        cf = self.flows[flow_name]
        due = ended_at + cf.reentry_wait_us
        if t < due and contact.last_end.get(flow_name) == ended_at:
            # an edit lengthened the re-entry wait since the run ended: recheck at its new end
            if due < self.plan.end:
                self._bucket(due)["recheck"].append((flow_name, contact_id, ended_at))
                self._wake(due)
            return
        if (
            self.status[flow_name] != "active"
            or contact.deleted
            or flow_name in contact.runs
            or contact.last_end.get(flow_name) != ended_at
            or not cf.allow_reentry
            or not cf.recheck
            or cf.trigger_condition is None
        ):
            return
        member = cf.trigger_condition in contact.members
        if member != cf.trigger_on_enter:
            return
        if cf.filter_condition is not None and cf.filter_condition not in contact.members:
            return
        self._start_run(cf, contact_id, contact, t, "recheck")

    # -- runs ---------------------------------------------------------------------------------------

    def _count_work(self, contact_id: Any, contact: Contact, t: int, flow_name: str) -> None:
        if contact.work_at != t:
            contact.work_at, contact.work, contact.work_flows = t, 0, set()
        assert contact.work_flows is not None
        contact.work += 1
        contact.work_flows.add(flow_name)
        if contact.work > MAX_WORK_PER_INSTANT:
            flows = ", ".join(repr(f) for f in sorted(contact.work_flows))
            raise CascadeLoopError(
                f"contact {contact_id!r} entered flows more than {MAX_WORK_PER_INSTANT} times at "
                f"{_ts(t)} without time passing: flows {flows} feed each other in a loop (a run "
                "that ends at once and re-enters with no wait, or actions that re-trigger flows)"
            )

    def _start_run(
        self, cf: CompiledFlow, contact_id: Any, contact: Contact, t: int, entry: str
    ) -> None:
        """Open a run; it takes its first steps once the reactions being processed are done."""
        self._count_work(contact_id, contact, t, cf.name)
        run = Run(self.next_run_key, cf, contact_id, t, entry)
        self.next_run_key += 1
        contact.runs[cf.name] = run
        self.logs.runs.append(run.record)
        assert self._starting is not None, "runs only start while reactions are processed"
        self._starting.append(run)

    def _continue_soon(self, run: Run) -> None:
        """Execute the run's current step as a due step of this instant (after those
        already scheduled for it)."""
        token = run.token
        event = self.env.timeout(0)
        event.callbacks.append(lambda _e: self._advance(run, token))

    def _end_run(self, run: Run, t: int, reason: str) -> None:
        run.open = False
        run.token += 1
        contact = self.contacts[run.contact]
        flow_name = run.flow.name
        if contact.runs.get(flow_name) is run:
            del contact.runs[flow_name]
        contact.last_end[flow_name] = t
        if run.held:
            run.held = False
            self.held[flow_name].remove(run)
        run.record[_ENDED_AT], run.record[_END_REASON] = t, reason
        cf = self.flows[flow_name]
        if reason in RECHECK_AFTER and cf.allow_reentry and cf.recheck:
            at = t + cf.reentry_wait_us
            if at < self.plan.end:
                self._bucket(at)["recheck"].append((flow_name, run.contact, t))
                self._wake(at)

    # -- steps: one handler per step kind ---------------------------------------------------------

    def _advance(self, run: Run, token: int) -> None:
        """Execute steps from the run's current step until a wait, a hold or the end."""
        if not run.open or run.token != token:
            return
        t = int(self.env.now)
        contact = self.contacts[run.contact]
        handlers = self._handlers
        while run.open and run.token == token:
            step_id = run.step
            if step_id is None:
                self._end_run(run, t, "completed")
                return
            step = run.flow.steps[step_id]
            if not handlers[step.kind](run, step, contact, t):
                return

    def _wait_step(self, run: Run, step: WaitStep, contact: Contact, t: int) -> bool:
        cf = run.flow
        self.logs.steps.append(
            (t, run.key, cf.name, run.contact, step.id, step.kind, "waiting", cf.version)
        )
        delay = step.duration_us
        if step.until is not None:  # local time: calendar days, then a clock time
            assert self.zones is not None
            zone = self.zones.at(run.contact, t)
            delay = wait_until(t, zone, step.days, step.until, step.weekdays) - t
        event = self.env.timeout(delay)
        event.callbacks.append(partial(self._on_wait_over, run, run.token))
        return False

    def _on_wait_over(self, run: Run, token: int, _event: simpy.Event) -> None:
        if not run.open or run.token != token:
            return
        # the step after the wait in the version in force now (an edit may have come since)
        run.step = run.flow.steps[run.step].next  # type: ignore[index]
        self._advance(run, token)

    def _branch_step(self, run: Run, step: BranchStep, contact: Contact, t: int) -> bool:
        cf = run.flow
        holds = step.condition in contact.members
        self.logs.steps.append(
            (
                t,
                run.key,
                cf.name,
                run.contact,
                step.id,
                step.kind,
                "then" if holds else "otherwise",
                cf.version,
            )
        )
        run.step = step.then_first if holds else step.otherwise_first
        return True

    def _wait_for_step(self, run: Run, step: WaitForStep, contact: Contact, t: int) -> bool:
        """Already true: leave by ``then`` now; else wait for the turn (:meth:`_wait_fors`)
        or the timeout, whichever comes first."""
        if step.condition in contact.members:
            self._leave_wait_for(run, step, t, "then")
            return True
        run.waiting = step.condition
        event = self.env.timeout(step.timeout_us)
        event.callbacks.append(partial(self._on_wait_for_timeout, run, run.token))
        return False

    def _leave_wait_for(self, run: Run, step: Any, t: int, outcome: str) -> None:
        cf = run.flow
        self.logs.steps.append(
            (t, run.key, cf.name, run.contact, step.id, "wait_for", outcome, cf.version)
        )
        run.waiting = None
        if isinstance(step, WaitForStep):
            run.step = step.then_first if outcome == "then" else step.timed_out_first
        else:  # an edit made the step another kind of step (same id): go on after it
            run.step = step.next

    def _on_wait_for_timeout(self, run: Run, token: int, _event: simpy.Event) -> None:
        if not run.open or run.token != token:
            return
        # the paths of the version in force now (an edit may have come since)
        self._leave_wait_for(run, run.flow.steps[run.step], int(self.env.now), "timed_out")  # type: ignore[index]
        self._advance(run, token)

    def _wait_fors(self, contact_id: Any, changes: list[tuple[int, bool]], t: int) -> None:
        """Runs whose WaitFor condition turned true now leave by ``then``.

        Decided with the instant's state changes, so a turn at exactly the timeout instant
        wins over the timeout (an ordinary event of that instant); the run's next steps are
        due steps of this instant.
        """
        contact = self.contacts[contact_id]
        if not contact.runs:
            return
        turned = {condition for condition, holds in changes if holds}
        if not turned:
            return
        for flow_name in self.plan.flow_order:
            run = contact.runs.get(flow_name)
            if run is None or run.waiting is None or run.waiting not in turned:
                continue
            run.token += 1  # its pending timeout is void
            self._leave_wait_for(run, run.flow.steps[run.step], t, "then")  # type: ignore[index]
            self._continue_soon(run)

    def _action_step(self, run: Run, step: ActionStep, contact: Contact, t: int) -> bool:
        cf = run.flow
        if self.status[cf.name] == "paused" and cf.on_pause == "hold":
            run.held = True
            self.held[cf.name].append(run)
            return False
        run.step = step.next
        channel = step.channel
        if channel in self.delivery.rules:  # a message: delivery decides
            if self.holdout is not None and self.holdout.holds_out(cf.name, run.contact):
                status, reason, cost = "skipped", "holdout", 0.0  # the control group
            else:
                status, reason, cost = self.delivery.decide(run, step, contact.members, t)
                if status == "sent" and self.policies is not None:
                    return self.policies.send(run, step, contact, t, cost)
            self._log_action(run, step, t, status, reason, cost)
            return True
        if channel == "webhook":  # an operation: logged, never sent
            self._log_action(run, step, t, "sent", None, self.plan.webhook_cost)
            return True
        self._log_action(run, step, t, "applied", None, 0.0)
        contact_id = run.contact
        if self.zones is not None and step.changes:
            self.zones.apply(contact_id, t, step.changes)  # it may move the contact
        if step.kind == "delete_contact":
            self._delete(contact_id, contact, t)
            return True
        if contact.live is None and not self._matters(step.changes):
            return True  # no tracked condition reads what changed: the precomputed path holds
        state = self._go_live(contact_id, contact, t)
        state.apply(step.changes)
        self._schedule_boundaries(contact_id, state, t)
        changed = self._evaluate(contact_id, contact, t, "flow step")
        if changed:
            self._react(contact_id, changed, t)
        return True

    def _matters(self, changes: tuple[tuple[bool, str, Any], ...]) -> bool:
        """Could these changes alter a membership (does a tracked condition read them)?"""
        plan = self.plan
        return any(
            (name in plan.used_lists) if is_list else (name in plan.used_attributes)
            for is_list, name, _ in changes
        )

    def _log_action(
        self,
        run: Run,
        step: ActionStep,
        t: int,
        status: str,
        reason: str | None,
        cost: float,
        queued: float = 0.0,
    ) -> None:
        cf = run.flow
        self.logs.steps.append(
            (t, run.key, cf.name, run.contact, step.id, step.kind, status, cf.version)
        )
        self.logs.actions.append(
            (
                t,
                run.key,
                cf.name,
                step.id,
                run.contact,
                step.kind,
                step.channel,
                step.template,
                status,
                reason,
                cost,
                step.detail,
                cf.version,
                queued,
            )
        )
        if status == "sent" and step.channel in self.delivery.rules and self.responder.active:
            responses, conversions = self.logs.responses, self.logs.conversions
            first, converted = len(responses), len(conversions)
            self.responder.sent(
                run.key, cf.name, step.id, run.contact, step.channel, step.template, t, self.logs
            )
            if self.goal_exits is not None and len(conversions) > converted:
                self.goal_exits.converted(conversions[converted:], int(self.env.now))
            if len(responses) > first:
                self._schedule_responses(run.contact, step.channel, responses[first:], t)

    def _schedule_responses(self, contact_id: Any, channel: str, rows: list[tuple], t: int) -> None:
        """The state changes the responses of one message make, at their instants.

        An ``unsubscribed`` response turns the channel's consent attribute false (when a
        tracked condition reads it: otherwise every send is skipped anyway); a response some
        tracked condition reads as an event (``email_opened``, ...) is an occurrence of it.
        Changes at the send instant apply at once (a cascade of the send, as after an Update
        contact step); later ones — and those of a message a rate-limit queue sends later,
        logged at its ``t`` — are state changes of their instant.
        """
        consent = self.plan.consent_attributes.get(channel)
        used = self.plan.used_events
        by_instant: dict[int, list[tuple]] = {}
        for row in rows:
            at, response = row[0], row[-1]
            changes = by_instant.setdefault(at, [])
            if response == "unsubscribed" and consent is not None:
                changes.append((False, consent, False))
            name = response_event(channel, response)
            if name in used:
                changes.append((EVENT_ROW, name, {}))
        now = int(self.env.now)  # a queued message is logged at ``t`` > now: not yet out
        for at, changes in by_instant.items():
            if not changes:
                continue
            if at == now:
                changed = self._respond(contact_id, changes, now)
                if changed:
                    self._react(contact_id, changed, now)
            else:
                self._bucket(at)["responses"].append((contact_id, changes))
                self._wake(at)

    def _respond(self, contact_id: Any, changes: list[tuple], t: int) -> list[tuple[int, bool]]:
        """Apply a contact's response changes at ``t``: it goes live (as after an Update
        contact step); returns the tracked conditions that turned."""
        contact = self.contacts[contact_id]
        if contact.deleted:
            return []
        state = self._go_live(contact_id, contact, t)
        state.apply(changes, t)
        self._schedule_boundaries(contact_id, state, t)
        return self._evaluate(contact_id, contact, t, "flow step")

    def _delete(self, contact_id: Any, contact: Contact, t: int) -> None:
        """Delete contact: every run ends, the contact leaves its segments, history stops."""
        self._go_live(contact_id, contact, t)
        for flow_name in list(self.plan.flow_order):
            run = contact.runs.get(flow_name)
            if run is not None:
                self._end_run(run, t, "contact_deleted")
        contact.deleted = True
        self.deleted_at[contact_id] = t
        assert contact.nth is not None
        changed = []
        n_user = self.plan.user_segments
        for i in sorted(contact.members):
            if i < n_user:
                self.logs.segment_events.append(
                    (t, contact_id, self.plan.segments[i].name, "exit", contact.nth[i], "flow step")
                )
            if i in self.reacting:
                changed.append((i, False))
        contact.members = set()
        self._react(contact_id, changed, t)  # on="exit" triggers: suppressed as deleted

    # -- lifecycle ---------------------------------------------------------------------------------

    def _apply_lifecycle(self, step: LifecycleStep, t: int) -> None:
        name = step.flow_name
        if step.version is not None:  # an Edit: the new version from now on
            self._edit(name, step.version, t)
            return
        after = next_state(self.status[name], step.event)
        assert after is not None, "scenario validation refuses impossible lifecycle events"
        self.status[name] = after
        kind = step.event.kind
        if kind == "pause" and self.flows[name].on_pause == "exit":
            for _, run in self._open_runs(name):
                self._end_run(run, t, "paused_exit")
        elif kind == "resume":
            held, self.held[name] = self.held[name], []
            for run in sorted(held, key=lambda r: r.key):
                run.held = False
                self._continue_soon(run)

    def _open_runs(self, flow_name: str) -> list[tuple[Any, Run]]:
        found = []
        for contact_id, contact in self.contacts.items():
            run = contact.runs.get(flow_name)
            if run is not None:
                found.append((contact_id, run))
        found.sort(key=lambda item: item[1].key)
        return found

    def _edit(self, flow_name: str, cf: CompiledFlow, t: int) -> None:
        self.flows[flow_name] = cf
        self.segment_of_flow_events = self._index_flow_events()
        for _, run in self._open_runs(flow_name):
            if run.step is None or run.step in cf.steps:
                run.flow = cf
            else:
                self._end_run(run, t, "step_removed")

    # -- the end ------------------------------------------------------------------------------------

    def _finish(self) -> None:
        end = self.plan.end
        for record in self.logs.runs:
            if record[_END_REASON] is None:
                record[_ENDED_AT], record[_END_REASON] = end, "horizon"
        self.logs.conversions += observed_conversions(
            self.plan, self.store, self.contacts_sql, self.responder.messages, self.deleted_at
        )
        if self.sink is not None:
            self.sink.flush(self.logs, final=True)
        if self.progress is not None:
            self.progress.update_to(1.0)


def _transitions_sql(plan: Plan, store: Any, contacts_sql: str | None) -> tuple[str, list[Any]]:
    """The query of the transitions the event loop reads, in its order (with parameters).

    Rows: ``t, contact_id, segment, enter, nth, from_time, initial``; memberships held just
    before ``start`` come first, at ``start``, with ``initial`` true — except those that end
    exactly at ``start`` (the changes of ``start`` apply first: no member then).
    """
    segments = [*plan.segments, *plan.hidden]
    query = transition_query(
        store, segments, plan.end, contacts_sql=contacts_sql, types=plan.types, events=plan.events
    )
    sql = f"""
        WITH {events_stand_in(plan, store)} q AS ({query.sql}),
        initial AS (
            SELECT contact_id, segment, arg_max(enter, t) AS member, arg_max(nth, t) AS nth
            FROM q WHERE t < {plan.start} GROUP BY contact_id, segment)
        SELECT {plan.start}::BIGINT AS t, contact_id, segment, TRUE AS enter, nth,
               FALSE AS from_time, TRUE AS initial
        FROM initial i WHERE member AND NOT EXISTS (
            SELECT 1 FROM q WHERE q.t = {plan.start} AND NOT q.enter
                AND q.contact_id = i.contact_id AND q.segment = i.segment)
        UNION ALL
        SELECT t, contact_id, segment, enter, nth, from_time, FALSE FROM q WHERE t >= {plan.start}
        ORDER BY t, initial DESC, contact_id, segment"""
    return sql, list(query.params)


def transitions_table(plan: Plan, store: Any, contacts_sql: str | None = None) -> pa.Table:
    """Every precomputed transition of a plan, as the event loop reads them (an Arrow table).

    Pass it (or a row filter of it, which keeps the order) as ``Simulation(...,
    transitions=...)`` to run the same plan again without querying DuckDB. It depends only
    on the plan's tracked conditions, attribute types and window, not on steps or settings.
    """
    if store.id_type is None:
        return pa.table({})
    sql, params = _transitions_sql(plan, store, contacts_sql)
    cursor = store.con.cursor()
    try:
        return cursor.sql(sql, params=params).to_arrow_table()
    finally:
        cursor.close()


def _batches(reader: Any) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return


def _current(state: LiveContact, key: tuple[Any, str]) -> Any:
    """A live contact's value of an attribute (None: unset), its membership of a list, or
    how many occurrences of an event it has (``EVENT_ROW`` keys)."""
    is_list, name = key
    if is_list == EVENT_ROW:
        return state.events.size(name)
    return (name in state.lists) if is_list else state.attributes.get(name)


def _start_order(run: Run) -> tuple[int, tuple[int, Any]]:
    return run.flow.rank, _sort_key(run.contact)


def _sort_key(contact_id: Any) -> tuple[int, Any]:
    return (0, contact_id) if isinstance(contact_id, int) else (1, str(contact_id))


def _ts(t: int) -> str:
    import pandas as pd

    return str(pd.Timestamp(t, unit="us", tz="UTC"))
