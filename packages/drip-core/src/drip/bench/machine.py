"""A description of the machine and database a benchmark ran on."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

from drip.client import Client

__all__ = ["describe"]


def describe(client: Client) -> dict[str, Any]:
    """CPU, memory, Python and server versions: what figures depend on."""
    with client.engine.connect() as connection:
        server = connection.dialect.server_version_info or ()
    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "drip": metadata.version("drip-core"),
        "database": client.dialect.name,
        "server_version": ".".join(str(part) for part in server),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None
