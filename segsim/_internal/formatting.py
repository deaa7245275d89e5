"""How figures are written for people: one formatting rule for the CLI, reports and displays.

* **Counts** are integers with thousands separators (``6,173``), never ``6173.000``.
* **Identifiers** (``contact_id``, ``run_id``, any ``*_id`` column, ``seed``, ``version``)
  are written as they are: ``1001``, not ``1,001``.
* **Costs** (a column ``cost``, ``*_cost`` or ``cost_*``, or a ``metric`` row of that name)
  are written to the cent with the currency: ``12.34 EUR``; a cost under half a cent that is
  not zero is ``< 0.01 EUR``, so a non-zero cost never reads as zero.
* **Relative changes** (``*_change``) are signed percents, ``+12.5%``; shares (``share*``,
  ``*share``) are percents, ``12.5%``.
* **Instants** are dates when at midnight (``2026-01-05``), else ``2026-01-05 09:30``
  (UTC); durations are their shortest exact form (``2d``); booleans are ``yes``/``no``;
  missing values are empty.

A table whose first column is ``metric`` (a metrics × variants summary) is formatted per
row: each value is formatted as its metric, and the changes as changes.
"""

from __future__ import annotations

import datetime as dt
import numbers
from typing import Any

import numpy as np
import pandas as pd

from segsim._time import format_duration

__all__ = [
    "DEFAULT_CURRENCY",
    "format_cost",
    "format_frame",
    "format_value",
    "is_cost",
    "is_identifier",
]

#: The currency of costs when nothing says otherwise (``Channels.currency``'s default).
DEFAULT_CURRENCY = "EUR"

_IDENTIFIERS = frozenset({"seed", "version", "nth"})


def is_cost(name: str) -> bool:
    """Whether a column (or metric) named ``name`` holds a cost."""
    return name == "cost" or name.endswith("_cost") or name.startswith("cost_")


def is_identifier(name: str) -> bool:
    """Whether a column named ``name`` holds identifiers (written without separators)."""
    return name in _IDENTIFIERS or name.endswith("_id")


def format_cost(value: Any, currency: str = DEFAULT_CURRENCY) -> str:
    """A cost to the cent, with its currency.

    >>> format_cost(1234.5), format_cost(0.003, "USD"), format_cost(0)
    ('1,234.50 EUR', '< 0.01 USD', '0.00 EUR')
    """
    if _is_missing(value):
        return ""
    amount = float(value)
    if amount != 0 and abs(amount) < 0.005:
        return f"{'> -' if amount < 0 else '< '}0.01 {currency}"
    return f"{amount:,.2f} {currency}"


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_value(
    value: Any, column: str = "", *, metric: str | None = None, currency: str | None = None
) -> str:
    """One cell as text, by the rules of this module.

    Parameters
    ----------
    value
        The cell.
    column : str
        Its column's name (says whether it is a cost, an identifier, a share or a change).
    metric : str, optional
        In a metrics × variants table, the row's metric (a cost metric formats as a cost).
    currency : str, optional
        The currency of costs (default :data:`DEFAULT_CURRENCY`).
    """
    currency = currency or DEFAULT_CURRENCY
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v, currency=currency) for v in value)
    if _is_missing(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        stamp = pd.Timestamp(value)
        return f"{stamp:%Y-%m-%d}" if stamp == stamp.normalize() else f"{stamp:%Y-%m-%d %H:%M}"
    if isinstance(value, (pd.Timedelta, dt.timedelta)):
        return format_duration(pd.Timedelta(value).to_pytimedelta())
    if not isinstance(value, numbers.Real):
        return str(value)
    if column.endswith("change"):
        return f"{float(value):+.1%}"
    if column.startswith("share") or column.endswith("share"):
        return f"{float(value):.1%}"
    # a probability (``p_higher``, ``<variant>_p_higher``) is a plain number, on a cost row too
    probability = column == "p_higher" or column.endswith("_p_higher")
    if not probability and is_cost(metric if metric is not None else column):
        return format_cost(value, currency)
    if isinstance(value, (numbers.Integral, np.integer)):  # exact, also beyond 2**53
        whole = int(value)
        return str(whole) if is_identifier(column) else f"{whole:,}"
    number = float(value)
    if is_identifier(column):
        return str(int(number)) if number.is_integer() else str(value)
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.4f}".rstrip("0")


def format_frame(frame: pd.DataFrame, *, currency: str | None = None) -> pd.DataFrame:
    """Every cell of ``frame`` as text (a named index becomes the first column)."""
    if frame.index.name is not None or isinstance(frame.index, pd.MultiIndex):
        frame = frame.reset_index()
    by_metric = len(frame.columns) > 0 and frame.columns[0] == "metric"
    out = {}
    for column in frame.columns:
        name = str(column)
        if by_metric and name != "metric":
            out[name] = [
                format_value(v, name, metric=str(m), currency=currency)
                for v, m in zip(frame[column], frame["metric"], strict=True)
            ]
        else:
            out[name] = [format_value(v, name, currency=currency) for v in frame[column]]
    return pd.DataFrame(out, columns=[str(c) for c in frame.columns])
