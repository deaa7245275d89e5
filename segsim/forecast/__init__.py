"""Forward projection: the sends the flows would make after the end of the history.

:func:`forecast` builds, for each replication, a possible future of the contacts by a block
bootstrap of whole contact trajectories from the store's own history, runs the scenario's
flows over it and counts the projected messages per day, flow and channel. The result, a
:class:`Forecast`, is an **estimate** (docs/design.md §11, docs/semantics.md "Forward
projection"): its frames, summaries and chart are kept apart from replayed results and
labelled as projections.

The method, in short (``H`` is the scenario's ``end``, the end of the history used; ``B``
the block length, by default the horizon):

* the history is every stored row before ``H``; rows at or after ``H`` are ignored;
* the *block* is the last ``B`` of history, ``[H - B, H)``; the future ``[H, H + horizon)``
  is cut into tiles of length ``B``, tile ``k`` covering ``[H + k·B, H + (k+1)·B)``;
* for each tile, every contact present (each existing contact, and each contact that has
  arrived in an earlier tile) receives the block rows (attribute changes, list changes,
  events) of a *donor* drawn uniformly with replacement among the *established* contacts
  (first row before ``H - B``), shifted by ``(k+1)·B``, on top of its own state;
* per tile, as many new contacts arrive as arrived in the block (contacts whose first row
  is in ``[H - B, H)``): each copies the block rows of one such arrival drawn uniformly with
  replacement, shifted likewise, under a new id that no stored contact has;
* the flows run on the store so built from the scenario's ``start`` to ``H + horizon``
  (so runs in progress at ``H`` carry on), and the messages sent in ``[H, H + horizon)`` are
  counted. Nothing is written to the user's store: each replication builds its own
  in-memory :class:`~segsim.store.Store`.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from pydantic import TypeAdapter, ValidationError

from segsim import schema
from segsim._internal.naming import PositiveDuration
from segsim._internal.sql import quote_identifier
from segsim._internal.vocab import MESSAGE_ACTIONS
from segsim.errors import ScenarioError, SegsimWarning

__all__ = ["Backtest", "Forecast", "forecast", "interval_summary"]

METHODS = ("bootstrap",)
_DURATION = TypeAdapter(PositiveDuration)
_FRAME_COLUMNS = ["day", "flow", "channel", "replication", "messages", "cost"]
_BY = ("flow", "channel")


# -- the bootstrap -----------------------------------------------------------------------------


def _duration(value: Any, what: str) -> dt.timedelta:
    try:
        return _DURATION.validate_python(value)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ValueError(f"{what}: {message} (got {value!r})") from None


def _rng(seed: int, replication: int) -> np.random.Generator:
    """The generator of one replication: PCG64 from ``SeedSequence((seed mod 2**64, r))``."""
    return np.random.default_rng(np.random.SeedSequence([seed % 2**64, replication]))


def _naive(ts: dt.datetime) -> dt.datetime:
    """A UTC instant as the naive timestamp the store's tables hold."""
    return ts.astimezone(dt.UTC).replace(tzinfo=None)


class _History:
    """The user's store read once: its rows before ``H`` and who is established or arrived."""

    def __init__(self, store: Any, end: dt.datetime, block: dt.timedelta) -> None:
        if not store._has_tables():
            raise ScenarioError("forecast needs a store with contact histories; this one is empty")
        self.id_type = store.id_type
        self.end = _naive(end)
        self.block = block
        con = store.con
        cut = [self.end]
        self.attributes = con.sql(f"SELECT * FROM {schema.ATTRIBUTES}").to_arrow_table()
        self.changes = con.sql(
            f"SELECT * FROM {schema.CHANGES} WHERE ts < ?", params=cut
        ).to_arrow_table()
        self.lists = con.sql(
            f"SELECT * FROM {schema.LIST_CHANGES} WHERE ts < ?", params=cut
        ).to_arrow_table()
        self.has_events = store._has_events()
        if self.has_events:
            self.event_columns = [
                (name, kind)
                for name, kind, *_ in con.execute(f"DESCRIBE {schema.EVENTS}").fetchall()
            ]
            self.events = con.sql(
                f"SELECT * FROM {schema.EVENTS} WHERE ts < ? ORDER BY seq", params=cut
            ).to_arrow_table()
            self.properties = con.sql(f"SELECT * FROM {schema.EVENT_PROPERTIES}").to_arrow_table()
        first = con.execute(
            f"""SELECT contact_id, min(ts) AS first_ts FROM (
                    SELECT contact_id, ts FROM {schema.CHANGES} UNION ALL
                    SELECT contact_id, ts FROM {schema.LIST_CHANGES}
                    {f"UNION ALL SELECT contact_id, ts FROM {schema.EVENTS}" if self.has_events else ""})
                WHERE ts < ? GROUP BY contact_id ORDER BY contact_id""",
            cut,
        ).fetchall()
        if not first:
            raise ScenarioError(f"the store has no rows before the history end {end}")
        start = self.end - block
        earliest = min(ts for _, ts in first)
        if earliest >= start:
            raise ScenarioError(
                f"the block [{start}, {self.end}) reaches back to the start of the history "
                f"({earliest}): no contact was established before it, so there are no "
                "trajectories of existing contacts to resample; give a shorter block= (or "
                "horizon=) or a later scenario end"
            )
        self.contacts = [cid for cid, _ in first]  # every contact present at H, in id order
        self.established = [cid for cid, ts in first if ts < start]
        self.arrivals = [cid for cid, ts in first if ts >= start]
        # new ids avoid every stored id, rows after H included
        events = f"UNION SELECT contact_id FROM {schema.EVENTS}" if self.has_events else ""
        known = [
            cid
            for (cid,) in con.execute(
                f"""SELECT contact_id FROM {schema.CHANGES}
                    UNION SELECT contact_id FROM {schema.LIST_CHANGES} {events}"""
            ).fetchall()
        ]
        if self.id_type == "integer":
            self.next_id = max(known) + 1
        else:
            prefix = "forecast-new-"
            while any(str(c).startswith(prefix) for c in known):
                prefix = "~" + prefix
            self.prefix = prefix

    def new_id(self, n: int) -> Any:
        """The ``n``-th new contact's id (0-based): after every stored id, or a prefix no
        stored id starts with."""
        return self.next_id + n if self.id_type == "integer" else f"{self.prefix}{n}"


def _donor_map(history: _History, tiles: int, rng: np.random.Generator) -> pd.DataFrame:
    """``contact_id, donor, tile`` of one replication, drawn tile by tile: every present
    contact (in id order, then arrivals in arrival order) an established donor, then the
    tile's arrivals an arriving donor each."""
    present = list(history.contacts)
    established = history.established
    arrivals = history.arrivals
    rows: list[tuple[Any, Any, int]] = []
    created = 0
    for tile in range(tiles):
        picks = rng.integers(0, len(established), size=len(present))
        rows.extend((c, established[i], tile) for c, i in zip(present, picks, strict=True))
        if arrivals:
            new = [history.new_id(created + j) for j in range(len(arrivals))]
            created += len(arrivals)
            picks = rng.integers(0, len(arrivals), size=len(arrivals))
            rows.extend((c, arrivals[i], tile) for c, i in zip(new, picks, strict=True))
            present.extend(new)
    frame = pd.DataFrame(rows, columns=["contact_id", "donor", "tile"])
    frame["tile"] = frame["tile"].astype("int64")
    if history.id_type == "integer":
        frame = frame.astype({"contact_id": "int64", "donor": "int64"})
    return frame


def _future_store(
    history: _History, donors: pd.DataFrame, horizon: dt.timedelta, store_class: Any
) -> Any:
    """A fresh in-memory store: the history before H, then each contact's shifted donor rows."""
    store = store_class()
    con = store.con
    con.execute("BEGIN TRANSACTION")
    for statement in schema.create_statements(history.id_type):
        con.execute(statement)
    con.execute(
        f"INSERT INTO {schema.META} VALUES ('schema_version', ?), ('id_type', ?)",
        [schema.SCHEMA_VERSION, history.id_type],
    )
    con.register("h_attributes", history.attributes)
    con.register("h_changes", history.changes)
    con.register("h_lists", history.lists)
    con.register("h_donors", donors)
    con.execute(f"INSERT INTO {schema.ATTRIBUTES} SELECT * FROM h_attributes")
    block_start = history.end - history.block
    end = history.end + horizon
    # the shift of tile k is (k + 1) block lengths, in microseconds (DuckDB's resolution)
    block_us = history.block // dt.timedelta(microseconds=1)
    shift = f"to_microseconds((d.tile + 1) * {block_us})"
    joined = (
        f"JOIN h_donors d ON d.donor = h.contact_id WHERE h.ts >= $start AND h.ts + {shift} < $end"
    )
    params = {"start": block_start, "end": end}
    con.execute(f"INSERT INTO {schema.CHANGES} SELECT * FROM h_changes")
    con.execute(
        f"""INSERT INTO {schema.CHANGES}
            SELECT d.contact_id, h.ts + {shift}, h.attribute, h.v_string, h.v_number,
                   h.v_boolean, h.v_timestamp + {shift}
            FROM h_changes h {joined}""",
        params,
    )
    con.execute(f"INSERT INTO {schema.LIST_CHANGES} SELECT * FROM h_lists")
    con.execute(
        f"""INSERT INTO {schema.LIST_CHANGES}
            SELECT d.contact_id, h.ts + {shift}, h.list, h.member FROM h_lists h {joined}""",
        params,
    )
    if history.has_events:
        for statement in schema.event_statements(history.id_type):
            con.execute(statement)
        for name, kind in history.event_columns[5:]:  # the prop:<name> columns, typed
            con.execute(f"ALTER TABLE {schema.EVENTS} ADD COLUMN {quote_identifier(name)} {kind}")
        con.register("h_events", history.events)
        con.register("h_properties", history.properties)
        con.execute(f"INSERT INTO {schema.EVENT_PROPERTIES} SELECT * FROM h_properties")
        con.execute(f"INSERT INTO {schema.EVENTS} SELECT * FROM h_events")
        props = [name for name, _ in history.event_columns[5:]]
        values = "".join(
            f", h.{quote_identifier(name)}"
            + (f" + {shift}" if kind.startswith("TIMESTAMP") else "")
            for name, kind in history.event_columns[5:]
        )
        columns = ", ".join(
            quote_identifier(c) for c in ["contact_id", "ts", "event", "seq", "event_id", *props]
        )
        # projected occurrences: no event id (an id names one stored occurrence), and seq
        # numbers after every stored one, in tile, contact and donor-occurrence order
        con.execute(
            f"""INSERT INTO {schema.EVENTS} ({columns})
                SELECT d.contact_id, h.ts + {shift}, h.event,
                       (SELECT coalesce(max(seq), 0) FROM h_events)
                           + row_number() OVER (ORDER BY d.tile, d.contact_id, h.seq),
                       NULL{values}
                FROM h_events h {joined}""",
            params,
        )
        for name in ("h_events", "h_properties"):
            con.unregister(name)
    con.execute("COMMIT")
    for name in ("h_attributes", "h_changes", "h_lists", "h_donors"):
        con.unregister(name)
    return store


def _projected_sends(actions: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Messages sent in ``[start, end)`` per day, flow and channel: ``day, flow, channel,
    messages, cost`` (webhooks and other operations are not messages)."""
    sent = actions[
        actions["action"].isin(MESSAGE_ACTIONS)
        & (actions["status"] == "sent")
        & (actions["time"] >= start)
        & (actions["time"] < end)
    ]
    grouped = (
        sent.assign(day=sent["time"].dt.floor("D"))
        .groupby(["day", "flow", "channel"], sort=True)
        .agg(messages=("time", "size"), cost=("cost", "sum"))
        .reset_index()
    )
    return grouped


def forecast(
    scenario: Any,
    *,
    horizon: Any = "90d",
    method: str = "bootstrap",
    replications: int = 100,
    seed: int | None = None,
    block: Any = None,
    backtest: bool = False,
) -> Forecast:
    """Project the messages the scenario's flows would send after the end of its history.

    An estimate, not a replay: see the module docs, docs/design.md §11 and docs/semantics.md
    ("Forward projection") for the method and its assumptions.

    Parameters
    ----------
    scenario : Scenario
        Its ``end`` is the end of the history used (``H``); its flows, segments, channels,
        policy, holdout and schedule run as in :func:`segsim.simulate`, from its ``start``.
    horizon : duration, default ``"90d"``
        The projected window ``[H, H + horizon)``.
    method : ``"bootstrap"``
        A block bootstrap of whole contact trajectories (the only method so far).
    replications : int, default 100
        How many futures to draw; replication ``r`` draws from ``(seed, r)``.
    seed : int, optional
        The seed of the bootstrap draws (default: the scenario's seed). The flows' own
        random choices (splits, holdouts) use the scenario's seed, replication 0, in every
        projected future.
    block : duration, optional
        The block length ``B`` (default: the horizon); the block ``[H - B, H)`` must start
        after the first stored row, so that some contacts are established before it.
    backtest : bool
        Hold out the last ``horizon`` of the history: forecast ``[end - horizon, end)`` from
        the history before it, and compare with what the replay sends there
        (:attr:`Forecast.backtest`: per-week coverage of the intervals and MAPE).

    Returns
    -------
    Forecast
        The projected sends per replication, day, flow and channel (with ``backtest``, of
        the held-out window).

    Raises
    ------
    ValueError
        A bad horizon, block, method or replication count.
    ScenarioError
        No contact is established before the block (the history is shorter than it).
    """
    from segsim.engine import simulate
    from segsim.store import Store

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    if not isinstance(replications, int) or isinstance(replications, bool) or replications < 1:
        raise ValueError(f"replications must be a positive integer, got {replications!r}")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    length = _duration(horizon, "horizon")
    block_length = length if block is None else _duration(block, "block")
    if block_length > length:
        raise ValueError(f"block ({block_length}) must not be longer than the horizon ({length})")
    seed = scenario.seed if seed is None else seed
    if backtest:
        return _backtest(scenario, length, replications, seed, block_length)
    history_end = scenario.end
    history = _History(scenario.store, history_end, block_length)
    tiles = math.ceil(length / block_length)
    projected = scenario.replace(end=history_end + length)
    start, end = pd.Timestamp(history_end), pd.Timestamp(history_end + length)
    parts = []
    seen: dict[str, None] = {}
    for r in range(replications):
        donors = _donor_map(history, tiles, _rng(seed, r))
        store = _future_store(history, donors, length, Store)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = simulate(projected.with_store(store), progress=False)
            for w in caught:
                seen.setdefault(str(w.message))
            parts.append(_projected_sends(result.actions, start, end).assign(replication=r))
        finally:
            store.close()
    for message in seen:  # each distinct warning once, not once per replication
        warnings.warn(message, SegsimWarning, stacklevel=2)
    return Forecast(
        pd.concat(parts, ignore_index=True),
        start=start,
        end=end,
        replications=replications,
        seed=seed,
        method=method,
        block=block_length,
    )


def _backtest(
    scenario: Any, horizon: dt.timedelta, replications: int, seed: int, block: dt.timedelta
) -> Forecast:
    """The forecast of the last ``horizon`` of the history from what came before, with the
    replay's sends there to compare."""
    from segsim.engine import simulate

    cut = scenario.end - horizon
    if cut <= scenario.start:
        raise ValueError(
            f"backtest holds out the last {horizon} of the window [{scenario.start}, "
            f"{scenario.end}), which leaves no history before it; give a shorter horizon"
        )
    try:
        held = scenario.replace(end=cut)
    except ValidationError as exc:  # e.g. a schedule event in the held-out part
        problems = "; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors())
        raise ScenarioError(
            f"backtest: the scenario ending at {cut} (the held-out start) is invalid: {problems}"
        ) from None
    projected = forecast(
        held,
        horizon=horizon,
        replications=replications,
        seed=seed,
        block=min(block, horizon),
    )
    actual = _projected_sends(
        simulate(scenario, progress=False).actions, projected.start, projected.end
    )
    projected.backtest = Backtest(projected, actual)
    return projected


class Backtest:
    """A forecast of held-out history against the replay of it.

    Attributes
    ----------
    weeks : DataFrame
        One row per 7-day period from the held-out start (the last may be shorter):
        ``week`` (its start), ``days``, ``actual`` (messages the replay sends),
        ``messages_mean``, ``messages_low``, ``messages_high`` (the forecast's 95% interval
        over replications) and ``covered`` (``low <= actual <= high``).
    coverage : float
        The share of weeks covered (about 0.95 for well-calibrated intervals).
    mape : float
        The mean over weeks with messages of ``|actual - mean| / actual``; NaN if the replay
        sends nothing in the held-out window.
    """

    def __init__(self, projected: Forecast, actual: pd.DataFrame) -> None:
        start = projected.start
        week = ((projected.to_frame_daily()["day"] - start) // pd.Timedelta(days=7)).rename("w")
        daily = projected.to_frame_daily().assign(w=week)
        per = daily.groupby(["w", "replication"], sort=True)["messages"].sum().reset_index()
        table = interval_summary(per, ["messages"], by=["w"])
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

    def __repr__(self) -> str:
        return (
            f"Backtest({len(self.weeks)} weeks, coverage {self.coverage:.0%}, MAPE {self.mape:.1%})"
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
        block: dt.timedelta,
    ) -> None:
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
            f"{self.end:%Y-%m-%d %H:%M} UTC, {self.replications} bootstrap replications"
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
