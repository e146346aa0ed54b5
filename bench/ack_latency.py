"""Ack latency of `/upgrade list` in HTTP mode, against a bare aiohttp handler in the same run.

200 signed requests at 50 in flight to each; prints median and p99 for both and their ratio.
Targets (issue 2): p99 under 100 ms and within 3x of the bare handler. Then the same load while
another process holds SQLite's write lock on the bot's database the whole time (issue 15, item
5: acks never wait for the lock), against the bot with the lock free.
Run: .venv/bin/python bench/ack_latency.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.runtime import start_http
from bot.sandbox.signing import sign, slash_command_body
from bot.sandbox.slack_stub import SlackStub
from tests.fakes.bot import SECRET, FakeClock, make_context
from tests.fakes.lock_holder import LockHolder

REQUESTS = 200
IN_FLIGHT = 50


async def load(url: str, body: str) -> list[float]:
    latencies: list[float] = []
    gate = asyncio.Semaphore(IN_FLIGHT)
    async with aiohttp.ClientSession() as session:

        async def one() -> None:
            async with gate:
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    **sign(SECRET, body),
                }
                began = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    assert response.status == 200, response.status
                latencies.append(time.perf_counter() - began)

        await asyncio.gather(*(one() for _ in range(REQUESTS)))
    return latencies


async def bare_server() -> tuple[web.AppRunner, int]:
    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"text": "No open windows.", "response_type": "ephemeral"})

    app = web.Application()
    app.router.add_post("/slack/events", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


def figures(name: str, latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    median = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(f"{name:>12}: median {median:7.2f} ms   p99 {p99:7.2f} ms   ({len(ordered)} requests)")
    return median, p99


async def main() -> None:
    body = slash_command_body("/upgrade", "list", user_id="U0OLGA", channel_id="C0OPS")
    stub = SlackStub(bot_token="xoxb-test")
    api = await stub.start()
    with tempfile.TemporaryDirectory() as folder:
        ctx = make_context(Path(folder), api, FakeClock())
        running = await start_http(ctx, SECRET, "127.0.0.1", 0)
        bare, bare_port = await bare_server()
        try:
            await load(f"http://127.0.0.1:{running.port}/slack/events", body)  # warm up
            await load(f"http://127.0.0.1:{bare_port}/slack/events", body)
            bot = await load(f"http://127.0.0.1:{running.port}/slack/events", body)
            base = await load(f"http://127.0.0.1:{bare_port}/slack/events", body)
            async with LockHolder(Path(folder) / "upgradebot.db") as holder:
                await holder.send("hold")
                held = await load(f"http://127.0.0.1:{running.port}/slack/events", body)
                await holder.send("free")
            free = await load(f"http://127.0.0.1:{running.port}/slack/events", body)
        finally:
            await running.stop()
            await bare.cleanup()
            await stub.stop()
    bot_median, bot_p99 = figures("upgradebot", bot)
    base_median, base_p99 = figures("bare aiohttp", base)
    print(
        f"{'ratio':>12}: median {bot_median / base_median:5.2f}x   p99 {bot_p99 / base_p99:5.2f}x"
    )
    print("targets: p99 < 100 ms, within 3x of the bare handler")
    free_median, free_p99 = figures("lock free", free)
    held_median, held_p99 = figures("lock held", held)
    print(
        f"{'ratio':>12}: median {held_median / free_median:5.2f}x   "
        f"p99 {held_p99 / free_p99:5.2f}x (held against free)"
    )
    print("target: acks under 1 s while another process holds the write lock")


if __name__ == "__main__":
    asyncio.run(main())
