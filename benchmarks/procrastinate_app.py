"""procrastinate's side of the comparison: the app, its task and its worker."""

from __future__ import annotations

import asyncio
import sys

import recorder
from procrastinate import App, PsycopgConnector

__all__ = ["QUEUE", "TASK", "build_app"]

QUEUE = "compare"
TASK = "compare_noop"


def build_app(url: str) -> tuple[App, object]:
    """The app on ``url`` and its one no-op task, as the documentation sets them up."""
    app = App(connector=PsycopgConnector(conninfo=url))

    @app.task(name=TASK, queue=QUEUE)
    async def compare_noop(key: int | None = None) -> None:
        recorder.started(key)

    return app, compare_noop


async def work(url: str, concurrency: int, drain: bool) -> None:
    app, _ = build_app(url)
    async with app.open_async():
        await app.run_worker_async(
            queues=[QUEUE], concurrency=concurrency, wait=not drain
        )


if __name__ == "__main__":
    asyncio.run(work(sys.argv[1], int(sys.argv[2]), sys.argv[3] == "drain"))
