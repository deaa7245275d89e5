"""Analysis of simulation results: pure functions from the result frames to tidy frames.

Every function here takes one or two result frames (``actions``, ``runs``, ``steps``,
``segment_events``, ``suppressed``; columns in docs/design.md §5) and returns a new
DataFrame; nothing is mutated, nothing is plotted (see :mod:`segsim.plots`). The
conventions, shared by all of them:

* **Messages and operations.** A *message* is an Email, SMS or WhatsApp send
  (:data:`MESSAGE_ACTIONS`, channels :data:`MESSAGE_CHANNELS`). Webhook calls, list changes
  and contact changes are *operations* (:data:`OPERATION_ACTIONS`): never messages. So
  every message figure leaves them out — :func:`sends_by_period`, :func:`sends_by_variant`,
  :func:`reach`, :func:`reach_total`, :func:`cost_by_channel`, :func:`messages_per_contact`,
  :func:`messages_per_contact_distribution`, :func:`time_to_first_message` and
  :func:`skip_reasons` count messages only, and no switch counts webhooks among them.
  Operations have their own functions, with their own column name ``operations``:
  :func:`operation_counts` (per kind, with the webhooks' cost) and
  :func:`operations_by_period`. A *send* in a function's name means a message.
* **Periods** (``freq``) are calendar periods in UTC: ``"h"`` (hour), ``"D"`` (day),
  ``"W"`` (week, Monday to Sunday), ``"M"`` (month), ``"Q"``, ``"Y"`` (or the words
  ``"day"``, ``"week"``, ...), **clipped to the simulated window**: the first period starts
  at the window's start and the last one ends at its end, flagged ``partial`` when cut short.
  Every period table starts with ``period`` (the period's start, tz-aware UTC),
  ``period_end`` (excluded) and ``partial``. The window comes from ``window=`` — a
  ``(start, end)`` pair, a scenario or a result — or else from the frame itself
  (``frame.attrs["window"]``, which a result's frames carry, also once filtered); without
  one, periods are whole calendar periods and never partial. ``attrs["freq"]`` and
  ``attrs["window"]`` of a period table tell the plots how to draw it. The convention is
  written down in ``docs/semantics.md`` (Periods).
* **Groups** (``by``) are column names of the input frame, a string or a sequence. Group
  columns keep their input dtype (``None`` stays ``None``, e.g. a send without template).
* **Order** is deterministic: by period, then by group in the documented order of the values
  where one exists (channels, actions, reasons, end reasons), otherwise sorted.
* **Counts** are ``int64``, costs and shares ``float64``, delays ``timedelta64[us]``.
* **Empty input** gives an empty frame with the same columns and dtypes.

Outcomes (docs/design.md §10.4–10.5): :func:`outcome_rates` and :func:`step_responses` read
the ``actions``, ``responses`` and ``conversions`` frames; :func:`outcome_numbers`,
:func:`has_outcomes`, :func:`uplift` and :func:`uplift_per_replication` take a whole result
(uplift needs its scenario: the holdout, the goals, the seed and the store's goal events).
"""

from __future__ import annotations

from segsim._internal.vocab import (
    CHANNELS,
    END_REASONS,
    MESSAGE_ACTIONS,
    MESSAGE_CHANNELS,
    OPERATION_ACTIONS,
    SKIP_REASONS,
    SUPPRESSION_REASONS,
)
from segsim.analysis._experiments import split_paths
from segsim.analysis._messages import (
    cost_by_channel,
    messages_per_contact,
    messages_per_contact_distribution,
    operation_counts,
    operations_by_period,
    reach,
    reach_total,
    sends_by_period,
    sends_by_variant,
    skip_reasons,
    suppression_reasons,
)
from segsim.analysis._outcomes import (
    OUTCOME_RATES,
    has_outcomes,
    outcome_numbers,
    outcome_rates,
    step_responses,
)
from segsim.analysis._policies import policy_effects, sends_by_local_hour
from segsim.analysis._runs import describe_time_to_first_message, funnel, time_to_first_message
from segsim.analysis._segments import entries_exits, segment_sizes_from_events
from segsim.analysis._uplift import UPLIFT_COLUMNS, uplift, uplift_per_replication

__all__ = [
    "CHANNELS",
    "END_REASONS",
    "MESSAGE_ACTIONS",
    "MESSAGE_CHANNELS",
    "OPERATION_ACTIONS",
    "OUTCOME_RATES",
    "SKIP_REASONS",
    "SUPPRESSION_REASONS",
    "UPLIFT_COLUMNS",
    "cost_by_channel",
    "describe_time_to_first_message",
    "entries_exits",
    "funnel",
    "has_outcomes",
    "messages_per_contact",
    "messages_per_contact_distribution",
    "operation_counts",
    "operations_by_period",
    "outcome_numbers",
    "outcome_rates",
    "policy_effects",
    "reach",
    "reach_total",
    "segment_sizes_from_events",
    "sends_by_local_hour",
    "sends_by_period",
    "sends_by_variant",
    "skip_reasons",
    "split_paths",
    "step_responses",
    "suppression_reasons",
    "time_to_first_message",
    "uplift",
    "uplift_per_replication",
]
