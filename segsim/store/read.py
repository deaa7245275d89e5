"""The store's read side: catalogs, contacts, one contact's history, the state at an instant, events.

Everything here only reads. Frames come back with the dtypes documented on each property:
contact ids as loaded (``int64`` or strings), times tz-aware UTC (``datetime64[us, UTC]``),
numbers ``float64``, booleans ``boolean``, strings ``object`` with ``None`` for missing.
A store written before events existed has no event tables: it reads as having no events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from segsim import schema
from segsim._internal.naming import did_you_mean
from segsim._internal.sql import quote_identifier
from segsim._time import parse_instant
from segsim.errors import SegsimError
from segsim.store.base import StoreBase, first_row

__all__ = ["ReadSide", "typed_column", "utc"]

_EVENT_COLUMNS = ["contact_id", "ts", "event", "event_id"]


class ReadSide(StoreBase):
    """Catalogs and queries over the stored histories (mixed into :class:`~segsim.store.Store`)."""

    def __repr__(self) -> str:
        if not self._has_tables():
            return f"<segsim.Store {self._where()}, empty>"
        has_events = self._has_events()
        tables = [schema.CHANGES, schema.LIST_CHANGES] + ([schema.EVENTS] if has_events else [])
        ids = " UNION ".join(f"SELECT DISTINCT contact_id FROM {t}" for t in tables)
        n_contacts = first_row(self.con.execute(f"SELECT count(*) FROM ({ids})"))[0]
        n_rows = first_row(self.con.execute(f"SELECT count(*) FROM {schema.CHANGES}"))[0]
        n_attrs = first_row(self.con.execute(f"SELECT count(*) FROM {schema.ATTRIBUTES}"))[0]
        mode = ", read-only" if self.read_only else ""
        events = ""
        if has_events:
            n_events = first_row(self.con.execute(f"SELECT count(*) FROM {schema.EVENTS}"))[0]
            events = f", {n_events:,} events" if n_events else ""
        return (
            f"<segsim.Store {self._where()}{mode}: {n_contacts:,} contacts, "
            f"{n_attrs} attributes, {n_rows:,} changes{events}>"
        )

    # -- catalogs ---------------------------------------------------------------------------

    @property
    def attribute_types(self) -> dict[str, str]:
        """Every known attribute and its type."""
        if not self._has_tables():
            return {}
        return dict(self.con.execute(f"SELECT attribute, type FROM {schema.ATTRIBUTES}").fetchall())

    @property
    def list_names(self) -> list[str]:
        """Every list that appears in the loaded list history, sorted."""
        if not self._has_tables():
            return []
        rows = self.con.execute(
            f"SELECT DISTINCT list FROM {schema.LIST_CHANGES} ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]

    @property
    def event_names(self) -> list[str]:
        """Every event name with at least one stored occurrence, sorted.

        The occurrences of each are counted in :attr:`event_catalog`.
        """
        if not self._has_events():
            return []
        rows = self.con.execute(f"SELECT DISTINCT event FROM {schema.EVENTS} ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    @property
    def event_property_types(self) -> dict[str, str]:
        """Every event property and its type (properties are typed by name, across events)."""
        if not self._has_events():
            return {}
        return dict(
            self.con.execute(
                f"SELECT property, type FROM {schema.EVENT_PROPERTIES} ORDER BY property"
            ).fetchall()
        )

    @property
    def event_catalog(self) -> pd.DataFrame:
        """The event catalog: ``name, occurrences, contacts, first_ts, last_ts``, by name."""
        columns = ["name", "occurrences", "contacts", "first_ts", "last_ts"]
        if not self._has_events():
            return _empty(columns, {"occurrences": "int64", "contacts": "int64"})
        frame = self.con.execute(
            f"""SELECT event AS name, count(*) AS occurrences,
                       count(DISTINCT contact_id) AS contacts,
                       min(ts) AS first_ts, max(ts) AS last_ts
                FROM {schema.EVENTS} GROUP BY event ORDER BY event"""
        ).df()
        return _counts_and_times(frame, ["occurrences", "contacts"])

    @property
    def attributes(self) -> pd.DataFrame:
        """The attribute catalog: ``name, type, rows, contacts, first_ts, last_ts``."""
        columns = ["name", "type", "rows", "contacts", "first_ts", "last_ts"]
        if not self._has_tables():
            return _empty(columns, {"rows": "int64", "contacts": "int64"})
        frame = self.con.execute(
            f"""SELECT a.attribute AS name, a.type, count(c.ts) AS rows,
                       count(DISTINCT c.contact_id) AS contacts,
                       min(c.ts) AS first_ts, max(c.ts) AS last_ts
                FROM {schema.ATTRIBUTES} a LEFT JOIN {schema.CHANGES} c USING (attribute)
                GROUP BY a.attribute, a.type ORDER BY a.attribute"""
        ).df()
        return _counts_and_times(frame, ["rows", "contacts"])

    @property
    def contacts(self) -> pd.DataFrame:
        """Every contact: ``contact_id, first_ts, last_ts, changes``.

        ``changes`` counts the contact's attribute, list and event rows.
        """
        columns = ["contact_id", "first_ts", "last_ts", "changes"]
        if not self._has_tables():
            return _empty(columns, {"changes": "int64"})
        events = (
            f" UNION ALL SELECT contact_id, ts FROM {schema.EVENTS}" if self._has_events() else ""
        )
        frame = self.con.execute(
            f"""SELECT contact_id, min(ts) AS first_ts, max(ts) AS last_ts, count(*) AS changes
                FROM (SELECT contact_id, ts FROM {schema.CHANGES}
                      UNION ALL SELECT contact_id, ts FROM {schema.LIST_CHANGES}{events})
                GROUP BY contact_id ORDER BY contact_id"""
        ).df()
        frame = _counts_and_times(frame, ["changes"])
        frame["contact_id"] = self._ids_out(frame["contact_id"])
        return frame

    # -- one contact, one instant ------------------------------------------------------------

    def history(self, contact_id: Any) -> pd.DataFrame:
        """One contact's changes in time order: ``ts, attribute, value, type``.

        ``type`` is the attribute's type for attribute changes (an unset attribute has value
        ``None``); ``"list"`` for list membership changes (the list name in ``attribute``,
        ``value`` True when added, False when removed); ``"event"`` for event occurrences
        (the event name in ``attribute``, ``value`` a dict of the occurrence's properties that
        are set, ``{}`` for none). At one instant rows are sorted by name, then attribute
        changes before list changes before events (those in load order).
        """
        columns = ["ts", "attribute", "value", "type"]
        if not self._has_tables():
            return _empty(columns, {"ts": "datetime64[us, UTC]"})
        cid = self._id_param(contact_id)
        rows = self.con.execute(
            f"""SELECT c.ts, c.attribute, a.type, 0 AS rank, 0 AS seq,
                       c.v_string, c.v_number, c.v_boolean, c.v_timestamp
                FROM {schema.CHANGES} c JOIN {schema.ATTRIBUTES} a USING (attribute)
                WHERE c.contact_id = ?
                UNION ALL
                SELECT ts, list, 'list', 1, 0, NULL, NULL, member, NULL
                FROM {schema.LIST_CHANGES} WHERE contact_id = ?
                ORDER BY 1, 2, 4""",
            [cid, cid],
        ).df()
        events = self._contact_events(cid)
        value = np.full(len(rows), None, dtype=object)
        for kind, column in (*schema.VALUE_COLUMN.items(), ("list", "v_boolean")):
            mask = (rows["type"] == kind).to_numpy()
            present = mask & rows[column].notna().to_numpy()
            if kind == "timestamp":
                value[present] = list(utc(rows.loc[present, column]))
            elif kind in ("boolean", "list"):
                value[present] = [bool(v) for v in rows.loc[present, column]]
            elif kind == "number":
                value[present] = [float(v) for v in rows.loc[present, column]]
            else:
                value[present] = rows.loc[present, column].tolist()
        frame = pd.DataFrame(
            {
                "ts": utc(rows["ts"]),
                "attribute": rows["attribute"].astype(object),
                "value": pd.Series(value, dtype=object),
                "type": rows["type"].astype(object),
                "_rank": rows["rank"].astype("int64"),
                "_seq": rows["seq"].astype("int64"),
            }
        )
        if len(events):
            frame = pd.concat([frame, events], ignore_index=True)
            frame = frame.sort_values(["ts", "attribute", "_rank", "_seq"], kind="stable")
        frame = frame.drop(columns=["_rank", "_seq"]).reset_index(drop=True)
        frame["value"] = frame["value"].astype(object)
        return frame

    def _contact_events(self, cid: Any) -> pd.DataFrame:
        """A contact's events as history rows (value: the dict of properties set)."""
        if not self._has_events():
            return pd.DataFrame()
        types = self.event_property_types
        props = "".join(
            f", {quote_identifier(schema.property_column(p))} AS {quote_identifier(p)}"
            for p in types
        )
        rows = self.con.execute(
            f"SELECT ts, event, seq{props} FROM {schema.EVENTS} WHERE contact_id = ? ORDER BY seq",
            [cid],
        ).df()
        if rows.empty:
            return pd.DataFrame()
        typed = {p: typed_column(rows[p], types[p]) for p in types}
        values = [
            {p: _plain(typed[p].iloc[i]) for p in types if not _missing(typed[p].iloc[i])}
            for i in range(len(rows))
        ]
        return pd.DataFrame(
            {
                "ts": utc(rows["ts"]),
                "attribute": rows["event"].astype(object),
                "value": pd.Series(values, dtype=object),
                "type": "event",
                "_rank": 2,
                "_seq": rows["seq"].astype("int64"),
            }
        )

    def state_at(self, ts: Any, attributes: Iterable[str] | None = None) -> pd.DataFrame:
        """Every contact's attribute values as of ``ts`` (changes at ``ts`` included).

        Returns one row per contact with an attribute or list change at or before ``ts`` (a
        ``contact_id`` column, then one column per attribute: strings as ``object``, numbers
        ``float64``, booleans ``boolean``, timestamps ``datetime64[us, UTC]``); an unset
        attribute is missing.
        """
        types = self.attribute_types
        names = sorted(types) if attributes is None else list(attributes)
        for name in names:
            if name not in types:
                raise SegsimError(f"unknown attribute {name!r}{did_you_mean(name, types)}")
        at = parse_instant(ts).tz_localize(None)
        if not self._has_tables():
            return _empty(["contact_id", *names], {})
        pivot = ",\n".join(
            f"max(CASE WHEN attribute = ? THEN {schema.VALUE_COLUMN[types[n]]} END) AS {quote_identifier(n)}"
            for n in names
        )
        select = f", {pivot}" if names else ""
        sql = f"""
            WITH latest AS (
                SELECT * FROM {schema.CHANGES}
                WHERE ts <= ? {"AND attribute IN (SELECT unnest(?))" if names else "AND FALSE"}
                QUALIFY row_number() OVER (PARTITION BY contact_id, attribute ORDER BY ts DESC) = 1
            ),
            seen AS (
                SELECT DISTINCT contact_id FROM {schema.CHANGES} WHERE ts <= ?
                UNION SELECT DISTINCT contact_id FROM {schema.LIST_CHANGES} WHERE ts <= ?
            )
            SELECT seen.contact_id{select}
            FROM seen LEFT JOIN latest USING (contact_id)
            GROUP BY seen.contact_id ORDER BY seen.contact_id"""
        params: list[Any] = [at]
        if names:
            params.append(names)
        params += [at, at, *names]
        frame = self.con.execute(sql, params).df()
        frame["contact_id"] = self._ids_out(frame["contact_id"])
        for name in names:
            frame[name] = typed_column(frame[name], types[name])
        return frame.reset_index(drop=True)

    # -- events --------------------------------------------------------------------------------

    @property
    def events(self) -> pd.DataFrame:
        """Every stored event occurrence: ``contact_id, ts, event, event_id``, then one column
        per property (sorted by name, typed as in :attr:`event_property_types`; missing where
        the occurrence does not have it). Rows in time order, occurrences of one instant in
        load order. ``event_id`` is text (``None`` where the load gave none).
        """
        if not self._has_events():
            return _empty(_EVENT_COLUMNS, {"ts": "datetime64[us, UTC]"})
        types = self.event_property_types
        props = "".join(
            f", {quote_identifier(schema.property_column(p))} AS {quote_identifier(p)}"
            for p in types
        )
        frame = self.con.execute(
            f"SELECT contact_id, ts, event, event_id{props} FROM {schema.EVENTS} ORDER BY ts, seq"
        ).df()
        frame["contact_id"] = self._ids_out(frame["contact_id"])
        frame["ts"] = utc(frame["ts"])
        for column in ("event", "event_id"):
            frame[column] = typed_column(frame[column], "string")
        for name, kind in types.items():
            frame[name] = typed_column(frame[name], kind)
        return frame.reset_index(drop=True)


# -- output helpers --------------------------------------------------------------------------


def utc(series: pd.Series) -> pd.Series:
    """Timestamps as tz-aware UTC microseconds (naive ones mean UTC)."""
    series = pd.to_datetime(series)
    if series.dt.tz is None:
        return series.dt.tz_localize("UTC").astype("datetime64[us, UTC]")
    return series.dt.tz_convert("UTC").astype("datetime64[us, UTC]")


def typed_column(series: pd.Series, kind: str) -> pd.Series:
    """A column read from DuckDB in the dtype of its segsim type."""
    if kind == "number":
        return series.astype("float64")
    if kind == "boolean":
        return series.astype("boolean")
    if kind == "timestamp":
        return utc(series)
    return series.astype(object).where(series.notna(), None)


def _counts_and_times(frame: pd.DataFrame, counts: list[str]) -> pd.DataFrame:
    for col in counts:
        frame[col] = frame[col].astype("int64")
    for col in ("first_ts", "last_ts"):
        frame[col] = utc(frame[col])
    return frame


def _missing(value: Any) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and np.isnan(value))
    )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _empty(columns: list[str], dtypes: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, object)) for c in columns})
