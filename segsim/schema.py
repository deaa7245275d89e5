"""The DuckDB schema of a segsim store: the one place it is written down.

Tables (``<id>`` is ``BIGINT`` or ``VARCHAR``, fixed by the first load into a store):

``segsim_meta(key VARCHAR PRIMARY KEY, value VARCHAR)``
    ``schema_version`` and ``id_type`` (``integer`` or ``string``).
``segsim_attributes(attribute VARCHAR PRIMARY KEY, type VARCHAR)``
    The catalog: one row per attribute with its type, ``string | number | boolean | timestamp``.
``segsim_changes(contact_id <id>, ts TIMESTAMP, attribute VARCHAR, v_string VARCHAR,
v_number DOUBLE, v_boolean BOOLEAN, v_timestamp TIMESTAMP)``
    One row per attribute change. ``ts`` and ``v_timestamp`` are naive timestamps meaning UTC.
    Exactly one ``v_*`` column matching the attribute's type holds the value; all four NULL
    means the attribute became *unset* at ``ts``. ``(contact_id, ts, attribute)`` is unique.
``segsim_list_changes(contact_id <id>, ts TIMESTAMP, list VARCHAR, member BOOLEAN)``
    One row per list membership change: ``member`` true = added, false = removed.
    ``(contact_id, ts, list)`` is unique.
``segsim_events(contact_id <id>, ts TIMESTAMP, event VARCHAR, seq BIGINT, event_id VARCHAR,
"prop:<name>" <typed> ...)``
    One row per behavioural event occurrence (two identical rows are two occurrences).
    ``seq`` numbers the occurrences in load order, unique in the store (it orders
    occurrences of one contact at one instant). ``event_id`` is optional; when set it is
    unique, and a load skips rows whose ``event_id`` is stored (idempotent loads). Each
    property is one column named ``prop:<name>`` of its type's SQL type (VARCHAR, DOUBLE,
    BOOLEAN, TIMESTAMP), NULL where the occurrence does not have it.
``segsim_event_properties(property VARCHAR PRIMARY KEY, type VARCHAR)``
    The property catalog: one row per event property with its type (properties are typed
    by name, across all events, like attributes).

Stores written at schema version 1 (before events) are read as having no events; the event
tables are created by the first ``load_events`` on a writable store.
"""

from __future__ import annotations

from segsim._internal.vocab import ATTRIBUTE_TYPES

__all__ = [
    "ATTRIBUTE_TYPES",
    "SQL_TYPE",
    "VALUE_COLUMN",
    "create_statements",
    "event_statements",
    "property_column",
]

SCHEMA_VERSION = "1"

#: The typed value column of each attribute type in ``segsim_changes``.
VALUE_COLUMN = {
    "string": "v_string",
    "number": "v_number",
    "boolean": "v_boolean",
    "timestamp": "v_timestamp",
}

ID_SQL_TYPE = {"integer": "BIGINT", "string": "VARCHAR"}

META = "segsim_meta"
ATTRIBUTES = "segsim_attributes"
CHANGES = "segsim_changes"
LIST_CHANGES = "segsim_list_changes"
EVENTS = "segsim_events"
EVENT_PROPERTIES = "segsim_event_properties"
#: The SQL type of each attribute / property type.
SQL_TYPE = {"string": "VARCHAR", "number": "DOUBLE", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP"}


def property_column(name: str) -> str:
    """The column of ``segsim_events`` holding event property ``name`` (unquoted)."""
    return f"prop:{name}"


def event_statements(id_type: str) -> list[str]:
    """DDL creating the event tables for contact ids of ``id_type``."""
    id_sql = ID_SQL_TYPE[id_type]
    return [
        f"""CREATE TABLE IF NOT EXISTS {EVENTS} (
            contact_id {id_sql} NOT NULL,
            ts TIMESTAMP NOT NULL,
            event VARCHAR NOT NULL,
            seq BIGINT NOT NULL,
            event_id VARCHAR
        )""",
        f"CREATE TABLE IF NOT EXISTS {EVENT_PROPERTIES} (property VARCHAR PRIMARY KEY, type VARCHAR NOT NULL)",
    ]


def create_statements(id_type: str) -> list[str]:
    """DDL creating every table for contact ids of ``id_type`` (``integer``/``string``)."""
    id_sql = ID_SQL_TYPE[id_type]
    return [
        f"CREATE TABLE IF NOT EXISTS {META} (key VARCHAR PRIMARY KEY, value VARCHAR)",
        f"CREATE TABLE IF NOT EXISTS {ATTRIBUTES} (attribute VARCHAR PRIMARY KEY, type VARCHAR NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS {CHANGES} (
            contact_id {id_sql} NOT NULL,
            ts TIMESTAMP NOT NULL,
            attribute VARCHAR NOT NULL,
            v_string VARCHAR,
            v_number DOUBLE,
            v_boolean BOOLEAN,
            v_timestamp TIMESTAMP
        )""",
        f"""CREATE TABLE IF NOT EXISTS {LIST_CHANGES} (
            contact_id {id_sql} NOT NULL,
            ts TIMESTAMP NOT NULL,
            list VARCHAR NOT NULL,
            member BOOLEAN NOT NULL
        )""",
    ]
