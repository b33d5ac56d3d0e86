"""Middleware wraps inserts and job executions; each layer calls the next.

Hooks observe, middleware takes part: tracing, for example, opens a span around
the call and stores its context with the job. Subclass ``Middleware`` and
override what you need; the defaults pass straight through.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drip.context import JobContext
    from drip.job import InsertResult, JobSpec

__all__ = ["ExecuteCall", "InsertCall", "Middleware", "chain_execute", "chain_insert"]

InsertCall = Callable[["list[JobSpec]"], "list[InsertResult]"]
ExecuteCall = Callable[["JobContext"], Awaitable[Any]]


class Middleware:
    """A layer around inserts and executions. Both methods must call ``call_next``."""

    def insert(self, specs: list[JobSpec], call_next: InsertCall) -> list[InsertResult]:
        """Wrap an insert of ``specs`` (in the inserting process). May edit specs."""
        return call_next(specs)

    async def execute(self, context: JobContext, call_next: ExecuteCall) -> Any:
        """Wrap one execution of a job's handler (in the worker)."""
        return await call_next(context)


def chain_insert(layers: Sequence[Middleware], innermost: InsertCall) -> InsertCall:
    """Compose insert middleware around ``innermost``, first layer outermost."""
    call = innermost
    for layer in reversed(layers):
        call = functools.partial(layer.insert, call_next=call)
    return call


def chain_execute(layers: Sequence[Middleware], innermost: ExecuteCall) -> ExecuteCall:
    """Compose execute middleware around ``innermost``, first layer outermost."""
    call = innermost
    for layer in reversed(layers):
        call = functools.partial(layer.execute, call_next=call)
    return call
