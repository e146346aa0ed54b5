"""Real second processes on a real file: racing clicks and a crash inside a transaction."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import (
    get_window,
    list_acks,
    list_audit,
    list_windows,
    open_database,
    verify_audit_chain,
)
from tests.storage.conftest import MakeWindow, new_window

ROOT = Path(__file__).resolve().parents[2]


def start_worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.storage._worker", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def read_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return process.stdout.readline().strip()


def test_processes_racing_to_approve_record_one_ack_and_one_audit_row(
    db: Database, db_path: Path, make_window: MakeWindow
) -> None:
    window = make_window()
    racers = [start_worker("race", str(db_path), f"U0RACER{i}") for i in range(6)]
    assert [read_line(p) for p in racers] == ["ready"] * len(racers)
    for process in racers:  # release them as close together as we can
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outcomes = [read_line(p) for p in racers]
    for process in racers:
        assert process.wait(timeout=30) == 0

    winners = [f"U0RACER{i}" for i, outcome in enumerate(outcomes) if outcome == "won"]
    assert len(winners) == 1
    assert sorted(outcomes) == sorted(["won"] + [f"stale {winners[0]}"] * (len(racers) - 1))
    stored = get_window(db, window.id)
    assert stored is not None
    assert (stored.state.value, stored.decided_by, stored.revision) == ("approved", winners[0], 1)
    assert [a.user for a in list_acks(db, window.id)] == winners
    assert [e.action for e in list_audit(db, window.id)] == ["proposed", "approved"]
    assert verify_audit_chain(db).ok


@pytest.mark.parametrize(
    "stop",
    [
        "INSERT INTO audit_log",  # the window row is written, its audit entry is not
        "COMMIT",  # every row is written, nothing is committed
    ],
)
def test_a_kill_inside_the_transaction_leaves_nothing_behind(
    db: Database, db_path: Path, stop: str
) -> None:
    worker = start_worker("crash", str(db_path), stop)
    assert read_line(worker) == "inside"
    worker.kill()  # SIGKILL: no cleanup, no rollback by the process
    assert worker.wait(timeout=30) == -9

    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert raw.execute("SELECT count(*) FROM windows").fetchone()[0] == 0
    assert raw.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 0
    raw.close()

    db.close()
    reopened = open_database(db_path)
    assert list_windows(reopened) == []
    assert verify_audit_chain(reopened).ok
    assert new_window(reopened).id == 1  # the id of the lost proposal is free again
    assert verify_audit_chain(reopened).entries == 1
    reopened.close()


def test_a_kill_after_commit_keeps_everything(db: Database, db_path: Path) -> None:
    worker = start_worker("crash", str(db_path), "after")
    assert read_line(worker) == "committed"
    worker.kill()
    assert worker.wait(timeout=30) == -9

    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()
    db.close()
    reopened = open_database(db_path)
    [window] = list_windows(reopened)
    assert window.proposer == "U0CRASH"
    assert [e.action for e in list_audit(reopened, window.id)] == ["proposed"]
    assert verify_audit_chain(reopened).ok
    reopened.close()


def test_a_writer_waits_for_a_transaction_held_by_another_process(
    db: Database, db_path: Path
) -> None:
    worker = start_worker("crash", str(db_path), "COMMIT")
    assert read_line(worker) == "inside"  # it holds the write lock now
    impatient = sqlite3.connect(db_path, timeout=0.1)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        impatient.execute("BEGIN IMMEDIATE")
    impatient.close()
    assert list_windows(db) == []  # readers are not blocked in WAL mode

    # The holder dies half a second from now; our write waits (busy_timeout) instead of failing.
    killer = threading.Timer(0.5, worker.kill)
    killer.start()
    started = time.monotonic()
    try:
        window = new_window(db)
    finally:
        killer.join()
        worker.wait(timeout=30)
    assert time.monotonic() - started >= 0.4
    assert window.id == 1
    assert [w.proposer for w in list_windows(db)] == ["U0PROPOSER"]
    assert verify_audit_chain(db).ok
