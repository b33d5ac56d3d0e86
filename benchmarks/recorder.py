"""What worker processes of every library write down, for compare.py to read.

A worker's handler calls ``started(key)``. The first call in a process writes
``first <unix time>`` to the file named by ``BENCH_STARTS``; in latency mode
(``BENCH_LATENCY=1``) every call writes ``<key> <unix time>``. Nothing else
is done per job, so the recorder costs every library the same.
"""

from __future__ import annotations

import os
import time

__all__ = ["started"]

_LATENCY = os.environ.get("BENCH_LATENCY") == "1"
_path = os.environ.get("BENCH_STARTS")
_file = open(_path, "a", encoding="utf-8") if _path else None  # noqa: SIM115
_seen_first = False


def started(key: object = None) -> None:
    """Note that a handler started now."""
    global _seen_first
    if _file is None:
        return
    now = time.time()
    if not _seen_first:
        _seen_first = True
        _file.write(f"first {now}\n")
        _file.flush()
    if _LATENCY:
        _file.write(f"{key} {now}\n")
        _file.flush()
