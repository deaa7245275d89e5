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
from collections import Counter
from collections.abc import Sequence
from typing import Any

from segsim import schema
from segsim._internal.localtime import (
    calendar_period,
    clock_in_period,
    clock_instant,
    local_datetime,
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

    The attribute's history is read once, in one query, at the start of a simulation. Most
    contacts have one zone row (or their latest lies before the instants asked about), so
    each contact keeps its *latest* change, ``(instant, zone)``, and answers from it for any
    ``t`` at or after it; the full list of changes, in order, is kept only for contacts with
    more than one (and for those an Update contact step moves).
    """

    def __init__(self, store: Any, attribute: str | None, default: str) -> None:
        self.attribute = attribute
        self.default = time_zone(default)
        #: contact -> (instant of its latest change, the zone from then on)
        self._latest: dict[Any, tuple[int, Any]] = {}
        #: contact -> ([(instant, order)], [zone]) in order, for contacts with several changes
        self._changes: dict[Any, tuple[list[tuple[int, int]], list[Any]]] = {}
        if attribute is None or store.id_type is None:
            return
        if attribute not in store.attribute_types:
            return  # only Update contact steps set it
        cursor = store.con.cursor()
        try:
            table = cursor.sql(
                f"""SELECT contact_id, epoch_us(ts), v_string FROM {schema.CHANGES}
                    WHERE attribute = ? ORDER BY contact_id, ts""",
                params=[attribute],
            ).to_arrow_table()
        finally:
            cursor.close()
        ids, times, values = (column.to_pylist() for column in table.columns)
        named: dict[Any, Any] = {None: self.default}
        for value in set(values):
            if value is not None:
                named[value] = time_zone(value)
        zones = [named[value] for value in values]
        # rows come by contact, then time: for a contact with several rows the last one wins
        self._latest = dict(zip(ids, zip(times, zones, strict=True), strict=True))
        if len(self._latest) == len(ids):
            return
        several = {c for c, n in Counter(ids).items() if n > 1}
        changes = self._changes
        for contact_id, t, zone in zip(ids, times, zones, strict=True):
            if contact_id in several:
                entry = changes.get(contact_id)
                if entry is None:
                    entry = changes[contact_id] = ([], [])
                entry[0].append((t, 0))
                entry[1].append(zone)

    def _add(self, contact_id: Any, t: int, order: int, value: str | None) -> None:
        entry = self._changes.get(contact_id)
        if entry is None:
            latest = self._latest.get(contact_id)
            entry = self._changes[contact_id] = (
                ([], []) if latest is None else ([(latest[0], 0)], [latest[1]])
            )
        keys, zones = entry
        key = (t, order)
        at = bisect.bisect_right(keys, key)
        keys.insert(at, key)
        zones.insert(at, self.default if value is None else time_zone(value))
        self._latest[contact_id] = (keys[-1][0], zones[-1])

    def at(self, contact_id: Any, t: int) -> Any:
        """The contact's zone at ``t``: its latest change at or before ``t``, else the default."""
        latest = self._latest.get(contact_id)
        if latest is None:
            return self.default
        if t >= latest[0]:
            return latest[1]
        entry = self._changes.get(contact_id)
        if entry is None:
            return self.default  # its one change comes after ``t``
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
_MINUTE_US = 60_000_000


class LocalDay:
    """One local calendar day of one zone, ``[start, end)`` in UTC, and what policies read of it.

    Sends come in time order and many contacts share a zone, so the local day holding the
    previous instant of a zone usually holds the next one too: :class:`LocalCalendar` makes
    it once (:func:`~segsim._internal.localtime.calendar_period`) and reuses it while it
    lasts. On a day 24 hours long the wall clock is the time since local midnight, so a quiet
    period's clock times are instants of the day, computed once per day and channel
    (:meth:`quiet_windows`); on a day that is not (a DST change) the clock is read from
    ``zoneinfo`` each time, as :func:`~segsim._internal.localtime.in_quiet_hours` does.
    """

    __slots__ = ("date", "end", "start", "whole", "windows", "zone")

    def __init__(self, t: int, zone: Any) -> None:
        self.zone = zone
        self.start, self.end = calendar_period(t, zone, "day")
        self.whole = self.end - self.start == _DAY_US
        self.date = local_datetime(t, zone).date()
        #: channel -> its quiet windows this day (see :meth:`quiet_windows`)
        self.windows: dict[str, list[tuple[int, int, int, int, str, int, int]]] = {}

    def minutes(self, t: int) -> float:
        """Local wall-clock minutes after midnight at ``t`` (``t`` in the day)."""
        if self.whole:
            return (t - self.start) / _MINUTE_US
        return local_minutes(t, self.zone)

    def quiet_windows(
        self, channel: str, rules: Sequence[tuple[int, int, str]]
    ) -> list[tuple[int, int, int, int, str, int, int]]:
        """The channel's quiet periods this day, as UTC instants (a 24-hour day only).

        Per rule, in order: ``(lo, hi, lo2, hi2, action, release, release_next)``: ``t`` is
        in the period when ``lo <= t < hi`` or ``lo2 <= t < hi2`` — the clock time
        ``(t - start)`` minutes after midnight in ``[start, end)`` (wrapping midnight when
        ``start > end``), exactly :func:`~segsim._internal.localtime.clock_in_period` on a
        24-hour day — and a message deferred at ``t`` goes out at ``release`` if that is after
        ``t``, else at ``release_next``: today's and tomorrow's local ``end`` clock time, what
        :func:`~segsim._internal.localtime.quiet_hours_end` gives for any ``t`` of the day.
        """
        windows = self.windows.get(channel)
        if windows is None:
            windows = self.windows[channel] = []
            day, zone = self.start, self.zone
            tomorrow = self.date + dt.timedelta(days=1)
            for start, end, action in rules:
                lo, hi = day + start * _MINUTE_US, day + end * _MINUTE_US
                # wrapping midnight: the morning up to ``end``, the evening from ``start``
                spans = (lo, hi, 0, 0) if start < end else (day, hi, lo, self.end)
                release = clock_instant(self.date, end, zone)
                windows.append((*spans, action, release, clock_instant(tomorrow, end, zone)))
        return windows


class LocalCalendar:
    """Local days (:class:`LocalDay`) and weeks per zone, remembered while they last."""

    def __init__(self) -> None:
        self.days: dict[Any, LocalDay] = {}  # zone -> its local day of late
        self._weeks: dict[Any, tuple[int, int]] = {}

    def day(self, t: int, zone: Any) -> LocalDay:
        day = self.days.get(zone)
        if day is None or not day.start <= t < day.end:
            day = self.days[zone] = LocalDay(t, zone)
        return day

    def period(self, t: int, zone: Any, unit: str) -> tuple[int, int]:
        """The local calendar ``unit`` (``"day"``/``"week"``) holding ``t``, ``[start, end)``."""
        if unit == "day":
            day = self.day(t, zone)
            return day.start, day.end
        span = self._weeks.get(zone)
        if span is None or not span[0] <= t < span[1]:
            span = self._weeks[zone] = calendar_period(t, zone, unit)
        return span

    def minutes(self, t: int, zone: Any) -> float:
        """Local wall-clock minutes after midnight at ``t``."""
        return self.day(t, zone).minutes(t)


class _Cap:
    """A frequency cap and, per contact, the instants of its latest sends on its channels.

    Sends are recorded in time order, so a contact is at the cap at ``t`` when its
    ``limit``-th latest send counts in the window at ``t``: only the latest ``limit`` sends
    are kept.
    """

    __slots__ = ("calendar", "channels", "limit", "per_us", "sent", "unit")

    def __init__(self, cap: Any) -> None:
        self.limit = cap.limit
        self.per_us = duration_us(cap.per)
        self.channels = frozenset(cap.capped_channels)
        self.unit = cap.unit
        self.calendar = cap.calendar
        self.sent: dict[Any, list[int]] = {}  # contact -> its latest sends (at most ``limit``)


class Policies:
    """A :class:`~segsim.policies.DeliveryPolicy` applied in one simulation.

    It uses the event loop's ``env``, ``logs``, ``_log_action`` (an ``actions`` and a
    ``steps`` row) and ``_advance`` (go on with a run from its current step).

    Per channel it knows, once, what can touch a message of it (:attr:`touch`): its quiet
    hours rules, the caps counting it, its queue; a message of a channel nothing touches is
    logged at once.
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
        self.queues = {
            limit.channel: ChannelQueue(limit.limit, duration_us(limit.per))
            for limit in policy.rate_limits
        }
        channels = {*self.quiet, *self.queues, *(c for cap in self.caps for c in cap.channels)}
        #: channel -> (its quiet rules or None, the caps counting it, its queue or None)
        self.touch: dict[str, tuple[Any, tuple[_Cap, ...], ChannelQueue | None]] = {
            channel: (
                self.quiet.get(channel),
                tuple(cap for cap in self.caps if channel in cap.channels),
                self.queues.get(channel),
            )
            for channel in channels
        }
        self.round: list[tuple[Any, ...]] | None = None  # the messages of the next cap round
        self.calendar = LocalCalendar()

    # -- the message path ------------------------------------------------------------------

    def send(self, run: Any, step: Any, contact: Any, t: int, cost: float) -> bool:
        """Apply the policy to a message address and consent let through; see the module.

        True if the run goes on at once (at ``run.step``, already the step after).
        """
        touch = self.touch.get(step.channel)
        if touch is None:  # nothing in the policy reads this channel
            self.sim._log_action(run, step, t, "sent", None, cost)
            return True
        rules, caps, queue = touch
        if rules is not None:
            quiet = self._quiet(step.channel, rules, run.contact, t)
            if quiet is not None:
                action, until = quiet
                if action == "skip":
                    self.sim._log_action(run, step, t, "skipped", "quiet_hours", 0.0)
                    return True
                self._defer(run, step, t, until)
                return False
        if caps:
            if self.shortcut and queue is None and len(contact.runs) <= 1:
                # the contact's only run: no other message of it can join this round (see
                # the module docstring), so deciding now is deciding in the round
                run.step = step.next
                if self._over_cap(run.contact, caps, t):
                    self.sim._log_action(run, step, t, "skipped", "frequency_cap", 0.0)
                    return True
                return self._go_out(run, step, t, cost, caps, queue)
            run.step = step.id  # it stays at the message until its round decides it
            if self.round is None:
                self.round = []
                self.env.timeout(0).callbacks.append(self._decide_round)
            flow = run.flow
            self.round.append(
                (-flow.flow.priority, flow.name, _sort_key(run.contact), run.key, run, step, cost)
            )
            return False
        return self._go_out(run, step, t, cost, caps, queue)

    def _quiet(
        self, channel: str, rules: list[tuple[int, int, str]], contact_id: Any, t: int
    ) -> tuple[str, int] | None:
        """The first quiet hours rule of the channel holding ``t`` in the contact's local
        time: its action and, to defer, the period's end; None if none holds ``t``."""
        zone = self.zones.at(contact_id, t)
        day = self.calendar.days.get(zone)  # LocalCalendar.day, inlined: once per quiet send
        if day is None or not day.start <= t < day.end:
            day = self.calendar.day(t, zone)
        if day.whole:
            windows = day.windows.get(channel) or day.quiet_windows(channel, rules)
            for lo, hi, lo2, hi2, action, release, later in windows:
                if lo <= t < hi or lo2 <= t < hi2:
                    return action, release if release > t else later
            return None
        now = day.minutes(t)  # a DST day: the wall clock from zoneinfo
        for start, end, action in rules:
            if clock_in_period(now, start, end):
                return action, quiet_hours_end(t, zone, start, end)
        return None

    def _defer(self, run: Any, step: Any, t: int, until: int) -> None:
        logs = self.sim.logs
        logs.steps.append((t, run.key, run.contact, logs.labels.of(run.flow, step), "deferred"))
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
            _rules, caps, queue = self.touch[step.channel]
            if self._over_cap(run.contact, caps, t):
                self.sim._log_action(run, step, t, "skipped", "frequency_cap", 0.0)
            elif not self._go_out(run, step, t, cost, caps, queue):
                continue
            self.sim._advance(run, token)

    def _over_cap(self, contact_id: Any, caps: Sequence[_Cap], t: int) -> bool:
        """Whether a message at ``t`` counted by ``caps`` is over one of them.

        Over a cap when its ``limit``-th latest send counts in its window: after
        ``t - per`` (rolling), or in the local calendar day or week of ``t``.
        """
        zone = None
        for cap in caps:
            sent = cap.sent.get(contact_id)
            if sent is None or len(sent) < cap.limit:
                continue
            oldest = sent[0]  # the ``limit``-th latest
            if cap.calendar:
                if zone is None:
                    zone = self.zones.at(contact_id, t)
                if oldest >= self.calendar.period(t, zone, cap.unit)[0]:
                    return True
            elif oldest > t - cap.per_us:
                return True
        return False

    def _record(self, contact_id: Any, caps: Sequence[_Cap], t: int) -> None:
        """A message counted by ``caps`` was sent at ``t``."""
        for cap in caps:
            sent = cap.sent.get(contact_id)
            if sent is None:
                cap.sent[contact_id] = [t]
            else:
                sent.append(t)
                if len(sent) > cap.limit:
                    del sent[0]

    def _go_out(
        self,
        run: Any,
        step: Any,
        t: int,
        cost: float,
        caps: Sequence[_Cap],
        queue: ChannelQueue | None,
    ) -> bool:
        """The message is sent: counted by its caps, through its channel's queue if any."""
        if caps:
            self._record(run.contact, caps, t)
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
