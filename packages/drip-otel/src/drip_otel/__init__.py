"""OpenTelemetry for Drip: one trace from enqueue to completion, and metrics.

Installed, drip-otel registers itself by entry point; with no SDK configured
it does nothing measurable. The public names are below; ``METADATA_KEY`` is
the job-metadata key under which the trace context travels.
"""

from drip_otel.carrier import METADATA_KEY
from drip_otel.middleware import OtelMiddleware
from drip_otel.plugin import OtelPlugin
from drip_otel.sdk import configure_from_env
from drip_otel.telemetry import Telemetry

__all__ = [
    "METADATA_KEY",
    "OtelMiddleware",
    "OtelPlugin",
    "Telemetry",
    "configure_from_env",
]
