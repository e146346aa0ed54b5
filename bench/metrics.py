"""What do /metrics and the metered adapter cost? A year of windows in a real SQLite file.

Run: ``.venv/bin/python bench/metrics.py [--windows 1000] [--notes 50] [--runs 7]``

1. One scrape (``Metrics.render``) over ``--windows`` windows, each with three state changes
   and ``--notes`` progress notes in the audit log. Baseline in the same run: reading the whole
   audit log once (``list_audit``), which is what a collector that walks the audit entries would
   do at every scrape. Target: a scrape under 100 ms at 1,000 windows, since it runs on the
   bot's event loop.
2. ``get_cluster`` through ``MeteredAdapter`` against the simulated adapter itself, 2,000 calls
   each: the wrapper's cost per call (counter, histogram, timer).

Figures are medians of the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.agents.simulated import SimulatedAdapter
from bot.agents.simulated.faults import SimAgent
from bot.domain.models import WindowState
from bot.ops.metrics import MeteredAdapter, Metrics
from storage import Database, append_audit, create_window, list_audit, open_database, transition

AT = datetime(2026, 1, 1, tzinfo=UTC)
MOVES = ((WindowState.PROPOSED, WindowState.APPROVED), (WindowState.APPROVED, WindowState.PLANNED))


def fill(db: Database, windows: int, notes: int) -> None:
    for i in range(windows):
        window = create_window(
            db,
            system="lab",
            target="10.5.0 CU3",
            start=AT + timedelta(days=i),
            end=AT + timedelta(days=i, hours=4),
            proposer="U0OLGA",
            created_at=AT,
            plan={},
            channel="C0OPS",
        )
        for before, after in MOVES:
            transition(db, window.id, expected=before, to=after, actor="U0ANNA", action="t", at=AT)
        for n in range(notes):
            note = {"step": 1, "n": n, "note": "x" * 100}
            append_audit(
                db, actor="upgradebot", action="progress", window_id=window.id, at=AT, detail=note
            )


def median_ms(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def adapter_call_us(calls: int, runs: int) -> tuple[float, float]:
    agents = [SimAgent(name=f"dma-{i}", version="10.3.0.0-13012") for i in range(3)]
    raw = SimulatedAdapter("lab", agents)
    metered = MeteredAdapter("lab", raw, Metrics())
    results = {}
    for name, adapter in (("raw", raw), ("metered", metered)):
        per_run = []
        for _ in range(runs):
            started = time.perf_counter()
            for _ in range(calls):
                await adapter.get_cluster()
            per_run.append((time.perf_counter() - started) / calls)
        results[name] = statistics.median(per_run) * 1e6
    await raw.close()
    return results["raw"], results["metered"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--windows", type=int, default=1000)
    parser.add_argument("--notes", type=int, default=50)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(Path(folder) / "bench.db")
        fill(db, args.windows, args.notes)
        rows = len(list_audit(db))
        metrics = Metrics()
        metrics.watch_database(db)
        scrape = median_ms(metrics.render, args.runs)
        baseline = median_ms(lambda: list_audit(db), args.runs)
        db.close()
    print(f"{args.windows} windows, {rows} audit entries")
    print(f"  one /metrics scrape: {scrape:.1f} ms (median of {args.runs})")
    print(
        f"  baseline, reading the audit log once: {baseline:.1f} ms; "
        f"scrape/baseline = {scrape / baseline:.2f}"
    )
    raw, metered = asyncio.run(adapter_call_us(2000, args.runs))
    print(
        f"  get_cluster: {raw:.1f} µs raw, {metered:.1f} µs metered "
        f"(+{metered - raw:.1f} µs a call, ratio {metered / raw:.2f})"
    )


if __name__ == "__main__":
    main()
