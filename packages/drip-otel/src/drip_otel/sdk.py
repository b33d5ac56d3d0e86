"""Setting up the OpenTelemetry SDK from the environment, when asked to.

With ``DRIP_OTEL=1`` (or ``true``/``yes``), the first Drip client or worker
of a process installs a global TracerProvider and MeterProvider whose
exporters come from the standard variables: ``OTEL_TRACES_EXPORTER`` and
``OTEL_METRICS_EXPORTER`` (default ``otlp``, or ``console``, ``none``, or any
exporter registered by entry point), ``OTEL_EXPORTER_OTLP_PROTOCOL``
(default ``http/protobuf``; ``grpc`` needs the ``grpc`` extra),
``OTEL_EXPORTER_OTLP_ENDPOINT`` and the rest, which the exporters read
themselves. The resource comes from ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES``; sampling from ``OTEL_TRACES_SAMPLER``.

Nothing is installed when ``OTEL_SDK_DISABLED`` is true or when the process
already has an SDK provider (``opentelemetry-instrument``, or the
application's own set-up): that one is used as it is.
"""

from __future__ import annotations

import logging
import os
import threading
from importlib.metadata import entry_points
from typing import Any

from opentelemetry import metrics, trace

from drip.exceptions import ConfigurationError

__all__ = ["configure_from_env", "enabled_by_env"]

logger = logging.getLogger(__name__)

ENABLE_VARIABLE = "DRIP_OTEL"
TRUE = {"1", "true", "yes", "on"}
_OTLP_BY_PROTOCOL = {
    "http/protobuf": "otlp_proto_http",
    "grpc": "otlp_proto_grpc",
}
_EXTRA_BY_EXPORTER = {
    "otlp_proto_http": "drip-otel[otlp]",
    "otlp_proto_grpc": "drip-otel[grpc]",
}

_lock = threading.Lock()
_configured = False


def enabled_by_env() -> bool:
    """Whether ``DRIP_OTEL`` asks Drip to set up the SDK in this process."""
    return os.environ.get(ENABLE_VARIABLE, "").strip().lower() in TRUE


def configure_from_env() -> bool:
    """Install SDK providers from ``OTEL_*`` variables, once per process.

    Returns whether this call installed them. Safe to call from any thread
    and any number of times.
    """
    global _configured
    with _lock:
        if _configured or _sdk_disabled():
            return False
        _configured = True
        if not _is_placeholder(trace.get_tracer_provider()):
            logger.debug(
                "a tracer provider is already set; using it",
                extra={"action": "otel_configure"},
            )
            return False
        _install_providers()
        return True


def _install_providers() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create()
    tracer_provider = TracerProvider(resource=resource)
    for exporter in _exporters("traces"):
        tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(tracer_provider)

    if not isinstance(metrics.get_meter_provider(), MeterProvider):
        readers = [PeriodicExportingMetricReader(e) for e in _exporters("metrics")]
        metrics.set_meter_provider(
            MeterProvider(resource=resource, metric_readers=readers)
        )
    logger.info(
        "OpenTelemetry SDK configured from the environment",
        extra={"action": "otel_configure"},
    )


def _exporters(signal: str) -> list[Any]:
    """Instances of the exporters ``OTEL_<SIGNAL>_EXPORTER`` names."""
    names = os.environ.get(f"OTEL_{signal.upper()}_EXPORTER", "otlp")
    exporters = []
    for name in (part.strip() for part in names.split(",")):
        if not name or name == "none":
            continue
        exporters.append(_load_exporter(signal, _resolve_otlp(signal, name))())
    return exporters


def _resolve_otlp(signal: str, name: str) -> str:
    if name != "otlp":
        return name
    protocol = (
        os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol not in _OTLP_BY_PROTOCOL:
        raise ConfigurationError(
            f"OTLP protocol {protocol!r} is not supported; "
            f"use one of {', '.join(sorted(_OTLP_BY_PROTOCOL))}"
        )
    return _OTLP_BY_PROTOCOL[protocol]


def _load_exporter(signal: str, name: str) -> Any:
    group = f"opentelemetry_{signal}_exporter"
    found = entry_points(group=group, name=name)
    for entry_point in found:
        return entry_point.load()
    hint = _EXTRA_BY_EXPORTER.get(name, "the package that provides it")
    raise ConfigurationError(
        f"DRIP_OTEL=1 asks for the {name!r} {signal} exporter, which is not "
        f"installed; install {hint}, or set OTEL_{signal.upper()}_EXPORTER"
    )


def _is_placeholder(provider: object) -> bool:
    """Whether ``provider`` is the API's stand-in (no SDK installed yet)."""
    return isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)


def _sdk_disabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
