"""Parsing of durations: seconds, ``timedelta`` or strings such as ``"1h30m"``."""

from __future__ import annotations

import math
import re
from datetime import timedelta

from drip.exceptions import ValidationError

__all__ = ["Duration", "parse_duration"]

Duration = int | float | timedelta | str

_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
}
_PAIR = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"(?:\d+(?:ms|s|m|h|d|w))+")


def parse_duration(value: Duration, *, name: str = "duration") -> timedelta:
    """Return ``value`` as a non-negative ``timedelta``.

    An int or float counts seconds, a ``timedelta`` is taken as is, and a string
    is one or more integer-unit pairs from ``ms s m h d w`` (``"90s"``,
    ``"1h30m"``). Anything else raises ``ValidationError`` quoting the value, so
    a typo is never silently read as some other duration.
    """
    if isinstance(value, bool):
        raise _invalid(name, value)

    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        seconds = sum(
            int(number) * _UNIT_SECONDS[unit] for number, unit in _PAIR.findall(value)
        )
    else:
        raise _invalid(name, value)

    if not math.isfinite(seconds) or seconds < 0:
        raise _invalid(name, value)
    return timedelta(seconds=seconds)


def _invalid(name: str, value: object) -> ValidationError:
    return ValidationError(
        f"invalid {name} {value!r}: give seconds as a non-negative number, a "
        'timedelta, or a string of integer-unit pairs from ms s m h d w, like "90s" '
        'or "1h30m"'
    )
