"""Shared helpers of :mod:`segsim.analysis`: argument checks, dtypes, orders, periods."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from segsim._internal.periods import (
    PERIOD_COLUMNS,
    assign_periods,
    period_freq,
    window_attr,
    window_of,
)
from segsim._internal.vocab import (
    ACTION_KINDS,
    CHANNELS,
    END_REASONS,
    MESSAGE_ACTIONS,
    OPERATION_ACTIONS,
    OPERATION_COLUMNS,
    SKIP_REASONS,
    SUPPRESSION_REASONS,
)

#: Every action kind, in the documented order.
ACTIONS = ACTION_KINDS
#: Operation kinds in display order (webhooks first), as in tables and summaries.
_OPERATION_ORDER = tuple(OPERATION_COLUMNS)

# Columns whose values have a documented order; any other value sorts after them.
_VALUE_ORDER: dict[str, tuple[str, ...]] = {
    "channel": CHANNELS,
    "action": ACTIONS,
    "end_reason": END_REASONS,
    "event": ("enter", "exit"),
}
_TIME = "datetime64[us, UTC]"
_DELAY = "timedelta64[us]"
_PERIOD_DTYPES = {"period": _TIME, "period_end": _TIME, "partial": bool}


# -- helpers --------------------------------------------------------------------------------------


def _columns(by: str | Sequence[str] | None) -> tuple[str, ...]:
    """``by`` as a tuple of column names (``None`` → no grouping)."""
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    return tuple(by)


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"the {name} frame has no column(s) {', '.join(map(repr, missing))}; "
            f"it has {', '.join(map(str, frame.columns))}"
        )


def _check_by(keys: tuple[str, ...], reserved: Sequence[str]) -> None:
    clash = [key for key in keys if key in reserved]
    if clash:
        raise ValueError(f"cannot group by {', '.join(map(repr, clash))}: it is an output column")


def _finish(
    frame: pd.DataFrame,
    dtypes: Mapping[str, Any],
    *,
    sort: Sequence[str] = (),
    ascending: Any = True,
) -> pd.DataFrame:
    """Columns in order with their dtypes, rows sorted, index reset.

    An ``object`` column gets ``None`` for missing values: grouping turns ``None`` keys into
    ``NaN`` (and pandas 3 infers ``str``), which is not what the input said.
    """
    out = pd.DataFrame(index=frame.index)
    for column, dtype in dtypes.items():
        values = frame[column] if column in frame else pd.Series(dtype=dtype, index=frame.index)
        if pd.api.types.is_object_dtype(dtype):
            values = values.astype(object)
            out[column] = values.where(values.notna(), None)
        else:
            out[column] = values.astype(dtype)
    if sort and len(out):
        out = out.sort_values(list(sort), ascending=ascending, key=_sort_key, kind="stable")
    out = out.reset_index(drop=True)
    out.attrs = {}
    return out


def _sort_key(values: pd.Series) -> pd.Series:
    """Documented value orders for the columns that have one; natural order otherwise."""
    order = _VALUE_ORDER.get(str(values.name))
    if order is None and str(values.name) == "reason":
        order = SKIP_REASONS + SUPPRESSION_REASONS
    if order is None:
        return values
    present = [v for v in values.dropna().unique() if v not in order]
    categories = [v for v in order if v in set(values.dropna())] + sorted(present, key=str)
    return pd.Series(
        pd.Categorical(values, categories=categories, ordered=True), index=values.index
    )


def _dtypes_of(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, Any]:
    return {column: frame[column].dtype for column in columns}


def _messages(actions: pd.DataFrame, status: str | Sequence[str] | None = "sent") -> pd.DataFrame:
    """The message actions (email, SMS, WhatsApp), optionally of given status."""
    messages = actions[actions["action"].isin(MESSAGE_ACTIONS)]
    if status is not None:
        wanted = [status] if isinstance(status, str) else list(status)
        messages = messages[messages["status"].isin(wanted)]
    return messages


def _operations(actions: pd.DataFrame) -> pd.DataFrame:
    """The operations that happened (webhooks called, list and contact changes applied)."""
    operations = actions[actions["action"].isin(OPERATION_ACTIONS)]
    return operations[operations["status"].isin(("sent", "applied"))]


def _group(frame: pd.DataFrame, keys: Sequence[str]):
    return frame.groupby(list(keys), dropna=False, sort=False, observed=True)


def _per_period(
    rows: pd.DataFrame,
    source: pd.DataFrame,
    keys: tuple[str, ...],
    freq: str,
    window: Any,
    count: str,
) -> pd.DataFrame:
    """Count ``rows`` (a subset of ``source``) per clipped period and group."""
    key = period_freq(freq)
    bounds = window_of(source, window)
    table = assign_periods(rows["time"], key, bounds)
    for column in keys:
        table[column] = rows[column]
    counts = _group(table, [*PERIOD_COLUMNS, *keys]).size().reset_index(name=count)
    out = _finish(
        counts,
        {**_PERIOD_DTYPES, **_dtypes_of(source, keys), count: "int64"},
        sort=["period", *keys],
    )
    out.attrs = {"freq": key, "window": window_attr(bounds)}
    return out
