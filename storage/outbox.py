"""The outbox: every message the procedure owes a window's thread, recorded before Slack is
asked (issue 15). A row is keyed like ``window_messages`` (``details``, ``halt:7``…); writing
it again replaces what it says and makes it due again (a later edit supersedes an earlier one
that was never delivered). The dispatcher in ``bot/outbox.py`` delivers due rows until Slack
took them; ``version`` makes sure a delivery marks done only the content it sent.

The window's proposal (key ``proposal``, :data:`PARENT_KEY`) is a row too, at channel level:
it has no ``thread_ts``; once Slack took it, its ts is the window's ``message_ts``
(:func:`record_parent`). A thread message owed before that is held with no ``thread_ts`` and
gets the parent's ts in the same transaction that records it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlite_utils import Database

from storage.db import from_db_time, to_db_time, write_transaction
from storage.windows import get_window, set_message_ref

# The window's top-level message (the proposal), the parent of its thread.
PARENT_KEY = "proposal"

CREATE_TABLES = [
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        window_id INTEGER NOT NULL REFERENCES windows (id),
        key TEXT NOT NULL,
        channel TEXT NOT NULL,
        thread_ts TEXT NOT NULL,
        text TEXT NOT NULL,
        blocks TEXT,
        search_thread INTEGER NOT NULL DEFAULT 0,
        broadcast INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'refused')),
        version INTEGER NOT NULL DEFAULT 1,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        queued_at TEXT NOT NULL,
        UNIQUE (window_id, key)
    ) STRICT
    """,
    "CREATE INDEX outbox_pending ON outbox (status, id)",
]

# Migration 0008: ``thread_ts`` may be empty (the proposal itself; a thread message held until
# its parent is delivered). SQLite cannot drop a NOT NULL, so the table is rebuilt.
CHANNEL_LEVEL = [
    """
    CREATE TABLE outbox_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        window_id INTEGER NOT NULL REFERENCES windows (id),
        key TEXT NOT NULL,
        channel TEXT NOT NULL,
        thread_ts TEXT,
        text TEXT NOT NULL,
        blocks TEXT,
        search_thread INTEGER NOT NULL DEFAULT 0,
        broadcast INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'refused')),
        version INTEGER NOT NULL DEFAULT 1,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        queued_at TEXT NOT NULL,
        UNIQUE (window_id, key),
        CHECK (thread_ts IS NOT NULL OR key = 'proposal' OR status != 'delivered')
    ) STRICT
    """,
    "INSERT INTO outbox_new SELECT * FROM outbox",
    "DROP TABLE outbox",
    "ALTER TABLE outbox_new RENAME TO outbox",
    "CREATE INDEX outbox_pending ON outbox (status, id)",
]


class OutboxMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    window_id: int
    key: str
    channel: str
    thread_ts: str | None  # None: the proposal itself, or held until the proposal is posted
    text: str
    blocks: list[dict[str, Any]] | None
    search_thread: bool
    broadcast: bool = False  # also shown in the channel (Slack's "Also send to channel")
    status: str
    version: int
    attempts: int  # failed deliveries of any version: Slack may hold one of them already
    last_error: str | None = None
    queued_at: datetime | None = None

    @property
    def is_parent(self) -> bool:
        return self.key == PARENT_KEY


def queue_message(
    db: Database,
    *,
    window_id: int,
    key: str,
    channel: str,
    thread_ts: str | None,
    text: str,
    blocks: list[dict[str, Any]] | None,
    at: datetime,
    search_thread: bool = False,
    broadcast: bool = False,
) -> OutboxMessage:
    """Record that ``key`` must say ``text`` in the window's thread (``PARENT_KEY``: be the
    window's proposal in the channel); returns the due row. A thread message with no
    ``thread_ts`` is given the proposal's ts when it is known, else held until it is."""
    encoded = None if blocks is None else json.dumps(blocks)
    with write_transaction(db):
        if key == PARENT_KEY:
            thread_ts = None
        elif thread_ts is None:
            window = get_window(db, window_id)
            thread_ts = window.message_ts if window is not None else None
        db.execute(
            "INSERT INTO outbox (window_id, key, channel, thread_ts, text, blocks, search_thread,"
            " broadcast, status, queued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)"
            " ON CONFLICT (window_id, key) DO UPDATE SET channel = excluded.channel,"
            " thread_ts = excluded.thread_ts, text = excluded.text, blocks = excluded.blocks,"
            " search_thread = max(search_thread, excluded.search_thread), status = 'pending',"
            " version = version + 1, queued_at = excluded.queued_at",
            [
                window_id,
                key,
                channel,
                thread_ts,
                text,
                encoded,
                int(search_thread),
                int(broadcast),
                to_db_time(at),
            ],
        )
        rows = list(
            db.query("SELECT * FROM outbox WHERE window_id = ? AND key = ?", [window_id, key])
        )
    return _to_message(rows[0])


def pending_messages(db: Database, window_id: int | None = None) -> list[OutboxMessage]:
    """Undelivered rows, oldest first (the order they are owed in), a window's proposal before
    anything in its thread."""
    where, args = ("AND window_id = ?", [window_id]) if window_id is not None else ("", [])
    rows = db.query(
        f"SELECT * FROM outbox WHERE status = 'pending' {where} ORDER BY key != ?, id",
        [*args, PARENT_KEY],
    )
    return [_to_message(row) for row in rows]


def window_outbox(db: Database, window_id: int) -> list[OutboxMessage]:
    """Every message the bot owes or sent in the window's thread, as last written, by id."""
    rows = db.query("SELECT * FROM outbox WHERE window_id = ? ORDER BY id", [window_id])
    return [_to_message(row) for row in rows]


def mark_delivered(db: Database, message: OutboxMessage) -> bool:
    """Done, unless the row was written again since this content was read (then the newer
    content is still owed); True when marked."""
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE outbox SET status = 'delivered', attempts = 0, last_error = NULL"
            " WHERE id = ? AND version = ?",
            [message.id, message.version],
        )
    return cursor.rowcount == 1


def parent_row(db: Database, window_id: int) -> OutboxMessage | None:
    """The window's proposal as the bot last wrote it, if it went through the outbox."""
    rows = list(
        db.query("SELECT * FROM outbox WHERE window_id = ? AND key = ?", [window_id, PARENT_KEY])
    )
    return _to_message(rows[0]) if rows else None


def record_parent(
    db: Database, message: OutboxMessage, *, channel: str, ts: str, at: datetime
) -> None:
    """Slack took the window's proposal as ``ts``: it becomes the window's message (with its
    ``posted`` audit entry, once) and the parent of the thread messages held for it."""
    with write_transaction(db):
        window = get_window(db, message.window_id)
        if window is not None and window.message_ts != ts:
            set_message_ref(db, message.window_id, channel=channel, ts=ts, at=at)
        db.execute(
            "UPDATE outbox SET thread_ts = ?"
            " WHERE window_id = ? AND key != ? AND thread_ts IS NULL",
            [ts, message.window_id, PARENT_KEY],
        )


def is_owed_or_sent(db: Database, window_id: int, key: str) -> bool:
    """True once ``key`` was written to the outbox (delivered or still owed) or posted before
    the outbox existed: a start-up check that nothing a window needs was never attempted."""
    row = db.execute(
        "SELECT 1 FROM outbox WHERE window_id = ? AND key = ?"
        " UNION SELECT 1 FROM window_messages WHERE window_id = ? AND key = ?",
        [window_id, key, window_id, key],
    ).fetchone()
    return row is not None


def get_message(db: Database, message_id: int) -> OutboxMessage | None:
    rows = list(db.query("SELECT * FROM outbox WHERE id = ?", [message_id]))
    return _to_message(rows[0]) if rows else None


def mark_refused(db: Database, message: OutboxMessage, error: str) -> None:
    """Slack will never take this request (the channel is gone, the blocks are invalid): kept,
    with the reason, and no longer retried."""
    with write_transaction(db):
        db.execute(
            "UPDATE outbox SET status = 'refused', attempts = attempts + 1, last_error = ?"
            " WHERE id = ? AND version = ?",
            [error[:500], message.id, message.version],
        )


def mark_failed(db: Database, message: OutboxMessage, error: str) -> None:
    with write_transaction(db):
        db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
            [error[:500], message.id],
        )


def mark_sending(db: Database, message: OutboxMessage) -> None:
    """A post is about to be sent: counted as an attempt before Slack is asked, so a process
    killed before Slack's answer leaves a row the next one looks for before posting again."""
    with write_transaction(db):
        db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
            ["sent; no answer yet", message.id],
        )


def _to_message(row: Mapping[str, Any]) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        window_id=row["window_id"],
        key=row["key"],
        channel=row["channel"],
        thread_ts=row["thread_ts"],
        text=row["text"],
        blocks=None if row["blocks"] is None else json.loads(row["blocks"]),
        search_thread=bool(row["search_thread"]),
        broadcast=bool(row["broadcast"]),
        status=row["status"],
        version=row["version"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        queued_at=from_db_time(row["queued_at"]),
    )
