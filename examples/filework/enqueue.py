"""Drop a batch of sample files into an inbox and enqueue the work on them.

Run it from the directory that holds the database (the embedded default is
``drip.sqlite3`` in the working directory)::

    python -m filework.enqueue --files 12

The batch's row in the application's own table and its jobs are written in one
transaction: if anything fails, neither the batch nor any of its jobs exists,
and no worker ever sees half a batch.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

import drip
from filework.app import batches, database_url, input_folder, metadata
from filework.samples import write_samples


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="database URL (default: as `drip run` picks)")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("filework-data"),
        help="folder that receives the batch folders (default: ./filework-data)",
    )
    parser.add_argument("--files", type=int, default=12, help="files in the batch")
    return parser.parse_args(argv)


def job_specs(batch: int, folder: Path, names: list[str]) -> list[drip.JobSpec]:
    """A checksum job per file, and the batch's report, which runs last."""
    args = {"batch": batch, "folder": str(folder)}
    tags = ["filework", f"batch-{batch}"]
    specs = [
        drip.JobSpec(kind="checksum_file", args={**args, "file": name}, tags=tags)
        for name in names
    ]
    specs.append(drip.JobSpec(kind="build_report", args=args, priority=4, tags=tags))
    return specs


def enqueue(engine: sa.Engine, client: drip.Client, data: Path, files: int) -> int:
    """Create a batch of ``files`` sample files and enqueue its jobs; return its id."""
    created = datetime.now(UTC)
    folder = (data / f"{created:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}").resolve()
    names = [path.name for path in write_samples(input_folder(folder), files)]
    metadata.create_all(engine)

    with engine.begin() as conn:
        batch = conn.execute(
            batches.insert().values(
                folder=str(folder), files=files, created_at=created.isoformat()
            )
        ).inserted_primary_key[0]
        results = client.insert_many(job_specs(batch, folder, names), conn=conn)

    print(f"batch {batch}: {len(names)} files in {input_folder(folder)}")
    print(f"enqueued {len(results)} jobs (ids {results[0].id}-{results[-1].id})")
    return int(batch)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if options.files < 1:
        print("--files must be at least 1", file=sys.stderr)
        return 2

    # The application's own engine; Drip works inside its transactions.
    engine = sa.create_engine(database_url(options.url))
    client = drip.Client(engine)
    try:
        enqueue(engine, client, options.data, options.files)
    except drip.DripError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
