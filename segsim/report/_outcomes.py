"""The outcomes of a report (docs/design.md §10.4–10.5): responses, conversions, revenue, cost
per conversion and uplift over the holdout. Part of :mod:`segsim.report`.

The sections exist when the scenario has a response model or a flow with a goal (or, for a
result read without its scenario, when its frames hold responses or conversions); a report
of a scenario with neither has none of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from segsim._internal.formatting import format_cost
from segsim.analysis import has_outcomes, outcome_numbers, outcome_rates, step_responses, uplift
from segsim.analysis._uplift import uplift_flows
from segsim.report._document import Section

__all__ = ["has_outcomes", "outcome_sections", "uplift_section"]


def _rates_text(numbers: dict[str, Any], currency: str) -> str:
    def pct(key: str) -> str:
        value = numbers[key]
        return "n/a" if value != value else f"{value:.1%}"

    per = numbers["cost_per_conversion"]
    cost = "n/a (no conversion)" if per != per else format_cost(per, currency)
    return (
        f"{numbers['delivered']:,} messages delivered ({pct('delivery_rate')} of those sent), "
        f"{numbers['opened']:,} opened by a person ({pct('open_rate')} of delivered emails and "
        f"WhatsApp messages; {numbers['machine_opened']:,} machine opens apart), "
        f"{numbers['clicked']:,} clicked ({pct('click_rate')}), {numbers['unsubscribed']:,} "
        f"unsubscribed ({pct('unsubscribe_rate')}); {numbers['converted']:,} conversions "
        f"({pct('conversion_rate')} of messages sent) bringing "
        f"{numbers['revenue']:,.2f} {currency} of known revenue; cost per conversion {cost}."
    )


def _rates_table(result: Any, flows: Sequence[str]) -> pd.DataFrame:
    frames = (result.actions, result.responses, result.conversions)
    return outcome_rates(*frames, flow=list(flows), total=True)


def uplift_section(result: Any) -> Section | None:
    """Uplift over the holdout per flow with a goal the holdout covers (else None)."""
    if not uplift_flows(getattr(result, "scenario", None)):
        return None
    table = uplift(result)
    many = result.replication_count > 1
    interval = (
        f"the mean and the 95% interval over {result.replication_count} replications"
        if many
        else "a 95% normal-approximation interval (one replication: simulate with "
        "replications=R for intervals over replications)"
    )
    lines = []
    for row in table.itertuples():
        lines.append(
            f"{row.flow}: {row.treated_rate:.1%} of {row.treated_contacts:,.0f} treated contacts "
            f"converted vs {row.holdout_rate:.1%} of {row.holdout_contacts:,.0f} held out, "
            f"uplift {100 * row.uplift:+.1f} points [{100 * row.uplift_low:+.1f}, "
            f"{100 * row.uplift_high:+.1f}]."
        )
    return Section(
        "uplift",
        "Uplift over the holdout",
        "Among the contacts that entered each flow, the share with a goal event after their "
        "first entry (events in the data and simulated conversions), not held out vs held "
        f"out; uplift is the difference, with {interval}. " + " ".join(lines),
        table=table,
    )


def outcome_sections(result: Any, flows: Sequence[str]) -> list[Section]:
    """The ``outcomes``, ``outcomes_per_step`` and (with a holdout) ``uplift`` sections of one
    replication's report; none without outcomes."""
    if not has_outcomes(result):
        return []
    numbers = outcome_numbers(result)
    sections = [
        Section(
            "outcomes",
            "Outcomes",
            _rates_text(numbers, result.currency)
            + " Per flow, with the total (rates: docs/design.md §10.4; conversions are "
            "credited to the flow's messages — for events in the data, credited, not caused).",
            table=_rates_table(result, flows),
        ),
        Section(
            "outcomes_per_step",
            "Responses per step",
            "Per message step: messages sent, their responses (a machine open is never a "
            "human open) and the conversions credited to the step.",
            table=step_responses(result.actions, result.responses, result.conversions),
        ),
    ]
    section = uplift_section(result)
    if section is not None:
        sections.append(section)
    return sections
