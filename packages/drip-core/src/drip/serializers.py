"""Serializers turn job args and metadata into JSON text and back.

The built-in ``json`` serializer extends JSON with the types applications pass
around most: datetimes and dates (ISO 8601), UUIDs and Decimals (strings),
dataclasses (objects) and enums (their values). The conversion is one way: a
handler receives the JSON form. A plugin can contribute a serializer of its own
through the ``drip_serializers`` hook and users pick it by name.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import uuid
from typing import Any, Protocol, runtime_checkable

from drip.exceptions import ConfigurationError, ValidationError

__all__ = ["JSONSerializer", "Serializer", "resolve_serializer"]


@runtime_checkable
class Serializer(Protocol):
    """Encodes values to JSON text for storage and decodes them when read."""

    name: str

    def dumps(self, value: Any, *, what: str = "value") -> str:
        """Return JSON text; raise ``ValidationError`` naming the bad value's path."""
        ...

    def loads(self, text: str) -> Any:
        """Return the value stored as ``text``."""
        ...


class JSONSerializer:
    """Compact JSON with support for common Python types; see the module doc."""

    name = "json"

    def dumps(self, value: Any, *, what: str = "value") -> str:
        try:
            text = json.dumps(
                value,
                default=self.default,
                ensure_ascii=False,
                allow_nan=False,
                separators=(",", ":"),
            )
        except (TypeError, ValueError):
            text = None
        except RecursionError:
            raise ValidationError(
                f"{what} is nested too deeply to encode; flatten it"
            ) from None
        if text is not None and "\\u0000" not in text and _encodable(text):
            return text

        self._find_problem(value, what)
        raise ValidationError(f"{what} cannot be encoded as JSON")

    def loads(self, text: str) -> Any:
        # Empty args and metadata are the common case; skip the parser for them.
        if text == "{}":
            return {}
        return json.loads(text)

    def default(self, value: Any) -> Any:
        """Convert a value ``json`` does not know; subclasses may extend this."""
        if isinstance(value, datetime.datetime | datetime.date | datetime.time):
            return value.isoformat()
        if isinstance(value, uuid.UUID | decimal.Decimal):
            return str(value)
        if isinstance(value, enum.Enum):
            return value.value
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.asdict(value)
        if isinstance(value, set | frozenset | tuple):
            return list(value)
        raise TypeError(type(value).__name__)

    def _find_problem(self, value: Any, path: str) -> None:
        """Walk ``value`` and raise a ``ValidationError`` at the first bad spot."""
        if isinstance(value, str):
            if "\x00" in value:
                raise ValidationError(
                    f"{path} contains a NUL character, which databases reject; "
                    "remove it or encode the data (base64, for example)"
                )
            if not _encodable(value):
                raise ValidationError(
                    f"{path} contains a lone surrogate, which is not valid text "
                    "(decode bytes with errors='replace', or encode them as base64)"
                )
            return
        if value is None or isinstance(value, bool | int):
            return
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise ValidationError(f"{path} is {value}, which JSON cannot hold")
            return
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str | int | float | bool) and key is not None:
                    raise ValidationError(
                        f"{path} has a key of type {type(key).__name__}; "
                        "JSON object keys must be strings"
                    )
                self._find_problem(key, f"{path} key {key!r}")
                self._find_problem(item, f"{path}[{key!r}]")
            return
        if isinstance(value, list | tuple | set | frozenset):
            for index, item in enumerate(value):
                self._find_problem(item, f"{path}[{index}]")
            return
        try:
            converted = self.default(value)
        except TypeError:
            raise ValidationError(
                f"{path} has type {type(value).__name__}, which the {self.name!r} "
                "serializer cannot encode; pass JSON-compatible data (dict, list, "
                "str, int, float, bool, None) or install a serializer that knows it"
            ) from None
        self._find_problem(converted, path)


def _encodable(text: str) -> bool:
    """Whether ``text`` is valid Unicode that every database can store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def resolve_serializer(serializer: Serializer | str | None) -> Serializer:
    """Return a serializer given itself, a registered name, or None (JSON)."""
    if serializer is None:
        serializer = "json"
    if not isinstance(serializer, str):
        return serializer

    from drip.plugins import plugin_manager

    available: dict[str, Serializer] = {}
    for contributed in reversed(plugin_manager().hook.drip_serializers()):
        available.update({item.name: item for item in contributed})
    if serializer in available:
        return available[serializer]
    known = ", ".join(sorted(available))
    raise ConfigurationError(
        f"unknown serializer {serializer!r}; installed serializers: {known}"
    )
