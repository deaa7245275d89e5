"""Projected-sends reports: a simulation result as titled tables, charts and short prose.

:func:`build_report` turns a :class:`~segsim.result.SimulationResult` into a :class:`Report`:
what was simulated (window, data size, flows and their settings, seed), then what would
have been sent (per channel per period, cost, reach), per flow, per step, why sends were
skipped and trigger events suppressed, the funnel of each flow, and charts. A report shows
itself in Jupyter (``_repr_html_``), and exports to one self-contained HTML file
(:meth:`Report.to_html`: inline CSS, charts as embedded PNG, no external links or scripts)
or to Markdown (:meth:`Report.to_markdown`).

Every figure comes from :mod:`segsim.analysis` (tables) and :mod:`segsim.plots` (charts)
over the result's frames, so the numbers reconcile with the frames by construction;
:meth:`Report.numbers` gives the headline figures as a plain dict.

Charts are drawn on ``matplotlib.figure.Figure`` objects that are never registered with
pyplot: building or exporting a report leaves no figure open.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from segsim._internal.formatting import format_cost, format_value
from segsim._internal.periods import freq_label, period_freq, period_grid
from segsim._internal.vocab import (
    CHANNEL_LABELS,
    END_REASONS,
    MESSAGE_CHANNELS,
    OPERATION_COLUMNS,
    OPERATION_LABELS,
    SENT_COLUMNS,
)
from segsim.analysis import (
    cost_by_channel,
    funnel,
    messages_per_contact_distribution,
    operation_counts,
    outcome_numbers,
    policy_effects,
    reach,
    reach_total,
    sends_by_period,
    skip_reasons,
    suppression_reasons,
)
from segsim.diagram import STEP_COUNT_COLUMNS, flow_svg, step_counts, versions_in_force
from segsim.plots import plot_funnel, plot_messages_per_contact, plot_sends
from segsim.report._document import Report, Section, html_table, markdown_table
from segsim.report._outcomes import has_outcomes, outcome_sections

__all__ = ["Report", "Section", "build_report", "format_value", "html_table", "markdown_table"]

_NOT_RECORDED = "Scenario not recorded: this result carries only its frames."


# -- headline numbers -------------------------------------------------------------------------------


def headline_numbers(result: Any) -> dict[str, Any]:
    """The headline figures of a result, as plain Python numbers (see :meth:`Report.numbers`).

    Messages are email, SMS and WhatsApp only; webhooks, list and contact changes are
    operations, counted apart.
    """
    actions = result.actions
    costs = cost_by_channel(actions, by="channel")
    sent = dict(zip(costs["channel"], costs["messages"], strict=True))
    operations = operation_counts(actions)
    done = dict(zip(operations["action"], operations["operations"], strict=True))
    numbers: dict[str, Any] = {
        "runs": len(result.runs),
        "contacts_entered": int(result.runs["contact_id"].nunique()),
        "contacts_reached": reach_total(actions),
    }
    for channel in MESSAGE_CHANNELS:
        numbers[SENT_COLUMNS[channel]] = int(sent.get(channel, 0))
    numbers["messages_sent"] = int(costs["messages"].sum())
    numbers["skipped"] = int(skip_reasons(actions)["count"].sum())
    numbers["suppressed"] = len(result.suppressed)
    for action, column in OPERATION_COLUMNS.items():
        numbers[column] = int(done.get(action, 0))
    numbers["operations"] = int(operations["operations"].sum())
    numbers["message_cost"] = float(costs["cost"].sum())
    numbers["operation_cost"] = float(operations["cost"].sum())
    numbers["cost"] = numbers["message_cost"] + numbers["operation_cost"]
    return numbers


def policy_numbers(result: Any) -> dict[str, int]:
    """What the delivery policy did, in all: :data:`POLICY_COLUMNS` as plain ints."""
    effects = policy_effects(result.actions, result.steps)
    return {
        "deferred": int(effects["deferred"].sum()),
        "quiet_hours_skipped": int(effects["quiet_hours_skipped"].sum()),
        "frequency_capped": int(effects["frequency_capped"].sum()),
        "queued": int(effects["queued"].sum()),
    }


def has_policy(result: Any) -> bool:
    """Whether the result's scenario applied a delivery policy."""
    policy = getattr(getattr(result, "scenario", None), "policy", None)
    return policy is not None and not policy.is_empty


def headline_text(numbers: dict[str, Any], currency: str) -> str:
    """The headline figures in two sentences: messages, then operations."""
    by_channel = ", ".join(
        f"{CHANNEL_LABELS[c]} {numbers[SENT_COLUMNS[c]]:,}" for c in MESSAGE_CHANNELS
    )
    operations = ", ".join(
        f"{numbers[column]:,} {OPERATION_LABELS[action]}"
        for action, column in OPERATION_COLUMNS.items()
    )
    return (
        f"{numbers['runs']:,} runs of {numbers['contacts_entered']:,} contacts; "
        f"{numbers['messages_sent']:,} messages ({by_channel}) to "
        f"{numbers['contacts_reached']:,} distinct contacts, costing "
        f"{format_cost(numbers['message_cost'], currency)}. Operations, not messages: "
        f"{operations}, costing {format_cost(numbers['operation_cost'], currency)}."
    )


# -- what was simulated ------------------------------------------------------------------------------


def _flow_names(result: Any) -> list[str]:
    names = list(result.meta.get("flows", []))
    scenario = result.scenario
    if not names and scenario is not None:
        names = [flow.name for flow in scenario.flows]
    for frame in (result.runs, result.suppressed):
        names += sorted((f for f in frame["flow"].dropna().unique() if f not in names), key=str)
    return names


def _seed(result: Any) -> Any:
    if "seed" in result.meta:
        return result.meta["seed"]
    return getattr(result.scenario, "seed", None)


def flows_table(scenario: Any) -> pd.DataFrame:
    rows = []
    for flow in scenario.flows:
        settings = flow.settings
        schedule = [
            e
            for e in scenario.schedule
            if getattr(e, "flow", None) == flow.name or getattr(e, "flow_name", None) == flow.name
        ]
        versions = [str(flow.version)] + [
            f"{e.flow.version} (edit {format_value(pd.Timestamp(e.at))})"
            for e in schedule
            if e.kind == "edit"
        ]
        lifecycle = [
            f"{e.kind} {format_value(pd.Timestamp(e.at))}" for e in schedule if e.kind != "edit"
        ]
        trigger_text = "none (draft)" if flow.trigger is None else flow.trigger.describe()
        rows.append(
            {
                "flow": flow.name,
                "versions": ", ".join(versions),
                "trigger": trigger_text,
                "steps": len(flow.step_ids),
                "allow_reentry": settings.allow_reentry,
                "reentry_wait": settings.reentry_wait,
                "reentry_mode": settings.reentry_mode,
                "on_pause": settings.on_pause,
                "exit_conditions": "; ".join(e.describe() for e in settings.exit_conditions)
                or "none",
                "restart_conditions": "; ".join(e.describe() for e in settings.restart_conditions)
                or "none",
                "schedule": ", ".join(lifecycle) or "none",
            }
        )
    return pd.DataFrame(rows)


def scenario_sections(result: Any) -> list[Section]:
    scenario = result.scenario
    seed = _seed(result)
    if scenario is None:
        facts = pd.DataFrame(
            {"setting": ["flows", "seed"], "value": [", ".join(_flow_names(result)), str(seed)]},
        )
        return [Section("scenario", "Scenario", _NOT_RECORDED, table=facts)]
    store = scenario.store
    contacts = len(store.contacts)
    changes = int(store.attributes["rows"].sum())
    start, end = pd.Timestamp(scenario.start), pd.Timestamp(scenario.end)
    facts = pd.DataFrame(
        {
            "setting": [
                "window start",
                "window end",
                "contacts",
                "attribute changes",
                "seed",
                "currency",
            ],
            "value": [
                format_value(start),
                format_value(end),
                f"{contacts:,}",
                f"{changes:,}",
                str(seed),
                result.currency,
            ],
        }
    )
    text = (
        f"Simulated from {format_value(start)} to {format_value(end)} (end excluded) over "
        f"{contacts:,} contacts and {changes:,} attribute changes, seed {seed}. Nothing was "
        "sent: every figure below is a projection."
    )
    flows = Section(
        "flows",
        "Flows and settings",
        "Each flow's versions (an edit brings in a new one), trigger, and activation settings.",
        table=flows_table(scenario),
    )
    return [Section("scenario", "Scenario", text, table=facts), flows]


def _headline_section(result: Any, numbers: dict[str, Any]) -> Section:
    table = pd.DataFrame({"metric": list(numbers), "value": list(numbers.values())})
    table["value"] = table["value"].astype(object)
    return Section(
        "headline", "Headline figures", headline_text(numbers, result.currency), table=table
    )


# -- messages over time ---------------------------------------------------------------------------


def _new_figure(width: float = 8.0, height: float = 3.6) -> Figure:
    # Not pyplot: such a figure is never registered, so nothing is left open.
    return Figure(figsize=(width, height), layout="constrained")


def period_table(long: pd.DataFrame, by: str, order: Sequence[Any], freq: str) -> pd.DataFrame:
    """``period``, ``period_end``, ``partial``, one count column per group, ``total``."""
    window = long.attrs.get("window")
    if window is not None:
        periods = period_grid(freq, window)
    elif len(long):
        periods = period_grid(freq, first=long["period"].min(), last=long["period"].max())
    else:
        periods = period_grid(freq)
    wide = long.pivot_table(
        index="period", columns=by, values="messages", aggfunc="sum", fill_value=0
    ).reindex(columns=list(order), fill_value=0)
    wide.columns = [str(c) for c in wide.columns]
    table = periods.merge(wide, left_on="period", right_index=True, how="left")
    counts = [str(c) for c in order]
    table[counts] = table[counts].fillna(0).astype("int64")
    table["total"] = table[counts].sum(axis=1).astype("int64")
    return table.reset_index(drop=True)


def _partial_text(table: pd.DataFrame) -> str:
    partial = table[table["partial"]]
    if partial.empty:
        return ""
    spans = " and ".join(
        f"{format_value(r.period)} → {format_value(r.period_end)}"
        for r in partial.itertuples(index=False)
    )
    return f" Partial periods (cut by the window): {spans}."


def _sends_section(result: Any, freq: str) -> Section:
    long = sends_by_period(result.actions, freq=freq, by="channel")
    present = set(long["channel"])
    channels = [c for c in MESSAGE_CHANNELS if c in present]
    table = period_table(long, "channel", channels, freq)
    figure = _new_figure()
    plot_sends(long, ax=figure.add_subplot())
    total = int(long["messages"].sum())
    text = (
        f"Messages (email, SMS, WhatsApp) sent per {freq_label(freq)}, UTC, by channel: "
        f"{total:,} in all; periods are labelled by their first day."
    )
    if total:
        busiest = table.loc[table["total"].idxmax()]
        text += f" Busiest: {format_value(busiest['period'])} ({int(busiest['total']):,})."
    text += _partial_text(table)
    return Section(
        "sends_per_period", "Projected messages per period", text, table=table, figure=figure
    )


def _sends_by_flow_section(result: Any, freq: str, flows: Sequence[str]) -> Section:
    long = sends_by_period(result.actions, freq=freq, by="flow")
    order = [f for f in flows if f in set(long["flow"])]
    order += sorted((f for f in set(long["flow"]) if f not in order), key=str)
    table = period_table(long, "flow", order, freq)
    figure = _new_figure()
    plot_sends(long, by="flow", ax=figure.add_subplot())
    return Section(
        "sends_by_flow",
        "Sends by flow",
        f"Messages sent per {freq_label(freq)}, UTC, by flow (one column per flow that sent "
        f"any).{_partial_text(table)}",
        table=table,
        figure=figure,
    )


# -- totals -----------------------------------------------------------------------------------------


def _with_total(
    frame: pd.DataFrame, label_column: str, label: str, totals: dict[str, Any]
) -> pd.DataFrame:
    row = pd.DataFrame([{label_column: label, **totals}])
    return pd.concat([frame, row.astype({k: frame[k].dtype for k in totals})], ignore_index=True)


def _cost_section(result: Any, numbers: dict[str, Any]) -> Section:
    costs = cost_by_channel(result.actions, by="channel")
    return Section(
        "cost_by_channel",
        "Cost of messages by channel",
        f"Messages sent and their cost per channel, in {result.currency} (skipped messages "
        "cost nothing), with the total. Webhook calls are operations: their cost is in the "
        "next section.",
        table=_with_total(
            costs,
            "channel",
            "total",
            {"messages": numbers["messages_sent"], "cost": numbers["message_cost"]},
        ),
    )


def _operations_section(result: Any, flows: Sequence[str]) -> Section:
    summary = result.summary()
    columns = ["flow", *OPERATION_COLUMNS.values(), "operation_cost"]
    table = summary[columns]
    totals = {c: table[c].sum() for c in columns[1:]}
    total_row = pd.DataFrame([{"flow": "total", **totals}]).astype(table.dtypes.to_dict())
    table = pd.concat([table, total_row], ignore_index=True)
    kinds = ", ".join(OPERATION_LABELS.values())
    return Section(
        "operations",
        "Operations",
        f"Operations are not messages and are counted apart: {kinds}, per flow, with the "
        f"cost of webhook calls in {result.currency}.",
        table=table,
    )


def _reach_section(result: Any, numbers: dict[str, Any]) -> Section:
    return Section(
        "reach",
        "Reach",
        "Distinct contacts sent at least one message, per channel; a contact reached on "
        "two channels counts in both rows but once in the last. A webhook call reaches no one.",
        table=_with_total(
            reach(result.actions, by="channel"),
            "channel",
            "any channel",
            {"contacts": numbers["contacts_reached"]},
        ),
    )


def _per_flow_section(summary: pd.DataFrame) -> Section:
    return Section(
        "per_flow",
        "Runs per flow, by how they ended",
        "Runs and contacts per flow, with one column per way a run ends (horizon: still "
        "running at the window's end); the end columns add up to runs.",
        table=summary[["flow", "runs", "contacts_entered", *END_REASONS]],
    )


def _messages_per_flow_section(summary: pd.DataFrame, currency: str) -> Section:
    columns = [
        "flow",
        *SENT_COLUMNS.values(),
        "messages_sent",
        "skipped",
        "suppressed",
        "message_cost",
    ]
    return Section(
        "messages_per_flow",
        "Messages per flow",
        f"Messages sent by channel, skipped messages, suppressed trigger events and the cost "
        f"of messages in {currency}, per flow.",
        table=summary[columns],
    )


# -- steps and diagrams -------------------------------------------------------------------------------


def _step_tables(result: Any, flows: Sequence[str]) -> pd.DataFrame:
    parts = []
    for name in flows:
        counts = step_counts(result, name)
        counts.insert(0, "flow", name)
        parts.append(counts)
    if not parts:
        return pd.DataFrame(columns=["flow", *STEP_COUNT_COLUMNS])
    return pd.concat(parts, ignore_index=True)


def _per_step_section(steps: pd.DataFrame) -> Section:
    return Section(
        "per_step",
        "Per step",
        "Per step: runs that reached it, its actions by status, and the branch and WaitFor "
        "outcomes (a run still waiting in a WaitFor has not reached it yet).",
        table=steps,
    )


def _diagrams_section(result: Any) -> Section | None:
    if result.scenario is None or not len(result.scenario.flows):
        return None
    diagrams = [
        flow_svg(
            shown.flow,
            counts=step_counts(result, flow.name, version=shown.version),
            caption=f"{flow.name} {shown.caption()}",
        )
        for flow in result.scenario.flows
        for shown in versions_in_force(result.scenario, flow.name)
    ]
    return Section(
        "flow_diagrams",
        "Flow diagrams",
        "Each version of each flow in force during the window, with the runs that "
        "reached each step while it was in force and what happened there.",
        svgs=diagrams,
    )


# -- why not, funnels, messages per contact ------------------------------------------------------------


def _skip_section(result: Any) -> Section:
    skips = skip_reasons(result.actions)
    return Section(
        "skip_reasons",
        "Skip reasons",
        f"{int(skips['count'].sum()):,} messages skipped, by action and reason.",
        table=skips,
    )


def _policy_section(result: Any) -> Section | None:
    """What the delivery policy removed or delayed, per flow and channel (with a policy)."""
    if not has_policy(result):
        return None
    effects = policy_effects(result.actions, result.steps)
    totals = policy_numbers(result)
    rules = "; ".join(result.scenario.policy.describe())
    return Section(
        "delivery_policy",
        "Delivery policy",
        f"The policy ({rules}) deferred {totals['deferred']:,} sends to the end of quiet "
        f"hours, skipped {totals['quiet_hours_skipped']:,} in quiet hours and "
        f"{totals['frequency_capped']:,} over a frequency cap, and queued "
        f"{totals['queued']:,} behind a rate limit; per flow and channel (queue_delay: the "
        "total wait).",
        table=effects,
    )


def _suppression_section(result: Any) -> Section:
    return Section(
        "suppression_reasons",
        "Suppression reasons",
        f"{len(result.suppressed):,} trigger events did not enter, by flow and reason "
        "(the first reason that applied).",
        table=suppression_reasons(result.suppressed),
    )


def _funnel_section(result: Any, flows: Sequence[str]) -> Section:
    order = {}
    if result.scenario is not None:
        order = {f.name: list(f.step_ids) for f in result.scenario.flows}
    responses = result.responses if has_outcomes(result) else None
    funnels = funnel(result.runs, result.steps, flow=flows, step_order=order, responses=responses)
    figure: Figure | None = None
    if flows:
        figure = _new_figure(8.0, 2.6 * len(flows) + 0.5)
        for ax, name in zip(
            figure.subplots(len(flows), 1, squeeze=False)[:, 0], flows, strict=True
        ):
            plot_funnel(funnels, flow=name, ax=ax)
    return Section(
        "funnel",
        "Funnel per flow",
        "Runs that entered, reached each step, and how they ended, per flow"
        + ("; with the responses to each step's messages." if responses is not None else "."),
        table=funnels,
        figure=figure,
    )


def _split_paths_section(result: Any) -> Section | None:
    """Per split path: runs that took it and the messages they got after (docs/design.md §9)."""
    from segsim.analysis._experiments import SPLIT_KINDS, declared_paths, split_paths

    scenario = result.scenario
    declared = declared_paths(scenario.flows) if scenario is not None else {}
    if not declared and not result.steps["kind"].isin(SPLIT_KINDS).any():
        return None
    return Section(
        "split_paths",
        "Split paths",
        "Runs that took each path of each split (share of the runs that reached the split), "
        "and the messages those runs were sent and skipped after the split.",
        table=split_paths(result.steps, path_order=declared),
    )


def _messages_per_contact_section(result: Any) -> Section:
    distribution = messages_per_contact_distribution(result.actions)
    figure = _new_figure()
    plot_messages_per_contact(distribution, ax=figure.add_subplot())
    worst = int(distribution["messages"].max()) if len(distribution) else 0
    return Section(
        "messages_per_contact",
        "Messages per contact",
        f"How many contacts got 1, 2, 3, ... messages; the most any contact got: {worst:,}.",
        table=distribution,
        figure=figure,
    )


# -- the report ----------------------------------------------------------------------------------------


def build_report(result: Any, *, freq: str = "W", forecast: Any = None) -> Report:
    """The projected-sends report of a simulation result.

    Parameters
    ----------
    result : SimulationResult
        What to report on. Without a recorded scenario (``result.scenario is None``) the
        report says so and reports the frames alone.
    freq : str, default "W"
        Period of the tables and charts over time: ``"D"`` (day), ``"W"`` (week, Monday to
        Sunday), ``"M"`` (month), ... — calendar periods in UTC, clipped to the window, the
        partial ones flagged (``docs/semantics.md``, Periods).
    forecast : Forecast, optional
        A forecast (:func:`segsim.forecast`) whose "Projection" sections follow the
        replay's, titled as an estimate.

    Returns
    -------
    Report
        Its :meth:`~Report.numbers` add the outcome counts and rates with outcomes.
        Sections, by key: ``scenario``, ``flows`` (with a scenario), ``headline``,
        ``sends_per_period``, ``sends_by_flow``, ``cost_by_channel``, ``operations``,
        ``reach``, ``per_flow``, ``messages_per_flow``, — with a response model or a flow
        goal (docs/design.md §10) — ``outcomes`` (delivered, opened, clicked, unsubscribed,
        converted, revenue, their rates and the cost per conversion, per flow),
        ``outcomes_per_step`` and, with a holdout covering a flow with a goal, ``uplift``
        (over the holdout, with a 95% interval), then ``per_step``, ``flow_diagrams``
        (with a scenario), ``skip_reasons``, ``delivery_policy`` (with a policy),
        ``suppression_reasons``, ``funnel``, ``split_paths`` (when a flow has a split),
        ``messages_per_contact``. Messages are email, SMS and WhatsApp only; webhooks and
        list or contact changes are operations, in their own section. With ``forecast``,
        ``projection``, ``projection_weekly``, ``projection_backtest`` (with a backtest) and
        ``projection_assumptions`` come last.

    Examples
    --------
    >>> path = build_report(result, freq="M").to_html("projected-sends.html")
    """
    freq = period_freq(freq)
    flows = _flow_names(result)
    numbers = headline_numbers(result)
    if has_outcomes(result):
        numbers.update(outcome_numbers(result))
    summary = result.summary()
    steps = _step_tables(result, flows)
    sections: list[Section | None] = [
        *scenario_sections(result),
        _headline_section(result, numbers),
        _sends_section(result, freq),
        _sends_by_flow_section(result, freq, flows),
        _cost_section(result, numbers),
        _operations_section(result, flows),
        _reach_section(result, numbers),
        _per_flow_section(summary),
        _messages_per_flow_section(summary, result.currency),
        *outcome_sections(result, flows),
        _per_step_section(steps),
        _diagrams_section(result),
        _skip_section(result),
        _policy_section(result),
        _suppression_section(result),
        _funnel_section(result, flows),
        _split_paths_section(result),
        _messages_per_contact_section(result),
    ]
    if forecast is not None:  # the estimate after the replay, in sections of its own
        from segsim.forecast._report import projection_parts

        sections += [Section(**part) for part in projection_parts(forecast)]
    title = "Projected sends"
    if result.window is not None:
        start, end = result.window
        title += f": {format_value(start)} → {format_value(end)}"
    return Report(title, [s for s in sections if s is not None], numbers, currency=result.currency)
