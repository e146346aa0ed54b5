"""Whether the database can take writes, said in one sentence (issue 15, D14, D16): a read-only
file or folder, or a disk with no room left. Asked by ``/healthz`` without taking SQLite's write
lock (so another process holding it delays nothing here), used to word a failed write, and by
:func:`open_usable`, so the bot and its commands refuse to start on such a database with the
sentence rather than a traceback (issue 15, item 6)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from bot.domain.errors import UnusableDatabase
from storage.db import last_write_failure, open_database

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


def open_usable(
    path: Path, *, writes: bool = True, min_free_bytes: int = MIN_FREE_BYTES
) -> Database:
    """:func:`storage.db.open_database`, or :class:`UnusableDatabase` with one sentence saying
    what is wrong and what would fix it. ``writes``: the caller will write (the bot,
    ``accept-package``), so a read-only file or folder or a full disk is refused before SQLite
    gets to fail; a reader (``export``, ``calendar``) is refused only when opening fails."""
    if str(path) == ":memory:":
        return open_database(path)
    if path.is_dir():
        raise UnusableDatabase(
            f"The database {path} is a folder, not a file; set UPGRADEBOT_DB to a file in it, "
            f"like {path / 'upgradebot.db'}."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UnusableDatabase(
            f"The folder {path.parent} of the database cannot be created ({error.strerror}); "
            "create it for the bot's user or set UPGRADEBOT_DB to a path that can be written."
        ) from error
    if writes and (problem := path_problem(path, min_free_bytes)):
        raise UnusableDatabase(problem)
    try:
        return open_database(path)
    except sqlite3.DatabaseError as error:
        raise UnusableDatabase(_open_failure(path, error, min_free_bytes)) from error


def _open_failure(path: Path, error: sqlite3.DatabaseError, min_free_bytes: int) -> str:
    if problem := path_problem(path, min_free_bytes):
        return problem
    text = str(error).lower()
    if "malformed" in text:
        return (
            f"The database {path} is damaged (SQLite says: {error}); restore it from the "
            "latest backup, or set UPGRADEBOT_DB to a new file name to start an empty one."
        )
    if "not a database" in text:
        return (
            f"{path} is not an upgradebot database (SQLite says: {error}); set UPGRADEBOT_DB "
            "to the bot's database, or to a new file name to start an empty one."
        )
    if "full" in text or "disk i/o" in text:
        return (
            f"The disk holding {path} refused to write ({error}); free some space on it or "
            "check the disk."
        )
    if "readonly" in text or "read-only" in text:
        return f"The database {path} is read-only; make it writable for the bot's user."
    return f"The database {path} cannot be opened ({error}); check the file and UPGRADEBOT_DB."
