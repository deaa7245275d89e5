"""Whether a message goes out: the one place that decides a send's ``status, reason, cost``.

A *message* (Email, SMS, WhatsApp) reaching its action step is decided here and nowhere
else; operations (webhooks, list and contact changes) always apply and are not decided here.

Today a message is ``sent`` when the contact has the channel's address attribute set and
its consent attribute ``true`` (:class:`~segsim.engine.plan.ChannelRule`, compiled from
``ss.Channels``);
otherwise it is ``skipped`` with ``no_email``/``no_phone`` (the address is checked first),
else ``unsubscribed``. A skipped message costs nothing.

The delivery policies extend :meth:`Delivery.decide`, in this order, each one only seeing
the sends the previous ones let through: the global holdout (``holdout``), quiet hours
(``quiet_hours``: skip, or defer), frequency caps (``frequency_cap``), rate limits (a queue),
then the responses to what was sent. A check that skips is a few lines in :meth:`decide`
(a new reason goes in :mod:`segsim._internal.vocab`), its state (e.g. sends per contact for
caps) lives on :class:`Delivery`; a deferral or a queue also needs the message's action
handler in :mod:`segsim.engine.core` to wait before it logs the send.
"""

from __future__ import annotations

from typing import Any

from segsim._internal.vocab import NO_ADDRESS_REASON
from segsim.engine.compiled import ActionStep, ChannelRule

__all__ = ["Delivery", "Verdict"]

#: ``(status, reason, cost)`` of one send, as the ``actions`` frame records it.
Verdict = tuple[str, str | None, float]


class Delivery:
    """Decides every message of one simulation (see the module docstring for the order)."""

    def __init__(self, rules: dict[str, ChannelRule]) -> None:
        self.rules = rules
        # the verdicts that do not depend on the contact, made once
        self._sent = {channel: ("sent", None, rule.cost) for channel, rule in rules.items()}
        self._no_address = {
            channel: ("skipped", NO_ADDRESS_REASON[channel], 0.0) for channel in rules
        }

    def decide(self, run: Any, step: ActionStep, members: int, t: int) -> Verdict:
        """The verdict on the message of ``step`` (a message action) to ``run``'s contact at ``t``.

        ``members`` has bit ``i`` set where tracked condition ``i`` is true for the contact at
        this instant;
        ``run`` gives the flow (``run.flow``) and the contact (``run.contact``) that the
        policies to come read.
        """
        channel = step.channel
        rule = self.rules[channel]
        if rule.address is None or not members >> rule.address & 1:
            return self._no_address[channel]
        if rule.consent is None or not members >> rule.consent & 1:
            return _UNSUBSCRIBED
        return self._sent[channel]


_UNSUBSCRIBED: Verdict = ("skipped", "unsubscribed", 0.0)
