"""A worker process for the concurrency proof (tests/test_concurrency_proof.py).

Usage: python concurrency_worker.py URL QUEUE EFFECTS_TABLE

Runs one burst worker with concurrency 10 on QUEUE; its handler appends the
job's id and attempt to EFFECTS_TABLE in a transaction of its own, so the
table records every execution that happened.
"""

from __future__ import annotations

import os
import sys

import sqlalchemy as sa

from drip import Client, JobContext, Worker, handler


def main(url: str, queue: str, table_name: str) -> None:
    effects = sa.Table(
        table_name,
        sa.MetaData(),
        sa.Column("job_id", sa.BigInteger, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
    )

    @handler(kind="record_effect")
    def record_effect(context: JobContext) -> None:
        with context.client.transaction() as connection:
            connection.execute(
                effects.insert().values(
                    job_id=context.job.id, attempt=context.attempt, pid=os.getpid()
                )
            )

    with Client(url) as client:
        worker = Worker(
            client,
            [record_effect],
            queues=[queue],
            concurrency=10,
            poll_interval=0.2,
            burst=True,
        )
        worker.run_sync()


if __name__ == "__main__":
    main(*sys.argv[1:4])
