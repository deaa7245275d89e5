"""The one declaration of every result frame: its columns, their dtypes and meaning.

Each frame of a simulation result (``segment_events``, ``runs``, ``steps``, ``actions``,
``suppressed``, and the outcome frames ``responses`` and ``conversions``) is declared once
here as a :class:`FrameSpec`. Everything else derives from it: the tuples the engine
appends (their fields are the frame's columns, in order), the Parquet parts and their
assembly, the dtypes of in-memory and lazily read frames, empty frames, and the docs table. Adding a column is an edit here plus the code that produces
its value.

Engine rows carry times as ``int`` epoch microseconds and, in ``run_id``, the engine's
internal run key; :mod:`segsim.engine.output` renumbers runs canonically.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

__all__ = [
    "ACTIONS",
    "CONVERSIONS",
    "CORE_FRAMES",
    "FRAMES",
    "OUTCOME_FRAMES",
    "RESPONSES",
    "RUNS",
    "SEGMENT_EVENTS",
    "STEPS",
    "SUPPRESSED",
    "TIME_DTYPE",
    "Column",
    "FrameSpec",
]

#: The dtype of every time column of every frame.
TIME_DTYPE = "datetime64[us, UTC]"

#: How a column is stored: ``time`` (tz-aware UTC; engine rows hold epoch µs), ``id``
#: (the store's contact-id dtype: int64 or object), ``str`` (object, ``None`` when missing),
#: ``int64``, ``float64``.
ColumnKind = Literal["time", "id", "str", "int64", "float64"]


@dataclass(frozen=True)
class Column:
    """One column of a frame."""

    name: str
    kind: ColumnKind
    doc: str


@dataclass(frozen=True)
class FrameSpec:
    """A result frame: what one row is, and its columns in order."""

    name: str
    row: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        """The column names, in order."""
        return [c.name for c in self.columns]

    def position(self, column: str) -> int:
        """The index of ``column`` in the frame's rows (and in engine tuples)."""
        for i, c in enumerate(self.columns):
            if c.name == column:
                return i
        raise KeyError(f"frame {self.name!r} has no column {column!r}")

    def kinds(self) -> dict[str, ColumnKind]:
        return {c.name: c.kind for c in self.columns}

    def from_rows(self, rows: Sequence[Sequence[Any]], id_dtype: str) -> pd.DataFrame:
        """The frame from plain rows in column order, times as ``int`` epoch microseconds."""
        values: Iterable[Sequence[Any]] = (
            list(zip(*rows, strict=True)) if rows else [()] * len(self.columns)
        )
        data = {}
        for column, column_values in zip(self.columns, values, strict=True):
            raw = pd.Series(column_values, dtype=_ROW_DTYPE.get(column.kind, object))
            data[column.name] = _typed(column.kind, raw, id_dtype)
        return pd.DataFrame(data)

    def typed(self, frame: pd.DataFrame, id_dtype: str) -> pd.DataFrame:
        """``frame`` with exactly this spec's columns, in order, with their dtypes.

        Time columns may hold epoch microseconds (integers) or timestamps.
        """
        return pd.DataFrame(
            {
                c.name: _typed(c.kind, frame[c.name].reset_index(drop=True), id_dtype)
                for c in self.columns
            }
        )

    def empty(self, id_dtype: str) -> pd.DataFrame:
        """An empty frame with the right columns and dtypes (a new frame each call)."""
        key = (self.name, id_dtype)
        if key not in _EMPTY:  # built once: typing even no rows costs ~10 ms per frame
            _EMPTY[key] = self.from_rows([], id_dtype)
        return _EMPTY[key].copy()


#: every empty frame built so far, by (frame, id dtype): :meth:`FrameSpec.empty` copies them
_EMPTY: dict[tuple[str, str], pd.DataFrame] = {}


# how the values of engine rows are first read, before they take their final dtype
_ROW_DTYPE: dict[str, Any] = {"time": "int64", "int64": "int64", "float64": "float64"}


def _typed(kind: ColumnKind, values: pd.Series, id_dtype: str) -> pd.Series:
    if kind == "time":
        if pd.api.types.is_integer_dtype(values):
            values = pd.to_datetime(values, unit="us", utc=True)
        return pd.to_datetime(values, utc=True).astype(TIME_DTYPE)
    if kind == "id":
        return values.astype(id_dtype)
    if kind == "str":
        return pd.Series(values.astype(object).where(values.notna(), None), dtype=object)
    return values.astype(kind)


SEGMENT_EVENTS = FrameSpec(
    "segment_events",
    "membership change",
    (
        Column("time", "time", "when the contact entered or left the segment"),
        Column("contact_id", "id", "the contact, exactly as loaded"),
        Column("segment", "str", "the segment's name"),
        Column("event", "str", "enter or exit"),
        Column("nth", "int64", "entries so far over the whole history (1 = the first)"),
        Column("cause", "str", "history, time or flow step"),
    ),
)

RUNS = FrameSpec(
    "runs",
    "flow run",
    (
        Column("run_id", "int64", "1, 2, … by entry time, contact, flow"),
        Column("flow", "str", "the flow's name"),
        Column("version", "int64", "the flow version the run entered on"),
        Column("contact_id", "id", "the contact, exactly as loaded"),
        Column("entered_at", "time", "when the run entered"),
        Column("entry", "str", "first, reentry, restart or recheck"),
        Column("ended_at", "time", "when the run ended (the window's end if still running)"),
        Column("end_reason", "str", "how the run ended (horizon: still running at the end)"),
    ),
)

STEPS = FrameSpec(
    "steps",
    "step executed",
    (
        Column("time", "time", "when the step was executed"),
        Column("run_id", "int64", "the run"),
        Column("flow", "str", "the flow's name"),
        Column("contact_id", "id", "the contact"),
        Column("step_id", "str", "the step's id"),
        Column("kind", "str", "the step's kind (send_email, wait, branch, wait_for, …)"),
        Column(
            "outcome",
            "str",
            "waiting, then/otherwise (branch), then/timed_out (wait_for), or the action's status",
        ),
        Column("version", "int64", "the flow version in force"),
    ),
)

ACTIONS = FrameSpec(
    "actions",
    "action step",
    (
        Column("time", "time", "when the action happened"),
        Column("run_id", "int64", "the run"),
        Column("flow", "str", "the flow's name"),
        Column("step_id", "str", "the step's id"),
        Column("contact_id", "id", "the contact"),
        Column("action", "str", "the action kind"),
        Column("channel", "str", "email, sms, whatsapp, webhook, or empty"),
        Column("template", "str", "the message template (messages only)"),
        Column("status", "str", "sent, applied or skipped"),
        Column("reason", "str", "why a message was skipped"),
        Column("cost", "float64", "the cost of a sent message or webhook"),
        Column("detail", "str", "list name, webhook method and url, or the attributes set"),
        Column("version", "int64", "the flow version in force"),
        Column(
            "queued",
            "float64",
            "seconds the message waited in its channel's rate-limit queue (0 if none)",
        ),
    ),
)

SUPPRESSED = FrameSpec(
    "suppressed",
    "trigger event that did not enter",
    (
        Column("time", "time", "when the trigger event happened"),
        Column("flow", "str", "the flow's name"),
        Column("contact_id", "id", "the contact"),
        Column("reason", "str", "the first suppression reason that applied"),
    ),
)

RESPONSES = FrameSpec(
    "responses",
    "response to a sent message",
    (
        Column("time", "time", "when the contact responded (the send plus its delays)"),
        Column("run_id", "int64", "the run that sent the message"),
        Column("flow", "str", "the flow's name"),
        Column("step_id", "str", "the message's step"),
        Column("contact_id", "id", "the contact"),
        Column("channel", "str", "email, sms or whatsapp"),
        Column("template", "str", "the message template"),
        Column(
            "response",
            "str",
            "delivered, bounced, opened (human), machine_opened, clicked or unsubscribed",
        ),
    ),
)

CONVERSIONS = FrameSpec(
    "conversions",
    "goal occurrence credited to a sent message",
    (
        Column("time", "time", "when the goal event happened"),
        Column("contact_id", "id", "the contact"),
        Column("flow", "str", "the flow whose goal it is"),
        Column("step_id", "str", "the credited message's step"),
        Column("channel", "str", "the credited message's channel"),
        Column("value", "float64", "the conversion's value (NaN when the goal has none)"),
        Column("source", "str", "observed (in the data) or simulated (a click converting)"),
        Column("run_id", "int64", "the run that sent the credited message"),
    ),
)

#: The five frames every result has (docs/design.md §5).
CORE_FRAMES: tuple[str, ...] = ("segment_events", "runs", "steps", "actions", "suppressed")
#: The frames of responses and goals (docs/design.md §10): empty without a response model
#: or a goal, and empty when a result made before them is read.
OUTCOME_FRAMES: tuple[str, ...] = ("responses", "conversions")

#: Every frame of a simulation result, by name, in the documented order.
FRAMES: dict[str, FrameSpec] = {
    spec.name: spec
    for spec in (SEGMENT_EVENTS, RUNS, STEPS, ACTIONS, SUPPRESSED, RESPONSES, CONVERSIONS)
}
