"""A property condition as the attribute condition it mirrors, and the types of properties.

A property condition tests one occurrence exactly as an attribute condition tests a
contact's state, so every face compiles it as that attribute condition (properties as
attributes): each property leaf has an attribute twin with the same fields, ``property``
for ``attribute``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from segsim._conditions.events import (
    PROP_LEAVES,
    EventCatalog,
    EventSum,
    PropAllOf,
    PropAnyOf,
    PropCompare,
    PropContains,
    PropIsIn,
    PropNot,
)
from segsim._conditions.models import ATTRIBUTE_LEAVES, AllOf, AnyOf, Not
from segsim._conditions.values import value_kind

#: each property leaf and group, and its attribute twin
_TWINS: dict[type, type] = {
    **dict(zip(PROP_LEAVES, ATTRIBUTE_LEAVES, strict=False)),
    PropAllOf: AllOf,
    PropAnyOf: AnyOf,
    PropNot: Not,
}
_PROP_OF = {twin: prop for prop, twin in _TWINS.items()}
_RENAMED = {"property": "attribute", "attribute": "property"}


def _mirror(node: Any, to: dict[type, type], build: Any) -> Any:
    cls = to.get(type(node))
    if cls is None:
        raise TypeError(f"not a property condition: {node!r}")
    fields: dict[str, Any] = {}
    for name in type(node).model_fields:
        if name == "kind":
            continue
        value = getattr(node, name)
        if name == "conditions":
            value = tuple(_mirror(c, to, build) for c in value)
        elif name == "condition":
            value = _mirror(value, to, build)
        fields[_RENAMED.get(name, name)] = value
    return build(cls, fields)


def to_attribute_condition(node: Any) -> Any:
    """A property condition as the attribute condition it mirrors (validated as built)."""
    return _mirror(node, _TWINS, lambda cls, fields: cls(**fields))


def from_attribute_condition(node: Any) -> Any:
    """Back from a validated attribute condition (values as validation left them: built with
    ``model_construct``, since validating again would re-read an ISO-looking string value)."""
    return _mirror(node, _PROP_OF, lambda cls, fields: cls.model_construct(**fields))


def _prop_leaves(node: Any) -> Iterable[Any]:
    children = node._children()
    if not children:
        yield node
    for child in children:
        yield from _prop_leaves(child)


def _inferred_types(where: Any) -> dict[str, str]:
    """Property types read off the values a property condition compares with."""
    out: dict[str, str] = {}
    for leaf in _prop_leaves(where):
        if isinstance(leaf, PropCompare):
            out.setdefault(leaf.property, value_kind(leaf.value))
        elif isinstance(leaf, PropIsIn) and leaf.values:
            out.setdefault(leaf.property, value_kind(leaf.values[0]))
        elif isinstance(leaf, PropContains):
            out.setdefault(leaf.property, "string")
    for leaf in _prop_leaves(where):
        out.setdefault(leaf.property, "string")  # is_set / is_not_set read no value
    return out


def property_types(node: Any, catalog: EventCatalog | None) -> dict[str, str]:
    """The types of the properties an event leaf reads (from the catalog, else inferred)."""
    if catalog is not None and catalog.properties is not None:
        return dict(catalog.properties)
    types = _inferred_types(node.where) if node.where is not None else {}
    if isinstance(node, EventSum):
        types[node.property] = "number"
    return types
