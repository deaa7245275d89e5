"""Flow diagrams: a flow's tree of steps drawn with matplotlib, optionally with run counts.

:func:`draw_flow` draws the trigger on top and the steps below it, one box per step, joined by
arrows; a :class:`~segsim.flows.Branch` splits into a ``then`` column (left) and an
``otherwise`` column (right) that join again below it. :func:`step_counts` counts, from a
simulation result, how many runs reached each step and what happened there, and
:func:`draw_flow` writes those counts into the boxes. :func:`flow_svg` renders the same
drawing as SVG text for rich display in notebooks.

Only the attributes of the flow models are read (``id``, ``kind``, ``then``, ``template``,
...), so anything shaped like a :class:`~segsim.flows.Flow` can be drawn.

Every artist carries a ``gid`` saying what it is, which is how tests (and users restyling a
diagram) find them: ``"trigger"``, ``"step:<id>"`` (a box), ``"label:<id>"`` (its text),
``"counts:<id>"`` (its counts), ``"edge"`` (an arrow), ``"edge-label"`` (``then`` /
``otherwise``), ``"join"`` (where a branch's two paths meet).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from segsim._time import format_duration
from segsim.analysis import funnel

__all__ = ["diagram_size", "draw_flow", "flow_svg", "step_counts"]

#: Columns of :func:`step_counts`, in order.
STEP_COUNT_COLUMNS = (
    "step_id",
    "kind",
    "reached",
    "sent",
    "skipped",
    "applied",
    "then",
    "otherwise",
)

# Geometry, in data units: one column is 1 wide, one step row is 1 high.
_BOX_WIDTH = 0.88
_BOX_HEIGHT = 0.74
_ROW = 1.0
_JOIN_ABOVE = 0.4  # join centre above the next free row under a branch's longer path
_JOIN_BELOW = 0.6  # next step's centre below the join
_JOIN_RADIUS = 0.045
_LABEL_CHARS = 32  # longest key-info line before it is shortened

_FACE = {
    "trigger": "#dbe9f6",
    "send": "#cfe3ff",
    "list": "#d9f2d9",
    "contact": "#e8f5d0",
    "webhook": "#e6e6e6",
    "wait": "#fff4c2",
    "branch": "#ffe0c2",
}
_GROUP = {
    "send_email": "send",
    "send_sms": "send",
    "send_whatsapp": "send",
    "add_to_list": "list",
    "remove_from_list": "list",
    "update_contact": "contact",
    "delete_contact": "contact",
    "webhook": "webhook",
    "wait": "wait",
    "branch": "branch",
}


# -- counts ---------------------------------------------------------------------------------------


def step_counts(result: Any, flow_name: str, *, version: int | None = None) -> pd.DataFrame:
    """Per step of one flow: how many runs reached it and what happened there.

    Parameters
    ----------
    result : SimulationResult
        A simulation result (its ``runs``, ``steps`` and ``actions`` frames are read).
    flow_name : str
        The flow to count.
    version : int, optional
        Only runs that entered on this version (default: every version).

    Returns
    -------
    DataFrame
        ``step_id``, ``kind``, ``reached`` (distinct runs that executed the step, as in
        :func:`~segsim.analysis.funnel`), ``sent``, ``skipped``, ``applied`` (action rows of
        the step by status), ``then``, ``otherwise`` (branch outcomes); all counts int64.
        Steps come in the flow's tree order when the result records its scenario (every step
        of the flow and of its scheduled edits, 0 where no run reached it), then any other
        step in order of first appearance.

    Examples
    --------
    >>> draw_flow(flow, counts=step_counts(result, "Welcome"))
    <Axes: ...>
    """
    runs = result.runs[result.runs["flow"] == flow_name]
    if version is not None:
        runs = runs[runs["version"] == version]
    steps = result.steps[result.steps["run_id"].isin(runs["run_id"])]
    actions = result.actions[result.actions["run_id"].isin(runs["run_id"])]
    order, kinds = _declared_steps(getattr(result, "scenario", None), flow_name)

    reached = funnel(runs, steps, flow=flow_name, step_order=order)
    reached = reached[reached["stage_type"] == "step"]
    for step_id, kind in zip(steps["step_id"], steps["kind"], strict=True):
        kinds.setdefault(step_id, kind)
    status = actions.groupby(["step_id", "status"]).size()
    outcome = steps.groupby(["step_id", "outcome"]).size()

    def count(table: pd.Series, step_id: str, value: str) -> int:
        return int(table.get((step_id, value), 0))

    rows = [
        (
            step_id,
            kinds.get(step_id),
            int(n),
            count(status, step_id, "sent"),
            count(status, step_id, "skipped"),
            count(status, step_id, "applied"),
            count(outcome, step_id, "then"),
            count(outcome, step_id, "otherwise"),
        )
        for step_id, n in zip(reached["stage"], reached["runs"], strict=True)
    ]
    frame = pd.DataFrame(rows, columns=list(STEP_COUNT_COLUMNS))
    frame["step_id"] = frame["step_id"].astype(object)
    frame["kind"] = frame["kind"].astype(object)
    for column in STEP_COUNT_COLUMNS[2:]:
        frame[column] = frame[column].astype("int64")
    return frame


def _declared_steps(scenario: Any, flow_name: str) -> tuple[list[str], dict[str, str]]:
    """Step ids (tree order) and kinds of a flow in the scenario, its edits included."""
    if scenario is None:
        return [], {}
    flows = [f for f in getattr(scenario, "flows", ()) if f.name == flow_name]
    flows += [
        e.flow
        for e in getattr(scenario, "schedule", ())
        if getattr(e, "kind", None) == "edit" and e.flow_name == flow_name
    ]
    order: list[str] = []
    kinds: dict[str, str] = {}
    for flow in flows:
        for step in _walk(flow.steps):
            if step.id not in kinds:
                order.append(step.id)
                kinds[step.id] = step.kind
    return order, kinds


def _walk(steps: Sequence[Any]) -> list[Any]:
    out = []
    for step in steps:
        out.append(step)
        if step.kind == "branch":
            out += _walk(step.then) + _walk(step.otherwise)
    return out


# -- layout ---------------------------------------------------------------------------------------


@dataclass
class _Box:
    gid: str  # "trigger" or "step:<id>"
    x: float
    y: float
    lines: list[str]
    group: str
    step_id: str | None = None


@dataclass
class _Layout:
    boxes: list[_Box] = field(default_factory=list)
    # (start, end, label or None): arrows between box edges and join points
    edges: list[tuple[tuple[float, float], tuple[float, float], str | None]] = field(
        default_factory=list
    )
    joins: list[tuple[float, float]] = field(default_factory=list)
    width: float = 1.0
    bottom: float = 0.0


def _width(steps: Sequence[Any]) -> float:
    widths = [_step_width(step) for step in steps]
    return max([1.0, *widths])


def _step_width(step: Any) -> float:
    if step.kind == "branch":
        return _width(step.then) + _width(step.otherwise)
    return 1.0


def _shorten(text: str, limit: int = _LABEL_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key_info(step: Any) -> list[str]:
    """The one or two lines that say what a step does, beyond its id and kind."""
    kind = step.kind
    if kind in ("send_email", "send_sms", "send_whatsapp"):
        lines = [f"template {step.template!r}"]
        extra = []
        if getattr(step, "campaign", None):
            extra.append(f"campaign {step.campaign!r}")
        if getattr(step, "opt_out_footer", False):
            extra.append("opt-out footer")
        if extra:
            lines.append(", ".join(extra))
        return [_shorten(line) for line in lines]
    if kind in ("add_to_list", "remove_from_list"):
        return [_shorten(f"list {step.list_name!r}")]
    if kind == "update_contact":
        values = ", ".join(f"{name} = {value!r}" for name, value in dict(step.set).items())
        return [_shorten(f"set {values}")]
    if kind == "webhook":
        return [_shorten(f"{getattr(step, 'method', 'POST')} {step.url}")]
    if kind == "wait":
        duration = step.duration
        text = format_duration(duration) if isinstance(duration, dt.timedelta) else str(duration)
        return [f"for {text}"]
    if kind == "branch":
        return [_shorten(f"when {step.when}")]
    return []


def _trigger_lines(flow: Any) -> list[str]:
    trigger = getattr(flow, "trigger", None)
    version = getattr(flow, "version", None)
    title = f"{flow.name}" + (f" · v{version}" if version is not None else "")
    if trigger is None:
        return [title, "no trigger (draft)"]
    lines = [title, f"on {trigger.on} {trigger.segment!r}"]
    if getattr(trigger, "filters", None) is not None:
        lines.append(_shorten(f"if {trigger.filters}"))
    return lines


def _layout(flow: Any) -> _Layout:
    layout = _Layout(width=_width(flow.steps))
    center = layout.width / 2
    layout.boxes.append(_Box("trigger", center, 0.0, _trigger_lines(flow), "trigger"))
    tails = [(center, -_BOX_HEIGHT / 2)]
    bottom = _place(flow.steps, 0.0, layout.width, -_ROW, tails, None, layout)
    layout.bottom = bottom
    return layout


def _place(
    steps: Sequence[Any],
    left: float,
    width: float,
    top: float,
    tails: list[tuple[float, float]],
    label: str | None,
    layout: _Layout,
) -> float:
    """Place ``steps`` in columns ``[left, left + width)`` from row ``top`` down.

    ``tails`` are the points the first step's arrows come from (``label`` on them); on
    return, ``tails`` holds where the last step's arrows leave. Returns the next free row.
    """
    y = top
    for step in steps:
        x = left + width / 2
        for tail in tails:
            layout.edges.append((tail, (x, y + _BOX_HEIGHT / 2), label))
        label = None
        lines = [f"{step.id} · {step.kind}", *_key_info(step)]
        layout.boxes.append(
            _Box(f"step:{step.id}", x, y, lines, _GROUP.get(step.kind, "webhook"), step.id)
        )
        out = (x, y - _BOX_HEIGHT / 2)
        if step.kind != "branch":
            tails[:] = [out]
            y -= _ROW
            continue
        then_width, other_width = _width(step.then), _width(step.otherwise)
        start = left + (width - then_width - other_width) / 2
        ends: list[tuple[tuple[float, float], str | None]] = []
        lowest = y - _ROW
        for path, path_left, path_width, name in (
            (step.then, start, then_width, "then"),
            (step.otherwise, start + then_width, other_width, "otherwise"),
        ):
            if path:
                path_tails = [out]
                after = _place(path, path_left, path_width, y - _ROW, path_tails, name, layout)
                lowest = min(lowest, after)
                ends += [(tail, None) for tail in path_tails]
            else:
                ends.append((out, name))  # an empty path goes straight to the join
        # The join sits just below the longer path; the next step comes a little lower.
        join_y = lowest + _JOIN_ABOVE
        for end, end_label in ends:
            layout.edges.append((end, (x, join_y + _JOIN_RADIUS), end_label))
        layout.joins.append((x, join_y))
        tails[:] = [(x, join_y - _JOIN_RADIUS)]
        y = join_y - _JOIN_BELOW
    return y


def diagram_size(flow: Any) -> tuple[float, float]:
    """A figure size ``(width, height)`` in inches that fits the flow's diagram."""
    return _size(_layout(flow))


def _size(layout: _Layout) -> tuple[float, float]:
    """A figure size (inches) that fits the layout."""
    height = -layout.bottom + _BOX_HEIGHT
    return max(3.2, 2.6 * layout.width), max(2.0, 1.1 * height + 0.3)


# -- drawing --------------------------------------------------------------------------------------


def _annotation(row: Any, kind: str | None) -> str:
    reached = int(row["reached"])
    parts = [f"{reached:,} run{'' if reached == 1 else 's'}"]
    if kind == "branch":
        total = int(row["then"]) + int(row["otherwise"])
        if total:
            parts.append(
                f"then {row['then'] / total:.0%} / otherwise {row['otherwise'] / total:.0%}"
            )
        return " · ".join(parts)
    for status in ("sent", "skipped", "applied"):
        if int(row[status]):
            parts.append(f"{int(row[status]):,} {status}")
    return " · ".join(parts)


def draw_flow(flow: Any, *, counts: pd.DataFrame | None = None, ax: Axes | None = None) -> Axes:
    """Draw a flow's tree of steps: trigger on top, one box per step, arrows between them.

    Parameters
    ----------
    flow : Flow
        The flow to draw (anything with ``name``, ``trigger`` and ``steps`` like
        :class:`~segsim.flows.Flow`).
    counts : DataFrame, optional
        The output of :func:`step_counts` (``step_id``, ``reached`` and the outcome counts):
        each box gets a line such as ``"1,234 runs · 1,100 sent · 134 skipped"``, a branch
        ``"1,234 runs · then 60% / otherwise 40%"``. Steps missing from ``counts`` get
        ``"0 runs"``.
    ax : matplotlib Axes, optional
        Where to draw. Default: the current Axes, or, when no figure is open, a new figure
        sized to fit the flow.

    Returns
    -------
    matplotlib Axes
        With the axis turned off; artists carry a ``gid`` (see the module docstring).

    Examples
    --------
    >>> draw_flow(flow, counts=step_counts(result, flow.name))
    <Axes: ...>
    """
    layout = _layout(flow)
    if ax is None:
        if plt.get_fignums():
            ax = plt.gca()
        else:
            figure = plt.figure(figsize=_size(layout))
            ax = figure.add_axes((0.0, 0.0, 1.0, 0.96))
    by_step = None
    if counts is not None:
        missing = [c for c in ("step_id", "reached") if c not in counts.columns]
        if missing:
            raise ValueError(
                f"counts needs the columns of step_counts(result, flow_name); it has no {missing}"
            )
        by_step = {row["step_id"]: row for _, row in counts.iterrows()}

    for box in layout.boxes:
        left, bottom = box.x - _BOX_WIDTH / 2, box.y - _BOX_HEIGHT / 2
        patch = FancyBboxPatch(
            (left, bottom),
            _BOX_WIDTH,
            _BOX_HEIGHT,
            boxstyle="round,pad=0,rounding_size=0.06",
            facecolor=_FACE[box.group],
            edgecolor="#555555",
            linewidth=1.0,
            gid=box.gid,
        )
        ax.add_patch(patch)
        lines = box.lines
        label_y = box.y + (0.09 if by_step is not None and box.step_id is not None else 0.0)
        ax.text(
            box.x,
            label_y,
            "\n".join(lines),
            ha="center",
            va="center",
            fontsize=7.5,
            linespacing=1.25,
            gid="trigger-label" if box.step_id is None else f"label:{box.step_id}",
        )
        if by_step is not None and box.step_id is not None:
            row = by_step.get(box.step_id)
            step_kind = box.lines[0].split(" · ", 1)[1]
            text = _annotation(row, step_kind) if row is not None else "0 runs"
            ax.text(
                box.x,
                bottom + 0.05,
                text,
                ha="center",
                va="bottom",
                fontsize=6.5,
                color="#1f3b73",
                style="italic",
                gid=f"counts:{box.step_id}",
            )

    for start, end, label in layout.edges:
        arrow = FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=9,
            color="#555555",
            linewidth=0.9,
            shrinkA=0,
            shrinkB=0,
            gid="edge",
        )
        ax.add_patch(arrow)
        if label is not None:
            mid_x, mid_y = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
            ax.text(
                mid_x,
                mid_y,
                label,
                ha="center",
                va="center",
                fontsize=6.5,
                color="#8a4b00",
                backgroundcolor="white",
                gid="edge-label",
            )
    for x, y in layout.joins:
        # a marker, not a Circle patch: it stays round whatever the Axes' aspect
        ax.plot([x], [y], marker="o", markersize=4, color="#555555", gid="join")

    ax.set_xlim(-0.05, layout.width + 0.05)
    ax.set_ylim(layout.bottom + _JOIN_ABOVE - 0.1, _BOX_HEIGHT / 2 + 0.1)
    ax.set_axis_off()
    ax.set_title(f"Flow {flow.name}", fontsize=9)
    return ax


def flow_svg(flow: Any, counts: pd.DataFrame | None = None) -> str:
    """The diagram of :func:`draw_flow` as SVG text (an ``<svg>`` element, no XML prolog).

    The figure is never registered with pyplot, so nothing is left open.

    Examples
    --------
    >>> from IPython.display import SVG; SVG(flow_svg(flow))
    <IPython.core.display.SVG object>
    """
    figure = Figure(figsize=diagram_size(flow))
    ax = figure.add_axes((0.0, 0.0, 1.0, 0.96))
    draw_flow(flow, counts=counts, ax=ax)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]
