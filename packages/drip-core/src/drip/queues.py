"""A queue as stored: its name, metadata, and whether it is paused."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

__all__ = ["Queue"]


@dataclasses.dataclass(frozen=True, slots=True)
class Queue:
    """A named queue. Jobs name their queue freely; a row exists once a queue
    has been upserted or paused, and holds its metadata and pause state."""

    name: str
    metadata: dict[str, Any]
    paused_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def paused(self) -> bool:
        return self.paused_at is not None
