"""The steps of a flow: actions (SendEmail … Webhook) and rules (Wait, Branch, Split,
AudienceSplit, WaitFor), the ``Step`` union and the one walk over a tree of steps.

The public names are in :mod:`segsim.flows` (docs/design.md §1.2–1.3).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    Field,
    JsonValue,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from segsim._flows.base import Loc, _custom_error, _FrozenModel
from segsim._internal.localtime import WEEKDAYS, clock_minutes
from segsim._internal.naming import Duration, Name, did_you_mean
from segsim._internal.steps import walk
from segsim._time import format_duration
from segsim.conditions import Condition, Value

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
    steps: Any, prefix: Loc = ("steps",), after: str | None = None
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


def iter_steps(steps: Any, prefix: Loc = ("steps",)) -> Iterator[tuple[Loc, Any]]:
    """Every step of a tree, depth first in tree order, with its location.

    The location is a pydantic-style tuple such as ``("steps", 2, "then", 0)``; a branch
    comes before its ``then`` steps, which come before its ``otherwise`` steps. (See
    :func:`walk_steps` for the step each one leads to.)

    >>> [loc for loc, _ in iter_steps([Wait("w", "1d"), DeleteContact("d")])]
    [('steps', 0), ('steps', 1)]
    """
    for place in walk_steps(steps, prefix):
        yield place.loc, place.step


def find_step(flow: Any, step_id: str) -> Any:
    """The step of ``flow`` with this id, wherever it is in the tree.

    Raises ``KeyError`` naming the flow (and a close id) when there is none.
    """
    for _, step in iter_steps(flow.steps):
        if step.id == step_id:
            return step
    raise KeyError(
        f"flow {flow.name!r} has no step {step_id!r}{did_you_mean(step_id, flow.step_ids)}"
    )


def _value_text(value: Any) -> str:
    """A value set by Update contact: datetimes in ISO 8601 (``Z``), others as Python."""
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return repr(value)
