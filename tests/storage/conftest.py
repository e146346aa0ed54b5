"""Fixtures for storage tests: real SQLite files under tmp_path, fixed aware times."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from bot.domain.models import Window
from storage import create_window, open_database

T0 = datetime(2026, 12, 2, 22, 0, tzinfo=UTC)

MakeWindow = Callable[..., Window]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "upgradebot.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = open_database(db_path)
    yield database
    database.close()


def new_window(database: Database, **overrides: Any) -> Window:
    values: dict[str, Any] = {
        "system": "lab",
        "target": "10.5.0 CU3",
        "start": T0,
        "end": T0 + timedelta(hours=4),
        "proposer": "U0PROPOSER",
        "created_at": T0 - timedelta(days=3),
        "plan": {"steps": ["10.5.0.0-15230"]},
        "channel": "C0OPS",
    }
    values.update(overrides)
    return create_window(database, **values)


@pytest.fixture
def make_window(db: Database) -> MakeWindow:
    def make(**overrides: Any) -> Window:
        return new_window(db, **overrides)

    return make
