"""Drip's built-in plugin: the JSON serializer and the retry policies.

Registered through the same hooks as any installed plugin, marked ``trylast``
so that an installed plugin offering the same names takes precedence.
"""

from __future__ import annotations

from collections.abc import Callable

from drip.hookspecs import hookimpl
from drip.retry import Constant, Exponential, Immediate, Linear, RetryPolicy
from drip.serializers import JSONSerializer, Serializer


@hookimpl(trylast=True)
def drip_serializers() -> list[Serializer]:
    return [JSONSerializer()]


@hookimpl(trylast=True)
def drip_retry_policies() -> dict[str, Callable[[], RetryPolicy]]:
    return {
        "exponential": Exponential,
        "constant": Constant,
        "linear": Linear,
        "immediate": Immediate,
    }
