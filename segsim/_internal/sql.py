"""Quoting for the DuckDB SQL segsim writes: the one place names and values are escaped."""

from __future__ import annotations

__all__ = ["quote_identifier", "quote_literal"]


def quote_identifier(name: str) -> str:
    r"""``name`` as a double-quoted DuckDB identifier (inner double quotes doubled).

    >>> print(quote_identifier('a"b'))
    "a""b"
    """
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """``text`` as a single-quoted SQL string literal (inner single quotes doubled).

    >>> print(quote_literal("it's"))
    'it''s'
    """
    return "'" + str(text).replace("'", "''") + "'"
