"""segsim: dry-run segment-triggered automation flows on real contact histories.

Data flows one way: :mod:`~segsim.store` (DuckDB histories) → :mod:`~segsim.conditions`
and :mod:`~segsim.segments` (membership and transitions) → :mod:`~segsim.flows` and
:mod:`~segsim.scenario` (what to simulate) → :mod:`~segsim.engine` (SimPy) →
:mod:`~segsim.result` (DataFrames) → :mod:`~segsim.analysis`, :mod:`~segsim.plots`.

Every public name is importable from here (``ss.Flow``, ``ss.simulate``, ``ss.Explorer``),
but a module is only imported when one of its names is first used (:pep:`562`): ``import
segsim`` and ``segsim --help`` load neither pandas, DuckDB nor matplotlib, and matplotlib
and ipywidgets are only loaded by the views that draw.
"""

from __future__ import annotations

import importlib as _importlib
import sys as _sys
import types as _types
from typing import TYPE_CHECKING
from typing import Any as _Any

from segsim.errors import (
    CascadeLoopError,
    ConditionError,
    DataLoadError,
    FlowNotReady,
    ReadOnlyStoreError,
    ScenarioError,
    SegmentError,
    SegsimError,
    SegsimWarning,
)

if TYPE_CHECKING:  # what the lazy names below resolve to, for type checkers and editors
    from segsim import datasets
    from segsim.calibration import calibrate_responses
    from segsim.compare import Comparison, compare
    from segsim.conditions import Condition, all_of, any_of, attr, in_list, in_segment, not_
    from segsim.diagram import draw_flow
    from segsim.engine import simulate
    from segsim.event_conditions import event, prop
    from segsim.experiments import AudiencePath, AudienceSplit, Holdout, Split
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
        EventTrigger,
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
        WaitFor,
        Webhook,
    )
    from segsim.forecast import Forecast, forecast
    from segsim.policies import DeliveryPolicy, FrequencyCap, QuietHours, RateLimit
    from segsim.report import Report, build_report
    from segsim.responses import ConditionOverride, Funnel, Goal, ResponseDelays, ResponseModel
    from segsim.result import SimulationResult, open_result
    from segsim.scenario import Scenario, load_scenario
    from segsim.segments import Segment, members, segment_events, segment_sizes
    from segsim.store import Store
    from segsim.widgets import Explorer

    __version__: str

#: Where each lazily imported public name lives (``"segsim.datasets"`` is a subpackage).
_LAZY: dict[str, str] = {
    "datasets": "segsim.datasets",
    **dict.fromkeys(("Comparison", "compare"), "segsim.compare"),
    **dict.fromkeys(
        ("Condition", "all_of", "any_of", "attr", "in_list", "in_segment", "not_"),
        "segsim.conditions",
    ),
    "draw_flow": "segsim.diagram",
    "simulate": "segsim.engine",
    **dict.fromkeys(("AudiencePath", "AudienceSplit", "Holdout", "Split"), "segsim.experiments"),
    **dict.fromkeys(("event", "prop"), "segsim.event_conditions"),
    **dict.fromkeys(("Forecast", "forecast"), "segsim.forecast"),
    **dict.fromkeys(
        (
            "Activate",
            "ActivationSettings",
            "AddToList",
            "AttributeMatches",
            "Branch",
            "Channels",
            "DeleteContact",
            "Edit",
            "EntersSegment",
            "EventTrigger",
            "ExitsSegment",
            "Flow",
            "Pause",
            "RemoveFromList",
            "Resume",
            "SegmentTrigger",
            "SendEmail",
            "SendSMS",
            "SendWhatsApp",
            "UpdateContact",
            "Wait",
            "WaitFor",
            "Webhook",
        ),
        "segsim.flows",
    ),
    **dict.fromkeys(("Report", "build_report"), "segsim.report"),
    **dict.fromkeys(("SimulationResult", "open_result"), "segsim.result"),
    **dict.fromkeys(("Scenario", "load_scenario"), "segsim.scenario"),
    **dict.fromkeys(("Segment", "members", "segment_events", "segment_sizes"), "segsim.segments"),
    "Store": "segsim.store",
    "calibrate_responses": "segsim.calibration",
    "Explorer": "segsim.widgets",
    **dict.fromkeys(
        ("DeliveryPolicy", "FrequencyCap", "QuietHours", "RateLimit"), "segsim.policies"
    ),
    **dict.fromkeys(
        ("ConditionOverride", "Funnel", "Goal", "ResponseDelays", "ResponseModel"),
        "segsim.responses",
    ),
}

__all__ = [
    "Activate",
    "ActivationSettings",
    "AddToList",
    "AttributeMatches",
    "AudiencePath",
    "AudienceSplit",
    "Branch",
    "CascadeLoopError",
    "Channels",
    "Comparison",
    "Condition",
    "ConditionError",
    "ConditionOverride",
    "DataLoadError",
    "DeleteContact",
    "DeliveryPolicy",
    "Edit",
    "EntersSegment",
    "EventTrigger",
    "ExitsSegment",
    "Explorer",
    "Flow",
    "FlowNotReady",
    "Forecast",
    "FrequencyCap",
    "Funnel",
    "Goal",
    "Holdout",
    "Pause",
    "QuietHours",
    "RateLimit",
    "ReadOnlyStoreError",
    "RemoveFromList",
    "Report",
    "ResponseDelays",
    "ResponseModel",
    "Resume",
    "Scenario",
    "ScenarioError",
    "Segment",
    "SegmentError",
    "SegmentTrigger",
    "SegsimError",
    "SegsimWarning",
    "SendEmail",
    "SendSMS",
    "SendWhatsApp",
    "SimulationResult",
    "Split",
    "Store",
    "UpdateContact",
    "Wait",
    "WaitFor",
    "Webhook",
    "__version__",
    "all_of",
    "any_of",
    "attr",
    "build_report",
    "calibrate_responses",
    "compare",
    "datasets",
    "draw_flow",
    "event",
    "forecast",
    "in_list",
    "in_segment",
    "load_scenario",
    "members",
    "not_",
    "open_result",
    "prop",
    "segment_events",
    "segment_sizes",
    "simulate",
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("segsim")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "0+unknown"


def __getattr__(name: str) -> _Any:
    """Import a public name's module on first use (:pep:`562`) and keep the name here."""
    if name == "__version__":
        value: _Any = _version()
    elif name in _LAZY:
        module = _importlib.import_module(_LAZY[name])
        # a subpackage (segsim.datasets) is the name itself; else the name is in its module
        # (segsim.compare, a module and the function in it, means the function)
        value = getattr(module, name) if hasattr(module, name) else module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # the public names, loaded or not, and the submodules imported so far
    loaded = {name for name, value in globals().items() if isinstance(value, _types.ModuleType)}
    return sorted(set(__all__) | {n for n in loaded if not n.startswith("_")} | {"__version__"})


class _Package(_types.ModuleType):
    """The package module, guarding the one public function named like its module.

    Importing a submodule sets it as an attribute of its package; ``segsim.compare`` is
    both a module and the public function :func:`segsim.compare.compare`, so once the
    module is imported (by ``ss.Explorer``, say) the attribute must stay the function.
    """

    def __setattr__(self, name: str, value: _Any) -> None:
        if (
            isinstance(value, _types.ModuleType)
            and _LAZY.get(name) == value.__name__
            and hasattr(value, name)  # segsim.compare.compare, not segsim.datasets
        ):
            value = getattr(value, name)
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
