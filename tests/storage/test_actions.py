"""Scheduled actions: one row per timed step, claimed by exactly one runner."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.domain.errors import UnknownWindow
from storage import (
    ActionStatus,
    cancel_actions,
    claim_action,
    finish_action,
    get_action,
    list_actions,
    open_database,
    pending_actions,
    schedule_action,
)
from tests.storage.conftest import T0, MakeWindow

PRECHECK_AT = T0 - timedelta(hours=24)
REMINDER_AT = T0 - timedelta(hours=2)


def test_scheduling_the_same_action_twice_returns_the_first_row(
    db: Database, make_window: MakeWindow
) -> None:
    window = make_window()
    first = schedule_action(db, window_id=window.id, kind="precheck", due_at=PRECHECK_AT, at=T0)
    again = schedule_action(
        db, window_id=window.id, kind="precheck", due_at=PRECHECK_AT, at=T0 + timedelta(hours=1)
    )
    assert again == first
    assert (first.status, first.due_at, first.created_at) == (ActionStatus.PENDING, PRECHECK_AT, T0)
    other = schedule_action(db, window_id=window.id, kind="reminder", due_at=REMINDER_AT, at=T0)
    assert other.id != first.id
    assert [a.kind for a in pending_actions(db)] == ["precheck", "reminder"]


def test_an_action_for_an_unknown_window_is_refused(db: Database) -> None:
    with pytest.raises(UnknownWindow):
        schedule_action(db, window_id=5, kind="precheck", due_at=PRECHECK_AT, at=T0)


def test_an_action_is_claimed_once_then_finished(db: Database, make_window: MakeWindow) -> None:
    window = make_window()
    action = schedule_action(db, window_id=window.id, kind="precheck", due_at=PRECHECK_AT, at=T0)
    assert finish_action(db, action.id, at=T0, outcome="ok") is False  # not running yet
    assert claim_action(db, action.id, at=PRECHECK_AT) is True
    assert claim_action(db, action.id, at=PRECHECK_AT) is False
    assert pending_actions(db) == []
    assert finish_action(db, action.id, at=PRECHECK_AT + timedelta(minutes=3), outcome="green")
    done = get_action(db, action.id)
    assert done is not None
    assert (done.status, done.started_at, done.finished_at, done.outcome) == (
        ActionStatus.DONE,
        PRECHECK_AT,
        PRECHECK_AT + timedelta(minutes=3),
        "green",
    )
    assert finish_action(db, action.id, at=T0, outcome="again") is False


def test_cancelling_stops_pending_actions_and_leaves_running_ones(
    db: Database, make_window: MakeWindow
) -> None:
    window = make_window()
    other = make_window(start=T0 + timedelta(days=2), end=T0 + timedelta(days=2, hours=1))
    running = schedule_action(db, window_id=window.id, kind="precheck", due_at=PRECHECK_AT, at=T0)
    pending = schedule_action(db, window_id=window.id, kind="reminder", due_at=REMINDER_AT, at=T0)
    untouched = schedule_action(db, window_id=other.id, kind="reminder", due_at=T0, at=T0)
    claim_action(db, running.id, at=PRECHECK_AT)

    assert cancel_actions(db, window.id, at=T0) == 1
    assert claim_action(db, pending.id, at=REMINDER_AT) is False
    statuses = {a.id: a.status for a in list_actions(db)}
    assert statuses == {
        running.id: ActionStatus.RUNNING,
        pending.id: ActionStatus.CANCELLED,
        untouched.id: ActionStatus.PENDING,
    }
    assert [a.id for a in list_actions(db, window_id=window.id)] == [running.id, pending.id]
    assert list_actions(db, statuses=[]) == []


def test_racing_runners_claim_an_action_exactly_once(
    db_path: Path, make_window: MakeWindow, db: Database
) -> None:
    window = make_window()
    action = schedule_action(db, window_id=window.id, kind="go_prompt", due_at=T0, at=T0)
    runners = 8
    barrier = threading.Barrier(runners)
    claims: list[bool] = []
    lock = threading.Lock()

    def run() -> None:
        own = open_database(db_path)
        barrier.wait()
        claimed = claim_action(own, action.id, at=T0)
        own.close()
        with lock:
            claims.append(claimed)

    threads = [threading.Thread(target=run) for _ in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims) == [False] * (runners - 1) + [True]


def test_revive_makes_a_cancelled_action_pending_again_and_nothing_else(
    db: Database, make_window: MakeWindow
) -> None:
    window = make_window()
    first = schedule_action(db, window_id=window.id, kind="start", due_at=T0, at=T0)
    cancel_actions(db, window.id, at=T0)
    plain = schedule_action(db, window_id=window.id, kind="start", due_at=T0, at=T0)
    assert (plain.id, plain.status) == (first.id, ActionStatus.CANCELLED)
    revived = schedule_action(db, window_id=window.id, kind="start", due_at=T0, at=T0, revive=True)
    assert (revived.id, revived.status) == (first.id, ActionStatus.PENDING)
    assert claim_action(db, first.id, at=T0)
    finish_action(db, first.id, at=T0, outcome="ran")
    again = schedule_action(db, window_id=window.id, kind="start", due_at=T0, at=T0, revive=True)
    assert again.status is ActionStatus.DONE  # what ran stays run
