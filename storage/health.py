"""Whether the database can take writes, said in one sentence (issue 15, D14, D16): a read-only
file or folder, or a disk with no room left. Asked by ``/healthz`` without taking SQLite's write
lock (so another process holding it delays nothing here), and used to word a failed write."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from storage.db import last_write_failure

MIN_FREE_BYTES = 1_000_000  # below this a night's WAL (about 1 MB) no longer fits


def write_problem(db: Database, min_free_bytes: int = MIN_FREE_BYTES) -> str | None:
    """Why the database cannot be written now, or None: the file, its folder or its disk as
    they look, else the error of the last write if none succeeded since (a quota or a full
    disk the free space does not show)."""
    rows = db.execute("PRAGMA database_list").fetchall()
    path = next((row[2] for row in rows if row[1] == "main"), "")
    problem = path_problem(Path(path), min_free_bytes) if path else None
    if problem is None and (failed := last_write_failure(db)) is not None:
        problem = f"The bot's last write to its database failed ({failed}); {_TELL}"
    return problem


def path_problem(path: Path, min_free_bytes: int = MIN_FREE_BYTES) -> str | None:
    folder = path.parent
    if path.exists() and not os.access(path, os.W_OK):
        return f"The database {path} is read-only; make it writable for the bot's user."
    if not os.access(folder, os.W_OK):
        return f"The folder {folder} of the database is read-only; the bot must write there."
    free = shutil.disk_usage(folder).free
    if free < min_free_bytes:
        return f"The disk holding {path} is full ({free} bytes left); free some space."
    return None


def storage_failure(error: BaseException) -> str | None:
    """The sentence for a write SQLite refused because of the disk, or None for other errors."""
    if not isinstance(error, sqlite3.OperationalError | sqlite3.DatabaseError):
        return None
    text = str(error).lower()
    if "readonly" in text or "read-only" in text:
        return f"The bot's database is read-only right now, so this was not saved; {_TELL}"
    if "full" in text or "disk i/o" in text:
        return f"The disk of the bot's database is full, so this was not saved; {_TELL}"
    if "locked" in text:
        return (
            "Another program holds the bot's database, so this was not saved; try again in a "
            f"minute, and if it lasts, {_TELL}"
        )
    return None


_TELL = "tell whoever runs the bot."
