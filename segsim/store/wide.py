"""Loaders that turn other shapes into attribute changes: wide snapshots and change logs."""

from __future__ import annotations

from segsim.store.ingest import IngestSide

__all__ = ["WideSide"]


class WideSide(IngestSide):
    """Snapshot and change-log loaders (mixed into :class:`~segsim.store.Store`)."""
