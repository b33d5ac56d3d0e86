"""Drip's side of the comparison: the handler ``drip run drip_handlers`` works."""

from __future__ import annotations

import recorder

import drip


@drip.handler
async def compare_noop(context: drip.JobContext) -> None:
    """A no-op job; it only tells the recorder that it started."""
    recorder.started(context.args.get("key"))
