"""The merge behind :func:`segsim.compare.apply_variant`: an edited version of a flow with a
variant's changes on top.

Flows are handled as their ``model_dump()``: a variant's changes are its differences from the
base flow — the trigger, each activation setting, each step's own fields (by step id), the
steps it removes, adds, or moves (into another list, or out of the longest common order of
its list) — and they are applied to the edited version, whose own changes stay. Where both
change the same thing, the variant's wins. The result is validated by the version's class.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["merged_flow"]

#: the nested step lists ("arms") of each step kind that has some
_ARMS = {"branch": ("then", "otherwise"), "wait_for": ("then", "timed_out")}
_Container = tuple[Any, Any]  # (id of the step holding the arm or None, arm or None)


def _arms(step: Mapping[str, Any]) -> tuple[str, ...]:
    return _ARMS.get(step.get("kind"), ())  # type: ignore[arg-type]


class _Tree:
    """A dumped step tree as containers of ids and each step's own fields."""

    def __init__(self, steps: Sequence[Mapping[str, Any]]) -> None:
        self.fields: dict[str, dict[str, Any]] = {}
        self.containers: dict[_Container, list[str]] = {}
        self.where: dict[str, _Container] = {}
        self.order: list[str] = []  # pre-order
        self._add((None, None), steps)

    def _add(self, container: _Container, steps: Sequence[Mapping[str, Any]]) -> None:
        ids = self.containers.setdefault(container, [])
        for step in steps:
            step_id = step["id"]
            ids.append(step_id)
            self.where[step_id] = container
            self.order.append(step_id)
            arms = _arms(step)
            self.fields[step_id] = {k: v for k, v in step.items() if k not in arms}
            for arm in arms:
                self._add((step_id, arm), step[arm])

    def anchor(self, step_id: str, known: set[str]) -> str | None:
        """The nearest earlier sibling of ``step_id`` that is in ``known``."""
        siblings = self.containers[self.where[step_id]]
        for sibling in reversed(siblings[: siblings.index(step_id)]):
            if sibling in known:
                return sibling
        return None

    def detach(self, step_id: str) -> None:
        container = self.where.pop(step_id, None)
        if container is not None and step_id in self.containers.get(container, []):
            self.containers[container].remove(step_id)

    def insert(self, step_id: str, container: _Container, after: str | None) -> bool:
        if container != (None, None) and container not in self.containers:
            return False  # the step holding it is not in this version
        ids = self.containers[container]
        index = ids.index(after) + 1 if after in ids else 0
        ids.insert(index, step_id)
        self.where[step_id] = container
        return True

    def dump(self, container: _Container = (None, None)) -> list[dict[str, Any]]:
        out = []
        for step_id in self.containers.get(container, []):
            step = dict(self.fields[step_id])
            for arm in _arms(step):
                step[arm] = self.dump((step_id, arm))
            out.append(step)
        return out


def _longest_common_order(a: Sequence[str], b: Sequence[str]) -> list[str]:
    """The longest subsequence of both ``a`` and ``b`` (the steps that did not move)."""
    lengths = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            lengths[i + 1][j + 1] = (
                lengths[i][j] + 1 if x == y else max(lengths[i][j + 1], lengths[i + 1][j])
            )
    out, i, j = [], len(a), len(b)
    while i and j:
        if a[i - 1] == b[j - 1]:
            out.append(a[i - 1])
            i, j = i - 1, j - 1
        elif lengths[i - 1][j] >= lengths[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return out[::-1]


def _merged_steps(
    base: Sequence[Mapping[str, Any]],
    variant: Sequence[Mapping[str, Any]],
    version: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """``version``'s steps with the variant's changes (against ``base``) on top."""
    b, v, out = _Tree(base), _Tree(variant), _Tree(copy.deepcopy(list(version)))
    common = set(b.fields) & set(v.fields)
    removed = [s for s in b.order if s not in v.fields]
    added = {s for s in v.order if s not in b.fields}
    # moved: into another container, or out of the longest common order of its container
    moved = {s for s in common if b.where[s] != v.where[s]}
    for container, ids in v.containers.items():
        before = [s for s in b.containers.get(container, []) if s in common and s not in moved]
        after = [s for s in ids if s in common and s not in moved]
        kept = set(_longest_common_order(before, after))
        moved |= {s for s in after if s not in kept}
    for step_id in removed:
        out.detach(step_id)
    for step_id in common:
        if step_id not in out.fields or b.fields[step_id] == v.fields[step_id]:
            continue
        mine, theirs, wanted = b.fields[step_id], out.fields[step_id], v.fields[step_id]
        if mine.get("kind") == wanted.get("kind") == theirs.get("kind"):
            for name, value in wanted.items():
                if mine.get(name) != value:
                    theirs[name] = copy.deepcopy(value)
        else:  # the variant (or the edit) changed the step's kind: the variant's step wins
            out.fields[step_id] = copy.deepcopy(wanted)
            for arm in _arms(wanted):
                out.containers.setdefault((step_id, arm), [])
    for step_id in v.order:
        if step_id in added:
            out.detach(step_id)  # the edit may have added a step of the same id
            out.fields[step_id] = copy.deepcopy(v.fields[step_id])
            for arm in _arms(v.fields[step_id]):
                out.containers[(step_id, arm)] = []
        elif step_id in moved and step_id in out.where:
            out.detach(step_id)
        else:
            continue
        container = v.where[step_id]
        placed = set(out.where)
        out.insert(step_id, container, v.anchor(step_id, placed))
    return out.dump()


def merged_flow(base: Any, variant: Any, version: Any) -> Any:
    """An edited ``version`` of ``base`` with ``variant``'s changes on top (the rule)."""
    b, v, e = (flow.model_dump() for flow in (base, variant, version))
    merged = dict(e)
    if v["trigger"] != b["trigger"]:
        merged["trigger"] = v["trigger"]
    merged["settings"] = {
        name: (v["settings"][name] if v["settings"][name] != b["settings"][name] else value)
        for name, value in e["settings"].items()
    }
    merged["steps"] = _merged_steps(b["steps"], v["steps"], e["steps"])
    return type(version).model_validate(merged)
