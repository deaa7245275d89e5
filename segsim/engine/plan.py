"""What the engine needs from a scenario, validated and compiled once before it runs.

* **Tracked conditions**: every condition the engine must know the truth of for a contact
  at any instant — the scenario's segments first (in order), then, de-duplicated, trigger
  filters, branch conditions, ``AttributeMatches`` exit/restart conditions and channel
  eligibility. DuckDB computes all their transitions in bulk (as hidden segments); the
  engine only keeps, per contact, which of them hold.
* **Compiled flow versions**: the step tree flattened to ``step id -> next step id``, the
  trigger, filter and exit/restart conditions as tracked-condition indices.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from segsim._internal.vocab import ACTION_CHANNEL, MESSAGE_ACTIONS
from segsim._time import duration_us, to_us
from segsim.conditions import (
    Condition,
    attr,
    attributes_used,
    compile_predicate,
    lists_used,
    time_relative_leaves,
    validate_condition,
)
from segsim.errors import FlowNotReady, ScenarioError
from segsim.flows import (
    Activate,
    AttributeMatches,
    Branch,
    Edit,
    EntersSegment,
    ExitsSegment,
    Flow,
    UpdateContact,
    Wait,
)
from segsim.segments import Segment, validate_segments


@dataclass
class ChannelRule:
    """How to decide one channel's sends: tracked-condition indices (None: never holds)."""

    address: int | None
    consent: int | None
    cost: float


@dataclass(frozen=True)
class ActionInfo:
    """What an action step does, worked out once: the event loop only reads it."""

    kind: str
    channel: str  # email, sms, whatsapp, webhook or ""
    template: str | None
    detail: str | None  # list name, webhook method and url, or the JSON of Update contact
    changes: tuple[tuple[bool, str, Any], ...]  # state changes: (is_list, name, value)


def _action_info(step: Any, types: dict[str, str]) -> ActionInfo:
    kind = step.kind
    if kind in MESSAGE_ACTIONS:
        return ActionInfo(kind, str(ACTION_CHANNEL[kind]), step.template, None, ())
    if kind == "webhook":
        detail = json.dumps({"method": step.method, "url": step.url}, sort_keys=True)
        return ActionInfo(kind, "webhook", None, detail, ())
    if kind in ("add_to_list", "remove_from_list"):
        return ActionInfo(
            kind, "", None, step.list_name, ((True, step.list_name, kind == "add_to_list"),)
        )
    if kind == "update_contact":
        changes = tuple(
            (False, name, _internal_value(value, types.get(name)))
            for name, value in step.set.items()
        )
        detail = json.dumps({k: _jsonable(v) for k, v in step.set.items()}, sort_keys=True)
        return ActionInfo(kind, "", None, detail, changes)
    return ActionInfo(kind, "", None, None, ())  # delete_contact


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


@dataclass
class CompiledFlow:
    """One version of a flow, ready for the event loop."""

    flow: Flow
    version: int
    first: str | None
    steps: dict[str, Any]
    next_of: dict[str, str | None]
    then_first: dict[str, str | None]
    otherwise_first: dict[str, str | None]
    branch_condition: dict[str, int]
    wait_us: dict[str, int]
    actions: dict[str, ActionInfo]
    trigger_condition: int
    trigger_on_enter: bool
    filter_condition: int | None
    exit_events: list[tuple[int, bool]]
    restart_events: list[tuple[int, bool]]
    allow_reentry: bool
    reentry_wait_us: int
    recheck: bool
    on_pause: str

    @property
    def name(self) -> str:
        return self.flow.name


@dataclass
class Plan:
    """A scenario compiled for the engine."""

    start: int
    end: int
    segments: list[Segment]
    conditions: list[Condition]
    hidden: list[Segment]
    types: dict[str, str]
    predicates: list[Any]
    leaves: list[tuple[str, int, str]]
    flows: dict[str, CompiledFlow]
    flow_order: list[str]
    versions: dict[tuple[str, int], CompiledFlow]
    lifecycle: list[tuple[int, int, Any]]
    initially_active: dict[str, bool]
    channels: dict[str, ChannelRule]
    webhook_cost: float
    #: attributes and lists some tracked condition reads: a change to anything else cannot
    #: change a membership, so it leaves the contact on the precomputed path
    used_attributes: frozenset[str] = frozenset()
    used_lists: frozenset[str] = frozenset()
    #: per tracked condition, what it reads: (is_list, name) pairs
    inputs: list[frozenset[tuple[bool, str]]] = field(default_factory=list)

    @property
    def user_segments(self) -> int:
        return len(self.segments)


class _Conditions:
    """Interning of tracked conditions: the same condition is tracked once."""

    def __init__(self, segments: Sequence[Segment], normalised: dict[str, Condition]) -> None:
        self.items: list[Condition] = [normalised[s.name] for s in segments]
        self.index: dict[str, int] = {}
        self.segment_index = {s.name: i for i, s in enumerate(segments)}

    def add(self, condition: Condition) -> int:
        key = condition.model_dump_json()
        if key not in self.index:
            self.index[key] = len(self.items)
            self.items.append(condition)
        return self.index[key]


def _value_type(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dt.datetime):
        return "timestamp"
    if isinstance(value, str):
        return "string"
    return None


def all_flow_versions(scenario: Any) -> list[Flow]:
    """The scenario's flows, then every flow an ``Edit`` in the schedule brings in."""
    flows = list(scenario.flows)
    flows += [event.flow for event in scenario.schedule if isinstance(event, Edit)]
    return flows


def _attribute_types(store_types: dict[str, str], flows: Sequence[Flow]) -> dict[str, str]:
    """Store types, plus attributes that only Update contact steps set (typed by value)."""
    types = dict(store_types)
    for flow in flows:
        for step in _iter_steps(flow.steps):
            if not isinstance(step, UpdateContact):
                continue
            for name, value in step.set.items():
                kind = _value_type(value)
                if kind is None:
                    continue
                known = types.get(name)
                if known is None:
                    types[name] = kind
                elif known != kind and not (known == "timestamp" and isinstance(value, str)):
                    raise ScenarioError(
                        f"flow {flow.name!r} step {step.id!r} sets attribute {name!r} to "
                        f"{value!r} ({kind}), but {name!r} is a {known} attribute"
                    )
    return types


def _iter_steps(steps: Sequence[Any]) -> Any:
    for step in steps:
        yield step
        if isinstance(step, Branch):
            yield from _iter_steps(step.then)
            yield from _iter_steps(step.otherwise)


def build_plan(scenario: Any) -> Plan:
    """Validate the scenario against its store and compile it for the engine."""
    store = scenario.store
    start, end = to_us(scenario.start), to_us(scenario.end)
    flows = all_flow_versions(scenario)
    types = _attribute_types(store.attribute_types, flows)
    segments = list(scenario.segments)
    normalised = validate_segments(segments, types)
    conditions = _Conditions(segments, normalised)
    names = set(conditions.segment_index)

    def track(condition: Condition, where: str) -> int:
        checked = validate_condition(condition, types, segment_names=names, where=where)
        return conditions.add(checked)

    channels_model = scenario.channels
    channels: dict[str, ChannelRule] = {}
    for kind in MESSAGE_ACTIONS:
        channel = str(ACTION_CHANNEL[kind])
        address_attr, consent_attr, cost = channels_model.rule(kind)
        address = conditions.add(attr(address_attr).is_set()) if address_attr in types else None
        consent = None
        if consent_attr in types:
            if types[consent_attr] != "boolean":
                raise ScenarioError(
                    f"channel {channel}: consent attribute {consent_attr!r} is {types[consent_attr]}, "
                    "it must be boolean"
                )
            consent = conditions.add(attr(consent_attr) == True)
        channels[channel] = ChannelRule(address=address, consent=consent, cost=float(cost))

    compiled: dict[tuple[str, int], CompiledFlow] = {}
    latest: dict[str, CompiledFlow] = {}
    flow_order: list[str] = []
    version_of: dict[str, int] = {}
    for flow in scenario.flows:
        flow_order.append(flow.name)
        version_of[flow.name] = flow.version
        latest[flow.name] = compiled[(flow.name, flow.version)] = _compile_flow(
            flow, flow.version, track, conditions.segment_index, types
        )

    activated_later = {e.flow for e in scenario.schedule if isinstance(e, Activate)}
    initially_active = {name: name not in activated_later for name in flow_order}
    lifecycle: list[tuple[int, int, Any]] = []
    ordered_events = sorted(
        enumerate(scenario.schedule), key=lambda item: (to_us(item[1].at), item[0])
    )
    for order, event in ordered_events:
        if isinstance(event, Edit):
            previous = version_of[event.flow_name]
            version = event.flow.version if event.flow.version > previous else previous + 1
            version_of[event.flow_name] = version
            cf = _compile_flow(event.flow, version, track, conditions.segment_index, types)
            compiled[(event.flow_name, version)] = cf
            lifecycle.append((to_us(event.at), order, (event, cf)))
        else:
            lifecycle.append((to_us(event.at), order, event))
    _check_ready(scenario, initially_active, start)

    hidden = [
        Segment(f"#{i}", where=condition)
        for i, condition in enumerate(conditions.items[len(segments) :], start=len(segments))
    ]
    all_named = {**{s.name: normalised[s.name] for s in segments}}
    predicates = [compile_predicate(c, types=types, segments=all_named) for c in conditions.items]
    leaves = sorted({leaf for c in conditions.items for leaf in time_relative_leaves(c, all_named)})
    return Plan(
        start=start,
        end=end,
        segments=segments,
        conditions=conditions.items,
        hidden=hidden,
        types=types,
        predicates=predicates,
        leaves=leaves,
        flows=latest,
        flow_order=flow_order,
        versions=compiled,
        lifecycle=lifecycle,
        initially_active=initially_active,
        channels=channels,
        webhook_cost=float(channels_model.cost_webhook),
        used_attributes=frozenset(
            a for c in conditions.items for a in attributes_used(c, all_named)
        ),
        used_lists=frozenset(n for c in conditions.items for n in lists_used(c, all_named)),
        inputs=[
            frozenset(
                {(False, a) for a in attributes_used(c, all_named)}
                | {(True, n) for n in lists_used(c, all_named)}
            )
            for c in conditions.items
        ],
    )


def _check_ready(scenario: Any, initially_active: dict[str, bool], start: int) -> None:
    """Activating a flow without a trigger is an error, found before anything runs."""
    current = {f.name: f for f in scenario.flows}
    for flow in scenario.flows:
        if initially_active[flow.name] and flow.trigger is None:
            raise FlowNotReady(
                f"flow {flow.name!r} has no trigger, so it cannot be active from the scenario start; "
                f"configure a trigger or activate it later with ss.Activate({flow.name!r}, at=...)"
            )
    active = dict(initially_active)
    for event in sorted(scenario.schedule, key=lambda e: to_us(e.at)):
        if isinstance(event, Edit):
            current[event.flow_name] = event.flow
            if active[event.flow_name] and event.flow.trigger is None:
                raise FlowNotReady(
                    f"the edit of flow {event.flow_name!r} at {event.at} removes its trigger while it is active"
                )
        elif isinstance(event, Activate):
            if current[event.flow].trigger is None:
                raise FlowNotReady(
                    f"flow {event.flow!r} is activated at {event.at} but has no trigger"
                )
            active[event.flow] = True


def _compile_flow(
    flow: Flow, version: int, track: Any, segment_index: dict[str, int], types: dict[str, str]
) -> CompiledFlow:
    steps: dict[str, Any] = {}
    next_of: dict[str, str | None] = {}
    then_first: dict[str, str | None] = {}
    otherwise_first: dict[str, str | None] = {}
    branch_condition: dict[str, int] = {}
    wait_us: dict[str, int] = {}
    actions: dict[str, ActionInfo] = {}
    where = f"flow {flow.name!r}"

    def walk(sequence: Sequence[Any], continuation: str | None) -> str | None:
        for i, step in enumerate(sequence):
            following = sequence[i + 1].id if i + 1 < len(sequence) else continuation
            steps[step.id] = step
            next_of[step.id] = following
            if isinstance(step, Branch):
                branch_condition[step.id] = track(step.when, f"{where} step {step.id!r}")
                then_first[step.id] = walk(step.then, following)
                otherwise_first[step.id] = walk(step.otherwise, following)
            elif isinstance(step, Wait):
                wait_us[step.id] = duration_us(step.duration)
            else:
                actions[step.id] = _action_info(step, types)
        return sequence[0].id if sequence else continuation

    first = walk(flow.steps, None)
    trigger = flow.trigger
    trigger_condition, on_enter, filter_condition = -1, True, None
    if trigger is not None:
        trigger_condition = segment_index[trigger.segment]
        on_enter = trigger.on == "enter"
        if trigger.filters is not None:
            filter_condition = track(trigger.filters, f"{where} trigger filters")

    def events(items: Sequence[Any], label: str) -> list[tuple[int, bool]]:
        out = []
        for item in items:
            if isinstance(item, ExitsSegment):
                out.append((segment_index[item.segment], False))
            elif isinstance(item, EntersSegment):
                out.append((segment_index[item.segment], True))
            elif isinstance(item, AttributeMatches):
                out.append((track(item.condition, f"{where} {label}"), True))
        return out

    settings = flow.settings
    return CompiledFlow(
        flow=flow,
        version=version,
        first=first,
        steps=steps,
        next_of=next_of,
        then_first=then_first,
        otherwise_first=otherwise_first,
        branch_condition=branch_condition,
        wait_us=wait_us,
        actions=actions,
        trigger_condition=trigger_condition,
        trigger_on_enter=on_enter,
        filter_condition=filter_condition,
        exit_events=events(settings.exit_conditions, "exit condition"),
        restart_events=events(settings.restart_conditions, "restart condition"),
        allow_reentry=settings.allow_reentry,
        reentry_wait_us=duration_us(settings.reentry_wait),
        recheck=settings.reentry_mode == "recheck",
        on_pause=settings.on_pause,
    )


def scenario_problems(scenario: Any) -> list[str]:
    """Every problem of a scenario against its data, each prefixed by its path.

    Paths follow the scenario file: ``segments[1].where``, ``flows[0].steps[2].then[0].when``,
    ``flows[0].settings.exit_conditions[0].condition``, ``schedule[3].flow...``. An empty
    list means :func:`build_plan` (and so a simulation) will accept the scenario.
    """
    from segsim.errors import SegsimError

    problems: list[str] = []
    try:
        types = _attribute_types(scenario.store.attribute_types, all_flow_versions(scenario))
    except SegsimError as exc:
        return [f"flows: {exc}"]
    names = {s.name for s in scenario.segments}

    def check(condition: Condition, path: str) -> None:
        try:
            validate_condition(condition, types, segment_names=names, where="")
        except SegsimError as exc:
            problems.append(f"{path}: {exc}")

    for i, segment in enumerate(scenario.segments):
        check(segment.where, f"segments[{i}].where")
    if not problems:
        try:
            validate_segments(scenario.segments, types)
        except SegsimError as exc:
            problems.append(f"segments: {exc}")

    def check_flow(flow: Flow, path: str) -> None:
        if flow.trigger is not None and flow.trigger.filters is not None:
            check(flow.trigger.filters, f"{path}.trigger.filters")

        def walk(steps: Sequence[Any], steps_path: str) -> None:
            for j, step in enumerate(steps):
                step_path = f"{steps_path}[{j}]"
                if isinstance(step, Branch):
                    check(step.when, f"{step_path}.when")
                    walk(step.then, f"{step_path}.then")
                    walk(step.otherwise, f"{step_path}.otherwise")

        walk(flow.steps, f"{path}.steps")
        for label in ("exit_conditions", "restart_conditions"):
            for j, item in enumerate(getattr(flow.settings, label)):
                if isinstance(item, AttributeMatches):
                    check(item.condition, f"{path}.settings.{label}[{j}].condition")

    for i, flow in enumerate(scenario.flows):
        check_flow(flow, f"flows[{i}]")
    for k, event in enumerate(scenario.schedule):
        if isinstance(event, Edit):
            check_flow(event.flow, f"schedule[{k}].flow")
    if not problems:
        try:
            build_plan(scenario)
        except SegsimError as exc:
            problems.append(str(exc))
    return problems
