"""Exceptions raised by segsim.

Every error a user can cause derives from :class:`SegsimError` and says what went
wrong in the user's terms: which file, row, column, attribute, segment, flow or step id.
Bad arguments to a function may also raise ``ValueError``/``TypeError`` or pydantic's
``ValidationError``; :class:`SegsimError` subclasses ``ValueError`` so either catch works.
"""

from __future__ import annotations

__all__ = [
    "CascadeLoopError",
    "ConditionError",
    "DataLoadError",
    "FlowNotReady",
    "ReadOnlyStoreError",
    "ScenarioError",
    "SegmentError",
    "SegsimError",
    "SegsimWarning",
]


class SegsimError(ValueError):
    """Base class of every error segsim raises for bad input or an impossible request."""


class DataLoadError(SegsimError):
    """Input data (a DataFrame, CSV or Parquet file) could not be loaded as given.

    The message names the source, the column, the row and the offending value. A load
    that raises this leaves the store exactly as it was.
    """


class ReadOnlyStoreError(SegsimError):
    """A store opened with ``read_only=True`` was asked to change."""


class ConditionError(SegsimError):
    """A condition refers to an unknown attribute, list or segment, or compares across types."""


class SegmentError(SegsimError):
    """Segments are inconsistent: duplicate names, unknown references or a reference cycle."""


class ScenarioError(SegsimError):
    """A scenario (flows, schedule, channels, window) is inconsistent."""


class FlowNotReady(ScenarioError):
    """A flow without a configured trigger was activated."""


class CascadeLoopError(SegsimError):
    """Flow actions feed each other at one instant without making progress in time."""


class SegsimWarning(UserWarning):
    """Something the figures depend on that is probably not what the analyst meant.

    For example a channel's consent attribute that is not in the data and only a flow step
    sets: until then every message of that channel is skipped. ``segsim validate`` lists
    these too.
    """
