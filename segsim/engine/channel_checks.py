"""The channel checks of a scenario: the address and consent attributes of the channels its
flows send on (docs/design.md §4.7) that the data lacks, each with a suggestion of the data's
attribute it probably means. :func:`segsim.engine.plan.build_plan` and
:func:`~segsim.engine.plan.check_scenario` call them.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from segsim._internal.naming import did_you_mean
from segsim._internal.vocab import ACTION_CHANNEL, MESSAGE_ACTIONS, NO_ADDRESS_REASON
from segsim.flows import Flow, UpdateContact, iter_steps


def channel_attribute_checks(
    scenario: Any, flows: Sequence[Flow], store_types: dict[str, str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """Channel attributes that are absent from the data, for the channels flows send on.

    Such an attribute makes every message of its channel ``skipped`` (``no_email``/
    ``no_phone`` or ``unsubscribed``), which is almost always a misnamed attribute. It is
    a problem (``(path, message)``), or only a warning when an Update contact step of some
    flow sets the attribute (the data may legitimately lack it until then).
    """
    channels = scenario.channels
    senders: dict[str, tuple[str, str]] = {}  # channel -> (flow, step) of its first message
    setters: dict[str, tuple[str, str]] = {}  # attribute -> (flow, step) of an Update contact
    for flow in flows:
        for _, step in iter_steps(flow):
            if step.kind in MESSAGE_ACTIONS:
                senders.setdefault(str(ACTION_CHANNEL[step.kind]), (flow.name, step.id))
            elif isinstance(step, UpdateContact):
                for name in step.set:
                    setters.setdefault(name, (flow.name, step.id))
    problems: list[tuple[str, str]] = []
    warnings: list[str] = []
    for kind in MESSAGE_ACTIONS:
        channel = str(ACTION_CHANNEL[kind])
        if channel not in senders:
            continue
        sender_flow, sender_step = senders[channel]
        address, consent, _ = channels.rule(kind)
        for role, name, reason in (
            ("address", address, NO_ADDRESS_REASON[channel]),
            ("consent", consent, "unsubscribed"),
        ):
            if name is None or name in store_types:
                continue
            option = f"{channel}_{role}"
            what = f"channel {channel}: the {role} attribute {name!r} is not in the data"
            if name in setters:
                setter_flow, setter_step = setters[name]
                warnings.append(
                    f"{what}; until an Update contact step sets it (flow {setter_flow!r} step "
                    f"{setter_step!r}), every {channel} message is skipped ({reason})"
                )
                continue
            problems.append(
                (
                    f"channels.{option}",
                    f"{what}, so every {channel} message (e.g. flow {sender_flow!r} step "
                    f"{sender_step!r}) would be skipped ({reason})"
                    f"{_channel_suggestion(name, role, channel, store_types)}; name the data's "
                    f"attribute with ss.Channels({option}=...)",
                )
            )
    return problems, warnings


#: words that name a channel in attribute names (``email_opt_in``, ``mobile``, ``wa_consent``)
_CHANNEL_WORDS = {
    "email": ("mail",),
    "sms": ("sms", "phone", "mobile", "tel"),
    "whatsapp": ("whatsapp", "wa_", "phone", "mobile"),
}


def _channel_suggestion(name: str, role: str, channel: str, store_types: dict[str, str]) -> str:
    """ "did you mean": a close name, else an attribute of the right type naming the channel.

    A consent attribute is boolean and an address a string; ``email_opt_in`` is not close
    to ``email_subscribed`` as text, but it is the email consent the data has.
    """
    kind = "boolean" if role == "consent" else "string"
    fitting = sorted(a for a, t in store_types.items() if t == kind)
    close = difflib.get_close_matches(name, fitting, n=1)
    if not close:
        words = _CHANNEL_WORDS[channel]
        close = [a for a in fitting if any(word in a.lower() for word in words)]
    if len(close) == 1:
        return f"; did you mean {close[0]!r}?"
    if close:
        return f"; did you mean one of {', '.join(map(repr, close))}?"
    return did_you_mean(name, store_types)
