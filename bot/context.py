"""What every listener and job gets: config, database, adapters, catalog, Slack client, clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar
from zoneinfo import ZoneInfo

from slack_sdk.web.async_client import AsyncWebClient

from bot.agents.base import AgentAdapter
from bot.domain.catalog import Catalog
from bot.domain.errors import UnknownSystem
from bot.domain.known_issues import KnownIssues
from bot.domain.models import Window
from bot.ops.metrics import MeteredAdapter, Metrics
from bot.roles import RoleResolver
from bot.settings import Config, SystemConfig
from storage import ScheduledAction
from storage.db import Database, write_async

P = ParamSpec("P")
T = TypeVar("T")


class TimedActions(Protocol):
    """What the flows need of the scheduler (``bot.scheduler.Scheduler``), so the context does
    not import it: the scheduler runs handlers that take the context."""

    @property
    def running(self) -> bool: ...

    def arm(self, action: ScheduledAction) -> None: ...

    def disarm(self, action_ids: list[int]) -> None: ...

    async def run_action(self, action_id: int) -> str | None: ...

    async def run_due(self) -> int: ...

    def next_due(self, *, visible_only: bool = False) -> datetime | None: ...

    async def shutdown(self) -> None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class BotContext:
    config: Config
    db: Database
    adapters: dict[str, AgentAdapter]
    catalog: Catalog
    known_issues: KnownIssues
    client: AsyncWebClient
    roles: RoleResolver
    clock: Callable[[], datetime] = field(default=utc_now)
    adapter_timeout_seconds: float = 20.0
    # "Upload only" copies every package to every Agent: on a real DMS that takes minutes (the
    # adapter runs it as a job and polls it), so it gets its own, longer deadline.
    upload_timeout_seconds: float = 3600.0
    inflight: set[asyncio.Task[object]] = field(default_factory=set)
    poll_seconds: float = 2.0
    progress_edit_seconds: float = 3.0  # at most one edit of the progress message this often
    shutdown_grace_seconds: float = 10.0
    scheduler: TimedActions | None = None
    # The outbox dispatcher (bot/outbox.py, issue 15): its task, how often it looks again and
    # its first backoff after a failed delivery; one lock per outbox row being delivered.
    outbox_task: asyncio.Task[object] | None = None
    outbox_tick_seconds: float = 1.0
    # How often the scheduler runs what is due by this clock, whatever APScheduler's wall-clock
    # jobs think (a host clock stepped back or forward; issue 15, item 7).
    scheduler_tick_seconds: float = 30.0
    outbox_backoff_seconds: float = 1.0
    outbox_locks: dict[int, asyncio.Lock] = field(default_factory=dict)
    # A step not done after this many times its share of the estimate is halted (issue 15);
    # from the config's schedule.step_deadline_factor (bot/runtime.py build_context).
    step_deadline_factor: float = 2.0
    metrics: Metrics = field(default_factory=Metrics)
    # Slack request identities this process took (``bot/slack/intake.py``), oldest first.
    seen_requests: dict[str, None] = field(default_factory=dict)
    # Called (in the background) whenever a window's proposal is posted or refreshed, i.e. on
    # every change people see: the App Home tabs showing it are published again.
    window_watchers: list[Callable[[Window], Coroutine[Any, Any, None]]] = field(
        default_factory=list
    )

    def track(self) -> None:
        """Count the current task as work in flight, so a shutdown waits for it."""
        task = asyncio.current_task()
        if task is not None:
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)

    def spawn(self, work: Coroutine[Any, Any, object]) -> asyncio.Task[object]:
        """Run ``work`` beside the listeners, tracked so a shutdown waits for it."""
        task: asyncio.Task[object] = asyncio.ensure_future(work)
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)
        return task

    async def drain(self) -> None:
        """Let work already acknowledged to Slack finish before the process stops; what is
        still running after the grace period (an upgrade being watched) is cancelled: the
        next start re-attaches to it from the database."""
        current = asyncio.current_task()
        # Work that finishes may start more (a delivery the outbox retries, the next timed
        # action): a few rounds, so nothing is left pending when the loop closes.
        for _ in range(3):
            pending = [t for t in self.inflight if t is not current and not t.done()]
            if not pending:
                return
            _, left = await asyncio.wait(pending, timeout=self.shutdown_grace_seconds)
            for task in left:
                task.cancel()
            if left:
                await asyncio.wait(left, timeout=1.0)

    async def write(
        self, work: Callable[Concatenate[Database, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``work(db, ...)`` in one transaction, waiting for the write lock off the event loop
        (``storage.db.write_async``): every write the bot makes while it serves goes here, so
        another process holding the lock delays only the writes, never an ack (issue 15)."""
        return await write_async(self.db, work, *args, **kwargs)

    def window_changed(self, window: Window) -> None:
        for watcher in self.window_watchers:
            self.spawn(watcher(window))

    def now(self) -> datetime:
        return self.clock()

    @property
    def tz(self) -> ZoneInfo:
        return self.config.tz

    def system(self, name: str) -> SystemConfig:
        try:
            return self.config.systems[name]
        except KeyError:
            raise UnknownSystem(name, sorted(self.config.systems)) from None

    def adapter(self, name: str) -> AgentAdapter:
        """The system's adapter as the flows call it: counted and timed for /metrics;
        ``adapters`` holds the implementations themselves (fault drills, tests)."""
        self.system(name)
        return MeteredAdapter(name, self.adapters[name], self.metrics)
