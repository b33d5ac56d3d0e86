"""A small OTLP/HTTP receiver for tests: decodes what real exporters send.

It listens on 127.0.0.1 on an ephemeral port, accepts protobuf-encoded
``/v1/traces`` and ``/v1/metrics`` requests (gzip or not), and keeps the
decoded spans and metrics. Tests wait for what they expect with
``wait_for``, under a timeout.
"""

from __future__ import annotations

import dataclasses
import gzip
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

__all__ = ["Received", "Receiver", "run_receiver"]


@dataclasses.dataclass(frozen=True)
class Received:
    """One span or metric, with the service that sent it."""

    service: str
    item: Any


class Receiver:
    """What the server has decoded so far, guarded by one condition."""

    def __init__(self) -> None:
        self.spans: list[Received] = []
        self.metrics: list[Received] = []
        self.endpoint = ""
        self._changed = threading.Condition()

    def add_traces(self, request: ExportTraceServiceRequest) -> None:
        with self._changed:
            for resource_spans in request.resource_spans:
                service = _service_name(resource_spans.resource)
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend(Received(service, s) for s in scope_spans.spans)
            self._changed.notify_all()

    def add_metrics(self, request: ExportMetricsServiceRequest) -> None:
        with self._changed:
            for resource_metrics in request.resource_metrics:
                service = _service_name(resource_metrics.resource)
                for scope_metrics in resource_metrics.scope_metrics:
                    self.metrics.extend(
                        Received(service, m) for m in scope_metrics.metrics
                    )
            self._changed.notify_all()

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``condition()`` holds (checked on every arrival) or time out."""
        with self._changed:
            return self._changed.wait_for(condition, timeout=timeout)


def _service_name(resource: Any) -> str:
    for attribute in resource.attributes:
        if attribute.key == "service.name":
            return str(attribute.value.string_value)
    return ""


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path == "/v1/traces":
                receiver.add_traces(ExportTraceServiceRequest.FromString(body))
                reply = ExportTraceServiceResponse().SerializeToString()
            elif self.path == "/v1/metrics":
                receiver.add_metrics(ExportMetricsServiceRequest.FromString(body))
                reply = ExportMetricsServiceResponse().SerializeToString()
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler


@contextmanager
def run_receiver() -> Iterator[Receiver]:
    """Serve a receiver on 127.0.0.1 until the block ends."""
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(receiver))
    host, port = server.server_address[:2]
    receiver.endpoint = f"http://{host}:{port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
