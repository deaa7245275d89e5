"""Experiment steps and holdouts in the event loop (docs/design.md §9).

The handlers of the ``split`` and ``audience_split`` step kinds (registered in
``Simulation._handlers``, as the compile rules are in :data:`segsim.engine.compiled.STEP_RULES`)
and the holdout test a message goes through before delivery. Every random choice is a draw
of :mod:`segsim.engine.draws`, keyed by what it decides, so it is sticky and independent of
event order and sharding.
"""

from __future__ import annotations

from typing import Any

from segsim.engine.compiled import AudienceSplitStep, SplitStep
from segsim.engine.draws import Draws
from segsim.errors import ScenarioError
from segsim.experiments import path_for_draw

__all__ = ["HoldoutGroup", "audience_split_step", "split_step"]


def split_step(sim: Any, run: Any, step: SplitStep, contact: Any, t: int) -> bool:
    """Take the contact's path of a random split; the run goes on at once."""
    cf = run.flow
    if step.bucket_conditions:
        chosen = next(
            (i for i, c in enumerate(step.bucket_conditions) if contact.members >> c & 1), None
        )
        if chosen is None:
            raise ScenarioError(
                f"flow {cf.name!r} split step {step.id!r}: contact {run.contact!r} has no "
                f"bucket in 0-9999 in attribute {step.bucket_attribute!r} at {_ts(t)} (it is "
                "unset, or outside [0, 10000)); every contact reaching a bucket split needs one"
            )
    else:
        sim.drawn.add(run.contact)
        u = sim.draws.uniform(cf.name, step.id, run.contact, "split")
        chosen = path_for_draw(u, step.cumulative)
    sim.logs.steps.append((t, run.key, run.contact, cf.labels[step.id], step.names[chosen]))
    run.step = step.firsts[chosen]
    return True


def audience_split_step(sim: Any, run: Any, step: AudienceSplitStep, contact: Any, t: int) -> bool:
    """Take the first ranked path whose condition holds now, else ``otherwise``."""
    cf = run.flow
    members = contact.members
    chosen = next(
        (i for i, c in enumerate(step.conditions) if members >> c & 1), len(step.conditions)
    )
    sim.logs.steps.append((t, run.key, run.contact, cf.labels[step.id], step.names[chosen]))
    run.step = step.firsts[chosen]
    return True


class HoldoutGroup:
    """Which contacts a scenario's :class:`~segsim.experiments.Holdout` holds out.

    A contact is held out when its draw ``(seed, replication, None, None, contact,
    "holdout")`` is below the holdout's share: one draw per contact, so the same contacts
    in every flow the holdout covers.
    """

    def __init__(self, holdout: Any, draws: Draws, drawn: set[Any]) -> None:
        self.holdout = holdout
        self.draws = draws
        self._held: dict[Any, bool] = {}
        self._drawn = drawn

    def holds_out(self, flow: str, contact_id: Any) -> bool:
        if not self.holdout.covers(flow):
            return False
        self._drawn.add(contact_id)
        held = self._held.get(contact_id)
        if held is None:
            u = self.draws.uniform(None, None, contact_id, "holdout")
            held = self._held[contact_id] = u < self.holdout.share
        return held


def _ts(t: int) -> str:
    import pandas as pd

    return str(pd.Timestamp(t, unit="us", tz="UTC"))
