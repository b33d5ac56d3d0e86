"""Insert N jobs in one ``insert_many`` call and report time and peak memory.

Usage: python bulk_insert_measure.py URL QUEUE N

Runs in a process of its own so that the peak resident set size it prints
(``ru_maxrss``) belongs to this one call. Prints one line of JSON.
"""

from __future__ import annotations

import json
import resource
import sys
import time

from drip import Client, JobSpec


def main(url: str, queue: str, count: int) -> None:
    with Client(url) as client:
        specs = [
            JobSpec(kind="bulk", args={"n": n, "name": "Zoë ✓"}, queue=queue)
            for n in range(count)
        ]
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        results = client.insert_many(specs)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        in_order = [result.job.args["n"] for result in results] == list(range(count))
        print(
            json.dumps(
                {
                    "count": len(results),
                    "in_order": in_order,
                    "seconds": round(seconds, 2),
                    "jobs_per_second": round(count / seconds),
                    "rss_before_mb": before // 1024,
                    "peak_rss_mb": peak // 1024,
                }
            )
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
