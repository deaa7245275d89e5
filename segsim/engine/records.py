"""The event loop's small records: a run, a contact's engine state, the logs, the soon-event,
and the loop's limits (:mod:`segsim.engine.core` runs them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import simpy
from simpy.core import URGENT

from segsim._internal.frames import (
    RUNS,
)
from segsim.engine.labels import Labels
from segsim.engine.live import EVENT_ROW, LiveContact
from segsim.engine.plan import CompiledFlow

#: Runs one contact may start at one instant before it is a loop. (A run's steps are a
#: finite tree, so an instant that never ends needs ever more run starts.)
MAX_WORK_PER_INSTANT = 1_000


BATCH_ROWS = 200_000

#: a time after every instant (µs since the epoch, about the year 148,000)
NO_INSTANT = 1 << 62


#: where a run's end is written in its ``runs`` record
ENDED_AT, END_REASON = RUNS.position("ended_at"), RUNS.position("end_reason")


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
    )

    def __init__(self) -> None:
        self.members = 0  # bit i set: tracked condition i holds now
        self.runs: dict[str, Run] = {}  # open run per flow
        self.last_end: dict[str, int] = {}  # flow -> end of its latest run
        self.live: LiveContact | None = None
        self.nth: list[int] | None = None  # live contacts: entries per tracked condition
        self.deleted = False


@dataclass
class Logs:
    """Plain tuples appended in the hot loop; frames are built once, at the end.

    Each row's fields are its frame's columns, in order (checked at import, see
    :func:`_writes`) — except ``steps`` and ``actions`` rows, which hold their step's label
    number in place of the fields every row of that step shares (:mod:`segsim.engine.labels`;
    ``labels`` numbers them). ``runs`` holds each run's mutable ``record`` (its end is filled in
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
    labels: Labels = field(default_factory=Labels)


class Soon(simpy.Event):
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


class Clock(simpy.Environment):
    """SimPy's environment, whose clock the event loop may also move to the next stream
    instant directly, when no event is scheduled before it.

    The segment transitions come as a stream of instants (most of a run's instants on real
    histories). Going to the next one through an event — an urgent wake-up, scheduled, pushed
    on the heap, popped, dispatched — decides nothing: the wake-up of a stream instant would
    be the first event of its time (the only urgent event scheduled for a later time is an
    agenda wake-up, and an instant with one keeps it). So before each event is processed,
    :attr:`before_step` (``Simulation._stream_first``) handles the stream instants that come
    no later than it, the clock moved to each by :meth:`jump_if_next`. The loop keeps
    :attr:`stream_at`, the next stream instant's time, so that an event due before it is
    processed without the call (the hook would find nothing to do). Only the clock moves;
    the queue, the order of events and every callback stay SimPy's.
    """

    #: called before each event is processed (None: plain SimPy) — unless an event is
    #: scheduled before :attr:`stream_at`, when it would have nothing to do
    before_step: Callable[[], None] | None = None
    #: the time of the next stream instant (:data:`NO_INSTANT`: none)
    stream_at: int = NO_INSTANT

    def step(self) -> None:
        if self.before_step is not None:
            queue = self._queue
            if not queue or self.stream_at <= queue[0][0]:
                self.before_step()
        super().step()

    def jump_if_next(self, t: int) -> bool:
        """Move the clock to ``t`` if no event is scheduled before ``t`` (and ``t`` is not
        before now); whether it moved. Events scheduled at ``t`` itself stay due at ``t``."""
        queue = self._queue
        if t < self._now or (queue and queue[0][0] < t):
            return False
        self._now = t
        return True


#: A step handler: execute ``step`` for ``run`` at ``t``; True if the run goes on at once
#: (at ``run.step``), False if it stopped (it waits, is held, or has ended).
StepHandler = Callable[[Run, Any, Contact, int], bool]


def current_value(state: LiveContact, key: tuple[Any, str]) -> Any:
    """A live contact's value of an attribute (None: unset), its membership of a list, or
    how many occurrences of an event it has (``EVENT_ROW`` keys)."""
    is_list, name = key
    if is_list == EVENT_ROW:
        return state.events.size(name)
    return (name in state.lists) if is_list else state.attributes.get(name)


def start_order(run: Run) -> tuple[int, tuple[int, Any]]:
    return run.flow.rank, sort_key(run.contact)


def sort_key(contact_id: Any) -> tuple[int, Any]:
    return (0, contact_id) if isinstance(contact_id, int) else (1, str(contact_id))


def instant_text(t: int) -> str:
    import pandas as pd

    return str(pd.Timestamp(t, unit="us", tz="UTC"))
