"""A second process for the concurrency tests: ``python -m tests.storage._worker MODE DB ...``.

race DB ACTOR      open DB, print "ready", wait for a line on stdin, then try to approve
                   window 1; print "won" or "stale <winner>".
crash DB STOP      open DB and create a window; when SQLite starts the statement that begins
                   with STOP, print "inside" and hang (the parent SIGKILLs us there).
                   STOP "after" hangs once create_window has returned (committed).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from bot.domain.models import GateId, WindowState
from storage import StaleState, create_window, open_database, transition

T0 = datetime(2026, 12, 2, 22, 0, tzinfo=UTC)


def _hang(message: str) -> None:
    """Say where we are and block until the parent kills us (or closes our stdin)."""
    print(message, flush=True)
    sys.stdin.readline()


def race(path: str, actor: str) -> None:
    db = open_database(path)
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        transition(
            db,
            1,
            expected=WindowState.PROPOSED,
            to=WindowState.APPROVED,
            actor=actor,
            action="approved",
            at=T0,
            gate=GateId.G1,
            decision="approve",
            slack_action=f"approve-{actor}",
        )
    except StaleState as stale:
        print(f"stale {stale.window.decided_by}", flush=True)
    else:
        print("won", flush=True)


def crash(path: str, stop: str) -> None:
    db = open_database(path)

    def trace(statement: str) -> None:
        if statement.lstrip().upper().startswith(stop.upper()):
            _hang("inside")

    if stop != "after":
        db.conn.set_trace_callback(trace)
    create_window(
        db,
        system="lab",
        target="10.5",
        start=T0,
        end=T0 + timedelta(hours=4),
        proposer="U0CRASH",
        created_at=T0,
        plan={},
        channel="C0OPS",
    )
    _hang("committed")


if __name__ == "__main__":
    mode, db_path, argument = sys.argv[1:4]
    {"race": race, "crash": crash}[mode](db_path, argument)
