"""The step deadline comes from the config (issue 15, item 2): ``schedule.step_deadline_factor``
times the step's share of the estimate. The night window's estimate is 6360 s at its high end
over three steps, so a step's share is 35 min 20 s: with the factor set to 1 a step still running
50 minutes after it started is halted as not finished in time; with the default factor (2, so
70 min 40 s) the same step at the same moment is watched on and finishes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.domain.models import WindowState
from bot.runtime import start_http
from bot.sandbox.slack_stub import SlackStub
from storage import list_steps
from tests.fakes.bot import (
    BOT_TOKEN,
    CONFIG,
    GROUP_APPROVER,
    SECRET,
    FakeClock,
    Harness,
    fast,
    make_context,
)
from tests.scenarios.test_faults import the_night_ends_at_g5_once, until
from tests.scenarios.test_night import give_go, ready_at_start, reply, sim, thread, until_state
from tests.scenarios.test_propose_approve import texts

DEFAULT_SCHEDULE = "schedule: {precheck_lead: 24h, reminders: [2h, 15m]}"
STRICT_SCHEDULE = "schedule: {precheck_lead: 24h, reminders: [2h, 15m], step_deadline_factor: 1}"
PAST_ITS_SHARE = timedelta(minutes=50)  # beyond 1 x 35m20s, within 2 x 35m20s


@pytest.fixture
async def strict_bot(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Harness]:
    """The bot of ``tests.fakes.bot`` with ``schedule.step_deadline_factor: 1`` in its config."""
    assert DEFAULT_SCHEDULE in CONFIG
    stub = SlackStub(bot_token=BOT_TOKEN, usergroups={"S0ADMINS": [GROUP_APPROVER]})
    api_url = await stub.start()
    config = CONFIG.replace(DEFAULT_SCHEDULE, STRICT_SCHEDULE)
    running = await start_http(
        fast(make_context(tmp_path, api_url, clock, config)), SECRET, "127.0.0.1", 0
    )
    session = aiohttp.ClientSession()
    try:
        yield Harness(stub, running, clock, session, f"http://127.0.0.1:{running.port}", tmp_path)
    finally:
        await session.close()
        await running.stop()
        await stub.stop()


async def first_step_running_then_past_its_share(bot: Harness) -> None:
    await ready_at_start(bot)
    sim(bot).step_seconds = 0.3  # the first step is still running when the clock moves on
    await give_go(bot)
    await until(lambda: any(s.status == "running" for s in list_steps(bot.ctx.db, 1)))
    bot.clock.advance(PAST_ITS_SHARE)


async def test_a_configured_factor_of_one_halts_a_step_past_its_share_of_the_estimate(
    strict_bot: Harness,
) -> None:
    assert strict_bot.ctx.step_deadline_factor == 1.0
    await first_step_running_then_past_its_share(strict_bot)
    await strict_bot.stub.wait_until(
        lambda: any(m["text"].startswith("❌ #1 stopped") for m in thread(strict_bot)), timeout=10
    )
    halted = reply(strict_bot, "❌ #1 stopped: step 1")
    assert "<@U0OLGA>" in halted["text"]
    assert "not finished in time: the step was allowed 35 min from the estimate" in texts(halted)
    assert [(s.position, s.status) for s in list_steps(strict_bot.ctx.db, 1)] == [(1, "unknown")]
    dms = sim(strict_bot)
    while not all(run.finished for run in await dms.find_runs()):  # the DMS ends its run
        await asyncio.sleep(0.02)
    assert dms.start_requests == 1, "halting a step never starts anything"


async def test_with_the_default_factor_the_same_step_at_the_same_moment_is_watched_on(
    bot: Harness,
) -> None:
    assert bot.ctx.step_deadline_factor == 2.0
    await first_step_running_then_past_its_share(bot)
    await until_state(bot, WindowState.VERIFYING, timeout=20)
    await the_night_ends_at_g5_once(bot)
    assert not any("stopped" in m["text"] for m in thread(bot))
    assert [s.status for s in list_steps(bot.ctx.db, 1)] == ["done", "done", "done"]
