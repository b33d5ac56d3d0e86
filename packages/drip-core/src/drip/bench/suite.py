"""Running the chosen workloads, repeated, and summarising their spread."""

from __future__ import annotations

import dataclasses
import logging
import os
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from drip.bench import queries, workloads
from drip.bench.machine import describe
from drip.bench.settings import Settings
from drip.client import Client

__all__ = ["HEADLINE", "WORKLOADS", "run_suite"]

logger = logging.getLogger(__name__)

Workload = Callable[[Client, Settings], dict[str, Any]]

WORKLOADS: dict[str, Workload] = {
    "insert": workloads.single_insert,
    "bulk": workloads.bulk_insert,
    "burn-down": workloads.burn_down,
    "steady": workloads.steady_state,
    "latency": workloads.latency,
}

HEADLINE = {
    "insert": "jobs_per_second",
    "bulk": "jobs_per_second",
    "burn-down": "jobs_per_second",
    "steady": "jobs_per_second",
    "latency": "p50_ms",
}
"""The figure each workload's runs are summarised by."""


def run_suite(
    settings: Settings,
    names: Sequence[str],
    *,
    repeat: int = 1,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Run each named workload ``repeat`` times; return settings, machine and runs."""
    with Client(settings.url) as client:
        client.migrate()
        report: dict[str, Any] = {
            "settings": {**dataclasses.asdict(settings), "url": _hidden(client)},
            "machine": describe(client),
            "workloads": {},
        }
        try:
            for name in names:
                runs = []
                for index in range(repeat):
                    progress(f"{name} {index + 1}/{repeat}")
                    load = os.getloadavg()[0]
                    result = WORKLOADS[name](client, settings)
                    runs.append({**result, "load_before": round(load, 2)})
                report["workloads"][name] = {
                    "runs": runs,
                    **_spread(runs, HEADLINE[name]),
                }
        finally:
            queries.clear_queue(client)
    return report


def _spread(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    values = [run[key] for run in runs]
    return {
        "headline": key,
        "median": round(statistics.median(values), 2),
        "min": min(values),
        "max": max(values),
    }


def _hidden(client: Client) -> str:
    return client.url.render_as_string(hide_password=True)
