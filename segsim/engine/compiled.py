"""Compiled steps: each step kind's compile rule (:data:`STEP_RULES`) and the small frozen
record it compiles to (:class:`WaitStep`, :class:`BranchStep`, :class:`SplitStep`,
:class:`AudienceSplitStep`, :class:`WaitForStep`, :class:`ActionStep`), plus a channel's
delivery rule (:class:`ChannelRule`). :mod:`segsim.engine.plan` compiles flows with them and
re-exports them.

A new step kind is a compile rule here (an entry of :data:`STEP_RULES`) and a handler in the
event loop (:class:`segsim.engine.core.Simulation`'s handler table).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from segsim._internal.localtime import WEEKDAYS, clock_minutes
from segsim._internal.vocab import ACTION_CHANNEL, ACTION_KINDS, MESSAGE_ACTIONS
from segsim._time import duration_us, to_us
from segsim.conditions import (
    Condition,
    all_of,
    attr,
)
from segsim.experiments import bucket_bounds, cumulative_shares
from segsim.flows import (
    Flow,
    StepPlace,
)


@dataclass(frozen=True)
class ChannelRule:
    """How one channel's sends are decided (see :mod:`segsim.engine.delivery`).

    ``address`` and ``consent`` are tracked-condition indices (``attr(address).is_set()``,
    ``attr(consent) == True``), ``None`` when the attribute is nowhere in the data or the
    flows (it then never holds); ``cost`` is the price of one sent message.
    """

    channel: str
    address: int | None
    consent: int | None
    cost: float


# -- compiled steps --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledStep:
    """A step as the event loop reads it: its id, kind and the step a run goes to after it.

    ``next`` is ``None`` when the flow ends after this step.
    """

    id: str
    kind: str
    next: str | None


@dataclass(frozen=True, slots=True)
class WaitStep(CompiledStep):
    """Wait ``duration_us`` microseconds, then go to ``next``.

    With ``until`` (minutes after local midnight): wait ``days`` calendar days in the
    contact's zone, then until that clock time on an allowed weekday (``weekdays``, 0 =
    Monday; ``None``: any), see :func:`segsim._internal.localtime.wait_until`.
    """

    duration_us: int
    until: int | None = None
    days: int = 0
    weekdays: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class BranchStep(CompiledStep):
    """Go to ``then_first`` if tracked condition ``condition`` holds, else ``otherwise_first``.

    An empty path leads straight to ``next``.
    """

    condition: int
    then_first: str | None
    otherwise_first: str | None


@dataclass(frozen=True, slots=True)
class SplitStep(CompiledStep):
    """A random split (docs/design.md §9): path ``i`` is named ``names[i]`` and starts at
    ``firsts[i]`` (``next`` for an empty path).

    Drawn: the first path whose cumulative share exceeds the contact's draw. By bucket:
    ``bucket_conditions[i]`` is the tracked condition "the bucket is in path ``i``'s range".
    """

    names: tuple[str, ...]
    firsts: tuple[str | None, ...]
    cumulative: tuple[float, ...]
    bucket_attribute: str | None
    bucket_conditions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class AudienceSplitStep(CompiledStep):
    """Ranked paths: the first tracked condition of ``conditions`` that holds wins; none
    holding, ``otherwise`` (the last of ``names`` and ``firsts``)."""

    conditions: tuple[int, ...]
    names: tuple[str, ...]
    firsts: tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class WaitForStep(CompiledStep):
    """Wait until tracked condition ``condition`` holds (go to ``then_first``), for at most
    ``timeout_us`` microseconds (then go to ``timed_out_first``).

    An empty path leads straight to ``next``.
    """

    condition: int
    timeout_us: int
    then_first: str | None
    timed_out_first: str | None


@dataclass(frozen=True, slots=True)
class ActionStep(CompiledStep):
    """An action, worked out once: the event loop only reads it."""

    channel: str  # email, sms, whatsapp, webhook or ""
    template: str | None
    detail: str | None  # list name, webhook method and url, or the JSON of Update contact
    changes: tuple[tuple[bool, str, Any], ...]  # state changes: (is_list, name, value)

    @property
    def is_message(self) -> bool:
        return self.kind in MESSAGE_ACTIONS


class _FlowCompiler:
    """What a step's compile rule may use: condition tracking, attribute types, the flow."""

    def __init__(self, flow: Flow, track: Callable[[Condition, str], int], types: dict[str, str]):
        self.flow = flow
        self.track = track
        self.types = types

    def where(self, place: StepPlace) -> str:
        return f"flow {self.flow.name!r} step {place.step.id!r}"


def _compile_wait(place: StepPlace, _compiler: _FlowCompiler) -> WaitStep:
    step = place.step
    if step.until is None:
        return WaitStep(step.id, step.kind, place.next, duration_us(step.duration))
    weekdays = None if step.weekdays is None else tuple(WEEKDAYS.index(d) for d in step.weekdays)
    return WaitStep(
        step.id,
        step.kind,
        place.next,
        duration_us(step.duration),
        until=clock_minutes(step.until),
        days=step.days,
        weekdays=weekdays,
    )


def _compile_branch(place: StepPlace, compiler: _FlowCompiler) -> BranchStep:
    step = place.step
    return BranchStep(
        step.id,
        step.kind,
        place.next,
        condition=compiler.track(step.when, compiler.where(place)),
        then_first=place.path_first(step.then),
        otherwise_first=place.path_first(step.otherwise),
    )


def _compile_split(place: StepPlace, compiler: _FlowCompiler) -> SplitStep:
    step = place.step
    names = tuple(step.paths)
    weights = [step.weights[name] for name in names]
    conditions: tuple[int, ...] = ()
    if step.bucket_attribute is not None:
        bucket = attr(step.bucket_attribute)
        conditions = tuple(
            compiler.track(all_of(bucket >= low, bucket < high), compiler.where(place))
            for low, high in bucket_bounds(weights)
        )
    return SplitStep(
        step.id,
        step.kind,
        place.next,
        names=names,
        firsts=tuple(place.path_first(step.paths[name]) for name in names),
        cumulative=cumulative_shares(weights),
        bucket_attribute=step.bucket_attribute,
        bucket_conditions=conditions,
    )


def _compile_audience_split(place: StepPlace, compiler: _FlowCompiler) -> AudienceSplitStep:
    step = place.step
    where = compiler.where(place)
    return AudienceSplitStep(
        step.id,
        step.kind,
        place.next,
        conditions=tuple(compiler.track(path.when, where) for path in step.paths),
        names=step.path_names(),
        firsts=tuple(
            place.path_first(steps) for steps in (*(p.steps for p in step.paths), step.otherwise)
        ),
    )


def _compile_wait_for(place: StepPlace, compiler: _FlowCompiler) -> WaitForStep:
    step = place.step
    return WaitForStep(
        step.id,
        step.kind,
        place.next,
        condition=compiler.track(step.until, compiler.where(place)),
        timeout_us=duration_us(step.timeout),
        then_first=place.path_first(step.then),
        timed_out_first=place.path_first(step.timed_out),
    )


def _compile_action(place: StepPlace, compiler: _FlowCompiler) -> ActionStep:
    step, kind, after = place.step, place.step.kind, place.next
    if kind in MESSAGE_ACTIONS:
        return ActionStep(step.id, kind, after, str(ACTION_CHANNEL[kind]), step.template, None, ())
    if kind == "webhook":
        detail = json.dumps({"method": step.method, "url": step.url}, sort_keys=True)
        return ActionStep(step.id, kind, after, "webhook", None, detail, ())
    if kind in ("add_to_list", "remove_from_list"):
        change = ((True, step.list_name, kind == "add_to_list"),)
        return ActionStep(step.id, kind, after, "", None, step.list_name, change)
    if kind == "update_contact":
        changes = tuple(
            (False, name, _internal_value(value, compiler.types.get(name)))
            for name, value in step.set.items()
        )
        detail = json.dumps({k: _jsonable(v) for k, v in step.set.items()}, sort_keys=True)
        return ActionStep(step.id, kind, after, "", None, detail, changes)
    return ActionStep(step.id, kind, after, "", None, None, ())  # delete_contact


#: step kind -> its compile rule. A new step kind adds its rule here and its handler to the
#: event loop's table (``Simulation._handlers``); tests check both cover every step kind.
STEP_RULES: dict[str, Callable[[StepPlace, _FlowCompiler], CompiledStep]] = {
    "wait": _compile_wait,
    "branch": _compile_branch,
    "split": _compile_split,
    "audience_split": _compile_audience_split,
    "wait_for": _compile_wait_for,
    **dict.fromkeys(ACTION_KINDS, _compile_action),
}


def _internal_value(value: Any, kind: str | None) -> Any:
    """A value set by Update contact, as live state holds it (timestamps as epoch µs)."""
    if value is None:
        return None
    if kind == "timestamp":
        return to_us(value)
    if kind == "number":
        return float(value)
    return value


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
