"""The one walk over a tree of steps, importable from every layer.

A step that holds steps says so with ``child_paths()``: ``(field, steps)`` pairs in tree
order, the field a name (``"then"``) or a location inside the step (a split's
``("paths", "A")``). :func:`walk` follows it depth first; :func:`segsim.flows.walk_steps` and
:func:`segsim.flows.iter_steps` are this walk, and the views below :mod:`segsim.flows` in the
layers (diagrams, analysis) call it directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["Loc", "walk"]

#: A pydantic-style location in a flow: ``("steps", 2, "then", 0)``.
Loc = tuple[str | int, ...]


def walk(
    steps: Any, prefix: Loc = ("steps",), after: str | None = None
) -> Iterator[tuple[Loc, Any, str | None]]:
    """``(location, step, next)`` for every step of a flow or a step sequence, in tree order.

    ``next`` is the id of the step a run takes after this one when it does not go into one of
    the step's own paths (``None`` where the flow ends); ``after`` is the continuation of the
    whole sequence.

    >>> from types import SimpleNamespace as S
    >>> leaf = lambda i: S(id=i, child_paths=lambda: ())
    >>> branch = S(id="b", child_paths=lambda: (("then", [leaf("w")]),))
    >>> [(loc, step.id, nxt) for loc, step, nxt in walk([branch, leaf("d")])]
    [(('steps', 0), 'b', 'd'), (('steps', 0, 'then', 0), 'w', 'd'), (('steps', 1), 'd', None)]
    """
    sequence: Sequence[Any] = getattr(steps, "steps", steps)  # a flow, or its steps
    for i, step in enumerate(sequence):
        loc = (*prefix, i)
        following = sequence[i + 1].id if i + 1 < len(sequence) else after
        yield loc, step, following
        for field, nested in step.child_paths():
            sub = field if isinstance(field, tuple) else (field,)
            yield from walk(nested, (*loc, *sub), following)
