"""Flow diagrams: a flow's tree of steps as SVG or on matplotlib Axes, optionally with counts.

One layout, two renderers. The trigger is on top and the steps below it, one box per step,
joined by arrows; a :class:`~segsim.flows.Branch` splits into a ``then`` column (left) and an
``otherwise`` column (right) that join again below it, and a :class:`~segsim.flows.WaitFor`
likewise into ``then`` and ``timed out``. Each box says the step's id and kind
and its key facts (``step.facts()``, the models' one description), nothing parsed back
from text.

* :func:`flow_svg` writes self-contained SVG text (no script, no external reference, no
  ``id`` that could clash with another diagram on the page), sized in CSS pixels so that
  every text is at least 11 px when shown at its natural size (reports and notebooks do).
  Flows display in Jupyter this way.
* :func:`draw_flow` draws the same layout with matplotlib on an ``Axes``.

:func:`step_counts` counts, from a simulation result, how many runs reached each step and
what happened there — for one version of an edited flow when asked — and both renderers
write those counts into the boxes. :func:`versions_in_force` lists the versions of a flow
that were in force during a scenario's window.

Every element carries a ``gid`` saying what it is (a matplotlib artist's ``gid``; in SVG a
``data-gid`` attribute), which is how tests and users restyling a diagram find them:
``"trigger"``, ``"step:<id>"`` (a box), ``"trigger-label"``, ``"label:<id>"`` (its text),
``"counts:<id>"`` (its counts), ``"edge"`` (an arrow), ``"edge-label"`` (``then`` /
``otherwise``, ``then`` / ``timed out``), ``"join"`` (where a branch's or a WaitFor's two
paths meet); SVG adds ``"title"``.

matplotlib is imported by :func:`draw_flow` only: counting and SVG need none.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from segsim.diagram._counts import (
    STEP_COUNT_COLUMNS,
    STEP_RESPONSE_COLUMNS,
    FlowVersion,
    step_counts,
    versions_in_force,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "STEP_COUNT_COLUMNS",
    "STEP_RESPONSE_COLUMNS",
    "FlowVersion",
    "diagram_size",
    "draw_flow",
    "flow_svg",
    "step_counts",
    "versions_in_force",
]

# Layout geometry, in layout units: one column is 1 wide, one step row is 1 high.
_BOX_WIDTH = 0.88
_BOX_HEIGHT = 0.74
_ROW = 1.0
_JOIN_ABOVE = 0.4  # join centre above the next free row under a branch's longer path
_JOIN_BELOW = 0.6  # next step's centre below the join
_JOIN_RADIUS = 0.045
_LABEL_CHARS = 32  # longest line of a box's facts before it is wrapped or shortened
_FACT_LINES = 2  # lines of facts under a box's title, at most
_COUNT_CHARS = 38  # longest line of counts before it wraps

# SVG geometry, in CSS pixels. A column is wide enough for _LABEL_CHARS characters at
# _FONT_PX (and _COUNT_CHARS at _COUNTS_PX), at an average glyph width of _EM_WIDTH em.
_FONT_PX = 12.0
_COUNTS_PX = 11.0
_TITLE_PX = 13.0
_EM_WIDTH = 0.58
_PAD_PX = 6.0
_COLUMN_PX = 300.0
_LINE_SPACING = 1.3
_MARGIN_PX = 8.0

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
    "split": "branch",
    "audience_split": "branch",
    "wait_for": "wait",
}
_EDGE_COLOUR = "#555555"
_COUNTS_COLOUR = "#1f3b73"
_EDGE_LABEL_COLOUR = "#8a4b00"


# -- layout ---------------------------------------------------------------------------------------


@dataclass
class _Box:
    gid: str  # "trigger" or "step:<id>"
    x: float
    y: float
    lines: list[str]
    group: str
    step_id: str | None = None
    kind: str | None = None


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
    paths = _paths(step)
    if paths:  # a branch, a WaitFor or a split: its paths side by side
        return sum(_width(steps) for _, steps in paths)
    return 1.0


def _paths(step: Any) -> list[tuple[str, Sequence[Any]]]:
    """The step's nested paths with the label of the arrow into each, in tree order.

    A branch's are ``then`` / ``otherwise``, a WaitFor's ``then`` / ``timed out``; a split's its path names with their shares
    (``A 45%``); an audience split's its path names then ``otherwise``; a step without
    nested paths has none.
    """
    if hasattr(step, "child_paths"):
        children = tuple(step.child_paths())
    elif step.kind == "branch":  # a duck-typed stand-in of a branch
        children = (("then", step.then), ("otherwise", step.otherwise))
    else:
        children = ()
    if step.kind == "split":
        shares = step.shares()
        return [(f"{field[1]} {shares[field[1]]:.0%}", steps) for field, steps in children]
    if step.kind == "audience_split":
        return list(zip(step.path_names(), (steps for _, steps in children), strict=True))
    return [  # a branch's then / otherwise, a WaitFor's then / timed out
        ((field if isinstance(field, str) else str(field[-1])).replace("_", " "), steps)
        for field, steps in children
    ]


def _shorten(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pack(parts: Iterable[str], separator: str, limit: int) -> list[str]:
    """Phrases joined by ``separator`` into lines of at most ``limit`` characters."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + len(separator) + len(part) <= limit:
            lines[-1] += separator + part
        else:
            lines.append(part)
    return lines


def _fact_lines(facts: Iterable[str]) -> list[str]:
    lines = _pack([" ".join(str(f).split()) for f in facts], ", ", _LABEL_CHARS)
    if len(lines) > _FACT_LINES:
        lines = [*lines[: _FACT_LINES - 1], ", ".join(lines[_FACT_LINES - 1 :])]
    return [_shorten(line, _LABEL_CHARS) for line in lines]


def _step_lines(step: Any) -> list[str]:
    facts = step.facts() if hasattr(step, "facts") else ()
    return [f"{step.id} · {step.kind}", *_fact_lines(facts)]


def _trigger_lines(flow: Any) -> list[str]:
    trigger = getattr(flow, "trigger", None)
    version = getattr(flow, "version", None)
    title = f"{flow.name}" + (f" · v{version}" if version is not None else "")
    if trigger is None:
        return [title, "no trigger (draft)"]
    return [title, *(_shorten(fact, _LABEL_CHARS) for fact in trigger.facts())]


def _layout(flow: Any) -> _Layout:
    layout = _Layout(width=_width(flow.steps))
    center = layout.width / 2
    layout.boxes.append(_Box("trigger", center, 0.0, _trigger_lines(flow), "trigger"))
    tails = [(center, -_BOX_HEIGHT / 2)]
    layout.bottom = _place(flow.steps, 0.0, layout.width, -_ROW, tails, None, layout)
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
        group = _GROUP.get(step.kind, "webhook")
        layout.boxes.append(
            _Box(f"step:{step.id}", x, y, _step_lines(step), group, step.id, step.kind)
        )
        out = (x, y - _BOX_HEIGHT / 2)
        paths = _paths(step)
        if not paths:
            tails[:] = [out]
            y -= _ROW
            continue
        # a branch, a WaitFor or a split: its paths side by side
        widths = [_width(path) for _, path in paths]
        start = left + (width - sum(widths)) / 2
        placed = []
        for (name, path), path_width in zip(paths, widths, strict=True):
            placed.append((path, start, path_width, name))
            start += path_width
        ends: list[tuple[tuple[float, float], str | None]] = []
        lowest = y - _ROW
        for path, path_left, path_width, name in placed:
            if path:
                path_tails = [out]
                after = _place(path, path_left, path_width, y - _ROW, path_tails, name, layout)
                lowest = min(lowest, after)
                ends += [(tail, None) for tail in path_tails]
            else:
                ends.append((out, name))  # an empty path goes straight to the join
            path_left += path_width
        # The join sits just below the longer path; the next step comes a little lower.
        join_y = lowest + _JOIN_ABOVE
        for end, end_label in ends:
            layout.edges.append((end, (x, join_y + _JOIN_RADIUS), end_label))
        layout.joins.append((x, join_y))
        tails[:] = [(x, join_y - _JOIN_RADIUS)]
        y = join_y - _JOIN_BELOW
    return y


def diagram_size(flow: Any) -> tuple[float, float]:
    """A matplotlib figure size ``(width, height)`` in inches that fits the flow's diagram."""
    return _size(_layout(flow))


def _size(layout: _Layout) -> tuple[float, float]:
    height = -layout.bottom + _BOX_HEIGHT
    return max(3.2, 2.6 * layout.width), max(2.0, 1.1 * height + 0.3)


# -- counts in the boxes --------------------------------------------------------------------------


def _counts_by_step(counts: pd.DataFrame | None) -> dict[str, Any] | None:
    if counts is None:
        return None
    missing = [c for c in ("step_id", "reached") if c not in counts.columns]
    if missing:
        raise ValueError(
            f"counts needs the columns of step_counts(result, flow_name); it has no {missing}"
        )
    return {row["step_id"]: row for _, row in counts.iterrows()}


def _count_parts(row: Any, kind: str | None) -> list[str]:
    """``["1,234 runs", "1,100 sent", "134 skipped"]``: what the counts say about a box."""
    if row is None:
        return ["0 runs"]
    reached = int(row["reached"])
    parts = [f"{reached:,} run{'' if reached == 1 else 's'}"]
    if kind == "branch":
        then, otherwise = int(row.get("then", 0)), int(row.get("otherwise", 0))
        if then + otherwise:
            total = then + otherwise
            parts.append(f"then {then / total:.0%} / otherwise {otherwise / total:.0%}")
        return parts
    if kind == "wait_for":
        then, timed_out = int(row.get("then", 0)), int(row.get("timed_out", 0))
        if then + timed_out:
            total = then + timed_out
            parts.append(f"then {then / total:.0%} / timed out {timed_out / total:.0%}")
        return parts
    for status in ("sent", "skipped", "applied"):
        if int(row.get(status, 0)):
            parts.append(f"{int(row[status]):,} {status}")
    if int(row.get("sent", 0)):  # the responses to the step's messages, with outcomes
        for response in STEP_RESPONSE_COLUMNS:
            if response in row.index:
                parts.append(f"{int(row[response]):,} {response}")
    return parts


# -- SVG ------------------------------------------------------------------------------------------


def flow_svg(flow: Any, counts: pd.DataFrame | None = None, *, caption: str | None = None) -> str:
    """The flow's diagram as self-contained SVG text (one ``<svg>`` element, no XML prolog).

    Parameters
    ----------
    flow : Flow
        The flow (one version of it) to draw.
    counts : DataFrame, optional
        The output of :func:`step_counts` for this flow (and version): each box gets a line
        such as ``"1,234 runs · 1,100 sent · 134 skipped"``, a branch ``"1,234 runs · then
        60% / otherwise 40%"``, a WaitFor ``"1,234 runs · then 30% / timed out 70%"``; steps
        missing from ``counts`` read ``"0 runs"``. With outcomes, a message step adds its
        responses: ``"· 1,078 delivered · 380 opened · 40 clicked · 12 converted"``.
    caption : str, optional
        A line above the diagram (e.g. :meth:`FlowVersion.caption`).

    Returns
    -------
    str
        SVG sized in CSS pixels (``width``/``height`` equal to the ``viewBox``): shown at its
        natural size, box text is 12 px, counts 11 px, the caption 13 px. It has no script,
        no external reference and no ``id`` attribute (elements carry ``data-gid``), so any
        number of diagrams can sit inline in one HTML page.

    Examples
    --------
    >>> from IPython.display import SVG; SVG(flow_svg(flow))
    <IPython.core.display.SVG object>
    """
    layout = _layout(flow)
    by_step = _counts_by_step(counts)
    count_lines = {
        box.gid: _pack(_count_parts(by_step.get(box.step_id), box.kind), " · ", _COUNT_CHARS)
        for box in layout.boxes
        if by_step is not None and box.step_id is not None
    }
    line_px, count_line_px = _FONT_PX * _LINE_SPACING, _COUNTS_PX * _LINE_SPACING
    most_lines = max(len(box.lines) for box in layout.boxes)
    most_count_lines = max((len(lines) for lines in count_lines.values()), default=0)
    box_h = 2 * _PAD_PX + most_lines * line_px + most_count_lines * count_line_px
    row_px = box_h / _BOX_HEIGHT  # rows keep the layout's proportions
    box_w = _BOX_WIDTH * _COLUMN_PX
    top = _MARGIN_PX + (_TITLE_PX * 1.6 if caption else 0.0)
    y0 = layout.boxes[0].y + _BOX_HEIGHT / 2  # the top of the trigger box

    def px(point: tuple[float, float]) -> tuple[float, float]:
        return _MARGIN_PX + point[0] * _COLUMN_PX, top + (y0 - point[1]) * row_px

    lowest = min(
        [b.y - _BOX_HEIGHT / 2 for b in layout.boxes] + [y - _JOIN_RADIUS for _, y in layout.joins]
    )
    bottom = px((0.0, lowest))[1]
    width = 2 * _MARGIN_PX + layout.width * _COLUMN_PX
    height = bottom + _MARGIN_PX
    name = f"Flow {flow.name}" + (f" v{flow.version}" if getattr(flow, "version", None) else "")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" role="img" aria-label="{_e(name)}" '
        'font-family="Helvetica, Arial, sans-serif" class="segsim-flow">',
        f"<title>{_e(name)}</title>",
    ]
    if caption:
        out.append(
            _svg_text(
                [caption], _MARGIN_PX, _MARGIN_PX + _TITLE_PX, _TITLE_PX, "title", anchor="start"
            ).replace("<text ", '<text font-weight="bold" ', 1)
        )
    for start, end, _ in layout.edges:
        out.append(_svg_arrow(px(start), px(end)))
    for start, end, label in layout.edges:
        if label is not None:
            (x1, y1), (x2, y2) = px(start), px(end)
            out.append(_svg_edge_label(label, (x1 + x2) / 2, (y1 + y2) / 2))
    for x, y in layout.joins:
        cx, cy = px((x, y))
        out.append(f'<circle data-gid="join" cx="{_n(cx)}" cy="{_n(cy)}" r="3.5" fill="#555555"/>')
    for box in layout.boxes:
        cx, cy = px((box.x, box.y))
        left, upper = cx - box_w / 2, cy - box_h / 2
        out.append(
            f'<rect data-gid="{_e(box.gid)}" x="{_n(left)}" y="{_n(upper)}" width="{_n(box_w)}" '
            f'height="{_n(box_h)}" rx="6" fill="{_FACE[box.group]}" stroke="#555555"/>'
        )
        label_gid = "trigger-label" if box.step_id is None else f"label:{box.step_id}"
        extra = count_lines.get(box.gid, [])
        text_h = len(box.lines) * line_px + len(extra) * count_line_px
        first = cy - text_h / 2 + _FONT_PX  # the first baseline: the block is centred
        out.append(_svg_text(box.lines, cx, first, _FONT_PX, label_gid, bold_first=True))
        if extra:
            baseline = first + (len(box.lines) - 1) * line_px + count_line_px
            out.append(
                _svg_text(
                    extra,
                    cx,
                    baseline,
                    _COUNTS_PX,
                    f"counts:{box.step_id}",
                    style='font-style="italic" fill="' + _COUNTS_COLOUR + '"',
                )
            )
    out.append("</svg>")
    return "\n".join(out)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _svg_text(
    lines: Sequence[str],
    x: float,
    baseline: float,
    size: float,
    gid: str,
    *,
    anchor: str = "middle",
    style: str = 'fill="#222222"',
    bold_first: bool = False,
) -> str:
    spans = []
    for i, line in enumerate(lines):
        dy = "0" if i == 0 else _n(size * _LINE_SPACING)
        weight = ' font-weight="bold"' if bold_first and i == 0 else ""
        spans.append(f'<tspan x="{_n(x)}" dy="{dy}"{weight}>{_e(line)}</tspan>')
    return (
        f'<text data-gid="{_e(gid)}" x="{_n(x)}" y="{_n(baseline)}" font-size="{_n(size)}" '
        f'text-anchor="{anchor}" {style}>{"".join(spans)}</text>'
    )


def _svg_arrow(start: tuple[float, float], end: tuple[float, float]) -> str:
    """A line and its head as a polygon (no ``<marker>``: its id would clash across SVGs)."""
    (x1, y1), (x2, y2) = start, end
    length = max(((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5, 1e-9)
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    head, half = 7.0, 3.5
    bx, by = x2 - ux * head, y2 - uy * head
    points = [(x2, y2), (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half)]
    return (
        f'<g data-gid="edge"><line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(bx)}" y2="{_n(by)}" '
        f'stroke="{_EDGE_COLOUR}" stroke-width="1.2"/>'
        f'<polygon points="{" ".join(f"{_n(a)},{_n(b)}" for a, b in points)}" '
        f'fill="{_EDGE_COLOUR}"/></g>'
    )


def _svg_edge_label(label: str, x: float, y: float) -> str:
    width = len(label) * _COUNTS_PX * _EM_WIDTH + 6
    return (
        f'<g data-gid="edge-label"><rect x="{_n(x - width / 2)}" y="{_n(y - _COUNTS_PX * 0.8)}" '
        f'width="{_n(width)}" height="{_n(_COUNTS_PX * 1.3)}" fill="white"/>'
        f'<text x="{_n(x)}" y="{_n(y + _COUNTS_PX * 0.35)}" font-size="{_n(_COUNTS_PX)}" '
        f'text-anchor="middle" fill="{_EDGE_LABEL_COLOUR}">{_e(label)}</text></g>'
    )


# -- matplotlib -----------------------------------------------------------------------------------


def draw_flow(flow: Any, *, counts: pd.DataFrame | None = None, ax: Axes | None = None) -> Axes:
    """Draw a flow's tree of steps on matplotlib Axes (the layout of :func:`flow_svg`).

    Parameters
    ----------
    flow : Flow
        The flow (one version of it) to draw.
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
    >>> draw_flow(flow, counts=step_counts(result, flow.name, version=flow.version))
    <Axes: ...>
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    layout = _layout(flow)
    by_step = _counts_by_step(counts)
    if ax is None:
        if plt.get_fignums():
            ax = plt.gca()
        else:
            figure = plt.figure(figsize=_size(layout))
            ax = figure.add_axes((0.0, 0.0, 1.0, 0.96))

    for box in layout.boxes:
        left, bottom = box.x - _BOX_WIDTH / 2, box.y - _BOX_HEIGHT / 2
        patch = FancyBboxPatch(
            (left, bottom),
            _BOX_WIDTH,
            _BOX_HEIGHT,
            boxstyle="round,pad=0,rounding_size=0.06",
            facecolor=_FACE[box.group],
            edgecolor=_EDGE_COLOUR,
            linewidth=1.0,
            gid=box.gid,
        )
        ax.add_patch(patch)
        with_counts = by_step is not None and box.step_id is not None
        ax.text(
            box.x,
            box.y + (0.09 if with_counts else 0.0),
            "\n".join(box.lines),
            ha="center",
            va="center",
            fontsize=7.5,
            linespacing=1.25,
            gid="trigger-label" if box.step_id is None else f"label:{box.step_id}",
        )
        if by_step is not None and box.step_id is not None:
            parts = _count_parts(by_step.get(box.step_id), box.kind)
            ax.text(
                box.x,
                bottom + 0.05,
                "\n".join(_pack(parts, " · ", _COUNT_CHARS)),
                ha="center",
                va="bottom",
                fontsize=6.5,
                color=_COUNTS_COLOUR,
                style="italic",
                gid=f"counts:{box.step_id}",
            )

    for start, end, label in layout.edges:
        arrow = FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=9,
            color=_EDGE_COLOUR,
            linewidth=0.9,
            shrinkA=0,
            shrinkB=0,
            gid="edge",
        )
        ax.add_patch(arrow)
        if label is not None:
            ax.text(
                (start[0] + end[0]) / 2,
                (start[1] + end[1]) / 2,
                label,
                ha="center",
                va="center",
                fontsize=6.5,
                color=_EDGE_LABEL_COLOUR,
                backgroundcolor="white",
                gid="edge-label",
            )
    for x, y in layout.joins:
        # a marker, not a Circle patch: it stays round whatever the Axes' aspect
        ax.plot([x], [y], marker="o", markersize=4, color=_EDGE_COLOUR, gid="join")

    ax.set_xlim(-0.05, layout.width + 0.05)
    ax.set_ylim(layout.bottom + _JOIN_ABOVE - 0.1, _BOX_HEIGHT / 2 + 0.1)
    ax.set_axis_off()
    ax.set_title(f"Flow {flow.name}", fontsize=9)
    return ax
