"""Upgrade windows: their state, who decided, and the one way to move them.

:func:`transition` is a compare-and-set on the stored state. Of two clicks on the same gate,
the first to take the write lock moves the window and records its acknowledgement; the
second finds the state already changed and gets :class:`StaleState` with the winner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from bot.domain.errors import IllegalTransition, UnknownWindow, UpgradeBotError
from bot.domain.gates import TRANSITIONS
from bot.domain.models import (
    TERMINAL_STATES,
    Acknowledgement,
    GateId,
    Window,
    WindowState,
)
from storage.acks import ack_detail, insert_ack, latest_ack
from storage.audit import insert_audit
from storage.db import (
    from_db_json,
    from_db_time,
    from_db_time_or_none,
    to_db_json,
    to_db_time,
    where_clause,
    write_transaction,
)

_COLUMNS = (
    "id, system, target, start_at, end_at, state, proposer, created_at, channel, message_ts, "
    "plan, decided_by, decided_at, reason, revision"
)
_LEGAL_MOVES = frozenset((source, target) for (source, _), target in TRANSITIONS.items())


class StaleState(UpgradeBotError):
    """The window was no longer in the expected state: someone else moved it first.

    ``window`` is the window as stored now; ``latest_ack`` the acknowledgement that most
    recently touched it (on a double click: the winner's), if any.
    """

    def __init__(
        self, window: Window, expected: WindowState, latest_ack: Acknowledgement | None = None
    ) -> None:
        self.window = window
        self.expected = expected
        self.latest_ack = latest_ack
        by = latest_ack.user if latest_ack is not None else window.decided_by
        who = f" by {by}" if by else ""
        super().__init__(
            f"Window #{window.id} is already {window.state.value}{who}; nothing was changed."
        )


def create_window(
    db: Database,
    *,
    system: str,
    target: str,
    start: datetime,
    end: datetime,
    proposer: str,
    created_at: datetime,
    plan: Mapping[str, Any],
    channel: str | None,
    slack_action: str | None = None,
) -> Window:
    """Store a new proposal (state ``proposed``) and its ``proposed`` audit entry together."""
    with write_transaction(db):
        cursor = db.execute(
            "INSERT INTO windows (system, target, start_at, end_at, state, proposer, created_at, "
            "channel, plan) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                system,
                target,
                to_db_time(start),
                to_db_time(end),
                WindowState.PROPOSED.value,
                proposer,
                to_db_time(created_at),
                channel,
                to_db_json(plan),
            ],
        )
        window = _require(db, int(cursor.lastrowid or 0))
        insert_audit(
            db,
            actor=proposer,
            action="proposed",
            at=created_at,
            window_id=window.id,
            slack_action=slack_action,
            after_state=window.state.value,
            detail={
                "system": system,
                "target": target,
                "start": window.start,
                "end": window.end,
                "channel": channel,
            },
        )
    return window


def get_window(db: Database, window_id: int) -> Window | None:
    rows = list(db.query(f"SELECT {_COLUMNS} FROM windows WHERE id = ?", [window_id]))
    return _to_window(rows[0]) if rows else None


def list_windows(
    db: Database, *, system: str | None = None, states: Iterable[WindowState] | None = None
) -> list[Window]:
    """Windows ordered by start (then id), optionally of one system and in some states."""
    wanted = None if states is None else [WindowState(s).value for s in states]
    found = where_clause({"system": system}, {"state": wanted})
    if found is None:
        return []
    clause, params = found
    rows = db.query(f"SELECT {_COLUMNS} FROM windows{clause} ORDER BY start_at, id", params)
    return [_to_window(row) for row in rows]


def open_windows(db: Database, system: str | None = None) -> list[Window]:
    return list_windows(db, system=system, states=set(WindowState) - TERMINAL_STATES)


def finished_windows(db: Database, system: str | None = None) -> list[Window]:
    return list_windows(db, system=system, states=TERMINAL_STATES)


def set_message_ref(
    db: Database,
    window_id: int,
    *,
    channel: str,
    ts: str,
    at: datetime | None = None,
    actor: str = "upgradebot",
) -> Window:
    """Remember the message that shows the proposal (``chat.postMessage``'s channel and ts).

    The ``posted`` audit entry is dated ``at``; without it, by the message's ``ts``, which is
    Slack's own record of when the message was posted (seconds since the epoch).
    """
    if at is None:
        at = _from_slack_ts(ts)
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE windows SET channel = ?, message_ts = ?, revision = revision + 1 WHERE id = ?",
            [channel, ts, window_id],
        )
        if cursor.rowcount != 1:
            raise UnknownWindow(str(window_id))
        window = _require(db, window_id)
        insert_audit(
            db,
            actor=actor,
            action="posted",
            at=at,
            window_id=window_id,
            before_state=window.state.value,
            after_state=window.state.value,
            detail={"channel": channel, "ts": ts},
        )
    return window


def transition(
    db: Database,
    window_id: int,
    *,
    expected: WindowState,
    to: WindowState,
    actor: str,
    action: str,
    at: datetime,
    slack_action: str | None = None,
    gate: GateId | None = None,
    decision: str | None = None,
    digest: str | None = None,
    reason: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> Window:
    """Move the window from ``expected`` to ``to`` if it is still ``expected``, all or nothing.

    With ``gate``, ``actor``'s acknowledgement (``decision``, default ``action``) is stored in
    the same transaction; a G1 decision also sets ``decided_by``/``decided_at``. ``reason``,
    when given, replaces the window's reason. Raises :class:`StaleState` when the window has
    moved on, :class:`UnknownWindow` when there is no such window, and
    :class:`IllegalTransition` when the gate table has no move from ``expected`` to ``to``.
    """
    if (expected, to) not in _LEGAL_MOVES:
        raise IllegalTransition(window_id, expected.value, f"moved to {to.value}")
    at_text = to_db_time(at)
    decides = gate is GateId.G1
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE windows SET state = ?, revision = revision + 1, "
            "reason = COALESCE(?, reason), "
            "decided_by = CASE WHEN ? THEN ? ELSE decided_by END, "
            "decided_at = CASE WHEN ? THEN ? ELSE decided_at END "
            "WHERE id = ? AND state = ?",
            [to.value, reason, decides, actor, decides, at_text, window_id, expected.value],
        )
        if cursor.rowcount != 1:
            current = get_window(db, window_id)
            if current is None:
                raise UnknownWindow(str(window_id))
            raise StaleState(current, expected, latest_ack(db, window_id))
        audit_detail = dict(detail or {})
        if gate is not None:
            ack = insert_ack(
                db,
                window_id=window_id,
                gate=gate,
                user=actor,
                decision=decision or action,
                at=at,
                digest=digest,
                reason=reason,
                slack_action=slack_action,
            )
            audit_detail["ack"] = ack_detail(ack)
        elif reason is not None:
            audit_detail["reason"] = reason
        insert_audit(
            db,
            actor=actor,
            action=action,
            at=at,
            window_id=window_id,
            slack_action=slack_action,
            before_state=expected.value,
            after_state=to.value,
            detail=audit_detail,
        )
        return _require(db, window_id)


def _from_slack_ts(ts: str) -> datetime:
    seconds, _, fraction = ts.partition(".")
    if not (seconds.isdigit() and (fraction.isdigit() or not fraction)) or len(fraction) > 6:
        raise ValueError(f"message ts {ts!r} is not a Slack timestamp; pass at=")
    posted = datetime.fromtimestamp(int(seconds), tz=UTC)
    return posted.replace(microsecond=int(fraction.ljust(6, "0")))


def _require(db: Database, window_id: int) -> Window:
    window = get_window(db, window_id)
    if window is None:
        raise UnknownWindow(str(window_id))
    return window


def _to_window(row: Mapping[str, Any]) -> Window:
    return Window(
        id=row["id"],
        system=row["system"],
        target=row["target"],
        start=from_db_time(row["start_at"]),
        end=from_db_time(row["end_at"]),
        state=WindowState(row["state"]),
        proposer=row["proposer"],
        created_at=from_db_time(row["created_at"]),
        channel=row["channel"],
        message_ts=row["message_ts"],
        plan=from_db_json(row["plan"]),
        decided_by=row["decided_by"],
        decided_at=from_db_time_or_none(row["decided_at"]),
        reason=row["reason"],
        revision=row["revision"],
    )


def reopen_for_approval(
    db: Database,
    window_id: int,
    *,
    expected: WindowState,
    actor: str,
    action: str,
    at: datetime,
    reason: str,
    plan: Mapping[str, Any] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    slack_action: str | None = None,
) -> Window:
    """Send the window back to G1 (``proposed``), all or nothing, with a new plan and/or a new
    start and end; the earlier decision is cleared so the proposal asks again. The audit entry
    keeps what it was before. Raises :class:`StaleState` when the window has moved on."""
    stays = expected is WindowState.PROPOSED  # a proposal re-planned in place
    if not stays and (expected, WindowState.PROPOSED) not in _LEGAL_MOVES:
        raise IllegalTransition(window_id, expected.value, "sent back for approval")
    with write_transaction(db):
        before = _require(db, window_id)
        cursor = db.execute(
            "UPDATE windows SET state = ?, revision = revision + 1, reason = ?, "
            "decided_by = NULL, decided_at = NULL, plan = COALESCE(?, plan), "
            "start_at = COALESCE(?, start_at), end_at = COALESCE(?, end_at) "
            "WHERE id = ? AND state = ?",
            [
                WindowState.PROPOSED.value,
                reason,
                to_db_json(plan) if plan is not None else None,
                to_db_time(start) if start is not None else None,
                to_db_time(end) if end is not None else None,
                window_id,
                expected.value,
            ],
        )
        if cursor.rowcount != 1:
            raise StaleState(before, expected, latest_ack(db, window_id))
        detail: dict[str, Any] = {"reason": reason}
        if start is not None or end is not None:
            detail["was"] = {"start": to_db_time(before.start), "end": to_db_time(before.end)}
        if plan is not None:
            steps = before.plan.get("plan", {}).get("steps", [])
            detail["plan_was"] = [step.get("to_label") for step in steps]
        insert_audit(
            db,
            actor=actor,
            action=action,
            at=at,
            window_id=window_id,
            slack_action=slack_action,
            before_state=expected.value,
            after_state=WindowState.PROPOSED.value,
            detail=detail,
        )
        return _require(db, window_id)
