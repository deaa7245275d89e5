"""Flows: what happens to a contact once a segment transition (or an event) triggers it.

A :class:`Flow` is a trigger (:class:`SegmentTrigger` or :class:`EventTrigger`), a tree of
steps and :class:`ActivationSettings`. Steps are *actions* (:class:`SendEmail`,
:class:`SendSMS`, :class:`SendWhatsApp`, :class:`AddToList`, :class:`RemoveFromList`,
:class:`UpdateContact`, :class:`DeleteContact`, :class:`Webhook`) and *rules* (:class:`Wait`,
:class:`Branch`, :class:`WaitFor`); every
step has an ``id`` unique in its flow, which is how an edit finds where running contacts are.
Lifecycle events (:class:`Activate`, :class:`Pause`, :class:`Resume`, :class:`Edit`) and the
channel rules (:class:`Channels`) complete what a scenario says about its flows.

Everything here is a frozen pydantic model; unions carry a ``kind`` discriminator, so a flow
round-trips through ``model_dump()``, JSON and YAML without a registry. Constructors take the
name (or step id) first, positionally, and the rest by keyword::

    Flow("Welcome", trigger=SegmentTrigger("VIP"), steps=[Wait("w1", "2d")])

Durations accept ``"90min"``, ``"36h"``, ``"2d"``, ``"1w"`` or a ``timedelta`` and are written
back in their shortest exact form (``"2d"``). Instants are UTC; naive input means UTC.

The steps and the walk over them, and the triggers and settings, are defined in the private
package :mod:`segsim._flows`; this module is where they are imported from, and holds the
``Flow``, the lifecycle and the channels.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from segsim._flows.base import Loc, _custom_error, _format_loc, _FrozenModel
from segsim._flows.steps import (
    AddToList,
    AudiencePath,
    AudienceSplit,
    Branch,
    DeleteContact,
    RemoveFromList,
    SendEmail,
    SendSMS,
    SendWhatsApp,
    Split,
    Step,
    StepPlace,
    UpdateContact,
    Wait,
    WaitFor,
    Webhook,
    find_step,
    iter_steps,
    walk_steps,
)
from segsim._flows.triggers import TRIGGER_TAGS as TRIGGER_TAGS
from segsim._flows.triggers import (
    ActivationSettings,
    AttributeMatches,
    EntersSegment,
    EventTrigger,
    ExitsSegment,
    FlowEvent,
    SegmentTrigger,
    Trigger,
)
from segsim._internal.formatting import DEFAULT_CURRENCY
from segsim._internal.localtime import time_zone
from segsim._internal.naming import Name, UTCDateTime
from segsim._internal.vocab import ACTION_KINDS
from segsim.conditions import attr as attr_condition
from segsim.conditions import attributes_used as condition_attributes
from segsim.conditions import lists_used as condition_lists
from segsim.conditions import segments_used as condition_segments
from segsim.errors import FlowNotReady
from segsim.responses import Goal

__all__ = [
    "ACTION_KINDS",
    "Activate",
    "ActivationSettings",
    "AddToList",
    "AttributeMatches",
    "AudiencePath",
    "AudienceSplit",
    "Branch",
    "Channels",
    "DeleteContact",
    "Edit",
    "EntersSegment",
    "EventTrigger",
    "ExitsSegment",
    "Flow",
    "FlowEvent",
    "FlowState",
    "LifecycleEvent",
    "Pause",
    "RemoveFromList",
    "Resume",
    "SegmentTrigger",
    "SendEmail",
    "SendSMS",
    "SendWhatsApp",
    "Split",
    "Step",
    "StepPlace",
    "UpdateContact",
    "Wait",
    "WaitFor",
    "Webhook",
    "event_flow_name",
    "find_step",
    "in_schedule_order",
    "initial_state",
    "iter_steps",
    "next_state",
    "walk_steps",
]

# -- the flow --------------------------------------------------------------------------------------


class Flow(_FrozenModel):
    """A segment-triggered automation flow: trigger, steps and activation settings.

    Parameters
    ----------
    name : str
        Unique within a scenario.
    trigger : SegmentTrigger or EventTrigger, optional
        Without one the flow is a *draft*: valid, but it cannot be activated.
    steps : sequence of steps
        Executed in order; a :class:`Branch` holds two sub-sequences. Step ids are unique
        in the whole tree.
    settings : ActivationSettings
    version : int
        Starts at 1; an :class:`Edit` brings in a new version.
    goal : Goal, optional
        The conversion the flow is judged by (:class:`segsim.responses.Goal`): goal events
        credited to its sent messages, the ``conversions`` frame (docs/design.md §10).
    exit_on_goal : bool
        With a goal: an open run ends (``end_reason="goal"``) the instant the contact
        performs the goal event, in the data or as a simulated conversion (docs/design.md §10).

    Examples
    --------
    >>> from segsim.conditions import in_list
    >>> Flow("Welcome", trigger=SegmentTrigger("VIP"), steps=[
    ...     SendEmail("e1", template="hello"), Wait("w1", "2d"),
    ...     Branch("b1", when=in_list("newsletter"), then=[SendEmail("e2", template="tips")])])
    Flow('Welcome', v1, trigger=enter 'VIP', 4 steps)
    """

    _positional = ("name",)

    name: Name
    trigger: Trigger | None = None
    steps: tuple[Step, ...] = ()
    settings: ActivationSettings = Field(default_factory=ActivationSettings)
    version: int = Field(default=1, ge=1)
    #: higher wins a frequency cap when sends of several flows are decided at one instant
    priority: int = 0
    #: the conversion the flow is judged by (responses and goals, docs/design.md §10)
    goal: Goal | None = None
    #: end an open run (reason ``goal``) the instant the contact performs the goal event
    exit_on_goal: bool = False

    @model_validator(mode="after")
    def _exit_on_goal_needs_a_goal(self) -> Flow:
        if self.exit_on_goal and self.goal is None:
            message = (
                f"flow {self.name!r}: exit_on_goal=True needs a goal (Flow(..., goal=ss.Goal("
                "event=..., within=...))): without one there is no goal event to exit on"
            )
            raise ValidationError.from_exception_data(
                type(self).__name__, [_custom_error(("exit_on_goal",), message, True)]
            )
        return self

    @model_validator(mode="after")
    def _unique_step_ids(self) -> Flow:
        first_seen: dict[str, Loc] = {}
        errors = []
        for loc, step in iter_steps(self.steps):
            if step.id in first_seen:
                message = (
                    f"flow {self.name!r}: step id {step.id!r} is used twice "
                    f"({_format_loc(first_seen[step.id])} and {_format_loc(loc)}); "
                    "step ids must be unique in the flow"
                )
                errors.append(_custom_error((*loc, "id"), message, step.id))
            else:
                first_seen[step.id] = loc
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self

    # -- readiness -------------------------------------------------------------------------

    @property
    def is_ready(self) -> bool:
        """Whether the flow can be activated (its trigger is configured)."""
        return self.trigger is not None

    def require_ready(self) -> Flow:
        """Return the flow, or raise :class:`~segsim.errors.FlowNotReady` if it is a draft."""
        if self.trigger is None:
            raise FlowNotReady(
                f"flow {self.name!r} has no trigger configured, so it cannot be activated; "
                "give it trigger=SegmentTrigger(segment, on='enter')"
            )
        return self

    # -- what the flow refers to -------------------------------------------------------------

    @property
    def step_ids(self) -> tuple[str, ...]:
        """Every step id, in tree order."""
        return tuple(step.id for _, step in iter_steps(self.steps))

    def conditions(self) -> Iterator[tuple[Loc, Any]]:
        """``(location, condition)`` of every condition the flow reads.

        Trigger filters, branch and WaitFor conditions and ``AttributeMatches`` exit/restart
        conditions.
        """
        if self.trigger is not None and self.trigger.filters is not None:
            yield ("trigger", "filters"), self.trigger.filters
        for loc, step in iter_steps(self.steps):
            if isinstance(step, Branch):
                yield (*loc, "when"), step.when
            elif isinstance(step, AudienceSplit):
                for i, path in enumerate(step.paths):
                    yield (*loc, "paths", i, "when"), path.when
            elif isinstance(step, Split) and step.bucket_attribute is not None:
                # the bucket is a number attribute of the data (read as a condition)
                yield (*loc, "bucket_attribute"), attr_condition(step.bucket_attribute) >= 0
            elif isinstance(step, WaitFor):
                yield (*loc, "until"), step.until
        for field in ("exit_conditions", "restart_conditions"):
            for i, event in enumerate(getattr(self.settings, field)):
                if isinstance(event, AttributeMatches):
                    yield ("settings", field, i, "condition"), event.condition

    def segments_used(self) -> set[str]:
        """Segments the flow refers to: trigger, exit/restart segments, ``in_segment`` refs."""
        names = set()
        if isinstance(self.trigger, SegmentTrigger):
            names.add(self.trigger.segment)
        for event in (*self.settings.exit_conditions, *self.settings.restart_conditions):
            if isinstance(event, (ExitsSegment, EntersSegment)):
                names.add(event.segment)
        for _, condition in self.conditions():
            names |= condition_segments(condition)
        return names

    def attributes_used(self, segments: Mapping[str, Any] | Iterable[Any] = ()) -> set[str]:
        """Attributes the flow's own conditions read (filters, branches, AttributeMatches).

        ``segments`` (``{name: condition}`` or Segment objects) lets ``in_segment``
        references be followed. The trigger segment's own condition is not included: it is
        the segment's, not the flow's.
        """
        by_name = _segment_conditions(segments)
        used: set[str] = set()
        for _, condition in self.conditions():
            used |= condition_attributes(condition, by_name)
        return used

    def lists_used(self, segments: Mapping[str, Any] | Iterable[Any] = ()) -> set[str]:
        """Lists the flow's own conditions read (not the lists its actions write)."""
        by_name = _segment_conditions(segments)
        used: set[str] = set()
        for _, condition in self.conditions():
            used |= condition_lists(condition, by_name)
        return used

    def with_version(self, version: int) -> Flow:
        """The same flow with another version number."""
        return self.replace(version=version)

    # -- display ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        if isinstance(self.trigger, EventTrigger):
            trigger = f"trigger=event {self.trigger.event!r}"
        elif self.trigger is not None:
            trigger = f"trigger={self.trigger.on} {self.trigger.segment!r}"
        else:
            trigger = "no trigger (draft)"
        n = len(self.step_ids)
        return f"Flow({self.name!r}, v{self.version}, {trigger}, {n} step{'' if n == 1 else 's'})"

    __str__ = __repr__

    def _repr_html_(self) -> str:
        """In Jupyter a flow displays as its diagram (:func:`segsim.diagram.flow_svg`)."""
        from segsim.diagram import flow_svg  # display only: imported when first shown

        return flow_svg(self)

    def outline_html(self) -> str:
        """The flow as a nested HTML list of its steps (no drawing)."""

        def items(steps: Sequence[Any]) -> str:
            out = []
            for step in steps:
                text = f"<code>{html.escape(step.id)}</code> {html.escape(step.describe())}"
                paths = step.child_paths()
                if paths:
                    text += (
                        "<ul>"
                        + "".join(
                            f"<li>{html.escape(name.replace('_', ' '))}<ul>{items(nested)}</ul></li>"
                            for name, nested in paths
                        )
                        + "</ul>"
                    )
                out.append(f"<li>{text}</li>")
            return "".join(out) or "<li><i>(no steps)</i></li>"

        trigger = html.escape(self.trigger.describe()) if self.trigger else "<i>none (draft)</i>"
        return (
            f"<div><b>Flow {html.escape(self.name)!s}</b> v{self.version}<br>"
            f"trigger: {trigger}<br>settings: {html.escape(self.settings.describe())}"
            f"<ul>{items(self.steps)}</ul></div>"
        )


def _segment_conditions(segments: Mapping[str, Any] | Iterable[Any]) -> dict[str, Any]:
    if isinstance(segments, Mapping):
        return dict(segments)
    items: Iterable[Any] = segments
    return {segment.name: segment.where for segment in items}


# -- lifecycle -------------------------------------------------------------------------------------


class Activate(_FrozenModel):
    """Activate a draft flow at ``at`` (its trigger must be configured)."""

    _positional = ("flow",)

    kind: Literal["activate"] = "activate"
    flow: Name
    at: UTCDateTime


class Pause(_FrozenModel):
    """Pause an active flow at ``at``: no new entries; runs follow ``settings.on_pause``."""

    _positional = ("flow",)

    kind: Literal["pause"] = "pause"
    flow: Name
    at: UTCDateTime


class Resume(_FrozenModel):
    """Resume a paused flow at ``at``."""

    _positional = ("flow",)

    kind: Literal["resume"] = "resume"
    flow: Name
    at: UTCDateTime


class Edit(_FrozenModel):
    """Replace flow ``flow_name`` by a new version at ``at``; runs keep their step by id."""

    _positional = ("flow_name",)

    kind: Literal["edit"] = "edit"
    flow_name: Name
    at: UTCDateTime
    flow: Flow

    @model_validator(mode="after")
    def _same_name(self) -> Edit:
        if self.flow.name != self.flow_name:
            raise ValueError(
                f"Edit({self.flow_name!r}) brings in a flow named {self.flow.name!r}; "
                "the new version must keep the flow's name"
            )
        return self


LifecycleEvent = Annotated[Activate | Pause | Resume | Edit, Field(discriminator="kind")]

# -- the lifecycle state machine ---------------------------------------------------------------
#
# Written once, read by scenario validation (which events are possible), the engine's
# compiler (a flow that would be active without a trigger) and the event loop (the state of
# each flow as time passes).

#: The state of a flow: ``draft`` (no entries, ``flow_inactive``), ``active``, ``paused``
#: (no entries, ``flow_paused``; runs in flight follow ``on_pause``).
FlowState = Literal["draft", "active", "paused"]

#: lifecycle event kind -> (the state it needs, the state it leads to); an Edit keeps the state
_TRANSITIONS: dict[str, tuple[FlowState, FlowState]] = {
    "activate": ("draft", "active"),
    "pause": ("active", "paused"),
    "resume": ("paused", "active"),
}


def initial_state(flow_name: str, schedule: Iterable[Any]) -> FlowState:
    """A scenario's flow is active from the start, unless the schedule activates it later.

    >>> initial_state("Welcome", [Activate("Welcome", at="2026-02-01")])
    'draft'
    """
    activated = any(isinstance(e, Activate) and e.flow == flow_name for e in schedule)
    return "draft" if activated else "active"


def next_state(state: FlowState, event: Any) -> FlowState | None:
    """The state a lifecycle event leads to from ``state``; ``None`` if it is impossible there.

    ``Activate`` starts a draft, ``Pause`` an active flow, ``Resume`` a paused one; an
    ``Edit`` keeps the state.

    >>> next_state("active", Pause("Welcome", at="2026-02-01"))
    'paused'
    >>> next_state("draft", Resume("Welcome", at="2026-02-01")) is None
    True
    """
    if isinstance(event, Edit):
        return state
    needed, after = _TRANSITIONS[event.kind]
    return after if state == needed else None


def in_schedule_order(schedule: Iterable[Any]) -> list[tuple[int, Any]]:
    """``(position, event)`` of a schedule in the order events apply: by time, then position."""
    return sorted(enumerate(schedule), key=lambda item: (item[1].at, item[0]))


def event_flow_name(event: Any) -> str:
    """The name of the flow a lifecycle event is about."""
    return str(event.flow_name if isinstance(event, Edit) else event.flow)


# -- channels --------------------------------------------------------------------------------------


class Channels(_FrozenModel):
    """Which attributes make a contact reachable on each channel, and what a message costs.

    A send goes out when the address attribute is set and the consent attribute is
    ``True``; otherwise it is skipped (``no_email``/``no_phone``, then ``unsubscribed``).
    Costs are per message sent (per call for webhooks), in ``currency`` — ``"EUR"`` by
    default, an ISO 4217 code such as ``"USD"`` or ``"GBP"``, shown beside every cost in
    summaries, reports and the command line. The default costs are rough list prices in EUR
    (email 0.001, SMS 0.05, WhatsApp 0.03, webhook 0), meant to be replaced by your own.
    """

    email_address: Name = "email"
    email_consent: Name = "email_subscribed"
    sms_address: Name = "phone"
    sms_consent: Name = "sms_subscribed"
    whatsapp_address: Name = "phone"
    whatsapp_consent: Name = "whatsapp_subscribed"
    cost_email: float = Field(default=0.001, ge=0, allow_inf_nan=False)
    cost_sms: float = Field(default=0.05, ge=0, allow_inf_nan=False)
    cost_whatsapp: float = Field(default=0.03, ge=0, allow_inf_nan=False)
    cost_webhook: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    currency: str = DEFAULT_CURRENCY
    #: the string attribute holding each contact's IANA time zone (None: every contact
    #: is in ``default_timezone``); a contact without it is in ``default_timezone``
    timezone_attribute: Name | None = None
    default_timezone: str = "UTC"

    @field_validator("default_timezone")
    @classmethod
    def _iana_zone(cls, value: str) -> str:
        time_zone(value)  # ValueError naming the bad zone
        return value

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError(
                f"currency is a three-letter ISO 4217 code such as 'EUR', 'USD' or 'GBP'; "
                f"got {value!r}"
            )
        return value

    def rule(self, action_kind: str) -> tuple[str | None, str | None, float]:
        """``(address_attribute, consent_attribute, cost)`` of an action kind.

        Actions that need no address (lists, contact updates, webhooks) give
        ``(None, None, cost)``.

        >>> Channels().rule("send_sms")
        ('phone', 'sms_subscribed', 0.05)
        """
        if action_kind == "send_email":
            return self.email_address, self.email_consent, self.cost_email
        if action_kind == "send_sms":
            return self.sms_address, self.sms_consent, self.cost_sms
        if action_kind == "send_whatsapp":
            return self.whatsapp_address, self.whatsapp_consent, self.cost_whatsapp
        if action_kind == "webhook":
            return None, None, self.cost_webhook
        if action_kind in ACTION_KINDS:
            return None, None, 0.0
        raise ValueError(f"unknown action kind {action_kind!r}; one of {', '.join(ACTION_KINDS)}")
