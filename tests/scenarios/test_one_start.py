"""Never a second trigger (issue 15, item 3): over random sequences of faults (a start whose
answer is lost, a start that never reached the DMS, an Agent dropping, a restart of the bot at a
random moment, Retry clicks) every step of the plan is started on the DMS at most once, the
night still reaches verification once the faults stop, and the audit chain verifies.

The bot is real (its flows, a SQLite file per example, the Slack stand-in on loopback); the
DMS is the simulated adapter, which outlives each restart of the bot as a real DMS would. Each
example starts from one database snapshot of a window at its go, taken once per test.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.agents.simulated import SimulatedAdapter
from bot.context import BotContext
from bot.domain.models import GateId, WindowEvent, WindowState
from bot.flows.execute.flow import execution_items, resume_all, retry, run_from
from bot.runtime import start_http
from bot.sandbox.slack_stub import SlackStub
from bot.transitions import move
from storage import get_window, list_hotfixes, list_steps, verify_audit_chain
from tests.fakes.bot import BOT_TOKEN, SECRET, FakeClock, Harness, fast, make_context
from tests.scenarios.test_night import OPERATOR, ready_at_start

AGENTS = ("dma-night-01", "dma-night-02", "dma-night-03")

Event = tuple[str, float | str | None]

EVENTS: st.SearchStrategy[Event] = st.one_of(
    st.tuples(st.just("lose_answer"), st.none()),
    st.tuples(st.just("unreceived"), st.none()),
    st.tuples(st.just("drop"), st.sampled_from(AGENTS)),
    st.tuples(st.just("restart"), st.floats(min_value=0.0, max_value=0.08)),
    st.tuples(st.just("retry"), st.none()),
)


@dataclass
class World:
    loop: asyncio.AbstractEventLoop
    stub: SlackStub
    api: str
    clock: FakeClock
    snapshot: Path
    base: Path


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """One Slack stand-in and one database at the go, shared by every example of the test."""
    loop = asyncio.new_event_loop()
    clock = FakeClock()
    stub = SlackStub(bot_token=BOT_TOKEN, usergroups={"S0ADMINS": ["U0BOB"]})

    async def prepare() -> tuple[str, Path]:
        api = await stub.start()
        setup = tmp_path / "setup"
        setup.mkdir()
        running = await start_http(fast(make_context(setup, api, clock)), SECRET, "127.0.0.1", 0)
        session = aiohttp.ClientSession()
        try:
            url = f"http://127.0.0.1:{running.port}"
            bot = Harness(stub, running, clock, session, url, setup)
            await ready_at_start(bot)
        finally:
            await session.close()
            await running.stop()
        return api, setup / "upgradebot.db"

    try:
        api, snapshot = loop.run_until_complete(prepare())
        yield World(loop, stub, api, clock, snapshot, tmp_path)
    finally:
        loop.run_until_complete(stub.stop())
        loop.close()


class Night:
    """One example: the bot (restartable) over one simulated DMS that outlives it."""

    def __init__(self, world: World, number: int) -> None:
        self.world = world
        self.path = world.base / f"night-{number}"
        self.path.mkdir()
        shutil.copy(world.snapshot, self.path / "upgradebot.db")
        self.ctx = self._boot()
        adapter = self.ctx.adapters["night"]
        assert isinstance(adapter, SimulatedAdapter)
        self.dms = adapter

    def _boot(self) -> BotContext:
        return fast(make_context(self.path, self.world.api, self.world.clock))

    async def go(self) -> None:
        window = get_window(self.ctx.db, 1)
        assert window is not None and window.state is WindowState.READY
        window = await move(
            self.ctx, window, WindowEvent.GO, actor=OPERATOR, gate=GateId.G4, reason="test"
        )
        self.ctx.spawn(run_from(self.ctx, window, 1, 1, OPERATOR))

    async def settle(self) -> None:
        """Until the bot has nothing in flight: the night ran, halted or waits for a person."""
        for _ in range(200):
            pending = [task for task in self.ctx.inflight if not task.done()]
            if not pending:
                return
            await asyncio.wait(pending, timeout=10)
        raise AssertionError("the bot never settled")

    async def restart(self, after: float) -> None:
        """The bot dies at a moment in the night (its tasks cancelled where they stand) and
        starts again from its database; the DMS carries on."""
        await asyncio.sleep(after)  # the moment of the crash, not a wait for a result
        for task in list(self.ctx.inflight):
            task.cancel()
        await asyncio.gather(*self.ctx.inflight, return_exceptions=True)
        adapters = self.ctx.adapters
        self.ctx.db.close()
        self.ctx = self._boot()
        self.ctx.adapters = adapters
        await resume_all(self.ctx)

    def halted(self) -> int | None:
        steps = list_steps(self.ctx.db, 1)
        if steps and steps[-1].status in ("failed", "unknown"):
            return steps[-1].position
        return None

    def state(self) -> WindowState:
        window = get_window(self.ctx.db, 1)
        assert window is not None
        return window.state

    async def click_retry(self) -> None:
        position = self.halted()
        window = get_window(self.ctx.db, 1)
        if position is not None and window is not None:
            await retry(self.ctx, window, position, OPERATOR)

    async def apply(self, event: Event) -> None:
        kind, arg = event
        faults = self.dms.faults
        faults.unreachable.clear()  # an Agent that dropped is back by the next fault
        if kind == "lose_answer":
            faults.lost_start_answers += 1
        elif kind == "unreceived":
            faults.unreceived_starts += 1
        elif kind == "drop":
            faults.unreachable.add(str(arg))
        elif kind == "restart":
            await self.restart(float(arg or 0.0))
        else:
            await self.settle()
            await self.click_retry()

    async def finish(self) -> None:
        """No more faults: an operator retries whatever halted until the night is through."""
        faults = self.dms.faults
        faults.unreachable.clear()
        faults.lost_start_answers = faults.unreceived_starts = 0
        for _ in range(20):
            await self.settle()
            if self.state() is WindowState.VERIFYING:
                return
            if self.halted() is None:  # killed in between: the next start picks it up
                await self.restart(0.0)
            else:
                await self.click_retry()
        raise AssertionError(f"never verified: {list_steps(self.ctx.db, 1)}")

    async def close(self) -> None:
        await self.settle()
        self.ctx.db.close()
        await self.dms.shutdown()


counter = iter(range(10_000))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=st.lists(EVENTS, max_size=8))
def test_no_fault_sequence_starts_a_step_twice(world: World, events: list[Event]) -> None:
    night = Night(world, next(counter))

    async def play() -> None:
        await night.go()
        for event in events:
            await night.apply(event)
        await night.finish()

    try:
        world.loop.run_until_complete(play())
        window = get_window(night.ctx.db, 1)
        assert window is not None
        plan = execution_items(window, list_hotfixes(night.ctx.db, 1))
        runs = world.loop.run_until_complete(night.dms.find_runs())
        started = Counter(run.package for run in runs)
        assert len(started) == len(plan), f"every step of the plan ran, for {events}"
        assert set(started.values()) == {1}, f"one run per step, for {events}: {started}"
        assert night.dms.start_requests == len(plan)
        assert all(run.finished and not run.failed for run in runs)
        assert [s.status for s in list_steps(night.ctx.db, 1)][-1] == "done"
        assert verify_audit_chain(night.ctx.db).ok
    finally:
        world.loop.run_until_complete(night.close())
