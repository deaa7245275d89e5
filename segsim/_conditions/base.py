"""What every node of a condition tree shares: operators, text, and one dispatch per face.

Two families of trees are built from these: conditions on a contact (:mod:`.models` and the
event leaves of :mod:`.events`) and property conditions on one event occurrence (:mod:`.events`).
Each family names its groups (AND, OR, NOT) on its base class once they are defined, so
the operators here build them without importing the modules that define them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from pydantic import field_validator

from segsim._conditions.values import name_text, value_text
from segsim._internal.models import FrozenModel


class Node(FrozenModel):
    """Operators and the readable text form shared by the nodes of one family of trees.

    A family's base class sets :attr:`_groups` to its ``(all_of, any_of, not)`` models;
    ``a & b`` and ``a | b`` build (and flatten) groups of that family, ``~a`` its negation,
    and a node of another family is refused (``NotImplemented``).
    """

    #: the family's base class and its ``(all_of, any_of, not)`` models
    _family: ClassVar[type]
    _groups: ClassVar[tuple[type, type, type]]
    #: what ``bool(node)`` says instead of a truth value
    _truth_hint: ClassVar[str] = ""
    #: what an empty AND/OR group of the family is told it needs
    _group_needs: ClassVar[str] = "at least one condition"

    def __and__(self, other: Any) -> Any:
        if not isinstance(other, self._family):
            return NotImplemented
        group = self._groups[0]
        return group(conditions=(*_parts(self, group), *_parts(other, group)))

    def __or__(self, other: Any) -> Any:
        if not isinstance(other, self._family):
            return NotImplemented
        group = self._groups[1]
        return group(conditions=(*_parts(self, group), *_parts(other, group)))

    def __invert__(self) -> Any:
        return self._groups[2](condition=self)

    def __bool__(self) -> bool:
        raise TypeError(self._truth_hint.format(self=self._text()))

    def __str__(self) -> str:
        return self._text()

    def __repr__(self) -> str:
        return self._text()

    def _text(self) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def _children(self) -> tuple[Any, ...]:
        """The nodes directly under this one (none for a leaf), in order."""
        return ()


class ConditionBase(Node):
    """Conditions on a contact: the leaves of :mod:`.models` and :mod:`.events`, and the
    groups (:mod:`.models` names them here once they are defined)."""

    _truth_hint: ClassVar[str] = (
        "the condition {self} has no truth value in Python: combine conditions "
        "with all_of/any_of/not_ (or &, |, ~), not and/or/not, and write a range as "
        "attr(name).between(low, high), not low <= attr(name) <= high"
    )
    _subject: ClassVar[str] = "attribute"


def _parts(node: Any, group: type) -> tuple[Any, ...]:
    return node.conditions if isinstance(node, group) else (node,)


# -- the text of leaves and groups, one per kind for both families --------------------------------
# A leaf names what it tests by its ``_subject`` field: ``attribute`` or ``property``.


class _Leaf:
    _subject: ClassVar[str]

    def _name(self) -> str:
        return name_text(getattr(self, self._subject))


class CompareText(_Leaf):
    def _text(self) -> str:
        return f"{self._name()} {self.op} {value_text(self.value)}"  # type: ignore[attr-defined]


class IsInText(_Leaf):
    def _text(self) -> str:
        values = ", ".join(map(value_text, self.values))  # type: ignore[attr-defined]
        return f"{self._name()} isin ({values})"


class ContainsText(_Leaf):
    def _text(self) -> str:
        return f"{self._name()} contains {self.value!r}"  # type: ignore[attr-defined]


class IsSetText(_Leaf):
    def _text(self) -> str:
        return f"{self._name()} is_set"


class IsNotSetText(_Leaf):
    def _text(self) -> str:
        return f"{self._name()} is_not_set"


def _child_text(node: Node, child: Any) -> str:
    text = str(child)
    if isinstance(child, node._groups[:2]) and len(child.conditions) > 1:
        return f"({text})"
    return text


class _GroupText:
    """An AND or OR group: its ``conditions``, refused when there are none."""

    @field_validator("conditions")
    @classmethod
    def _check_not_empty(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        kind = cls.model_fields["kind"].default  # type: ignore[attr-defined]
        return non_empty(kind, value, cls._group_needs)  # type: ignore[attr-defined]

    def _children(self) -> tuple[Any, ...]:
        return self.conditions  # type: ignore[attr-defined, no-any-return]


class AllOfText(_GroupText):
    def _text(self) -> str:
        return " AND ".join(_child_text(self, c) for c in self.conditions)  # type: ignore[arg-type, attr-defined]


class AnyOfText(_GroupText):
    def _text(self) -> str:
        return " OR ".join(_child_text(self, c) for c in self.conditions)  # type: ignore[arg-type, attr-defined]


class NotText:
    def _children(self) -> tuple[Any, ...]:
        return (self.condition,)  # type: ignore[attr-defined]

    def _text(self) -> str:
        return f"NOT {_child_text(self, self.condition)}"  # type: ignore[arg-type, attr-defined]


def non_empty(kind: str, conditions: tuple[Any, ...], needs: str) -> tuple[Any, ...]:
    """A group's conditions, refused when there are none (``f"{kind} needs {needs}"``)."""
    if not conditions:
        raise ValueError(f"{kind} needs {needs}")
    return conditions


# -- builders --------------------------------------------------------------------------------------


class Comparisons:
    """``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` of a builder, each ``self._compare(op, value)``."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]  # == builds a condition, so not hashable

    def _compare(self, op: str, value: Any) -> Any:  # pragma: no cover - every builder has one
        raise NotImplementedError

    def __eq__(self, value: Any) -> Any:  # type: ignore[override]
        return self._compare("==", value)

    def __ne__(self, value: Any) -> Any:  # type: ignore[override]
        return self._compare("!=", value)

    def __lt__(self, value: Any) -> Any:
        return self._compare("<", value)

    def __le__(self, value: Any) -> Any:
        return self._compare("<=", value)

    def __gt__(self, value: Any) -> Any:
        return self._compare(">", value)

    def __ge__(self, value: Any) -> Any:
        return self._compare(">=", value)


# -- faces -----------------------------------------------------------------------------------------


class Face:
    """One thing done with a condition tree (SQL, a Python closure, validation): one rule per
    node class, looked up by the node's class, so that each kind is written once per face.

    ``@face.of(Compare)`` registers the rule ``rule(node, *args)``; ``face(node, *args)``
    applies it.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.rules: dict[type, Callable[..., Any]] = {}

    def of(self, *classes: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(rule: Callable[..., Any]) -> Callable[..., Any]:
            for cls in classes:
                if cls in self.rules:
                    raise RuntimeError(f"{self.name}: two rules for {cls.__name__}")
                self.rules[cls] = rule
            return rule

        return register

    def __call__(self, node: Any, *args: Any) -> Any:
        rule = self.rules.get(type(node))
        if rule is None:
            raise TypeError(f"not a condition: {node!r}")
        return rule(node, *args)

    def missing(self, classes: Iterable[type]) -> list[str]:
        """The classes among ``classes`` this face has no rule for (none, when complete)."""
        return [cls.__name__ for cls in classes if cls not in self.rules]
