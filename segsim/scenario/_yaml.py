"""Scenario files: the YAML loader and the messages of validation errors, with their paths
and lines (the private half of :mod:`segsim.scenario`, which re-exports nothing from here)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from segsim.flows import TRIGGER_TAGS, Loc, _format_loc

# -- error messages --------------------------------------------------------------------------------

_MISSING = object()
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def _clean_loc(loc: Iterable[str | int], data: Any) -> Loc:
    """A pydantic ``loc`` without the tags it inserts for unions, found by walking ``data``.

    Inside a discriminated union pydantic adds the tag (``'wait'``) to the location, and in
    plain unions the member it tried (``'str'``); neither is a key the user wrote.
    """
    out: list[str | int] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            out.append(item)
            inside = isinstance(node, (list, tuple)) and -len(node) <= item < len(node)
            node = node[item] if inside else _MISSING
            continue
        if isinstance(node, BaseModel):
            if item in type(node).model_fields:
                out.append(item)
                node = getattr(node, item)
            elif item != getattr(node, "kind", None) and item not in TRIGGER_TAGS:
                out.append(item)
                node = _MISSING
        elif isinstance(node, Mapping):
            if item in node:
                out.append(item)
                node = node[item]
            elif item != node.get("kind") and item not in TRIGGER_TAGS:
                out.append(item)  # a missing required field
                node = _MISSING
        elif node is _MISSING:
            out.append(item)
        # else: a scalar or a list: the item names a union member pydantic tried
    return tuple(out)


def _error_lines(exc: ValidationError, data: Any) -> list[tuple[Loc, str]]:
    """``(location, "<path>: <message>")`` of every error of ``exc``, de-duplicated.

    A value that fits no member of a plain union (a condition value, an Update contact
    value) gets one error per member from pydantic; they become one line here.
    """
    grouped: dict[Loc, list[tuple[str, Any]]] = {}
    for error in exc.errors(include_url=False):
        message = error["msg"]
        for noise in _PYDANTIC_PREFIXES:
            message = message.removeprefix(noise)
        entries = grouped.setdefault(_clean_loc(error["loc"], data), [])
        if all(message != known for known, _ in entries):
            entries.append((message, error.get("input")))
    lines = []
    for loc, entries in grouped.items():
        messages = [message for message, _ in entries]
        expected = "Input should be "
        if len(messages) > 1 and all(m.startswith(expected) for m in messages):
            options = [m.removeprefix(expected) for m in messages]
            got = repr(entries[0][1])
            got = got if len(got) <= 60 else got[:57] + "..."
            messages = [f"{expected}{', '.join(options[:-1])} or {options[-1]}; got {got}"]
        path = _format_loc(loc)
        lines += [(loc, f"{path}: {message}" if path else message) for message in messages]
    return lines


def _describe_errors(exc: ValidationError, data: Any, prefix: str = "") -> str:
    """Every error of ``exc`` on its own line: ``<prefix>: <path>: <message>``."""
    return "\n".join(f"{prefix}: {line}" if prefix else line for _, line in _error_lines(exc, data))


def _yaml_line(root: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (or of its nearest existing parent)."""
    node = root
    line = None if node is None else node.start_mark.line + 1
    for item in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == item:
                    child = value
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(item, int)
            and 0 <= item < len(node.value)
        ):
            child = node.value[item]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


class _Loader(yaml.SafeLoader):
    """YAML with YAML 1.2 booleans (only ``true``/``false``) and no duplicate keys.

    PyYAML follows YAML 1.1, where ``on``, ``off``, ``yes`` and ``no`` are booleans; a
    trigger's ``on: exit`` would then be read as ``True: exit``. It also keeps the last of
    two equal keys in a mapping (a second ``start:`` silently wins); YAML 1.2 says keys are
    unique, and so does this loader.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # "<<: *defaults" merges on purpose
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:
                continue  # an unhashable key: PyYAML reports it itself
            if first is not key_node:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first at line {first.start_mark.line + 1}); "
                    "each key may appear once in a mapping",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return problem
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
