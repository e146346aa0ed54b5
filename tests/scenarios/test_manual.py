"""A real DMS without upgradebot routes: the night runs by hand in Cube. The bot posts exactly
what to click, watches the agents through the web API, and goes on only when an operator
confirms and every agent reports the step's version."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import SecretStr

from bot.agents.dataminer import DataMinerAdapter
from bot.agents.dataminer.webapi import Credentials
from bot.agents.models import PackageFile, UpgradeOptions
from bot.agents.simulated.faults import SimAgent
from bot.domain.models import GateId, WindowState
from bot.evidence.packages import package_files
from bot.ids import Action, GateAction, RunAction
from storage import get_window, latest_check_run, list_acks, list_steps
from tests.fakes.bot import APPROVER, PROPOSER, Harness
from tests.fakes.dataminer import PASSWORD, USER, FakeDataMiner
from tests.scenarios.test_gates import START, close_details, reply, thread
from tests.scenarios.test_propose_approve import propose, texts

RUNTIMES = {"aspnet_core": ["6.0.36", "8.0.11", "10.0.1"], "vcpp": "14.44.35211.0"}


async def on_fake_dms(bot: Harness) -> FakeDataMiner:
    agents = [
        SimAgent(f"dma-lab-0{i}", "10.3.0.0-13012", installed=RUNTIMES)  # type: ignore[arg-type]
        for i in (1, 2)
    ]
    dms = await FakeDataMiner(agents, step_seconds=0.01).start()
    credentials = Credentials(
        env_prefix="TEST_DM", user=SecretStr(USER), password=SecretStr(PASSWORD)
    )
    adapter = DataMinerAdapter(
        "lab", dms.agent_url("dma-lab-01"), credentials, resolver=dms.resolver
    )
    await bot.ctx.adapters["lab"].close()
    bot.ctx.adapters["lab"] = adapter
    return dms


async def cube_runs(dms: FakeDataMiner, package: PackageFile) -> None:
    """What the operator does in Cube: the upgrade, all agents, simultaneously."""
    run_id = await dms.sim.start_upgrade(package, UpgradeOptions())
    while not (await dms.sim.get_progress(run_id)).finished:
        await asyncio.sleep(0.01)


async def test_without_routes_every_step_is_run_by_hand_and_checked_by_the_bot(
    bot: Harness,
) -> None:
    dms = await on_fake_dms(bot)
    try:
        message = await propose(bot)
        await bot.click(Action.APPROVE, message, APPROVER)
        await bot.stub.wait_until(
            lambda: any(m["text"].startswith("Details checklist") for m in thread(bot))
        )
        await close_details(bot)
        await bot.stub.wait_until(lambda: get_window(bot.ctx.db, 1).state is WindowState.PLANNED)  # type: ignore[union-attr]
        bot.clock.now = START - timedelta(hours=24)
        assert bot.ctx.scheduler is not None
        await bot.ctx.scheduler.run_due()
        run = latest_check_run(bot.ctx.db, 1, "precheck")
        assert run is not None
        statuses = {r["key"]: r["status"] for r in run.results}
        assert statuses["upload"] == "warn" and statuses["requirements"] == "warn"
        summary = reply(bot, "Pre-check of #1")
        assert "Upload only" in texts(summary) and "Check by hand" in texts(summary)
        await bot.click(GateAction.PRECHECK_ACCEPT, summary, PROPOSER)
        await bot.stub.wait_until(lambda: get_window(bot.ctx.db, 1).state is WindowState.READY)  # type: ignore[union-attr]
        bot.clock.now = START
        await bot.ctx.scheduler.run_due()
        before = len(bot.stub.calls_to("views.open"))
        await bot.click(RunAction.GO, reply(bot, "G4: #1 may start now"), PROPOSER)
        opened = (await bot.stub.wait_for("views.open", count=before + 1))[before]
        await bot.submit(
            opened.response["view"],
            {
                "backup": {
                    "backup_check": {"type": "checkboxes", "selected_options": [{"value": "taken"}]}
                }
            },
            PROPOSER,
        )
        await bot.stub.wait_until(
            lambda: any(m["text"].startswith("✋ #1 step 1") for m in thread(bot))
        )
        step_one = reply(bot, "✋ #1 step 1")
        shown = texts(step_one)
        assert "*System Center* > *Agents*" in shown and "simultaneously" in shown.lower()
        # Clicking before Cube is done is refused with what the agents report.
        await bot.click(RunAction.MANUAL_DONE, step_one, PROPOSER)
        refusal = await bot.wait_told(PROPOSER, "Not yet")
        assert "dma-lab-01 reports 10.3.0" in refusal
        assert list_steps(bot.ctx.db, 1)[-1].status == "running"
        store = bot.ctx.config.packages.dir
        (first,) = package_files(store, [list_steps(bot.ctx.db, 1)[-1].package])
        await cube_runs(dms, first)
        await bot.click(RunAction.MANUAL_DONE, step_one, PROPOSER)
        await bot.stub.wait_until(
            lambda: any(m["text"].startswith("✋ #1 step 2") for m in thread(bot))
        )
        (second,) = package_files(store, [list_steps(bot.ctx.db, 1)[-1].package])
        await cube_runs(dms, second)
        await bot.click(RunAction.MANUAL_DONE, reply(bot, "✋ #1 step 2"), PROPOSER)
        await bot.stub.wait_until(lambda: get_window(bot.ctx.db, 1).state is WindowState.VERIFYING)  # type: ignore[union-attr]
        by_hand = [a.decision for a in list_acks(bot.ctx.db, 1) if a.gate is GateId.G4]
        assert by_hand == ["go", "step_by_hand:1", "step_by_hand:2"]
        assert [s.run_id for s in list_steps(bot.ctx.db, 1)] == ["manual", "manual"]
    finally:
        await dms.stop()
