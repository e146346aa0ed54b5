"""Opening the database, the one way to write to it, and how values are stored.

Every write in this package goes through :func:`write_transaction`, which takes SQLite's write
lock up front (``BEGIN IMMEDIATE``). A second process waits for it (``busy_timeout``) instead of
failing half-way, and a crash before ``COMMIT`` leaves nothing behind: the WAL frames of an
uncommitted transaction are ignored on the next open.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sqlite3
import time
import traceback
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

# Re-exported, so the rest of the bot can name the type without importing sqlite_utils.
from sqlite_utils import Database as Database

BUSY_TIMEOUT_MILLISECONDS = 5000
# What one attempt of :func:`write_async` waits for the write lock before it gives the event
# loop back: long enough that an uncontended lock is taken at once, short enough that another
# process holding it (a backup, an admin's sqlite3 shell) never holds up Slack's acks.
ASYNC_BUSY_MILLISECONDS = 20
# How long a write waits, in attempts, for a lock another process holds before it gives up.
ASYNC_WRITE_DEADLINE_SECONDS = 120.0
_MAX_PAUSE_SECONDS = 0.25

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class LoopWrites:
    """Writes that took the lock synchronously on a thread running an event loop: each one can
    stall every ack for the busy timeout. The bot makes none (issue 15, item 5); the test suite
    checks the count stays at zero."""

    count: int = 0
    last: str = ""


LOOP_WRITES = LoopWrites()
# The databases a running bot serves from (``serve_from``): a synchronous write on one of them,
# on the loop, is counted. A test's or a tool's own connection is not the bot's.
_SERVING: weakref.WeakSet[Database] = weakref.WeakSet()
# Why the last asynchronous write on a database failed (the disk full, the file read-only…),
# until a write succeeds again: ``/healthz`` says it even when the folder looks writable.
_LAST_FAILURE: weakref.WeakKeyDictionary[Database, str] = weakref.WeakKeyDictionary()
# Opening the database (its migrations) is start-up, before anything is served: it may wait.
_STARTING: ContextVar[bool] = ContextVar("upgradebot_db_starting", default=False)

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
    starting = _STARTING.set(True)
    try:
        apply_migrations(db)
        # A trigger dropped behind our back (by hand, by a restore) is put back at every start.
        ensure_append_only(db)
    finally:
        _STARTING.reset(starting)
    return db


def serve_from(db: Database) -> Database:
    """Mark ``db`` as the one a running bot answers Slack from: from now on every write on it
    must go through :func:`write_async` (or :func:`write_now`), never wait on the loop."""
    _SERVING.add(db)
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
    if db in _SERVING and _on_event_loop() and not _STARTING.get():
        LOOP_WRITES.count += 1
        LOOP_WRITES.last = _caller()
        log.warning(
            "a write took the lock on the event loop (%s): use write_async", LOOP_WRITES.last
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


async def write_async(
    db: Database,
    work: Callable[Concatenate[Database, P], T],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """``work(db, ...)`` as one transaction, without ever blocking the event loop on the lock.

    Each attempt to take the write lock waits at most ``ASYNC_BUSY_MILLISECONDS``; while another
    process holds it, the coroutine sleeps and tries again (so acks, reads and ``/healthz`` go
    on; WAL readers never wait for a writer), for up to ``ASYNC_WRITE_DEADLINE_SECONDS``, then
    raises SQLite's own "database is locked". Once the lock is taken, ``work`` runs to its end
    without yielding: nothing else on the loop can interleave with the transaction. Every
    storage call inside ``work`` joins it (their ``write_transaction`` becomes a savepoint), so
    what belongs together (a state change and the messages it owes) commits together or not at
    all. Called inside a transaction already, it just runs ``work`` there.
    """
    conn = db.conn
    if conn.in_transaction:
        return work(db, *args, **kwargs)
    give_up = time.monotonic() + ASYNC_WRITE_DEADLINE_SECONDS
    pause = 0.005
    while not _try_begin(db):
        if time.monotonic() >= give_up:
            raise sqlite3.OperationalError("database is locked")
        await asyncio.sleep(pause)
        pause = min(pause * 2, _MAX_PAUSE_SECONDS)
    return _run_begun(db, lambda: work(db, *args, **kwargs))


def _run_begun(db: Database, work: Callable[[], T]) -> T:
    """Run ``work`` in the transaction just begun; commit, or roll back if it raises."""
    conn = db.conn
    try:
        result = work()
        conn.execute("COMMIT")
    except BaseException as error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(error, sqlite3.OperationalError | sqlite3.DatabaseError):
            _LAST_FAILURE[db] = str(error)
        raise
    _LAST_FAILURE.pop(db, None)
    return result


def last_write_failure(db: Database) -> str | None:
    """SQLite's words for why the last write failed, while no write succeeded since."""
    return _LAST_FAILURE.get(db)


class WriteBusy(Exception):
    """Another connection holds the write lock right now (:func:`write_now` did not wait)."""


def write_now(
    db: Database,
    work: Callable[Concatenate[Database, P], T],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """``work(db, ...)`` as one transaction if the write lock is free within
    ``ASYNC_BUSY_MILLISECONDS``; else :class:`WriteBusy`, having changed nothing. For the few
    writes that must not wait at all (claiming a Slack request before its ack)."""
    conn = db.conn
    if conn.in_transaction:
        return work(db, *args, **kwargs)
    if not _try_begin(db):
        raise WriteBusy("the database's write lock is held by another connection")
    return _run_begun(db, lambda: work(db, *args, **kwargs))


def _try_begin(db: Database) -> bool:
    """``BEGIN IMMEDIATE`` with a short wait; False when another connection holds the lock."""
    conn = db.conn
    conn.execute(f"PRAGMA busy_timeout = {ASYNC_BUSY_MILLISECONDS}")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if is_locked(error):
            return False
        _LAST_FAILURE[db] = str(error)
        raise
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MILLISECONDS}")
    return True


def is_locked(error: BaseException) -> bool:
    """SQLite's SQLITE_BUSY: another connection holds the lock (not a broken database)."""
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return (code & 0xFF) == sqlite3.SQLITE_BUSY
    return "locked" in str(error).lower()


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


_HERE = str(Path(__file__).resolve().parent)


def _caller() -> str:
    """Where a synchronous write on the loop came from (the first frame outside storage/)."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not frame.filename.startswith(_HERE) and "contextlib" not in frame.filename:
            return f"{Path(frame.filename).name}:{frame.lineno} {frame.name}"
    return "?"


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
