"""One trace across two processes, through the real OTLP exporter.

Process A (``shop.py``) enqueues a charge inside a span; process B (``drip
run --burst``) runs it: the first attempt fails, the retry succeeds. Both
export with OTLP/HTTP to a receiver in this test, set up by ``DRIP_OTEL=1``
and the standard ``OTEL_*`` variables, exactly as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from drip import Client, JobState
from tests.otel.receiver import Receiver, run_receiver

HERE = Path(__file__).parent
PROCESS_TIMEOUT = 120
ARRIVAL_TIMEOUT = 30

pytestmark = pytest.mark.slow


def _otel_env(receiver: Receiver, service: str) -> dict[str, str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "DRIP_OTEL"))
    }
    return {
        **inherited,
        "PYTHONPATH": os.pathsep.join([str(HERE), inherited.get("PYTHONPATH", "")]),
        "DRIP_OTEL": "1",
        "OTEL_SERVICE_NAME": service,
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        # Only the flush at exit exports metrics: one export per process.
        "OTEL_METRIC_EXPORT_INTERVAL": "600000",
    }


def _run(command: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        command,
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _attributes(span: Span) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for attribute in span.attributes:
        value = attribute.value
        values[attribute.key] = getattr(value, value.WhichOneof("value"))
    return values


def _totals_by_outcome(receiver: Receiver, name: str) -> dict[str, int]:
    """The latest total of counter ``name`` per outcome.

    Sums are cumulative and a process may export twice (when the worker stops
    and at exit), so the largest value seen is the total.
    """
    totals: dict[str, int] = {}
    for received in receiver.metrics:
        if received.item.name != name:
            continue
        for point in received.item.sum.data_points:
            labels = {a.key: a.value.string_value for a in point.attributes}
            outcome = labels.get("drip.job.outcome", "")
            totals[outcome] = max(totals.get(outcome, 0), point.as_int)
    return totals


def test_one_trace_from_enqueue_to_completion(client: Client, drip_url: str) -> None:
    queue = f"payments_{uuid.uuid4().hex[:8]}"
    with run_receiver() as receiver:
        report = json.loads(
            _run(
                [sys.executable, str(HERE / "shop.py"), drip_url, queue],
                _otel_env(receiver, "shop-web"),
            )
            .strip()
            .splitlines()[-1]
        )
        _run(
            [
                sys.executable,
                "-m",
                "drip",
                "run",
                "shop",
                "--url",
                drip_url,
                "--queue",
                queue,
                "--burst",
                "--poll-interval",
                "50ms",
            ],
            _otel_env(receiver, "shop-worker"),
        )
        job = client.get(report["job_id"])
        assert job.state is JobState.COMPLETED, job.errors
        assert job.attempt == 2

        def everything_arrived() -> bool:
            names = [r.item.name for r in receiver.spans]
            return (
                names.count(f"process {queue}") == 2
                and "charge card" in names
                and bool(_totals_by_outcome(receiver, "drip.jobs.finished"))
                and bool(_totals_by_outcome(receiver, "drip.jobs.inserted"))
            )

        assert receiver.wait_for(everything_arrived, ARRIVAL_TIMEOUT)

    spans = {}
    for received in receiver.spans:
        spans.setdefault(received.item.name, []).append(received)
    (checkout,) = spans["checkout"]
    (producer,) = spans[f"insert {queue}"]
    first, second = sorted(
        spans[f"process {queue}"],
        key=lambda r: _attributes(r.item)["drip.job.attempt"],
    )
    (card,) = spans["charge card"]

    trace_ids = {
        r.item.trace_id.hex() for r in [checkout, producer, first, second, card]
    }
    assert trace_ids == {report["trace_id"]}
    assert {checkout.service, producer.service} == {"shop-web"}
    assert {first.service, second.service, card.service} == {"shop-worker"}

    assert producer.item.kind == Span.SPAN_KIND_PRODUCER
    assert producer.item.parent_span_id == checkout.item.span_id
    for consumer in (first, second):
        assert consumer.item.kind == Span.SPAN_KIND_CONSUMER
        assert consumer.item.parent_span_id == producer.item.span_id
    assert card.item.parent_span_id == second.item.span_id

    common = {
        "messaging.system": "drip",
        "messaging.operation.name": "process",
        "messaging.operation.type": "process",
        "messaging.destination.name": queue,
        "messaging.message.id": str(report["job_id"]),
        "drip.job.kind": "charge",
        "drip.job.priority": 1,
    }
    assert _attributes(first.item).items() >= {**common, "drip.job.attempt": 1}.items()
    assert _attributes(second.item).items() >= {**common, "drip.job.attempt": 2}.items()
    assert first.item.status.code == Status.STATUS_CODE_ERROR
    assert _attributes(first.item)["error.type"] == "ConnectionError"
    assert [event.name for event in first.item.events] == ["exception"]
    assert second.item.status.code != Status.STATUS_CODE_ERROR
    assert _attributes(producer.item)["messaging.message.id"] == str(report["job_id"])

    assert _totals_by_outcome(receiver, "drip.jobs.finished") == {
        "retry": 1,
        "completed": 1,
    }
    assert _totals_by_outcome(receiver, "drip.jobs.inserted") == {"": 1}
