"""Metrics: jobs inserted, finished by outcome, execution time, queue wait."""

from __future__ import annotations

import pytest

import drip
from drip import Client, JobSpec, Worker
from drip.testing import run_until
from drip.testing.conformance.fixtures import FAST
from tests.otel.conftest import Traced

pytestmark = pytest.mark.anyio


async def test_inserts_count_new_jobs_not_duplicates(
    traced: Traced, traced_client: Client
) -> None:
    traced_client.insert_many(
        [
            JobSpec(kind="report", queue="reports"),
            JobSpec(kind="report", queue="reports"),
        ]
    )
    traced_client.insert("once", unique=drip.Unique())
    traced_client.insert("once", unique=drip.Unique())

    counts = {
        point.attributes["drip.job.kind"]: point.value
        for point in traced.metric_points("drip.jobs.inserted")
    }
    assert counts == {"report": 2, "once": 1}
    (batch,) = traced.spans("insert reports")
    assert batch.attributes["messaging.batch.message_count"] == 2


async def test_finished_runs_are_counted_by_outcome_and_timed(
    traced: Traced, traced_client: Client
) -> None:
    @drip.handler(retry="immediate")
    def flaky(context: drip.JobContext) -> None:
        if context.attempt == 1:
            raise ConnectionError("upstream refused")

    traced_client.insert("flaky")
    await run_until(Worker(traced_client, [flaky], **FAST), finished=2)

    finished = {
        point.attributes["drip.job.outcome"]: point.value
        for point in traced.metric_points("drip.jobs.finished")
    }
    assert finished == {"retry": 1, "completed": 1}
    (duration,) = traced.metric_points("drip.job.duration")
    assert duration.count == 2
    assert duration.attributes == {
        "messaging.system": "drip",
        "messaging.destination.name": "default",
        "drip.job.kind": "flaky",
    }
    (wait,) = traced.metric_points("drip.job.queue_wait")
    assert wait.count == 2
    assert 0 <= wait.min <= wait.max < 60
