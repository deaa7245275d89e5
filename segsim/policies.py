"""Delivery policies: quiet hours, frequency caps and channel rate limits.

A :class:`DeliveryPolicy` is given to a scenario (``Scenario(..., policy=...)``) and applies
to every message (email, SMS, WhatsApp) of every flow; operations (webhooks, list and
contact changes) are never deferred, capped or queued. The rules, exactly
(docs/semantics.md, "Delivery policies"):

* :class:`QuietHours` — a message due while the contact's *local* clock is in
  ``[start, end)`` is deferred to the end of that quiet period (``action="defer"``) or
  skipped with reason ``quiet_hours`` (``action="skip"``);
* :class:`FrequencyCap` — a message that would make more than ``limit`` messages *sent* to the
  contact in a rolling window ``(t - per, t]`` (or its local calendar day/week with
  ``calendar=True``), over the cap's channels and across all flows, is skipped with reason
  ``frequency_cap``; the run goes on;
* :class:`RateLimit` — at most ``limit`` messages of a channel go out in any ``per``; the
  others queue in arrival order and go out as capacity frees (``actions.queued``).

Local time is the contact's IANA time zone, read from the attribute
``Channels(timezone_attribute=...)`` (else ``Channels(default_timezone=...)``).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator, model_validator

from segsim._internal.localtime import clock_minutes
from segsim._internal.models import FrozenModel
from segsim._internal.naming import PositiveDuration
from segsim._internal.vocab import MESSAGE_CHANNELS, MessageChannel
from segsim._time import format_duration

__all__ = ["DeliveryPolicy", "FrequencyCap", "QuietHours", "RateLimit"]

_DAY = dt.timedelta(days=1)
_WEEK = dt.timedelta(days=7)


def _channels(value: tuple[str, ...], what: str) -> tuple[str, ...]:
    if not value:
        raise ValueError(f"{what}: channels must name at least one message channel")
    if len(set(value)) != len(value):
        raise ValueError(f"{what}: channels {list(value)} name a channel twice")
    return tuple(sorted(value, key=MESSAGE_CHANNELS.index))


class QuietHours(FrozenModel):
    """A daily quiet period in the contact's local time, for some message channels.

    Parameters
    ----------
    start, end : str
        ``"HH:MM"`` local clock times; the period holds from ``start`` (included) to
        ``end`` (excluded) and wraps midnight when ``start > end`` (``"21:00"``–``"08:00"``).
    channels : sequence of "email", "sms", "whatsapp"
        The channels it applies to (all message channels by default).
    action : "defer" or "skip"
        ``defer``: the message waits for the end of the period (the run waits with it;
        exit conditions still apply); ``skip``: it is skipped with reason ``quiet_hours``.

    >>> QuietHours(start="21:00", end="08:00", channels=["sms"]).describe()
    'quiet hours 21:00–08:00 (sms): defer'
    """

    start: str
    end: str
    channels: tuple[MessageChannel, ...] = MESSAGE_CHANNELS  # type: ignore[assignment]
    action: Literal["defer", "skip"] = "defer"

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        clock_minutes(value)
        return value

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _channels(value, "quiet hours")

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError(
                f"quiet hours from {self.start} to {self.end} are empty; give different times"
            )
        return self

    @property
    def start_minutes(self) -> int:
        return clock_minutes(self.start)

    @property
    def end_minutes(self) -> int:
        return clock_minutes(self.end)

    def describe(self) -> str:
        return f"quiet hours {self.start}–{self.end} ({', '.join(self.channels)}): {self.action}"


class FrequencyCap(FrozenModel):
    """At most ``limit`` messages sent to a contact per ``per``, across all flows.

    Parameters
    ----------
    limit : int
        Messages allowed in the window (at least 1).
    per : duration
        The window: rolling ``(t - per, t]`` with ``calendar=False``; with
        ``calendar=True`` it must be ``"1d"`` (the contact's local calendar day) or ``"7d"``
        (its local calendar week, Monday to Sunday).
    channels : sequence of "email", "sms", "whatsapp", optional
        The channels counted and capped (all message channels by default).
    calendar : bool
        Count per local calendar day/week instead of a rolling window.

    >>> FrequencyCap(limit=1, per="1d", channels=["sms"], calendar=True).describe()
    'at most 1 sms message per calendar day'
    >>> FrequencyCap(limit=3, per="7d").describe()
    'at most 3 messages per 1w (rolling)'
    """

    limit: int = Field(ge=1)
    per: PositiveDuration
    channels: tuple[MessageChannel, ...] | None = None
    calendar: bool = False

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else _channels(value, "frequency cap")

    @model_validator(mode="after")
    def _calendar_period(self) -> FrequencyCap:
        if self.calendar and self.per not in (_DAY, _WEEK):
            raise ValueError(
                "a calendar frequency cap counts per local calendar day (per='1d') or week "
                f"(per='7d'); got per={format_duration(self.per)!r}"
            )
        return self

    @property
    def capped_channels(self) -> tuple[str, ...]:
        """The channels this cap counts (every message channel when ``channels`` is None)."""
        return MESSAGE_CHANNELS if self.channels is None else self.channels

    @property
    def unit(self) -> str | None:
        """``"day"`` or ``"week"`` for a calendar cap, else None."""
        if not self.calendar:
            return None
        return "day" if self.per == _DAY else "week"

    def describe(self) -> str:
        what = "messages" if self.channels is None else f"{'/'.join(self.channels)} messages"
        if self.limit == 1:
            what = what.replace("messages", "message")
        window = (
            f"calendar {self.unit}" if self.calendar else f"{format_duration(self.per)} (rolling)"
        )
        return f"at most {self.limit} {what} per {window}"


class RateLimit(FrozenModel):
    """A channel's throughput: at most ``limit`` messages go out in any ``per``.

    Messages beyond it queue in arrival order (first in, first out) and go out as capacity
    frees; ``actions.time`` is when a message went out and ``actions.queued`` how long it
    waited (seconds). The run waits for its send.

    >>> RateLimit(channel="sms", per="1s", limit=20).describe()
    'sms: at most 20 per 1s'
    """

    channel: MessageChannel
    per: PositiveDuration
    limit: int = Field(ge=1)

    def describe(self) -> str:
        return f"{self.channel}: at most {self.limit} per {format_duration(self.per)}"


class DeliveryPolicy(FrozenModel):
    """What a platform applies to every message before it goes out.

    Checked in this order for each message, each check seeing only what the previous ones
    let through: address and consent, quiet hours, frequency caps, rate limits.

    >>> policy = DeliveryPolicy(
    ...     quiet_hours=[QuietHours(start="21:00", end="08:00", channels=["sms", "whatsapp"])],
    ...     frequency_caps=[FrequencyCap(limit=1, per="1d", channels=["sms"], calendar=True),
    ...                     FrequencyCap(limit=3, per="7d")],
    ...     rate_limits=[RateLimit(channel="sms", per="1s", limit=20)])
    >>> policy.is_empty
    False
    """

    quiet_hours: tuple[QuietHours, ...] = ()
    frequency_caps: tuple[FrequencyCap, ...] = ()
    rate_limits: tuple[RateLimit, ...] = ()

    @field_validator("rate_limits")
    @classmethod
    def _one_per_channel(cls, value: tuple[RateLimit, ...]) -> tuple[RateLimit, ...]:
        seen: set[str] = set()
        for limit in value:
            if limit.channel in seen:
                raise ValueError(
                    f"two rate limits for channel {limit.channel!r}; give one per channel"
                )
            seen.add(limit.channel)
        return value

    @property
    def is_empty(self) -> bool:
        """True when the policy changes nothing."""
        return not (self.quiet_hours or self.frequency_caps or self.rate_limits)

    @property
    def uses_local_time(self) -> bool:
        """Whether some rule reads the contact's local time."""
        return bool(self.quiet_hours) or any(cap.calendar for cap in self.frequency_caps)

    def describe(self) -> list[str]:
        """One line per rule."""
        return [
            rule.describe() for rule in (*self.quiet_hours, *self.frequency_caps, *self.rate_limits)
        ]
