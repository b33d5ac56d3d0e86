"""Column types for PostgreSQL: JSON documents kept as text on the Python side.

Drip's core hands JSON in as text and expects text back (``drip.schema.JSONText``).
The columns are ``jsonb``, so binds carry a ``::jsonb`` cast (rendered by
SQLAlchemy's bind-cast mechanism, which also reaches the rewritten statements
of its multi-row inserts) and results are cast back to ``text``; the connection also loads ``json`` and ``jsonb`` as text, so a
column read without this type (a raw query, an application's own select) is
not decoded behind the serializer's back either.
"""

from __future__ import annotations

from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.types.array import ListBinaryDumper
from psycopg.types.string import TextLoader
from sqlalchemy.types import UserDefinedType

__all__ = ["BinaryArray", "JSONBText", "load_json_as_text"]


class JSONBText(UserDefinedType[str]):
    """A ``jsonb`` column whose values travel as JSON text in both directions."""

    cache_ok = True
    render_bind_cast = True

    def get_col_spec(self, **kw: Any) -> str:
        return "JSONB"

    def column_expression(self, column: Any) -> Any:
        return sa.cast(column, sa.Text)


def load_json_as_text(connection: psycopg.Connection[Any]) -> None:
    """Make ``connection`` return ``json`` and ``jsonb`` values as undecoded text."""
    for name in ("json", "jsonb"):
        connection.adapters.register_loader(name, TextLoader)


class BinaryArray(UserDefinedType[list[Any]]):
    """An array parameter (``element[]``) that psycopg sends in binary format.

    psycopg sends a list in text format by default, quoting and escaping each
    element in Python: about 4 us for a short JSON string. In binary format
    each element is only length-prefixed, some 30 times faster, which matters
    for bulk inserts, where every column of every job is an array element.
    """

    cache_ok = True
    render_bind_cast = True

    def __init__(self, element: str) -> None:
        self.element = element

    def get_col_spec(self, **kw: Any) -> str:
        return f"{self.element}[]"

    def bind_processor(self, dialect: Any) -> Any:
        return _BinaryList


class _BinaryList(list[Any]):
    """A list that psycopg dumps as a binary array (see ``BinaryArray``)."""


# Registered on psycopg's global adapters, so that connections of an engine an
# application made before configuring Drip know the type too. It concerns only
# this private class.
psycopg.adapters.register_dumper(_BinaryList, ListBinaryDumper)
