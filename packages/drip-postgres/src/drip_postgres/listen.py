"""Waking idle workers with PostgreSQL's LISTEN/NOTIFY.

An insert transaction calls ``pg_notify('drip_insert', queue)`` once per
queue it touched; PostgreSQL delivers the notifications when (and only if)
that transaction commits, and the payload is only the queue name, far below
the server's 8000-byte cap.

The listener holds one dedicated connection of its own, detached from the
engine's pool and in autocommit mode as LISTEN requires. It waits for
notifications in a thread, in short slices, so that a stop request is noticed
within one slice and the connection is closed by the thread that uses it.
When the connection drops (a restart, a terminated backend) it reconnects with
a growing delay; workers keep polling in the meantime.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

__all__ = ["CHANNEL", "listen", "listener_application_name"]

logger = logging.getLogger(__name__)

CHANNEL = "drip_insert"
WAIT_SLICE_SECONDS = 0.25
HEALTH_CHECK_SECONDS = 30.0
FIRST_RECONNECT_DELAY = 0.1
MAX_RECONNECT_DELAY = 5.0


def listener_application_name() -> str:
    """The ``application_name`` the listener connection of this process uses."""
    return f"drip-listener {os.getpid()}"


async def listen(engine: Engine, wake: Callable[[str], None]) -> None:
    """Call ``wake(queue)`` for every insert notification until cancelled."""
    stopped = threading.Event()
    try:
        await anyio.to_thread.run_sync(
            _listen_until_stopped,
            engine,
            wake,
            stopped,
            abandon_on_cancel=True,
            limiter=anyio.CapacityLimiter(1),
        )
    finally:
        stopped.set()


def _listen_until_stopped(
    engine: Engine, wake: Callable[[str], None], stopped: threading.Event
) -> None:
    delay = FIRST_RECONNECT_DELAY
    while not stopped.is_set():
        try:
            with _listening_connection(engine) as connection:
                delay = FIRST_RECONNECT_DELAY
                _relay(connection, wake, stopped)
        except (psycopg.Error, sa.exc.DBAPIError) as error:
            logger.warning(
                "listener connection failed (%s); reconnecting in %.1fs",
                error,
                delay,
                extra={"action": "listen"},
            )
        except Exception:
            logger.exception(
                "listener failed; restarting in %.1fs",
                delay,
                extra={"action": "listen"},
            )
        stopped.wait(delay)
        delay = min(delay * 2, MAX_RECONNECT_DELAY)


@contextlib.contextmanager
def _listening_connection(engine: Engine) -> Iterator[psycopg.Connection[Any]]:
    # Detached: the pool neither reuses nor resets this connection; it is ours.
    pooled = engine.raw_connection()
    connection: psycopg.Connection[Any] = pooled.driver_connection  # type: ignore[assignment]
    pooled.detach()
    try:
        connection.rollback()
        connection.autocommit = True
        connection.execute(
            "SELECT set_config('application_name', %s, false)",
            [listener_application_name()],
        )
        connection.execute(f"LISTEN {CHANNEL}")
        logger.info("listening for inserted jobs", extra={"action": "listen"})
        yield connection
    finally:
        connection.close()


def _relay(
    connection: psycopg.Connection[Any],
    wake: Callable[[str], None],
    stopped: threading.Event,
) -> None:
    """Pass notifications to ``wake`` until stopped; raise if the connection drops."""
    last_heard = time.monotonic()
    while not stopped.is_set():
        for notify in connection.notifies(timeout=WAIT_SLICE_SECONDS):
            last_heard = time.monotonic()
            if stopped.is_set():
                return
            anyio.from_thread.run_sync(wake, notify.payload)

        # A silently dead network never raises while waiting; a query does.
        if time.monotonic() - last_heard > HEALTH_CHECK_SECONDS:
            connection.execute("SELECT 1")
            last_heard = time.monotonic()
