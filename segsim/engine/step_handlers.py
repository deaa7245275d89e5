"""The event loop's step handlers (a part of :class:`segsim.engine.core.Simulation`): one per
step kind — waits, branches, splits, ``WaitFor``, actions — and what an action's message,
responses and deletions do.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import simpy

from segsim._internal.localtime import wait_until
from segsim.engine.compiled import ActionStep, BranchStep, WaitForStep, WaitStep
from segsim.engine.live import EVENT_ROW
from segsim.engine.records import Contact, Run
from segsim.responses import response_event


class StepHandlers:
    """The step handlers of the event loop (part of :class:`segsim.engine.core.Simulation`):
    one per step kind, as :data:`segsim.engine.compiled.STEP_RULES` has one compile rule
    per kind, and what actions and responses do."""

    def _advance(self, run: Run, token: int) -> None:
        """Execute steps from the run's current step until a wait, a hold or the end."""
        if not run.open or run.token != token:
            return
        t = int(self.env.now)
        contact = self.contacts[run.contact]
        handlers = self._handlers
        while run.open and run.token == token:
            step_id = run.step
            if step_id is None:
                self._end_run(run, t, "completed")
                return
            step = run.flow.steps[step_id]
            if not handlers[step.kind](run, step, contact, t):
                return

    def _wait_step(self, run: Run, step: WaitStep, contact: Contact, t: int) -> bool:
        self.logs.steps.append((t, run.key, run.contact, run.flow.labels[step.id], "waiting"))
        delay = step.duration_us
        if step.until is not None:  # local time: calendar days, then a clock time
            assert self.zones is not None
            zone = self.zones.at(run.contact, t)
            delay = wait_until(t, zone, step.days, step.until, step.weekdays) - t
        event = self.env.timeout(delay)
        event.callbacks.append(partial(self._on_wait_over, run, run.token))
        return False

    def _on_wait_over(self, run: Run, token: int, _event: simpy.Event) -> None:
        if not run.open or run.token != token:
            return
        # the step after the wait in the version in force now (an edit may have come since)
        run.step = run.flow.steps[run.step].next  # type: ignore[index]
        self._advance(run, token)

    def _branch_step(self, run: Run, step: BranchStep, contact: Contact, t: int) -> bool:
        holds = contact.members >> step.condition & 1
        self.logs.steps.append(
            (t, run.key, run.contact, run.flow.labels[step.id], "then" if holds else "otherwise")
        )
        run.step = step.then_first if holds else step.otherwise_first
        return True

    def _wait_for_step(self, run: Run, step: WaitForStep, contact: Contact, t: int) -> bool:
        """Already true: leave by ``then`` now; else wait for the turn (:meth:`_wait_fors`)
        or the timeout, whichever comes first."""
        if contact.members >> step.condition & 1:
            self._leave_wait_for(run, step, t, "then")
            return True
        run.waiting = step.condition
        event = self.env.timeout(step.timeout_us)
        event.callbacks.append(partial(self._on_wait_for_timeout, run, run.token))
        return False

    def _leave_wait_for(self, run: Run, step: Any, t: int, outcome: str) -> None:
        logs = self.logs
        logs.steps.append(
            (t, run.key, run.contact, logs.labels.of(run.flow, step, "wait_for"), outcome)
        )
        run.waiting = None
        if isinstance(step, WaitForStep):
            run.step = step.then_first if outcome == "then" else step.timed_out_first
        else:  # an edit made the step another kind of step (same id): go on after it
            run.step = step.next

    def _on_wait_for_timeout(self, run: Run, token: int, _event: simpy.Event) -> None:
        if not run.open or run.token != token:
            return
        # the paths of the version in force now (an edit may have come since)
        self._leave_wait_for(run, run.flow.steps[run.step], int(self.env.now), "timed_out")  # type: ignore[index]
        self._advance(run, token)

    def _wait_fors(self, contact_id: Any, changes: list[tuple[int, bool]], t: int) -> None:
        """Runs whose WaitFor condition turned true now leave by ``then``.

        Decided with the instant's state changes, so a turn at exactly the timeout instant
        wins over the timeout (an ordinary event of that instant); the run's next steps are
        due steps of this instant.
        """
        contact = self.contacts[contact_id]
        if not contact.runs:
            return
        turned = {condition for condition, holds in changes if holds}
        if not turned:
            return
        for flow_name in self.plan.flow_order:
            run = contact.runs.get(flow_name)
            if run is None or run.waiting is None or run.waiting not in turned:
                continue
            run.token += 1  # its pending timeout is void
            self._leave_wait_for(run, run.flow.steps[run.step], t, "then")  # type: ignore[index]
            self._continue_soon(run)

    def _action_step(self, run: Run, step: ActionStep, contact: Contact, t: int) -> bool:
        cf = run.flow
        if self.status[cf.name] == "paused" and cf.on_pause == "hold":
            run.held = True
            self.held[cf.name].append(run)
            return False
        run.step = step.next
        channel = step.channel
        if channel in self.delivery.rules:  # a message: delivery decides
            if self.holdout is not None and self.holdout.holds_out(cf.name, run.contact):
                status, reason, cost = "skipped", "holdout", 0.0  # the control group
            else:
                status, reason, cost = self.delivery.decide(run, step, contact.members, t)
                if status == "sent" and self.policies is not None:
                    return self.policies.send(run, step, contact, t, cost)
            self._log_action(run, step, t, status, reason, cost)
            return True
        if channel == "webhook":  # an operation: logged, never sent
            self._log_action(run, step, t, "sent", None, self.plan.webhook_cost)
            return True
        self._log_action(run, step, t, "applied", None, 0.0)
        contact_id = run.contact
        if self.zones is not None and step.changes:
            self.zones.apply(contact_id, t, step.changes)  # it may move the contact
        if step.kind == "delete_contact":
            self._delete(contact_id, contact, t)
            return True
        if contact.live is None and not self._matters(step.changes):
            return True  # no tracked condition reads what changed: the precomputed path holds
        state = self._go_live(contact_id, contact, t)
        state.apply(step.changes)
        self._schedule_boundaries(contact_id, state, t)
        changed = self._evaluate(contact_id, contact, t, "flow step")
        if changed:
            self._react(contact_id, changed, t)
        return True

    def _matters(self, changes: tuple[tuple[bool, str, Any], ...]) -> bool:
        """Could these changes alter a membership (does a tracked condition read them)?"""
        plan = self.plan
        return any(
            (name in plan.used_lists) if is_list else (name in plan.used_attributes)
            for is_list, name, _ in changes
        )

    def _log_action(
        self,
        run: Run,
        step: ActionStep,
        t: int,
        status: str,
        reason: str | None,
        cost: float,
        queued: float = 0.0,
    ) -> None:
        cf, logs = run.flow, self.logs
        label = cf.labels.get(step.id)
        if label is None or cf.steps[step.id] is not step:  # a policy held it across an edit
            label = logs.labels.of(cf, step)
        logs.steps.append((t, run.key, run.contact, label, status))
        logs.actions.append((t, run.key, run.contact, label, status, reason, cost, queued))
        if status == "sent" and step.channel in self.delivery.rules and self.responder.active:
            responses, conversions = self.logs.responses, self.logs.conversions
            first, converted = len(responses), len(conversions)
            self.responder.sent(
                run.key, cf.name, step.id, run.contact, step.channel, step.template, t, self.logs
            )
            if self.goal_exits is not None and len(conversions) > converted:
                self.goal_exits.converted(conversions[converted:], int(self.env.now))
            if len(responses) > first:
                self._schedule_responses(run.contact, step.channel, responses[first:], t)

    def _schedule_responses(self, contact_id: Any, channel: str, rows: list[tuple], t: int) -> None:
        """The state changes the responses of one message make, at their instants.

        An ``unsubscribed`` response turns the channel's consent attribute false (when a
        tracked condition reads it: otherwise every send is skipped anyway); a response some
        tracked condition reads as an event (``email_opened``, ...) is an occurrence of it.
        Changes at the send instant apply at once (a cascade of the send, as after an Update
        contact step); later ones — and those of a message a rate-limit queue sends later,
        logged at its ``t`` — are state changes of their instant.
        """
        consent = self.plan.consent_attributes.get(channel)
        used = self.plan.used_events
        by_instant: dict[int, list[tuple]] = {}
        for row in rows:
            at, response = row[0], row[-1]
            changes = by_instant.setdefault(at, [])
            if response == "unsubscribed" and consent is not None:
                changes.append((False, consent, False))
            name = response_event(channel, response)
            if name in used:
                changes.append((EVENT_ROW, name, {}))
        now = int(self.env.now)  # a queued message is logged at ``t`` > now: not yet out
        for at, changes in by_instant.items():
            if not changes:
                continue
            if at == now:
                changed = self._respond(contact_id, changes, now)
                if changed:
                    self._react(contact_id, changed, now)
            else:
                self._bucket(at)["responses"].append((contact_id, changes))
                self._wake(at)

    def _respond(self, contact_id: Any, changes: list[tuple], t: int) -> list[tuple[int, bool]]:
        """Apply a contact's response changes at ``t``: it goes live (as after an Update
        contact step); returns the tracked conditions that turned."""
        contact = self.contacts[contact_id]
        if contact.deleted:
            return []
        state = self._go_live(contact_id, contact, t)
        state.apply(changes, t)
        self._schedule_boundaries(contact_id, state, t)
        return self._evaluate(contact_id, contact, t, "flow step")

    def _delete(self, contact_id: Any, contact: Contact, t: int) -> None:
        """Delete contact: every run ends, the contact leaves its segments, history stops."""
        self._go_live(contact_id, contact, t)
        for flow_name in list(self.plan.flow_order):
            run = contact.runs.get(flow_name)
            if run is not None:
                self._end_run(run, t, "contact_deleted")
        contact.deleted = True
        self.deleted_at[contact_id] = t
        assert contact.nth is not None
        changed = []
        n_user = self.plan.user_segments
        for i in range(contact.members.bit_length()):  # its conditions, in order
            if not contact.members >> i & 1:
                continue
            if i < n_user:
                self.logs.segment_events.append(
                    (t, contact_id, self.plan.segments[i].name, "exit", contact.nth[i], "flow step")
                )
            if i in self.reacting:
                changed.append((i, False))
        contact.members = 0
        self._react(contact_id, changed, t)  # on="exit" triggers: suppressed as deleted
