"""From engine logs to the five frames: in memory, or streamed to Parquet with bounded memory.

The engine numbers runs with internal keys in the order it meets them, which depends on how
contacts were split into shards. The frames give every run a canonical ``run_id`` instead,
and every frame a canonical row order, computed here in one place (DuckDB SQL) for both the
in-memory and the Parquet paths:

* ``runs``: by entry time, contact, flow (scenario order), internal key → ``run_id`` 1, 2, …
* ``steps``, ``actions``: by time, ``run_id``, then the order the engine executed them;
* ``segment_events``: by time, contact, then engine order;
* ``suppressed``: by time, contact, flow (scenario order), then engine order;
* ``responses``: by time, ``run_id``, then engine order;
* ``conversions``: by time, contact, flow (scenario order), then engine order.

Ties inside those keys always belong to one contact, which one shard processes in the same
order as an unsharded run: sharded and unsharded frames are identical.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from segsim._internal.frames import FRAMES, RUNS
from segsim._internal.frames import _typed as typed
from segsim._internal.scratch import scratch
from segsim._internal.sql import quote_literal
from segsim.engine.labels import LABEL_COLUMNS, LABELLED_ROWS, Labels
from segsim.engine.records import Logs

#: rows kept in memory per frame before a Parquet sink writes a part file
FLUSH_ROWS = 250_000
#: the memory the assembly of Parquet frames may use before its sorts spill to disk (DuckDB's
#: own default is 80% of the machine: 10M contacts took 10 GB so)
ASSEMBLY_MEMORY = "4GB"

_END_REASON = RUNS.position("end_reason")
_PART_DTYPE = {"time": "int64", "int64": "int64", "float64": "float64"}


def _part_frame(
    name: str, rows: list[Any], seq_start: int, id_dtype: str, labels: Labels | None = None
) -> pd.DataFrame:
    """Engine rows of one frame as a part: its columns, times as epoch µs, ``run_id`` still
    the engine's internal run key, and ``seq``, the order the engine wrote them in.

    ``steps`` and ``actions`` rows hold a label number (:mod:`segsim.engine.labels`): the
    columns their label gives are taken from ``labels``' table by those numbers.
    """
    spec = FRAMES[name]
    n = len(rows)
    layout = LABELLED_ROWS.get(name, spec.names)
    fields = list(zip(*rows, strict=True)) if rows else [()] * len(layout)
    values: dict[str, Any] = dict(zip(layout, fields, strict=True))
    if "label" in values:
        assert labels is not None or not n, f"{name} rows hold label numbers: pass their labels"
        codes = np.fromiter(values.pop("label"), dtype=np.intp, count=n)
        table = (labels or Labels()).columns()  # no rows: an empty table's columns
        for column in spec.names:
            if column not in values:
                values[column] = table[LABEL_COLUMNS[column]][codes]
    data: dict[str, Any] = {}
    for column in spec.columns:
        column_values = values[column.name]
        dtype = id_dtype if column.kind == "id" else _PART_DTYPE.get(column.kind, object)
        if dtype is object or dtype == "object":
            # kept object (pandas would infer its string dtype); fromiter never reads a
            # value as a nested sequence
            if not isinstance(column_values, np.ndarray):
                column_values = np.fromiter(column_values, dtype=object, count=n)
            data[column.name] = pd.Series(column_values, dtype=object, copy=False)
        else:
            data[column.name] = np.asarray(column_values, dtype=dtype)
    data["seq"] = np.arange(seq_start, seq_start + n, dtype="int64")
    return pd.DataFrame(data, copy=False)


class MemorySink:
    """Keeps every part in memory (the default)."""

    def __init__(self, id_dtype: str) -> None:
        self.id_dtype = id_dtype
        self.parts: dict[str, list[pd.DataFrame]] = {name: [] for name in FRAMES}
        self.seq = dict.fromkeys(FRAMES, 0)

    def maybe_flush(self, logs: Logs) -> None:
        """Nothing to bound in memory; parts are taken at the end."""

    def flush(self, logs: Logs, final: bool = False) -> None:
        finished_runs = (
            [r for r in logs.runs if r[_END_REASON] is not None] if not final else logs.runs
        )
        open_runs = [r for r in logs.runs if r[_END_REASON] is None] if not final else []
        batches: dict[str, list[Any]] = {
            "segment_events": logs.segment_events,
            "runs": finished_runs,
            "steps": logs.steps,
            "actions": logs.actions,
            "suppressed": logs.suppressed,
            "responses": logs.responses,
            "conversions": logs.conversions,
        }
        for name, rows in batches.items():
            if rows:
                part = _part_frame(name, rows, self.seq[name], self.id_dtype, logs.labels)
                self._write(name, part)
                self.seq[name] += len(rows)
        logs.segment_events, logs.steps, logs.actions, logs.suppressed = [], [], [], []
        logs.responses, logs.conversions = [], []
        logs.runs = open_runs

    def _write(self, name: str, frame: pd.DataFrame) -> None:
        self.parts[name].append(frame)


class ParquetSink(MemorySink):
    """Writes parts as Parquet files once a frame holds :data:`FLUSH_ROWS` rows."""

    def __init__(self, id_dtype: str, directory: Path) -> None:
        super().__init__(id_dtype)
        self.directory = directory
        self.counter = 0
        for name in FRAMES:
            (directory / name).mkdir(parents=True, exist_ok=True)

    def maybe_flush(self, logs: Logs) -> None:
        if (
            max(
                len(logs.segment_events),
                len(logs.steps),
                len(logs.actions),
                len(logs.suppressed),
                len(logs.runs),
                len(logs.responses),
            )
            >= FLUSH_ROWS
        ):
            self.flush(logs)

    def _write(self, name: str, frame: pd.DataFrame) -> None:
        self.counter += 1
        frame.to_parquet(
            self.directory / name / f"part-{self.counter:06d}-{uuid.uuid4().hex[:8]}.parquet",
            index=False,
        )


#: each frame's canonical row order, after ``run_id`` is renumbered (``flow_rank``: the
#: flow's position in the scenario; ``seq``: the order the engine wrote the rows in)
_ORDER = {
    "runs": ["r.run_id"],
    "steps": ["s.time", "r.run_id", "s.seq"],
    "actions": ["s.time", "r.run_id", "s.seq"],
    "segment_events": ["s.time", "s.contact_id", "s.seq"],
    "suppressed": ["s.time", "s.contact_id", "flow_rank", "s.seq"],
    "responses": ["s.time", "r.run_id", "s.seq"],
    "conversions": ["s.time", "s.contact_id", "flow_rank", "s.seq"],
}


def _ordering_sql(
    flow_order: list[str], sources: dict[str, str], *, replicated: bool = False, rows: bool = False
) -> dict[str, str]:
    """Per frame, the SQL of its canonical rows: runs renumbered, rows in canonical order.

    ``replicated``: the sources have a ``replication`` column; each replication's runs are
    numbered from 1 (run keys are unique within a replication), and rows come by
    replication first, ``replication`` the first column. ``rows``: select only
    ``replication``, the sources' ``_row`` and the renumbered ``run_id``, in that order
    (see :func:`frames_from_replications`).
    """
    rank = " ".join(f"WHEN {quote_literal(name)} THEN {i}" for i, name in enumerate(flow_order))
    # without flows (a segment-only scenario) there is nothing to rank, and a bare constant
    # in ORDER BY would be read as a column position
    flow_rank = f"(CASE s.flow {rank} ELSE {len(flow_order)} END)" if flow_order else None
    run_order = ", ".join(k for k in ("s.entered_at", "s.contact_id", flow_rank, "s.run_id") if k)
    partition = "PARTITION BY s.replication " if replicated else ""
    extra = "s.replication AS replication, " if replicated else ""
    run_ids = f"""(SELECT {extra}s.run_id AS run_key,
                          row_number() OVER ({partition}ORDER BY {run_order}) AS run_id
                   FROM {sources["runs"]} s)"""
    out = {}
    for name, spec in FRAMES.items():
        select = ", ".join("r.run_id" if c == "run_id" else f"s.{c}" for c in spec.names)
        if rows:
            select = "s._row" + (", r.run_id" if "run_id" in spec.names else "")
        on = "s.run_id = r.run_key" + (" AND s.replication = r.replication" if replicated else "")
        join = f" JOIN {run_ids} r ON {on}" if "run_id" in spec.names else ""
        keys = [flow_rank if key == "flow_rank" else key for key in _ORDER[name]]
        if replicated:
            select = f"s.replication, {select}"
            keys = ["s.replication", *keys]
        order = ", ".join(key for key in keys if key)
        out[name] = f"SELECT {select} FROM {sources[name]} s{join} ORDER BY {order}"
    return out


def frames_from_parts(
    parts: dict[str, list[pd.DataFrame]], flow_order: list[str], id_dtype: str
) -> dict[str, pd.DataFrame]:
    """Assemble in-memory parts (from one or many shards) into the canonical frames.

    DuckDB computes, in one query per frame, only the order of the rows and the renumbered
    ``run_id`` (the canonical order of :func:`_ordering_sql`); the columns are then taken
    from the parts by that order (no value goes through SQL). A frame without rows needs no
    query at all (most small runs have several).
    """
    out = {
        name: FRAMES[name].empty(id_dtype)
        for name, frames in parts.items()
        if not any(len(frame) for frame in frames)
    }
    if len(out) == len(parts):
        return out
    with scratch() as con:
        sources = {}
        for name, frames in parts.items():
            if name not in out or name == "runs":  # the others' run ids are renumbered from it
                frames = frames or [_part_frame(name, [], 0, id_dtype)]
                source = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
                con.register(f"part_{name}", _order_keys(source))
                sources[name] = source
        order = _ordering_sql(flow_order, {name: f"part_{name}" for name in parts}, rows=True)
        for name in parts:
            if name not in out:
                picked = con.execute(order[name]).fetchnumpy()
                out[name] = pd.DataFrame(
                    _taken(FRAMES[name], sources[name], picked, id_dtype), copy=False
                )
    return {name: out[name] for name in parts}


def frames_from_replications(
    per_replication: list[dict[str, list[pd.DataFrame]]], flow_order: list[str], id_dtype: str
) -> dict[str, pd.DataFrame]:
    """Assemble the parts of many replications into stacked canonical frames:
    ``replication`` (int64) first, then each replication's frame exactly as
    :func:`frames_from_parts` of its parts gives it.

    A part may be shared by several replications (the same DataFrame object: the rows of
    contacts no draw reaches, reused by :func:`segsim.engine.shard_run.run_shard`); it is
    held once. As in :func:`frames_from_parts`, DuckDB computes only the order of the rows
    and the renumbered ``run_id``, and a frame without rows in any replication needs no query.
    """
    if len(per_replication) == 1:
        return frames_from_parts(per_replication[0], flow_order, id_dtype)
    out = {}
    for name in FRAMES:
        if not any(len(part) for parts in per_replication for part in parts.get(name, [])):
            empty = FRAMES[name].empty(id_dtype)
            empty.insert(0, "replication", np.array([], dtype="int64"))
            out[name] = empty
    if len(out) == len(FRAMES):
        return out
    with scratch() as con:
        sources: dict[str, pd.DataFrame] = {}
        for name in FRAMES:
            if name not in out or name == "runs":  # the others' run ids are renumbered from it
                sources[name] = _register_shared(con, name, per_replication, id_dtype)
        order = _ordering_sql(
            flow_order, {name: f"src_{name}" for name in FRAMES}, replicated=True, rows=True
        )
        for name, spec in FRAMES.items():
            if name not in out:
                picked = con.execute(order[name]).fetchnumpy()
                data = {"replication": np.asarray(picked["replication"]).astype("int64")}
                data.update(_taken(spec, sources[name], picked, id_dtype))
                out[name] = pd.DataFrame(data, copy=False)
    return {name: out[name] for name in FRAMES}


def _taken(
    spec: Any, source: pd.DataFrame, picked: dict[str, Any], id_dtype: str
) -> dict[str, pd.Series]:
    """The columns of ``spec`` from ``source`` in the order of ``picked["_row"]``, each with
    its frame dtype, ``run_id`` as renumbered (``picked["run_id"]``)."""
    rows = np.asarray(picked["_row"])
    data = {}
    for column in spec.columns:
        if column.name == "run_id":
            values = np.asarray(picked["run_id"]).astype("int64")
        else:
            values = source[column.name].to_numpy()[rows]
        # object columns stay object (pandas would infer its string dtype)
        series = pd.Series(values, dtype=values.dtype, copy=False)
        # parts hold str or None in their str columns already: kept as they are
        data[column.name] = series if column.kind == "str" else typed(column.kind, series, id_dtype)
    return data


def _order_keys(source: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``source`` its canonical order reads, and ``_row``, each row's position."""
    keys = pd.DataFrame(
        {
            c: pd.Series(source[c].to_numpy(), dtype=source[c].dtype, copy=False)
            for c in _KEYS
            if c in source.columns
        },
        copy=False,
    )
    keys["_row"] = np.arange(len(source), dtype="int64")
    return keys


#: the columns the canonical order of each frame reads (see :data:`_ORDER`)
_KEYS = ("time", "contact_id", "flow", "seq", "run_id", "entered_at")


def _register_shared(
    con: Any, name: str, per_replication: list[dict[str, list[pd.DataFrame]]], id_dtype: str
) -> pd.DataFrame:
    """Register, as ``src_<name>``, the order keys of every replication's rows of one frame
    (with ``replication`` and ``_row``, the row's position in the returned frame, which holds
    each distinct part once)."""
    index: dict[int, int] = {}
    parts: list[pd.DataFrame] = []
    used_by: list[int] = []
    used: list[int] = []
    for r, replication_parts in enumerate(per_replication):
        for part in replication_parts.get(name, []):
            k = index.get(id(part))
            if k is None:
                k = index[id(part)] = len(parts)
                parts.append(part)
            used_by.append(r)
            used.append(k)
    if not parts:
        parts = [_part_frame(name, [], 0, id_dtype)]
    source = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    keys = _order_keys(source)
    keys["_part"] = np.repeat(np.arange(len(parts), dtype="int64"), [len(p) for p in parts])
    usage = pd.DataFrame(
        {"replication": np.array(used_by, dtype="int64"), "_part": np.array(used, dtype="int64")}
    )
    con.register(f"keys_{name}", keys)
    con.register(f"usage_{name}", usage)
    con.execute(
        f"CREATE TEMP VIEW src_{name} AS SELECT u.replication, k.* "
        f"FROM keys_{name} k JOIN usage_{name} u USING (_part)"
    )
    return source


def frames_to_parts(
    frames: dict[str, pd.DataFrame], id_dtype: str
) -> dict[str, list[pd.DataFrame]]:
    """Canonical frames back as parts, to assemble with the parts of other contacts.

    Times become epoch µs, ``run_id`` serves as the run key and ``seq`` is the row order.
    Frames of disjoint sets of contacts (say, reused rows of contacts a change cannot reach
    and a fresh run of the others, with a ``key_offset`` beyond these run ids) then give,
    through :func:`frames_from_parts`, exactly the frames of one run over all of them.
    """
    parts: dict[str, list[pd.DataFrame]] = {}
    for name, spec in FRAMES.items():
        frame = frames[name]
        data = {}
        for column in spec.columns:
            values = frame[column.name]
            if column.kind == "time":
                values = values.astype("datetime64[us, UTC]").astype("int64")
            elif column.kind == "id":
                values = values.astype(id_dtype)
            else:
                values = values.astype(_PART_DTYPE.get(column.kind, object))
            data[column.name] = values.reset_index(drop=True)
        part = pd.DataFrame(data)
        part["seq"] = pd.RangeIndex(len(part), dtype="int64")
        parts[name] = [part]
    return parts


def write_frames(part_dirs: list[Path], out: Path, flow_order: list[str]) -> None:
    """Assemble Parquet parts into ``out/<frame>.parquet``, atomically.

    The frames are written to a sibling temporary folder and renamed into place at the end,
    so ``out`` is either complete or absent (an interrupted run leaves no half-written
    result); an existing ``out`` is replaced only once the new one is complete.
    """
    staging = out.with_name(f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    staging.mkdir(parents=True)
    spill = staging.with_name(f"{staging.name}-spill")
    try:
        # a connection of its own, not the scratch one: closing it frees all the memory the
        # sort of large files took; its sorts spill beyond ASSEMBLY_MEMORY, next to ``out``
        con = duckdb.connect(config={"memory_limit": ASSEMBLY_MEMORY, "temp_directory": str(spill)})
        try:
            _write_ordered(con, part_dirs, staging, flow_order)
        finally:
            con.close()
        _replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def _write_ordered(con: Any, part_dirs: list[Path], staging: Path, flow_order: list[str]) -> None:
    """Each frame's canonical rows, from the parts under ``part_dirs``, as a file in
    ``staging``."""
    sources = {}
    for name in FRAMES:
        files = [str(p) for d in part_dirs for p in sorted((d / name).glob("*.parquet"))]
        if files:
            listing = ", ".join(quote_literal(f) for f in files)
            sources[name] = f"read_parquet([{listing}])"
        else:
            empty = _part_frame(name, [], 0, "int64")
            con.register(f"empty_{name}", empty)
            sources[name] = f"empty_{name}"
    for name, sql in _ordering_sql(flow_order, sources).items():
        con.execute(
            f"COPY ({_timestamps_sql(name, sql)}) TO {quote_literal(str(staging / f'{name}.parquet'))} (FORMAT parquet)"
        )


def _timestamps_sql(name: str, sql: str) -> str:
    """Convert epoch-µs columns to TIMESTAMPTZ in the written files."""
    select = ", ".join(
        f"make_timestamp({c.name})::TIMESTAMPTZ AS {c.name}" if c.kind == "time" else c.name
        for c in FRAMES[name].columns
    )
    return f"SELECT {select} FROM ({sql})"


def _replace(staging: Path, out: Path) -> None:
    if out.exists():
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:6]}")
        out.rename(old)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(out)
