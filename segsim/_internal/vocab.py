"""Every closed vocabulary of segsim, written once.

Action kinds, channels, statuses, skip / suppression / end reasons, entry kinds, step
outcomes and attribute types are listed here, in their documented order (the order tables
and charts show them in), as ``Literal`` types for the models and tuples for the code.
Adding a reason or a kind is an edit here; everything else reads these names.

**Messages and operations.** A *message* is an Email, SMS or WhatsApp send
(:data:`MESSAGE_ACTIONS`, channels :data:`MESSAGE_CHANNELS`). A webhook call, a list change
or a contact change is an *operation* (:data:`OPERATION_ACTIONS`), never counted as a
message — in any count, reach figure, chart or report.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "ACTION_CHANNEL",
    "ACTION_KINDS",
    "ACTION_STATUSES",
    "ATTRIBUTE_TYPES",
    "CAUSES",
    "CHANNELS",
    "CHANNEL_LABELS",
    "CONVERSION_SOURCES",
    "END_REASONS",
    "ENTRY_KINDS",
    "FUNNEL_FIELDS",
    "MESSAGE_ACTIONS",
    "MESSAGE_CHANNELS",
    "NO_ADDRESS_REASON",
    "OPERATION_ACTIONS",
    "OPERATION_COLUMNS",
    "OPERATION_LABELS",
    "OUTCOME_COLUMNS",
    "POLICY_COLUMNS",
    "POLICY_SKIP_REASONS",
    "RECHECK_AFTER",
    "RESPONSE_KINDS",
    "SEGMENT_EVENTS",
    "SENT_COLUMNS",
    "SKIP_REASONS",
    "STEP_KINDS",
    "SUPPRESSION_REASONS",
    "WAIT_FOR_OUTCOMES",
    "ActionKind",
    "ActionStatus",
    "AttributeType",
    "Cause",
    "Channel",
    "EndReason",
    "EntryKind",
    "MessageChannel",
    "SkipReason",
    "SuppressionReason",
]

# -- actions and channels --------------------------------------------------------------------

MessageAction = Literal["send_email", "send_sms", "send_whatsapp"]
OperationAction = Literal[
    "add_to_list", "remove_from_list", "update_contact", "delete_contact", "webhook"
]
ActionKind = Literal[MessageAction, OperationAction]

#: Action kinds that send a message to the contact.
MESSAGE_ACTIONS: tuple[str, ...] = get_args(MessageAction)
#: Action kinds that are operations: never messages.
OPERATION_ACTIONS: tuple[str, ...] = get_args(OperationAction)
#: Every action kind, in the documented order (messages first).
ACTION_KINDS: tuple[str, ...] = MESSAGE_ACTIONS + OPERATION_ACTIONS

#: Rule step kinds (control, not actions).
RULE_KINDS: tuple[str, ...] = ("wait", "branch", "wait_for", "split", "audience_split")
#: Every step kind.
STEP_KINDS: tuple[str, ...] = ACTION_KINDS + RULE_KINDS

MessageChannel = Literal["email", "sms", "whatsapp"]
Channel = Literal[MessageChannel, "webhook"]
#: The channels of messages, in the documented order.
MESSAGE_CHANNELS: tuple[str, ...] = get_args(MessageChannel)
#: Every value of ``actions.channel`` besides empty (``None``), in the documented order.
CHANNELS: tuple[str, ...] = (*MESSAGE_CHANNELS, "webhook")
#: The channel of an action kind (list and contact changes have none).
ACTION_CHANNEL: dict[str, str | None] = {
    "send_email": "email",
    "send_sms": "sms",
    "send_whatsapp": "whatsapp",
    "add_to_list": None,
    "remove_from_list": None,
    "update_contact": None,
    "delete_contact": None,
    "webhook": "webhook",
}
#: How a channel is written in prose (tables, headlines, controls).
CHANNEL_LABELS: dict[str, str] = {
    "email": "Email",
    "sms": "SMS",
    "whatsapp": "WhatsApp",
    "webhook": "Webhook",
}

#: The column of a count of sent messages per channel (summaries, headline numbers).
SENT_COLUMNS: dict[str, str] = {channel: f"{channel}_sent" for channel in MESSAGE_CHANNELS}
#: The column of a count of operations per action kind, in display order (webhooks first).
OPERATION_COLUMNS: dict[str, str] = {
    "webhook": "webhooks_called",
    "add_to_list": "list_adds",
    "remove_from_list": "list_removes",
    "update_contact": "contact_updates",
    "delete_contact": "contact_deletes",
}
#: How an operation is written in prose (tables, headlines).
OPERATION_LABELS: dict[str, str] = {
    "webhook": "webhooks called",
    "add_to_list": "list adds",
    "remove_from_list": "list removes",
    "update_contact": "contact updates",
    "delete_contact": "contact deletes",
}

# -- statuses and reasons --------------------------------------------------------------------

ActionStatus = Literal["sent", "applied", "skipped"]
ACTION_STATUSES: tuple[str, ...] = get_args(ActionStatus)

SkipReason = Literal[
    "no_email", "no_phone", "unsubscribed", "quiet_hours", "frequency_cap", "holdout"
]
#: Why a message was skipped, in the documented order.
SKIP_REASONS: tuple[str, ...] = get_args(SkipReason)
#: The skip reasons a delivery policy gives (:mod:`segsim.policies`).
POLICY_SKIP_REASONS: tuple[str, ...] = ("quiet_hours", "frequency_cap")
#: What a delivery policy did, as counts per flow (summaries, comparisons): quiet-hours
#: deferrals, skips by quiet hours and by frequency caps, sends that waited in a queue.
POLICY_COLUMNS: tuple[str, ...] = ("deferred", "quiet_hours_skipped", "frequency_capped", "queued")
#: The skip reason of a message channel whose address attribute is unset.
NO_ADDRESS_REASON: dict[str, str] = {"email": "no_email", "sms": "no_phone", "whatsapp": "no_phone"}

SuppressionReason = Literal[
    "flow_inactive",
    "flow_paused",
    "deleted",
    "already_in_flow",
    "no_reentry",
    "reentry_wait",
    "filters",
]
#: Why a trigger event did not enter, in the order they are checked (the first applies).
SUPPRESSION_REASONS: tuple[str, ...] = get_args(SuppressionReason)

EndReason = Literal[
    "completed",
    "exit_condition",
    "goal",
    "restarted",
    "contact_deleted",
    "step_removed",
    "paused_exit",
    "horizon",
]
#: How a run ends, in the documented order.
END_REASONS: tuple[str, ...] = get_args(EndReason)
#: End reasons after which a ``reentry_mode="recheck"`` re-entry is scheduled.
RECHECK_AFTER: frozenset[str] = frozenset(
    {"completed", "exit_condition", "goal", "step_removed", "paused_exit"}
)

#: The outcomes of a WaitFor step: the condition held (``then``) or the timeout came first.
WAIT_FOR_OUTCOMES: tuple[str, ...] = ("then", "timed_out")

EntryKind = Literal["first", "reentry", "restart", "recheck"]
#: How a run was entered.
ENTRY_KINDS: tuple[str, ...] = get_args(EntryKind)

# -- segments and attributes -----------------------------------------------------------------

SegmentEvent = Literal["enter", "exit"]
SEGMENT_EVENTS: tuple[str, ...] = get_args(SegmentEvent)

Cause = Literal["history", "time", "flow step"]
#: What made a segment transition happen.
CAUSES: tuple[str, ...] = get_args(Cause)

AttributeType = Literal["string", "number", "boolean", "timestamp"]
#: The types an attribute can have.
ATTRIBUTE_TYPES: tuple[str, ...] = get_args(AttributeType)

# -- responses and goals (docs/design.md §10) ------------------------------------------------

#: The probabilities of a response funnel (:class:`segsim.responses.Funnel`), in draw order.
FUNNEL_FIELDS: tuple[str, ...] = ("delivered", "opened", "machine_open", "clicked", "unsubscribed")

ResponseKind = Literal[
    "delivered", "bounced", "opened", "machine_opened", "clicked", "unsubscribed"
]
#: The values of ``responses.response``, in the documented order. ``machine_opened`` is a
#: mail client's automatic fetch: never a human open.
RESPONSE_KINDS: tuple[str, ...] = get_args(ResponseKind)

ConversionSource = Literal["observed", "simulated"]
#: Where a conversion comes from: a goal event in the data, credited to a message
#: (``observed``: credited, not caused), or a click converting (``simulated``).
CONVERSION_SOURCES: tuple[str, ...] = get_args(ConversionSource)

#: The outcome columns of a summary (per flow), with the response they count (``None``:
#: conversions and revenue, counted from the ``conversions`` frame).
OUTCOME_COLUMNS: dict[str, str | None] = {
    "delivered": "delivered",
    "bounced": "bounced",
    "opened": "opened",
    "machine_opened": "machine_opened",
    "clicked": "clicked",
    "unsubscribed": "unsubscribed",
    "converted": None,
    "revenue": None,
}
