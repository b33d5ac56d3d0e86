"""A plugin installed by entry point contributes a policy, a serializer and middleware."""

from __future__ import annotations

import decimal
from datetime import UTC, datetime, timedelta

import pytest
from drip_test_plugin import EXECUTIONS, Money

import drip
from drip import Client, JobState, Worker
from drip.testing import run_until
from drip.testing.conformance.fixtures import FAST
from tests.workers import drip_command


def test_drip_plugins_lists_the_installed_plugin() -> None:
    result = drip_command("plugins")

    assert "test_plugin (drip-test-plugin 0.1.0)" in result.stdout
    for hook in ("drip_middleware", "drip_retry_policies", "drip_serializers"):
        assert hook in result.stdout


@pytest.mark.anyio
async def test_the_plugins_retry_policy_is_used_by_name(client: Client) -> None:
    @drip.handler(retry="test-seven-seconds")
    def fails(context: drip.JobContext) -> None:
        raise RuntimeError("again")

    job_id = client.insert("fails").id
    await run_until(Worker(client, [fails], **FAST), finished=1)
    job = client.get(job_id)

    delay = job.scheduled_at - job.attempted_at
    assert job.state is JobState.RETRYABLE
    assert timedelta(seconds=6.5) < delay < timedelta(seconds=7.5)


def test_the_plugins_serializer_round_trips_its_type(drip_url: str) -> None:
    with Client(drip_url, serializer="test-money") as client:
        client.migrate()
        price = Money(decimal.Decimal("12.50"), "EUR")
        job = client.insert(
            "charge", {"price": price, "at": datetime(2026, 1, 1, tzinfo=UTC)}
        ).job

        assert client.get(job.id).args == {
            "price": price,
            "at": "2026-01-01T00:00:00+00:00",
        }
        client.delete(job.id)


@pytest.mark.anyio
async def test_the_plugins_middleware_wraps_inserts_and_executions(
    client: Client,
) -> None:
    @drip.handler
    def traced(context: drip.JobContext) -> None:
        return None

    EXECUTIONS.clear()
    job = client.insert("traced", metadata={"traced": True}).job
    plain = client.insert("traced").job
    await run_until(Worker(client, [traced], **FAST), finished=2)

    assert job.metadata == {"traced": True, "stamped": True}
    assert plain.metadata == {}
    assert EXECUTIONS == [("traced", 1)]
