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

import base64
import datetime as dt
import html
import io
import numbers as _numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from segsim._time import format_duration
from segsim.analysis import (
    CHANNELS,
    cost_by_channel,
    funnel,
    messages_per_contact_distribution,
    reach,
    reach_total,
    sends_by_period,
    skip_reasons,
    suppression_reasons,
)
from segsim.diagram import STEP_COUNT_COLUMNS, diagram_size, draw_flow, step_counts
from segsim.plots import plot_funnel, plot_messages_per_contact, plot_sends

__all__ = ["Report", "Section", "build_report", "markdown_table"]

_NOT_RECORDED = "Scenario not recorded: this result carries only its frames."


# -- sections and the report ------------------------------------------------------------------------


@dataclass(eq=False)
class Section:
    """One titled part of a report: short prose, and a table and/or a chart.

    Attributes
    ----------
    key : str
        A stable name to look the section up by: ``report["cost_by_channel"]``.
    title : str
        The heading.
    text : str
        One or two sentences saying what the table or chart shows.
    table : DataFrame, optional
        The numbers, unformatted (formatting happens when the report is rendered).
    figure : matplotlib Figure, optional
        A chart (not registered with pyplot; :meth:`png` renders it once).
    """

    key: str
    title: str
    text: str = ""
    table: pd.DataFrame | None = None
    figure: Figure | None = None
    _png: bytes | None = field(default=None, repr=False)

    def png(self) -> bytes | None:
        """The chart as PNG bytes (rendered once, then cached); None without a chart."""
        if self.figure is None:
            return None
        if self._png is None:
            buffer = io.BytesIO()
            self.figure.savefig(buffer, format="png", dpi=100)
            self._png = buffer.getvalue()
        return self._png


class Report:
    """A report: a title, a list of :class:`Section` and headline numbers.

    Build one with :func:`build_report` (or ``Comparison.report()``). In Jupyter it shows
    itself; export with :meth:`to_html` or :meth:`to_markdown`.

    Attributes
    ----------
    title : str
    sections : list of Section
    """

    def __init__(
        self, title: str, sections: Iterable[Section], numbers: dict[str, Any] | None = None
    ) -> None:
        self.title = title
        self.sections: list[Section] = list(sections)
        self._numbers: dict[str, Any] = dict(numbers or {})

    def numbers(self) -> dict[str, Any]:
        """The headline figures as plain Python numbers (a copy).

        For a result: ``runs``, ``contacts_entered``, ``reach`` (distinct contacts sent at
        least one message), ``sent_email``, ``sent_sms``, ``sent_whatsapp``,
        ``sent_webhook``, ``sent_total`` (webhooks included, as in :mod:`segsim.analysis`),
        ``skipped``, ``suppressed`` and ``cost``. For a comparison, the same keys prefixed
        by the variant: ``"B.sent_sms"``.
        """
        return dict(self._numbers)

    def __getitem__(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        known = ", ".join(s.key for s in self.sections)
        raise KeyError(f"the report has no section {key!r}; it has {known}")

    def __iter__(self) -> Any:
        return iter(self.sections)

    # -- rendering -------------------------------------------------------------------------

    def _body_html(self) -> str:
        parts = [f"<h1>{html.escape(self.title)}</h1>"]
        for section in self.sections:
            parts.append(f'<section id="{html.escape(section.key)}">')
            parts.append(f"<h2>{html.escape(section.title)}</h2>")
            if section.text:
                parts.append(f"<p>{html.escape(section.text)}</p>")
            if section.table is not None:
                parts.append(html_table(section.table))
            png = section.png()
            if png is not None:
                data = base64.b64encode(png).decode("ascii")
                alt = html.escape(section.title)
                parts.append(f'<img alt="{alt}" src="data:image/png;base64,{data}">')
            parts.append("</section>")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return f'<div class="segsim-report"><style>{_CSS}</style>\n{self._body_html()}\n</div>'

    def to_html(self, path: str | Path) -> Path:
        """Write the report as one self-contained HTML file; returns its path.

        CSS is inline and charts are embedded PNG images (``data:`` URIs): the file opens
        offline and links to nothing.
        """
        path = Path(path)
        document = (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n"
            f'<body>\n<div class="segsim-report">\n{self._body_html()}\n</div>\n</body>\n</html>\n'
        )
        path.write_text(document, encoding="utf-8")
        return path

    def to_markdown(self, *, images: bool = False) -> str:
        """The report as Markdown: headings, prose and tables.

        Parameters
        ----------
        images : bool, default False
            Embed the charts as PNG ``data:`` URIs (Jupyter and VS Code show them; many
            other viewers do not). Without, each chart is named in a one-line note.
        """
        lines = [f"# {self.title}", ""]
        for section in self.sections:
            lines += [f"## {section.title}", ""]
            if section.text:
                lines += [section.text, ""]
            if section.table is not None:
                lines += [markdown_table(section.table), ""]
            if section.figure is not None:
                if images:
                    data = base64.b64encode(section.png() or b"").decode("ascii")
                    lines += [f"![{section.title}](data:image/png;base64,{data})", ""]
                else:
                    lines += [f"*Chart: {section.title} (in the HTML report).*", ""]
        return "\n".join(lines).rstrip() + "\n"

    def __repr__(self) -> str:
        return f"<Report {self.title!r}: {len(self.sections)} sections>"


_CSS = (
    ".segsim-report{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
    "color:#222;max-width:1000px;line-height:1.4}"
    ".segsim-report h1{font-size:1.5em;margin:0.4em 0}"
    ".segsim-report h2{font-size:1.15em;margin:1.2em 0 0.3em;border-bottom:1px solid #ddd}"
    ".segsim-report table{border-collapse:collapse;font-size:0.85em;margin:0.4em 0}"
    ".segsim-report th,.segsim-report td{border:1px solid #ddd;padding:2px 8px}"
    ".segsim-report th{background:#f3f3f3;text-align:left}"
    ".segsim-report td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".segsim-report img{max-width:100%}"
)


# -- formatting ------------------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_value(value: Any, column: str = "") -> str:
    """One cell as text: thousands separators, dates without midnight, shares as percents."""
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    if _is_missing(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        stamp = pd.Timestamp(value)
        return f"{stamp:%Y-%m-%d}" if stamp == stamp.normalize() else f"{stamp:%Y-%m-%d %H:%M}"
    if isinstance(value, (pd.Timedelta, dt.timedelta)):
        return format_duration(pd.Timedelta(value).to_pytimedelta())
    if isinstance(value, _numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, _numbers.Real):
        number = float(value)
        if column.endswith("change"):
            return f"{number:+.1%}"
        if column.startswith("share") or column.endswith("share"):
            return f"{number:.1%}"
        if number.is_integer():
            return f"{number:,.0f}"
        return f"{number:,.4f}".rstrip("0")
    return str(value)


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame with a meaningful (named) index as a column, ready to format."""
    if frame.index.name is not None or isinstance(frame.index, pd.MultiIndex):
        return frame.reset_index()
    return frame


def html_table(frame: pd.DataFrame) -> str:
    """A DataFrame as an HTML table, every cell formatted with :func:`format_value`."""
    frame = _shown(frame)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    numeric = [_is_numeric(frame[c]) for c in frame.columns]
    rows = []
    for values in frame.itertuples(index=False, name=None):
        cells = "".join(
            f'<td class="num">{html.escape(format_value(v, str(c)))}</td>'
            if is_num
            else f"<td>{html.escape(format_value(v, str(c)))}</td>"
            for v, c, is_num in zip(values, frame.columns, numeric, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    if not rows:
        rows.append(f'<tr><td colspan="{max(len(frame.columns), 1)}"><i>none</i></td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _markdown_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame) -> str:
    """A DataFrame as a GitHub-flavoured Markdown table (no ``tabulate`` needed).

    Cells are formatted with :func:`format_value`; numeric columns are right-aligned.

    >>> print(markdown_table(pd.DataFrame({"channel": ["sms"], "messages": [1200]})))
    | channel | messages |
    | --- | ---: |
    | sms | 1,200 |
    """
    frame = _shown(frame)
    header = "| " + " | ".join(_markdown_cell(str(c)) for c in frame.columns) + " |"
    rule = (
        "| " + " | ".join("---:" if _is_numeric(frame[c]) else "---" for c in frame.columns) + " |"
    )
    rows = [
        "| "
        + " | ".join(
            _markdown_cell(format_value(v, str(c)))
            for v, c in zip(values, frame.columns, strict=True)
        )
        + " |"
        for values in frame.itertuples(index=False, name=None)
    ]
    if not rows:
        rows = ["| " + " | ".join(["*none*"] + [""] * (len(frame.columns) - 1)) + " |"]
    return "\n".join([header, rule, *rows])


# -- building a result's report ----------------------------------------------------------------------


def headline_numbers(result: Any) -> dict[str, Any]:
    """The headline figures of a result (see :meth:`Report.numbers`)."""
    costs = cost_by_channel(result.actions, by="channel")
    sent = dict(zip(costs["channel"], costs["messages"], strict=True))
    numbers: dict[str, Any] = {
        "runs": len(result.runs),
        "contacts_entered": int(result.runs["contact_id"].nunique()),
        "reach": reach_total(result.actions),
    }
    for channel in CHANNELS:
        numbers[f"sent_{channel}"] = int(sent.get(channel, 0))
    numbers["sent_total"] = int(costs["messages"].sum())
    numbers["skipped"] = int(skip_reasons(result.actions)["count"].sum())
    numbers["suppressed"] = len(result.suppressed)
    numbers["cost"] = float(cost_by_channel(result.actions, by=None)["cost"].iloc[0])
    return numbers


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


def _event_text(event: Any) -> str:
    kind = getattr(event, "kind", "")
    if kind == "exits_segment":
        return f"exits {event.segment!r}"
    if kind == "enters_segment":
        return f"enters {event.segment!r}"
    if kind == "attribute_matches":
        return f"{event.condition} becomes true"
    return str(event)


def _flows_table(scenario: Any) -> pd.DataFrame:
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
        trigger = flow.trigger
        if trigger is None:
            trigger_text = "none (draft)"
        else:
            trigger_text = f"on {trigger.on} {trigger.segment!r}"
            if trigger.filters is not None:
                trigger_text += f" if {trigger.filters}"
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
                "exit_conditions": "; ".join(map(_event_text, settings.exit_conditions)) or "none",
                "restart_conditions": "; ".join(map(_event_text, settings.restart_conditions))
                or "none",
                "schedule": ", ".join(lifecycle) or "none",
            }
        )
    return pd.DataFrame(rows)


def _scenario_sections(result: Any) -> list[Section]:
    scenario = result.scenario
    seed = _seed(result)
    if scenario is None:
        facts = pd.DataFrame(
            {"setting": ["flows", "seed"], "value": [", ".join(_flow_names(result)), seed]},
        )
        return [Section("scenario", "Scenario", _NOT_RECORDED, table=facts)]
    store = scenario.store
    contacts = len(store.contacts)
    changes = int(store.attributes["rows"].sum())
    start, end = pd.Timestamp(scenario.start), pd.Timestamp(scenario.end)
    facts = pd.DataFrame(
        {
            "setting": ["window start", "window end", "contacts", "attribute changes", "seed"],
            "value": [
                format_value(start),
                format_value(end),
                f"{contacts:,}",
                f"{changes:,}",
                str(seed),
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
        table=_flows_table(scenario),
    )
    return [Section("scenario", "Scenario", text, table=facts), flows]


def _new_figure(width: float = 8.0, height: float = 3.6) -> Figure:
    # Not pyplot: such a figure is never registered, so nothing is left open.
    return Figure(figsize=(width, height), layout="constrained")


def _sends_section(result: Any, freq: str) -> Section:
    long = sends_by_period(result.actions, freq=freq, by="channel")
    channels = [c for c in CHANNELS if c in set(long["channel"])]
    channels += sorted((c for c in set(long["channel"]) if c not in CHANNELS), key=str)
    wide = long.pivot_table(
        index="period", columns="channel", values="messages", aggfunc="sum", fill_value=0
    )
    wide = wide.reindex(columns=channels, fill_value=0)
    scenario = result.scenario
    if scenario is not None:
        first, last = (
            pd.Timestamp(scenario.start),
            pd.Timestamp(scenario.end) - pd.Timedelta(1, "us"),
        )
    elif len(wide):
        first, last = wide.index.min(), wide.index.max()
    else:
        first = last = None
    if first is not None:
        periods = pd.period_range(first.tz_convert(None), last.tz_convert(None), freq=freq)
        index = periods.start_time.tz_localize("UTC").astype("datetime64[us, UTC]")
        wide = wide.reindex(index, fill_value=0)
    wide = wide.astype("int64")
    wide["total"] = wide.sum(axis=1).astype("int64")
    wide.index.name = "period"
    wide.columns.name = None
    table = wide.reset_index()
    figure = _new_figure()
    plot_sends(long, freq=freq, ax=figure.add_subplot())
    total = int(long["messages"].sum())
    text = (
        f"Messages sent per period (freq {freq!r}; periods labelled by their start, UTC), by "
        f"channel: {total:,} in all."
    )
    if total:
        busiest = wide["total"].idxmax()
        text += f" Busiest period: {format_value(busiest)} ({int(wide['total'].max()):,})."
    return Section(
        "sends_per_period", "Projected sends per period", text, table=table, figure=figure
    )


def _with_total(
    frame: pd.DataFrame, label_column: str, label: str, totals: dict[str, Any]
) -> pd.DataFrame:
    row = pd.DataFrame([{label_column: label, **totals}])
    return pd.concat([frame, row.astype({k: frame[k].dtype for k in totals})], ignore_index=True)


def _step_tables(result: Any, flows: Sequence[str]) -> pd.DataFrame:
    parts = []
    for name in flows:
        counts = step_counts(result, name)
        counts.insert(0, "flow", name)
        parts.append(counts)
    if not parts:
        return pd.DataFrame(columns=["flow", *STEP_COUNT_COLUMNS])
    return pd.concat(parts, ignore_index=True)


def build_report(result: Any, *, freq: str = "W") -> Report:
    """The projected-sends report of a simulation result.

    Parameters
    ----------
    result : SimulationResult
        What to report on. Without a recorded scenario (``result.scenario is None``) the
        report says so and reports the frames alone.
    freq : str, default "W"
        Period of the sends table and chart: ``"D"``, ``"W"`` (Monday to Sunday), ``"M"``.

    Returns
    -------
    Report
        Sections, by key: ``scenario``, ``flows`` (with a scenario), ``headline``,
        ``sends_per_period``, ``cost_by_channel``, ``reach``, ``per_flow``, ``per_step``,
        ``flow_diagrams`` (with a scenario), ``skip_reasons``, ``suppression_reasons``,
        ``funnel``, ``messages_per_contact``.

    Examples
    --------
    >>> path = build_report(result, freq="M").to_html("projected-sends.html")
    """
    actions = result.actions
    flows = _flow_names(result)
    numbers = headline_numbers(result)
    sections = _scenario_sections(result)

    headline = pd.DataFrame(
        {"figure": list(numbers), "value": list(numbers.values())},
    )
    headline["value"] = headline["value"].astype(object)
    sections.append(
        Section(
            "headline",
            "Headline figures",
            f"{numbers['runs']:,} runs of {numbers['contacts_entered']:,} contacts; "
            f"{numbers['sent_total']:,} messages to {numbers['reach']:,} distinct contacts, "
            f"costing {format_value(numbers['cost'])}.",
            table=headline,
        )
    )
    sections.append(_sends_section(result, freq))

    costs = cost_by_channel(actions, by="channel")
    sections.append(
        Section(
            "cost_by_channel",
            "Cost by channel",
            "Messages sent and their cost per channel (skipped sends cost nothing), with the "
            "total.",
            table=_with_total(
                costs,
                "channel",
                "total",
                {"messages": int(costs["messages"].sum()), "cost": numbers["cost"]},
            ),
        )
    )
    sections.append(
        Section(
            "reach",
            "Reach",
            "Distinct contacts sent at least one message, per channel; a contact reached on "
            "two channels counts in both rows but once in the last.",
            table=_with_total(
                reach(actions, by="channel"),
                "channel",
                "any channel",
                {"contacts": numbers["reach"]},
            ),
        )
    )
    sections.append(
        Section(
            "per_flow",
            "Per flow",
            "Runs, contacts, messages by channel, skipped sends, suppressed trigger events and "
            "cost, per flow.",
            table=result.summary(),
        )
    )
    steps = _step_tables(result, flows)
    sections.append(
        Section(
            "per_step",
            "Per step",
            "Per step: runs that reached it, its actions by status, and the branch outcomes.",
            table=steps,
        )
    )
    if result.scenario is not None and len(result.scenario.flows):
        scenario_flows = list(result.scenario.flows)
        sizes = [diagram_size(flow) for flow in scenario_flows]
        figure = _new_figure(sum(w for w, _ in sizes), max(h for _, h in sizes))
        axes = figure.subplots(1, len(scenario_flows), squeeze=False)[0]
        for ax, flow in zip(axes, scenario_flows, strict=True):
            draw_flow(flow, counts=steps[steps["flow"] == flow.name], ax=ax)
        sections.append(
            Section(
                "flow_diagrams",
                "Flow diagrams",
                "Each flow with the runs that reached each step and what happened there.",
                figure=figure,
            )
        )

    skips = skip_reasons(actions)
    sections.append(
        Section(
            "skip_reasons",
            "Skip reasons",
            f"{int(skips['count'].sum()):,} sends skipped, by action and reason.",
            table=skips,
        )
    )
    suppressions = suppression_reasons(result.suppressed)
    sections.append(
        Section(
            "suppression_reasons",
            "Suppression reasons",
            f"{len(result.suppressed):,} trigger events did not enter, by flow and reason "
            "(the first reason that applied).",
            table=suppressions,
        )
    )
    order = {}
    if result.scenario is not None:
        order = {f.name: list(f.step_ids) for f in result.scenario.flows}
    funnels = funnel(result.runs, result.steps, flow=flows, step_order=order)
    funnel_figure: Figure | None = None
    if flows:
        funnel_figure = _new_figure(8.0, 2.6 * len(flows) + 0.5)
        for ax, name in zip(
            funnel_figure.subplots(len(flows), 1, squeeze=False)[:, 0], flows, strict=True
        ):
            plot_funnel(funnels, flow=name, ax=ax)
    sections.append(
        Section(
            "funnel",
            "Funnel per flow",
            "Runs that entered, reached each step, and how they ended, per flow.",
            table=funnels,
            figure=funnel_figure,
        )
    )
    distribution = messages_per_contact_distribution(actions)
    figure = _new_figure()
    plot_messages_per_contact(distribution, ax=figure.add_subplot())
    worst = int(distribution["messages"].max()) if len(distribution) else 0
    sections.append(
        Section(
            "messages_per_contact",
            "Messages per contact",
            f"How many contacts got 1, 2, 3, ... messages; the most any contact got: {worst:,}.",
            table=distribution,
            figure=figure,
        )
    )
    title = "Projected sends"
    if result.scenario is not None:
        title += (
            f": {format_value(pd.Timestamp(result.scenario.start))} → "
            f"{format_value(pd.Timestamp(result.scenario.end))}"
        )
    return Report(title, sections, numbers)
