"""Spans: the insert's PRODUCER span, the execution's CONSUMER span, parentage."""

from __future__ import annotations

import anyio
import pytest
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind, StatusCode

import drip
from drip import Client, Worker
from drip.testing import reset_database, run_until
from drip.testing.conformance.fixtures import FAST
from drip_otel import METADATA_KEY
from tests.otel.conftest import Traced, make_traced, registered

pytestmark = pytest.mark.anyio


async def test_insert_is_a_producer_span_whose_context_the_job_stores(
    traced: Traced, traced_client: Client
) -> None:
    tracer = traced.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("checkout") as request:
        inserted = traced_client.insert("send_receipt", {"order": 7}, priority=2)

    (producer,) = traced.spans("insert")
    assert producer.kind is SpanKind.PRODUCER
    assert producer.name == "insert default"
    assert producer.parent.span_id == request.get_span_context().span_id
    assert dict(producer.attributes) == {
        "messaging.system": "drip",
        "messaging.operation.name": "insert",
        "messaging.operation.type": "send",
        "messaging.destination.name": "default",
        "messaging.message.id": str(inserted.id),
        "drip.job.kind": "send_receipt",
        "drip.job.priority": 2,
        "drip.job.duplicate": False,
    }
    stored = traced_client.get(inserted.id).metadata[METADATA_KEY]
    trace_id = f"{producer.context.trace_id:032x}"
    span_id = f"{producer.context.span_id:016x}"
    assert stored["traceparent"].startswith(f"00-{trace_id}-{span_id}-")


async def test_execution_is_a_consumer_span_child_of_the_insert(
    traced: Traced, traced_client: Client
) -> None:
    @drip.handler
    async def send_receipt(context: drip.JobContext) -> None:
        await anyio.sleep(0)

    inserted = traced_client.insert("send_receipt", queue="mail", priority=3)
    worker = Worker(traced_client, [send_receipt], queues=["mail"], **FAST)
    await run_until(worker, finished=1)

    (producer,) = traced.spans("insert")
    (consumer,) = traced.spans("process")
    assert consumer.kind is SpanKind.CONSUMER
    assert consumer.name == "process mail"
    assert consumer.context.trace_id == producer.context.trace_id
    assert consumer.parent.span_id == producer.context.span_id
    assert consumer.status.status_code is StatusCode.UNSET
    attributes = dict(consumer.attributes)
    assert attributes == {
        "messaging.system": "drip",
        "messaging.operation.name": "process",
        "messaging.operation.type": "process",
        "messaging.destination.name": "mail",
        "messaging.message.id": str(inserted.id),
        "messaging.client.id": worker.id,
        "drip.job.kind": "send_receipt",
        "drip.job.attempt": 1,
        "drip.job.priority": 3,
    }


async def test_each_attempt_is_its_own_span_and_a_failure_is_an_error(
    traced: Traced, traced_client: Client
) -> None:
    @drip.handler(retry="immediate")
    def flaky(context: drip.JobContext) -> None:
        if context.attempt == 1:
            raise ConnectionError("upstream refused")

    traced_client.insert("flaky")
    await run_until(Worker(traced_client, [flaky], **FAST), finished=2)

    (producer,) = traced.spans("insert")
    first, second = traced.spans("process")
    assert first.attributes["drip.job.attempt"] == 1
    assert first.status.status_code is StatusCode.ERROR
    assert first.attributes["error.type"] == "ConnectionError"
    (event,) = first.events
    assert event.name == "exception"
    assert event.attributes["exception.message"] == "upstream refused"
    assert second.attributes["drip.job.attempt"] == 2
    assert second.status.status_code is StatusCode.UNSET
    for span in (first, second):
        assert span.context.trace_id == producer.context.trace_id
        assert span.parent.span_id == producer.context.span_id


async def test_spans_opened_by_sync_and_async_handlers_nest_under_the_job(
    traced: Traced, traced_client: Client
) -> None:
    tracer = traced.tracer_provider.get_tracer("app")

    @drip.handler
    def in_thread(context: drip.JobContext) -> None:
        with tracer.start_as_current_span("sync work"):
            pass

    @drip.handler
    async def in_loop(context: drip.JobContext) -> None:
        with tracer.start_as_current_span("async work"):
            await anyio.sleep(0)

    traced_client.insert("in_thread")
    traced_client.insert("in_loop")
    await run_until(Worker(traced_client, [in_thread, in_loop], **FAST), finished=2)

    consumers = {
        span.attributes["drip.job.kind"]: span for span in traced.spans("process")
    }
    (sync_work,) = traced.spans("sync work")
    (async_work,) = traced.spans("async work")
    assert sync_work.parent.span_id == consumers["in_thread"].context.span_id
    assert async_work.parent.span_id == consumers["in_loop"].context.span_id


async def test_baggage_travels_with_the_job(
    traced: Traced, traced_client: Client
) -> None:
    seen: list[object] = []

    @drip.handler
    def read_baggage(context: drip.JobContext) -> None:
        seen.append(baggage.get_baggage("tenant"))

    token = otel_context.attach(baggage.set_baggage("tenant", "acme"))
    try:
        inserted = traced_client.insert("read_baggage")
    finally:
        otel_context.detach(token)
    await run_until(Worker(traced_client, [read_baggage], **FAST), finished=1)

    assert seen == ["acme"]
    assert traced_client.get(inserted.id).metadata[METADATA_KEY]["baggage"] == (
        "tenant=acme"
    )


async def test_link_mode_starts_a_new_trace_linked_to_the_insert(
    drip_url: str,
) -> None:
    @drip.handler
    def linked(context: drip.JobContext) -> None:
        assert baggage.get_baggage("tenant") == "acme"

    traced = make_traced(link=True)
    with (
        registered(traced.plugin),
        Client(drip_url, middleware=[traced.plugin.middleware]) as client,
    ):
        client.migrate()
        reset_database(client)
        token = otel_context.attach(baggage.set_baggage("tenant", "acme"))
        try:
            client.insert("linked")
        finally:
            otel_context.detach(token)
        finished = await run_until(Worker(client, [linked], **FAST), finished=1)

    assert finished[0].outcome.kind == "completed"
    (producer,) = traced.spans("insert")
    (consumer,) = traced.spans("process")
    assert consumer.parent is None
    assert consumer.context.trace_id != producer.context.trace_id
    (link,) = consumer.links
    assert link.context.span_id == producer.context.span_id


async def test_outcome_exceptions_are_not_errors(
    traced: Traced, traced_client: Client
) -> None:
    @drip.handler
    def later(context: drip.JobContext) -> None:
        raise drip.Snooze("1h")

    @drip.handler
    def pointless(context: drip.JobContext) -> None:
        raise drip.Discard("nothing to do")

    traced_client.insert("later")
    traced_client.insert("pointless")
    await run_until(Worker(traced_client, [later, pointless], **FAST), finished=2)

    outcomes = {
        span.attributes["drip.job.kind"]: span for span in traced.spans("process")
    }
    assert outcomes["later"].attributes["drip.job.outcome"] == "snooze"
    assert outcomes["pointless"].attributes["drip.job.outcome"] == "discard"
    for span in outcomes.values():
        assert span.status.status_code is StatusCode.UNSET
        assert not span.events


async def test_a_timeout_is_recorded_as_an_error(
    traced: Traced, traced_client: Client
) -> None:
    @drip.handler(timeout=0.05)
    async def slow(context: drip.JobContext) -> None:
        await anyio.sleep(30)

    traced_client.insert("slow", max_attempts=1)
    await run_until(Worker(traced_client, [slow], **FAST), finished=1)

    (consumer,) = traced.spans("process")
    assert consumer.status.status_code is StatusCode.ERROR
    assert consumer.attributes["error.type"] == "cancelled"


async def test_a_job_inserted_without_a_trace_runs_in_a_new_one(
    traced: Traced, traced_client: Client, drip_url: str
) -> None:
    @drip.handler
    def plain(context: drip.JobContext) -> None:
        assert trace.get_current_span().get_span_context().is_valid

    with Client(drip_url, middleware=[]) as untraced:
        inserted = untraced.insert("plain")
    assert METADATA_KEY not in traced_client.get(inserted.id).metadata
    finished = await run_until(Worker(traced_client, [plain], **FAST), finished=1)

    assert finished[0].outcome.kind == "completed"
    (consumer,) = traced.spans("process")
    assert consumer.parent is None
