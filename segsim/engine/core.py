"""The event loop: segment transitions in, runs, steps, actions and suppressions out.

SimPy drives time. Each instant is handled in the order docs/design.md §4.2 fixes:

    state changes -> segment transitions -> lifecycle -> exits/restarts -> triggers
    (then rechecks) -> due steps

Everything before "due steps" happens in one *urgent* SimPy event per instant
(``_on_instant``), so it always precedes the ordinary events of that instant: the steps of
runs whose waits end then. An instant of the transitions stream needs no event: it is
handled before the next event is processed, when no event comes before it
(``_stream_first``), exactly where its urgent event would have been. Runs are plain objects
advanced by callbacks rather than one SimPy process each: measured here, callbacks run a bare 5-step flow ~1.5x faster than
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
from collections.abc import Iterator
from functools import partial
from itertools import pairwise
from typing import Any

import pyarrow as pa
import simpy

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
from segsim._internal.vocab import ACTION_KINDS, RECHECK_AFTER, STEP_KINDS
from segsim.engine.compiled import ActionStep
from segsim.engine.contacts import ContactStates
from segsim.engine.delivery import Delivery
from segsim.engine.draws import Draws
from segsim.engine.experiments import HoldoutGroup, audience_split_step, split_step
from segsim.engine.goal_exit import GoalExits
from segsim.engine.goals import observed_conversions
from segsim.engine.labels import Labels, check_labelled_rows
from segsim.engine.occurrences import read_occurrences
from segsim.engine.plan import CompiledFlow, LifecycleStep, Plan
from segsim.engine.policy import Policies, TimeZones
from segsim.engine.records import (
    BATCH_ROWS,
    END_REASON,
    ENDED_AT,
    MAX_WORK_PER_INSTANT,
    NO_INSTANT,
    Clock,
    Contact,
    Logs,
    Run,
    Soon,
    StepHandler,
    instant_text,
    sort_key,
    start_order,
)
from segsim.engine.responses import Responder
from segsim.engine.step_handlers import StepHandlers
from segsim.engine.stream import batches, by_instant, transitions_sql
from segsim.errors import CascadeLoopError
from segsim.flows import FlowState, next_state


def _writes(spec: FrameSpec, *columns: str) -> None:
    """Check, at import, that the rows the event loop writes for ``spec`` have its layout.

    The hot loop appends plain tuples whose fields are the frame's columns in order (see
    :mod:`segsim._internal.frames`); a column added there must be given a value here too.
    """
    if tuple(spec.names) != columns:
        raise RuntimeError(
            f"the event loop (segsim.engine.core) writes {spec.name} rows as {columns}, but the frame declares "
            f"{tuple(spec.names)}: give the new column its value where the engine writes the rows"
        )


_writes(SEGMENT_EVENTS, "time", "contact_id", "segment", "event", "nth", "cause")
_writes(
    RUNS, "run_id", "flow", "version", "contact_id", "entered_at", "entry", "ended_at", "end_reason"
)
check_labelled_rows(STEPS, ACTIONS)
_writes(SUPPRESSED, "time", "flow", "contact_id", "reason")
_writes(
    RESPONSES, "time", "run_id", "flow", "step_id", "contact_id", "channel", "template", "response"
)
_writes(
    CONVERSIONS, "time", "contact_id", "flow", "step_id", "channel", "value", "source", "run_id"
)


#: Handle a transitions instant that no scheduled event precedes before the next event is
#: processed (see ``Simulation._stream_first``); False gives each its own wake-up event (the
#: same frames: tests/test_engine_jumps.py compares the two).
JUMP_TO_STREAM_INSTANTS = True


class Simulation(ContactStates, StepHandlers):
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
        self.env = Clock(initial_time=plan.start)
        self.contacts: dict[Any, Contact] = {}
        self.logs = Logs(labels=Labels(plan.labels))
        self.status: dict[str, FlowState] = dict(plan.initial_states)
        # run starts per contact at the instant ``_work_at`` (see ``_count_work``)
        self._work_at: int | None = None
        self._work: dict[Any, list[str]] = {}
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
        self._stream_at()
        if JUMP_TO_STREAM_INSTANTS:
            self.env.before_step = self._stream_first
        elif self._stream_next is not None:
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
        (see :func:`transitions_sql`)."""
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
            sql, params = transitions_sql(plan, self.store, self.contacts_sql)
            reader = cursor.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)
        current_t: int | None = None
        rows: list[tuple] = []
        total = max(plan.end - plan.start, 1)
        candidates = self._touching_triggers()
        for batch in batches(reader):
            if not batch.num_rows:
                continue
            times, batch_rows, starts = by_instant(batch)
            if candidates:
                self._prefetch([row[1] for row in batch_rows if row[2] in candidates])
            if self.sink is not None:
                self.sink.maybe_flush(self.logs)
            for a, b in pairwise(starts):
                if times[a] == current_t:  # the instant goes on from the batch before
                    rows.extend(batch_rows[a:b])
                    continue
                if rows:
                    yield current_t, rows  # type: ignore[misc]
                current_t, rows = times[a], batch_rows[a:b]
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
        Soon(self.env, t - int(self.env.now), partial(self._on_event_instant, t))

    def _on_event_instant(self, t: int, _event: simpy.Event) -> None:
        self._on_instant(t)

    def _on_instant(self, t: int) -> None:
        """Instant ``t`` (its wake-up); with the jump lane off, the next stream instant
        gets its own wake-up."""
        self._instant(t)
        if not JUMP_TO_STREAM_INSTANTS and self._stream_next is not None:
            self._wake(self._stream_next[0])

    def _stream_first(self) -> None:
        """Before each event: the transitions instants that come no later than it, handled
        now, the clock moved to each (:meth:`Clock.jump_if_next`).

        Such an instant's wake-up would be the first event of its time — urgent, scheduled
        before any urgent event of that time — so handling it here is what the wake-up
        would do, without the event. An instant with an agenda wake-up (``wakeups``) is left
        to it; instants at or after the end of the window are never run.
        """
        env, wakeups, end = self.env, self.wakeups, self.plan.end
        while self._stream_next is not None:
            t = self._stream_next[0]
            if t >= end or t in wakeups or not env.jump_if_next(t):
                return
            self._instant(t)

    def _stream_at(self) -> None:
        """Tell the clock when the next stream instant is (see :meth:`Clock.step`)."""
        following = self._stream_next
        self.env.stream_at = NO_INSTANT if following is None else following[0]

    def _instant(self, t: int) -> None:
        """Everything of instant ``t`` before its due steps, in the documented order."""
        self.wakeups.discard(t)
        starting: list[Run] = []
        self._starting = starting
        reactions: dict[Any, list[tuple[int, bool]]] = {}
        stream_next = self._stream_next
        if stream_next is not None and stream_next[0] == t:
            self._apply_stream(stream_next[1], reactions)
            # the next instant is taken before the next event (_stream_first), or given its
            # wake-up once this one is done (_on_instant, the lane off)
            self._stream_next = next(self._stream, None) if self._stream else None
            self._stream_at()
        occurrences: list[tuple] = []
        occurrences_next = self._occurrences_next
        if occurrences_next is not None and occurrences_next[0] == t:
            occurrences = occurrences_next[1]
            self._occurrences_next = next(self._occurrences, None)  # type: ignore[arg-type]
            if self._occurrences_next is not None:
                self._wake(self._occurrences_next[0])
        bucket = self.agenda.pop(t, None) if self.agenda else None
        if bucket is not None:
            for contact_id in sorted(set(bucket["live"]), key=sort_key):
                self._live_instant(contact_id, t, reactions)
            # responses to earlier messages (unsubscribes, response events): state changes
            # of this instant, after its data changes, as an action's would be
            responding: dict[Any, list[tuple]] = {}
            for contact_id, changes in bucket["responses"]:
                responding.setdefault(contact_id, []).extend(changes)
            for contact_id in sorted(responding, key=sort_key):
                changed = self._respond(contact_id, responding[contact_id], t)
                if changed:
                    reactions.setdefault(contact_id, []).extend(changed)
            for step in bucket["lifecycle"]:
                self._apply_lifecycle(step, t)
        if self.goal_exits is not None:  # goal exits come before exit conditions
            self.goal_exits.occurred(occurrences, bucket["goals"] if bucket else (), t)
        if reactions:
            contacts = self.contacts
            for contact_id, changes in reactions.items():
                if contacts[contact_id].runs:  # else no run to exit, restart or stop waiting
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
        if starting:
            self._first_steps(starting)

    def _first_steps(self, runs: list[Run], _event: Any = None) -> None:
        """Runs that entered together take their first steps: by flow (scenario order), then
        contact, then the order they entered in."""
        if len(runs) > 1:
            runs.sort(key=start_order)
        for run in runs:
            self._advance(run, run.token)

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
            Soon(self.env, 0, partial(self._first_steps, started))

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
        events = self.segment_of_flow_events
        for condition, enter in changes:
            for flow_name, role, on_enter in events.get(condition, ()):
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
        if cf.filter_condition is not None and not contact.members >> cf.filter_condition & 1:
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
        member = bool(contact.members >> cf.trigger_condition & 1)
        if member != cf.trigger_on_enter:
            return
        if cf.filter_condition is not None and not contact.members >> cf.filter_condition & 1:
            return
        self._start_run(cf, contact_id, contact, t, "recheck")

    # -- runs ---------------------------------------------------------------------------------------

    def _count_work(self, contact_id: Any, t: int, flow_name: str) -> None:
        """Count a run start of ``contact_id`` at ``t``; a zero-time loop is an error.

        The counts are of the current instant only (time never goes back): kept for the
        contacts that started runs at it, not for every contact ever seen.
        """
        if self._work_at != t:
            self._work_at, self._work = t, {}
        work = self._work.get(contact_id)
        if work is None:
            work = self._work[contact_id] = []
        work.append(flow_name)
        if len(work) > MAX_WORK_PER_INSTANT:
            flows = ", ".join(repr(f) for f in sorted(set(work)))
            raise CascadeLoopError(
                f"contact {contact_id!r} entered flows more than {MAX_WORK_PER_INSTANT} times at "
                f"{instant_text(t)} without time passing: flows {flows} feed each other in a loop (a run "
                "that ends at once and re-enters with no wait, or actions that re-trigger flows)"
            )

    def _start_run(
        self, cf: CompiledFlow, contact_id: Any, contact: Contact, t: int, entry: str
    ) -> None:
        """Open a run; it takes its first steps once the reactions being processed are done."""
        self._count_work(contact_id, t, cf.name)
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
        run.record[ENDED_AT], run.record[END_REASON] = t, reason
        cf = self.flows[flow_name]
        if reason in RECHECK_AFTER and cf.allow_reentry and cf.recheck:
            at = t + cf.reentry_wait_us
            if at < self.plan.end:
                self._bucket(at)["recheck"].append((flow_name, run.contact, t))
                self._wake(at)

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
            if record[END_REASON] is None:
                record[ENDED_AT], record[END_REASON] = end, "horizon"
        self.logs.conversions += observed_conversions(
            self.plan, self.store, self.contacts_sql, self.responder.messages, self.deleted_at
        )
        if self.sink is not None:
            self.sink.flush(self.logs, final=True)
        if self.progress is not None:
            self.progress.update_to(1.0)
