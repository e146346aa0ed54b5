"""Opening the database: pragmas, migrations, transactions, stored times."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import (
    UnknownMigrations,
    applied_migrations,
    list_audit,
    list_windows,
    open_database,
    pending_actions,
    schedule_action,
    write_transaction,
)
from storage import migrations as migrations_module
from storage.migrations import MIGRATIONS, apply_migrations
from tests.storage.conftest import T0, MakeWindow, new_window

EXPECTED_TABLES = {
    "migrations",
    "windows",
    "acknowledgements",
    "audit_log",
    "slack_requests",
    "scheduled_actions",
}


def test_migrations_run_once_and_reopening_applies_nothing(db_path: Path) -> None:
    first = open_database(db_path)
    assert set(first.table_names()) >= EXPECTED_TABLES
    assert applied_migrations(first) == [name for name, _ in MIGRATIONS]
    first.close()

    second = open_database(db_path)
    assert apply_migrations(second) == []
    rows = list(second.query("SELECT name, applied_at FROM migrations"))
    assert [row["name"] for row in rows] == [name for name, _ in MIGRATIONS]
    assert all(row["applied_at"].endswith("Z") for row in rows)
    second.close()


def test_wal_busy_timeout_foreign_keys_and_full_sync_are_on(db: Database) -> None:
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_wal_stays_on_for_a_plain_sqlite3_connection(db: Database, db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


def test_an_in_memory_database_is_migrated_too() -> None:
    memory = open_database(":memory:")
    assert set(memory.table_names()) >= EXPECTED_TABLES
    window = new_window(memory)
    assert window.id == 1
    memory.close()


def test_open_creates_missing_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lib" / "upgradebot.db"
    open_database(path).close()
    assert path.exists()


def test_bots_starting_together_apply_each_migration_once(db_path: Path) -> None:
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            open_database(db_path).close()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check = open_database(db_path)
    assert applied_migrations(check) == [name for name, _ in MIGRATIONS]
    check.close()


def test_a_database_from_a_newer_version_is_refused(db: Database, db_path: Path) -> None:
    db.execute("INSERT INTO migrations (name) VALUES ('9999_from_the_future')")
    db.close()
    with pytest.raises(UnknownMigrations, match="9999_from_the_future"):
        open_database(db_path)


def test_a_failing_migration_leaves_no_trace_and_stays_pending(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(database: Database) -> None:
        database.execute("CREATE TABLE half_done (x TEXT)")
        raise RuntimeError("migration bug")

    monkeypatch.setattr(migrations_module, "MIGRATIONS", [*MIGRATIONS, ("9000_broken", broken)])
    with pytest.raises(RuntimeError, match="migration bug"):
        open_database(db_path)
    raw = Database(db_path)
    assert "half_done" not in raw.table_names()
    assert [row["name"] for row in raw.query("SELECT name FROM migrations")] == [
        name for name, _ in MIGRATIONS
    ]
    raw.close()


def test_a_naive_datetime_is_refused_and_nothing_is_stored(db: Database) -> None:
    with pytest.raises(ValueError, match="aware"):
        new_window(db, start=datetime(2026, 12, 2, 22, 0))
    assert list_windows(db) == []
    assert list_audit(db) == []


def test_write_transaction_groups_calls_and_rolls_back_all_of_them(
    db: Database, make_window: MakeWindow
) -> None:
    with pytest.raises(RuntimeError, match="changed my mind"), write_transaction(db):
        window = make_window()
        schedule_action(db, window_id=window.id, kind="precheck", due_at=T0, at=T0)
        raise RuntimeError("changed my mind")
    assert list_windows(db) == []
    assert pending_actions(db) == []
    assert list_audit(db) == []


def test_write_transaction_commits_grouped_calls_together(
    db: Database, make_window: MakeWindow
) -> None:
    with write_transaction(db):
        window = make_window()
        schedule_action(
            db, window_id=window.id, kind="precheck", due_at=T0 - timedelta(days=1), at=T0
        )
    assert [w.id for w in list_windows(db)] == [window.id]
    assert [a.window_id for a in pending_actions(db)] == [window.id]
