"""Timed actions (pre-check, reminders, go prompt, expiry): the rows the scheduler is armed from.

The database is the truth and the scheduler is derived: one row per (window, kind, due time).
A row goes ``pending`` -> ``running`` (claimed by exactly one runner) -> ``done``; pending rows
of a window that ends early become ``cancelled``. A row left ``running`` by a crash stays
``running``: whether to run it again is the scheduler's decision, not storage's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlite_utils import Database

from bot.domain.errors import UnknownWindow
from storage.db import (
    from_db_time,
    from_db_time_or_none,
    to_db_time,
    where_clause,
    write_transaction,
)

_COLUMNS = "id, window_id, kind, due_at, status, created_at, started_at, finished_at, outcome"


class ActionStatus(StrEnum):
    PENDING = "pending"  # waiting for its time
    RUNNING = "running"  # claimed by a runner
    DONE = "done"  # ran; ``outcome`` says how it went
    CANCELLED = "cancelled"  # its window no longer needs it


class ScheduledAction(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    window_id: int
    kind: str  # precheck, reminder, go_prompt, expire, … (the scheduler's vocabulary)
    due_at: datetime
    status: ActionStatus
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: str | None = None


def schedule_action(
    db: Database,
    *,
    window_id: int,
    kind: str,
    due_at: datetime,
    at: datetime,
    revive: bool = False,
) -> ScheduledAction:
    """Add a pending action; scheduling the same (window, kind, due_at) again returns the
    existing row, whatever its status, except that ``revive`` makes a cancelled one pending
    again (a window sent back to G1 and approved anew needs its start once more)."""
    due_text = to_db_time(due_at)
    with write_transaction(db):
        if db.execute("SELECT 1 FROM windows WHERE id = ?", [window_id]).fetchone() is None:
            raise UnknownWindow(str(window_id))
        db.execute(
            "INSERT OR IGNORE INTO scheduled_actions (window_id, kind, due_at, status, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [window_id, kind, due_text, ActionStatus.PENDING.value, to_db_time(at)],
        )
        if revive:
            db.execute(
                "UPDATE scheduled_actions SET status = ? "
                "WHERE window_id = ? AND kind = ? AND due_at = ? AND status = ?",
                [
                    ActionStatus.PENDING.value,
                    window_id,
                    kind,
                    due_text,
                    ActionStatus.CANCELLED.value,
                ],
            )
        rows = list(
            db.query(
                f"SELECT {_COLUMNS} FROM scheduled_actions "
                "WHERE window_id = ? AND kind = ? AND due_at = ?",
                [window_id, kind, due_text],
            )
        )
    return _to_action(rows[0])


def get_action(db: Database, action_id: int) -> ScheduledAction | None:
    rows = list(db.query(f"SELECT {_COLUMNS} FROM scheduled_actions WHERE id = ?", [action_id]))
    return _to_action(rows[0]) if rows else None


def list_actions(
    db: Database,
    *,
    window_id: int | None = None,
    statuses: Iterable[ActionStatus] | None = None,
) -> list[ScheduledAction]:
    """Actions ordered by due time (then id)."""
    wanted = None if statuses is None else [ActionStatus(s).value for s in statuses]
    found = where_clause({"window_id": window_id}, {"status": wanted})
    if found is None:
        return []
    clause, params = found
    rows = db.query(f"SELECT {_COLUMNS} FROM scheduled_actions{clause} ORDER BY due_at, id", params)
    return [_to_action(row) for row in rows]


def pending_actions(db: Database) -> list[ScheduledAction]:
    """Every pending action, earliest first, due or not: what the scheduler arms at start-up."""
    return list_actions(db, statuses=[ActionStatus.PENDING])


def claim_action(db: Database, action_id: int, *, at: datetime) -> bool:
    """Pending -> running. True for exactly one caller; False if claimed, done or cancelled."""
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE scheduled_actions SET status = ?, started_at = ? WHERE id = ? AND status = ?",
            [ActionStatus.RUNNING.value, to_db_time(at), action_id, ActionStatus.PENDING.value],
        )
        return cursor.rowcount == 1


def finish_action(db: Database, action_id: int, *, at: datetime, outcome: str) -> bool:
    """Running -> done with ``outcome``. False if the action was not running."""
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE scheduled_actions SET status = ?, finished_at = ?, outcome = ? "
            "WHERE id = ? AND status = ?",
            [
                ActionStatus.DONE.value,
                to_db_time(at),
                outcome,
                action_id,
                ActionStatus.RUNNING.value,
            ],
        )
        return cursor.rowcount == 1


def cancel_actions(db: Database, window_id: int, *, at: datetime) -> int:
    """Cancel the window's pending actions; running ones finish. Returns how many."""
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE scheduled_actions SET status = ?, finished_at = ?, outcome = 'cancelled' "
            "WHERE window_id = ? AND status = ?",
            [ActionStatus.CANCELLED.value, to_db_time(at), window_id, ActionStatus.PENDING.value],
        )
        return int(cursor.rowcount)


def _to_action(row: Mapping[str, Any]) -> ScheduledAction:
    return ScheduledAction(
        id=row["id"],
        window_id=row["window_id"],
        kind=row["kind"],
        due_at=from_db_time(row["due_at"]),
        status=ActionStatus(row["status"]),
        created_at=from_db_time(row["created_at"]),
        started_at=from_db_time_or_none(row["started_at"]),
        finished_at=from_db_time_or_none(row["finished_at"]),
        outcome=row["outcome"],
    )
