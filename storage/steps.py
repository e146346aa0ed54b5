"""The upgrade steps a window triggered through its adapter: the guard against triggering twice.

A row is written *before* the adapter is asked to start a step (status ``triggering``), then
given the adapter's run id (``running``), then closed (``done`` / ``failed``). A row found
``triggering`` after a crash means the trigger may or may not have reached the DMS: the bot
looks for the run on the adapter and never triggers blindly again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlite_utils import Database

from storage.audit import append_audit
from storage.db import from_db_time, from_db_time_or_none, to_db_time, write_transaction

CREATE_TABLES = [
    """
    CREATE TABLE upgrade_steps (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        window_id INTEGER NOT NULL REFERENCES windows (id),
        position INTEGER NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 1,
        package TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('triggering', 'running', 'done', 'failed', 'unknown')),
        run_id TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        error TEXT,
        UNIQUE (window_id, position, attempt)
    ) STRICT
    """,
]


class UpgradeStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    window_id: int
    position: int  # order in the run: prerequisite packages and steps, 1-based
    attempt: int
    package: str
    status: str
    run_id: str | None
    started_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    # The run ids the DMS listed just before this attempt was triggered; None when not known
    # (a row written before migration 0006, or a DMS that could not be asked).
    runs_before: list[str] | None = None


class StepAlreadyTriggered(Exception):
    """The (window, position, attempt) row exists: someone already triggered it."""


def begin_step(
    db: Database,
    *,
    window_id: int,
    position: int,
    attempt: int,
    package: str,
    at: datetime,
    actor: str,
    runs_before: list[str] | None = None,
) -> UpgradeStep:
    """Record the intent to trigger, before calling the adapter; unique per attempt.
    ``runs_before``: the run ids the DMS listed before this trigger."""
    with write_transaction(db):
        exists = db.execute(
            "SELECT 1 FROM upgrade_steps WHERE window_id = ? AND position = ? AND attempt = ?",
            [window_id, position, attempt],
        ).fetchone()
        if exists is not None:
            raise StepAlreadyTriggered(f"step {position} attempt {attempt} of #{window_id}")
        cursor = db.execute(
            "INSERT INTO upgrade_steps"
            " (window_id, position, attempt, package, status, started_at, runs_before)"
            " VALUES (?, ?, ?, ?, 'triggering', ?, ?)",
            [
                window_id,
                position,
                attempt,
                package,
                to_db_time(at),
                None if runs_before is None else json.dumps(sorted(runs_before)),
            ],
        )
        append_audit(
            db,
            actor=actor,
            action="step_triggering",
            at=at,
            window_id=window_id,
            detail={"position": position, "attempt": attempt, "package": package},
        )
    return _get(db, int(cursor.lastrowid or 0))


def set_step_run(
    db: Database, step_id: int, *, run_id: str, at: datetime, attached: bool = False
) -> UpgradeStep:
    """The DMS's run for this step. ``attached``: the bot found the run on the DMS (a lost
    trigger answer, a Retry or a restart) instead of being told it by a start."""
    with write_transaction(db):
        db.execute(
            "UPDATE upgrade_steps SET status = 'running', run_id = ? WHERE id = ?",
            [run_id, step_id],
        )
        step = _get(db, step_id)
        append_audit(
            db,
            actor="upgradebot",
            action="step_attached" if attached else "step_triggered",
            at=at,
            window_id=step.window_id,
            detail={
                "position": step.position,
                "attempt": step.attempt,
                "package": step.package,
                "run_id": run_id,
            },
        )
    return step


def finish_step(
    db: Database,
    step_id: int,
    *,
    status: str,
    at: datetime,
    error: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> UpgradeStep:
    with write_transaction(db):
        db.execute(
            "UPDATE upgrade_steps SET status = ?, finished_at = ?, error = ? WHERE id = ?",
            [status, to_db_time(at), error, step_id],
        )
        step = _get(db, step_id)
        append_audit(
            db,
            actor="upgradebot",
            action=f"step_{status}",
            at=at,
            window_id=step.window_id,
            detail={
                "position": step.position,
                "attempt": step.attempt,
                "package": step.package,
                "run_id": step.run_id,
                "error": error,
                **dict(detail or {}),
            },
        )
    return step


def list_steps(db: Database, window_id: int) -> list[UpgradeStep]:
    rows = db.query(
        "SELECT * FROM upgrade_steps WHERE window_id = ? ORDER BY position, attempt", [window_id]
    )
    return [_to_step(row) for row in rows]


def _get(db: Database, step_id: int) -> UpgradeStep:
    rows = list(db.query("SELECT * FROM upgrade_steps WHERE id = ?", [step_id]))
    return _to_step(rows[0])


def _to_step(row: Mapping[str, Any]) -> UpgradeStep:
    return UpgradeStep(
        id=row["id"],
        window_id=row["window_id"],
        position=row["position"],
        attempt=row["attempt"],
        package=row["package"],
        status=row["status"],
        run_id=row["run_id"],
        started_at=from_db_time(row["started_at"]),
        finished_at=from_db_time_or_none(row["finished_at"]),
        error=row["error"],
        runs_before=None if row.get("runs_before") is None else json.loads(row["runs_before"]),
    )


def measured_startups(db: Database, system: str, limit: int = 20) -> list[float]:
    """The slowest agent's start-up (seconds) of this system's latest finished steps, newest
    first, as recorded when each step finished."""
    rows = db.query(
        "SELECT json_extract(a.detail, '$.startup_seconds') AS seconds FROM audit_log a "
        "JOIN windows w ON w.id = a.window_id WHERE a.action = 'step_done' AND w.system = ? "
        "AND json_extract(a.detail, '$.startup_seconds') IS NOT NULL ORDER BY a.id DESC LIMIT ?",
        [system, limit],
    )
    return [float(row["seconds"]) for row in rows]
