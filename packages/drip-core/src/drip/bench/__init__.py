"""``drip bench``: how fast Drip inserts and works jobs on a given database.

Each workload runs against the queue ``drip_bench`` only, which it empties
before and after, so a benchmark never touches an application's jobs. Worker
processes are real ``drip run`` processes working the no-op handlers of
``drip.bench.handlers``; times that matter are read from the database's own
timestamps, so process start-up is not counted as work.
"""

from drip.bench.settings import BENCH_QUEUE, Settings
from drip.bench.suite import WORKLOADS, run_suite

__all__ = ["BENCH_QUEUE", "WORKLOADS", "Settings", "run_suite"]
