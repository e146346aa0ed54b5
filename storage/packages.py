"""The package store's memory: the size and SHA-256 of each package file the first time the bot
saw it. A record is never overwritten, so a file that changes later is recognised as changed
(DESIGN "Packages and hotfixes"); only :func:`forget_package`, an operator's explicit decision to
accept a replaced file, removes one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlite_utils import Database

from storage.db import from_db_time, to_db_time, write_transaction

_COLUMNS = "name, size, sha256, first_seen"


class PackageRecord(BaseModel):
    """A package file as first seen: ``name`` is the file name in the store, ``size`` in bytes,
    ``sha256`` in lower-case hex."""

    model_config = ConfigDict(frozen=True)

    name: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    first_seen: datetime


def record_package(
    db: Database, *, name: str, size: int, sha256: str, at: datetime
) -> PackageRecord:
    """Remember a file seen at ``at``, unless it is known already: then the first record is
    returned unchanged, whatever ``size`` and ``sha256`` say now."""
    candidate = PackageRecord(name=name, size=size, sha256=sha256.lower(), first_seen=at)
    with write_transaction(db):
        db.execute(
            f"INSERT OR IGNORE INTO package_files ({_COLUMNS}) VALUES (?, ?, ?, ?)",
            [candidate.name, candidate.size, candidate.sha256, to_db_time(candidate.first_seen)],
        )
        stored = _select(db, name)
    if stored is None:  # the row was just written in this transaction; it cannot be gone
        raise RuntimeError(f"package record {name!r} vanished")
    return stored


def get_package(db: Database, name: str) -> PackageRecord | None:
    return _select(db, name)


def forget_package(db: Database, name: str) -> bool:
    """Drop the first-seen record of ``name`` so its current file is recorded afresh; whether
    there was one."""
    with write_transaction(db):
        cursor = db.execute("DELETE FROM package_files WHERE name = ?", [name])
    return bool(cursor.rowcount)


def _select(db: Database, name: str) -> PackageRecord | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM package_files WHERE name = ?", [name]).fetchone()
    return None if row is None else _to_record(row)


def _to_record(row: tuple[Any, ...]) -> PackageRecord:
    name, size, sha256, first_seen = row
    return PackageRecord(
        name=str(name), size=int(size), sha256=str(sha256), first_seen=from_db_time(first_seen)
    )
