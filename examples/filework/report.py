"""Print what happened to the filework batches, and whether all of it worked.

Run it where ``enqueue`` ran::

    python -m filework.report          # the full report
    python -m filework.report --check  # one line, for scripts

Exit status: 0 when every job completed; 2 when some job has not finished yet
(it is waiting, or due for a retry); 1 when some job ended cancelled or
discarded, or when there are no jobs at all.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import sqlalchemy as sa

import drip
from filework.app import batches, database_url, output_folder

ALL_DONE, FAILED, UNFINISHED = 0, 1, 2
PAGE = 500


def all_jobs(client: drip.Client) -> list[drip.Job]:
    """Every job in the database, oldest first, read page by page."""
    jobs: list[drip.Job] = []
    after = None
    for _ in range(10_000):
        page = client.list(after=after, limit=PAGE)
        jobs.extend(page)
        if len(page) < PAGE:
            break
        after = page[-1].id
    return jobs[::-1]


def status(counts: dict[drip.JobState, int]) -> int:
    """The exit status that the job counts call for."""
    if not any(counts.values()):
        return FAILED
    if any(count for state, count in counts.items() if not state.is_final):
        return UNFINISHED
    if counts.get(drip.JobState.CANCELLED) or counts.get(drip.JobState.DISCARDED):
        return FAILED
    return ALL_DONE


def print_states(counts: dict[drip.JobState, int]) -> None:
    shown = [f"{count} {state.value}" for state, count in counts.items() if count]
    print(f"jobs by state: {', '.join(shown) or 'no jobs'}")


def print_kinds(jobs: list[drip.Job]) -> None:
    table = collections.Counter((job.kind, job.state.value) for job in jobs)
    for kind in sorted({job.kind for job in jobs}):
        states = ", ".join(
            f"{count} {state}" for (name, state), count in table.items() if name == kind
        )
        print(f"  {kind:<15} {states}")


def print_failures(jobs: list[drip.Job]) -> None:
    """Every failed attempt, grouped by error type; and the jobs that gave up."""
    errors = collections.Counter(error.type for job in jobs for error in job.errors)
    for kind, count in errors.most_common():
        print(f"  {count} failed attempt(s) of type {kind}")
    for job in jobs:
        if job.state in (drip.JobState.DISCARDED, drip.JobState.CANCELLED):
            last = job.errors[-1].message if job.errors else "no error recorded"
            print(f"  job {job.id} {job.kind} ended {job.state.value}: {last}")
    if not errors:
        print("  none")


def print_batches(engine: sa.Engine, jobs: list[drip.Job]) -> None:
    """Each batch's folder, its report and its archives."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(batches).order_by(batches.c.id)).all()
    reports = {job.args.get("batch"): job for job in jobs if job.kind == "build_report"}
    for row in rows:
        print(f"batch {row.id}: {row.files} files in {row.folder}")
        archives = sorted((output_folder(row.folder) / "compressed").glob("*.gz"))
        size = sum(path.stat().st_size for path in archives)
        print(f"  {len(archives)} archives, {size:,} bytes")
        report = reports.get(row.id)
        if report is not None and report.output:
            print(f"  report: {report.output['markdown']}")
            print(f"          {report.output['html']}")
            print_markdown_summary(Path(report.output["markdown"]))
        else:
            print("  report: not written yet")


def print_markdown_summary(path: Path) -> None:
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        print(f"  {lines[2]}" if len(lines) > 2 else "  (empty report)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="database URL (default: as `drip run` picks)")
    parser.add_argument("--check", action="store_true", help="print one line only")
    options = parser.parse_args(argv)

    engine = sa.create_engine(database_url(options.url))
    with drip.Client(engine) as client:
        counts = client.count_by_state()
        if options.check:
            print_states(counts)
            return status(counts)
        jobs = all_jobs(client)

    print_states(counts)
    print_kinds(jobs)
    print("failures:")
    print_failures(jobs)
    print_batches(engine, jobs)
    outcome = status(counts)
    verdict = {ALL_DONE: "every job completed", UNFINISHED: "some jobs are unfinished"}
    print(verdict.get(outcome, "some jobs did not complete"))
    return outcome


if __name__ == "__main__":
    sys.exit(main())
