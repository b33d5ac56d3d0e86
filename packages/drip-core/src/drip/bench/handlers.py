"""The handlers that benchmark workers run; ``drip run drip.bench.handlers``."""

from __future__ import annotations

import time

from drip.context import JobContext
from drip.handlers import handler

__all__ = ["bench_latency", "bench_noop"]


@handler
async def bench_noop(context: JobContext) -> None:
    """Do nothing: what is measured is Drip's own cost per job."""


@handler
async def bench_latency(context: JobContext) -> None:
    """Record when the handler started (Unix time), to measure enqueue-to-start."""
    context.record_output(time.time())
