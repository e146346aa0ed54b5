"""First sight of a package file is recorded once and never overwritten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlite_utils import Database

from storage import (
    applied_migrations,
    forget_package,
    get_package,
    open_database,
    record_package,
)

T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
NAME = "DataMiner 10.5.0.0(CU18)-15999 Full Upgrade.dmupgrade"
SHA = "ab" * 32


def test_the_migration_is_registered_and_applied(db: Database) -> None:
    assert "0002_package_files" in applied_migrations(db)
    assert "package_files" in db.table_names()


def test_a_first_sight_is_recorded_and_read_back(db: Database) -> None:
    record = record_package(db, name=NAME, size=1234, sha256=SHA, at=T0)
    assert (record.name, record.size, record.sha256, record.first_seen) == (NAME, 1234, SHA, T0)
    assert get_package(db, NAME) == record


def test_a_later_sight_returns_the_first_record_unchanged(db: Database) -> None:
    first = record_package(db, name=NAME, size=1234, sha256=SHA, at=T0)
    again = record_package(db, name=NAME, size=999, sha256="cd" * 32, at=T0 + timedelta(days=3))
    assert again == first
    assert get_package(db, NAME) == first


def test_an_unknown_package_has_no_record(db: Database) -> None:
    assert get_package(db, "nothing.dmupgrade") is None


def test_records_survive_reopening_the_database(db_path: Path) -> None:
    first = open_database(db_path)
    record_package(first, name=NAME, size=1, sha256=SHA.upper(), at=T0)
    first.close()
    reopened = open_database(db_path)
    stored = get_package(reopened, NAME)
    reopened.close()
    assert stored is not None and stored.sha256 == SHA  # kept in lower case


def test_forgetting_lets_a_replaced_file_be_recorded_afresh(db: Database) -> None:
    record_package(db, name=NAME, size=1, sha256=SHA, at=T0)
    assert forget_package(db, NAME) is True
    assert forget_package(db, NAME) is False
    later = T0 + timedelta(days=1)
    assert record_package(db, name=NAME, size=2, sha256="cd" * 32, at=later).first_seen == later


@pytest.mark.parametrize(
    ("size", "sha256", "at"),
    [
        (-1, SHA, T0),
        (1, "not-a-digest", T0),
        (1, SHA, datetime(2026, 11, 20, 9, 30)),
    ],
)
def test_bad_values_are_refused_and_nothing_is_written(
    db: Database, size: int, sha256: str, at: datetime
) -> None:
    with pytest.raises((ValidationError, ValueError)):
        record_package(db, name=NAME, size=size, sha256=sha256, at=at)
    assert get_package(db, NAME) is None
