"""The audit log: append-only by trigger, tamper-evident by hash chain."""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.domain.models import GateId, WindowState
from storage import (
    append_audit,
    list_audit,
    open_database,
    record_ack,
    transition,
    verify_audit_chain,
)
from storage.audit import entry_hash
from storage.db import to_db_time
from tests.storage.conftest import T0, MakeWindow


@pytest.fixture
def five_entries(db: Database, make_window: MakeWindow) -> Database:
    window = make_window()
    transition(
        db,
        window.id,
        expected=WindowState.PROPOSED,
        to=WindowState.APPROVED,
        actor="U0BOSS",
        action="approved",
        at=T0,
        gate=GateId.G1,
        decision="approve",
    )
    record_ack(db, window_id=window.id, gate=GateId.G2, user="U0OLGA", decision="tick", at=T0)
    append_audit(db, actor="upgradebot", action="started", at=T0, detail={"version": "0.1.0"})
    append_audit(db, actor="U0OLGA", action="exported", at=T0, window_id=window.id)
    return db


def tamper(db_path: Path, *statements: str) -> None:
    """What someone with the file and the sqlite3 shell could do."""
    raw = sqlite3.connect(db_path)
    raw.execute("DROP TRIGGER audit_log_no_update")
    raw.execute("DROP TRIGGER audit_log_no_delete")
    for statement in statements:
        raw.execute(statement)
    raw.commit()
    raw.close()


def test_an_untouched_chain_verifies(five_entries: Database) -> None:
    report = verify_audit_chain(five_entries)
    assert (report.ok, report.entries, report.first_bad_id) == (True, 5, None)
    entries = list_audit(five_entries)
    assert entries[0].prev_hash == ""
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert [e.window_id for e in entries][2:4] == [1, None]


def test_an_empty_log_verifies(db: Database) -> None:
    assert verify_audit_chain(db).model_dump() == {"ok": True, "entries": 0, "first_bad_id": None}


def test_the_hash_is_sha256_of_the_documented_canonical_json(five_entries: Database) -> None:
    entry = list_audit(five_entries)[1]
    fields = {
        "id": entry.id,
        "at": "2026-12-02T22:00:00.000000+00:00",
        "actor": entry.actor,
        "action": entry.action,
        "window_id": entry.window_id,
        "slack_action": entry.slack_action,
        "before_state": entry.before_state,
        "after_state": entry.after_state,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert entry.hash == hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET actor = 'mallory' WHERE id = 2", "DELETE FROM audit_log WHERE id = 2"],
)
def test_the_triggers_refuse_to_change_or_remove_audit_rows(
    five_entries: Database, db_path: Path, statement: str
) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        five_entries.execute(statement)
    raw = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute(statement)
    raw.close()
    assert len(list_audit(five_entries)) == 5
    assert verify_audit_chain(five_entries).ok


def test_an_edited_entry_is_reported_as_the_first_bad_one(
    five_entries: Database, db_path: Path
) -> None:
    tamper(db_path, "UPDATE audit_log SET actor = 'mallory' WHERE id = 2")
    assert verify_audit_chain(five_entries).model_dump() == {
        "ok": False,
        "entries": 5,
        "first_bad_id": 2,
    }


def test_a_forged_hash_is_reported_at_its_entry(five_entries: Database, db_path: Path) -> None:
    tamper(db_path, "UPDATE audit_log SET hash = 'forged' WHERE id = 3")
    report = verify_audit_chain(five_entries)
    # Row 3 no longer matches its hash and row 4 no longer points at it; the first is named.
    assert (report.ok, report.first_bad_id) == (False, 3)


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(
    five_entries: Database, db_path: Path
) -> None:
    edited = list_audit(five_entries)[1].model_dump()
    edited.update(actor="mallory", at=to_db_time(edited["at"]))
    forged = entry_hash(edited, edited["prev_hash"])
    tamper(db_path, f"UPDATE audit_log SET actor = 'mallory', hash = '{forged}' WHERE id = 2")
    report = verify_audit_chain(five_entries)
    assert (report.ok, report.first_bad_id) == (False, 3)


def test_a_removed_entry_breaks_the_chain_at_the_next_one(
    five_entries: Database, db_path: Path
) -> None:
    tamper(db_path, "DELETE FROM audit_log WHERE id = 3")
    report = verify_audit_chain(five_entries)
    assert (report.ok, report.entries, report.first_bad_id) == (False, 4, 4)


def test_entries_cut_off_the_end_are_noticed(five_entries: Database, db_path: Path) -> None:
    tamper(db_path, "DELETE FROM audit_log WHERE id >= 4")
    report = verify_audit_chain(five_entries)
    assert (report.ok, report.entries, report.first_bad_id) == (False, 3, 4)


def test_reopening_puts_dropped_triggers_back(five_entries: Database, db_path: Path) -> None:
    tamper(db_path)
    five_entries.close()
    reopened = open_database(db_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        reopened.execute("DELETE FROM audit_log")
    assert verify_audit_chain(reopened).ok
    reopened.close()


def test_detail_must_be_json(db: Database) -> None:
    with pytest.raises(TypeError, match="cannot be stored as JSON"):
        append_audit(db, actor="U0X", action="odd", at=T0, detail={"thing": object()})
    assert list_audit(db) == []
