"""Experiments: random and audience splits, holdout groups, replications (docs/design.md §9).

* :class:`Split` and :class:`AudienceSplit` are flow steps (they live with the other steps in
  :mod:`segsim.flows`, as members of the one step union, and are re-exported here);
* :class:`Holdout` is a scenario's control group: held-out contacts walk the flows, but
  every message to them is ``skipped`` with reason ``holdout``;
* the assignment rules — a draw or a stored 0–9999 bucket to a path — are the pure
  functions :func:`path_for_draw` and :func:`path_for_bucket`, which the engine uses and the
  tests check directly;
* :func:`interval_table` turns one row per replication into a mean and a 95% interval.

All randomness comes from :mod:`segsim.engine.draws` (BLAKE2b of seed, replication, flow,
step, contact and purpose): an assignment never depends on event order or sharding.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from segsim._internal.models import FrozenModel
from segsim._internal.naming import Name
from segsim.flows import AudiencePath, AudienceSplit, Split

__all__ = [
    "BUCKETS",
    "AudiencePath",
    "AudienceSplit",
    "Holdout",
    "Split",
    "bucket_bounds",
    "cumulative_shares",
    "interval_table",
    "path_for_bucket",
    "path_for_draw",
]

#: Buckets a platform assigns contacts to (Braze's random bucket number: 0–9999).
BUCKETS = 10_000


def cumulative_shares(weights: Sequence[float]) -> tuple[float, ...]:
    """Cumulative shares of weights in the order given; the last is exactly 1.

    >>> cumulative_shares([45, 45, 10])
    (0.45, 0.9, 1.0)
    """
    total = math.fsum(weights)
    running, out = 0.0, []
    for weight in weights:
        running += weight
        out.append(running / total)
    out[-1] = 1.0
    return tuple(out)


def path_for_draw(u: float, cumulative: Sequence[float]) -> int:
    """The path a uniform draw ``u`` in ``[0, 1)`` takes: the first ``i`` with ``u < c_i``.

    >>> [path_for_draw(u, (0.45, 0.9, 1.0)) for u in (0.0, 0.4499, 0.45, 0.8999, 0.9, 0.9999)]
    [0, 0, 1, 1, 2, 2]
    """
    return min(bisect.bisect_right(cumulative, u), len(cumulative) - 1)


def bucket_bounds(weights: Sequence[float]) -> tuple[tuple[float, float], ...]:
    """Each path's bucket range ``[low, high)`` out of 0–9999, by cumulative weights.

    >>> bucket_bounds([45, 45, 10])
    ((0.0, 4500.0), (4500.0, 9000.0), (9000.0, 10000.0))
    """
    total = math.fsum(weights)
    bounds, low, running = [], 0.0, 0.0
    for weight in weights:
        running += weight
        high = running * BUCKETS / total
        bounds.append((low, high))
        low = high
    bounds[-1] = (bounds[-1][0], float(BUCKETS))
    return tuple(bounds)


def path_for_bucket(bucket: float | None, weights: Sequence[float]) -> int | None:
    """The path a stored bucket picks (``None``: no bucket, or outside ``[0, 10000)``).

    >>> [path_for_bucket(b, [45, 45, 10]) for b in (0, 4499, 4500, 8999, 9000, 9999, 10000, None)]
    [0, 0, 1, 1, 2, 2, None, None]
    """
    if bucket is None or not 0 <= bucket < BUCKETS:
        return None
    for i, (low, high) in enumerate(bucket_bounds(weights)):
        if low <= bucket < high:
            return i
    return None  # pragma: no cover - the ranges cover [0, BUCKETS)


class Holdout(FrozenModel):
    """A control group: ``percent`` of contacts get no message from the flows it covers.

    Held-out contacts are drawn per replication from (seed, replication, contact) — the same
    contacts in every flow the holdout covers (``flows=None``: every flow). They enter and
    walk flows as usual; every message to them is ``skipped`` with reason ``holdout``, and
    operations (lists, updates, webhooks) still apply.

    >>> Holdout(percent=5).covers("Welcome")
    True
    >>> Holdout(percent=5, flows=["Winback"]).covers("Welcome")
    False
    """

    percent: float = Field(gt=0, lt=100)
    flows: tuple[Name, ...] | None = None

    @field_validator("percent")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"the holdout percent must be a finite number, got {value!r}")
        return value

    def covers(self, flow: str) -> bool:
        """Whether the holdout applies to messages of ``flow``."""
        return self.flows is None or flow in self.flows

    @property
    def share(self) -> float:
        """The held-out share of contacts, in ``(0, 1)``."""
        return self.percent / 100.0


def interval_table(
    per_replication: pd.DataFrame, metrics: Sequence[str], *, by: Sequence[str] = ()
) -> pd.DataFrame:
    """Mean and 95% interval of each metric over replications (one row per replication).

    The interval is the 2.5% and 97.5% percentiles of the metric over replications (linear
    interpolation): where the metric falls in 95% of replications. ``std`` is the sample
    standard deviation (0 with one replication).

    Returns ``*by, metric, mean, std, low, high, replications``, metrics in the order given.
    """
    groups = per_replication.groupby(list(by), sort=False) if by else [((), per_replication)]
    rows = []
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        for metric in metrics:
            values = group[metric].to_numpy(dtype="float64")
            rows.append(
                (
                    *key,
                    metric,
                    float(values.mean()),
                    float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                    float(np.percentile(values, 2.5)),
                    float(np.percentile(values, 97.5)),
                    len(values),
                )
            )
    columns = [*by, "metric", "mean", "std", "low", "high", "replications"]
    table = pd.DataFrame(rows, columns=columns)
    return table.astype({"replications": "int64"})
