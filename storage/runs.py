"""Check runs (details, pre-check, verification) and the thread messages the bot keeps editing.

A check run is evidence: its results and their digest are what an acknowledgement accepted, so
rows are only ever added. ``window_messages`` remembers which Slack message plays which part
(the details checklist, the pre-check summary, the progress message) so the bot edits it
instead of posting a second one, also after a restart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlite_utils import Database

from storage.audit import append_audit
from storage.db import from_db_time, to_db_time, write_transaction

CREATE_TABLES = [
    """
    CREATE TABLE check_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        window_id INTEGER NOT NULL REFERENCES windows (id),
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        digest TEXT NOT NULL,
        results TEXT NOT NULL CHECK (json_valid(results)),
        detail TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
    ) STRICT
    """,
    "CREATE INDEX check_runs_by_window ON check_runs (window_id, kind, id)",
    """
    CREATE TABLE window_messages (
        window_id INTEGER NOT NULL REFERENCES windows (id),
        key TEXT NOT NULL,
        channel TEXT NOT NULL,
        ts TEXT NOT NULL,
        PRIMARY KEY (window_id, key)
    ) STRICT
    """,
]


class CheckRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    window_id: int
    kind: str  # details | precheck | quick | verify
    at: datetime
    digest: str
    results: list[dict[str, Any]]
    detail: dict[str, Any]


class MessageRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    channel: str
    ts: str


def record_check_run(
    db: Database,
    *,
    window_id: int,
    kind: str,
    at: datetime,
    digest: str,
    results: Sequence[Mapping[str, Any]],
    detail: Mapping[str, Any] | None = None,
) -> CheckRun:
    """Store a run and audit it (with its digest) in one transaction."""
    with write_transaction(db):
        cursor = db.execute(
            "INSERT INTO check_runs (window_id, kind, at, digest, results, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                window_id,
                kind,
                to_db_time(at),
                digest,
                json.dumps(list(results), default=str),
                json.dumps(dict(detail or {}), default=str),
            ],
        )
        run_id = int(cursor.lastrowid or 0)
        append_audit(
            db,
            actor="upgradebot",
            action=f"checks_{kind}",
            at=at,
            window_id=window_id,
            detail={"run": run_id, "digest": digest, **dict(detail or {})},
        )
    run = get_check_run(db, run_id)
    assert run is not None
    return run


def get_check_run(db: Database, run_id: int) -> CheckRun | None:
    rows = list(db.query("SELECT * FROM check_runs WHERE id = ?", [run_id]))
    return _to_run(rows[0]) if rows else None


def latest_check_run(db: Database, window_id: int, kind: str) -> CheckRun | None:
    rows = list(
        db.query(
            "SELECT * FROM check_runs WHERE window_id = ? AND kind = ? ORDER BY id DESC LIMIT 1",
            [window_id, kind],
        )
    )
    return _to_run(rows[0]) if rows else None


def list_check_runs(db: Database, window_id: int) -> list[CheckRun]:
    rows = db.query("SELECT * FROM check_runs WHERE window_id = ? ORDER BY id", [window_id])
    return [_to_run(row) for row in rows]


def remember_message(db: Database, *, window_id: int, key: str, channel: str, ts: str) -> None:
    with write_transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO window_messages (window_id, key, channel, ts) VALUES (?,?,?,?)",
            [window_id, key, channel, ts],
        )


def find_message(db: Database, window_id: int, key: str) -> MessageRef | None:
    rows = list(
        db.query(
            "SELECT channel, ts FROM window_messages WHERE window_id = ? AND key = ?",
            [window_id, key],
        )
    )
    return MessageRef(channel=rows[0]["channel"], ts=rows[0]["ts"]) if rows else None


def _to_run(row: Mapping[str, Any]) -> CheckRun:
    return CheckRun(
        id=row["id"],
        window_id=row["window_id"],
        kind=row["kind"],
        at=from_db_time(row["at"]),
        digest=row["digest"],
        results=json.loads(row["results"]),
        detail=json.loads(row["detail"]),
    )


def list_messages(db: Database, window_id: int) -> dict[str, MessageRef]:
    """Every keyed message of the window's thread, by key."""
    rows = db.query(
        "SELECT key, channel, ts FROM window_messages WHERE window_id = ? ORDER BY ts",
        [window_id],
    )
    return {row["key"]: MessageRef(channel=row["channel"], ts=row["ts"]) for row in rows}
