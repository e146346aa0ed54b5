"""Acknowledgements: a named person's decision on a gate, kept with the evidence they saw.

Acknowledgements that move a window (approve, go, verify, …) are written by
:func:`storage.windows.transition`, inside its compare-and-set. :func:`record_ack` is for those
that leave the state alone, such as ticking or waiving an item of the G2 checklist.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.domain.errors import UnknownWindow
from bot.domain.models import Acknowledgement, GateId
from storage.audit import insert_audit
from storage.db import from_db_time, to_db_time, write_transaction

_COLUMNS = "id, window_id, gate, user, decision, at, digest, reason, slack_action"


def insert_ack(
    db: Database,
    *,
    window_id: int,
    gate: GateId,
    user: str,
    decision: str,
    at: datetime,
    digest: str | None,
    reason: str | None,
    slack_action: str | None,
) -> Acknowledgement:
    """Write one acknowledgement row; the caller holds the write transaction."""
    cursor = db.execute(
        "INSERT INTO acknowledgements "
        "(window_id, gate, user, decision, at, digest, reason, slack_action) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [window_id, gate.value, user, decision, to_db_time(at), digest, reason, slack_action],
    )
    return Acknowledgement(
        id=int(cursor.lastrowid or 0),
        window_id=window_id,
        gate=gate,
        user=user,
        decision=decision,
        at=from_db_time(to_db_time(at)),
        digest=digest,
        reason=reason,
        slack_action=slack_action,
    )


def ack_detail(ack: Acknowledgement) -> dict[str, Any]:
    """What the audit entry repeats of an acknowledgement, so the chain covers it."""
    return {
        "id": ack.id,
        "gate": ack.gate.value,
        "user": ack.user,
        "decision": ack.decision,
        "digest": ack.digest,
        "reason": ack.reason,
    }


def record_ack(
    db: Database,
    *,
    window_id: int,
    gate: GateId,
    user: str,
    decision: str,
    at: datetime,
    digest: str | None = None,
    reason: str | None = None,
    slack_action: str | None = None,
) -> Acknowledgement:
    """Record an acknowledgement that does not move the window, and audit it.

    A double click is one acknowledgement: when this user's latest acknowledgement on this gate
    has the same decision, digest and reason, that one is returned and nothing is written.
    """
    with write_transaction(db):
        row = db.execute("SELECT state FROM windows WHERE id = ?", [window_id]).fetchone()
        if row is None:
            raise UnknownWindow(str(window_id))
        state = str(row[0])
        latest = _latest(
            db, "window_id = ? AND gate = ? AND user = ?", [window_id, gate.value, user]
        )
        if latest is not None and (latest.decision, latest.digest, latest.reason) == (
            decision,
            digest,
            reason,
        ):
            return latest
        ack = insert_ack(
            db,
            window_id=window_id,
            gate=gate,
            user=user,
            decision=decision,
            at=at,
            digest=digest,
            reason=reason,
            slack_action=slack_action,
        )
        insert_audit(
            db,
            actor=user,
            action="acknowledged",
            at=at,
            window_id=window_id,
            slack_action=slack_action,
            before_state=state,
            after_state=state,
            detail={"ack": ack_detail(ack)},
        )
    return ack


def list_acks(db: Database, window_id: int) -> list[Acknowledgement]:
    rows = db.query(
        f"SELECT {_COLUMNS} FROM acknowledgements WHERE window_id = ? ORDER BY id", [window_id]
    )
    return [_to_ack(row) for row in rows]


def latest_ack(db: Database, window_id: int) -> Acknowledgement | None:
    """The most recent acknowledgement on the window, on any gate."""
    return _latest(db, "window_id = ?", [window_id])


def _latest(db: Database, where: str, params: list[Any]) -> Acknowledgement | None:
    rows = list(
        db.query(
            f"SELECT {_COLUMNS} FROM acknowledgements WHERE {where} ORDER BY id DESC LIMIT 1",
            params,
        )
    )
    return _to_ack(rows[0]) if rows else None


def _to_ack(row: Mapping[str, Any]) -> Acknowledgement:
    return Acknowledgement(
        id=row["id"],
        window_id=row["window_id"],
        gate=GateId(row["gate"]),
        user=row["user"],
        decision=row["decision"],
        at=from_db_time(row["at"]),
        digest=row["digest"],
        reason=row["reason"],
        slack_action=row["slack_action"],
    )
