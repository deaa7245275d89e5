"""Responses to sent messages, drawn: the ``responses`` frame and simulated conversions.

Each message the engine logs as *sent* (email, SMS, WhatsApp; never an operation, never a
skipped message, holdout skips included) is handed to :meth:`Responder.sent`, which draws
its funnel (:class:`segsim.responses.Funnel`) in order, with one uniform draw per response
(:mod:`segsim.engine.draws`):

* ``delivered`` (else ``bounced``), at the send plus the ``delivered`` delay;
* given delivery, ``opened`` (email, WhatsApp: a human open) and, drawn separately,
  ``machine_opened`` (email: never a human open, never followed by a click);
* ``clicked``, given a human open (SMS: given delivery), after the open (SMS: the delivery);
* ``unsubscribed``, given delivery, after the delivery;
* with a flow :class:`~segsim.responses.Goal` with ``conversion_rate``: a simulated
  conversion, given a click, after the click.

The funnel is the channel's, with the fields of the first ``by_condition`` override whose
condition the contact meets at the send instant, then the fields of the template's
``by_template`` override on top.

**Draw keys.** The draw of response ``kind`` of a message is ``uniform(seed, replication,
flow, step_id, contact, f"{kind}@{t}#{k}")`` and its delay's ``f"{kind}_delay@{t}#{k}"``,
where ``t`` is the send instant (epoch µs) and ``k`` counts the earlier sends of the same
flow, step and contact at that instant (0 unless runs restart within one instant): a pure
function of what the message is, not of event order, run ids or shards.

Responses at or after the window's end are not simulated (the window is ``[start, end)``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from segsim import schema
from segsim.engine.draws import Draws

__all__ = ["Responder", "events_stand_in", "override_conditions"]

_ONE_US = dt.timedelta(microseconds=1)


class Responder:
    """Draws the responses of one simulation's sent messages (see the module docstring)."""

    def __init__(
        self,
        plan: Any,
        draws: Draws,
        drawn: set[Any] | None = None,
        contacts: dict[Any, Any] | None = None,
    ) -> None:
        self.model = plan.responses
        #: the tracked conditions of the model's ``by_condition`` overrides, ranked, and
        #: the engine's contacts (whose ``members`` say which hold at the send instant)
        self.conditions: tuple[int, ...] = plan.response_conditions
        self.contacts: dict[Any, Any] = {} if contacts is None else contacts
        #: the contacts whose story read a draw (``Simulation.drawn``): a contact whose message
        #: drew its responses is one, so other replications simulate it again (docs/design.md §9.4)
        self.drawn: set[Any] = set() if drawn is None else drawn
        self.goals: dict[str, Any] = plan.goals
        self.end: int = plan.end
        self.draws = draws
        delays = None if self.model is None else self.model.delays
        self.exponential = delays is not None and delays.distribution == "exponential"
        self.delay_us: dict[str, int] = (
            {}
            if delays is None
            else {
                kind: getattr(delays, kind) // _ONE_US
                for kind in (
                    "delivered",
                    "opened",
                    "machine_open",
                    "clicked",
                    "unsubscribed",
                    "converted",
                )
            }
        )
        self._funnels: dict[tuple[str, Any], Any] = {}
        self._instant: int | None = None
        self._earlier: dict[tuple[str, str, Any], int] = {}
        #: messages sent by flows with an observed goal, per contact: ``(t, run key, flow,
        #: step id, channel)`` in send order (read by :mod:`segsim.engine.goals`)
        self.messages: dict[Any, list[tuple[int, int, str, str, str]]] = {}
        self.observed_flows = frozenset(plan.observed_goals)

    @property
    def active(self) -> bool:
        """Whether any send needs handling (a response model or a goal)."""
        return self.model is not None or bool(self.goals)

    def sent(
        self,
        run_key: int,
        flow: str,
        step_id: str,
        contact: Any,
        channel: str,
        template: Any,
        t: int,
        logs: Any,
    ) -> None:
        """Draw the responses of one sent message at ``t``; append their rows to ``logs``
        (``responses``; simulated conversions to ``conversions``), in the order drawn."""
        if flow in self.observed_flows:
            self.messages.setdefault(contact, []).append((t, run_key, flow, step_id, channel))
        if self.model is None:
            return
        funnel = self._funnel(channel, template, self._override(contact))
        if funnel is None:
            return
        self.drawn.add(contact)
        if self._instant != t:
            self._instant, self._earlier = t, {}
        key = (flow, step_id, contact)
        k = self._earlier.get(key, 0)
        self._earlier[key] = k + 1
        tag = f"@{t}#{k}"

        def happens(kind: str, rate: float) -> bool:
            return self.draws.uniform(flow, step_id, contact, kind + tag) < rate

        def after(kind: str, since: int) -> int:
            return self._after(kind, since, flow, step_id, contact, tag)

        def log(at: int, response: str) -> None:
            if at < self.end:
                logs.responses.append(
                    (at, run_key, flow, step_id, contact, channel, template, response)
                )

        delivered = happens("delivered", funnel.rate("delivered"))
        t_delivered = after("delivered", t)
        if not delivered:
            log(t_delivered, "bounced")
            return
        log(t_delivered, "delivered")
        touched = t_delivered  # what a click follows: the human open, or (SMS) the delivery
        clickable = True
        if channel != "sms":
            opened = happens("opened", funnel.rate("opened"))
            if opened:
                touched = after("opened", t_delivered)
                log(touched, "opened")
            clickable = opened
        if channel == "email" and happens("machine_open", funnel.rate("machine_open")):
            log(after("machine_open", t_delivered), "machine_opened")
        clicked = clickable and happens("clicked", funnel.rate("clicked"))
        if clicked:
            t_clicked = after("clicked", touched)
            log(t_clicked, "clicked")
            goal = self.goals.get(flow)
            if goal is not None and goal.conversion_rate is not None:
                row = self._convert(
                    goal, run_key, flow, step_id, contact, channel, t, t_clicked, tag
                )
                if row is not None:
                    logs.conversions.append(row)
        if happens("unsubscribed", funnel.rate("unsubscribed")):
            t_unsubscribed = after("unsubscribed", t_delivered)
            log(t_unsubscribed, "unsubscribed")

    def _convert(
        self,
        goal: Any,
        run_key: int,
        flow: str,
        step_id: str,
        contact: Any,
        channel: str,
        t: int,
        t_clicked: int,
        tag: str,
    ) -> tuple | None:
        """A click converting (``Goal.conversion_rate``): a simulated conversion credited
        to the clicked message, if it comes before the window of the message (``t +
        within``) and the simulation's end close."""
        if self.draws.uniform(flow, step_id, contact, "converted" + tag) >= goal.conversion_rate:
            return None
        at = self._after("converted", t_clicked, flow, step_id, contact, tag)
        if at < self.end and at < t + goal.within // _ONE_US:
            value = goal.value if isinstance(goal.value, float) else math.nan
            return (at, contact, flow, step_id, channel, value, "simulated", run_key)
        return None

    def _after(self, kind: str, since: int, flow: str, step_id: str, contact: Any, tag: str) -> int:
        """The instant of response ``kind`` following ``since``: its delay, fixed or drawn."""
        mean = self.delay_us[kind]
        if not self.exponential or mean == 0:
            return since + mean
        u = self.draws.uniform(flow, step_id, contact, f"{kind}_delay{tag}")
        return since + round(-mean * math.log1p(-u))

    def _override(self, contact: Any) -> int | None:
        """The rank of the first ``by_condition`` override whose condition the contact
        meets now (None: none)."""
        if not self.conditions:
            return None
        members = self.contacts[contact].members
        for rank, condition in enumerate(self.conditions):
            if members >> condition & 1:
                return rank
        return None

    def _funnel(self, channel: str, template: Any, override: int | None) -> Any:
        key = (channel, template, override)
        if key not in self._funnels:
            self._funnels[key] = self.model.funnel(channel, template, override)
        return self._funnels[key]


def override_conditions(model: Any, track: Callable[[Any, str], int]) -> tuple[int, ...]:
    """Track the conditions of a response model's ``by_condition`` overrides (checked like
    every condition, named ``responses.by_condition[i].when``): their tracked indices."""
    if model is None:
        return ()
    return tuple(
        track(override.when, f"responses.by_condition[{i}].when")
        for i, override in enumerate(model.by_condition)
    )


def events_stand_in(plan: Any, store: Any) -> str:
    """A ``WITH`` entry standing in for the store's event table when it has none but
    conditions read simulated response events (``email_clicked``, ...): an empty table of
    the same name, so the SQL face of event conditions reads no occurrence. Else ``""``.
    """
    if not plan.used_events or store._has_events():
        return ""
    id_sql = "BIGINT" if store.id_type == "integer" else "VARCHAR"
    return (
        f"{schema.EVENTS} AS (SELECT NULL::{id_sql} AS contact_id, NULL::TIMESTAMP AS ts, "
        "NULL::VARCHAR AS event, NULL::BIGINT AS seq WHERE FALSE),"
    )
