"""Forward projection: the sends the flows would make after the end of the history.

:func:`forecast` builds, for each replication, a possible future of the contacts by a block
bootstrap of whole contact trajectories from the store's own history, runs the scenario's
flows over it and counts the projected messages per day, flow and channel. The result, a
:class:`Forecast`, is an **estimate** (docs/design.md §11, docs/semantics.md "Forward
projection"): its frames, summaries and chart are kept apart from replayed results and
labelled as projections.

The method, in short (``H`` is the scenario's ``end``, the end of the history used; ``B``
the block length, by default the horizon; ``P`` the block positions, by default
``ceil(B / 7 days)``):

* the history is every stored row before ``H``; rows at or after ``H`` are ignored;
* block position ``j`` (``0 … P-1``) is ``[H - B - 7j days, H - 7j days)``, kept while it
  starts after the first stored row; the future ``[H, H + horizon)`` is cut into tiles of
  length ``B``, tile ``k`` covering ``[H + k·B, H + (k+1)·B)``;
* each tile of each future draws one position (a moving-block bootstrap: the futures differ
  in the level and calendar they replay); every contact present (each existing contact,
  and each contact that has arrived in an earlier tile) receives that block's rows
  (attribute changes, list changes, events) of a *donor* drawn with replacement among the
  ``round(√n)`` contacts *established* before the block (first row before its start) of
  the nearest tenure (:func:`_tenure_donors`), shifted by ``(k+1)·B + 7j days``, on top of
  its own state;
* per tile, as many new contacts arrive as arrived in that block (contacts whose first row
  is in it): each copies the block rows of one such arrival drawn uniformly with
  replacement, shifted likewise, under a new id that no stored contact has;
* the flows run on the store so built from the scenario's ``start`` to ``H + horizon``
  (so runs in progress at ``H`` carry on), and the messages sent in ``[H, H + horizon)`` are
  counted, future ``r`` drawing the flows' random choices (splits, holdouts, responses) of
  replication ``r``. Nothing is written to the user's store: each replication builds its own
  in-memory :class:`~segsim.store.Store`.

``method="poisson"`` draws the future from fitted event rates instead
(:mod:`segsim.forecast._fitted`); :mod:`segsim.forecast._result` holds the result classes and
:mod:`segsim.forecast._report` the "Projection" report sections.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from pydantic import TypeAdapter, ValidationError

from segsim import schema
from segsim._internal.naming import PositiveDuration
from segsim._internal.sql import quote_identifier
from segsim._internal.vocab import MESSAGE_ACTIONS
from segsim.errors import ScenarioError, SegsimWarning
from segsim.forecast._result import Backtest, Forecast, interval_summary

__all__ = ["Backtest", "Forecast", "forecast", "forecast_problems", "interval_summary"]

METHODS = ("bootstrap", "poisson")
#: The distance between two block positions of the moving-block bootstrap.
POSITION_STEP = dt.timedelta(days=7)
_DURATION = TypeAdapter(PositiveDuration)


# -- the bootstrap -----------------------------------------------------------------------------


def _duration(value: Any, what: str) -> dt.timedelta:
    try:
        return _DURATION.validate_python(value)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        if repr(value) not in message and str(value) not in message:
            message += f" (got {value!r})"
        raise ValueError(f"{what}: {message}") from None


def _rng(seed: int, replication: int) -> np.random.Generator:
    """The generator of one replication: PCG64 from ``SeedSequence((seed mod 2**64, r))``."""
    return np.random.default_rng(np.random.SeedSequence([seed % 2**64, replication]))


def _naive(ts: dt.datetime) -> dt.datetime:
    """A UTC instant as the naive timestamp the store's tables hold."""
    return ts.astimezone(dt.UTC).replace(tzinfo=None)


class _History:
    """The user's store read once: its rows before ``H`` and who is established or arrived."""

    def __init__(
        self, store: Any, end: dt.datetime, block: dt.timedelta, positions: int = 1
    ) -> None:
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
        self.first_seen = dict(first)
        # the block positions: the block [H - B, H) moved back by 0, 7, 14, ... days (whole
        # weeks keep the weekday of the replay), as many as asked that still start after the
        # first stored row; each with its own established contacts and arrivals
        self.positions: list[tuple[dt.timedelta, list[Any], list[Any]]] = []
        for j in range(positions):
            back = j * POSITION_STEP
            lo, hi = start - back, self.end - back
            if lo <= earliest:
                break
            self.positions.append(
                (
                    back,
                    [cid for cid, ts in first if ts < lo],
                    [cid for cid, ts in first if lo <= ts < hi],
                )
            )
        _, self.established, self.arrivals = self.positions[0]
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
    """``contact_id, donor, tile, back`` of one replication, drawn tile by tile: the tile's
    block position (uniformly among ``history.positions``; no draw when there is one), then
    every present contact (in id order, then newcomers in arrival order) a donor of its own
    tenure among the contacts established before that block (:func:`_tenure_donors`), then
    as many newcomers as the block has arrivals, an arriving donor each (uniformly). ``back``
    is how far the tile's block lies before ``[H - B, H)``, in microseconds."""
    present = list(history.contacts)
    first = [np.datetime64(history.first_seen[c], "us") for c in present]
    positions = history.positions
    rows: list[tuple[Any, Any, int, int]] = []
    created = 0
    for tile in range(tiles):
        p = int(rng.integers(0, len(positions))) if len(positions) > 1 else 0
        back, established, arrivals = positions[p]
        # the tile starts at H + tile·B, the block at H - B - back: a donor of the same
        # tenure at its block's start first appeared `gap` before the contact
        gap = (tile + 1) * history.block + back
        picks = _tenure_donors(history, established, np.array(first), gap, rng)
        back_us = back // dt.timedelta(microseconds=1)
        rows.extend((c, established[i], tile, back_us) for c, i in zip(present, picks, strict=True))
        if arrivals:
            new = [history.new_id(created + j) for j in range(len(arrivals))]
            created += len(arrivals)
            picks = rng.integers(0, len(arrivals), size=len(arrivals))
            rows.extend((c, arrivals[i], tile, back_us) for c, i in zip(new, picks, strict=True))
            present.extend(new)
            shift = np.timedelta64(gap // dt.timedelta(microseconds=1), "us")
            first.extend(
                np.datetime64(history.first_seen[arrivals[i]], "us") + shift for i in picks
            )
    frame = pd.DataFrame(rows, columns=["contact_id", "donor", "tile", "back"])
    frame = frame.astype({"tile": "int64", "back": "int64"})
    if history.id_type == "integer":
        frame = frame.astype({"contact_id": "int64", "donor": "int64"})
    return frame


def _tenure_donors(
    history: _History,
    established: list[Any],
    first: np.ndarray,
    gap: dt.timedelta,
    rng: np.random.Generator,
) -> np.ndarray:
    """For each contact (its first row at ``first``), the index in ``established`` of a donor
    drawn uniformly among the ``k = round(√n)`` established contacts whose first row is
    nearest to ``first - gap`` (the k-nearest-neighbour bootstrap of Lall and Sharma, 1996):
    the donor was as long in the store at its block's start as the contact is at the tile's
    start, so it replays the part of a lifetime the contact is at (sign-up, upgrade, lapse
    come at their ages). The neighbours are the ``k`` consecutive established contacts in
    first-row order (ties in id order) around where ``first - gap`` would sort, moved inside
    the list at its ends (the oldest contacts share the ``k`` oldest donors)."""
    n = len(established)
    k = max(1, round(math.sqrt(n)))
    seen = np.array([np.datetime64(history.first_seen[c], "us") for c in established])
    order = np.argsort(seen, kind="stable")
    target = first - np.timedelta64(gap // dt.timedelta(microseconds=1), "us")
    lo = np.clip(np.searchsorted(seen[order], target) - k // 2, 0, n - k)
    return order[lo + rng.integers(0, k, size=len(first))]


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
    # the shift of tile k is (k + 1) block lengths plus how far back its block lies, in
    # microseconds (DuckDB's resolution); the block's rows are [H - B - back, H - back)
    block_us = history.block // dt.timedelta(microseconds=1)
    shift = f"to_microseconds((d.tile + 1) * {block_us} + d.back)"
    back = "to_microseconds(d.back)"
    joined = (
        f"JOIN h_donors d ON d.donor = h.contact_id WHERE h.ts + {back} >= $start "
        f"AND h.ts + {back} < $history_end AND h.ts + {shift} < $end"
    )
    params = {"start": block_start, "history_end": history.end, "end": end}
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
    horizon: Any = None,
    method: str | None = None,
    replications: int | None = None,
    seed: int | None = None,
    block: Any = None,
    positions: int | None = None,
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
        The projected window ``[H, H + horizon)``. This and every argument below that is not
        given (None) comes from the scenario's ``forecast:`` settings
        (:class:`~segsim.scenario.ForecastSettings`) when it has them.
    method : ``"bootstrap"`` or ``"poisson"``
        ``"bootstrap"``: a block bootstrap of whole contact trajectories (attribute, list
        and event rows) with arrivals. ``"poisson"``: a gamma-Poisson process per contact
        and event name fitted to the event history (:mod:`segsim.forecast._fitted`); the
        attributes and lists stay as they are at ``H`` and no contact arrives.
    replications : int, default 100
        How many futures to draw. Future ``r`` draws its behaviour from ``(seed, r)`` and
        runs the flows with the random choices (splits, holdouts, responses) of replication
        ``r`` of the scenario's seed, as ``simulate(scenario, replications=R)`` does, so the
        interval includes the flows' own randomness.
    seed : int, optional
        The seed of the behaviour draws (default: the scenario's seed).
    block : duration, optional
        The bootstrap's block length ``B`` (default: the horizon); the block ``[H - B, H)``
        must start after the first stored row, so that some contacts are established before
        it. Not with ``"poisson"``.
    positions : int, optional
        The moving-block bootstrap's number of block positions ``P``: each tile of each
        future replays the block moved back by ``7·j`` days, ``j`` drawn uniformly in
        ``0 … P-1`` (the same for every contact of that tile). Default: ``ceil(B / 7 days)``,
        positions covering one block length back; positions whose block would start at or
        before the first stored row are left out. ``1`` replays the last block only. Not
        with ``"poisson"``.
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
        No contact is established before the block (the history is shorter than it);
        ``"poisson"`` on a store without events.
    """
    settings = scenario.forecast
    if settings is not None:
        horizon = settings.horizon if horizon is None else horizon
        method = settings.method if method is None else method
        replications = settings.replications if replications is None else replications
        seed = settings.seed if seed is None else seed
        block = settings.block if block is None and method != "poisson" else block
        if positions is None and method != "poisson":
            positions = settings.positions
    horizon = "90d" if horizon is None else horizon
    method = "bootstrap" if method is None else method
    replications = 100 if replications is None else replications
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    if not isinstance(replications, int) or isinstance(replications, bool) or replications < 1:
        raise ValueError(f"replications must be a positive integer, got {replications!r}")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    length = _duration(horizon, "horizon")
    if method == "poisson" and block is not None:
        raise ValueError("block= is a length of the bootstrap; method 'poisson' has none")
    if method == "poisson" and positions is not None:
        raise ValueError("positions= are the bootstrap's; method 'poisson' has none")
    if positions is not None and (
        not isinstance(positions, int) or isinstance(positions, bool) or positions < 1
    ):
        raise ValueError(f"positions must be a positive integer, got {positions!r}")
    block_length = length if block is None else _duration(block, "block")
    if block_length > length:
        raise ValueError(f"block ({block_length}) must not be longer than the horizon ({length})")
    seed = scenario.seed if seed is None else seed
    if backtest:
        return _backtest(scenario, length, replications, seed, block_length, method, positions)
    return _project(
        scenario.replace(end=scenario.end + length),
        scenario.end,
        length,
        method,
        replications,
        seed,
        block_length,
        positions,
    )


def default_positions(block: dt.timedelta) -> int:
    """The default number of block positions: ``ceil(B / 7 days)``, so the positions'
    blocks reach one block length back, into ``[H - 2B, H)``."""
    return max(1, math.ceil(block / POSITION_STEP))


def _project(
    projected: Any,
    history_end: dt.datetime,
    length: dt.timedelta,
    method: str,
    replications: int,
    seed: int,
    block_length: dt.timedelta,
    positions: int | None = None,
) -> Forecast:
    """The forecast of ``[history_end, history_end + length)``: ``projected`` is the
    scenario over ``[start, history_end + length)``, run on each drawn future."""
    if method == "poisson":
        history = _History(projected.store, history_end, dt.timedelta(0))
        future = _poisson_futures(history, length)
    else:
        count = default_positions(block_length) if positions is None else positions
        history = _History(projected.store, history_end, block_length, count)
        future = _bootstrap_futures(history, length)
    start, end = pd.Timestamp(history_end), pd.Timestamp(history_end + length)
    parts = []
    seen: dict[str, None] = {}
    for r in range(replications):
        store = future(_rng(seed, r))
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                actions = _run_future(projected.with_store(store), r)
            for w in caught:
                seen.setdefault(str(w.message))
            parts.append(_projected_sends(actions, start, end).assign(replication=r))
        finally:
            store.close()
    for message in seen:  # each distinct warning once, not once per replication
        warnings.warn(message, SegsimWarning, stacklevel=3)
    return Forecast(
        pd.concat(parts, ignore_index=True),
        start=start,
        end=end,
        replications=replications,
        seed=seed,
        method=method,
        block=None if method == "poisson" else block_length,
        currency=projected.channels.currency,
    )


def _bootstrap_futures(history: _History, horizon: dt.timedelta) -> Any:
    """The future store of one replication's generator, by the block bootstrap."""
    from segsim.store import Store

    tiles = math.ceil(horizon / history.block)

    def future(rng: np.random.Generator) -> Any:
        return _future_store(history, _donor_map(history, tiles, rng), horizon, Store)

    return future


def _poisson_futures(history: _History, horizon: dt.timedelta) -> Any:
    """The future store of one replication's generator, by the fitted gamma-Poisson method:
    the history as it is at ``H`` and the drawn event occurrences."""
    from segsim.forecast._fitted import add_drawn_events, fit_event_rates
    from segsim.store import Store

    fit = fit_event_rates(history)
    nobody = pd.DataFrame(
        {
            "contact_id": pd.Series([], dtype="int64" if history.id_type == "integer" else "str"),
            "donor": pd.Series([], dtype="int64" if history.id_type == "integer" else "str"),
            "tile": pd.Series([], dtype="int64"),
            "back": pd.Series([], dtype="int64"),
        }
    )

    def future(rng: np.random.Generator) -> Any:
        store = _future_store(history, nobody, horizon, Store)
        add_drawn_events(store, history, fit.draw(rng, horizon))
        return store

    return future


def _run_future(scenario: Any, replication: int) -> pd.DataFrame:
    """The ``actions`` frame of the scenario simulated with the flows' random draws of
    ``replication`` (splits, holdouts, responses: docs/design.md §4.10), exactly replication
    ``r`` of ``simulate(scenario, replications=R)``, without simulating the others."""
    from segsim.engine.core import Simulation
    from segsim.engine.output import MemorySink, frames_from_parts
    from segsim.engine.plan import build_plan

    plan = build_plan(scenario)
    for message in plan.warnings:
        warnings.warn(message, SegsimWarning, stacklevel=2)
    id_dtype = "int64" if scenario.store.id_type == "integer" else "object"
    sink = MemorySink(id_dtype)
    Simulation(
        plan,
        scenario.store,
        include_existing_members=scenario.include_existing_members,
        sink=sink,
        replication=replication,
    ).run()
    return frames_from_parts(sink.parts, plan.flow_order, id_dtype)["actions"]


def _backtest(
    scenario: Any,
    horizon: dt.timedelta,
    replications: int,
    seed: int,
    block: dt.timedelta,
    method: str,
    positions: int | None = None,
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
    # the flows run over the whole window, schedule included (an edit in the held-out part
    # happens in the forecast as in the replay); only the contacts' rows after the cut are
    # drawn instead of read
    block = horizon if method == "poisson" else min(block, horizon)
    projected = _project(scenario, cut, horizon, method, replications, seed, block, positions)
    actual = _projected_sends(
        simulate(scenario, progress=False).actions, projected.start, projected.end
    )
    projected.backtest = Backtest(projected, actual)
    return projected


def forecast_problems(scenario: Any) -> list[str]:
    """What the scenario's ``forecast:`` settings cannot do with its data (for ``segsim
    validate``): a block reaching back to the start of the history, ``"poisson"`` without
    events. Empty without settings."""
    settings = scenario.forecast
    if settings is None:
        return []
    try:
        if settings.method == "poisson":
            from segsim.forecast._fitted import fit_event_rates

            fit_event_rates(_History(scenario.store, scenario.end, dt.timedelta(0)))
        else:
            _History(scenario.store, scenario.end, settings.block or settings.horizon)
    except ScenarioError as exc:
        return [f"forecast: {exc}"]
    return []
