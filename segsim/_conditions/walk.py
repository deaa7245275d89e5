"""What a condition tree reads: its attributes, lists, segments and events, and the leaves
whose truth changes as time passes."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from segsim._conditions.events import EVENT_LEAVES, window_us
from segsim._conditions.models import (
    ATTRIBUTE_LEAVES,
    Condition,
    InList,
    InSegment,
    OlderThan,
    WithinLast,
    parse_condition,
)
from segsim._internal.naming import did_you_mean
from segsim._time import duration_us


def walk(
    condition: Any, segments: Mapping[str, Any], follow: bool, seen: set[str] | None = None
) -> Iterable[Any]:
    """Every node of the tree, depth first; with ``follow``, through known in_segment refs."""
    seen = set() if seen is None else seen
    stack = [condition]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node._children()))
        if follow and isinstance(node, InSegment) and node.segment not in seen:
            seen.add(node.segment)
            if node.segment in segments:
                stack.append(parse_condition(segments[node.segment]))


def attributes_used(condition: Condition, segments: Mapping[str, Condition] = {}) -> set[str]:
    """The attributes a condition reads, through the segments it refers to."""
    return {n.attribute for n in walk(condition, segments, True) if isinstance(n, ATTRIBUTE_LEAVES)}


def lists_used(condition: Condition, segments: Mapping[str, Condition] = {}) -> set[str]:
    """The lists a condition reads, through the segments it refers to."""
    return {n.list for n in walk(condition, segments, True) if isinstance(n, InList)}


def unknown_lists(conditions: Iterable[tuple[str, Condition]], known: Collection[str]) -> list[str]:
    """A warning for each ``in_list`` of a list that neither the data nor a flow knows.

    ``conditions`` pairs each condition with where it is (``"segment 'VIP'"``); ``known`` are
    the lists of the list history and those flow steps add to or remove from. Such a list is
    empty (the condition is never true): most often a typo, so the warning says what is known.

    >>> from segsim.conditions import in_list
    >>> unknown_lists([("segment 'N'", in_list("newsleter"))], ["newsletter"])
    ["in_list('newsleter') in segment 'N': no list history has it and no flow step changes it, so it is never true; did you mean 'newsletter'?"]
    """
    warnings = []
    for where, condition in conditions:
        for name in sorted(lists_used(condition) - set(known)):
            warnings.append(
                f"in_list({name!r}) in {where}: no list history has it and no flow step "
                f"changes it, so it is never true{did_you_mean(name, known)}"
            )
    return warnings


def segments_used(condition: Condition) -> set[str]:
    """The segments a condition refers to directly (not following them)."""
    return {n.segment for n in walk(condition, {}, False) if isinstance(n, InSegment)}


def time_relative_leaves(
    condition: Condition,
    segments: Mapping[str, Condition] = {},
) -> list[tuple[str, int, str]]:
    """``(attribute, duration_us, kind)`` of every older_than/within_last leaf, deduplicated.

    These are the leaves whose truth changes as time passes, with no new data: at
    ``value + duration`` (both kinds) and at ``value`` (``within_last``). An event leaf
    with a window (``within=``, or ``last_at()`` tests) is ``(event, duration_us, "event")``:
    it can turn at ``ts + duration`` of every occurrence ``ts`` of the event.
    """
    leaves: dict[tuple[str, int, str], None] = {}
    for node in walk(condition, segments, True):
        if isinstance(node, (OlderThan, WithinLast)):
            leaves[(node.attribute, duration_us(node.duration), node.kind)] = None
        elif isinstance(node, EVENT_LEAVES) and (window := window_us(node)) is not None:
            leaves[(node.event, window, "event")] = None
    return list(leaves)


def event_leaves(condition: Any, segments: Mapping[str, Any] = {}) -> list[Any]:
    """Every event leaf of a condition, through the segments it refers to, deduplicated."""
    found: dict[Any, None] = {}
    for node in walk(condition, segments, True):
        if isinstance(node, EVENT_LEAVES):
            found[node] = None
    return list(found)


def events_used(condition: Any, segments: Mapping[str, Any] = {}) -> set[str]:
    """The events a condition reads, through the segments it refers to."""
    return {leaf.event for leaf in event_leaves(condition, segments)}
