"""The benchmark workloads; each returns its measurements as a flat dict.

Rates are jobs per second. Burn-down and steady-state throughput come from the
database's timestamps and counts, latency from the handler's own clock against
the inserting process's clock (both on this machine).
"""

from __future__ import annotations

import time
from typing import Any

from drip.bench import queries
from drip.bench.processes import WorkerProcesses, running_workers, wait_until
from drip.bench.settings import BENCH_QUEUE, Settings
from drip.client import Client
from drip.exceptions import DripError
from drip.job import JobSpec
from drip.states import JobState

__all__ = ["bulk_insert", "burn_down", "latency", "single_insert", "steady_state"]

LOAD_CHUNK = 5_000
WARM_UP_TIMEOUT = 30.0
SAMPLE_INTERVAL = 0.5
COMPLETED = JobState.COMPLETED.value
AVAILABLE = JobState.AVAILABLE.value


def single_insert(client: Client, settings: Settings) -> dict[str, Any]:
    """``insert`` one job at a time, each in its own transaction."""
    queries.clear_queue(client)
    inserted = 0
    started = time.perf_counter()
    deadline = started + settings.time_limit
    while inserted < settings.single_jobs and time.perf_counter() < deadline:
        client.insert("bench_noop", queue=BENCH_QUEUE)
        inserted += 1
    elapsed = time.perf_counter() - started
    return _rate(inserted, elapsed)


def bulk_insert(client: Client, settings: Settings) -> dict[str, Any]:
    """``insert_many`` in batches of ``bulk_batch``."""
    queries.clear_queue(client)
    batch = [JobSpec(kind="bench_noop", queue=BENCH_QUEUE)] * settings.bulk_batch
    inserted = 0
    started = time.perf_counter()
    deadline = started + settings.time_limit
    while inserted < settings.bulk_jobs and time.perf_counter() < deadline:
        size = min(settings.bulk_batch, settings.bulk_jobs - inserted)
        client.insert_many(batch[:size])
        inserted += size
    elapsed = time.perf_counter() - started
    return {**_rate(inserted, elapsed), "batch": settings.bulk_batch}


def burn_down(client: Client, settings: Settings) -> dict[str, Any]:
    """Work ``burn_down_jobs`` pre-inserted no-op jobs with burst workers."""
    queries.clear_queue(client)
    _load(client, settings.burn_down_jobs)
    queries.vacuum(client)

    started = time.perf_counter()
    workers = WorkerProcesses(settings, burst=True)
    workers.start()
    try:
        workers.wait(settings.time_limit)
    finally:
        workers.stop()
    wall = time.perf_counter() - started

    count, first, last = queries.finished_span(client)
    if count != settings.burn_down_jobs or first is None or last is None:
        raise DripError(
            f"burn-down: {count} of {settings.burn_down_jobs} jobs completed"
        )
    span = max((last - first).total_seconds(), 1e-6)
    return {
        **_rate(count, span),
        "wall_seconds": round(wall, 3),
        "processes": settings.processes,
        "concurrency": settings.concurrency,
    }


def steady_state(client: Client, settings: Settings) -> dict[str, Any]:
    """Insert at ``steady_rate`` while workers run; measure throughput and backlog."""
    queries.clear_queue(client)
    with running_workers(settings, burst=False) as workers:
        _warm_up(client, workers)
        completed_before = queries.count_states(client).get(COMPLETED, 0)
        inserted, backlog, elapsed = _insert_paced(client, settings)
        states = queries.count_states(client)
    completed = states.get(COMPLETED, 0) - completed_before
    return {
        "inserted_per_second": round(inserted / elapsed, 1),
        "jobs_per_second": round(completed / elapsed, 1),
        "seconds": round(elapsed, 3),
        "backlog_max": max(backlog, default=0),
        "backlog_end": states.get(AVAILABLE, 0),
        "target_rate": settings.steady_rate,
    }


def latency(client: Client, settings: Settings) -> dict[str, Any]:
    """Enqueue-to-start time of single jobs inserted while workers are idle.

    The clock starts just before the inserting transaction commits and stops
    when the handler starts (it records ``time.time()`` as its output).
    """
    queries.clear_queue(client)
    committed: dict[int, float] = {}
    with running_workers(settings, burst=False) as workers:
        _warm_up(client, workers)
        deadline = time.monotonic() + settings.time_limit
        while len(committed) < settings.latency_jobs and time.monotonic() < deadline:
            with client.transaction() as connection:
                result = client.insert(
                    "bench_latency", queue=BENCH_QUEUE, conn=connection
                )
                committed[result.id] = time.time()
            time.sleep(settings.latency_gap)
        wanted = len(committed) + 1
        wait_until(
            lambda: queries.count_states(client).get(COMPLETED, 0) >= wanted,
            WARM_UP_TIMEOUT,
        )
    started = queries.outputs(client, list(committed))
    delays = sorted(
        (started[job_id] - at) * 1000
        for job_id, at in committed.items()
        if job_id in started
    )
    if not delays:
        raise DripError("latency: no benchmark job started")
    return {
        "jobs": len(delays),
        "p50_ms": round(_percentile(delays, 50), 2),
        "p95_ms": round(_percentile(delays, 95), 2),
        "p99_ms": round(_percentile(delays, 99), 2),
        "max_ms": round(delays[-1], 2),
    }


def _load(client: Client, count: int) -> None:
    """Insert ``count`` no-op jobs to be worked later."""
    for start in range(0, count, LOAD_CHUNK):
        size = min(LOAD_CHUNK, count - start)
        client.insert_many([JobSpec(kind="bench_noop", queue=BENCH_QUEUE)] * size)


def _warm_up(client: Client, workers: WorkerProcesses) -> None:
    """Return once the workers have completed a first job, so they are running."""
    client.insert("bench_noop", queue=BENCH_QUEUE)
    ready = wait_until(
        lambda: (
            not workers.running() or queries.count_states(client).get(COMPLETED, 0) >= 1
        ),
        WARM_UP_TIMEOUT,
    )
    if not ready or not workers.running():
        raise DripError("benchmark workers did not start working")


def _insert_paced(client: Client, settings: Settings) -> tuple[int, list[int], float]:
    """Insert batches at ``steady_rate`` for ``steady_seconds``, sampling the backlog."""
    batch = [JobSpec(kind="bench_noop", queue=BENCH_QUEUE)] * settings.steady_batch
    duration = min(settings.steady_seconds, settings.time_limit)
    backlog: list[int] = []
    inserted = 0
    started = time.monotonic()
    next_sample = started
    while (now := time.monotonic()) - started < duration:
        if now >= next_sample:
            backlog.append(queries.count_states(client).get(AVAILABLE, 0))
            next_sample = now + SAMPLE_INTERVAL
        due = started + inserted / settings.steady_rate
        if now < due:
            time.sleep(min(due - now, 0.01))
            continue
        client.insert_many(batch)
        inserted += len(batch)
    return inserted, backlog, time.monotonic() - started


def _rate(count: int, seconds: float) -> dict[str, Any]:
    return {
        "jobs": count,
        "seconds": round(seconds, 3),
        "jobs_per_second": round(count / seconds, 1) if seconds > 0 else 0.0,
    }


def _percentile(ordered: list[float], percent: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]
