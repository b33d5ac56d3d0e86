"""The filework handlers: what ``drip run filework.handlers`` runs.

Each batch flows through three kinds of job:

- ``checksum_file`` (sync) hashes one input file with SHA-256 and enqueues a
  ``compress_file`` job for it. A file modified a moment ago may still be being
  written, so the handler fails with ``StillBeingWritten`` and its retry policy
  tries again shortly.
- ``compress_file`` (sync) gzips the file, checks that the archive unpacks to
  the checksummed bytes, and moves it into place only then.
- ``build_report`` (async) waits, by snoozing, until every other job of its
  batch has finished, then writes a Markdown and an HTML report.

Plain functions run in worker threads; the ``async`` one runs on the worker's
event loop, so it hands its blocking calls to a thread.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import html
import os
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import drip
from filework.app import input_folder, output_folder

# A file younger than this may still be being written by whoever dropped it in.
SETTLE_SECONDS = 1.0

# How long a report waits for the rest of its batch before giving up.
REPORT_PATIENCE = timedelta(minutes=10)

FILE_KINDS = ("checksum_file", "compress_file")
CHUNK = 1 << 16


class StillBeingWritten(Exception):
    """The file changed too recently to be trusted; a retry will look again."""


class ArchiveMismatch(Exception):
    """A freshly written archive does not unpack to the bytes that were hashed."""


# -- checksum ------------------------------------------------------------------


@drip.handler(retry=drip.Constant("500ms"), timeout="1m")
def checksum_file(ctx: drip.JobContext) -> None:
    """Hash one input file, record the digest, and enqueue its compression."""
    folder, name = ctx.args["folder"], ctx.args["file"]
    path = input_folder(folder) / name
    if not path.is_file():
        raise drip.Discard(f"{path} does not exist; nothing to checksum")

    age = time.time() - path.stat().st_mtime
    if age < SETTLE_SECONDS:
        raise StillBeingWritten(f"{name} changed {age:.2f}s ago; letting it settle")

    digest = sha256_of(path)
    ctx.record_output({"sha256": digest, "bytes": path.stat().st_size})

    # If this job is retried after the insert, the unique key keeps the
    # follow-up from being enqueued twice.
    ctx.client.insert(
        "compress_file",
        {**ctx.args, "sha256": digest},
        tags=ctx.job.tags,
        unique=drip.Unique(by_args=True),
    )


def sha256_of(path: Path) -> str:
    """The hex SHA-256 of a file, read in chunks so that size does not matter."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- compress ------------------------------------------------------------------


@drip.handler(timeout="2m")
def compress_file(ctx: drip.JobContext) -> None:
    """Gzip one input file into the batch's output folder, verified."""
    folder, name = ctx.args["folder"], ctx.args["file"]
    source = input_folder(folder) / name
    target = output_folder(folder) / "compressed" / f"{name}.gz"
    target.parent.mkdir(parents=True, exist_ok=True)

    # Write beside the target and rename: a failed or repeated run never
    # leaves half an archive under the final name.
    partial = target.with_name(f"{target.name}.partial")
    with (
        source.open("rb") as raw,
        partial.open("wb") as out,
        gzip.GzipFile(filename=name, mode="wb", fileobj=out, mtime=0) as packed,
    ):
        shutil.copyfileobj(raw, packed, CHUNK)

    unpacked = hashlib.sha256(gzip.decompress(partial.read_bytes())).hexdigest()
    if unpacked != ctx.args["sha256"]:
        partial.unlink()
        raise ArchiveMismatch(f"{name}.gz unpacks to {unpacked}, not the checksum")
    os.replace(partial, target)

    ctx.record_output({"archive": str(target), "bytes": target.stat().st_size})


# -- report --------------------------------------------------------------------


@drip.handler(timeout="1m")
async def build_report(ctx: drip.JobContext) -> None:
    """Once the batch's other jobs are done, write report.md and report.html."""
    jobs = await asyncio.to_thread(batch_jobs, ctx.client, ctx.args["batch"])

    waiting = [job for job in jobs if not job.state.is_final]
    if waiting:
        if datetime.now(UTC) - ctx.job.created_at > REPORT_PATIENCE:
            raise drip.Discard(f"gave up waiting for {len(waiting)} jobs of the batch")
        raise drip.Snooze("1s")

    rows = report_rows(jobs)
    folder = output_folder(ctx.args["folder"])
    written = await asyncio.to_thread(write_reports, folder, ctx.args["batch"], rows)
    ctx.record_output({"files": len(rows), **written})


def batch_jobs(client: drip.Client, batch: int) -> list[drip.Job]:
    """Every checksum and compress job of ``batch``, read page by page."""
    jobs: list[drip.Job] = []
    after = None
    for _ in range(10_000):
        page = client.list(kinds=FILE_KINDS, after=after, limit=500)
        jobs.extend(job for job in page if job.args.get("batch") == batch)
        if len(page) < 500:
            break
        after = page[-1].id
    return jobs


def report_rows(jobs: list[drip.Job]) -> list[dict[str, Any]]:
    """One row per input file: its checksum, sizes and what became of it."""
    rows: dict[str, dict[str, Any]] = {}
    for job in sorted(jobs, key=lambda job: job.id):
        row = rows.setdefault(job.args["file"], {"file": job.args["file"]})
        row[job.kind] = job.state.value
        row["errors"] = row.get("errors", 0) + len(job.errors)
        output = job.output or {}
        if job.kind == "checksum_file":
            row.update(sha256=output.get("sha256"), bytes=output.get("bytes"))
        else:
            row["gzip_bytes"] = output.get("bytes")
    return sorted(rows.values(), key=lambda row: row["file"])


def write_reports(
    folder: Path, batch: int, rows: list[dict[str, Any]]
) -> dict[str, str]:
    """Write the batch report as Markdown and HTML; return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    markdown = folder / "report.md"
    page = folder / "report.html"
    markdown.write_text(render_markdown(batch, rows), encoding="utf-8")
    page.write_text(render_html(batch, rows), encoding="utf-8")
    return {"markdown": str(markdown), "html": str(page)}


COLUMNS = ["file", "bytes", "gzip", "saved", "sha256", "errors"]


def _cells(row: dict[str, Any]) -> list[str]:
    size, packed = row.get("bytes"), row.get("gzip_bytes")
    saved = f"{1 - packed / size:.0%}" if size and packed else "-"
    return [
        row["file"],
        f"{size:,}" if size is not None else "-",
        f"{packed:,}" if packed is not None else row.get("compress_file", "-"),
        saved,
        (row.get("sha256") or row.get("checksum_file", "-"))[:16],
        str(row["errors"]),
    ]


def _totals(rows: list[dict[str, Any]]) -> str:
    size = sum(row.get("bytes") or 0 for row in rows)
    packed = sum(row.get("gzip_bytes") or 0 for row in rows)
    return f"{len(rows)} files, {size:,} bytes, {packed:,} bytes gzipped"


def render_markdown(batch: int, rows: list[dict[str, Any]]) -> str:
    """The report as a Markdown table."""
    lines = [
        f"# Filework batch {batch}",
        "",
        _totals(rows),
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    lines.extend("| " + " | ".join(_cells(row)) + " |" for row in rows)
    return "\n".join(lines) + "\n"


def render_html(batch: int, rows: list[dict[str, Any]]) -> str:
    """The report as a self-contained HTML page."""
    head = "".join(f"<th>{html.escape(name)}</th>" for name in COLUMNS)
    body = "\n".join(
        "<tr>"
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in _cells(row))
        + "</tr>"
        for row in rows
    )
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>Filework batch {batch}</title></head><body>\n"
        f"<h1>Filework batch {batch}</h1>\n<p>{html.escape(_totals(rows))}</p>\n"
        f"<table>\n<tr>{head}</tr>\n{body}\n</table>\n</body></html>\n"
    )
