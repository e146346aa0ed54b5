"""The whole flow, propose to verified, on a 20-agent simulated cluster with a three-step path
at fast simulated timings, through the real bot in HTTP mode and the loopback Slack stand-in.

Prints wall time, Slack Web API calls made, progress-message edits per minute (Slack allows
about one chat.update per second per channel; we stay well under) and peak RSS of the process
(bot and stand-in together). Target (issue 5): peak RSS under 150 MB.
Run: .venv/bin/python bench/night.py
"""

from __future__ import annotations

import asyncio
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.domain.models import WindowState
from bot.ids import RunAction
from bot.runtime import start_http
from bot.sandbox.slack_stub import SlackStub
from storage import get_window
from tests.fakes.bot import BOT_TOKEN, CONFIG, SECRET, FakeClock, Harness, make_context
from tests.scenarios.test_night import (
    OPERATOR,
    give_go,
    ready_at_start,
    reply,
)

AGENTS = 20


def config() -> str:
    agents = "\n".join(
        f'        - {{name: dma-night-{i:02d}, version: "10.2.0.0-11897-CU4", '
        "installed: *runtimes}"
        for i in range(1, AGENTS + 1)
    )
    start = CONFIG.index("  night:")
    end = CONFIG.index("  prod:")
    night = (
        "  night:\n    channel: C0NIGHT\n    startup_time: 5m\n    adapter:\n"
        "      kind: simulated\n      step_seconds: 1.0\n      agents:\n" + agents + "\n"
    )
    return CONFIG[:start] + night + CONFIG[end:]


async def main() -> None:
    logging.disable(logging.CRITICAL)
    stub = SlackStub(bot_token=BOT_TOKEN, usergroups={"S0ADMINS": ["U0BOB"]})
    api = await stub.start()
    with tempfile.TemporaryDirectory() as folder:
        clock = FakeClock()
        ctx = make_context(Path(folder), api, clock, config())
        ctx.poll_seconds = 0.05
        # progress_edit_seconds keeps its default (3 s) as in production
        running = await start_http(ctx, SECRET, "127.0.0.1", 0)
        async with aiohttp.ClientSession() as session:
            bot = Harness(
                stub, running, clock, session, f"http://127.0.0.1:{running.port}", Path(folder)
            )
            began = time.perf_counter()
            await ready_at_start(bot)
            go_at = time.perf_counter()
            await give_go(bot)
            await stub.wait_until(
                lambda: get_window(ctx.db, 1).state is WindowState.VERIFYING,  # type: ignore[union-attr]
                timeout=120,
            )
            night_seconds = time.perf_counter() - go_at
            await stub.wait_until(
                lambda: any(
                    m.text.startswith("Verification of #1")
                    for m in stub.thread("C0NIGHT", bot.proposals("C0NIGHT")[-1].ts)
                ),
                timeout=30,
            )
            await bot.click(
                RunAction.VERIFIED, reply(bot, "Verification of #1"), OPERATOR, channel="C0NIGHT"
            )
            await stub.wait_until(
                lambda: get_window(ctx.db, 1).state is WindowState.DONE,  # type: ignore[union-attr]
                timeout=30,
            )
            total = time.perf_counter() - began
            progress = reply(bot, "#1: step 3/3")
            edits = [c for c in stub.calls_to("chat.update") if c.args.get("ts") == progress["ts"]]
        await running.stop()
    await stub.stop()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"agents: {AGENTS}, steps: 3, simulated stage: 1.0 s")
    print(
        f"wall time, propose to verified: {total:6.2f} s "
        f"(of which the upgrade: {night_seconds:.2f} s)"
    )
    print(f"Slack Web API calls: {len(stub.calls)}")
    print(
        f"progress edits: {len(edits)} in {night_seconds:.1f} s = "
        f"{len(edits) / night_seconds * 60:.0f} per minute "
        "(at most one edit per 3 s, plus one as each step ends)"
    )
    print(f"peak RSS (bot + Slack stand-in): {peak_mb:.0f} MB   (target: < 150 MB)")


if __name__ == "__main__":
    asyncio.run(main())
