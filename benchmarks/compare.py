"""Drip beside procrastinate and pgqueuer on one PostgreSQL database, in one run.

Run through ``benchmarks/run.sh`` (it builds benchmarks/.venv). For each
library, on the same database and machine, interleaved so that changes in the
machine's load touch every library alike:

- bulk insert: ``--bulk-jobs`` no-op jobs in batches of ``--bulk-batch``
  (Drip ``insert_many``, procrastinate ``batch_defer_async``, pgqueuer
  ``Queries.enqueue`` with lists);
- burn-down: ``--jobs`` pre-inserted no-op jobs worked by draining worker
  processes, from the first handler start (recorded by the workers) until the
  database shows none left (polled every 50 ms); at each library's defaults,
  over a small sweep of its settings, then again at its best setting;
- latency: one idle worker; one job at a time is enqueued, and the time from
  just before the enqueue call to the handler's start is recorded.

Ratios are Drip's figure over the other library's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from harness_drip import DripHarness
from harness_others import PgQueuerHarness, ProcrastinateHarness

HERE = Path(__file__).resolve().parent
LOAD_BATCH = 5_000
POLL = 0.05
STOP_GRACE = 15.0

Harness = DripHarness | ProcrastinateHarness | PgQueuerHarness
LIBRARIES = ("drip", "procrastinate", "pgqueuer")
WORKLOADS = ("bulk", "defaults", "best", "latency")


def main() -> None:
    options = _arguments()
    wanted = set(options.workloads)
    harnesses: list[Harness] = [
        harness(options.url)
        for harness in (DripHarness, ProcrastinateHarness, PgQueuerHarness)
        if harness.name in options.libraries
    ]
    report: dict[str, Any] = {"machine": _machine(options.url), "libraries": {}}
    results = {h.name: {"setting_defaults": h.defaults} for h in harnesses}
    try:
        for round_ in range(options.repeat):
            for h in harnesses:
                if "bulk" in wanted:
                    _progress(f"bulk insert {h.name} ({round_ + 1}/{options.repeat})")
                    results[h.name].setdefault("bulk", []).append(_bulk(h, options))
                if "defaults" in wanted:
                    _progress(
                        f"burn-down {h.name} defaults ({round_ + 1}/{options.repeat})"
                    )
                    results[h.name].setdefault("defaults", []).append(
                        _burn_down(h, h.defaults, options)
                    )
        if "best" in wanted:
            for h in harnesses:
                sweep = []
                for setting in h.sweep:
                    _progress(f"sweep {h.name} {setting}")
                    sweep.append(_burn_down(h, setting, options))
                results[h.name]["sweep"] = sweep
                best = max(sweep, key=lambda run: run["jobs_per_second"])
                results[h.name]["setting_best"] = best["setting"]
            for round_ in range(options.repeat):
                for h in harnesses:
                    setting = results[h.name]["setting_best"]
                    _progress(f"burn-down {h.name} best {setting} ({round_ + 1})")
                    results[h.name].setdefault("best", []).append(
                        _burn_down(h, setting, options)
                    )
        if "latency" in wanted:
            for h in harnesses:
                _progress(f"latency {h.name}")
                results[h.name]["latency"] = _latency(h, h.defaults, options)
    finally:
        for h in harnesses:
            h.close()

    report["libraries"] = results
    print(_summary(results))
    if options.json:
        Path(options.json).write_text(json.dumps(report, indent=2, default=str))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        default="postgresql://postgres@127.0.0.1:5432/drip_bench_compare",
        help="libpq URL of a database used only for this comparison",
    )
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--bulk-jobs", type=int, default=20_000)
    parser.add_argument("--bulk-batch", type=int, default=1_000)
    parser.add_argument("--latency-jobs", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--json", help="also write every run to this JSON file")
    parser.add_argument(
        "--libraries",
        type=_names(LIBRARIES),
        default=LIBRARIES,
        help="comma-separated subset of " + ",".join(LIBRARIES),
    )
    parser.add_argument(
        "--workloads",
        type=_names(WORKLOADS),
        default=WORKLOADS,
        help="comma-separated subset of "
        + ",".join(WORKLOADS)
        + " (best includes its sweep)",
    )
    return parser.parse_args()


def _names(allowed: tuple[str, ...]) -> Any:
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(name.strip() for name in text.split(",") if name.strip())
        unknown = sorted(set(names) - set(allowed))
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated subset of {','.join(allowed)}, "
                f"got {text!r}"
            )
        return names

    return parse


def _progress(line: str) -> None:
    print(
        f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f}] {line}",
        flush=True,
    )


# -- workloads ---------------------------------------------------------------


def _bulk(h: Harness, options: argparse.Namespace) -> dict[str, Any]:
    h.prepare()
    inserted = 0
    started = time.perf_counter()
    deadline = started + options.time_limit
    while inserted < options.bulk_jobs and time.perf_counter() < deadline:
        size = min(options.bulk_batch, options.bulk_jobs - inserted)
        h.insert_batch(size)
        inserted += size
    elapsed = time.perf_counter() - started
    return {
        "jobs": inserted,
        "seconds": round(elapsed, 3),
        "jobs_per_second": round(inserted / elapsed, 1),
        "load": round(os.getloadavg()[0], 2),
    }


def _burn_down(
    h: Harness, setting: dict[str, Any], options: argparse.Namespace
) -> dict[str, Any]:
    h.prepare()
    for start in range(0, options.jobs, LOAD_BATCH):
        h.insert_batch(min(LOAD_BATCH, options.jobs - start))
    _analyze(options.url)
    load = os.getloadavg()[0]

    with _starts_file() as starts, _workers(h, setting, starts, drain=True):
        deadline = time.monotonic() + options.time_limit
        left = h.remaining()
        while left and time.monotonic() < deadline:
            time.sleep(POLL)
            left = h.remaining()
        finished = time.time()
        first = min(
            (
                float(line.split()[1])
                for line in _lines(starts)
                if line.startswith("first")
            ),
            default=None,
        )
    done = options.jobs - left
    seconds = finished - first if first is not None else float("nan")
    return {
        "setting": setting,
        "jobs": done,
        "complete": left == 0,
        "seconds": round(seconds, 3),
        "jobs_per_second": round(done / seconds, 1) if seconds > 0 else 0.0,
        "load": round(load, 2),
    }


def _latency(
    h: Harness, setting: dict[str, Any], options: argparse.Namespace
) -> dict[str, Any]:
    h.prepare()
    setting = {**setting, "processes": 1}
    enqueued: dict[str, float] = {}
    load = os.getloadavg()[0]
    with (
        _starts_file() as starts,
        _workers(h, setting, starts, drain=False, latency=True),
    ):
        h.enqueue_one(-1)
        if not _wait_for(lambda: "-1" in _started(starts), 30.0):
            raise RuntimeError(f"{h.name}: the latency worker never started a job")
        for key in range(options.latency_jobs):
            enqueued[str(key)] = time.time()
            h.enqueue_one(key)
            time.sleep(0.02)
        _wait_for(lambda: set(enqueued) <= set(_started(starts)), 10.0)
        started = _started(starts)
    delays = sorted(
        (started[key] - at) * 1000 for key, at in enqueued.items() if key in started
    )
    return {
        "jobs": len(delays),
        "p50_ms": round(_percentile(delays, 50), 2),
        "p95_ms": round(_percentile(delays, 95), 2),
        "p99_ms": round(_percentile(delays, 99), 2),
        "load": round(load, 2),
    }


# -- processes and records ---------------------------------------------------------


@contextlib.contextmanager
def _starts_file() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "starts"
        path.touch()
        yield path


@contextlib.contextmanager
def _workers(
    h: Harness,
    setting: dict[str, Any],
    starts: Path,
    *,
    drain: bool,
    latency: bool = False,
) -> Iterator[None]:
    env = {
        **os.environ,
        "BENCH_STARTS": str(starts),
        "BENCH_LATENCY": "1" if latency else "0",
    }
    command = h.worker_command(setting, drain=drain)
    processes = [
        subprocess.Popen(
            command,
            cwd=HERE,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(setting["processes"])
    ]
    try:
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _started(path: Path) -> dict[str, float]:
    found = {}
    for line in _lines(path):
        key, _, at = line.partition(" ")
        if key != "first" and at:
            found[key] = float(at)
    return found


def _wait_for(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(POLL)
    return False


def _analyze(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("ANALYZE")


def _percentile(ordered: list[float], percent: float) -> float:
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


# -- report ------------------------------------------------------------------------


def _machine(url: str) -> dict[str, Any]:
    from importlib import metadata

    with psycopg.connect(url) as connection:
        server = connection.execute("SHOW server_version").fetchone()[0]
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": server,
        "versions": {
            name: metadata.version(name)
            for name in ("drip-core", "procrastinate", "pgqueuer", "psycopg", "asyncpg")
        },
    }


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def _spread(runs: list[dict[str, Any]] | None, key: str) -> str:
    if not runs:
        return "-"
    values = [run[key] for run in runs]
    return f"{statistics.median(values):>9.0f} ({min(values):.0f}-{max(values):.0f})"


def _summary(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"{'':<14} {'bulk insert/s':>24} {'burn-down defaults/s':>24} "
        f"{'burn-down best/s':>24}  best setting; latency p50/p95/p99 ms"
    ]
    for name, result in results.items():
        latency = result.get("latency")
        latencies = (
            f"{latency['p50_ms']}/{latency['p95_ms']}/{latency['p99_ms']}"
            if latency
            else "-"
        )
        lines.append(
            f"{name:<14} {_spread(result.get('bulk'), 'jobs_per_second'):>24} "
            f"{_spread(result.get('defaults'), 'jobs_per_second'):>24} "
            f"{_spread(result.get('best'), 'jobs_per_second'):>24}  "
            f"{result.get('setting_best', '-')}; {latencies}"
        )
    drip = results.get("drip", {})
    for name, result in results.items():
        if name == "drip":
            continue
        ratios = [
            f"{key} {_median(drip[key], 'jobs_per_second') / _median(result[key], 'jobs_per_second'):.2f}x"
            for key in ("bulk", "defaults", "best")
            if drip.get(key) and result.get(key)
        ]
        if ratios:
            lines.append(f"drip / {name}: " + ", ".join(ratios))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
