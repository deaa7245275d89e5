"""segsim: dry-run segment-triggered automation flows on real contact histories."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from segsim import datasets
from segsim.errors import (
    CascadeLoopError,
    ConditionError,
    DataLoadError,
    FlowNotReady,
    ReadOnlyStoreError,
    ScenarioError,
    SegmentError,
    SegsimError,
)
from segsim.store import Store

try:
    __version__ = version("segsim")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = [
    "CascadeLoopError",
    "ConditionError",
    "DataLoadError",
    "FlowNotReady",
    "ReadOnlyStoreError",
    "ScenarioError",
    "SegmentError",
    "SegsimError",
    "Store",
    "__version__",
    "datasets",
]
