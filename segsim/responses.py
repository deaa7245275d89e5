"""Responses to messages and the goals flows are judged by (docs/design.md §10).

A :class:`ResponseModel` says how contacts respond to what was *sent*: per channel a
:class:`Funnel` of probabilities (delivered, opened, clicked, unsubscribed, machine opens),
overridden per template, and :class:`ResponseDelays` — how long after the step before it each
response comes. A :class:`Goal` on a flow names the event that counts as a conversion and
how it is credited to the flow's messages. The engine draws the responses
(:mod:`segsim.engine.responses`) and attributes conversions (:mod:`segsim.engine.goals`).

>>> import segsim as ss
>>> model = ss.ResponseModel(email=ss.Funnel(delivered=0.98, opened=0.35, clicked=0.04))
>>> model.funnel("email", None).clicked
0.04
>>> ss.Goal(event="purchase", within="5d", value="amount").within
datetime.timedelta(days=5)
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from segsim._internal.models import FrozenModel
from segsim._internal.naming import Duration, Name, PositiveDuration
from segsim._internal.vocab import FUNNEL_FIELDS, MESSAGE_CHANNELS
from segsim.conditions import Condition

__all__ = [
    "ConditionOverride",
    "Funnel",
    "Goal",
    "ResponseDelays",
    "ResponseModel",
    "response_event",
]

#: funnel fields per channel: what an override replaces
Overrides = dict[Literal["email", "sms", "whatsapp"], dict[str, float]]

#: Funnel fields a channel does not have: an SMS is not opened (a click is given delivery),
#: and only email clients fetch images on their own (machine opens).
_NOT_ON_CHANNEL: dict[str, frozenset[str]] = {
    "email": frozenset(),
    "sms": frozenset({"opened", "machine_open"}),
    "whatsapp": frozenset({"machine_open"}),
}


#: The responses a message on each channel can have (``responses.response`` values).
CHANNEL_RESPONSES: dict[str, tuple[str, ...]] = {
    "email": ("delivered", "bounced", "opened", "machine_opened", "clicked", "unsubscribed"),
    "sms": ("delivered", "bounced", "clicked", "unsubscribed"),
    "whatsapp": ("delivered", "bounced", "opened", "clicked", "unsubscribed"),
}


def response_event(channel: str, response: str) -> str:
    """The event name of a response, as conditions and ``WaitFor`` read it.

    >>> response_event("email", "clicked"), response_event("whatsapp", "opened")
    ('email_clicked', 'whatsapp_opened')
    """
    return f"{channel}_{response}"


class Funnel(FrozenModel):
    """How one channel's *sent* messages are responded to: probabilities in ``[0, 1]``.

    Drawn in order for each sent message: ``delivered`` (else the message bounced); given
    delivery, ``opened`` (a human open; email and WhatsApp) and, independently,
    ``machine_open`` (email only: a mail client fetching the message on its own, Apple Mail
    Privacy Protection — never a human open, never a click); ``clicked`` given a human open
    (SMS: given delivery); ``unsubscribed`` given delivery. A field left unset is 0, except
    ``delivered`` (1); a channel refuses the fields it does not have (see
    :class:`ResponseModel`).

    >>> Funnel(delivered=0.97, clicked=0.03).opened is None
    True
    """

    delivered: float = 1.0
    opened: float | None = None
    clicked: float = 0.0
    unsubscribed: float = 0.0
    machine_open: float | None = None

    @field_validator("delivered", "opened", "clicked", "unsubscribed", "machine_open")
    @classmethod
    def _probability(cls, value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"a funnel probability is a number in [0, 1], got {value!r}")
        return value

    def rate(self, field: str) -> float:
        """The probability of ``field`` (0 when unset)."""
        value = getattr(self, field)
        return 0.0 if value is None else float(value)


class ResponseDelays(FrozenModel):
    """When responses come, after the response (or send) they follow.

    ``delivered`` (or ``bounced``) follows the send; ``opened``, ``machine_open`` and
    ``unsubscribed`` follow delivery; ``clicked`` follows the human open (SMS: delivery); a
    simulated conversion follows the click (``converted``). With ``distribution="fixed"``
    each delay is exactly its duration; with ``"exponential"`` each is drawn, per message
    and response, from an exponential distribution of that mean (seeded: docs/design.md §10).
    All default to 0: responses at the instant of the step they follow.

    >>> ResponseDelays(opened="2h").opened
    datetime.timedelta(seconds=7200)
    """

    distribution: Literal["fixed", "exponential"] = "fixed"
    delivered: Duration = dt.timedelta(0)
    opened: Duration = dt.timedelta(0)
    machine_open: Duration = dt.timedelta(0)
    clicked: Duration = dt.timedelta(0)
    unsubscribed: Duration = dt.timedelta(0)
    converted: Duration = dt.timedelta(0)


class ConditionOverride(FrozenModel):
    """Funnel fields for the messages of contacts matching a condition (``by_condition``).

    ``when`` is read on the contact's state at the instant the message is sent (a condition
    like a branch's: attributes, lists, segments, events); ``channels`` replaces fields of
    those channels' funnels, ``{channel: {field: probability}}``. Written as a pair too:
    ``(condition, {channel: {field: p}})``.

    >>> from segsim.conditions import attr
    >>> ConditionOverride(when=attr("plan") == "pro", channels={"email": {"clicked": 0.1}})
    ... # doctest: +ELLIPSIS
    ConditionOverride(when=..., channels={'email': {'clicked': 0.1}})
    """

    when: Condition
    channels: Overrides

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, data: Any) -> Any:
        if isinstance(data, tuple | list) and len(data) == 2:
            return {"when": data[0], "channels": data[1]}
        return data


class ResponseModel(FrozenModel):
    """How contacts respond to sent messages: a :class:`Funnel` per channel.

    Parameters
    ----------
    email, sms, whatsapp : Funnel, optional
        A channel without a funnel has no responses.
    by_template : {template: {channel: {field: probability}}}
        Overrides for the messages of one template: these fields replace the channel's.
    by_condition : sequence of ConditionOverride or (condition, {channel: {field: p}})
        Overrides for the messages of contacts matching a condition at the send instant,
        ranked: the first that matches applies (one at most); a ``by_template`` override of
        the message's template is applied on top of it (the template's fields win).
    delays : ResponseDelays
        When each response comes (all at once by default).

    >>> m = ResponseModel(email=Funnel(opened=0.3, clicked=0.04),
    ...                   by_template={"winback": {"email": {"clicked": 0.08}}})
    >>> m.funnel("email", "winback").clicked, m.funnel("email", "tips").clicked
    (0.08, 0.04)
    """

    email: Funnel | None = None
    sms: Funnel | None = None
    whatsapp: Funnel | None = None
    by_template: dict[Name, Overrides] = Field(default_factory=dict)
    by_condition: tuple[ConditionOverride, ...] = ()
    delays: ResponseDelays = Field(default_factory=ResponseDelays)

    @model_validator(mode="after")
    def _fields_fit_channels(self) -> ResponseModel:
        for channel in MESSAGE_CHANNELS:
            funnel = getattr(self, channel)
            if funnel is None:
                continue
            for field in sorted(_NOT_ON_CHANNEL[channel]):
                if getattr(funnel, field) is not None:
                    raise ValueError(f"{channel}: a {channel} funnel has no {field!r}")
        overrides = [(f"by_template[{t!r}]", c) for t, c in self.by_template.items()]
        overrides += [(f"by_condition[{i}]", o.channels) for i, o in enumerate(self.by_condition)]
        for where, channels in overrides:
            for channel, fields in channels.items():
                base = getattr(self, channel)
                if base is None:
                    raise ValueError(f"{where} overrides {channel}, which has no funnel")
                for field in fields:
                    if field not in FUNNEL_FIELDS or field in _NOT_ON_CHANNEL[channel]:
                        allowed = [f for f in FUNNEL_FIELDS if f not in _NOT_ON_CHANNEL[channel]]
                        raise ValueError(
                            f"{where}[{channel!r}]: unknown funnel field "
                            f"{field!r} (a {channel} funnel has {', '.join(allowed)})"
                        )
                base.replace(**fields)  # the merged funnel validates its probabilities
        return self

    @property
    def events(self) -> frozenset[str]:
        """The names of the response events this model can simulate (``email_opened``, ...):
        the events conditions, branches and ``WaitFor`` may read beside the data's."""
        return frozenset(
            response_event(channel, response)
            for channel in MESSAGE_CHANNELS
            if getattr(self, channel) is not None
            for response in CHANNEL_RESPONSES[channel]
        )

    def funnel(
        self, channel: str, template: str | None, condition: int | None = None
    ) -> Funnel | None:
        """The funnel of a message on ``channel`` with ``template`` to a contact whose first
        matching ``by_condition`` override is number ``condition`` (None: none matches): the
        channel's funnel, that override's fields, then the template's on top."""
        base = getattr(self, channel, None)
        if base is None:
            return None
        fields: dict[str, float] = {}
        if condition is not None:
            fields.update(self.by_condition[condition].channels.get(channel, {}))  # type: ignore[call-overload]
        fields.update(self.by_template.get(template or "", {}).get(channel, {}))  # type: ignore[call-overload]
        return base.replace(**fields) if fields else base


class Goal(FrozenModel):
    """What counts as a conversion for a flow, and how it is credited.

    Parameters
    ----------
    event : str
        The goal event (``"purchase"``): each occurrence in the window, from the store's
        events (``source="observed"``), is credited to the latest message the flow *sent* the
        contact at ``m`` with ``p - within < m < p`` (last touch).
    within : duration
        The attribution window (positive).
    value : str or float, optional
        The revenue of a conversion: the number property of the occurrence it names, or a
        fixed amount; unset, conversions carry no value (NaN).
    attribution : "last_touch"
        The only attribution rule today.
    conversion_rate : float, optional
        With a response model: each click on a message of the flow converts with this
        probability (``source="simulated"``), credited to the clicked message.

    >>> Goal(event="purchase", within="5d", conversion_rate=0.1).attribution
    'last_touch'
    """

    event: Name
    within: PositiveDuration
    value: Name | float | None = None
    attribution: Literal["last_touch"] = "last_touch"
    conversion_rate: float | None = None

    @field_validator("conversion_rate")
    @classmethod
    def _probability(cls, value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"a conversion rate is a number in [0, 1], got {value!r}")
        return value

    @field_validator("value")
    @classmethod
    def _finite(cls, value: str | float | None) -> str | float | None:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"a goal value is a property name or a finite number, got {value!r}")
        return value
