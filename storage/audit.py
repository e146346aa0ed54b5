"""The append-only, hash-chained audit log: who did what, when, from which Slack action.

Each entry's ``hash`` is the SHA-256 (hex) of the canonical JSON of its fields and the
previous entry's hash::

    {"action", "actor", "after_state", "at", "before_state", "detail", "id", "prev_hash",
     "slack_action", "window_id"}

canonical meaning keys sorted, separators ``,`` and ``:``, UTF-8, ``at`` as stored (UTC ISO-8601
with microseconds). The first entry's ``prev_hash`` is ``""``. Changing, removing or reordering
an entry breaks the chain at or after it, which :func:`verify_audit_chain` reports. SQLite
triggers refuse UPDATE and DELETE, and this module offers neither.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlite_utils import Database

from bot.domain.models import AuditEntry
from storage.db import (
    from_db_json,
    from_db_time,
    to_db_json,
    to_db_time,
    write_transaction,
)

GENESIS_HASH = ""

# One line per thing that happened to a window, written with the entry (bot/ops/logs.py).
log = logging.getLogger("upgradebot.windows")

_APPEND_ONLY_TRIGGERS = (
    """
    CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END
    """,
)

_COLUMNS = (
    "id, at, actor, action, window_id, slack_action, before_state, after_state, detail, "
    "prev_hash, hash"
)


class ChainReport(BaseModel):
    """The outcome of walking the audit chain.

    ``entries`` counts the rows in the log. ``first_bad_id`` is the first entry whose hash does
    not match its fields or whose ``prev_hash`` is not the previous entry's hash; an entry
    missing from the end of the log shows as the first id that should be there.
    """

    model_config = ConfigDict(frozen=True)

    ok: bool
    entries: int
    first_bad_id: int | None = None


def ensure_append_only(db: Database) -> None:
    with write_transaction(db):
        for statement in _APPEND_ONLY_TRIGGERS:
            db.execute(statement)


def entry_hash(fields: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 hex of the canonical JSON of an entry's fields plus ``prev_hash``."""
    payload = {
        "id": fields["id"],
        "at": fields["at"],
        "actor": fields["actor"],
        "action": fields["action"],
        "window_id": fields["window_id"],
        "slack_action": fields["slack_action"],
        "before_state": fields["before_state"],
        "after_state": fields["after_state"],
        "detail": fields["detail"],
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def insert_audit(
    db: Database,
    *,
    actor: str,
    action: str,
    at: datetime,
    window_id: int | None = None,
    slack_action: str | None = None,
    before_state: str | None = None,
    after_state: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry; the caller holds the write transaction (so the chain head is ours)."""
    if not db.conn.in_transaction:
        raise RuntimeError("insert_audit must run inside write_transaction")
    head = db.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    last_id, prev_hash = (0, GENESIS_HASH) if head is None else (int(head[0]), str(head[1]))
    detail_text = to_db_json(detail)
    fields: dict[str, Any] = {
        "id": last_id + 1,
        "at": to_db_time(at),
        "actor": actor,
        "action": action,
        "window_id": window_id,
        "slack_action": slack_action,
        "before_state": None if before_state is None else str(before_state),
        "after_state": None if after_state is None else str(after_state),
        "detail": from_db_json(detail_text),
    }
    digest = entry_hash(fields, prev_hash)
    db.execute(
        f"INSERT INTO audit_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            fields["id"],
            fields["at"],
            actor,
            action,
            window_id,
            slack_action,
            fields["before_state"],
            fields["after_state"],
            detail_text,
            prev_hash,
            digest,
        ],
    )
    entry = _to_entry({**fields, "detail": detail_text, "prev_hash": prev_hash, "hash": digest})
    _log_entry(entry)
    return entry


def _log_entry(entry: AuditEntry) -> None:
    """``#12 approve by U0ANNA: proposed → approved`` (the window, what, who, the move)."""
    where = f"#{entry.window_id} " if entry.window_id is not None else ""
    moved = entry.before_state is not None and entry.before_state != entry.after_state
    move = f": {entry.before_state} → {entry.after_state}" if moved else ""
    ack = entry.detail.get("ack") if isinstance(entry.detail.get("ack"), dict) else None
    gate = str(ack.get("gate")) if ack else None
    log.info(
        "%s%s%s by %s%s",
        where,
        f"{gate} " if gate else "",
        entry.action,
        entry.actor,
        move,
        extra={
            "window": entry.window_id,
            "actor": entry.actor,
            "action": entry.action,
            "before": entry.before_state,
            "after": entry.after_state,
            "gate": gate,
            "slack_action": entry.slack_action,
        },
    )


def append_audit(
    db: Database,
    *,
    actor: str,
    action: str,
    at: datetime,
    window_id: int | None = None,
    slack_action: str | None = None,
    before_state: str | None = None,
    after_state: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    with write_transaction(db):
        return insert_audit(
            db,
            actor=actor,
            action=action,
            at=at,
            window_id=window_id,
            slack_action=slack_action,
            before_state=before_state,
            after_state=after_state,
            detail=detail,
        )


@dataclass(frozen=True)
class StateChange:
    """One move of a window from one state to another, as the audit log recorded it."""

    window_id: int
    at: datetime
    before: str
    after: str


def list_state_changes(db: Database) -> list[StateChange]:
    """Every state change of every window, oldest first: what /metrics reads at each scrape,
    so only the four columns it needs (the audit log also holds every progress note)."""
    rows = db.execute(
        "SELECT window_id, at, before_state, after_state FROM audit_log "
        "WHERE window_id IS NOT NULL AND before_state IS NOT NULL AND after_state IS NOT NULL "
        "AND before_state != after_state ORDER BY id"
    ).fetchall()
    return [StateChange(int(r[0]), from_db_time(str(r[1])), str(r[2]), str(r[3])) for r in rows]


def list_audit(db: Database, window_id: int | None = None) -> list[AuditEntry]:
    if window_id is None:
        rows = db.query(f"SELECT {_COLUMNS} FROM audit_log ORDER BY id")
    else:
        rows = db.query(
            f"SELECT {_COLUMNS} FROM audit_log WHERE window_id = ? ORDER BY id", [window_id]
        )
    return [_to_entry(row) for row in rows]


def verify_audit_chain(db: Database) -> ChainReport:
    prev_hash = GENESIS_HASH
    entries = 0
    first_bad_id: int | None = None
    last_id = 0
    for row in db.query(f"SELECT {_COLUMNS} FROM audit_log ORDER BY id"):
        entries += 1
        last_id = int(row["id"])
        if first_bad_id is None and not _is_intact(row, prev_hash):
            first_bad_id = last_id
        prev_hash = str(row["hash"])
    if first_bad_id is None:
        issued = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").fetchone()
        if issued is not None and int(issued[0]) > last_id:
            first_bad_id = last_id + 1  # entries were cut off the end of the log
    return ChainReport(ok=first_bad_id is None, entries=entries, first_bad_id=first_bad_id)


def _is_intact(row: Mapping[str, Any], prev_hash: str) -> bool:
    if row["prev_hash"] != prev_hash:
        return False
    try:
        fields = {**row, "detail": from_db_json(str(row["detail"]))}
    except ValueError:
        return False
    return entry_hash(fields, prev_hash) == str(row["hash"])


def _to_entry(row: Mapping[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=from_db_time(row["at"]),
        actor=row["actor"],
        action=row["action"],
        window_id=row["window_id"],
        slack_action=row["slack_action"],
        before_state=row["before_state"],
        after_state=row["after_state"],
        detail=from_db_json(row["detail"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
