"""What a benchmark run does: sizes, worker shape and time limits."""

from __future__ import annotations

import dataclasses

from drip.worker.worker import DEFAULT_CONCURRENCY

__all__ = ["BENCH_QUEUE", "Settings"]

BENCH_QUEUE = "drip_bench"
"""The only queue benchmarks insert into, work and delete from."""


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """Sizes and limits of one run; every loop is bounded by count and time."""

    url: str
    single_jobs: int = 2_000
    bulk_jobs: int = 50_000
    bulk_batch: int = 1_000
    burn_down_jobs: int = 20_000
    processes: int = 1
    concurrency: int = DEFAULT_CONCURRENCY
    steady_seconds: float = 10.0
    steady_rate: int = 2_000
    steady_batch: int = 50
    latency_jobs: int = 200
    latency_gap: float = 0.02
    poll_interval: str = "1s"
    worker_log_level: str = "INFO"
    time_limit: float = 60.0
