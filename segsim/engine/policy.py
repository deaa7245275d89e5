"""Delivery policies in the event loop: local time, quiet hours, frequency caps, rate limits.

:class:`TimeZones` answers "which time zone is this contact in at ``t``" from the contact's
history of ``Channels(timezone_attribute=...)`` (a move changes it; an Update contact step
setting it too), else ``Channels(default_timezone=...)``. :func:`check_time_zones` refuses
an unknown zone name before anything runs, naming the contact and its history row.

:class:`Policies` applies a :class:`~segsim.policies.DeliveryPolicy` to a message that
address and consent let through (:meth:`segsim.engine.delivery.Delivery.decide`), in this
order, each seeing only what the previous one let through:

1. **Quiet hours** (per contact, local time): ``skip`` logs the message ``skipped`` with
   reason ``quiet_hours``; ``defer`` logs a ``steps`` row with outcome ``deferred`` and the
   run waits, at the message step, until the quiet period's end, when the step is executed
   again from the start (address, consent and the policy are decided anew; exit conditions
   and pauses apply meanwhile as to any waiting run).
2. **Frequency caps** (per contact, across flows): a message on a capped channel is not
   decided at once. The messages reaching capped channels at one instant are collected
   while the steps due then run, and decided together in a *round* once those steps are
   done (a SimPy event scheduled behind them): by flow ``priority`` (higher first), then
   flow name, then contact, then run. A message over a cap is ``skipped`` with reason
   ``frequency_cap``; each run then goes on with its next steps, and a second message a run
   reaches at the same instant is decided in the next round.
3. **Rate limits** (per channel, shared by every contact): see :class:`ChannelQueue`.

A message of a contact with a single open run, on a channel without a rate limit, is decided
at once rather than in a round: exactly equivalent, since caps read only the contact's own
sends and no other message of the contact can join that round — a run that would send one has to exist already (runs entering
at the instant, waits ending, held runs are all open runs of the contact), and a run started
later at the instant by this run's own steps comes after this message in any case. (With a
rate limit the round also fixes the order messages of *different* contacts join the queue,
so there is no shortcut.)

Caps and quiet hours read only the contact's own sends and clock, so sharding by contact
stays exact; a rate limit makes contacts share a resource, so a rate-limited scenario runs
unsharded (:func:`segsim.simulate` says so with a warning).
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
from collections.abc import Sequence
from typing import Any

from segsim import schema
from segsim._internal.localtime import (
    calendar_period,
    clock_in_period,
    local_minutes,
    quiet_hours_end,
    time_zone,
)
from segsim._internal.naming import did_you_mean
from segsim._time import duration_us
from segsim.errors import ScenarioError

__all__ = ["ChannelQueue", "Policies", "TimeZones", "check_time_zones"]


def _ts(t_us: int) -> str:
    return str(dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=t_us))


def check_time_zones(store: Any, attribute: str | None, types: dict[str, str], flows: Any) -> None:
    """Refuse a time-zone attribute that is absent, not a string, or holds an unknown zone.

    The message names the attribute and, for an unknown zone, the first history row holding
    it (contact and time) and how many rows do; an Update contact step setting an unknown
    zone is named by flow and step.
    """
    if attribute is None:
        return
    where = f"channels.timezone_attribute: the time zone attribute {attribute!r}"
    setters = [
        (flow.name, step.id, step.set[attribute])
        for flow in flows
        for step in _update_steps(flow)
        if attribute in step.set
    ]
    for flow_name, step_id, value in setters:
        if value is None:
            continue
        try:
            time_zone(value)
        except ValueError as exc:
            raise ScenarioError(
                f"flow {flow_name!r} step {step_id!r} sets {attribute!r}: {exc}"
            ) from None
    kind = store.attribute_types.get(attribute)
    if kind is None:
        if setters:
            return
        raise ScenarioError(
            f"{where} is not in the data{did_you_mean(attribute, store.attribute_types)}"
        )
    if kind != "string":
        raise ScenarioError(f"{where} is a {kind} attribute; it must hold IANA zone names")
    if store.id_type is None:
        return
    cursor = store.con.cursor()
    try:
        rows = cursor.execute(
            f"""SELECT v_string, arg_min(contact_id, ts), min(epoch_us(ts)), count(*)
                FROM {schema.CHANGES} WHERE attribute = ? AND v_string IS NOT NULL
                GROUP BY v_string ORDER BY 3, 1""",
            [attribute],
        ).fetchall()
    finally:
        cursor.close()
    for value, contact_id, first, count in rows:
        try:
            time_zone(value)
        except ValueError:
            also = f" ({count} history rows hold it)" if count > 1 else ""
            raise ScenarioError(
                f"contact {contact_id!r}: its history row at {_ts(first)} sets the time zone "
                f"attribute {attribute!r} to {value!r}, which is not an IANA time zone name "
                f"(such as 'Europe/Paris' or 'UTC'){also}"
            ) from None


def _update_steps(flow: Any) -> list[Any]:
    from segsim.flows import UpdateContact, iter_steps

    return [step for _, step in iter_steps(flow) if isinstance(step, UpdateContact)]


class TimeZones:
    """Each contact's time zone at any instant (see the module docstring).

    The attribute's history is read once, in one query, at the start of a simulation:
    per contact, the instants its zone changes, in order.
    """

    def __init__(self, store: Any, attribute: str | None, default: str) -> None:
        self.attribute = attribute
        self.default = time_zone(default)
        self._changes: dict[Any, tuple[list[tuple[int, int]], list[Any]]] = {}
        if attribute is None or store.id_type is None:
            return
        if attribute not in store.attribute_types:
            return  # only Update contact steps set it
        cursor = store.con.cursor()
        try:
            rows = cursor.execute(
                f"""SELECT contact_id, epoch_us(ts), v_string FROM {schema.CHANGES}
                    WHERE attribute = ? ORDER BY contact_id, ts""",
                [attribute],
            ).fetchall()
        finally:
            cursor.close()
        # rows come by contact, then time: each contact's lists are built in order
        changes = self._changes
        zones: dict[Any, Any] = {None: self.default}
        for contact_id, t, value in rows:
            entry = changes.get(contact_id)
            if entry is None:
                entry = changes[contact_id] = ([], [])
            entry[0].append((t, 0))
            zone = zones.get(value)
            if zone is None:
                zone = zones[value] = time_zone(value)
            entry[1].append(zone)

    def _add(self, contact_id: Any, t: int, order: int, value: str | None) -> None:
        entry = self._changes.get(contact_id)
        if entry is None:
            entry = self._changes[contact_id] = ([], [])
        keys, zones = entry
        key = (t, order)
        at = bisect.bisect_right(keys, key)
        keys.insert(at, key)
        zones.insert(at, self.default if value is None else time_zone(value))

    def at(self, contact_id: Any, t: int) -> Any:
        """The contact's zone at ``t``: its latest change at or before ``t``, else the default."""
        entry = self._changes.get(contact_id)
        if entry is None:
            return self.default
        keys, zones = entry
        at = bisect.bisect_right(keys, (t, 2)) - 1
        return self.default if at < 0 else zones[at]

    def apply(self, contact_id: Any, t: int, changes: Sequence[tuple[bool, str, Any]]) -> None:
        """An Update contact step at ``t`` set attributes: it may move the contact."""
        for is_list, name, value in changes:
            if not is_list and name == self.attribute:
                self._add(contact_id, t, 1, value)  # after the history rows of ``t``


class ChannelQueue:
    """A channel's rate limit: ``limit`` sends per ``per``, first in, first out.

    Exactly a SimPy ``Resource(capacity=limit)`` whose requests are served in arrival order
    and each hold their slot for ``per`` from the instant their message goes out: a message
    arriving at ``t`` goes out at ``max(t, the earliest instant a slot frees)``. As arrivals
    come in time order, so do the departures, and at most ``limit`` messages go out in any
    window ``[x, x + per)``. Computed with a heap of the instants the slots free, which is
    what the resource would do, without a process per message.
    """

    def __init__(self, limit: int, per_us: int) -> None:
        self.per_us = per_us
        self.free_at = [0] * limit  # a min-heap: the instant each slot frees

    def send_time(self, t: int) -> int:
        """When a message arriving at ``t`` goes out (it takes the slot from then on)."""
        out = max(t, self.free_at[0])
        heapq.heapreplace(self.free_at, out + self.per_us)
        return out


_DAY_US = 86_400_000_000


class LocalCalendar:
    """Local calendar periods and clock times, remembered per zone while they last.

    Sends come in time order and many contacts share a zone, so the local day (or week)
    holding the previous instant of a zone usually holds the next one too: it is computed
    once (:func:`~segsim._internal.localtime.calendar_period`) and reused while it lasts. On a
    day that is not 24 hours long (a DST change) clock times are read from ``zoneinfo`` each
    time; on any other day the wall clock is the time since local midnight.
    """

    def __init__(self) -> None:
        self._periods: dict[tuple[Any, str], tuple[int, int]] = {}

    def period(self, t: int, zone: Any, unit: str) -> tuple[int, int]:
        key = (zone, unit)
        span = self._periods.get(key)
        if span is None or not span[0] <= t < span[1]:
            span = self._periods[key] = calendar_period(t, zone, unit)
        return span

    def minutes(self, t: int, zone: Any) -> float:
        """Local wall-clock minutes after midnight at ``t``."""
        start, end = self.period(t, zone, "day")
        if end - start == _DAY_US:
            return (t - start) / 60_000_000
        return local_minutes(t, zone)


class _Cap:
    __slots__ = ("calendar", "channels", "limit", "per_us", "unit")

    def __init__(self, cap: Any) -> None:
        self.limit = cap.limit
        self.per_us = duration_us(cap.per)
        self.channels = frozenset(cap.capped_channels)
        self.unit = cap.unit
        self.calendar = cap.calendar


class Policies:
    """A :class:`~segsim.policies.DeliveryPolicy` applied in one simulation.

    It uses the event loop's ``env``, ``logs``, ``_log_action`` (an ``actions`` and a
    ``steps`` row) and ``_advance`` (go on with a run from its current step).
    """

    #: decide a message of a contact's only run at once (see the module docstring); False
    #: sends every capped message through a round (a test checks both give the same frames)
    shortcut = True

    def __init__(self, policy: Any, zones: TimeZones, env: Any, sim: Any) -> None:
        self.zones = zones
        self.env = env
        self.sim = sim
        self.quiet: dict[str, list[tuple[int, int, str]]] = {}
        for rule in policy.quiet_hours:
            for channel in rule.channels:
                self.quiet.setdefault(channel, []).append(
                    (rule.start_minutes, rule.end_minutes, rule.action)
                )
        self.caps = [_Cap(cap) for cap in policy.frequency_caps]
        self.capped = frozenset(c for cap in self.caps for c in cap.channels)
        # how far back a cap looks: sends older than that never count again
        self.horizon_us = max(
            [8 * 86_400_000_000 if cap.calendar else cap.per_us for cap in self.caps], default=0
        )
        self.sent: dict[Any, list[tuple[int, str]]] = {}  # contact -> (decided at, channel)
        self.queues = {
            limit.channel: ChannelQueue(limit.limit, duration_us(limit.per))
            for limit in policy.rate_limits
        }
        self.round: list[tuple[Any, ...]] | None = None  # the messages of the next cap round
        self.calendar = LocalCalendar()

    # -- the message path ------------------------------------------------------------------

    def send(self, run: Any, step: Any, contact: Any, t: int, cost: float) -> bool:
        """Apply the policy to a message address and consent let through; see the module.

        True if the run goes on at once (at ``run.step``, already the step after).
        """
        channel = step.channel
        rules = self.quiet.get(channel)
        if rules is not None:
            zone = self.zones.at(run.contact, t)
            now = self.calendar.minutes(t, zone)
            for start, end, action in rules:
                if not clock_in_period(now, start, end):
                    continue
                if action == "skip":
                    self.sim._log_action(run, step, t, "skipped", "quiet_hours", 0.0)
                    return True
                self._defer(run, step, t, quiet_hours_end(t, zone, start, end))
                return False
        if channel in self.capped:
            if self.shortcut and len(contact.runs) <= 1 and channel not in self.queues:
                # the contact's only run: no other message of it can join this round (see
                # the module docstring), so deciding now is deciding in the round
                run.step = step.next
                if self._over_cap(run.contact, channel, t):
                    self.sim._log_action(run, step, t, "skipped", "frequency_cap", 0.0)
                    return True
                return self._go_out(run, step, t, cost)
            run.step = step.id  # it stays at the message until its round decides it
            if self.round is None:
                self.round = []
                self.env.timeout(0).callbacks.append(self._decide_round)
            flow = run.flow
            self.round.append(
                (-flow.flow.priority, flow.name, _sort_key(run.contact), run.key, run, step, cost)
            )
            return False
        return self._go_out(run, step, t, cost)

    def _defer(self, run: Any, step: Any, t: int, until: int) -> None:
        cf = run.flow
        self.sim.logs.steps.append(
            (t, run.key, cf.name, run.contact, step.id, step.kind, "deferred", cf.version)
        )
        run.step = step.id  # executed again, from the start, when the quiet period ends
        token = run.token
        self.env.timeout(until - t).callbacks.append(lambda _e: self.sim._advance(run, token))

    def _decide_round(self, _event: Any) -> None:
        batch, self.round = self.round or [], None
        batch.sort(key=lambda item: item[:4])
        t = int(self.env.now)
        for *_, run, step, cost in batch:
            token = run.token
            if not run.open or run.step != step.id:
                continue  # it ended (or moved) while its round was pending
            run.step = step.next
            if self._over_cap(run.contact, step.channel, t):
                self.sim._log_action(run, step, t, "skipped", "frequency_cap", 0.0)
            elif not self._go_out(run, step, t, cost):
                continue
            self.sim._advance(run, token)

    def _over_cap(self, contact_id: Any, channel: str, t: int) -> bool:
        sent = self.sent.get(contact_id)
        if not sent:
            return False
        if len(sent) > 64 and sent[0][0] <= t - self.horizon_us:
            sent[:] = [item for item in sent if item[0] > t - self.horizon_us]
        zone = None
        for cap in self.caps:
            if channel not in cap.channels:
                continue
            if cap.calendar:
                if zone is None:
                    zone = self.zones.at(contact_id, t)
                since = self.calendar.period(t, zone, cap.unit)[0] - 1
            else:
                since = t - cap.per_us
            count = 0
            for at, sent_channel in reversed(sent):
                if at <= since:
                    break
                if sent_channel in cap.channels:
                    count += 1
            if count >= cap.limit:
                return True
        return False

    def _go_out(self, run: Any, step: Any, t: int, cost: float) -> bool:
        """The message is sent: through its channel's queue, if it has one."""
        channel = step.channel
        if self.capped:
            self.sent.setdefault(run.contact, []).append((t, channel))
        queue = self.queues.get(channel)
        if queue is None:
            self.sim._log_action(run, step, t, "sent", None, cost)
            return True
        out = queue.send_time(t)
        self.sim._log_action(run, step, out, "sent", None, cost, (out - t) / 1e6)
        if out == t:
            return True
        token = run.token
        self.env.timeout(out - t).callbacks.append(lambda _e: self.sim._advance(run, token))
        return False


def _sort_key(contact_id: Any) -> tuple[int, Any]:
    return (0, contact_id) if isinstance(contact_id, int) else (1, str(contact_id))
