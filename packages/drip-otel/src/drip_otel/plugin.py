"""The plugin Drip loads by entry point: middleware, metrics hooks, flushing.

``plugin`` is registered in every process where drip-otel is installed. It
costs next to nothing without an SDK: its spans and instruments come from the
OpenTelemetry API's no-op defaults. See ``drip_otel.sdk`` for ``DRIP_OTEL=1``.
"""

from __future__ import annotations

import os
from typing import Any

import drip
from drip_otel import attributes as attr
from drip_otel import sdk
from drip_otel.middleware import OtelMiddleware
from drip_otel.telemetry import Telemetry

__all__ = ["LINK_VARIABLE", "OtelPlugin", "plugin"]

LINK_VARIABLE = "DRIP_OTEL_LINK"


class OtelPlugin:
    """Hook implementations around one ``Telemetry`` and its middleware.

    ``configure`` lets the plugin set up the SDK from the environment when
    ``DRIP_OTEL`` asks for it; ``link`` is passed to the middleware (default:
    ``DRIP_OTEL_LINK``). Tests build their own instance over in-memory
    providers and register it with ``drip.plugins.register``.
    """

    def __init__(
        self,
        telemetry: Telemetry | None = None,
        *,
        configure: bool = True,
        link: bool | None = None,
    ) -> None:
        self.telemetry = telemetry or Telemetry()
        self.configure = configure
        if link is None:
            link = os.environ.get(LINK_VARIABLE, "").strip().lower() in sdk.TRUE
        self.middleware = OtelMiddleware(self.telemetry, link=link)

    @drip.hookimpl
    def drip_middleware(self) -> list[drip.Middleware]:
        """Contribute the tracing middleware (setting up the SDK first if asked)."""
        self._configure_if_asked()
        return [self.middleware]

    @drip.hookimpl
    def drip_worker_started(
        self, worker_id: str, queues: list[str], kinds: list[str]
    ) -> None:
        """Set up the SDK if asked, for workers built with explicit middleware."""
        self._configure_if_asked()

    @drip.hookimpl
    def drip_job_finished(
        self, job: drip.Job, outcome: drip.Outcome, duration: float
    ) -> None:
        """Count the finished run by outcome and record how long it ran."""
        attributes = {
            attr.MESSAGING_SYSTEM: attr.SYSTEM,
            attr.MESSAGING_DESTINATION_NAME: job.queue,
            attr.JOB_KIND: job.kind,
        }
        self.telemetry.duration.record(duration, attributes)
        attributes[attr.JOB_OUTCOME] = outcome.kind.value
        self.telemetry.finished.add(1, attributes)

    @drip.hookimpl
    def drip_worker_stopped(self, worker_id: str, summary: dict[str, Any]) -> None:
        """Export buffered spans and metrics before the worker process exits."""
        self.telemetry.flush()

    def _configure_if_asked(self) -> None:
        if self.configure and sdk.enabled_by_env():
            sdk.configure_from_env()


plugin = OtelPlugin()
