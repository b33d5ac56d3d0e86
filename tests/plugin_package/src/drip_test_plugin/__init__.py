"""A plugin installed by entry point, as a third party would ship one.

It contributes one of each extension: a retry policy (``test-seven-seconds``),
a serializer that round-trips a custom ``Money`` type (``test-money``), and a
middleware that acts only on jobs whose metadata carries ``"traced": true``,
so that it leaves every other test alone.
"""

from __future__ import annotations

import dataclasses
import decimal
import json
from typing import Any

import drip

EXECUTIONS: list[tuple[str, int]] = []
"""(kind, attempt) of every traced job the middleware wrapped, in this process."""


@dataclasses.dataclass(frozen=True)
class Money:
    amount: decimal.Decimal
    currency: str


class MoneySerializer(drip.JSONSerializer):
    """JSON where ``Money`` values survive the round trip as themselves."""

    name = "test-money"

    def default(self, value: Any) -> Any:
        if isinstance(value, Money):
            return {"$money": f"{value.amount} {value.currency}"}
        return super().default(value)

    def loads(self, text: str) -> Any:
        return json.loads(text, object_hook=_money_or_dict)


def _money_or_dict(value: dict[str, Any]) -> Any:
    if set(value) == {"$money"}:
        amount, currency = value["$money"].split()
        return Money(decimal.Decimal(amount), currency)
    return value


class TracingMiddleware(drip.Middleware):
    """Stamps traced jobs at insert and records their executions."""

    def insert(self, specs, call_next):  # type: ignore[no-untyped-def]
        stamped = [
            dataclasses.replace(spec, metadata={**spec.metadata, "stamped": True})
            if spec.metadata.get("traced")
            else spec
            for spec in specs
        ]
        return call_next(stamped)

    async def execute(self, context, call_next):  # type: ignore[no-untyped-def]
        if context.job.metadata.get("traced"):
            EXECUTIONS.append((context.job.kind, context.attempt))
        return await call_next(context)


def seven_seconds() -> drip.RetryPolicy:
    return lambda attempt: 7.0


@drip.hookimpl
def drip_retry_policies() -> dict[str, Any]:
    return {"test-seven-seconds": seven_seconds}


@drip.hookimpl
def drip_serializers() -> list[drip.Serializer]:
    return [MoneySerializer()]


@drip.hookimpl
def drip_middleware() -> list[drip.Middleware]:
    return [TracingMiddleware()]
