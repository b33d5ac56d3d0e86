"""Fixtures for drip-otel: in-memory providers and a client traced by them.

The global OpenTelemetry providers are never set in the test process (they
can be set only once, and every other test would then run traced); each test
gets its own providers, passed to a ``drip_otel.OtelPlugin`` registered for
the duration of the test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from drip import Client
from drip.plugins import plugin_manager, register
from drip.testing import empty_client
from drip_otel import OtelPlugin, Telemetry

_names = itertools.count()


@dataclasses.dataclass
class Traced:
    """One test's providers, what they captured, and the plugin using them."""

    tracer_provider: TracerProvider
    spans_exporter: InMemorySpanExporter
    metrics_reader: InMemoryMetricReader
    plugin: OtelPlugin

    def spans(self, name_prefix: str = "") -> list[ReadableSpan]:
        """Finished spans, oldest first, whose name starts with ``name_prefix``."""
        return [
            span
            for span in self.spans_exporter.get_finished_spans()
            if span.name.startswith(name_prefix)
        ]

    def metric_points(self, name: str) -> list[Any]:
        """The data points of metric ``name`` collected so far."""
        data = self.metrics_reader.get_metrics_data()
        points: list[Any] = []
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points


def make_traced(*, link: bool = False) -> Traced:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    telemetry = Telemetry(
        tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    plugin = OtelPlugin(telemetry, configure=False, link=link)
    return Traced(tracer_provider, exporter, reader, plugin)


@pytest.fixture
def traced() -> Iterator[Traced]:
    """In-memory tracing and metrics, with their plugin registered."""
    traced = make_traced()
    with registered(traced.plugin):
        yield traced


@pytest.fixture
def traced_client(traced: Traced, drip_url: str) -> Iterator[Client]:
    """A migrated, empty client whose only middleware is the test plugin's."""
    with empty_client(drip_url, middleware=[traced.plugin.middleware]) as client:
        yield client


@contextlib.contextmanager
def registered(plugin: OtelPlugin) -> Iterator[None]:
    """Register ``plugin`` with Drip's plugin manager until the block ends."""
    name = f"otel-test-{next(_names)}"
    register(plugin, name=name)
    try:
        yield
    finally:
        plugin_manager().unregister(name=name)
