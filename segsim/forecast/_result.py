"""The result of a forward projection: :class:`Forecast` (projected sends per replication,
day, flow and channel), :class:`Backtest` and :func:`interval_summary` (docs/design.md §11)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from segsim._internal.formatting import DEFAULT_CURRENCY

_FRAME_COLUMNS = ["day", "flow", "channel", "replication", "messages", "cost"]
_BY = ("flow", "channel")


class Backtest:
    """A forecast of held-out history against the replay of it.

    Attributes
    ----------
    weeks : DataFrame
        One row per 7-day period from the held-out start (the last may be shorter):
        ``week`` (its start), ``days``, ``actual`` (messages the replay sends),
        ``messages_mean``, ``messages_low``, ``messages_high`` (the forecast's ``level``
        interval over replications) and ``covered`` (``low <= actual <= high``).
    level : float
        The intervals' level (0.95 unless :meth:`at_level` chose another).
    coverage : float
        The share of weeks covered (about ``level`` for well-calibrated intervals).
    mape : float
        The mean over weeks with messages of ``|actual - mean| / actual``; NaN if the replay
        sends nothing in the held-out window.
    """

    def __init__(self, projected: Forecast, actual: pd.DataFrame, *, level: float = 0.95) -> None:
        self._projected, self._actual, self.level = projected, actual, level
        start = projected.start
        week = ((projected.to_frame_daily()["day"] - start) // pd.Timedelta(days=7)).rename("w")
        daily = projected.to_frame_daily().assign(w=week)
        per = daily.groupby(["w", "replication"], sort=True)["messages"].sum().reset_index()
        table = interval_summary(per, ["messages"], by=["w"], level=level)
        actual_week = ((actual["day"] - start) // pd.Timedelta(days=7)).rename("w")
        counts = actual.groupby(actual_week)["messages"].sum()
        days = daily.drop_duplicates("day").groupby("w").size()
        table["actual"] = table["w"].map(counts).fillna(0).astype("int64")
        table["days"] = table["w"].map(days).astype("int64")
        table["week"] = start + pd.to_timedelta(table["w"] * 7, unit="D")
        table["covered"] = (table["messages_low"] <= table["actual"]) & (
            table["actual"] <= table["messages_high"]
        )
        self.weeks = table[
            ["week", "days", "actual", "messages_mean", "messages_low", "messages_high", "covered"]
        ].reset_index(drop=True)
        self.coverage = float(self.weeks["covered"].mean())
        sent = self.weeks[self.weeks["actual"] > 0]
        errors = (sent["actual"] - sent["messages_mean"]).abs() / sent["actual"]
        self.mape = float(errors.mean()) if len(sent) else float("nan")

    def at_level(self, level: float) -> Backtest:
        """The same comparison with intervals of another level (e.g. 0.9)."""
        return Backtest(self._projected, self._actual, level=level)

    def __repr__(self) -> str:
        return (
            f"Backtest({len(self.weeks)} weeks, {self.level:.0%} intervals cover "
            f"{self.coverage:.0%}, MAPE {self.mape:.1%})"
        )


# -- the result --------------------------------------------------------------------------------


def interval_summary(
    per_replication: pd.DataFrame,
    metrics: Sequence[str],
    *,
    by: Sequence[str] = (),
    level: float = 0.95,
) -> pd.DataFrame:
    """Mean and percentile interval of each metric over replications (one row per
    replication and group): ``*by, <metric>_mean, <metric>_low, <metric>_high, replications``.

    ``low`` and ``high`` are the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles
    (linear interpolation). With at most 40 replications and ``level`` ≥ 0.95 the mean
    always lies in the interval; with more replications, or a narrower level, a skewed
    metric's mean may fall outside it.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    lo, hi = (1 - level) / 2, (1 + level) / 2
    groups = per_replication.groupby(list(by), sort=True) if by else [((), per_replication)]
    rows = []
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        row: list[Any] = list(key)
        for metric in metrics:
            values = group[metric].to_numpy(dtype="float64")
            row += [
                float(values.mean()),
                float(np.quantile(values, lo)),
                float(np.quantile(values, hi)),
            ]
        rows.append((*row, len(group)))
    columns = [*by, *(f"{m}_{s}" for m in metrics for s in ("mean", "low", "high")), "replications"]
    return pd.DataFrame(rows, columns=columns).astype({"replications": "int64"})


class Forecast:
    """Projected sends of a scenario after its history: an estimate, from :func:`forecast`.

    Attributes
    ----------
    start, end : Timestamp
        The projected window ``[start, end)`` (UTC); ``start`` is the history's end.
    replications, seed, method, block
        How the futures were drawn.
    """

    def __init__(
        self,
        sends: pd.DataFrame,
        *,
        start: pd.Timestamp,
        end: pd.Timestamp,
        replications: int,
        seed: int,
        method: str,
        block: dt.timedelta | None,
        currency: str = DEFAULT_CURRENCY,
    ) -> None:
        #: The currency of every cost (the scenario's ``Channels.currency``).
        self.currency = currency
        self._sends = sends
        self.start, self.end = start, end
        #: With ``forecast(..., backtest=True)``: the comparison with the replay.
        self.backtest: Backtest | None = None
        self.replications, self.seed, self.method, self.block = replications, seed, method, block

    @property
    def days(self) -> pd.DatetimeIndex:
        """Every projected UTC day (the first and last may be partial)."""
        return pd.date_range(self.start.floor("D"), self.end - pd.Timedelta(1, "us"), freq="D")

    def to_frame(self) -> pd.DataFrame:
        """``day, flow, channel, replication, messages, cost``: one row per projected day,
        (flow, channel) that sends in any replication, and replication, zeros included."""
        sends = self._sends
        pairs = sorted(set(zip(sends["flow"], sends["channel"], strict=True)))
        index = pd.MultiIndex.from_tuples(
            [(d, f, c, r) for d in self.days for f, c in pairs for r in range(self.replications)],
            names=["day", "flow", "channel", "replication"],
        )
        frame = (
            sends.set_index(["day", "flow", "channel", "replication"])[["messages", "cost"]]
            .reindex(index, fill_value=0)
            .reset_index()
        )
        return frame.astype(
            {
                "flow": "str",
                "channel": "str",
                "replication": "int64",
                "messages": "int64",
                "cost": "float64",
            }
        )[_FRAME_COLUMNS]

    def to_frame_daily(self) -> pd.DataFrame:
        """``day, replication, messages, cost``: every flow and channel together, one row per
        projected day and replication, zeros included."""
        return self._per_replication(["day"])

    def _per_replication(self, keys: list[str]) -> pd.DataFrame:
        frame = self.to_frame()
        groups = [*keys, "replication"]
        if frame.empty:  # nothing projected anywhere: zeros per day and in total
            if keys == ["day"]:
                index = pd.MultiIndex.from_product(
                    [self.days, range(self.replications)], names=groups
                )
            elif not keys:
                index = pd.Index(range(self.replications), name="replication")
            else:  # per flow or channel: no (flow, channel) sends, so no rows
                index = pd.MultiIndex.from_tuples([], names=groups)
            zeros = pd.DataFrame({"messages": 0, "cost": 0.0}, index=index).reset_index()
            return zeros.astype({"messages": "int64", "cost": "float64"})
        return frame.groupby(groups, sort=True)[["messages", "cost"]].sum().reset_index()

    def _check_by(self, by: Any) -> list[str]:
        chosen = [] if by is None else [by] if isinstance(by, str) else list(by)
        unknown = [b for b in chosen if b not in _BY]
        if unknown:
            raise ValueError(f"by must name 'flow' and/or 'channel'; got {unknown[0]!r}")
        return chosen

    def summary(self, *, by: Any = None, level: float = 0.95) -> pd.DataFrame:
        """Per projected day (and per ``by``: ``"flow"``, ``"channel"`` or both), the mean
        and interval over replications of messages and cost: ``day, *by, messages_mean,
        messages_low, messages_high, cost_mean, cost_low, cost_high, replications``."""
        keys = ["day", *self._check_by(by)]
        return interval_summary(
            self._per_replication(keys), ["messages", "cost"], by=keys, level=level
        )

    def totals(self, *, by: Any = None, level: float = 0.95) -> pd.DataFrame:
        """Over the whole horizon (per ``by`` if given), the mean and interval over
        replications of messages and cost (columns as :meth:`summary`, without ``day``)."""
        keys = self._check_by(by)
        return interval_summary(
            self._per_replication(keys), ["messages", "cost"], by=keys, level=level
        )

    def plot(self, *, level: float = 0.95, ax: Any = None) -> Any:
        """A fan chart of projected messages per day: the mean and the ``level`` interval
        over replications (:func:`segsim.plots.plot_forecast`), titled as an estimate."""
        from segsim.plots import plot_forecast

        return plot_forecast(self.summary(level=level), level=level, ax=ax)

    def _repr_html_(self) -> str:
        import html

        table = self.totals(by=["flow", "channel"]) if len(self._sends) else self.totals()
        title = html.escape(
            f"Forecast — an estimate, not a replay: {self.start:%Y-%m-%d %H:%M} → "
            f"{self.end:%Y-%m-%d %H:%M} UTC, {self.replications} replications ({self.method})"
        )
        return (
            f"<p><b>{title}</b></p><p>Projected messages and cost over the horizon: mean and "
            "95% interval over replications.</p>" + table.to_html(index=False)
        )

    def __repr__(self) -> str:
        total = self.totals()
        return (
            f"Forecast(estimate, {self.start:%Y-%m-%d %H:%M} → {self.end:%Y-%m-%d %H:%M}, "
            f"{self.replications} replications, {total['messages_mean'].iloc[0]:.1f} messages "
            "projected on average)"
        )
