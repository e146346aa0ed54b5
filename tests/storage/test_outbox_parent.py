"""The proposal as an outbox row (issue 15): at channel level, before its thread; thread
messages owed before it is posted are held and get its ts when Slack took it; a database
from before migration 0008 keeps its rows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import get_window, list_audit, open_database, write_transaction
from storage import migrations as migrations_module
from storage.migrations import MIGRATIONS
from storage.outbox import (
    PARENT_KEY,
    mark_delivered,
    parent_row,
    pending_messages,
    queue_message,
    record_parent,
)
from tests.storage.conftest import T0, MakeWindow, new_window


def queue(db: Database, window_id: int, key: str, thread_ts: str | None = None) -> None:
    queue_message(
        db,
        window_id=window_id,
        key=key,
        channel="C0OPS",
        thread_ts=thread_ts,
        text=key,
        blocks=None,
        at=T0,
    )


def test_a_thread_message_owed_before_the_proposal_is_held_then_given_its_ts(
    db: Database, make_window: MakeWindow
) -> None:
    window = make_window()
    queue(db, window.id, PARENT_KEY, thread_ts="ignored: the proposal has no thread")
    queue(db, window.id, "state:cancelled")
    held = [m for m in pending_messages(db) if m.key != PARENT_KEY]
    assert [m.thread_ts for m in held] == [None]
    proposal = parent_row(db, window.id)
    assert proposal is not None and proposal.thread_ts is None and proposal.is_parent

    record_parent(db, proposal, channel="C0OPS", ts="1700000000.000100", at=T0)
    record_parent(db, proposal, channel="C0OPS", ts="1700000000.000100", at=T0)  # a repeat
    assert mark_delivered(db, proposal)
    queue(db, window.id, "reminder:1")

    stored = get_window(db, window.id)
    assert stored is not None and stored.message_ts == "1700000000.000100"
    assert {m.key: m.thread_ts for m in pending_messages(db)} == {
        "state:cancelled": "1700000000.000100",
        "reminder:1": "1700000000.000100",
    }
    assert [e.action for e in list_audit(db, window.id)] == ["proposed", "posted"]


def test_a_windows_proposal_is_owed_before_anything_in_its_thread(
    db: Database, make_window: MakeWindow
) -> None:
    first = make_window()
    second = make_window(start=T0 + timedelta(days=1), end=T0 + timedelta(days=1, hours=2))
    queue(db, first.id, "details", thread_ts="1700000000.000001")
    queue(db, second.id, PARENT_KEY)
    queue(db, first.id, PARENT_KEY)  # an edit of the first proposal, queued last
    order = [(m.window_id, m.key) for m in pending_messages(db)]
    assert order == [(second.id, PARENT_KEY), (first.id, PARENT_KEY), (first.id, "details")]


def test_a_held_row_cannot_be_marked_delivered_without_its_thread(
    db: Database, make_window: MakeWindow
) -> None:
    window = make_window()
    queue(db, window.id, "state:cancelled")
    with pytest.raises(Exception, match="CHECK constraint"), write_transaction(db):
        db.execute("UPDATE outbox SET status = 'delivered' WHERE key = 'state:cancelled'")


def test_a_database_from_before_0008_keeps_its_outbox_and_takes_proposals(
    db_path: Path,
) -> None:
    old = Database(db_path)
    old.execute(migrations_module._CREATE_MIGRATIONS_TABLE)
    names = [name for name, _ in MIGRATIONS]
    for name, fn in MIGRATIONS[: names.index("0007_outbox") + 1]:
        with write_transaction(old):
            fn(old)
            old.execute("INSERT INTO migrations (name) VALUES (?)", [name])
    window = new_window(old)
    queue(old, window.id, "details", thread_ts="1700000000.000001")
    with pytest.raises(Exception, match="NOT NULL"):
        queue(old, window.id, PARENT_KEY)
    old.close()

    db = open_database(db_path)
    (kept,) = pending_messages(db)
    assert (kept.key, kept.thread_ts, kept.text) == ("details", "1700000000.000001", "details")
    queue(db, window.id, PARENT_KEY)
    assert [m.key for m in pending_messages(db)] == [PARENT_KEY, "details"]
    db.close()
