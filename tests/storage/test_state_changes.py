"""list_state_changes: the moves of every window, and nothing else the audit log holds."""

from __future__ import annotations

from datetime import timedelta

from sqlite_utils import Database

from bot.domain.models import GateId, WindowState
from storage import StateChange, append_audit, list_state_changes, record_ack, transition
from tests.storage.conftest import T0, MakeWindow


def test_only_moves_are_listed_in_order_with_their_times(
    db: Database, make_window: MakeWindow
) -> None:
    window = make_window()
    later = T0 + timedelta(hours=1)
    transition(
        db,
        window.id,
        expected=WindowState.PROPOSED,
        to=WindowState.APPROVED,
        actor="U0ANNA",
        action="approve",
        at=later,
        gate=GateId.G1,
    )
    record_ack(db, window_id=window.id, gate=GateId.G2, user="U0OLGA", decision="confirm", at=later)
    append_audit(db, actor="upgradebot", action="progress", window_id=window.id, at=later)
    append_audit(db, actor="host:root", action="package_accepted", at=later)
    assert list_state_changes(db) == [
        StateChange(window.id, later, WindowState.PROPOSED.value, WindowState.APPROVED.value)
    ]
