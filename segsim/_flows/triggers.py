"""What starts a flow and what ends a run early: the triggers, the exit and restart
conditions and :class:`ActivationSettings` (docs/design.md §1.1, §1.4).

The public names are in :mod:`segsim.flows`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from segsim._flows.base import _FrozenModel
from segsim._internal.naming import Duration, Name
from segsim._time import format_duration
from segsim.conditions import Condition
from segsim.event_conditions import Where

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
