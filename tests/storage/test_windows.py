"""Windows: round trips, listing, and the compare-and-set that makes one click win."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlite_utils import Database

from bot.domain.errors import IllegalTransition, UnknownWindow
from bot.domain.models import GateId, Window, WindowState
from storage import (
    StaleState,
    finished_windows,
    get_window,
    list_acks,
    list_audit,
    list_windows,
    open_database,
    open_windows,
    reopen_for_approval,
    set_message_ref,
    transition,
    verify_audit_chain,
)
from tests.storage.conftest import T0, MakeWindow

S = WindowState
BRUSSELS = ZoneInfo("Europe/Brussels")


def approve(
    db: Database,
    window_id: int,
    actor: str,
    *,
    slack_action: str | None = None,
    digest: str | None = None,
) -> Window:
    return transition(
        db,
        window_id,
        expected=S.PROPOSED,
        to=S.APPROVED,
        actor=actor,
        action="approved",
        at=T0,
        gate=GateId.G1,
        decision="approve",
        slack_action=slack_action,
        digest=digest,
    )


def test_a_window_round_trips_with_aware_utc_times(db: Database, make_window: MakeWindow) -> None:
    # 29 March 2026: Brussels springs forward at 02:00; 01:30 local is 00:30 UTC.
    start = datetime(2026, 3, 29, 1, 30, tzinfo=BRUSSELS)
    created = make_window(start=start, end=start + timedelta(hours=4), plan={"steps": [1, 2]})
    stored = get_window(db, created.id)
    assert stored == created
    assert stored is not None
    assert stored.start == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert stored.start.utcoffset() == timedelta(0)
    assert stored.created_at.tzinfo is not None
    assert (stored.state, stored.revision, stored.label) == (S.PROPOSED, 0, "#1")
    assert stored.plan == {"steps": [1, 2]}


def test_window_ids_are_small_increasing_integers(make_window: MakeWindow) -> None:
    assert [make_window().id for _ in range(3)] == [1, 2, 3]


def test_get_window_of_an_unknown_id_is_none(db: Database) -> None:
    assert get_window(db, 42) is None


def test_creating_a_window_audits_the_proposal(db: Database, make_window: MakeWindow) -> None:
    window = make_window(slack_action="propose-modal")
    [entry] = list_audit(db, window.id)
    assert (entry.action, entry.actor, entry.before_state, entry.after_state) == (
        "proposed",
        "U0PROPOSER",
        None,
        "proposed",
    )
    assert entry.slack_action == "propose-modal"
    assert entry.detail["target"] == "10.5.0 CU3"


def test_windows_are_listed_by_start_instant_whatever_the_input_offset(
    db: Database, make_window: MakeWindow
) -> None:
    later_utc = make_window(start=T0, end=T0 + timedelta(hours=1))
    # 22:30 in Brussels (+01:00) is 21:30 UTC: earlier, although "22:30" > "22:00" as text.
    brussels = datetime(2026, 12, 2, 22, 30, tzinfo=BRUSSELS)
    earlier_local = make_window(start=brussels, end=brussels + timedelta(hours=1))
    other_system = make_window(system="prod", start=T0 - timedelta(days=1), end=T0)
    assert [w.id for w in list_windows(db)] == [other_system.id, earlier_local.id, later_utc.id]
    assert [w.id for w in list_windows(db, system="lab")] == [earlier_local.id, later_utc.id]
    assert list_windows(db, states=[]) == []


def test_open_and_finished_windows_split_on_terminal_states(
    db: Database, make_window: MakeWindow
) -> None:
    kept = make_window()
    rejected = make_window(start=T0 + timedelta(days=1), end=T0 + timedelta(days=1, hours=2))
    transition(
        db,
        rejected.id,
        expected=S.PROPOSED,
        to=S.REJECTED,
        actor="U0BOSS",
        action="rejected",
        at=T0,
        gate=GateId.G1,
        decision="reject",
        reason="freeze",
    )
    assert [w.id for w in open_windows(db)] == [kept.id]
    assert [w.id for w in finished_windows(db)] == [rejected.id]
    assert [w.id for w in list_windows(db, states=[S.REJECTED])] == [rejected.id]
    assert open_windows(db, system="prod") == []
    [stored] = finished_windows(db)
    assert (stored.reason, stored.decided_by, stored.decided_at) == ("freeze", "U0BOSS", T0)


def test_set_message_ref_remembers_the_post_and_audits_it(
    db: Database, make_window: MakeWindow
) -> None:
    window = make_window()
    updated = set_message_ref(db, window.id, channel="C0OPS", ts="1764712800.000100", at=T0)
    assert (updated.channel, updated.message_ts, updated.revision) == (
        "C0OPS",
        "1764712800.000100",
        1,
    )
    entry = list_audit(db, window.id)[-1]
    assert (entry.action, entry.detail) == (
        "posted",
        {"channel": "C0OPS", "ts": "1764712800.000100"},
    )
    with pytest.raises(UnknownWindow):
        set_message_ref(db, 99, channel="C0OPS", ts="1.2", at=T0)


def test_without_at_the_post_is_dated_by_slacks_ts(db: Database, make_window: MakeWindow) -> None:
    window = make_window()
    set_message_ref(db, window.id, channel="C0OPS", ts="1796335200.000100")
    entry = list_audit(db, window.id)[-1]
    assert entry.at == datetime(2026, 12, 3, 22, 0, 0, 100, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a Slack timestamp"):
        set_message_ref(db, window.id, channel="C0OPS", ts="not-a-ts")
    assert len(list_audit(db, window.id)) == 2


def test_a_transition_stores_state_ack_and_audit_together(
    db: Database, make_window: MakeWindow
) -> None:
    window = make_window()
    moved = approve(db, window.id, "U0BOSS", slack_action="approve-btn", digest="sha256:plan")
    assert (moved.state, moved.revision, moved.decided_by, moved.decided_at) == (
        S.APPROVED,
        1,
        "U0BOSS",
        T0,
    )
    [ack] = list_acks(db, window.id)
    assert (ack.gate, ack.user, ack.decision, ack.digest, ack.slack_action) == (
        GateId.G1,
        "U0BOSS",
        "approve",
        "sha256:plan",
        "approve-btn",
    )
    entry = list_audit(db, window.id)[-1]
    assert (entry.action, entry.before_state, entry.after_state, entry.slack_action) == (
        "approved",
        "proposed",
        "approved",
        "approve-btn",
    )
    assert entry.detail["ack"]["id"] == ack.id
    assert verify_audit_chain(db).ok


def test_the_second_of_two_clicks_gets_stale_state_carrying_the_winner(
    db: Database, make_window: MakeWindow
) -> None:
    window = make_window()
    approve(db, window.id, "U0FIRST")
    with pytest.raises(StaleState) as caught:
        approve(db, window.id, "U0SECOND")
    assert caught.value.window.state is S.APPROVED
    assert caught.value.window.decided_by == "U0FIRST"
    assert caught.value.latest_ack is not None
    assert caught.value.latest_ack.user == "U0FIRST"
    assert "already approved by U0FIRST" in str(caught.value)
    assert [a.user for a in list_acks(db, window.id)] == ["U0FIRST"]
    assert [e.action for e in list_audit(db, window.id)] == ["proposed", "approved"]


def test_later_gates_do_not_overwrite_the_g1_decider(db: Database, make_window: MakeWindow) -> None:
    window = make_window()
    approve(db, window.id, "U0BOSS")
    moved = transition(
        db,
        window.id,
        expected=S.APPROVED,
        to=S.PLANNED,
        actor="U0OLGA",
        action="details established",
        at=T0 + timedelta(hours=1),
        gate=GateId.G2,
    )
    assert (moved.decided_by, moved.decided_at, moved.revision) == ("U0BOSS", T0, 2)
    assert list_acks(db, window.id)[-1].decision == "details established"


def test_a_move_the_gate_table_lacks_is_refused_before_writing(
    db: Database, make_window: MakeWindow
) -> None:
    window = make_window()
    with pytest.raises(IllegalTransition):
        transition(db, window.id, expected=S.PROPOSED, to=S.DONE, actor="U0X", action="done", at=T0)
    assert get_window(db, window.id) == window
    assert len(list_audit(db)) == 1


def test_a_transition_of_an_unknown_window_says_so(db: Database) -> None:
    with pytest.raises(UnknownWindow):
        approve(db, 7, "U0BOSS")
    assert list_audit(db) == []


def test_a_bot_transition_without_gate_records_its_reason_in_the_audit(
    db: Database, make_window: MakeWindow
) -> None:
    window = make_window()
    expired = transition(
        db,
        window.id,
        expected=S.PROPOSED,
        to=S.EXPIRED,
        actor="upgradebot",
        action="expired",
        at=T0,
        reason="G1 still open at start",
        detail={"deadline": T0},
    )
    assert expired.reason == "G1 still open at start"
    assert expired.decided_by is None
    assert list_acks(db, window.id) == []
    assert list_audit(db, window.id)[-1].detail == {
        "deadline": "2026-12-02T22:00:00.000000+00:00",
        "reason": "G1 still open at start",
    }


def test_threads_racing_to_approve_record_exactly_one_decision(
    db_path: Path, make_window: MakeWindow
) -> None:
    window = make_window()
    racers = 8
    barrier = threading.Barrier(racers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def click(actor: str) -> None:
        own = open_database(db_path)
        barrier.wait()
        try:
            approve(own, window.id, actor)
            outcome = "won"
        except StaleState:
            outcome = "stale"
        finally:
            own.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=click, args=(f"U{i}",)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    check = open_database(db_path)
    assert sorted(outcomes) == ["stale"] * (racers - 1) + ["won"]
    assert len(list_acks(check, window.id)) == 1
    assert [e.action for e in list_audit(check, window.id)].count("approved") == 1
    assert verify_audit_chain(check).ok
    check.close()


def test_a_window_sent_back_to_g1_gets_its_new_plan_and_start_with_the_old_in_the_audit(
    db: Database, make_window: MakeWindow
) -> None:
    window = make_window()
    approved = transition(
        db,
        window.id,
        expected=WindowState.PROPOSED,
        to=WindowState.APPROVED,
        actor="U0ANNA",
        action="approve",
        at=T0,
        gate=GateId.G1,
    )
    assert approved.decided_by == "U0ANNA"
    later = T0 + timedelta(days=1)
    back = reopen_for_approval(
        db,
        window.id,
        expected=WindowState.APPROVED,
        actor="U0OLGA",
        action="postpone",
        at=T0,
        reason="vendor delay",
        plan={"steps": ["10.6.0.0-16000"]},
        start=later,
        end=later + timedelta(hours=4),
    )
    assert back.state is WindowState.PROPOSED
    assert (back.decided_by, back.decided_at, back.reason) == (None, None, "vendor delay")
    assert (back.start, back.plan) == (later, {"steps": ["10.6.0.0-16000"]})
    assert back.revision > approved.revision
    entry = list_audit(db, window_id=window.id)[-1]
    assert (entry.action, entry.before_state, entry.after_state) == (
        "postpone",
        "approved",
        "proposed",
    )
    assert entry.detail["was"]["start"].startswith("2026-12-02")
    assert verify_audit_chain(db).ok
    with pytest.raises(StaleState):  # a second click on the same stale state
        reopen_for_approval(
            db,
            window.id,
            expected=WindowState.APPROVED,
            actor="x",
            action="postpone",
            at=T0,
            reason="again",
        )
    proposal = reopen_for_approval(  # a proposal is re-planned in place
        db,
        window.id,
        expected=WindowState.PROPOSED,
        actor="x",
        action="postpone",
        at=T0,
        reason="moved",
        start=later + timedelta(days=1),
        end=later + timedelta(days=1, hours=4),
    )
    assert proposal.state is WindowState.PROPOSED
    with pytest.raises(IllegalTransition):
        reopen_for_approval(
            db,
            window.id,
            expected=WindowState.EXECUTING,
            actor="x",
            action="replan",
            at=T0,
            reason="never",
        )
