"""Hotfix packages an operator attached to a window at G2: uploaded with the day-before upload
and installed after the last step of the path."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlite_utils import Database

from storage.audit import append_audit
from storage.db import write_transaction

CREATE_TABLES = [
    """
    CREATE TABLE window_hotfixes (
        window_id INTEGER NOT NULL REFERENCES windows (id),
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (window_id, position)
    ) STRICT
    """,
]


def set_hotfixes(
    db: Database, window_id: int, names: Sequence[str], *, actor: str, at: datetime
) -> list[str]:
    """Replace the window's hotfix list (in install order) and audit who chose it."""
    with write_transaction(db):
        db.execute("DELETE FROM window_hotfixes WHERE window_id = ?", [window_id])
        for position, name in enumerate(names, 1):
            db.execute(
                "INSERT INTO window_hotfixes (window_id, position, name) VALUES (?, ?, ?)",
                [window_id, position, name],
            )
        append_audit(
            db,
            actor=actor,
            action="hotfixes_set",
            at=at,
            window_id=window_id,
            detail={"hotfixes": list(names)},
        )
    return list(names)


def list_hotfixes(db: Database, window_id: int) -> list[str]:
    rows = db.query(
        "SELECT name FROM window_hotfixes WHERE window_id = ? ORDER BY position", [window_id]
    )
    return [str(row["name"]) for row in rows]
