"""Writes that wait for SQLite's lock off the event loop (issue 15, item 5), against a real
second process holding the lock on a real file."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import (
    LOOP_WRITES,
    WriteBusy,
    claim_request,
    list_windows,
    write_async,
    write_now,
)
from storage.db import last_write_failure, serve_from
from storage.health import storage_failure, write_problem
from tests.fakes.lock_holder import LockHolder
from tests.storage.conftest import T0, new_window


async def test_a_write_waits_for_a_held_lock_while_the_loop_goes_on(
    db: Database, db_path: Path
) -> None:
    async with LockHolder(db_path) as holder:
        assert await holder.send("hold") == "held"
        write = asyncio.ensure_future(write_async(db, claim_request, "slack:one", T0))
        ticks = 0
        # The loop is free while the write waits: other coroutines run, many times over.
        while ticks < 20:
            await asyncio.sleep(0)
            ticks += 1
            assert not write.done(), "the write cannot land while another process holds the lock"
        # Reads do not wait for a writer either (WAL).
        assert list_windows(db) == []
        assert await holder.send("free") == "free"
        assert await write is True
    assert claim_request(db, "slack:one", T0) is False, "the claim was stored"


async def test_write_now_refuses_at_once_and_changes_nothing_while_the_lock_is_held(
    db: Database, db_path: Path
) -> None:
    async with LockHolder(db_path) as holder:
        await holder.send("hold")
        with pytest.raises(WriteBusy):
            write_now(db, claim_request, "slack:two", T0)
        await holder.send("free")
    assert write_now(db, claim_request, "slack:two", T0) is True


async def test_a_unit_is_one_transaction_and_a_failed_one_leaves_nothing(db: Database) -> None:
    def two_windows(database: Database) -> None:
        new_window(database, system="lab")
        new_window(database, system="prod")

    db.execute("PRAGMA query_only = ON")  # the file as a read-only mount would leave it
    with pytest.raises(sqlite3.OperationalError) as refused:
        await write_async(db, two_windows)
    assert list_windows(db) == []
    said = storage_failure(refused.value)
    assert said is not None and "read-only" in said and "not saved" in said
    assert last_write_failure(db) is not None
    problem = write_problem(db)
    assert problem is not None and "last write" in problem

    db.execute("PRAGMA query_only = OFF")
    await write_async(db, two_windows)
    assert sorted(w.system for w in list_windows(db)) == ["lab", "prod"]
    assert last_write_failure(db) is None and write_problem(db) is None


async def test_a_full_database_is_refused_whole_and_said_in_a_sentence(db: Database) -> None:
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")

    def many(database: Database) -> None:
        for number in range(200):
            claim_request(database, f"slack:{number}:" + "x" * 500, T0)

    with pytest.raises(sqlite3.OperationalError) as full:
        await write_async(db, many)
    said = storage_failure(full.value)
    assert said is not None and "full" in said
    assert claim_request(db, "slack:0:" + "x" * 500, T0) is True, "nothing of the unit stayed"


async def test_a_synchronous_write_on_the_loop_of_a_serving_database_is_counted(
    db: Database, db_path: Path
) -> None:
    before = LOOP_WRITES.count
    claim_request(db, "slack:not-serving", T0)  # a tool's own connection: not the bot's
    assert LOOP_WRITES.count == before
    serving = serve_from(Database(str(db_path)))
    claim_request(serving, "slack:serving", T0)
    assert LOOP_WRITES.count == before + 1
    assert "test_write_async.py" in LOOP_WRITES.last
    LOOP_WRITES.count = before  # this test made the one on purpose
    await write_async(serving, claim_request, "slack:properly", T0)
    assert LOOP_WRITES.count == before
    serving.close()
