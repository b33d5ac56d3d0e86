"""Storing a trace context in a job's metadata, and reading it back.

The context travels as a text-map carrier (by default W3C ``traceparent``,
``tracestate`` and ``baggage``, or whatever ``OTEL_PROPAGATORS`` selects)
under the one reserved metadata key ``METADATA_KEY``. An empty context stores
nothing, so without tracing a job's metadata is exactly what the caller gave.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate

__all__ = ["METADATA_KEY", "current_carrier", "extract_from"]

METADATA_KEY = "drip.otel"


def current_carrier() -> dict[str, str]:
    """The current context as a text-map carrier; empty when there is none."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_from(metadata: dict[str, Any]) -> otel_context.Context | None:
    """The context stored in ``metadata``, or None when there is none to use.

    A value under the key that is not a mapping of strings (written by hand,
    say) is ignored rather than failing the job.
    """
    carrier = metadata.get(METADATA_KEY)
    if not isinstance(carrier, dict) or not carrier:
        return None
    clean = {
        str(key): value for key, value in carrier.items() if isinstance(value, str)
    }
    return propagate.extract(clean, context=otel_context.Context())
