"""The base of every public model: frozen, closed, and a validated :meth:`~FrozenModel.replace`.

Every public model (conditions, segments, steps, flows, settings, channels, scenarios)
derives from :class:`FrozenModel`. pydantic's ``model_copy(update=...)`` skips validation:
it would accept duplicate step ids, ``version=0`` or a misspelt field. ``replace`` builds the
copy the way construction does, so it refuses exactly what construction refuses.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from typing_extensions import Self

__all__ = ["FrozenModel"]


class FrozenModel(BaseModel):
    """A frozen model with ``extra="forbid"`` and a validated :meth:`replace`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed, validated like a newly built model.

        The fields given here replace the model's own; the others keep their values. The
        result is validated as construction validates (pydantic's ``model_validate`` of the
        merged fields), so an invalid change raises ``pydantic.ValidationError`` naming the
        field, and an unknown field name is refused.

        >>> from segsim.flows import Wait
        >>> Wait("w1", "2d").replace(duration="3d")
        Wait(id='w1', kind='wait', duration=datetime.timedelta(days=3))
        """
        # only the fields that were set: the others are defaults, and stay "unset" in the copy
        # (model_dump(exclude_unset=True) of the copy then shows what the user gave)
        fields = {name: getattr(self, name) for name in self.model_fields_set}
        fields.update(changes)
        return type(self).model_validate(fields)
