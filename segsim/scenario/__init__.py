"""Scenarios: data, segments, flows, a time window and a schedule, checked together.

A :class:`Scenario` is everything :func:`segsim.simulate` needs. It is built in Python
(``Scenario(store, segments=..., flows=..., start=..., end=...)``) or read from a YAML file
with :func:`load_scenario`, whose ``data:`` section says where the contact histories come
from (:class:`DuckDBSource`, :class:`CSVSource`, :class:`ParquetSource`, :class:`DemoSource`).

Validation here is structural: names unique, references to segments and flows resolved,
the lifecycle schedule in a possible order, ``start < end``. Checks that need the data
(attribute names and types) happen when the scenario is simulated. Errors name the item by
its path, ``flows[0].steps[2].duration``; from a file, the file too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, PrivateAttr, ValidationError, model_validator

from segsim._internal.models import FrozenModel
from segsim._internal.naming import Name, UTCDateTime, did_you_mean
from segsim.conditions import segments_used
from segsim.errors import ScenarioError, SegsimError
from segsim.experiments import Holdout
from segsim.flows import (
    Channels,
    Edit,
    EntersSegment,
    ExitsSegment,
    Flow,
    FlowState,
    LifecycleEvent,
    Loc,
    SegmentTrigger,
    _custom_error,
    _FrozenModel,
    event_flow_name,
    in_schedule_order,
    initial_state,
    next_state,
)
from segsim.policies import DeliveryPolicy
from segsim.responses import ResponseModel
from segsim.scenario._forecast import ForecastSettings
from segsim.scenario._yaml import _describe_errors, _error_lines, _Loader, _yaml_line, _yaml_problem
from segsim.segments import Segment

__all__ = [
    "CSVSource",
    "DataSource",
    "DemoSource",
    "DuckDBSource",
    "ForecastSettings",
    "ParquetSource",
    "Scenario",
    "load_scenario",
    "scenario_json_schema",
    "scenario_to_yaml",
]

AttributeType = Literal["string", "number", "boolean", "timestamp"]


# -- data sources ----------------------------------------------------------------------------------


def _resolve(path: str, base: Path) -> str:
    resolved = Path(path).expanduser()
    if not resolved.is_absolute():
        resolved = base / resolved
    return os.path.normpath(resolved)


class DuckDBSource(_FrozenModel):
    """A segsim DuckDB store file, opened read-only."""

    _positional = ("path",)

    kind: Literal["duckdb"] = "duckdb"
    path: Name

    def resolved(self, base: str | Path) -> DuckDBSource:
        """The same source with a relative path made absolute against ``base``."""
        return self.replace(path=_resolve(self.path, Path(base)))

    def open(self) -> Any:
        """The :class:`~segsim.store.Store` (read-only)."""
        from segsim.store import Store

        return Store(self.path, read_only=True)


class _FileSource(_FrozenModel):
    """Attribute changes in a CSV or Parquet file, and optionally list changes and events in
    others."""

    _positional = ("path",)

    kind: str  # each subclass narrows it to its tag (declared first, so it is dumped first)
    path: Name
    types: dict[Name, AttributeType] = Field(default_factory=dict)
    lists: Name | None = None
    events: Name | None = None
    event_properties: dict[Name, AttributeType] = Field(default_factory=dict)

    def resolved(self, base: str | Path) -> Any:
        """The same source with relative paths made absolute against ``base``."""
        base = Path(base)
        lists = None if self.lists is None else _resolve(self.lists, base)
        events = None if self.events is None else _resolve(self.events, base)
        return self.replace(path=_resolve(self.path, base), lists=lists, events=events)

    def open(self) -> Any:
        """A new in-memory :class:`~segsim.store.Store` loaded from the file(s)."""
        from segsim.store import Store

        store = Store()
        store.load_attributes(self.path, types=dict(self.types) or None)
        if self.lists is not None:
            store.load_lists(self.lists)
        if self.events is not None:
            store.load_events(self.events, properties=dict(self.event_properties) or None)
        return store


class CSVSource(_FileSource):
    """Attribute changes in a CSV file (columns ``contact_id, ts, attribute, value``).

    ``types`` declares attribute types (the others are inferred); ``lists`` is a CSV file of
    list changes (``contact_id, ts, list, member``); ``events`` a CSV file of event
    occurrences (``contact_id, ts, event``, optionally ``event_id``, then property columns),
    ``event_properties`` declaring property types. Relative paths in a scenario file are read
    from the file's folder.
    """

    kind: Literal["csv"] = "csv"


class ParquetSource(_FileSource):
    """Attribute changes in a Parquet file; otherwise like :class:`CSVSource`."""

    kind: Literal["parquet"] = "parquet"


class DemoSource(_FrozenModel):
    """The built-in synthetic population (:func:`segsim.datasets.demo`)."""

    kind: Literal["demo"] = "demo"
    contacts: int = Field(default=5_000, ge=1)
    seed: int = 7

    def resolved(self, base: str | Path) -> DemoSource:
        """Itself: the demo reads no file."""
        return self

    def open(self) -> Any:
        """A new in-memory store holding the demo population."""
        from segsim.datasets import demo

        return demo(contacts=self.contacts, seed=self.seed)


DataSource = Annotated[
    DuckDBSource | CSVSource | ParquetSource | DemoSource, Field(discriminator="kind")
]


# -- the scenario ----------------------------------------------------------------------------------


class Scenario(FrozenModel):
    """Data, segments, flows, the simulated window and the lifecycle schedule.

    Parameters
    ----------
    store : Store, optional
        The contact histories. Give either a store or ``data``.
    data : DuckDBSource, CSVSource, ParquetSource or DemoSource, optional
        Where to read the histories; the store is built from it on first use.
    segments : sequence of Segment
        Every segment the flows refer to; names unique.
    flows : sequence of Flow
        Names unique. Each is active from ``start`` unless the schedule activates it later.
    start, end : timestamp-like
        The window ``[start, end)``, UTC (naive means UTC).
    seed : int
        Seed of every random choice.
    schedule : sequence of Activate, Pause, Resume, Edit
        Lifecycle events inside the window.
    channels : Channels
        Channel rules and costs.
    include_existing_members : bool
        Contacts already in a segment at ``start`` enter it at ``start``.
    holdout : Holdout, optional
        A control group: its contacts get no message from the flows it covers (docs/design.md §9).
    policy : DeliveryPolicy
        Quiet hours, frequency caps and rate limits applied to every message (none by
        default); local time comes from ``channels`` (``timezone_attribute``).
    responses : ResponseModel, optional
        How contacts respond to sent messages: the ``responses`` frame, unsubscribes that
        feed back, simulated conversions (docs/design.md §10).
    forecast : ForecastSettings, optional
        The defaults of :func:`segsim.forecast` and ``segsim forecast`` (horizon, method,
        replications, seed, block; docs/design.md §11); the replay ignores them.

    Raises
    ------
    pydantic.ValidationError
        Listing every problem at its location, e.g. ``flows.0.trigger.segment``: ``flow
        'Welcome' is triggered by unknown segment 'VPI'; did you mean 'VIP'?``.
        :func:`load_scenario` reports the same as a :class:`ScenarioError` naming the file.
    ScenarioError
        When both a store and ``data`` are given, and from :meth:`store` when neither was.

    Examples
    --------
    >>> import segsim as ss
    >>> from segsim.conditions import attr
    >>> vip = Segment("VIP", attr("plan") == "pro")
    >>> flow = Flow("Welcome", trigger=ss.flows.SegmentTrigger("VIP"))
    >>> Scenario(data=DemoSource(contacts=100), segments=[vip], flows=[flow],
    ...          start="2026-01-01", end="2026-04-01")
    Scenario(2026-01-01 00:00 → 2026-04-01 00:00, 1 segment, 1 flow, 0 schedule events, data=demo)
    """

    data: DataSource | None = None
    segments: tuple[Segment, ...]
    flows: tuple[Flow, ...]
    start: UTCDateTime
    end: UTCDateTime
    seed: int = 0
    schedule: tuple[LifecycleEvent, ...] = ()
    channels: Channels = Field(default_factory=Channels)
    include_existing_members: bool = False
    holdout: Holdout | None = None
    policy: DeliveryPolicy = Field(default_factory=DeliveryPolicy)
    responses: ResponseModel | None = None
    forecast: ForecastSettings | None = None

    # The store is not part of the model: it is not data to dump, compare or describe in a
    # schema, only the connection the simulation reads from.
    _store: Any = PrivateAttr(default=None)

    def __init__(self, store: Any = None, **fields: Any) -> None:
        # pydantic also calls this to validate a dict (model_validate, nested data), so it
        # must not insist on a store: a dumped scenario without data is read back store-less.
        if store is not None and fields.get("data") is not None:
            raise ScenarioError("give either a store or data=..., not both")
        super().__init__(**fields)
        self._store = store

    @property
    def store(self) -> Any:
        """The :class:`~segsim.store.Store`, built from ``data`` on first use if needed."""
        if self._store is None:
            if self.data is None:
                raise ScenarioError(
                    "this scenario has no contact data: build it with Scenario(store, ...) or "
                    "Scenario(data=DemoSource(), ...), or attach a store with .with_store(store)"
                )
            self._store = self.data.open()
        return self._store

    def with_store(self, store: Any) -> Scenario:
        """The same scenario reading from ``store`` (e.g. one read back from a dump)."""
        copy = self.model_copy()
        copy._store = store
        return copy

    def replace(self, **changes: Any) -> Scenario:
        """A copy with some fields changed, validated like a new scenario.

        The copy reads from the same store, unless ``data`` is replaced (it then reads from
        the new source). Invalid changes raise ``pydantic.ValidationError``, as construction
        does.

        >>> later = scenario.replace(end="2026-05-01", seed=2)
        >>> later.store is scenario.store, later.seed, later.end.month
        (True, 2, 5)
        """
        copy = super().replace(**changes)
        if "data" not in changes:
            copy._store = self._store
        return copy

    # -- validation ------------------------------------------------------------------------

    @model_validator(mode="after")
    def _check_consistency(self) -> Scenario:
        problems = _problems(self)
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [_custom_error(loc, message, value) for loc, message, value in problems],
            )
        return self

    # -- variants ----------------------------------------------------------------------------

    def with_flow(self, flow: Flow) -> Scenario:
        """A copy with the flow of the same name replaced by ``flow`` (e.g. an A/B variant).

        Scheduled :class:`Edit` events keep the versions they bring in.
        """
        names = [f.name for f in self.flows]
        if flow.name not in names:
            raise ScenarioError(
                f"the scenario has no flow {flow.name!r}{did_you_mean(flow.name, names)}"
            )
        flows = tuple(flow if f.name == flow.name else f for f in self.flows)
        return self._replaced(flows=flows)

    def with_settings(self, flow_name: str, **changes: Any) -> Scenario:
        """A copy in which flow ``flow_name`` has some activation settings changed.

        >>> scenario.with_settings("Welcome", allow_reentry=True, reentry_wait="7d")
        Scenario(2026-01-01 00:00 → 2026-04-01 00:00, 1 segment, 1 flow, 0 schedule events, ...)
        """
        by_name = {f.name: f for f in self.flows}
        if flow_name not in by_name:
            raise ScenarioError(
                f"the scenario has no flow {flow_name!r}{did_you_mean(flow_name, by_name)}"
            )
        flow = by_name[flow_name]
        try:
            settings = flow.settings.replace(**changes)
        except ValidationError as exc:
            where = f"flow {flow_name!r} settings"
            raise ScenarioError(_describe_errors(exc, changes, prefix=where)) from None
        return self.with_flow(flow.replace(settings=settings))

    def _replaced(self, **changes: Any) -> Scenario:
        """:meth:`replace`, with the problems as one :class:`ScenarioError` (for variants)."""
        try:
            return self.replace(**changes)
        except ValidationError as exc:
            fields = {name: getattr(self, name) for name in type(self).model_fields}
            raise ScenarioError(_describe_errors(exc, {**fields, **changes})) from None

    # -- display ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        def count(n: int, noun: str) -> str:
            return f"{n} {noun}{'' if n == 1 else 's'}"

        if self._store is not None:
            source = f"store={self._store!r}"
        else:
            source = f"data={self.data.kind}" if self.data is not None else "no data"
        return (
            f"Scenario({self.start:%Y-%m-%d %H:%M} → {self.end:%Y-%m-%d %H:%M}, "
            f"{count(len(self.segments), 'segment')}, {count(len(self.flows), 'flow')}, "
            f"{count(len(self.schedule), 'schedule event')}, {source})"
        )

    __str__ = __repr__


def _problems(scenario: Scenario) -> list[tuple[Loc, str, Any]]:
    """Every structural problem of a scenario: ``(location, message, offending value)``."""
    problems: list[tuple[Loc, str, Any]] = []
    if scenario.start >= scenario.end:
        problems.append(
            (("end",), f"end ({scenario.end}) must be after start ({scenario.start})", scenario.end)
        )

    segment_names: set[str] = set()
    for i, segment in enumerate(scenario.segments):
        if segment.name in segment_names:
            message = f"two segments are named {segment.name!r}; segment names must be unique"
            problems.append((("segments", i, "name"), message, segment.name))
        segment_names.add(segment.name)
    for i, segment in enumerate(scenario.segments):
        for name in sorted(segments_used(segment.where)):
            if name not in segment_names:
                message = (
                    f"segment {segment.name!r} refers to unknown segment {name!r}"
                    f"{did_you_mean(name, segment_names)}"
                )
                problems.append((("segments", i, "where"), message, name))

    flow_names: set[str] = set()
    for i, flow in enumerate(scenario.flows):
        if flow.name in flow_names:
            message = f"two flows are named {flow.name!r}; flow names must be unique"
            problems.append((("flows", i, "name"), message, flow.name))
        flow_names.add(flow.name)
        problems += _flow_problems(flow, ("flows", i), segment_names)

    for k, event in enumerate(scenario.schedule):
        name, field = (
            (event.flow_name, "flow_name") if isinstance(event, Edit) else (event.flow, "flow")
        )
        if name not in flow_names:
            message = f"{event.kind} of unknown flow {name!r}{did_you_mean(name, flow_names)}"
            problems.append((("schedule", k, field), message, name))
        if isinstance(event, Edit):
            problems += _flow_problems(event.flow, ("schedule", k, "flow"), segment_names)
        if scenario.start < scenario.end and not scenario.start <= event.at < scenario.end:
            message = (
                f"{event.kind} of flow {name!r} at {event.at} is outside the scenario window "
                f"[{scenario.start}, {scenario.end})"
            )
            problems.append((("schedule", k, "at"), message, event.at))
    problems += _lifecycle_problems(scenario.schedule, flow_names)
    if scenario.holdout is not None:
        for k, name in enumerate(scenario.holdout.flows or ()):
            if name not in flow_names:
                message = (
                    f"the holdout covers unknown flow {name!r}{did_you_mean(name, flow_names)}"
                )
                problems.append((("holdout", "flows", k), message, name))
    return problems


def _flow_problems(flow: Flow, loc: Loc, segment_names: set[str]) -> list[tuple[Loc, str, Any]]:
    problems: list[tuple[Loc, str, Any]] = []

    def unknown(where: Loc, name: str, what: str) -> None:
        message = (
            f"flow {flow.name!r} {what} unknown segment {name!r}{did_you_mean(name, segment_names)}"
        )
        problems.append(((*loc, *where), message, name))

    if isinstance(flow.trigger, SegmentTrigger) and flow.trigger.segment not in segment_names:
        unknown(("trigger", "segment"), flow.trigger.segment, "is triggered by")
    for field, what in (("exit_conditions", "an exit"), ("restart_conditions", "a restart")):
        for j, event in enumerate(getattr(flow.settings, field)):
            if (
                isinstance(event, (ExitsSegment, EntersSegment))
                and event.segment not in segment_names
            ):
                unknown(
                    ("settings", field, j, "segment"), event.segment, f"has {what} condition on"
                )
    for where, condition in flow.conditions():
        for name in sorted(segments_used(condition)):
            if name not in segment_names:
                unknown(where, name, "refers (in_segment) to")
    return problems


def _lifecycle_problems(
    schedule: Iterable[Any], flow_names: set[str]
) -> list[tuple[Loc, str, Any]]:
    """Events in time order must be possible (:func:`segsim.flows.next_state`): activate a
    draft, pause an active flow, resume a paused one. A flow that some ``Activate`` names is
    a draft until then."""
    schedule = list(schedule)
    state: dict[str, FlowState] = {name: initial_state(name, schedule) for name in flow_names}
    problems: list[tuple[Loc, str, Any]] = []
    for k, event in in_schedule_order(schedule):
        name = event_flow_name(event)
        if name not in state:
            continue  # an unknown flow, reported on its own
        after = next_state(state[name], event)
        if after is None:
            hint = {
                "activate": "it is active from the scenario start unless an Activate comes "
                "first; Activate only starts a draft (use Resume after a Pause)",
                "pause": "only an active flow can be paused",
                "resume": "only a paused flow can be resumed (Resume without a Pause)",
            }[event.kind]
            message = (
                f"{event.kind} of flow {name!r} at {event.at}: the flow is {state[name]}; {hint}"
            )
            problems.append((("schedule", k), message, name))
            continue
        state[name] = after
    return problems


# -- files -----------------------------------------------------------------------------------------


def load_scenario(path: str | os.PathLike[str], *, data: Any = None) -> Scenario:
    """Read a scenario from a YAML file and open its data.

    Relative paths in ``data:`` are read from the YAML file's folder. ``data`` runs the file's
    scenario on other data instead: a data source (``DemoSource(contacts=300)``,
    ``CSVSource(path=...)``) or a :class:`~segsim.store.Store`; the file's own ``data:`` is then
    neither required nor opened.

    Raises
    ------
    ScenarioError
        For a file that cannot be read, malformed YAML (with line and column) or an invalid
        scenario: one line per problem, ``<file>: flows[0].steps[2].duration: <message>
        (line 14)``.
    SegsimError
        When the data cannot be loaded (the message names the scenario file and the source).

    Examples
    --------
    A minimal file::

        data: {kind: demo, contacts: 1000}
        start: 2026-01-01
        end: 2026-04-01
        segments:
          - name: VIP
            where: {kind: compare, attribute: plan, op: "==", value: pro}
        flows:
          - name: Welcome
            trigger: {segment: VIP}
            steps:
              - {kind: send_email, id: e1, template: welcome}
              - {kind: wait, id: w1, duration: 2d}
    """
    path = Path(path)
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ScenarioError(f"{label}: cannot read the scenario file: {reason}") from None
    try:
        root = yaml.compose(text, Loader=_Loader)
        raw = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{label}: malformed YAML: {_yaml_problem(exc)}") from None
    if raw is None:
        raise ScenarioError(f"{label}: the file is empty")
    if not isinstance(raw, dict):
        raise ScenarioError(
            f"{label}: a scenario file is a mapping with keys data, segments, flows, start, "
            f"end, ...; got {type(raw).__name__}"
        )
    if "store" in raw:
        raise ScenarioError(f"{label}: store: a file cannot hold a store; describe it with data:")
    if data is not None:
        raw = {**raw, "data": None}
    elif raw.get("data") is None:
        raise ScenarioError(
            f"{label}: data: missing; say where the contact histories are, e.g. "
            "data: {kind: csv, path: contacts.csv} (kinds: duckdb, csv, parquet, demo)"
        )
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for loc, line in _error_lines(exc, raw):
            number = _yaml_line(root, loc)
            lines.append(f"{label}: {line}" + (f" (line {number})" if number is not None else ""))
        raise ScenarioError("\n".join(lines)) from None
    if data is not None:
        if hasattr(data, "open") and hasattr(data, "kind"):  # a data source
            return scenario.replace(data=data)
        return scenario.with_store(data)
    assert scenario.data is not None
    source = scenario.data.resolved(path.resolve().parent)
    try:
        store = source.open()
    except SegsimError as exc:
        raise type(exc)(f"{label}: data: {exc}") from None
    scenario = scenario.replace(data=source)
    scenario._store = store
    return scenario


def scenario_to_yaml(scenario: Scenario) -> str:
    """The scenario as YAML that :func:`load_scenario` reads back.

    The store itself is not written: a scenario built on a store is written with
    ``data: null``, to be replaced by a data source before the file can be loaded.
    """
    return yaml.safe_dump(
        scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=100
    )


def scenario_json_schema() -> dict[str, Any]:
    """The JSON schema of scenario files (for editors and validators)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
