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
"""

from __future__ import annotations

SCHEMA_VERSION = "1"

ATTRIBUTE_TYPES = ("string", "number", "boolean", "timestamp")

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
