"""The "Projection" part of a report: a forecast's sections, kept apart from the replay's.

:func:`projection_parts` gives plain parts (``key, title, text, table, figure``);
:func:`segsim.report.projection_report` and ``build_report(result, forecast=fc)`` turn them
into report sections (the report layer sits above this one, docs/design.md §11).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["ASSUMPTIONS", "projection_parts"]

#: What each method takes for granted, as the report and the notebook state it.
ASSUMPTIONS: dict[str, list[str]] = {
    "bootstrap": [
        "future behaviour looks like one of the recent blocks of history, each future "
        "replaying a block moved back by a whole number of weeks, drawn at random (no "
        "trend, no seasonality longer than the blocks, no growth other than their arrivals);",
        "a contact's future is the recent past of an established contact who had been in "
        "the store about as long (drawn among the √n nearest in tenure, with replacement), "
        "on top of its own current state;",
        "each tile of the future brings exactly as many new contacts as arrived in the block "
        "it replays;",
        "contacts leave only as their donor's rows say.",
    ],
    "poisson": [
        "each contact does each event as a Poisson process at a rate of its own, constant "
        "over the horizon (no trend, no seasonality);",
        "the rates across contacts follow a gamma distribution fitted to the history "
        "(empirical Bayes): a contact with little history is pulled towards the average;",
        "attributes and lists stay as they are at the end of the history, and no new "
        "contact arrives;",
        "a projected occurrence copies the properties of one of the contact's own stored "
        "occurrences of the event (anyone's if it has none).",
    ],
}
_COMMON = [
    "the flows' own random choices (splits, holdouts, responses) are drawn per future, as "
    "replications of the scenario draw them;",
    "the interval reflects the randomness of behaviour and of the flows (and, for the "
    "bootstrap, of which recent block the future resembles), not the bias of these "
    "assumptions.",
]


def _weekly(fc: Any, level: float) -> pd.DataFrame:
    daily = fc.to_frame_daily()
    week = (daily["day"] - fc.start.floor("D")) // pd.Timedelta(days=7)
    per = daily.assign(w=week).groupby(["w", "replication"])[["messages", "cost"]].sum()
    from segsim.forecast._result import interval_summary

    table = interval_summary(per.reset_index(), ["messages", "cost"], by=["w"], level=level)
    table.insert(0, "week", fc.start.floor("D") + pd.to_timedelta(table["w"] * 7, unit="D"))
    return table.drop(columns="w")


def projection_parts(fc: Any, *, level: float = 0.95) -> list[dict[str, Any]]:
    """The sections of a forecast's report, as ``dict(key, title, text, table, figure)``:
    ``projection`` (totals per flow and channel and the fan chart), ``projection_weekly``,
    ``projection_backtest`` (with ``backtest=True``) and ``projection_assumptions``."""
    from matplotlib.figure import Figure

    from segsim.plots import plot_forecast

    percent = f"{level * 100:g}%"
    method = {
        "bootstrap": "block bootstrap of contact trajectories",
        "poisson": "gamma-Poisson event process per contact, fitted",
    }[fc.method]
    figure = Figure(figsize=(8.0, 3.6), layout="constrained")
    plot_forecast(fc.summary(level=level), level=level, ax=figure.add_subplot())
    totals = fc.totals(by=["flow", "channel"], level=level)
    if totals.empty:
        totals = fc.totals(level=level)
    window = f"{fc.start:%Y-%m-%d %H:%M} → {fc.end:%Y-%m-%d %H:%M} UTC"
    parts = [
        {
            "key": "projection",
            "title": "Projection (an estimate, not a replay)",
            "text": (
                f"Everything in this part is a forecast of the future, not a replay of the "
                f"history: the messages the flows would send in {window}, over "
                f"{fc.replications} simulated futures ({method}, seed {fc.seed}). Mean and "
                f"{percent} interval over futures, per flow and channel, and per day in the chart."
            ),
            "table": totals,
            "figure": figure,
        },
        {
            "key": "projection_weekly",
            "title": "Projection per week (estimate)",
            "text": (
                f"Projected messages and cost per 7-day period from {fc.start:%Y-%m-%d}: mean "
                f"and {percent} interval over futures (the last period may be shorter)."
            ),
            "table": _weekly(fc, level),
            "figure": None,
        },
    ]
    if fc.backtest is not None:
        bt = fc.backtest
        parts.append(
            {
                "key": "projection_backtest",
                "title": "Backtest of the projection",
                "text": (
                    f"The forecast of this window was made from the history before it and is "
                    f"compared with what the replay sends there: the "
                    f"{bt.level * 100:g}% intervals cover {bt.coverage:.0%} of the weeks; the "
                    f"mean absolute percentage error per week is {bt.mape:.1%}."
                ),
                "table": bt.weeks,
                "figure": None,
            }
        )
    parts.append(
        {
            "key": "projection_assumptions",
            "title": "Projection assumptions",
            "text": "The estimate takes for granted that "
            + " ".join(ASSUMPTIONS[fc.method] + _COMMON),
            "table": None,
            "figure": None,
        }
    )
    return parts
