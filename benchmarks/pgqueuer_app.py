"""pgqueuer's side of the comparison: its worker, on asyncpg as documented."""

from __future__ import annotations

import asyncio
import sys

import asyncpg
import recorder
from pgqueuer import PgQueuer
from pgqueuer.db import AsyncpgDriver
from pgqueuer.models import Job
from pgqueuer.types import QueueExecutionMode

__all__ = ["ENTRYPOINT"]

ENTRYPOINT = "compare_noop"


async def work(url: str, batch_size: int, drain: bool) -> None:
    connection = await asyncpg.connect(url)
    pgq = PgQueuer(AsyncpgDriver(connection))

    @pgq.entrypoint(ENTRYPOINT)
    async def compare_noop(job: Job) -> None:
        recorder.started(job.payload.decode() if job.payload else None)

    mode = QueueExecutionMode.drain if drain else QueueExecutionMode.continuous
    try:
        await pgq.run(batch_size=batch_size, mode=mode)
    finally:
        await connection.close()


if __name__ == "__main__":
    asyncio.run(work(sys.argv[1], int(sys.argv[2]), sys.argv[3] == "drain"))
