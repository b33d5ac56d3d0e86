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
from psycopg.types.string import TextLoader
from sqlalchemy.types import UserDefinedType

__all__ = ["JSONBText", "load_json_as_text"]


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
