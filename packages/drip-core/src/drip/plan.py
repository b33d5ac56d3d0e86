"""Plans: database operations written once, executed sync or async.

A dialect writes each operation as a generator that yields the statements to
run and receives each one's result. It never touches a connection, so the same
operation serves the sync client, the worker's threads and an async client.
Driver errors raised while a step executes are translated here, once, into
Drip's exceptions by the dialect's ``translate_error``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Result

from drip.exceptions import DatabaseError, DripError

__all__ = ["Plan", "Step", "database_error", "driver_reason", "run_plan"]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    """A statement with parameters: one set, or a list for executemany."""

    statement: sa.Executable
    parameters: dict[str, Any] | Sequence[dict[str, Any]] | None = None


Yielded = sa.Executable | Step
Plan = Generator[Yielded, Any, T]


def run_plan(
    connection: Connection,
    plan: Plan[T],
    translate_error: Callable[[Exception], DripError | None],
) -> T:
    """Run every step of ``plan`` on ``connection`` and return the plan's value."""
    try:
        step = next(plan)
        while True:
            result = _execute(connection, step, translate_error)
            step = plan.send(result)
    except StopIteration as finished:
        return finished.value  # type: ignore[no-any-return]


def _execute(
    connection: Connection,
    step: Yielded,
    translate_error: Callable[[Exception], DripError | None],
) -> Result[Any] | Any:
    try:
        if isinstance(step, Step):
            return connection.execute(step.statement, step.parameters)
        return connection.execute(step)
    except sa.exc.DBAPIError as error:
        raise database_error(error, translate_error) from error


def database_error(
    error: sa.exc.DBAPIError,
    translate_error: Callable[[Exception], DripError | None],
) -> DripError:
    """The Drip error for a driver error: the dialect's translation, or else a
    ``DatabaseError`` carrying the driver's message."""
    translated = translate_error(error)
    if translated is not None:
        return translated
    return DatabaseError(driver_reason(error))


def driver_reason(error: sa.exc.DBAPIError) -> str:
    """The first line of the driver's own message, or the error's type."""
    reason = str(error.orig if error.orig is not None else error).strip()
    return reason.splitlines()[0] if reason else type(error).__name__
