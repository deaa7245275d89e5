"""The one definition of the outcome counts and rates of sent messages (docs/design.md §10.4),
shared by :func:`segsim.analysis.outcome_rates` and :meth:`segsim.result.SimulationResult.summary`.

Every rate is a ratio of rows of the result's frames, NaN where its denominator is 0:

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

from segsim._internal.vocab import MESSAGE_ACTIONS, OUTCOME_COLUMNS

__all__ = ["OUTCOME_RATES", "outcome_counts", "with_rates"]

#: The rates :func:`with_rates` adds after the counts, in order.
OUTCOME_RATES: tuple[str, ...] = (
    "delivery_rate",
    "open_rate",
    "click_rate",
    "unsubscribe_rate",
    "conversion_rate",
    "cost_per_conversion",
)
#: The channels whose messages can be opened (an SMS never is).
OPENABLE: tuple[str, ...] = ("email", "whatsapp")


def ratio(numerator: Any, denominator: Any) -> Any:
    """``numerator / denominator``, NaN where the denominator is 0 (scalars or Series)."""
    if isinstance(denominator, pd.Series):
        return numerator / denominator.astype("float64").replace(0.0, np.nan)
    return float(numerator) / float(denominator) if denominator else float("nan")


def outcome_counts(
    actions: pd.DataFrame,
    responses: pd.DataFrame,
    conversions: pd.DataFrame,
    flows: Sequence[Any],
) -> tuple[pd.DataFrame, pd.Series]:
    """Per flow (index ``flow``, in the order given; zeros for a flow without any): the
    messages sent, the outcome counts of ``OUTCOME_COLUMNS``, ``revenue`` and
    ``message_cost``; and the delivered emails and WhatsApp messages (``open_rate``'s
    denominator) per flow. One replication's frames."""
    messages = actions[actions["action"].isin(MESSAGE_ACTIONS)]
    sent = messages[messages["status"] == "sent"]
    index = pd.Index(list(flows), name="flow", dtype=object)

    def per_flow(series: pd.Series) -> pd.Series:
        return series.value_counts().reindex(index, fill_value=0).astype("int64")

    table = pd.DataFrame(index=index)
    table["messages_sent"] = per_flow(sent["flow"])
    for column, response in OUTCOME_COLUMNS.items():
        if response is not None:
            table[column] = per_flow(responses.loc[responses["response"] == response, "flow"])
    table["converted"] = per_flow(conversions["flow"])
    revenue = conversions.groupby("flow")["value"].sum()  # NaN values (unknown) count 0
    table["revenue"] = revenue.reindex(index).fillna(0.0).astype("float64")
    cost = messages.groupby("flow")["cost"].sum()
    table["message_cost"] = cost.reindex(index).fillna(0.0).astype("float64")
    delivered = responses[
        (responses["response"] == "delivered") & responses["channel"].isin(OPENABLE)
    ]
    return table, per_flow(delivered["flow"])


def with_rates(table: pd.DataFrame, openable: Any) -> pd.DataFrame:
    """``table`` (with the columns of :func:`outcome_counts`) with the rates of the module
    docs added in place, in the order of :data:`OUTCOME_RATES`; ``openable`` aligned with it."""
    table["delivery_rate"] = ratio(table["delivered"], table["messages_sent"])
    table["open_rate"] = ratio(table["opened"], openable)
    table["click_rate"] = ratio(table["clicked"], table["delivered"])
    table["unsubscribe_rate"] = ratio(table["unsubscribed"], table["delivered"])
    table["conversion_rate"] = ratio(table["converted"], table["messages_sent"])
    table["cost_per_conversion"] = ratio(table["message_cost"], table["converted"])
    return table
