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
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    Discriminator,
    Field,
    JsonValue,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from segsim._internal.formatting import DEFAULT_CURRENCY
from segsim._internal.localtime import WEEKDAYS, clock_minutes, time_zone
from segsim._internal.models import FrozenModel
from segsim._internal.naming import Duration, Name, UTCDateTime, did_you_mean
from segsim._internal.steps import walk
from segsim._internal.vocab import ACTION_KINDS
from segsim._time import format_duration
from segsim.conditions import Condition, Value
from segsim.conditions import attr as attr_condition
from segsim.conditions import attributes_used as condition_attributes
from segsim.conditions import lists_used as condition_lists
from segsim.conditions import segments_used as condition_segments
from segsim.errors import FlowNotReady
from segsim.event_conditions import Where
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

#: A location inside a model, as pydantic writes it: ``("steps", 2, "then", 0)``.
Loc = tuple[str | int, ...]


def _format_loc(loc: Iterable[str | int]) -> str:
    """``("flows", 0, "steps", 2, "duration")`` as ``flows[0].steps[2].duration``."""
    text = ""
    for item in loc:
        if isinstance(item, int):
            text += f"[{item}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", item):
            text += f".{item}" if text else item
        else:
            text += f"[{item!r}]"
    return text


def _custom_error(loc: Loc, message: str, value: Any) -> InitErrorDetails:
    # the message goes through ctx so that braces in user names are never read as a template
    return InitErrorDetails(
        type=PydanticCustomError("segsim", "{message}", {"message": message}), loc=loc, input=value
    )


class _FrozenModel(FrozenModel):
    """A frozen, closed model whose first field(s) may be given positionally."""

    #: the fields that may be passed positionally, in order (the name or step id first)
    _positional: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **data: Any) -> None:
        names = type(self)._positional
        if len(args) > len(names):
            cls = type(self).__name__
            shown = ", ".join(names) if names else "nothing"
            raise TypeError(
                f"{cls}() takes {shown} positionally and everything else by keyword; "
                f"got {len(args)} positional arguments"
            )
        for name, value in zip(names, args, strict=False):
            if name in data:
                raise TypeError(f"{type(self).__name__}() got two values for {name!r}")
            data[name] = value
        super().__init__(**data)


# -- steps ----------------------------------------------------------------------------------------


class _Step(_FrozenModel):
    _positional: ClassVar[tuple[str, ...]] = ("id",)

    id: Name
    kind: str

    def facts(self) -> tuple[str, ...]:
        """What the step does beyond its id and kind, as short phrases.

        The one description of a step: diagrams, outlines and reports all read it.

        >>> SendSMS("s1", template="welcome", opt_out_footer=True).facts()
        ("template 'welcome'", 'opt-out footer')
        """
        return ()

    def describe(self) -> str:
        """The step in one line: its kind, then its :meth:`facts`.

        >>> Wait("w1", "2d").describe()
        'wait for 2d'
        """
        return " ".join((self.kind, ", ".join(self.facts()))).strip()

    def child_paths(self) -> tuple[tuple[str, tuple[Any, ...]], ...]:
        """The step sequences nested in this step: ``(field name, steps)`` in tree order.

        Empty for actions and waits; a :class:`Branch` has ``then`` and ``otherwise``. A
        step kind holding steps says so here, and every walk over a flow
        (:func:`walk_steps`) follows it.
        """
        return ()


class SendEmail(_Step):
    """Send an email (needs an address and consent, see :class:`Channels`).

    >>> SendEmail("e1", template="welcome").template
    'welcome'
    """

    kind: Literal["send_email"] = "send_email"
    template: Name

    def facts(self) -> tuple[str, ...]:
        return (f"template {self.template!r}",)


class SendSMS(_Step):
    """Send an SMS; ``campaign`` and ``opt_out_footer`` are carried into the action log."""

    kind: Literal["send_sms"] = "send_sms"
    template: Name
    campaign: Name | None = None
    opt_out_footer: bool = False

    def facts(self) -> tuple[str, ...]:
        campaign = () if self.campaign is None else (f"campaign {self.campaign!r}",)
        return (f"template {self.template!r}", *campaign) + (
            ("opt-out footer",) if self.opt_out_footer else ()
        )


class SendWhatsApp(_Step):
    """Send a WhatsApp message from an approved template."""

    kind: Literal["send_whatsapp"] = "send_whatsapp"
    template: Name

    def facts(self) -> tuple[str, ...]:
        return (f"template {self.template!r}",)


class AddToList(_Step):
    """Add the contact to a list: ``AddToList("l1", "newsletter")``."""

    _positional = ("id", "list_name")

    kind: Literal["add_to_list"] = "add_to_list"
    list_name: Name

    def facts(self) -> tuple[str, ...]:
        return (f"list {self.list_name!r}",)


class RemoveFromList(_Step):
    """Remove the contact from a list: ``RemoveFromList("r1", "trial")``."""

    _positional = ("id", "list_name")

    kind: Literal["remove_from_list"] = "remove_from_list"
    list_name: Name

    def facts(self) -> tuple[str, ...]:
        return (f"list {self.list_name!r}",)


class UpdateContact(_Step):
    """Set contact attributes: ``UpdateContact("u1", set={"tier": "gold", "coupon": None})``.

    Values are strings, numbers, booleans or datetimes (UTC); ``None`` unsets the attribute.
    """

    kind: Literal["update_contact"] = "update_contact"
    set: dict[Name, Value | None]

    @field_validator("set")
    @classmethod
    def _sets_something(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if not value:
            step = info.data.get("id", "?")
            raise ValueError(
                f"update_contact step {step!r} sets nothing; give set={{attribute: value}}"
            )
        return value

    def facts(self) -> tuple[str, ...]:
        values = (f"{name} = {_value_text(value)}" for name, value in self.set.items())
        return ("set " + ", ".join(values),)


class DeleteContact(_Step):
    """Delete the contact: every run of it ends, and its later history is ignored."""

    kind: Literal["delete_contact"] = "delete_contact"


class Webhook(_Step):
    """Call a webhook (simulated: segsim never opens a connection)."""

    kind: Literal["webhook"] = "webhook"
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: JsonValue = None

    @field_validator("method", mode="before")
    @classmethod
    def _upper_case(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("body")
    @classmethod
    def _finite_json(cls, value: Any, info: ValidationInfo) -> Any:
        # JSON has no NaN or infinity: such a body could be dumped but not read back
        where = _non_finite(value, "body")
        if where is not None:
            step = info.data.get("id", "?")
            raise ValueError(
                f"webhook step {step!r}: {where} is not a finite number; JSON has no NaN or "
                "infinity (use null or a string)"
            )
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str, info: ValidationInfo) -> str:
        if not re.match(r"^https?://[^\s/?#]+", value):
            step = info.data.get("id", "?")
            raise ValueError(
                f"webhook step {step!r}: the url must start with http:// or https:// and name "
                f"a host, got {value!r}"
            )
        return value

    def facts(self) -> tuple[str, ...]:
        return (f"{self.method} {self.url}",)


def _non_finite(value: Any, path: str) -> str | None:
    """The path of the first NaN or infinite float in a JSON value (None if there is none)."""
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} ({value})"
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _non_finite(item, f"{path}[{key!r}]")
        if found is not None:
            return found
    return None


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Wait(_Step):
    """Wait a positive duration: ``Wait("w1", "2d")``; or until a local clock time.

    With ``until="HH:MM"`` the duration counts whole *calendar days* in the contact's time
    zone, and the run resumes at the first local ``HH:MM`` on or after that day, on an
    allowed weekday (``weekdays``, all by default), strictly after it entered — so
    ``Wait("w1", "0d", until="15:00")`` resumes today at 15:00 if that is still ahead, else
    on the next allowed day (docs/semantics.md has the exact rule and DST examples).

    >>> Wait("w1", "2d", until="09:00", weekdays=["mon", "fri"]).describe()
    'wait until 09:00 local time, 2 days later, on mon/fri'
    """

    _positional = ("id", "duration")

    kind: Literal["wait"] = "wait"
    duration: Duration
    #: resume at this local clock time ("HH:MM"): ``duration`` then counts calendar days
    until: str | None = None
    #: with ``until``, the local weekdays it may resume on (``"mon"`` … ``"sun"``)
    weekdays: tuple[Weekday, ...] | None = None

    @field_validator("duration", mode="before")
    @classmethod
    def _not_negative(cls, value: Any, info: ValidationInfo) -> Any:
        negative = (isinstance(value, str) and value.strip().startswith("-")) or (
            isinstance(value, dt.timedelta) and value < dt.timedelta(0)
        )
        if negative:
            step = info.data.get("id", "?")
            shown = repr(value) if isinstance(value, str) else f"-{format_duration(-value)}"
            raise ValueError(f"wait step {step!r}: the duration must be positive, got {shown}")
        return value

    @field_validator("until")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        if value is not None:
            clock_minutes(value)
        return value

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("weekdays must allow at least one day (or be left out: every day)")
        return tuple(sorted(set(value), key=WEEKDAYS.index))

    @model_validator(mode="after")
    def _positive(self) -> Wait:
        # a field check cannot see ``until``: "0d" is valid with it (today, if still ahead)
        errors = []
        if self.until is None:
            if self.duration <= dt.timedelta(0):
                message = (
                    f"wait step {self.id!r}: the duration must be positive, got "
                    f"{format_duration(self.duration)}"
                )
                errors.append(_custom_error(("duration",), message, self.duration))
            if self.weekdays is not None:
                message = f"wait step {self.id!r}: weekdays need until='HH:MM'"
                errors.append(_custom_error(("weekdays",), message, self.weekdays))
        elif self.duration % dt.timedelta(days=1):
            message = (
                f"wait step {self.id!r}: with until, the duration counts calendar days in the "
                f"contact's time zone (e.g. '2d' or '0d'); got {format_duration(self.duration)}"
            )
            errors.append(_custom_error(("duration",), message, self.duration))
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self

    def __repr_args__(self) -> Any:
        # a plain wait reads as it always did: the local-time fields only when given
        for name, value in super().__repr_args__():
            if name in ("until", "weekdays") and value is None:
                continue
            yield name, value

    @property
    def days(self) -> int:
        """With ``until``: the calendar days the wait counts."""
        return self.duration.days

    def facts(self) -> tuple[str, ...]:
        if self.until is None:
            return (f"for {format_duration(self.duration)}",)
        days = self.duration.days
        when = "the same day" if days == 0 else f"{days} day{'s' if days != 1 else ''} later"
        facts = [f"until {self.until} local time, {when}"]
        if self.weekdays is not None:
            facts.append(f"on {'/'.join(self.weekdays)}")
        return tuple(facts)


class Branch(_Step):
    """Split the path on a condition evaluated when the contact reaches the step.

    After the chosen path ends, the run goes on with the step after the branch.

    >>> from segsim.conditions import in_list
    >>> b = Branch("b1", when=in_list("newsletter"), then=[SendEmail("e1", template="tips")],
    ...            otherwise=[AddToList("l1", "newsletter")])
    >>> [step.id for _, step in iter_steps([b])]
    ['b1', 'e1', 'l1']
    """

    kind: Literal["branch"] = "branch"
    when: Condition
    then: tuple[Step, ...] = ()
    otherwise: tuple[Step, ...] = ()

    def facts(self) -> tuple[str, ...]:
        return (f"when {self.when}",)

    def child_paths(self) -> tuple[tuple[str, tuple[Any, ...]], ...]:
        """``then`` first, then ``otherwise``."""
        return (("then", self.then), ("otherwise", self.otherwise))


class Split(_Step):
    """A random split: each contact takes one of the named paths, with the given weights.

    The path is drawn from (seed, replication, flow, step, contact), so it is *sticky*: a
    contact takes the same path on every run of the flow within a replication (and draws
    independently in another replication). With ``bucket_attribute`` the contact's stored
    0–9999 bucket picks the path instead, by cumulative weights in the order of ``paths``
    (45/45/10: ``[0, 4500)`` → first, ``[4500, 9000)`` → second, the rest → third), the same
    for every seed. ``steps.outcome`` is the path's name; after the path, the run goes on
    with the step after the split. An empty path is a control arm. See docs/design.md §9.

    >>> s = Split("ab", paths={"A": [SendEmail("a", template="a")], "control": []},
    ...           weights={"A": 90, "control": 10})
    >>> s.shares()
    {'A': 0.9, 'control': 0.1}
    """

    kind: Literal["split"] = "split"
    paths: dict[Name, tuple[Step, ...]]
    weights: dict[Name, float]
    bucket_attribute: Name | None = None

    @model_validator(mode="after")
    def _check_paths(self) -> Split:
        where = f"split step {self.id!r}"
        if len(self.paths) < 2:
            raise ValueError(f"{where} needs at least two paths, got {list(self.paths)}")
        unknown = [name for name in self.weights if name not in self.paths]
        if unknown:
            raise ValueError(
                f"{where} has weights for unknown paths {unknown}; its paths are {list(self.paths)}"
            )
        missing = [name for name in self.paths if name not in self.weights]
        if missing:
            raise ValueError(f"{where} has no weight for paths {missing}; give every path one")
        for name, weight in self.weights.items():
            if not (math.isfinite(weight) and weight > 0):
                raise ValueError(
                    f"{where}: the weight of path {name!r} must be a positive number, got {weight!r}"
                )
        return self

    def shares(self) -> dict[str, float]:
        """Each path's share of contacts (its weight over the total), in path order."""
        total = math.fsum(self.weights.values())
        return {name: self.weights[name] / total for name in self.paths}

    def facts(self) -> tuple[str, ...]:
        shares = ", ".join(f"{name} {share:.0%}" for name, share in self.shares().items())
        by = () if self.bucket_attribute is None else (f"by bucket {self.bucket_attribute!r}",)
        return (shares, *by)

    def child_paths(self) -> tuple[tuple[Any, tuple[Any, ...]], ...]:
        """One sequence per path, in path order (located at ``paths[name]``)."""
        return tuple((("paths", name), steps) for name, steps in self.paths.items())


class AudiencePath(_FrozenModel):
    """One ranked path of an :class:`AudienceSplit`: taken when ``when`` holds.

    ``name`` is the path's ``steps.outcome``; by default ``path_<rank>`` (``path_1`` first).
    """

    when: Condition
    steps: tuple[Step, ...] = ()
    name: Name | None = None


class AudienceSplit(_Step):
    """Ranked audience paths: the first path whose condition holds wins, else ``otherwise``.

    Conditions are evaluated when the run reaches the step (as a Branch's). ``paths`` are
    :class:`AudiencePath` models or ``(condition, steps)`` pairs. ``steps.outcome`` is the
    path's name (``path_1``, ``path_2``, ... unless named) or ``otherwise``.

    >>> from segsim.conditions import attr
    >>> s = AudienceSplit("as", paths=[(attr("plan") == "pro", [Wait("w", "1d")])])
    >>> s.path_names()
    ('path_1', 'otherwise')
    """

    kind: Literal["audience_split"] = "audience_split"
    paths: tuple[AudiencePath, ...]
    otherwise: tuple[Step, ...] = ()

    @field_validator("paths", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [
                {"when": item[0], "steps": item[1]}
                if isinstance(item, (list, tuple)) and len(item) == 2
                else item
                for item in value
            ]
        return value

    @model_validator(mode="after")
    def _check_paths(self) -> AudienceSplit:
        where = f"audience_split step {self.id!r}"
        if not self.paths:
            raise ValueError(f"{where} needs at least one path")
        names = self.path_names()
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"{where}: two paths are named {name!r}; path names are unique")
        return self

    def path_names(self) -> tuple[str, ...]:
        """The paths' names in rank order, then ``otherwise``."""
        named = tuple(p.name or f"path_{i}" for i, p in enumerate(self.paths, start=1))
        return (*named, "otherwise")

    def facts(self) -> tuple[str, ...]:
        names = self.path_names()
        return tuple(f"{names[i]}: when {p.when}" for i, p in enumerate(self.paths))

    def child_paths(self) -> tuple[tuple[Any, tuple[Any, ...]], ...]:
        """Each ranked path's steps, then ``otherwise``."""
        ranked = tuple((("paths", i, "steps"), p.steps) for i, p in enumerate(self.paths))
        return (*ranked, ("otherwise", self.otherwise))


class WaitFor(_Step):
    """Wait until a condition holds, for at most ``timeout``; then take one of two paths.

    The condition is checked when the run reaches the step (already true: it leaves at once
    by ``then``) and at every instant it can change while the run waits; the run leaves by
    ``then`` the instant it turns true, or by ``timed_out`` at ``timeout`` after it arrived.
    A change at exactly that instant leaves by ``then`` (state changes precede due steps).
    After the chosen path ends, the run goes on with the step after the WaitFor.

    >>> from segsim.conditions import in_list
    >>> w = WaitFor("wf1", until=in_list("customers"), timeout="3d",
    ...             then=[SendEmail("e1", template="thanks")],
    ...             timed_out=[SendEmail("e2", template="reminder")])
    >>> w.describe()
    "wait_for until in_list('customers'), at most 3d"
    >>> [step.id for _, step in iter_steps([w])]
    ['wf1', 'e1', 'e2']
    """

    kind: Literal["wait_for"] = "wait_for"
    until: Condition
    timeout: Duration
    then: tuple[Step, ...] = ()
    timed_out: tuple[Step, ...] = ()

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout_not_negative(cls, value: Any, info: ValidationInfo) -> Any:
        return _refuse_negative(value, f"wait_for step {info.data.get('id', '?')!r}: the timeout")

    @field_validator("timeout")
    @classmethod
    def _timeout_positive(cls, value: dt.timedelta, info: ValidationInfo) -> dt.timedelta:
        return _require_positive(value, f"wait_for step {info.data.get('id', '?')!r}: the timeout")

    def facts(self) -> tuple[str, ...]:
        return (f"until {self.until}", f"at most {format_duration(self.timeout)}")

    def child_paths(self) -> tuple[tuple[str, tuple[Any, ...]], ...]:
        """``then`` first, then ``timed_out``."""
        return (("then", self.then), ("timed_out", self.timed_out))


def _refuse_negative(value: Any, what: str) -> Any:
    """A duration given as ``"-2d"`` or a negative timedelta: refused, naming ``what``."""
    negative = (isinstance(value, str) and value.strip().startswith("-")) or (
        isinstance(value, dt.timedelta) and value < dt.timedelta(0)
    )
    if negative:
        shown = repr(value) if isinstance(value, str) else f"-{format_duration(-value)}"
        raise ValueError(f"{what} must be positive, got {shown}")
    return value


def _require_positive(value: dt.timedelta, what: str) -> dt.timedelta:
    if value <= dt.timedelta(0):
        raise ValueError(f"{what} must be positive, got {format_duration(value)}")
    return value


Step = Annotated[
    SendEmail
    | SendSMS
    | SendWhatsApp
    | AddToList
    | RemoveFromList
    | UpdateContact
    | DeleteContact
    | Webhook
    | Wait
    | Branch
    | Split
    | AudienceSplit
    | WaitFor,
    Field(discriminator="kind"),
]
Branch.model_rebuild()
Split.model_rebuild()
AudiencePath.model_rebuild()
AudienceSplit.model_rebuild()
WaitFor.model_rebuild()


@dataclass(frozen=True)
class StepPlace:
    """A step, where it is in its flow's tree, and where a run goes after it.

    ``next`` is the id of the step a run takes after this one when it does not go into one
    of the step's own paths: the following step of its sequence, else the step after the
    enclosing branch (and so on up), ``None`` when the flow ends there.
    """

    loc: Loc
    step: Any
    next: str | None

    def path_first(self, steps: Sequence[Any]) -> str | None:
        """The step a run goes to when it takes the nested path ``steps`` of this step."""
        return steps[0].id if steps else self.next


def walk_steps(
    steps: Flow | Sequence[Any], prefix: Loc = ("steps",), after: str | None = None
) -> Iterator[StepPlace]:
    """Every step of a tree, depth first in tree order, with its location and continuation.

    The one walk over a flow's steps (:func:`segsim._internal.steps.walk`, which follows each
    step's ``child_paths()``): :func:`iter_steps`, the engine's compiler, validation, the
    flow's own queries and the views all use it. ``after`` is the continuation of the whole
    sequence (the id of the step after it, ``None`` at the top level).

    >>> from segsim.conditions import in_list
    >>> flow = [Branch("b", when=in_list("x"), then=[Wait("w", "1d")]), DeleteContact("d")]
    >>> [(p.step.id, p.next) for p in walk_steps(flow)]
    [('b', 'd'), ('w', 'd'), ('d', None)]
    """
    for loc, step, following in walk(steps, prefix, after):
        yield StepPlace(loc, step, following)


def iter_steps(steps: Flow | Sequence[Any], prefix: Loc = ("steps",)) -> Iterator[tuple[Loc, Any]]:
    """Every step of a tree, depth first in tree order, with its location.

    The location is a pydantic-style tuple such as ``("steps", 2, "then", 0)``; a branch
    comes before its ``then`` steps, which come before its ``otherwise`` steps. (See
    :func:`walk_steps` for the step each one leads to.)

    >>> [loc for loc, _ in iter_steps([Wait("w", "1d"), DeleteContact("d")])]
    [('steps', 0), ('steps', 1)]
    """
    for place in walk_steps(steps, prefix):
        yield place.loc, place.step


def find_step(flow: Flow, step_id: str) -> Any:
    """The step of ``flow`` with this id, wherever it is in the tree.

    Raises ``KeyError`` naming the flow (and a close id) when there is none.
    """
    for _, step in iter_steps(flow.steps):
        if step.id == step_id:
            return step
    raise KeyError(
        f"flow {flow.name!r} has no step {step_id!r}{did_you_mean(step_id, flow.step_ids)}"
    )


# -- trigger, exit and restart conditions -----------------------------------------------------------


class SegmentTrigger(_FrozenModel):
    """Start the flow when a contact enters (or exits) a segment and the filters pass.

    >>> from segsim.conditions import attr
    >>> SegmentTrigger("VIP", on="enter", filters=attr("sms_subscribed") == True).on
    'enter'
    """

    _positional = ("segment",)

    segment: Name
    on: Literal["enter", "exit"] = "enter"
    filters: Condition | None = None

    def facts(self) -> tuple[str, ...]:
        """``("on enter 'VIP'", "if sms_subscribed == True")``: when the flow starts."""
        filters = () if self.filters is None else (f"if {self.filters}",)
        return (f"on {self.on} {self.segment!r}", *filters)

    def describe(self) -> str:
        """The trigger in one line: ``"on enter 'VIP' if sms_subscribed == True"``."""
        return " ".join(self.facts())


class EventTrigger(_FrozenModel):
    """Start the flow at each occurrence of an event whose properties match ``where``.

    Every matching occurrence in the window is one trigger event (the entry, suppression
    and re-entry rules are those of a segment trigger); an occurrence failing ``where`` is
    no trigger event at all. ``filters`` is a condition on the contact at that instant.

    >>> from segsim.conditions import attr
    >>> from segsim.event_conditions import prop
    >>> EventTrigger("cart_abandoned", where=prop("value") >= 50,
    ...              filters=attr("email_subscribed") == True).describe()
    "on event 'cart_abandoned' where value >= 50 if email_subscribed == True"
    """

    _positional = ("event",)

    kind: Literal["event"] = "event"
    event: Name
    where: Where = None
    filters: Condition | None = None

    def facts(self) -> tuple[str, ...]:
        """``("on event 'purchase' where amount >= 50", "if ...")``: when the flow starts."""
        where = "" if self.where is None else f" where {self.where}"
        filters = () if self.filters is None else (f"if {self.filters}",)
        return (f"on event {self.event!r}{where}", *filters)

    def describe(self) -> str:
        """The trigger in one line."""
        return " ".join(self.facts())


#: The tags of the trigger union (pydantic puts them in error locations; never user keys).
TRIGGER_TAGS = ("segment_trigger", "event_trigger")


def _trigger_kind(value: Any) -> str:
    """An :class:`EventTrigger` (or a dict with ``kind: event`` or an ``event``), else a
    :class:`SegmentTrigger`: a segment trigger's YAML and dumps stay as they were, kind-less."""
    if isinstance(value, Mapping):
        is_event = value.get("kind") == "event" or "event" in value
    else:
        is_event = isinstance(value, EventTrigger)
    return TRIGGER_TAGS[1] if is_event else TRIGGER_TAGS[0]


#: A flow's trigger: a segment transition or an event occurrence.
Trigger = Annotated[
    Annotated[SegmentTrigger, Tag(TRIGGER_TAGS[0])] | Annotated[EventTrigger, Tag(TRIGGER_TAGS[1])],
    Discriminator(_trigger_kind),
]


class ExitsSegment(_FrozenModel):
    """The contact leaves the segment (an exit or restart condition)."""

    _positional = ("segment",)

    kind: Literal["exits_segment"] = "exits_segment"
    segment: Name

    def describe(self) -> str:
        """``"exits 'VIP'"``."""
        return f"exits {self.segment!r}"


class EntersSegment(_FrozenModel):
    """The contact enters the segment (an exit or restart condition)."""

    _positional = ("segment",)

    kind: Literal["enters_segment"] = "enters_segment"
    segment: Name

    def describe(self) -> str:
        """``"enters 'Lapsed'"``."""
        return f"enters {self.segment!r}"


class AttributeMatches(_FrozenModel):
    """The condition turns from false to true, e.g. ``AttributeMatches(in_list("customers"))``."""

    _positional = ("condition",)

    kind: Literal["attribute_matches"] = "attribute_matches"
    condition: Condition

    def describe(self) -> str:
        """``"in_list('customers') becomes true"``."""
        return f"{self.condition} becomes true"


FlowEvent = Annotated[ExitsSegment | EntersSegment | AttributeMatches, Field(discriminator="kind")]


class ActivationSettings(_FrozenModel):
    """Re-entry, exit and restart rules, and what a pause does to runs in flight.

    Parameters
    ----------
    allow_reentry : bool
        Without it a contact runs the flow at most once.
    reentry_wait : duration
        After a run ends at ``e``, trigger events before ``e + reentry_wait`` are suppressed.
    reentry_mode : {"recheck", "event"}
        At ``e + reentry_wait``: ``"recheck"`` enters the contact if it matches the trigger
        state and filters then; ``"event"`` waits for a new trigger event.
    exit_conditions, restart_conditions : sequence of ExitsSegment, EntersSegment, AttributeMatches
        Watched while a run is open: end it (``exit_condition``), or end it and start over
        from the first step (``restarted``).
    on_pause : {"hold", "drain", "exit"}
        Runs in flight at a pause wait at their next action, go on, or end (``paused_exit``).
    """

    allow_reentry: bool = False
    reentry_wait: Duration = dt.timedelta(0)  # parse_duration refuses negative ones
    reentry_mode: Literal["recheck", "event"] = "recheck"
    exit_conditions: tuple[FlowEvent, ...] = ()
    restart_conditions: tuple[FlowEvent, ...] = ()
    on_pause: Literal["hold", "drain", "exit"] = "hold"

    def facts(self) -> tuple[str, ...]:
        """The settings as short phrases, e.g. ``("re-entry after 7d (recheck)", ...)``.

        >>> ActivationSettings(exit_conditions=[ExitsSegment("VIP")]).facts()
        ('no re-entry', "exit when exits 'VIP'", 'on pause: hold')
        """
        if self.allow_reentry:
            wait = format_duration(self.reentry_wait)
            reentry = f"re-entry after {wait} ({self.reentry_mode})"
        else:
            reentry = "no re-entry"
        exits = [f"exit when {e.describe()}" for e in self.exit_conditions]
        restarts = [f"restart when {e.describe()}" for e in self.restart_conditions]
        return (reentry, *exits, *restarts, f"on pause: {self.on_pause}")

    def describe(self) -> str:
        """The settings in one line: their :meth:`facts` joined by ``"; "``."""
        return "; ".join(self.facts())


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


def _value_text(value: Any) -> str:
    """A value set by Update contact: datetimes in ISO 8601 (``Z``), others as Python."""
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return repr(value)


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
