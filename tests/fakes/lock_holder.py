"""Another program holding SQLite's write lock on the bot's database (a backup, an admin's
``sqlite3`` shell, a second bot by mistake): a real separate process, driven line by line.

``python -m tests.fakes.lock_holder DB`` reads commands on stdin and answers each on stdout:
``hold`` (takes the write lock and keeps it: ``held``), ``free`` (commits: ``free``),
``cycle HOLD FREE`` (from now on holds for HOLD seconds, frees for FREE, again and again:
``cycling``), ``stop`` (ends the cycle, lock free: ``stopped``). :class:`LockHolder` drives it
from a test.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
import time
from pathlib import Path


def _serve(path: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None, timeout=60, check_same_thread=False)
    guard = threading.Lock()
    cycling = threading.Event()
    worker: threading.Thread | None = None

    def cycle(hold: float, free: float) -> None:
        while cycling.is_set():
            with guard:
                conn.execute("BEGIN IMMEDIATE")
                time.sleep(hold)  # the fault itself: the lock held this long
                conn.execute("COMMIT")
            time.sleep(free)

    while line := sys.stdin.readline():
        words = line.split()
        if not words:
            continue
        if words[0] == "hold":
            conn.execute("BEGIN IMMEDIATE")
            answer = "held"
        elif words[0] == "free":
            conn.execute("COMMIT")
            answer = "free"
        elif words[0] == "cycle":
            cycling.set()
            worker = threading.Thread(target=cycle, args=(float(words[1]), float(words[2])))
            worker.start()
            answer = "cycling"
        elif words[0] == "stop":
            cycling.clear()
            if worker is not None:
                worker.join()
            answer = "stopped"
        else:
            answer = f"unknown command {words[0]}"
        print(answer, flush=True)


class LockHolder:
    """The holder process, from an asyncio test: ``await holder.send("hold")``."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> LockHolder:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.fakes.lock_holder",
            str(self.db_path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=str(Path(__file__).resolve().parents[2]),
        )
        return self

    async def send(self, command: str) -> str:
        process = self.process
        assert process is not None and process.stdin is not None and process.stdout is not None
        process.stdin.write(f"{command}\n".encode())
        await process.stdin.drain()
        answer = (await asyncio.wait_for(process.stdout.readline(), 60)).decode().strip()
        assert answer, f"the lock holder died on {command!r}"
        return answer

    async def __aexit__(self, *exc: object) -> None:
        process = self.process
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


if __name__ == "__main__":
    _serve(sys.argv[1])
