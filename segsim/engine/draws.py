"""Deterministic random draws: the one source of randomness of a simulation.

Every random choice (split paths, holdouts, response models) is a *pure function* of
``(seed, replication, flow, step, contact, purpose)``: not of the order events happen in,
not of the run, not of how contacts are sharded, not of the process or machine. So a
contact takes the same split path on every run of a replication (sticky assignment), a
sharded run draws what an unsharded one draws, and two variants compared on one seed share
their draws (common random numbers).

**The hash.** The draw is BLAKE2b (:func:`hashlib.blake2b`, 8-byte digest, personalised
with ``b"segsim-draw-v1"``) of a canonical byte string of the six fields, read as a
big-endian unsigned integer, of which the top 53 bits give a float in ``[0, 1)``:
``(h >> 11) / 2**53`` (every such float is exact). Each field is written as a one-byte
type tag, its length as 4 bytes big-endian, then its bytes:

* ``b"i"`` + the decimal digits of an ``int`` (a ``bool`` is refused: ids are not flags);
* ``b"s"`` + the UTF-8 of a ``str``;
* ``b"n"`` + nothing, for ``None`` (a draw that belongs to no flow or step, e.g. a global
  holdout).

So the integer contact ``1`` and the string contact ``"1"`` draw differently, as they are
different contacts, and no two field lists share a byte string. Changing this encoding
changes every result: it is versioned by the personalisation string.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Draws", "uniform"]

_PERSON = b"segsim-draw-v1"
_SCALE = 2.0**-53

Field = int | str | None


def _encode(value: Field) -> bytes:
    if value is None:
        tag, data = b"n", b""
    elif isinstance(value, bool):
        raise TypeError(f"a draw field is an int, a str or None, not a bool ({value!r})")
    elif isinstance(value, int):
        tag, data = b"i", str(value).encode("ascii")
    elif isinstance(value, str):
        tag, data = b"s", value.encode("utf-8")
    else:
        raise TypeError(
            f"a draw field is an int, a str or None, got {type(value).__name__}: {value!r}"
        )
    return tag + len(data).to_bytes(4, "big") + data


def uniform(
    seed: int, replication: int, flow: str | None, step: str | None, contact: Field, purpose: str
) -> float:
    """A uniform draw in ``[0, 1)``, a pure function of its arguments (see the module docs).

    Parameters
    ----------
    seed : int
        The scenario's seed.
    replication : int
        0 for the first (or only) replication.
    flow, step : str or None
        The flow and the step the draw is for; ``None`` for a draw that belongs to no flow
        (a global holdout) or to no step.
    contact : int or str
        The contact id, exactly as loaded.
    purpose : str
        What the draw decides (``"split"``, ``"holdout"``, ``"email_opened"``, ...): two
        purposes at one step draw independently.

    >>> uniform(1, 0, "Welcome", "ab", 42, "split")
    0.6858517000998171
    """
    data = b"".join(_encode(v) for v in (seed, replication, flow, step, contact, purpose))
    digest = hashlib.blake2b(data, digest_size=8, person=_PERSON).digest()
    return (int.from_bytes(digest, "big") >> 11) * _SCALE


@dataclass(frozen=True)
class Draws:
    """The draws of one replication of one scenario: :func:`uniform` with the seed bound.

    The same values as :func:`uniform`, faster: BLAKE2b reads its input in order, so the
    hash state after the fields that repeat — seed, replication, flow, step — is computed
    once per (flow, step) and copied for each draw, which then hashes only the contact and
    the purpose (``tests/test_draws.py`` checks the two give the same values).
    """

    seed: int
    replication: int = 0
    #: the hash state after seed, replication, flow and step, per (flow, step)
    _states: dict[tuple[str | None, str | None], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def uniform(self, flow: str | None, step: str | None, contact: Field, purpose: str) -> float:
        """:func:`uniform` for this seed and replication."""
        state = self._states.get((flow, step))
        if state is None:
            state = hashlib.blake2b(digest_size=8, person=_PERSON)
            for value in (self.seed, self.replication, flow, step):
                state.update(_encode(value))
            self._states[(flow, step)] = state
        h = state.copy()
        h.update(_encode(contact) + _encode(purpose))
        return (int.from_bytes(h.digest(), "big") >> 11) * _SCALE
