"""The document of a report: :class:`Section`, :class:`Report`, and the tables every report
renders (HTML and Markdown, each cell formatted by :mod:`segsim._internal.formatting`).

Part of :mod:`segsim.report` (import from there).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from segsim._internal.formatting import DEFAULT_CURRENCY, format_value

__all__ = ["Report", "Section", "html_table", "markdown_table"]


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
    svgs : list of str
        Vector drawings shown inline at their natural size, each a self-contained
        ``<svg>`` element (the flow diagrams of :func:`segsim.diagram.flow_svg`).
    """

    key: str
    title: str
    text: str = ""
    table: pd.DataFrame | None = None
    figure: Figure | None = None
    svgs: list[str] = field(default_factory=list)
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
    currency : str
        The currency every cost is shown in (the scenario's ``Channels.currency``).
    """

    def __init__(
        self,
        title: str,
        sections: Iterable[Section],
        numbers: dict[str, Any] | None = None,
        *,
        currency: str = DEFAULT_CURRENCY,
    ) -> None:
        self.title = title
        self.sections: list[Section] = list(sections)
        self._numbers: dict[str, Any] = dict(numbers or {})
        self.currency = currency

    def numbers(self) -> dict[str, Any]:
        """The headline figures as plain Python numbers (a copy).

        For a result, the keys of :func:`headline_numbers`: ``runs``, ``contacts_entered``,
        ``contacts_reached`` (distinct contacts sent at least one message),
        ``email_sent``, ``sms_sent``, ``whatsapp_sent``, ``messages_sent`` (messages only),
        ``skipped``, ``suppressed``, the operations ``webhooks_called``, ``list_adds``,
        ``list_removes``, ``contact_updates``, ``contact_deletes`` and ``operations`` (their
        total), and ``message_cost``, ``operation_cost`` and ``cost`` (both). For a
        comparison, the same keys prefixed by the variant: ``"B.sms_sent"``.
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
                parts.append(html_table(section.table, currency=self.currency))
            png = section.png()
            if png is not None:
                data = base64.b64encode(png).decode("ascii")
                alt = html.escape(section.title)
                parts.append(f'<img alt="{alt}" src="data:image/png;base64,{data}">')
            parts += [f'<div class="segsim-svg">{svg}</div>' for svg in section.svgs]
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
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
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
                lines += [markdown_table(section.table, currency=self.currency), ""]
            if section.figure is not None:
                if images:
                    data = base64.b64encode(section.png() or b"").decode("ascii")
                    lines += [f"![{section.title}](data:image/png;base64,{data})", ""]
                else:
                    lines += [f"*Chart: {section.title} (in the HTML report).*", ""]
            if section.svgs:
                lines += [f"*{section.title}: {len(section.svgs)} in the HTML report.*", ""]
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
    ".segsim-report th{background:#f3f3f3;text-align:left;overflow-wrap:anywhere}"
    ".segsim-report td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".segsim-report img{max-width:100%;height:auto}"
    # diagrams keep their natural size (text stays readable) and scroll when wider
    ".segsim-report .segsim-svg{overflow-x:auto;margin:0.4em 0}"
)


# -- formatting ------------------------------------------------------------------------------------


def _is_numeric(column: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(column):
        return False
    if pd.api.types.is_numeric_dtype(column):
        return True
    values = column.dropna()
    return bool(len(values)) and all(
        isinstance(v, Real) and not isinstance(v, (bool, np.bool_)) for v in values
    )


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame with a meaningful (named) index as a column, ready to format."""
    if frame.index.name is not None or isinstance(frame.index, pd.MultiIndex):
        return frame.reset_index()
    return frame


def _cells(frame: pd.DataFrame, currency: str | None) -> tuple[list[list[str]], list[bool]]:
    """Every cell as text (by :func:`format_value`) and whether each column is numeric.

    A table whose first column is ``metric`` is formatted row by row (see
    :mod:`segsim._internal.formatting`).
    """
    by_metric = len(frame.columns) > 0 and frame.columns[0] == "metric"
    numeric = [(by_metric and i > 0) or _is_numeric(frame[c]) for i, c in enumerate(frame.columns)]
    rows = []
    for values in frame.itertuples(index=False, name=None):
        metric = str(values[0]) if by_metric else None
        rows.append(
            [
                format_value(v, str(c), metric=metric if i > 0 else None, currency=currency)
                for i, (v, c) in enumerate(zip(values, frame.columns, strict=True))
            ]
        )
    return rows, numeric


def html_table(frame: pd.DataFrame, *, currency: str | None = None) -> str:
    """A DataFrame as an HTML table, every cell formatted with :func:`format_value`."""
    frame = _shown(frame)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    cells, numeric = _cells(frame, currency)
    rows = []
    for values in cells:
        rendered = "".join(
            f'<td class="num">{html.escape(v)}</td>' if is_num else f"<td>{html.escape(v)}</td>"
            for v, is_num in zip(values, numeric, strict=True)
        )
        rows.append(f"<tr>{rendered}</tr>")
    if not rows:
        rows.append(f'<tr><td colspan="{max(len(frame.columns), 1)}"><i>none</i></td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _markdown_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame, *, currency: str | None = None) -> str:
    """A DataFrame as a GitHub-flavoured Markdown table (no ``tabulate`` needed).

    Cells are formatted with :func:`format_value`; numeric columns are right-aligned.

    >>> print(markdown_table(pd.DataFrame({"channel": ["sms"], "messages": [1200]})))
    | channel | messages |
    | --- | ---: |
    | sms | 1,200 |
    """
    frame = _shown(frame)
    cells, numeric = _cells(frame, currency)
    header = "| " + " | ".join(_markdown_cell(str(c)) for c in frame.columns) + " |"
    rule = "| " + " | ".join("---:" if is_num else "---" for is_num in numeric) + " |"
    rows = ["| " + " | ".join(_markdown_cell(v) for v in values) + " |" for values in cells]
    if not rows:
        rows = ["| " + " | ".join(["*none*"] + [""] * (len(frame.columns) - 1)) + " |"]
    return "\n".join([header, rule, *rows])
