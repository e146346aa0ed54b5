"""Acknowledgements that do not move the window: checklist ticks and waivers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlite_utils import Database

from bot.domain.errors import UnknownWindow
from bot.domain.models import GateId
from storage import get_window, list_acks, list_audit, record_ack, verify_audit_chain
from tests.storage.conftest import T0, MakeWindow


def test_record_ack_stores_and_audits_without_moving_the_window(
    db: Database, make_window: MakeWindow
) -> None:
    window = make_window()
    ack = record_ack(
        db,
        window_id=window.id,
        gate=GateId.G2,
        user="U0OLGA",
        decision="waive",
        at=T0,
        digest="backup_planned",
        reason="snapshot taken by the hoster",
        slack_action="g2-waive",
    )
    assert list_acks(db, window.id) == [ack]
    assert ack.at == T0
    assert get_window(db, window.id) == window  # same state, same revision
    entry = list_audit(db, window.id)[-1]
    assert (entry.action, entry.actor, entry.before_state, entry.after_state) == (
        "acknowledged",
        "U0OLGA",
        "proposed",
        "proposed",
    )
    assert entry.detail["ack"]["reason"] == "snapshot taken by the hoster"
    assert verify_audit_chain(db).ok


def test_a_double_click_on_the_same_item_is_one_acknowledgement(
    db: Database, make_window: MakeWindow
) -> None:
    window = make_window()
    first = record_ack(
        db, window_id=window.id, gate=GateId.G2, user="U0OLGA", decision="tick", at=T0, digest="a"
    )
    again = record_ack(
        db,
        window_id=window.id,
        gate=GateId.G2,
        user="U0OLGA",
        decision="tick",
        at=T0 + timedelta(seconds=1),
        digest="a",
    )
    assert again == first
    assert len(list_acks(db, window.id)) == 1
    assert [e.action for e in list_audit(db, window.id)] == ["proposed", "acknowledged"]


def test_changed_decisions_and_other_people_are_all_recorded(
    db: Database, make_window: MakeWindow
) -> None:
    window = make_window()
    for user, decision in [("U0OLGA", "tick"), ("U0OLGA", "untick"), ("U0OLGA", "tick")]:
        record_ack(db, window_id=window.id, gate=GateId.G2, user=user, decision=decision, at=T0)
    record_ack(db, window_id=window.id, gate=GateId.G2, user="U0ALEX", decision="tick", at=T0)
    assert [(a.user, a.decision) for a in list_acks(db, window.id)] == [
        ("U0OLGA", "tick"),
        ("U0OLGA", "untick"),
        ("U0OLGA", "tick"),
        ("U0ALEX", "tick"),
    ]


def test_an_ack_on_an_unknown_window_is_refused(db: Database) -> None:
    with pytest.raises(UnknownWindow):
        record_ack(db, window_id=3, gate=GateId.G2, user="U0OLGA", decision="tick", at=T0)
    assert list_audit(db) == []
