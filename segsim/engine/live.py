"""Live evaluation of one contact's segments, for contacts touched by flow actions.

Untouched contacts follow the transitions DuckDB precomputed. Once a flow action changes a
contact (Update contact, list actions, Delete contact), that path no longer describes it,
so the engine replays the contact's history here, in Python, with the same conditions
(:func:`segsim.conditions.compile_predicate`, property-tested against the SQL face), and
from then on evaluates its tracked conditions at every change and time boundary.

The replay reproduces the SQL path exactly: a contact exists from its first recorded change
of anything; changes at one instant apply together; a time-relative leaf can only flip at
``value + d`` (and ``value`` for ``within_last``), where a re-evaluation is scheduled.
Event occurrences are history rows too (``is_list`` is :data:`EVENT_ROW`): they go into
the contact's :class:`~segsim.event_conditions.EventLog`, which predicates read at
``attributes[EVENTS]``; an event leaf with a window can flip at ``ts + d`` of each occurrence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from segsim.event_conditions import EVENTS, EventLog, event_boundaries

#: The ``is_list`` slot of a history row that is an event occurrence: ``(t, EVENT_ROW,
#: event, properties)``.
EVENT_ROW = "event"

Predicate = Callable[[Mapping[str, Any], Any, int], bool]


@dataclass
class LiveContact:
    """A contact's state (attributes, lists) and the instants where it must be re-evaluated."""

    attributes: dict[str, Any] = field(default_factory=dict)
    lists: set[str] = field(default_factory=set)
    #: history changes still to come: instant -> [(is_list, name, value)], in time order
    future: list[tuple[int, list[tuple[Any, str, Any]]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.attributes[EVENTS] = EventLog()

    @property
    def events(self) -> EventLog:
        """The contact's event occurrences (what event conditions read)."""
        return self.attributes[EVENTS]  # type: ignore[no-any-return]

    def apply(self, changes: Iterable[tuple[Any, str, Any]], t: int | None = None) -> None:
        """Apply changes of one instant ``t``; a None attribute value unsets it.

        An event row (``is_list`` is :data:`EVENT_ROW`) records an occurrence at ``t``.
        """
        for is_list, name, value in changes:
            if is_list == EVENT_ROW:
                assert t is not None, "an event occurrence needs its instant"
                self.events.add(name, t, value)
            elif is_list:
                if value:
                    self.lists.add(name)
                else:
                    self.lists.discard(name)
            elif value is None:
                self.attributes.pop(name, None)
            else:
                self.attributes[name] = value


def time_boundaries(
    attributes: Mapping[str, Any], leaves: Sequence[tuple[str, int, str]], after: int, before: int
) -> set[int]:
    """Instants in ``(after, before)`` where a time-relative leaf can change its truth."""
    out: set[int] = set()
    for attribute, duration_us, kind in leaves:
        if kind == "event":  # (event, window, "event"): ts + window of each occurrence
            out |= event_boundaries(attributes.get(EVENTS), attribute, duration_us, after, before)
            continue
        value = attributes.get(attribute)
        if value is None:
            continue
        candidates = (
            (value + duration_us, value) if kind == "within_last" else (value + duration_us,)
        )
        for instant in candidates:
            if after < instant < before:
                out.add(instant)
    return out


def replay(
    history: Sequence[tuple[int, bool, str, Any]],
    birth: int | None,
    until: int,
    predicates: Sequence[Predicate],
    leaves: Sequence[tuple[str, int, str]],
) -> tuple[LiveContact, list[bool], list[int]]:
    """Replay a contact's history up to and including ``until``.

    ``history`` holds ``(t, is_list, name, value)`` rows sorted by ``t``; ``birth`` is the
    contact's first change of anything (None if it has none). Returns the state at
    ``until``, the membership of every predicate and the entries counted so far (``nth``);
    the rows after ``until`` are left in ``state.future``.
    """
    state = LiveContact()
    members = [False] * len(predicates)
    nth = [0] * len(predicates)
    instants: dict[int, list[tuple[bool, str, Any]]] = {}
    for t, is_list, name, value in history:
        instants.setdefault(t, []).append((is_list, name, value))
    if birth is not None:
        instants.setdefault(birth, [])
    ordered = sorted(instants)
    past = [t for t in ordered if t <= until]
    state.future = [(t, instants[t]) for t in ordered if t > until]

    def evaluate(now: int) -> None:
        for i, predicate in enumerate(predicates):
            value = predicate(state.attributes, state.lists, now)
            if value != members[i]:
                members[i] = value
                if value:
                    nth[i] += 1

    for index, t in enumerate(past):
        state.apply(instants[t], t)
        evaluate(t)
        following = past[index + 1] if index + 1 < len(past) else until + 1
        for boundary in sorted(time_boundaries(state.attributes, leaves, t, following)):
            evaluate(boundary)
    return state, members, nth
