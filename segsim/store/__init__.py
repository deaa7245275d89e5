"""The DuckDB-backed store of contact histories: attribute changes, list changes, events.

A :class:`Store` holds, for every contact, the history of its attribute values, its list
memberships and its behavioural events, in long format (one row per change or occurrence). It
is the only source of data for segments and simulations; the schema is written down in
:mod:`segsim.schema`.

The package is split by direction of data:

* :mod:`segsim.store.base` — the connection, the schema version and the contact id type;
* :mod:`segsim.store.read` — the read side: catalogs (``attribute_types``, ``attributes``,
  ``list_names``, ``event_names``, ``event_catalog``, ``event_property_types``), ``contacts``,
  ``history``, ``state_at``, ``events``;
* the ingest side: :mod:`segsim.store.ingest` (``load_attributes``, ``load_lists``,
  ``load_events``) and :mod:`segsim.store.wide` (``load_snapshot``, ``load_change_log``), built
  on :mod:`segsim.store.sources` (DataFrame, CSV and Parquet input as DuckDB relations),
  :mod:`segsim.store.values` and :mod:`segsim.store.fields` (typing and checking values in SQL)
  and :mod:`segsim.store.write` (one transaction per load).

Loading is all-or-nothing and vectorised: values are parsed, typed, validated and
de-duplicated inside DuckDB, and a load that fails leaves the store exactly as it was, with an
error naming the file, the column, the row and the value.
"""

from __future__ import annotations

from segsim.store.wide import WideSide

__all__ = ["Store"]


class Store(WideSide):
    """Contact attribute histories, list memberships and events in DuckDB.

    Parameters
    ----------
    path : str or Path, optional
        A DuckDB database file. Omitted: an in-memory store. A file that does not exist is
        created, unless ``read_only``.
    read_only : bool
        Open the file read-only: nothing is ever written to it, and loads raise
        :class:`~segsim.errors.ReadOnlyStoreError`.

    Examples
    --------
    >>> import pandas as pd, segsim as ss
    >>> store = ss.Store()
    >>> store.load_attributes(pd.DataFrame({
    ...     "contact_id": [1, 1], "ts": ["2026-01-01", "2026-02-01"],
    ...     "attribute": ["plan", "plan"], "value": ["free", "pro"]}))
    2
    >>> store.state_at("2026-01-15")["plan"].tolist()
    ['free']
    """
