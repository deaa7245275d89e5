"""The outcome rows of a comparison (docs/design.md §10.4–10.5): responses, conversions,
revenue, rates, cost per conversion and uplift over the holdout per variant. Part of
:mod:`segsim.compare`.

The rows exist when some variant has outcomes (a response model or a flow goal); the uplift
rows, ``uplift[<flow>]`` (the goal-rate difference, treated − held out) and
``revenue_uplift[<flow>]`` (per contact), for each flow whose uplift every variant can
measure (a goal, covered by the holdout: :func:`segsim.analysis.uplift`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from segsim.analysis import (
    OUTCOME_RATES,
    has_outcomes,
    outcome_numbers,
    uplift,
    uplift_per_replication,
)
from segsim.analysis._uplift import uplift_flows
from segsim.report import Section

__all__ = [
    "OUTCOME_METRICS",
    "is_float_metric",
    "outcome_metrics",
    "outcome_sections",
    "outcome_values",
]

#: The outcome rows of :meth:`Comparison.summary <segsim.compare.Comparison.summary>`
#: (before the uplift rows), in order.
OUTCOME_METRICS: tuple[str, ...] = (
    "delivered",
    "opened",
    "clicked",
    "unsubscribed",
    "converted",
    "revenue",
    *OUTCOME_RATES,
)
_FLOATS = frozenset({"revenue", *OUTCOME_RATES})


def is_float_metric(metric: str) -> bool:
    """Whether an outcome metric is a float (revenue, a rate, an uplift), not a count."""
    return metric in _FLOATS or metric.startswith(("uplift[", "revenue_uplift["))


def _uplift_flows(results: Mapping[str, Any]) -> list[str]:
    shared = None
    for result in results.values():
        flows = uplift_flows(getattr(result, "scenario", None))
        shared = flows if shared is None else [f for f in shared if f in flows]
    return shared or []


def outcome_metrics(results: Mapping[str, Any]) -> list[str]:
    """The outcome rows of a comparison of ``results`` (none without outcomes)."""
    if not any(has_outcomes(result) for result in results.values()):
        return []
    rows = list(OUTCOME_METRICS)
    for flow in _uplift_flows(results):
        rows += [f"uplift[{flow}]", f"revenue_uplift[{flow}]"]
    return rows


def outcome_values(result: Any, metrics: list[str]) -> list[dict[str, Any]]:
    """Each replication's outcome metrics of one variant (one dict per replication)."""
    if not metrics:
        return [{} for _ in range(result.replication_count)]
    lifts = [m for m in metrics if m.startswith("uplift[")]
    per = uplift_per_replication(result) if lifts else None
    out = []
    for r in range(result.replication_count):
        numbers = outcome_numbers(result.replication(r))
        values = {m: numbers[m] for m in OUTCOME_METRICS}
        if per is not None:
            mine = per[per["replication"] == r].set_index("flow")
            for metric in lifts:
                flow = metric[len("uplift[") : -1]
                values[metric] = float(mine.loc[flow, "uplift"])
                values[f"revenue_uplift[{flow}]"] = float(mine.loc[flow, "revenue_uplift"])
        out.append(values)
    return out


def outcome_sections(cmp: Any) -> list[Section]:
    """The comparison report's ``outcomes`` (one replication) and ``uplift`` sections."""
    from segsim.analysis import outcome_rates

    if not any(has_outcomes(r) for r in cmp.results.values()):
        return []
    sections = []
    if cmp.replication_count == 1:
        parts = []
        for name, result in cmp.results.items():
            frames = (result.actions, result.responses, result.conversions)
            flows = [f.name for f in result.scenario.flows] if result.scenario else None
            parts.append(outcome_rates(*frames, flow=flows).assign(variant=name))
        table = pd.concat(parts, ignore_index=True)
        table.insert(0, "variant", table.pop("variant"))
        sections.append(
            Section(
                "outcomes",
                "Outcomes per flow and variant",
                "Each variant's responses, conversions, revenue, their rates and the cost per "
                f"conversion ({cmp.currency}) per flow (docs/design.md §10.4).",
                table=table,
            )
        )
    if _uplift_flows(cmp.results):
        tables = [uplift(r).assign(variant=name) for name, r in cmp.results.items()]
        table = pd.concat(tables, ignore_index=True)
        table.insert(0, "variant", table.pop("variant"))
        how = (
            f"mean and 95% interval over {cmp.replication_count} replications"
            if cmp.replication_count > 1
            else "95% normal-approximation interval of one replication"
        )
        sections.append(
            Section(
                "uplift",
                "Uplift over the holdout per variant",
                "Per variant and flow with a goal: the goal rate of the contacts not held out "
                f"minus that of the held-out ones, and revenue per contact likewise ({how}).",
                table=table,
            )
        )
    return sections
