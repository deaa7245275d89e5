"""What a variant may change, and the one rule for a variant of a flow with scheduled edits
(:func:`apply_variant`). Part of :mod:`segsim.compare` (import from there).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segsim._internal.variants import merged_flow

__all__ = ["apply_variant", "scenario_differences"]


# -- one rule for a variant and the scheduled edits of its flow ----------------------------------


def _edits_of(scenario: Any, flow_name: str) -> list[Any]:
    return [
        event
        for event in scenario.schedule
        if getattr(event, "kind", None) == "edit" and event.flow_name == flow_name
    ]


def apply_variant(scenario: Any, flow: Any) -> Any:
    """The scenario with ``flow`` as a variant of its flow of the same name.

    The flow is replaced (as :meth:`Scenario.with_flow <segsim.scenario.Scenario.with_flow>`
    does), and so is every version a scheduled :class:`~segsim.flows.Edit` of that flow
    brings in: each becomes that version with the variant's changes on top. The variant's
    changes are its differences from the scenario's flow — the trigger, each activation
    setting, each step's fields by step id, and the steps it removes, adds (after the same
    step as in the variant) or moves; where the edit changed the same thing, the variant's
    wins; a step the edit removed stays removed. With no scheduled edit this is
    ``scenario.with_flow(flow)``; a variant equal to the scenario's flow changes nothing.
    This one rule serves :func:`compare`, ``segsim compare`` and the Explorer.

    Raises
    ------
    ScenarioError
        When the scenario has no flow of that name, or an edited version with the
        variant's changes is not a valid flow (e.g. a step id used twice), naming the edit.

    Examples
    --------
    >>> no_sms = flow.model_validate({**flow.model_dump(), "steps": flow.model_dump()["steps"][:1]})
    >>> [f.name for f in apply_variant(scenario, no_sms).flows]
    ['Welcome']
    """
    from pydantic import ValidationError

    from segsim.errors import ScenarioError

    varied = scenario.with_flow(flow)
    edits = _edits_of(scenario, flow.name)
    if not edits:
        return varied
    base = next(f for f in scenario.flows if f.name == flow.name)
    schedule = []
    for event in scenario.schedule:
        if event in edits:
            try:
                event = event.replace(flow=merged_flow(base, flow, event.flow))
            except ValidationError as exc:
                raise ScenarioError(
                    f"variant of flow {flow.name!r}: its changes do not fit the version the "
                    f"edit of {event.at:%Y-%m-%d %H:%M} brings in: {exc}"
                ) from None
        schedule.append(event)
    return varied._replaced(schedule=tuple(schedule))


# -- what a variant may and may not change ---------------------------------------------------


def _data_text(scenario: Any) -> str:
    data = getattr(scenario, "data", None)
    if data is not None:
        fields = ", ".join(f"{k}={v!r}" for k, v in data.model_dump().items() if k != "kind")
        return f"{data.kind}({fields})"
    store = getattr(scenario, "_store", None)
    return f"store {store!r}" if store is not None else "no data"


def _same_data(a: Any, b: Any) -> bool:
    if a.data is not None or b.data is not None:
        return bool(a.data == b.data)
    return a._store is b._store


def scenario_differences(
    a: Any, b: Any, *, shared: Sequence[str] = ("data", "window", "seed")
) -> list[str]:
    """What differs between two scenarios, among the things compared variants must share.

    Parameters
    ----------
    a, b : Scenario
        The baseline and a variant.
    shared : sequence of str, default ("data", "window", "seed")
        What to check, among ``"data"`` (the data source, or the store), ``"window"``
        (start and end), ``"seed"``, ``"segments"`` (by name and definition),
        ``"channels"`` (every field) and ``"include_existing_members"``. Flows and the
        schedule are what variants are for and are never listed.

    Returns
    -------
    list of str
        One line per difference, e.g. ``"seed: 1 vs 2"``; empty when they share all.
    """
    out = []
    if "data" in shared and not _same_data(a, b):
        out.append(f"data source: {_data_text(a)} vs {_data_text(b)}")
    if "window" in shared and (a.start, a.end) != (b.start, b.end):
        out.append(
            f"window: {a.start:%Y-%m-%d %H:%M} → {a.end:%Y-%m-%d %H:%M} vs "
            f"{b.start:%Y-%m-%d %H:%M} → {b.end:%Y-%m-%d %H:%M}"
        )
    if "seed" in shared and a.seed != b.seed:
        out.append(f"seed: {a.seed} vs {b.seed}")
    if "segments" in shared:
        mine = {s.name: s for s in a.segments}
        theirs = {s.name: s for s in b.segments}
        names = list(mine) + [n for n in theirs if n not in mine]
        for name in names:
            if name not in theirs:
                out.append(f"segments: {name!r} only in the first")
            elif name not in mine:
                out.append(f"segments: {name!r} only in the second")
            elif mine[name] != theirs[name]:
                out.append(f"segments: {name!r} is defined differently")
    if "channels" in shared:
        first, second = a.channels.model_dump(), b.channels.model_dump()
        for name, value in first.items():
            if second[name] != value:
                out.append(f"channels: {name} {value!r} vs {second[name]!r}")
    if "include_existing_members" in shared and (
        a.include_existing_members != b.include_existing_members
    ):
        out.append(
            f"include_existing_members: {a.include_existing_members} vs "
            f"{b.include_existing_members}"
        )
    return out


def _variant_scenario(scenario: Any, name: str, variant: Any) -> tuple[Any, list[str]]:
    """The scenario a variant stands for, and what to warn about."""
    from segsim.flows import Flow
    from segsim.scenario import Scenario

    if callable(variant) and not isinstance(variant, (Flow, Scenario)):
        variant = variant(scenario)
    if isinstance(variant, Flow):
        notes = []
        edits = _edits_of(scenario, variant.name)
        if edits and variant != next(f for f in scenario.flows if f.name == variant.name):
            when = ", ".join(f"{e.at:%Y-%m-%d %H:%M}" for e in edits)
            notes.append(
                f"variant {name!r} replaces flow {variant.name!r}, which the schedule edits "
                f"({when}): from each edit on, the variant runs as the edited version with "
                "the variant's changes on top (segsim.compare.apply_variant)"
            )
        return apply_variant(scenario, variant), notes
    if isinstance(variant, Scenario):
        differences = scenario_differences(scenario, variant)
        if differences:
            raise ValueError(
                f"variant {name!r} differs from the scenario in what variants must share, "
                f"so its deltas would mean nothing: {'; '.join(differences)}. compare runs "
                "every variant on the same data, window and seed, so that only the change "
                "differs"
            )
        return variant, []
    raise TypeError(
        f"variant {name!r} must be a Flow (replacing the scenario's flow of that name), a "
        "Scenario (e.g. scenario.with_settings(...)) or a function scenario -> Flow or "
        f"Scenario; got {type(variant).__name__}"
    )
