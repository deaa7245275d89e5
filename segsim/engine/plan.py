"""What the engine needs from a scenario, validated and compiled once before it runs.

* **Tracked conditions**: every condition the engine must know the truth of for a contact
  at any instant — the scenario's segments first (in order), then, de-duplicated, trigger
  filters, branch conditions, ``AttributeMatches`` exit/restart conditions and channel
  eligibility. DuckDB computes all their transitions in bulk (as hidden segments); the
  engine only keeps, per contact, which of them hold.
* **Compiled flow versions** (:class:`CompiledFlow`): each step compiled by the rule of its
  kind (:data:`segsim.engine.compiled.STEP_RULES`) into a small frozen record (:class:`WaitStep`,
  :class:`BranchStep`, :class:`WaitForStep`, :class:`ActionStep`) that knows the id of the
  step after it; the trigger, filter and exit/restart conditions as tracked-condition indices.
* **The lifecycle** (:class:`LifecycleStep`): the schedule in the order it applies, each
  ``Edit`` with its compiled version; the state machine itself is
  :func:`segsim.flows.next_state`.

A new step kind is a compile rule in :mod:`segsim.engine.compiled` (an entry of its
:data:`~segsim.engine.compiled.STEP_RULES`) and a handler in the
event loop (:class:`segsim.engine.core.Simulation`'s handler table).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from segsim._conditions.values import value_kind
from segsim._internal.naming import did_you_mean
from segsim._internal.vocab import ACTION_CHANNEL, MESSAGE_ACTIONS
from segsim._time import duration_us, to_us
from segsim.conditions import (
    Condition,
    attr,
    attributes_used,
    compile_predicate,
    lists_used,
    time_relative_leaves,
    unknown_lists,
    validate_condition,
)
from segsim.engine.channel_checks import channel_attribute_checks
from segsim.engine.compiled import (
    STEP_RULES,
    ChannelRule,
    CompiledStep,
    WaitForStep,
    WaitStep,
    _FlowCompiler,
)
from segsim.engine.goal_exit import compile_goal_exits
from segsim.engine.goals import compile_goals, goal_problems
from segsim.engine.labels import number_labels
from segsim.engine.live import EVENT_ROW
from segsim.engine.policy import check_time_zones
from segsim.engine.responses import override_conditions
from segsim.errors import FlowNotReady, ScenarioError
from segsim.event_conditions import EventCatalog, events_used
from segsim.flows import (
    AddToList,
    AttributeMatches,
    Edit,
    EntersSegment,
    EventTrigger,
    ExitsSegment,
    Flow,
    FlowState,
    RemoveFromList,
    UpdateContact,
    _format_loc,
    event_flow_name,
    in_schedule_order,
    initial_state,
    iter_steps,
    next_state,
    walk_steps,
)
from segsim.segments import Segment, validate_segments

# -- compiled flows, lifecycle and the plan ---------------------------------------------------------


@dataclass
class CompiledFlow:
    """One version of a flow, ready for the event loop."""

    flow: Flow
    version: int
    #: the flow's position in the scenario (the order runs entering at one instant start in)
    rank: int
    first: str | None
    steps: dict[str, CompiledStep]
    #: the trigger segment's index; ``None`` for a draft or an event trigger
    trigger_condition: int | None
    trigger_on_enter: bool
    #: an event trigger's index in :attr:`Plan.event_triggers`; ``None`` otherwise
    trigger_event: int | None
    filter_condition: int | None
    exit_events: list[tuple[int, bool]]
    restart_events: list[tuple[int, bool]]
    allow_reentry: bool
    reentry_wait_us: int
    recheck: bool
    on_pause: str
    #: the flow's name (an attribute, not a property: the loop reads it millions of times)
    name: str = field(init=False)
    #: step id -> the number of its label (:mod:`segsim.engine.labels`), set with the plan's
    labels: dict[str, int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.name = self.flow.name

    def reacts_to(self) -> Iterable[int]:
        """The tracked conditions whose transitions this version reacts to."""
        if self.trigger_condition is not None:
            yield self.trigger_condition
        for condition, _ in (*self.exit_events, *self.restart_events):
            yield condition
        for step in self.steps.values():
            if isinstance(step, WaitForStep):  # a waiting run leaves when it turns true
                yield step.condition


@dataclass(frozen=True)
class LifecycleStep:
    """One schedule event as the engine applies it.

    ``order`` is its position in the schedule (events at one instant apply in that order);
    ``version`` is the compiled new version of an ``Edit`` (``None`` for the others).
    """

    at: int
    order: int
    event: Any
    version: CompiledFlow | None = None

    @property
    def flow_name(self) -> str:
        return event_flow_name(self.event)


@dataclass
class Plan:
    """A scenario compiled for the engine."""

    start: int
    end: int
    seed: int
    segments: list[Segment]
    conditions: list[Condition]
    hidden: list[Segment]
    types: dict[str, str]
    predicates: list[Any]
    leaves: list[tuple[str, int, str]]
    flows: dict[str, CompiledFlow]
    flow_order: list[str]
    versions: dict[tuple[str, int], CompiledFlow]
    lifecycle: list[LifecycleStep]
    initial_states: dict[str, FlowState]
    channels: dict[str, ChannelRule]
    webhook_cost: float
    #: the ``(event, where)`` of every event trigger of some flow version, de-duplicated:
    #: the occurrences the event loop reads (see :mod:`segsim.engine.occurrences`)
    event_triggers: list[tuple[str, Any]] = field(default_factory=list)
    #: attributes and lists some tracked condition reads: a change to anything else cannot
    #: change a membership, so it leaves the contact on the precomputed path
    used_attributes: frozenset[str] = frozenset()
    used_lists: frozenset[str] = frozenset()
    #: the events some tracked condition reads (their occurrences are live history too)
    used_events: frozenset[str] = frozenset()
    #: per tracked condition, what it reads: (is_list, name) pairs; (EVENT_ROW, event) for events
    inputs: list[frozenset[tuple[Any, str]]] = field(default_factory=list)
    #: what the analyst should know before trusting the figures (see :func:`check_scenario`)
    warnings: list[str] = field(default_factory=list)
    #: the scenario's holdout (docs/design.md §9), ``None`` without one
    holdout: Any = None
    #: the delivery policy (:class:`segsim.policies.DeliveryPolicy`), None when there is none
    policy: Any = None
    #: where each contact's time zone comes from (``ss.Channels``)
    timezone_attribute: str | None = None
    default_timezone: str = "UTC"
    #: whether some rule (a policy, a ``Wait(until=...)``) reads local time
    local_time: bool = False
    #: the response model (:class:`segsim.responses.ResponseModel`), None without one
    responses: Any = None
    #: each flow's goal (flows without one are absent), and the flows whose goal event
    #: the data has (observed conversions, :mod:`segsim.engine.goals`)
    goals: dict[str, Any] = field(default_factory=dict)
    observed_goals: frozenset[str] = frozenset()
    #: the flows with ``exit_on_goal``: the index of their goal event in
    #: :attr:`event_triggers` (None: the data has no such event), :mod:`segsim.engine.goal_exit`
    goal_exits: dict[str, int | None] = field(default_factory=dict)
    #: the tracked conditions of the response model's ``by_condition`` overrides, ranked
    response_conditions: tuple[int, ...] = ()
    #: the consent attribute of each message channel whose consent is tracked: what an
    #: ``unsubscribed`` response sets to false
    consent_attributes: dict[str, str] = field(default_factory=dict)
    #: the events conditions may read: the store's, and the simulated response events
    events: Any = None
    #: the label of every step of every version, by number (:func:`segsim.engine.labels.number_labels`)
    labels: tuple[tuple[Any, ...], ...] = ()

    @property
    def user_segments(self) -> int:
        return len(self.segments)

    @property
    def rate_limited(self) -> bool:
        """Whether contacts share a channel's capacity (a rate limit): no sharding then."""
        return self.policy is not None and bool(self.policy.rate_limits)


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

    def hidden_segments(self) -> list[Segment]:
        """The tracked conditions that are not user segments, as segments for DuckDB.

        Their names start with a run of ``#`` longer than any user segment name starts
        with, so no user segment (``"#1"`` included) can be named like one.
        """
        prefix = "#"
        while any(name.startswith(prefix) for name in self.segment_index):
            prefix += "#"
        first = len(self.segment_index)
        return [
            Segment(f"{prefix}{i}", where=condition)
            for i, condition in enumerate(self.items[first:], start=first)
        ]


def all_flow_versions(scenario: Any) -> list[Flow]:
    """The scenario's flows, then every flow an ``Edit`` in the schedule brings in."""
    flows = list(scenario.flows)
    flows += [event.flow for event in scenario.schedule if isinstance(event, Edit)]
    return flows


def _attribute_types(store_types: dict[str, str], flows: Sequence[Flow]) -> dict[str, str]:
    """Store types, plus attributes that only Update contact steps set (typed by value)."""
    types = dict(store_types)
    for flow in flows:
        for _, step in iter_steps(flow):
            if not isinstance(step, UpdateContact):
                continue
            for name, value in step.set.items():
                if value is None:  # unsets: says nothing of the type
                    continue
                kind = value_kind(value)  # a scalar: steps validate their values
                known = types.get(name)
                if known is None:
                    types[name] = kind
                elif known != kind and not (known == "timestamp" and isinstance(value, str)):
                    raise ScenarioError(
                        f"flow {flow.name!r} step {step.id!r} sets attribute {name!r} to "
                        f"{value!r} ({kind}), but {name!r} is a {known} attribute"
                    )
    return types


def _list_names(store: Any, flows: Sequence[Flow]) -> set[str]:
    """The lists the data or the flows know: the list history's, and those steps change."""
    names = set(store.list_names)
    for flow in flows:
        for _, step in iter_steps(flow):
            if isinstance(step, (AddToList, RemoveFromList)):
                names.add(step.list_name)
    return names


def checked_where(trigger: EventTrigger, property_types: dict[str, str], where: str) -> Any:
    """An event trigger's ``where``, checked against the store's property types and
    normalised (as conditions are); a :class:`ScenarioError` naming ``where`` otherwise."""
    if trigger.where is None:
        return None
    from segsim.event_conditions import EventCatalog, EventExists, validate_event_leaf

    def fail(message: str) -> ScenarioError:
        # the check speaks of the leaf selecting the same occurrences: name the trigger
        detail = message.split(": ", 1)[1] if ": " in message else message
        return ScenarioError(f"{where} (event {trigger.event!r} where {trigger.where}): {detail}")

    selection = EventExists(event=trigger.event, where=trigger.where)
    return validate_event_leaf(selection, EventCatalog(None, property_types), fail).where


def _event_trigger_problems(scenario: Any) -> list[tuple[str, str]]:
    """Event triggers naming an event the data has no occurrence of, or whose ``where``
    does not fit the stored properties: ``(path, message)``.

    An unknown event is almost always a misspelt name: such a flow could never start.
    """
    known = scenario.store.event_names
    property_types = scenario.store.event_property_types
    versions: list[tuple[tuple[str | int, ...], Flow]] = [
        (("flows", i), flow) for i, flow in enumerate(scenario.flows)
    ]
    versions += [
        (("schedule", k, "flow"), event.flow)
        for k, event in enumerate(scenario.schedule)
        if isinstance(event, Edit)
    ]
    problems = []
    for prefix, flow in versions:
        trigger = flow.trigger
        if not isinstance(trigger, EventTrigger):
            continue
        if trigger.event not in known:
            problems.append(
                (
                    _format_loc((*prefix, "trigger", "event")),
                    f"flow {flow.name!r} is triggered by event {trigger.event!r}, which the data "
                    f"has no occurrence of{did_you_mean(trigger.event, known)}",
                )
            )
            continue
        try:
            checked_where(trigger, property_types, f"flow {flow.name!r} trigger")
        except ScenarioError as exc:
            problems.append((_format_loc((*prefix, "trigger", "where")), str(exc)))
    return problems


def build_plan(scenario: Any) -> Plan:
    """Validate the scenario against its store and compile it for the engine."""
    store = scenario.store
    start, end = to_us(scenario.start), to_us(scenario.end)
    flows = all_flow_versions(scenario)
    store_types = store.attribute_types
    types = _attribute_types(store_types, flows)
    segments = list(scenario.segments)
    catalog = _event_catalog(scenario, store)
    normalised = validate_segments(segments, types, events=catalog)
    conditions = _Conditions(segments, normalised)
    names = set(conditions.segment_index)
    placed: list[tuple[str, Condition]] = [(f"segment {s.name!r}", s.where) for s in segments]

    def track(condition: Condition, where: str) -> int:
        checked = validate_condition(
            condition, types, segment_names=names, where=where, events=catalog
        )
        placed.append((where, checked))
        return conditions.add(checked)

    channels: dict[str, ChannelRule] = {}
    consent_attributes: dict[str, str] = {}
    for kind in MESSAGE_ACTIONS:
        channel = str(ACTION_CHANNEL[kind])
        address_attr, consent_attr, cost = scenario.channels.rule(kind)
        address = conditions.add(attr(address_attr).is_set()) if address_attr in types else None
        consent = None
        if consent_attr in types:
            if types[consent_attr] != "boolean":
                raise ScenarioError(
                    f"channel {channel}: consent attribute {consent_attr!r} is {types[consent_attr]}, "
                    "it must be boolean"
                )
            consent = conditions.add(attr(consent_attr) == True)
        channels[channel] = ChannelRule(channel, address, consent, float(cost))
        if consent is not None:
            consent_attributes[channel] = consent_attr
    goals, observed_goals, goal_warnings = compile_goals(scenario, store)
    response_conditions = override_conditions(getattr(scenario, "responses", None), track)

    event_problems = _event_trigger_problems(scenario)
    if event_problems:
        raise ScenarioError(event_problems[0][1])
    property_types = store.event_property_types
    compiled: dict[tuple[str, int], CompiledFlow] = {}
    latest: dict[str, CompiledFlow] = {}
    event_triggers: list[tuple[str, Any]] = []
    flow_order = [flow.name for flow in scenario.flows]
    rank = {name: i for i, name in enumerate(flow_order)}
    version_of: dict[str, int] = {}
    for flow in scenario.flows:
        version_of[flow.name] = flow.version
        latest[flow.name] = compiled[(flow.name, flow.version)] = _compile_flow(
            flow,
            flow.version,
            rank[flow.name],
            track,
            conditions.segment_index,
            types,
            event_triggers,
            property_types,
        )

    initial_states = {name: initial_state(name, scenario.schedule) for name in flow_order}
    lifecycle: list[LifecycleStep] = []
    for order, event in in_schedule_order(scenario.schedule):
        at = to_us(event.at)
        if isinstance(event, Edit):
            name = event.flow_name
            previous = version_of[name]
            version = event.flow.version if event.flow.version > previous else previous + 1
            version_of[name] = version
            cf = _compile_flow(
                event.flow,
                version,
                rank[name],
                track,
                conditions.segment_index,
                types,
                event_triggers,
                property_types,
            )
            compiled[(name, version)] = cf
            lifecycle.append(LifecycleStep(at, order, event, cf))
        else:
            lifecycle.append(LifecycleStep(at, order, event))
    goal_exits = compile_goal_exits(scenario, store, event_triggers)
    _check_ready(scenario.flows, lifecycle, initial_states)
    channel_problems, warnings = channel_attribute_checks(scenario, flows, store_types)
    if channel_problems:
        raise ScenarioError(channel_problems[0][1])
    warnings += unknown_lists(placed, _list_names(store, flows))
    policy = getattr(scenario, "policy", None)
    if policy is not None and policy.is_empty:
        policy = None
    local_time = (policy is not None and policy.uses_local_time) or any(
        isinstance(step, WaitStep) and step.until is not None
        for cf in compiled.values()
        for step in cf.steps.values()
    )
    timezone_attribute = scenario.channels.timezone_attribute
    check_time_zones(store, timezone_attribute, types, flows)

    hidden = conditions.hidden_segments()
    all_named = {s.name: normalised[s.name] for s in segments}
    predicates = [
        compile_predicate(c, types=types, segments=all_named, events=catalog)
        for c in conditions.items
    ]
    leaves = sorted({leaf for c in conditions.items for leaf in time_relative_leaves(c, all_named)})
    return Plan(
        start=start,
        end=end,
        seed=scenario.seed,
        segments=segments,
        conditions=conditions.items,
        hidden=hidden,
        types=types,
        predicates=predicates,
        leaves=leaves,
        flows=latest,
        flow_order=flow_order,
        versions=compiled,
        labels=number_labels(compiled.values()),
        lifecycle=lifecycle,
        initial_states=initial_states,
        channels=channels,
        webhook_cost=float(scenario.channels.cost_webhook),
        event_triggers=event_triggers,
        used_attributes=frozenset(
            a for c in conditions.items for a in attributes_used(c, all_named)
        ),
        used_lists=frozenset(n for c in conditions.items for n in lists_used(c, all_named)),
        used_events=frozenset(e for c in conditions.items for e in events_used(c, all_named)),
        inputs=[
            frozenset(
                {(False, a) for a in attributes_used(c, all_named)}
                | {(True, n) for n in lists_used(c, all_named)}
                | {(EVENT_ROW, e) for e in events_used(c, all_named)}
            )
            for c in conditions.items
        ],
        warnings=warnings + goal_warnings,
        holdout=getattr(scenario, "holdout", None),
        policy=policy,
        timezone_attribute=timezone_attribute,
        default_timezone=scenario.channels.default_timezone,
        local_time=local_time,
        responses=getattr(scenario, "responses", None),
        goals=goals,
        observed_goals=observed_goals,
        goal_exits=goal_exits,
        response_conditions=response_conditions,
        consent_attributes=consent_attributes,
        events=catalog,
    )


def _check_ready(
    flows: Sequence[Flow], lifecycle: Sequence[LifecycleStep], states: dict[str, FlowState]
) -> None:
    """A flow without a trigger cannot be active: found before anything runs.

    Walks the lifecycle with the one state machine (:func:`segsim.flows.next_state`): a
    flow active from the start, activated, or edited to lose its trigger while it is
    active or paused (a resume would make it active) raises :class:`FlowNotReady`.
    """
    current = {f.name: f for f in flows}
    for flow in flows:
        if states[flow.name] == "active" and flow.trigger is None:
            raise FlowNotReady(
                f"flow {flow.name!r} has no trigger, so it cannot be active from the scenario start; "
                f"configure a trigger or activate it later with ss.Activate({flow.name!r}, at=...)"
            )
    state = dict(states)
    for step in lifecycle:
        event, name = step.event, step.flow_name
        if isinstance(event, Edit):
            current[name] = event.flow
            if state[name] != "draft" and event.flow.trigger is None:
                raise FlowNotReady(
                    f"the edit of flow {name!r} at {event.at} removes its trigger while it is "
                    f"{state[name]}"
                )
        elif event.kind == "activate" and current[name].trigger is None:
            raise FlowNotReady(f"flow {name!r} is activated at {event.at} but has no trigger")
        after = next_state(state[name], event)
        assert after is not None, "scenario validation refuses impossible lifecycle events"
        state[name] = after


def _compile_flow(
    flow: Flow,
    version: int,
    rank: int,
    track: Callable[[Condition, str], int],
    segment_index: dict[str, int],
    types: dict[str, str],
    event_triggers: list[tuple[str, Any]],
    property_types: dict[str, str],
) -> CompiledFlow:
    compiler = _FlowCompiler(flow, track, types)
    steps = {
        place.step.id: STEP_RULES[place.step.kind](place, compiler) for place in walk_steps(flow)
    }
    where = f"flow {flow.name!r}"
    trigger = flow.trigger
    trigger_condition, on_enter, filter_condition, trigger_event = None, True, None, None
    if isinstance(trigger, EventTrigger):
        key = (trigger.event, checked_where(trigger, property_types, f"{where} trigger"))
        if key not in event_triggers:
            event_triggers.append(key)
        trigger_event = event_triggers.index(key)
    elif trigger is not None:
        trigger_condition = segment_index[trigger.segment]
        on_enter = trigger.on == "enter"
    if trigger is not None and trigger.filters is not None:
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
        rank=rank,
        first=flow.steps[0].id if flow.steps else None,
        steps=steps,
        trigger_condition=trigger_condition,
        trigger_on_enter=on_enter,
        trigger_event=trigger_event,
        filter_condition=filter_condition,
        exit_events=events(settings.exit_conditions, "exit condition"),
        restart_events=events(settings.restart_conditions, "restart condition"),
        allow_reentry=settings.allow_reentry,
        reentry_wait_us=duration_us(settings.reentry_wait),
        # an event is an instant, not a state: there is no trigger state to recheck
        recheck=settings.reentry_mode == "recheck" and trigger_event is None,
        on_pause=settings.on_pause,
    )


def _event_catalog(scenario: Any, store: Any) -> EventCatalog:
    """The events conditions may read: the data's, and the responses the scenario's response
    model simulates (``email_opened``, ..., docs/design.md §10)."""
    catalog = EventCatalog.of(store)
    responses = getattr(scenario, "responses", None)
    if responses is None or catalog.names is None:
        return catalog
    return EventCatalog(catalog.names | responses.events, catalog.properties)


def check_scenario(scenario: Any) -> tuple[list[str], list[str]]:
    """Every problem of a scenario against its data, and every warning.

    Problems are prefixed by their path, following the scenario file: ``segments[1].where``,
    ``flows[0].steps[2].then[0].when``, ``flows[0].settings.exit_conditions[0].condition``,
    ``channels.email_consent``, ``schedule[3].flow...``. No problem means :func:`build_plan`
    (and so a simulation) accepts the scenario; the warnings are those a simulation emits.
    """
    from segsim.errors import SegsimError

    problems: list[str] = []
    flows = all_flow_versions(scenario)
    store_types = scenario.store.attribute_types
    try:
        types = _attribute_types(store_types, flows)
    except SegsimError as exc:
        return [f"flows: {exc}"], []
    names = {s.name for s in scenario.segments}
    catalog = _event_catalog(scenario, scenario.store)

    def check(condition: Condition, path: str, where: str = "") -> None:
        try:
            validate_condition(condition, types, segment_names=names, where=where, events=catalog)
        except SegsimError as exc:
            problems.append(f"{path}: {exc}")

    for i, segment in enumerate(scenario.segments):
        check(segment.where, f"segments[{i}].where", f"segment {segment.name!r}")
    if not problems:
        try:
            validate_segments(scenario.segments, types, events=catalog)
        except SegsimError as exc:
            problems.append(f"segments: {exc}")

    def check_flow(flow: Flow, prefix: tuple[str | int, ...]) -> None:
        for loc, condition in flow.conditions():
            check(condition, _format_loc((*prefix, *loc)))

    for i, flow in enumerate(scenario.flows):
        check_flow(flow, ("flows", i))
    for k, event in enumerate(scenario.schedule):
        if isinstance(event, Edit):
            check_flow(event.flow, ("schedule", k, "flow"))
    channel_problems, warnings = channel_attribute_checks(scenario, flows, store_types)
    problems += [f"{path}: {message}" for path, message in channel_problems]
    problems += [f"{path}: {message}" for path, message in _event_trigger_problems(scenario)]
    problems += [f"{path}: {message}" for path, message in goal_problems(scenario, scenario.store)]
    if not problems:
        try:
            warnings = build_plan(scenario).warnings
        except SegsimError as exc:
            problems.append(str(exc))
    return problems, warnings


def scenario_problems(scenario: Any) -> list[str]:
    """Every problem of a scenario against its data, each prefixed by its path.

    An empty list means :func:`build_plan` (and so a simulation) will accept the scenario;
    see :func:`check_scenario` for the paths, and for the warnings too.
    """
    return check_scenario(scenario)[0]
