"""Opening the database, the one way to write to it, and how values are stored.

Every write in this package goes through :func:`write_transaction`, which takes SQLite's write
lock up front (``BEGIN IMMEDIATE``). A second process waits for it (``busy_timeout``) instead of
failing half-way, and a crash before ``COMMIT`` leaves nothing behind: the WAL frames of an
uncommitted transaction are ignored on the next open.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

# Re-exported, so the rest of the bot can name the type without importing sqlite_utils.
from sqlite_utils import Database as Database

BUSY_TIMEOUT_MILLISECONDS = 5000

# FULL, not NORMAL: with WAL, NORMAL survives a crash of the process but may drop the last
# commits on a power cut. A dropped commit here is an approval that Slack already showed as
# recorded, and the bot writes a handful of rows per click, so the extra fsync costs nothing.
SYNCHRONOUS = "FULL"


def open_database(path: str | Path) -> Database:
    """Open (or create) the bot's database, configured and migrated.

    ``":memory:"`` gives a private in-memory database (no WAL there; SQLite keeps it in memory).
    One :class:`Database` belongs to one thread; open one per thread or process.
    """
    # Imported here: migrations and audit import this module for write_transaction.
    from storage.audit import ensure_append_only
    from storage.migrations import apply_migrations

    in_memory = str(path) == ":memory:"
    if not in_memory:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = Database(str(path), execute_plugins=False)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MILLISECONDS};")
    if not in_memory:
        db.enable_wal()
    db.execute(f"PRAGMA synchronous = {SYNCHRONOUS};")
    db.execute("PRAGMA foreign_keys = ON;")
    apply_migrations(db)
    # A trigger dropped behind our back (by hand, by a restore) is put back at every start.
    ensure_append_only(db)
    return db


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """All-or-nothing: commit when the block ends, roll back if it raises.

    Outside a transaction this is ``BEGIN IMMEDIATE`` … ``COMMIT``. Inside one (a caller that
    groups several storage calls) it is a savepoint, so a failed inner step is undone alone
    and the outer transaction decides what is committed.
    """
    conn = db.conn
    if conn.in_transaction:
        savepoint = f"upgradebot_{secrets.token_hex(8)}"
        conn.execute(f"SAVEPOINT {savepoint}")
        try:
            yield db
        except BaseException:
            # An error can end the whole transaction; then the savepoint is gone already.
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO {savepoint}")
                conn.execute(f"RELEASE {savepoint}")
            raise
        conn.execute(f"RELEASE {savepoint}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def to_db_time(value: datetime) -> str:
    """Aware datetime -> fixed-width UTC ISO-8601 text, so text order is time order."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"storage needs an aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def from_db_time_or_none(text: str | None) -> datetime | None:
    return None if text is None else from_db_time(text)


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return to_db_time(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} cannot be stored as JSON")


def to_db_json(value: Mapping[str, Any] | None) -> str:
    """Canonical JSON text: sorted keys, no spaces, no NaN; datetimes as stored times."""
    return json.dumps(
        dict(value or {}),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def from_db_json(text: str) -> dict[str, Any]:
    loaded = json.loads(text)
    if not isinstance(loaded, dict):
        raise ValueError("stored JSON is not an object")
    return loaded


def where_clause(
    equal: Mapping[str, Any], one_of: Mapping[str, Iterable[str] | None]
) -> tuple[str, list[Any]] | None:
    """A WHERE clause and its parameters from optional filters: ``equal`` column -> value (None
    skips it) and ``one_of`` column -> allowed values (None skips it). None as a whole when an
    allowed-values set is empty: no row can match."""
    parts: list[str] = []
    params: list[Any] = []
    for column, value in equal.items():
        if value is not None:
            parts.append(f"{column} = ?")
            params.append(value)
    for column, values in one_of.items():
        if values is None:
            continue
        wanted = sorted(set(values))
        if not wanted:
            return None
        parts.append(f"{column} IN ({', '.join('?' for _ in wanted)})")
        params.extend(wanted)
    return (f" WHERE {' AND '.join(parts)}" if parts else ""), params
