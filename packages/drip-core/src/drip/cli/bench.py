"""``drip bench``: insert, burn-down, steady-state and latency figures for a database."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import click

from drip.bench import WORKLOADS, Settings, run_suite
from drip.cli import LOG_LEVELS, main, reports_errors, url_option
from drip.database import database_url

_DETAIL_SKIP = {"load_before"}


# The option defaults are the settings' own, so the two cannot drift apart.
DEFAULTS = {
    field.name: field.default
    for field in dataclasses.fields(Settings)
    if field.default is not dataclasses.MISSING
}


@main.command()
@url_option
@click.option(
    "--workload",
    "names",
    multiple=True,
    type=click.Choice(list(WORKLOADS)),
    help="Workload to run; repeat for several [default: all].",
)
@click.option("--repeat", default=1, show_default=True, type=click.IntRange(1, 20))
@click.option(
    "--jobs",
    "burn_down_jobs",
    default=DEFAULTS["burn_down_jobs"],
    show_default=True,
    type=click.IntRange(1),
)
@click.option(
    "--processes",
    default=DEFAULTS["processes"],
    show_default=True,
    type=click.IntRange(1, 64),
)
@click.option(
    "--concurrency",
    default=DEFAULTS["concurrency"],
    show_default=True,
    type=click.IntRange(1),
)
@click.option(
    "--single-jobs",
    default=DEFAULTS["single_jobs"],
    show_default=True,
    type=click.IntRange(1),
)
@click.option(
    "--bulk-jobs",
    default=DEFAULTS["bulk_jobs"],
    show_default=True,
    type=click.IntRange(1),
)
@click.option(
    "--bulk-batch",
    default=DEFAULTS["bulk_batch"],
    show_default=True,
    type=click.IntRange(1),
)
@click.option(
    "--steady-seconds",
    default=DEFAULTS["steady_seconds"],
    show_default=True,
    type=click.FloatRange(0.5, 600),
)
@click.option(
    "--steady-rate",
    default=DEFAULTS["steady_rate"],
    show_default=True,
    type=click.IntRange(1),
    help="Jobs per second inserted during steady state.",
)
@click.option(
    "--latency-jobs",
    default=DEFAULTS["latency_jobs"],
    show_default=True,
    type=click.IntRange(1),
)
@click.option(
    "--poll-interval",
    default=DEFAULTS["poll_interval"],
    show_default=True,
    help="Workers' poll interval.",
)
@click.option(
    "--worker-log-level",
    default=DEFAULTS["worker_log_level"],
    show_default=True,
    type=LOG_LEVELS,
)
@click.option(
    "--time-limit",
    default=DEFAULTS["time_limit"],
    show_default=True,
    type=click.FloatRange(1, 3600),
    help="Seconds any one workload may take.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the results to this JSON file.",
)
@reports_errors
def bench(
    url: str | None,
    names: tuple[str, ...],
    repeat: int,
    json_path: str | None,
    **sizes: Any,
) -> None:
    """Measure Drip on a database: inserts, burn-down, steady state, latency.

    Only jobs of the queue drip_bench are inserted, worked and deleted;
    workers are `drip run` processes of drip.bench.handlers.
    """
    settings = Settings(
        url=database_url(url).render_as_string(hide_password=False), **sizes
    )
    chosen = list(names) or list(WORKLOADS)
    report = run_suite(
        settings,
        chosen,
        repeat=repeat,
        progress=lambda line: click.echo(f"running {line}", err=True),
    )
    click.echo(_table(report))
    if json_path:
        with open(json_path, "w", encoding="utf-8") as output:
            json.dump(report, output, indent=2, default=str)


def _table(report: dict[str, Any]) -> str:
    machine = report["machine"]
    lines = [
        f"{machine['database']} {machine['server_version']}, "
        f"{machine['nproc']} CPUs ({machine['cpu']}), Python {machine['python']}",
        f"{'workload':<10} {'figure':<16} {'median':>10} {'min':>10} {'max':>10}  last run",
    ]
    for name, result in report["workloads"].items():
        last = result["runs"][-1]
        details = ", ".join(
            f"{key}={value}"
            for key, value in last.items()
            if key not in _DETAIL_SKIP and key != result["headline"]
        )
        lines.append(
            f"{name:<10} {result['headline']:<16} {result['median']:>10} "
            f"{result['min']:>10} {result['max']:>10}  {details}"
        )
    return "\n".join(lines)
