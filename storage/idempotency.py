"""Slack retries a request it thinks went unanswered; each one must take effect once.

The caller picks a key that is the same on every retry of one request (for a button click,
the payload's ``action_ts`` with the user and action id; for an event, ``event_id``).
"""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage.db import to_db_time, write_transaction


def claim_request(db: Database, key: str, at: datetime) -> bool:
    """True the first time ``key`` is seen, False for every later claim (any process)."""
    with write_transaction(db):
        cursor = db.execute(
            "INSERT OR IGNORE INTO slack_requests (key, claimed_at) VALUES (?, ?)",
            [key, to_db_time(at)],
        )
        return cursor.rowcount == 1


def forget_requests(db: Database, *, claimed_before: datetime) -> int:
    """Drop keys claimed before ``claimed_before`` (Slack stops retrying after minutes)."""
    with write_transaction(db):
        cursor = db.execute(
            "DELETE FROM slack_requests WHERE claimed_at < ?", [to_db_time(claimed_before)]
        )
        return int(cursor.rowcount)
