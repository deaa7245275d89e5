"""The base of flows' models: fields given positionally, and error locations as users read them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar

from pydantic_core import InitErrorDetails, PydanticCustomError

from segsim._internal.models import FrozenModel

#: A location inside a model, as pydantic writes it: ``("steps", 2, "then", 0)``.
Loc = tuple[str | int, ...]


def _format_loc(loc: Iterable[str | int]) -> str:
    """``("flows", 0, "steps", 2, "duration")`` as ``flows[0].steps[2].duration``."""
    text = ""
    for item in loc:
        if isinstance(item, int):
            text += f"[{item}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", item):
            text += f".{item}" if text else item
        else:
            text += f"[{item!r}]"
    return text


def _custom_error(loc: Loc, message: str, value: Any) -> InitErrorDetails:
    # the message goes through ctx so that braces in user names are never read as a template
    return InitErrorDetails(
        type=PydanticCustomError("segsim", "{message}", {"message": message}), loc=loc, input=value
    )


class _FrozenModel(FrozenModel):
    """A frozen, closed model whose first field(s) may be given positionally."""

    #: the fields that may be passed positionally, in order (the name or step id first)
    _positional: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **data: Any) -> None:
        names = type(self)._positional
        if len(args) > len(names):
            cls = type(self).__name__
            shown = ", ".join(names) if names else "nothing"
            raise TypeError(
                f"{cls}() takes {shown} positionally and everything else by keyword; "
                f"got {len(args)} positional arguments"
            )
        for name, value in zip(names, args, strict=False):
            if name in data:
                raise TypeError(f"{type(self).__name__}() got two values for {name!r}")
            data[name] = value
        super().__init__(**data)
