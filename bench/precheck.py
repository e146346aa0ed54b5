"""Pre-check wall time on a 50-agent simulated cluster at 200 ms per call, against the same
pre-check on one agent (one agent's round of calls), and the time to re-arm the scheduler from
10,000 stored actions.

Targets (issue 4): the 50-agent pre-check within 2x one agent's round; re-arming under 2 s.
Run: .venv/bin/python bench/precheck.py
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.domain.proposal import ProposalRequest
from bot.evidence.runs import check_window
from bot.flows.propose.flow import build_details, read_cluster
from bot.flows.window.timed import HANDLERS
from bot.scheduler import Scheduler
from checks import RunKind
from storage import create_window, schedule_action
from tests.fakes.bot import CONFIG, FakeClock, make_context

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
RUNS = 5


def config(agents: int) -> str:
    lines = "\n".join(
        f'        - {{name: dma-{i:02d}, version: "10.3.0.0-13012", installed: *runtimes}}'
        for i in range(2, agents + 1)
    )
    head = CONFIG.split("  night:")[0]
    head = head.replace("step_seconds: 0.01", "step_seconds: 0.01\n      latency_seconds: 0.2")
    head = head.replace(
        """        - {name: dma-lab-02, version: "10.3.0.0-13012", installed: *runtimes}
        - {name: dma-lab-03, version: "10.3.0.0-13012", failover_of: dma-lab-02,
           installed: *runtimes}
""",
        (lines + "\n") if lines else "",
    )
    return head


async def precheck_seconds(agents: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        ctx = make_context(Path(folder), "http://127.0.0.1:9/api/", FakeClock(NOW), config(agents))
        cluster = await read_cluster(ctx, "lab")
        assert len(cluster.agents) == agents, len(cluster.agents)
        request = ProposalRequest(
            "lab", ctx.catalog.resolve("10.5"), NOW + timedelta(days=3), timedelta(hours=4)
        )
        details = build_details(ctx, request, cluster)
        window = create_window(
            ctx.db,
            system="lab",
            target=request.target.label,
            start=request.start,
            end=request.start + timedelta(hours=4),
            proposer="U0OLGA",
            created_at=NOW,
            plan=details.model_dump(mode="json"),
            channel="C0OPS",
        )
        times = []
        for _ in range(RUNS):
            began = time.perf_counter()
            run = await check_window(ctx, window, kind=RunKind.PRECHECK)
            times.append(time.perf_counter() - began)
            assert {r["key"]: r["status"] for r in run.results}["upload"] == "pass"
        ctx.db.close()
        return statistics.median(times)


async def rearm_seconds(count: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        clock = FakeClock(NOW)
        ctx = make_context(Path(folder), "http://127.0.0.1:9/api/", clock)
        window = create_window(
            ctx.db,
            system="lab",
            target="10.5.0 CU18",
            start=NOW + timedelta(days=400),
            end=NOW + timedelta(days=400, hours=4),
            proposer="U0OLGA",
            created_at=NOW,
            plan={},
            channel="C0OPS",
        )
        for i in range(count):
            schedule_action(
                ctx.db,
                window_id=window.id,
                kind=f"reminder:{60 + i}",
                due_at=NOW + timedelta(days=1, seconds=i),
                at=NOW,
            )
        scheduler = Scheduler(ctx, HANDLERS)
        began = time.perf_counter()
        report = await scheduler.start()
        elapsed = time.perf_counter() - began
        assert report.armed == count, report
        await scheduler.shutdown()
        ctx.db.close()
        return elapsed


async def main() -> None:
    logging.disable(logging.CRITICAL)
    one = await precheck_seconds(1)
    fifty = await precheck_seconds(50)
    print(f"pre-check, 1 agent at 200 ms/call:   median {one * 1000:7.0f} ms")
    print(f"pre-check, 50 agents at 200 ms/call: median {fifty * 1000:7.0f} ms")
    print(f"ratio 50 agents / 1 agent: {fifty / one:4.2f}x   (target: within 2x)")
    rearm = await rearm_seconds(10_000)
    print(f"re-arm the scheduler from 10,000 stored actions: {rearm:5.2f} s   (target: < 2 s)")


if __name__ == "__main__":
    asyncio.run(main())
