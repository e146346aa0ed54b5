"""Time from one clock (issue 15, item 7): APScheduler arms jobs by wall-clock delays, so a host
clock stepped back would hold them by the step. The scheduler's tick runs what is due by the
bot's own clock, with no job firing and nobody calling run_due."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import aiohttp

from bot.domain.models import WindowState
from bot.ids import Action
from bot.runtime import start_http
from bot.sandbox.slack_stub import SlackStub
from storage import list_actions
from tests.fakes.bot import APPROVER, BOT_TOKEN, SECRET, FakeClock, Harness, fast, make_context
from tests.scenarios.test_stale_truth import (
    CHANNEL,
    FIRST_START,
    posted,
    replies,
    settle_manual_items,
    state,
    until,
)


async def test_an_action_due_by_the_bots_clock_runs_on_the_tick_without_its_job(
    tmp_path: Path, clock: FakeClock
) -> None:
    stub = SlackStub(bot_token=BOT_TOKEN, usergroups={"S0ADMINS": ["U0BOB"]})
    api = await stub.start()
    session = aiohttp.ClientSession()
    ctx = fast(make_context(tmp_path, api, clock))
    ctx.scheduler_tick_seconds = 0.05
    running = await start_http(ctx, SECRET, "127.0.0.1", 0)
    bot = Harness(stub, running, clock, session, f"http://127.0.0.1:{running.port}", tmp_path)
    try:
        await bot.command("propose night 10.5 2026-12-02T22:00 4h", channel=CHANNEL)
        await until(bot, lambda: posted(bot, 1))
        parent = dict(bot.proposals(CHANNEL)[0].to_slack())
        await bot.click(Action.APPROVE, parent, APPROVER, channel=CHANNEL)
        await until(bot, lambda: bool(replies(bot, 1, "Details checklist")))
        await settle_manual_items(bot, 1)
        await until(bot, lambda: state(bot, 1) is WindowState.PLANNED)
        # The clock steps a day ahead; the pre-check's job, armed for days of wall-clock time,
        # does not fire, and nobody calls run_due: the tick runs it at its due time.
        clock.now = FIRST_START - timedelta(hours=23)
        await until(bot, lambda: bool(replies(bot, 1, "Pre-check of #1")))

        def precheck_status() -> str:
            (row,) = [a for a in list_actions(ctx.db, window_id=1) if a.kind == "precheck"]
            return row.status.value

        await until(bot, lambda: precheck_status() == "done")
        assert precheck_status() == "done"
    finally:
        await running.stop()
        await session.close()
        await stub.stop()
