"""The night under faults against the fault-free night, in the same run (issue 15): 20 agents,
three steps, 5 % of the night's Slack calls failing (429, 500 or an answer too late for work
Slack did, at random) and one Agent dropping off the network during every step.

Prints, for each kind of night, the median wall time from the go to the G5 message over a few
runs, and for the faulted nights the ratio to the fault-free median (target: within 1.5x),
messages lost (a key of the fault-free thread missing, or still owed) and duplicates (a key
twice in the thread): both must be 0.
Run: .venv/bin/python bench/night_faults.py [runs] [Slack fault rate, default 0.05]
"""

from __future__ import annotations

import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.night import config
from bot.agents.simulated import SimulatedAdapter
from bot.domain.models import WindowState
from bot.runtime import start_http
from bot.sandbox.slack_stub import SlackStub
from storage import get_window, list_steps
from storage.outbox import pending_messages
from tests.fakes.bot import BOT_TOKEN, SECRET, FakeClock, Harness, make_context
from tests.scenarios.test_night import give_go, ready_at_start

CHANNEL = "C0NIGHT"
SLACK_FAULT_RATE = 0.05
NIGHT_METHODS = ("chat.postMessage", "chat.update", "conversations.replies")


def thread_keys(stub: SlackStub, parent_ts: str) -> Counter[str]:
    seen: Counter[str] = Counter()
    for message in stub.thread(CHANNEL, parent_ts)[1:]:
        payload = (message.to_slack().get("metadata") or {}).get("event_payload") or {}
        if "key" in payload:
            seen[str(payload["key"])] += 1
    return seen


async def drop_one_agent_per_step(ctx_db: object, dms: SimulatedAdapter, seed: int) -> None:
    """While the night runs: as each step starts running, one Agent leaves the network for a
    simulated stage, then comes back."""
    dice = random.Random(seed)
    seen: set[int] = set()
    names = [agent.name for agent in (await dms.get_cluster()).agents]
    while True:
        for step in list_steps(ctx_db, 1):  # type: ignore[arg-type]
            if step.status == "running" and step.id not in seen:
                seen.add(step.id)
                agent = dice.choice(names)
                dms.faults.unreachable.add(agent)
                await asyncio.sleep(dms.step_seconds)
                dms.faults.unreachable.discard(agent)
        await asyncio.sleep(0.02)


async def one_night(
    faulted: bool, seed: int, fault_rate: float = SLACK_FAULT_RATE
) -> tuple[float, Counter[str], int, int]:
    """Wall seconds from the go to G5, the thread's keys, rows still owed at the end, and the
    Slack calls that were answered with a fault."""
    stub = SlackStub(bot_token=BOT_TOKEN, usergroups={"S0ADMINS": ["U0BOB"]})
    api = await stub.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            clock = FakeClock()
            ctx = make_context(Path(folder), api, clock, config())
            ctx.poll_seconds = 0.05
            ctx.progress_edit_seconds = 1.0  # more edits, so more calls meet a fault
            ctx.outbox_tick_seconds = 0.05
            ctx.outbox_backoff_seconds = 0.2
            ctx.client.timeout = 2
            running = await start_http(ctx, SECRET, "127.0.0.1", 0)
            dms = ctx.adapters["night"]
            assert isinstance(dms, SimulatedAdapter)
            dms.step_seconds = 1.0
            async with aiohttp.ClientSession() as session:
                url = f"http://127.0.0.1:{running.port}"
                bot = Harness(stub, running, clock, session, url, Path(folder))
                await ready_at_start(bot)
                dropper = None
                if faulted:
                    stub.chaos(fault_rate, NIGHT_METHODS, seed=seed, late_seconds=3.0)
                    dropper = asyncio.create_task(drop_one_agent_per_step(ctx.db, dms, seed))
                calls_before = len(stub.calls)
                go_at = time.perf_counter()
                await give_go(bot)
                parent = bot.proposals(CHANNEL)[-1].ts
                await stub.wait_until(
                    lambda: get_window(ctx.db, 1).state is WindowState.VERIFYING,  # type: ignore[union-attr]
                    timeout=300,
                )
                while "verify" not in thread_keys(stub, parent) or pending_messages(ctx.db):
                    await asyncio.sleep(0.05)  # the G5 message (and everything owed) delivered
                seconds = time.perf_counter() - go_at
                if dropper is not None:
                    dropper.cancel()
                stub.clear_faults()
                keys = thread_keys(stub, parent)
                owed = len(pending_messages(ctx.db))
                night = [call for call in stub.calls[calls_before:] if call.method in NIGHT_METHODS]
                faults = sum(1 for call in night if call.fault)
            ctx.shutdown_grace_seconds = 0.0
            await running.stop()
            await dms.shutdown()
    finally:
        await stub.stop()
    return seconds, keys, owed, faults


async def main(runs: int, fault_rate: float) -> None:
    logging.disable(logging.CRITICAL)
    clean: list[float] = []
    faulty: list[float] = []
    expected: Counter[str] = Counter()
    lost = duplicates = injected = 0
    for run in range(runs):
        seconds, keys, _, _ = await one_night(False, run)
        clean.append(seconds)
        expected = keys
        seconds, keys, owed, faults = await one_night(True, 1000 + run, fault_rate)
        faulty.append(seconds)
        injected += faults
        lost += owed + len(set(expected) - set(keys))
        duplicates += sum(count - 1 for count in keys.values() if count > 1)
    fault_free, faulted = statistics.median(clean), statistics.median(faulty)
    print(
        "agents: 20, steps: 3, simulated stage: 1.0 s, progress edits at most 1/s, "
        f"runs: {runs} of each"
    )
    print(f"fault-free night, go to G5: median {fault_free:6.2f} s  ({clean})")
    print(
        f"faulted night ({fault_rate:.0%} Slack calls 429/500/late, an Agent dropping "
        f"each step): median {faulted:6.2f} s"
    )
    print(f"Slack calls answered with a fault in the faulted nights: {injected}")
    print(f"ratio faulted / fault-free: {faulted / fault_free:.2f}x   (target: <= 1.5x)")
    print(f"messages lost: {lost}   duplicates: {duplicates}   (target: 0 and 0)")


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    asyncio.run(main(runs, float(sys.argv[2]) if len(sys.argv) > 2 else SLACK_FAULT_RATE))
