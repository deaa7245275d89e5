"""The ``forecast:`` section of a scenario: how ``segsim forecast`` projects it by default."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from segsim._internal.models import FrozenModel
from segsim._internal.naming import PositiveDuration

__all__ = ["ForecastSettings"]


class ForecastSettings(FrozenModel):
    """The defaults of :func:`segsim.forecast` for a scenario (docs/design.md §11).

    In a scenario file::

        forecast: {horizon: 90d, method: bootstrap, replications: 100, seed: 3}

    ``segsim forecast`` reads them, and its options (``--horizon``, ``--method``,
    ``--replications``, ``--seed``, ``--block``, ``--positions``) override them; ``ss.forecast`` reads them
    for the arguments it is not given.

    Parameters
    ----------
    horizon : duration, default ``"90d"``
        The projected window after the scenario's ``end``.
    method : ``"bootstrap"`` or ``"poisson"``
        The block bootstrap of contact trajectories, or the fitted gamma-Poisson event
        process.
    replications : int, default 100
        How many futures to draw.
    seed : int, optional
        The seed of the behaviour draws (default: the scenario's ``seed``).
    block : duration, optional
        The bootstrap's block length (default: the horizon; at most the horizon; not with
        ``"poisson"``).
    positions : int, optional
        The moving-block bootstrap's number of block positions, 7 days apart (default:
        ``ceil(block / 7 days)``; ``1``: the last block only; not with ``"poisson"``).
    """

    horizon: PositiveDuration = dt.timedelta(days=90)
    method: Literal["bootstrap", "poisson"] = "bootstrap"
    replications: int = Field(default=100, ge=1)
    seed: int | None = None
    block: PositiveDuration | None = None
    positions: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check_block(self) -> ForecastSettings:
        if self.block is not None:
            if self.method == "poisson":
                raise ValueError("block is a length of the bootstrap; method 'poisson' has none")
            if self.block > self.horizon:
                raise ValueError(
                    f"block ({self.block}) must not be longer than the horizon ({self.horizon})"
                )
        if self.positions is not None and self.method == "poisson":
            raise ValueError("positions are the bootstrap's; method 'poisson' has none")
        return self
