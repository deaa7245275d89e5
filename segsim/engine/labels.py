"""Step labels: the fields a ``steps`` or ``actions`` row shares with every other row of its
step, numbered once, so that the event loop writes a number instead of seven fields.

The loop writes a ``steps`` row as :data:`STEP_ROW` and an ``actions`` row as
:data:`ACTION_ROW`. A row's flow, step id, kind (an action's ``action``), version, channel,
template and detail are its *label's* (:data:`LABEL_FIELDS`): the same for every row of one
step of one flow version. They are filled in when the row's part frame is built
(:func:`segsim.engine.output._part_frame`), each column one numpy take from the label table,
instead of being copied into every row in the hot loop and read back value by value.

Every step of every compiled flow version has its label numbered when the plan is built
(:func:`number_labels`, read in the loop as ``cf.labels[step.id]``); a row whose fields are
not those of a step of the version it is logged under (a step an edit replaced while a
policy held the message, a ``WaitFor`` an edit made another kind of step) gets a label of
its own while the simulation runs (:meth:`Labels.of`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

#: the fields of a label, in the order its tuple holds them
LABEL_FIELDS = ("flow", "step_id", "kind", "version", "channel", "template", "detail")
#: a ``steps`` row as the event loop writes it (``run_id``: the engine's run key; ``label``:
#: the number of its label)
STEP_ROW = ("time", "run_id", "contact_id", "label", "outcome")
#: an ``actions`` row as the event loop writes it
ACTION_ROW = ("time", "run_id", "contact_id", "label", "status", "reason", "cost", "queued")
#: frame -> the layout of its rows as the loop writes them (the frames not here are written
#: in their own column order)
LABELLED_ROWS = {"steps": STEP_ROW, "actions": ACTION_ROW}
#: a frame column that comes from the row's label -> the label field
LABEL_COLUMNS = {
    "flow": "flow",
    "step_id": "step_id",
    "kind": "kind",
    "action": "kind",
    "version": "version",
    "channel": "channel",
    "template": "template",
    "detail": "detail",
}


def label_of(cf: Any, step: Any, kind: str | None = None) -> tuple[Any, ...]:
    """The label of ``step`` logged under flow version ``cf`` (as ``kind``, if given)."""
    return (
        cf.name,
        step.id,
        step.kind if kind is None else kind,
        cf.version,
        getattr(step, "channel", None),
        getattr(step, "template", None),
        getattr(step, "detail", None),
    )


def number_labels(versions: Iterable[Any]) -> tuple[tuple[Any, ...], ...]:
    """Number the label of every step of every compiled flow version (each version's
    ``labels``: step id -> number); the table, by number."""
    table: list[tuple[Any, ...]] = []
    for cf in versions:
        cf.labels = {}
        for step in cf.steps.values():
            cf.labels[step.id] = len(table)
            table.append(label_of(cf, step))
    return tuple(table)


class Labels:
    """One simulation's labels: the plan's (:func:`number_labels`), then any made while it
    runs (:meth:`of`)."""

    def __init__(self, table: Iterable[tuple[Any, ...]] = ()) -> None:
        self.table: list[tuple[Any, ...]] = list(table)
        self._made: dict[tuple[Any, ...], int] = {}
        self._columns: dict[str, np.ndarray] | None = None

    def of(self, cf: Any, step: Any, kind: str | None = None) -> int:
        """The number of the label of ``step`` logged under flow version ``cf`` (as
        ``kind``): the plan's when ``step`` is that version's step, else one made now."""
        code = cf.labels.get(step.id)
        if code is not None and cf.steps[step.id] is step and (kind is None or kind == step.kind):
            return code
        label = label_of(cf, step, kind)
        code = self._made.get(label)
        if code is None:
            code = self._made[label] = len(self.table)
            self.table.append(label)
            self._columns = None
        return code

    def columns(self) -> dict[str, np.ndarray]:
        """Each label field as an array indexed by label number (``version`` int64, the
        others object)."""
        if self._columns is None:  # made again after a label is added (see of)
            self._columns = {}
            for i, name in enumerate(LABEL_FIELDS):
                values = [label[i] for label in self.table]
                if name == "version":
                    self._columns[name] = np.array(values, dtype="int64")
                else:
                    self._columns[name] = np.fromiter(values, dtype=object, count=len(values))
        return self._columns


def check_labelled_rows(*specs: Any) -> None:
    """Check, at import of the event loop, that the rows it writes with a label
    (:data:`LABELLED_ROWS`) give every column of these frames (each a ``FrameSpec``): from the
    row, or from its label."""
    for spec in specs:
        row = LABELLED_ROWS[spec.name]
        given = {*row, *LABEL_COLUMNS} - {"label"}
        missing = [c for c in spec.names if c not in given]
        unknown = [c for c in row if c != "label" and c not in spec.names]
        if missing or unknown:
            raise RuntimeError(
                f"the event loop (segsim.engine.core) writes {spec.name} rows as {row}, with a "
                f"label of {tuple(LABEL_COLUMNS)}, but the frame declares {tuple(spec.names)}: "
                "give the new column its value where the engine writes the rows"
            )
