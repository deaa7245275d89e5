"""Contacts whose story differs between variants: the rows of
:meth:`Comparison.contact_differences <segsim.compare.Comparison.contact_differences>`. Part
of :mod:`segsim.compare`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["contact_differences_frame"]


def contact_differences_frame(results: dict[str, Any], baseline: str) -> pd.DataFrame:
    """The rows of :meth:`Comparison.contact_differences <segsim.compare.Comparison.contact_differences>`."""
    base = results[baseline]
    base_stories = _stories(base.steps)
    base_messages = _messages(base.actions)
    rows = []
    for name in list(results)[1:]:
        result = results[name]
        stories = _stories(result.steps)
        messages = _messages(result.actions)
        for contact in _ordered(set(base_stories) | set(stories)):
            ours = base_stories.get(contact, _EMPTY)
            theirs = stories.get(contact, _EMPTY)
            if ours.keys == theirs.keys:
                continue
            i = next(
                (k for k, (a, b) in enumerate(zip(ours.keys, theirs.keys, strict=False)) if a != b),
                min(len(ours.keys), len(theirs.keys)),
            )
            times = [s.times[i] for s in (ours, theirs) if i < len(s.keys)]
            first = ours if i < len(ours.keys) else theirs
            n_base = int(base_messages.get(contact, 0))
            n_variant = int(messages.get(contact, 0))
            rows.append(
                (
                    contact,
                    name,
                    n_base,
                    n_variant,
                    n_variant - n_base,
                    min(times),
                    first.keys[i][0],
                    first.keys[i][1],
                    _describe(ours, i),
                    _describe(theirs, i),
                )
            )
    columns = [
        "contact_id",
        "variant",
        "baseline_messages",
        "messages",
        "delta",
        "diverges_at",
        "diverges_flow",
        "diverges_step",
        "baseline_step",
        "variant_step",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    id_dtype = base.steps["contact_id"].dtype
    frame["contact_id"] = frame["contact_id"].astype(id_dtype if len(frame) else object)
    for column in ("baseline_messages", "messages", "delta"):
        frame[column] = frame[column].astype("int64")
    frame["diverges_at"] = pd.to_datetime(frame["diverges_at"], utc=True).astype(
        "datetime64[us, UTC]"
    )
    for column in (
        "variant",
        "diverges_flow",
        "diverges_step",
        "baseline_step",
        "variant_step",
    ):
        values = frame[column].astype(object)
        frame[column] = values.where(values.notna(), None)  # pandas 3 would say NaN
    return frame


class _Story:
    """One contact's executed steps: comparable keys and their times."""

    __slots__ = ("keys", "times")

    def __init__(self, keys: list[tuple[Any, Any, Any]], times: list[Any]) -> None:
        self.keys = keys
        self.times = times


_EMPTY = _Story([], [])


def _stories(steps: pd.DataFrame) -> dict[Any, _Story]:
    """Every contact's steps in time order (ties in the frame's order, the engine's)."""
    ordered = steps.sort_values("time", kind="stable")
    stories: dict[Any, _Story] = {}
    columns = (ordered[c].tolist() for c in ("contact_id", "time", "flow", "step_id", "outcome"))
    for contact, time, flow, step_id, outcome in zip(*columns, strict=True):
        story = stories.get(contact)
        if story is None:
            story = stories[contact] = _Story([], [])
        story.keys.append((flow, step_id, outcome))
        story.times.append(time)
    return stories


def _messages(actions: pd.DataFrame) -> dict[Any, int]:
    from segsim.analysis import messages_per_contact

    counts = messages_per_contact(actions)
    return dict(zip(counts["contact_id"], counts["messages"], strict=True))


def _describe(story: _Story, i: int) -> str | None:
    if i >= len(story.keys):
        return None
    flow, step_id, outcome = story.keys[i]
    return f"{flow}/{step_id}: {outcome}"


def _ordered(contacts: set[Any]) -> list[Any]:
    return sorted(
        contacts, key=lambda c: (0, c, "") if isinstance(c, (int, np.integer)) else (1, 0, str(c))
    )
