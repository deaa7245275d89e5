"""segsim: dry-run segment-triggered automation flows on real contact histories.

Data flows one way: :mod:`~segsim.store` (DuckDB histories) → :mod:`~segsim.conditions`
and :mod:`~segsim.segments` (membership and transitions) → :mod:`~segsim.flows` and
:mod:`~segsim.scenario` (what to simulate) → :mod:`~segsim.engine` (SimPy) →
:mod:`~segsim.result` (DataFrames) → :mod:`~segsim.analysis`, :mod:`~segsim.plots`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from segsim import datasets
from segsim.compare import Comparison, compare
from segsim.conditions import Condition, all_of, any_of, attr, in_list, in_segment, not_
from segsim.diagram import draw_flow
from segsim.engine import simulate
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
from segsim.flows import (
    Activate,
    ActivationSettings,
    AddToList,
    AttributeMatches,
    Branch,
    Channels,
    DeleteContact,
    Edit,
    EntersSegment,
    ExitsSegment,
    Flow,
    Pause,
    RemoveFromList,
    Resume,
    SegmentTrigger,
    SendEmail,
    SendSMS,
    SendWhatsApp,
    UpdateContact,
    Wait,
    Webhook,
)
from segsim.report import Report, build_report
from segsim.result import SimulationResult, open_result
from segsim.scenario import Scenario, load_scenario
from segsim.segments import Segment, members, segment_events, segment_sizes
from segsim.store import Store
from segsim.widgets import Explorer

try:
    __version__ = _version("segsim")
except _PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = [
    "Activate",
    "ActivationSettings",
    "AddToList",
    "AttributeMatches",
    "Branch",
    "CascadeLoopError",
    "Channels",
    "Comparison",
    "Condition",
    "ConditionError",
    "DataLoadError",
    "DeleteContact",
    "Edit",
    "EntersSegment",
    "ExitsSegment",
    "Explorer",
    "Flow",
    "FlowNotReady",
    "Pause",
    "ReadOnlyStoreError",
    "RemoveFromList",
    "Report",
    "Resume",
    "Scenario",
    "ScenarioError",
    "Segment",
    "SegmentError",
    "SegmentTrigger",
    "SegsimError",
    "SendEmail",
    "SendSMS",
    "SendWhatsApp",
    "SimulationResult",
    "Store",
    "UpdateContact",
    "Wait",
    "Webhook",
    "__version__",
    "all_of",
    "any_of",
    "attr",
    "build_report",
    "compare",
    "datasets",
    "draw_flow",
    "in_list",
    "in_segment",
    "load_scenario",
    "members",
    "not_",
    "open_result",
    "segment_events",
    "segment_sizes",
    "simulate",
]
