"""A database that cannot be written is said in one sentence (issue 15, D14, D16)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.domain.errors import UnusableDatabase
from storage import open_database
from storage.health import open_usable, path_problem, storage_failure, write_problem


def test_a_writable_database_on_a_disk_with_room_has_no_problem(tmp_path: Path) -> None:
    db = open_database(tmp_path / "bot.db")
    try:
        assert write_problem(db) is None
    finally:
        db.close()


def test_a_disk_without_room_is_named_with_what_to_do(tmp_path: Path) -> None:
    problem = path_problem(tmp_path / "bot.db", min_free_bytes=10**18)
    assert problem is not None
    assert problem.startswith("The disk holding") and problem.endswith("free some space.")


def test_a_write_refused_by_a_read_only_database_gets_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    open_database(path).close()
    readonly = Database(sqlite3.connect(f"file:{path}?mode=ro", uri=True))
    with pytest.raises(sqlite3.OperationalError) as raised:
        readonly.execute("CREATE TABLE t (x)")
    readonly.close()
    sentence = storage_failure(raised.value)
    assert sentence == (
        "The bot's database is read-only right now, so this was not saved; "
        "tell whoever runs the bot."
    )


def test_other_errors_are_not_storage_failures() -> None:
    assert storage_failure(ValueError("x")) is None
    assert storage_failure(sqlite3.OperationalError("no such table: t")) is None
    full = storage_failure(sqlite3.OperationalError("database or disk is full"))
    assert full is not None and "full" in full


def test_a_usable_database_opens_migrated_and_a_disk_below_the_margin_is_refused_first(
    tmp_path: Path,
) -> None:
    """The start-up check: below ``min_free_bytes`` nothing is opened (or created) at all."""
    path = tmp_path / "state" / "bot.db"
    db = open_usable(path)
    try:
        assert write_problem(db) is None and "windows" in db.table_names()
    finally:
        db.close()
    with pytest.raises(UnusableDatabase) as refused:
        open_usable(tmp_path / "other.db", min_free_bytes=10**18)
    assert refused.value.message.startswith(f"The disk holding {tmp_path / 'other.db'} is full")
    assert not (tmp_path / "other.db").exists()
    reader = open_usable(path, writes=False, min_free_bytes=10**18)  # a reader needs no margin
    reader.close()
    memory = open_usable(Path(":memory:"))
    memory.close()


def test_a_damaged_database_is_named_with_the_backup_to_restore(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    open_database(path).close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the first page's b-tree, after the header
    path.write_bytes(bytes(data))
    with pytest.raises(UnusableDatabase) as refused:
        open_usable(path)
    assert refused.value.message == (
        f"The database {path} is damaged (SQLite says: database disk image is malformed); "
        "restore it from the latest backup, or set UPGRADEBOT_DB to a new file name to start "
        "an empty one."
    )
