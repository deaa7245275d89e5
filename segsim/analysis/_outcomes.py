"""Outcomes of sent messages: response and conversion rates, revenue, cost per conversion,
and responses per step (docs/design.md §10.4; uplift over the holdout is in ``_uplift``).

The counts and rates are defined once, in :mod:`segsim._internal.outcomes` (the summary of a
result uses the same definition). Every rate is a ratio of rows of the result's frames, NaN
where its denominator is 0:

* ``delivery_rate`` = ``delivered`` / ``messages_sent``;
* ``open_rate`` = ``opened`` (human opens) / the delivered emails and WhatsApp messages (an
  SMS is never opened); machine opens are counted apart (``machine_opened``), never as opens;
* ``click_rate``, ``unsubscribe_rate`` = ``clicked``, ``unsubscribed`` / ``delivered``;
* ``conversion_rate`` = ``converted`` (rows of ``conversions``) / ``messages_sent``;
* ``cost_per_conversion`` = ``message_cost`` / ``converted``; ``revenue`` sums the known
  conversion values (an unknown value, NaN, counts 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from segsim._internal.outcomes import OUTCOME_RATES, outcome_counts, with_rates
from segsim._internal.vocab import MESSAGE_ACTIONS, OUTCOME_COLUMNS, RESPONSE_KINDS
from segsim.analysis._tables import _require

__all__ = ["OUTCOME_RATES", "has_outcomes", "outcome_numbers", "outcome_rates", "step_responses"]

_COUNTS = ("messages_sent", *OUTCOME_COLUMNS)


def outcome_rates(
    actions: pd.DataFrame,
    responses: pd.DataFrame,
    conversions: pd.DataFrame,
    *,
    flow: str | Sequence[str] | None = None,
    total: bool = False,
) -> pd.DataFrame:
    """Per flow: messages sent, their responses and conversions, and the outcome rates.

    Parameters
    ----------
    actions, responses, conversions : DataFrame
        The frames of one result (one replication).
    flow : str or sequence of str, optional
        Flows to include, in that order (default: every flow that sent a message or has a
        response or a conversion, sorted). A named flow without any gets zeros.
    total : bool, default False
        Add a last row, flow ``"total"``: the counts summed and the rates of the sums.

    Returns
    -------
    DataFrame
        ``flow``, ``messages_sent``, ``delivered``, ``bounced``, ``opened`` (human),
        ``machine_opened``, ``clicked``, ``unsubscribed``, ``converted`` (int64),
        ``revenue``, ``message_cost`` (float64, in the result's currency), then the rates of
        the module docs (float64, NaN where the denominator is 0): ``delivery_rate``,
        ``open_rate``, ``click_rate``, ``unsubscribe_rate``, ``conversion_rate``,
        ``cost_per_conversion``.
    """
    _require(actions, ["flow", "action", "status", "cost"], "actions")
    _require(responses, ["flow", "channel", "response"], "responses")
    _require(conversions, ["flow", "value"], "conversions")
    if flow is None:
        sent = actions[actions["action"].isin(MESSAGE_ACTIONS) & (actions["status"] == "sent")]
        found = set(sent["flow"]) | set(responses["flow"]) | set(conversions["flow"])
        flows = sorted(found, key=str)
    else:
        flows = [flow] if isinstance(flow, str) else list(flow)
    table, openable = outcome_counts(actions, responses, conversions, flows)
    if total:
        table.loc["total"] = table.sum()
        openable.loc["total"] = openable.sum()
        table = table.astype({c: "int64" for c in _COUNTS})
    table = with_rates(table, openable)
    return table.reset_index()


def has_outcomes(result: Any) -> bool:
    """Whether a result has outcomes to show: its scenario has a response model or a flow
    with a goal, or (a result read without its scenario) its frames hold responses or
    conversions."""
    scenario = getattr(result, "scenario", None)
    modelled = scenario is not None and (
        getattr(scenario, "responses", None) is not None
        or any(getattr(f, "goal", None) is not None for f in scenario.flows)
    )
    return modelled or bool(len(result.responses)) or bool(len(result.conversions))


def outcome_numbers(result: Any) -> dict[str, Any]:
    """The outcomes of one replication in all (every flow): the counts, ``revenue`` and
    rates of :func:`outcome_rates` as plain Python numbers (ints for counts, else floats)."""
    table = outcome_rates(result.actions, result.responses, result.conversions, total=True)
    row = table.iloc[-1]
    out: dict[str, Any] = {}
    for column in (*OUTCOME_COLUMNS, *OUTCOME_RATES):
        value = row[column]
        out[column] = float(value) if column == "revenue" or column in OUTCOME_RATES else int(value)
    return out


#: The response columns :func:`step_responses` and the diagram's step counts show.
STEP_RESPONSES: tuple[str, ...] = RESPONSE_KINDS


def step_responses(
    actions: pd.DataFrame, responses: pd.DataFrame, conversions: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per message step: messages sent, then its responses by kind and its conversions.

    Returns ``flow``, ``step_id``, ``channel``, ``sent``, one int64 column per response kind
    (``delivered``, ``bounced``, ``opened``, ``machine_opened``, ``clicked``,
    ``unsubscribed``), ``converted`` (conversions credited to the step; 0 without
    ``conversions``) and ``revenue``; rows by flow, then the step's first send.
    """
    _require(actions, ["time", "flow", "step_id", "action", "status", "channel"], "actions")
    _require(responses, ["flow", "step_id", "response"], "responses")
    sent = actions[actions["action"].isin(MESSAGE_ACTIONS) & (actions["status"] == "sent")]
    sent = sent.sort_values("time", kind="stable")
    keys = sent[["flow", "step_id", "channel"]].drop_duplicates(["flow", "step_id"])
    keys = keys.sort_values("flow", kind="stable", key=lambda c: c.astype(str))
    table = keys.reset_index(drop=True).astype(object)
    index = pd.MultiIndex.from_frame(table[["flow", "step_id"]])

    def count(frame: pd.DataFrame) -> np.ndarray:
        counts = frame.groupby(["flow", "step_id"]).size()
        return counts.reindex(index, fill_value=0).astype("int64").to_numpy()

    table["sent"] = count(sent)
    for kind in STEP_RESPONSES:
        table[kind] = count(responses[responses["response"] == kind])
    if conversions is None:
        table["converted"] = np.zeros(len(table), dtype="int64")
        table["revenue"] = np.zeros(len(table), dtype="float64")
    else:
        table["converted"] = count(conversions)
        revenue = conversions.groupby(["flow", "step_id"])["value"].sum()
        table["revenue"] = revenue.reindex(index).fillna(0.0).astype("float64").to_numpy()
    return table
