"""Pre-check wall time on a 50-agent cluster at 200 ms per call, against the same pre-check on
one agent (one agent's round of calls): on the simulator, and on the loopback fake DataMiner
(``tests/fakes/dataminer.py``: real HTTP, Web Services v1 and the upgradebot routes, every
request 200 ms slower). Then the logins per Agent in an hour of polling (every 2 s) through a
simulated upgrade on the fake, and the time to re-arm the scheduler from 10,000 stored actions.

Targets (issues 4 and 13): the 50-agent pre-check within 2x one agent's round; 1 login per
Agent per hour plus one per documented session removal; re-arming under 2 s.
Run: .venv/bin/python bench/precheck.py
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import SecretStr

from bot.agents import PackageFile, SimAgent, SimulatedOptions, UpgradeOptions
from bot.agents.dataminer import DataMinerAdapter, RouteOptions
from bot.agents.dataminer.webapi import Credentials
from bot.context import BotContext
from bot.domain.proposal import ProposalRequest
from bot.evidence.runs import check_window
from bot.flows.propose.flow import build_details, read_cluster
from bot.flows.window.timed import HANDLERS
from bot.scheduler import Scheduler
from checks import RunKind
from storage import create_window, schedule_action
from tests.fakes.bot import CONFIG, FakeClock, make_context
from tests.fakes.dataminer import PASSWORD, TOKEN, USER, FakeDataMiner

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
RUNS = 5
CREDENTIALS = Credentials(
    env_prefix="BENCH_DM",
    user=SecretStr(USER),
    password=SecretStr(PASSWORD),
    routes_token=SecretStr(TOKEN),
)


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


async def on_fake_dms(ctx: BotContext) -> FakeDataMiner:
    """The system's simulator replaced by the loopback fake DataMiner with the same Agents."""
    block = {k: v for k, v in ctx.config.systems["lab"].adapter.options().items() if k != "kind"}
    agents = SimulatedOptions.model_validate(block).agents
    dms = await FakeDataMiner(agents, step_seconds=0.01, latency_seconds=0.2).start()
    await ctx.adapters["lab"].close()
    ctx.adapters["lab"] = DataMinerAdapter(
        "lab",
        dms.agent_url(agents[0].name),
        CREDENTIALS,
        routes=RouteOptions(),
        resolver=dms.resolver,
        requests_per_minute=300,  # poll the upload job every 0.2 s, one call's latency
    )
    return dms


async def precheck_seconds(agents: int, on_dataminer: bool = False) -> float:
    with tempfile.TemporaryDirectory() as folder:
        ctx = make_context(Path(folder), "http://127.0.0.1:9/api/", FakeClock(NOW), config(agents))
        dms = await on_fake_dms(ctx) if on_dataminer else None
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
            statuses = {r["key"]: r["status"] for r in run.results}
            assert statuses["upload"] == "pass", run.results
        await ctx.adapters["lab"].close()
        if dms is not None:
            await dms.stop()
        ctx.db.close()
        return statistics.median(times)


@dataclass
class Ticks:
    """Monotonic seconds moved by hand: an hour of polling in a few seconds."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


async def logins_in_an_hour(agents: int) -> tuple[dict[str, int], int]:
    """Polls get_cluster and get_progress every 2 s of simulated time for an hour, with an
    upgrade of every Agent (each restarts on the new version) in the first minutes. Returns
    the logins per Agent and the route requests made."""
    ticks = Ticks()
    lab = [SimAgent(f"dma-{i:02d}", "10.3.0.0-13012") for i in range(1, agents + 1)]
    dms = await FakeDataMiner(lab, step_seconds=0.01, clock=ticks).start()
    adapter = DataMinerAdapter(
        "lab",
        dms.agent_url("dma-01"),
        CREDENTIALS,
        routes=RouteOptions(),
        resolver=dms.resolver,
        clock=ticks,
    )
    package = PackageFile(
        name="DataMiner 10.4.0.0-14511 Full Upgrade.dmupgrade", path="x", size=1, sha256="0" * 64
    )
    run_id = None
    for poll in range(1800):
        if poll == 30:
            run_id = await adapter.start_upgrade(package, UpgradeOptions())
        await adapter.get_cluster()
        if run_id is not None:
            await adapter.get_progress(run_id)
            await asyncio.sleep(0.001)  # let the simulated upgrade move in real time
        ticks.now += 2
    cluster = await adapter.get_cluster()
    assert {a.version for a in cluster.agents} == {"10.4.0.0-14511"}, cluster
    per_route: dict[str, int] = {}
    for _, name in dms.calls:
        if "upgradebot/" in name:
            per_route[name] = per_route.get(name, 0) + 1
    routes = max(per_route.values())
    logins = {a.name: dms.count("ConnectAppAndInfo", a.name) for a in lab}
    await adapter.close()
    await dms.stop()
    return logins, routes


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
    one = await precheck_seconds(1, on_dataminer=True)
    fifty = await precheck_seconds(50, on_dataminer=True)
    print(f"fake DataMiner, 1 agent at 200 ms/call:   median {one * 1000:7.0f} ms")
    print(f"fake DataMiner, 50 agents at 200 ms/call: median {fifty * 1000:7.0f} ms")
    print(f"ratio 50 agents / 1 agent: {fifty / one:4.2f}x   (target: within 2x)")
    logins, routes = await logins_in_an_hour(5)
    counts = sorted(set(logins.values()))
    print(
        f"logins per agent in 1 h of polling every 2 s with one upgrade (restart) of every "
        f"agent: {counts} (target: 1, plus 1 per session removal: the restart); busiest "
        f"route: {routes / 60:.1f} requests/min (token limit: 60/min per endpoint)"
    )
    rearm = await rearm_seconds(10_000)
    print(f"re-arm the scheduler from 10,000 stored actions: {rearm:5.2f} s   (target: < 2 s)")


if __name__ == "__main__":
    asyncio.run(main())
