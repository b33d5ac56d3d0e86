"""The application of the end-to-end test: a web process and a worker's handlers.

Run as a script (process A) it enqueues a charge inside a ``checkout`` span
and prints the job's id and trace id as JSON. Imported by ``drip run`` (process
B) it provides ``charge``, which fails on its first attempt and, on its
second, succeeds inside a span of its own.
"""

from __future__ import annotations

import json
import sys

from opentelemetry import metrics, trace

import drip

tracer = trace.get_tracer("shop")


@drip.handler(retry="immediate")
def charge(context: drip.JobContext) -> None:
    if context.attempt == 1:
        raise ConnectionError("payment gateway unreachable")
    with tracer.start_as_current_span("charge card"):
        pass


def enqueue(url: str, queue: str) -> None:
    with drip.Client(url) as client:
        with tracer.start_as_current_span("checkout") as span:
            inserted = client.insert("charge", {"order": 42}, queue=queue)
        trace_id = f"{span.get_span_context().trace_id:032x}"
    trace.get_tracer_provider().force_flush()
    metrics.get_meter_provider().force_flush()
    print(json.dumps({"job_id": inserted.id, "trace_id": trace_id}))


if __name__ == "__main__":
    enqueue(sys.argv[1], sys.argv[2])
