"""What the filework application keeps for itself: its table and its folders.

Drip stores jobs in the application's own database, so the application's
tables and Drip's live side by side. Filework has one table, ``filework_batch``,
with a row per batch of files; ``enqueue`` writes that row and the batch's jobs
in the same transaction.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

import drip

metadata = sa.MetaData()

batches = sa.Table(
    "filework_batch",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("folder", sa.String(1024), nullable=False),
    sa.Column("files", sa.Integer, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)


def database_url(url: str | None = None) -> str:
    """The database to use, chosen as ``drip run`` chooses it.

    An explicit URL wins, then ``DRIP_DATABASE_URL``, then Drip's embedded
    default (a SQLite file in the working directory), so the scripts and the
    worker always meet in the same database.
    """
    return url or os.environ.get("DRIP_DATABASE_URL") or drip.DEFAULT_URL


def input_folder(batch_folder: str | Path) -> Path:
    """Where a batch's input files are."""
    return Path(batch_folder) / "inbox"


def output_folder(batch_folder: str | Path) -> Path:
    """Where the handlers write a batch's compressed files and reports."""
    return Path(batch_folder) / "output"
