"""The tracer and metric instruments that Drip's middleware and hooks share.

Providers default to the global ones, resolved through the OpenTelemetry API's
proxies: until an SDK is configured every span and measurement is a no-op,
and once one is, the same tracer and instruments start recording.
"""

from __future__ import annotations

import logging
from datetime import datetime
from importlib import metadata as package_metadata
from typing import Any

from opentelemetry import metrics, trace

from drip_otel import attributes as attr

__all__ = ["Telemetry"]

logger = logging.getLogger(__name__)

SCOPE = "drip_otel"
FLUSH_TIMEOUT_MILLIS = 10_000

# Jobs run from milliseconds to hours; the SDK's default buckets stop at 10.
SECONDS_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    3600.0,
)


class Telemetry:
    """A tracer and Drip's four instruments, from the given or global providers."""

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        version = _version()
        self.tracer = trace.get_tracer(SCOPE, version, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, version, meter_provider=meter_provider)
        self.inserted = meter.create_counter(
            attr.JOBS_INSERTED, unit="{job}", description="Jobs inserted."
        )
        self.finished = meter.create_counter(
            attr.JOBS_FINISHED,
            unit="{job}",
            description="Job executions finished, by outcome.",
        )
        self.duration = meter.create_histogram(
            attr.JOB_DURATION,
            unit="s",
            description="How long a job's handler ran.",
            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS,
        )
        self.queue_wait = meter.create_histogram(
            attr.JOB_QUEUE_WAIT,
            unit="s",
            description="How long a due job waited, from scheduled_at to its claim.",
            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS,
        )

    def is_tracing(self) -> bool:
        """Whether spans are recorded: a provider was given or an SDK installed.

        Checked on every call, because an SDK may be installed after this
        object was made; the API's proxies then start delegating to it.
        """
        if self._tracer_provider is not None:
            return True
        return not isinstance(
            trace.get_tracer_provider(),
            trace.ProxyTracerProvider | trace.NoOpTracerProvider,
        )

    def record_queue_wait(
        self,
        scheduled_at: datetime,
        claimed_at: datetime | None,
        attributes: dict[str, Any],
    ) -> None:
        """Record the wait of one claimed job; both times come from the database."""
        if claimed_at is None:
            return
        wait = (claimed_at - scheduled_at).total_seconds()
        self.queue_wait.record(max(0.0, wait), attributes)

    def flush(self) -> None:
        """Export what the providers still hold (a stopping worker calls this)."""
        providers = (
            self._tracer_provider or trace.get_tracer_provider(),
            self._meter_provider or metrics.get_meter_provider(),
        )
        for provider in providers:
            force_flush = getattr(provider, "force_flush", None)
            if force_flush is None:
                continue
            try:
                force_flush(FLUSH_TIMEOUT_MILLIS)
            except Exception:
                logger.exception(
                    "flushing telemetry failed", extra={"action": "otel_flush"}
                )


def _version() -> str:
    try:
        return package_metadata.version("drip-otel")
    except package_metadata.PackageNotFoundError:
        return ""
