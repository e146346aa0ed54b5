"""Timed actions: the database is the truth, APScheduler 3.11 is derived from it.

Every timed action (pre-check, reminder, the window's start) is a row in ``scheduled_actions``.
At start-up the scheduler is re-armed from the rows with stable job ids; an action that fell due
while the bot was down runs once at start-up, except a reminder whose moment passed by more
than its own lead (it would remind about something already over): that one is skipped and
logged. A row is claimed (pending -> running) before it runs, so it never runs twice; a row
left ``running`` by a crash is resumed once at start-up, and the handlers make their Slack
posts idempotent (they look for their own message in the thread before posting again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.context import BotContext
from bot.domain.schedule import PlannedAction, handler_name, is_background, is_too_late
from storage import (
    ActionStatus,
    Database,
    ScheduledAction,
    cancel_actions,
    claim_action,
    finish_action,
    get_action,
    list_actions,
    pending_actions,
    schedule_action,
)

log = logging.getLogger(__name__)

Handler = Callable[[BotContext, ScheduledAction], Awaitable[str]]


@dataclass(frozen=True)
class RearmReport:
    armed: int
    ran_late: int
    skipped: int
    resumed: int


async def drop_window_actions(ctx: BotContext, window_id: int) -> None:
    """Cancel a window's pending actions and take them off the scheduler (it ended, or went
    back to G1 and will get new ones)."""
    await ctx.write(cancel_actions, window_id, at=ctx.now())
    rearm_window(ctx, window_id, [])


def store_planned(
    db: Database, window_id: int, planned: Sequence[PlannedAction], now: datetime
) -> list[ScheduledAction]:
    """The planned timed actions as stored rows, in one transaction (``ctx.write``; idempotent:
    the same rows come back when they are stored already)."""
    return [
        schedule_action(db, window_id=window_id, kind=p.kind, due_at=p.due_at, at=now, revive=True)
        for p in planned
    ]


def rearm_window(ctx: BotContext, window_id: int, rows: list[ScheduledAction]) -> None:
    """The window's actions as the database now has them: every earlier job off the scheduler,
    ``rows`` (just stored) on it."""
    if ctx.scheduler is not None:
        ctx.scheduler.disarm([a.id for a in list_actions(ctx.db, window_id=window_id)])
    arm_all(ctx, rows)


def arm_all(ctx: BotContext, rows: list[ScheduledAction]) -> None:
    if ctx.scheduler is not None:
        for row in rows:
            ctx.scheduler.arm(row)


def job_id(action_id: int) -> str:
    return f"action-{action_id}"


async def fire_action(scheduler: Scheduler, action_id: int) -> None:
    """The APScheduler job: a named module-level coroutine that hands over to the shell."""
    await scheduler.run_action(action_id)


class Scheduler:
    def __init__(
        self, ctx: BotContext, handlers: dict[str, Handler], tick_seconds: float = 30.0
    ) -> None:
        self.ctx = ctx
        self.handlers = handlers
        self._aps = AsyncIOScheduler(timezone=UTC)
        # Time from one clock (issue 15, item 7): APScheduler counts wall-clock delays, so a
        # host clock stepped back would hold every armed job by the step. A short tick runs
        # what is due by the bot's own clock whatever the jobs think.
        self.tick_seconds = tick_seconds
        self._tick: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return bool(self._aps.running)

    async def start(self) -> RearmReport:
        self._aps.start()
        report = await self.rearm()
        if self.tick_seconds > 0:
            self._tick = asyncio.ensure_future(self._ticking())
        return report

    async def shutdown(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick
            self._tick = None
        if self._aps.running:
            self._aps.shutdown(wait=False)

    async def _ticking(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            try:
                await self.run_due(rearm=False)
            except Exception:  # the tick must outlive any one action's failure
                log.exception("the scheduler's tick failed; ticking on")

    def arm(self, action: ScheduledAction) -> None:
        """Add (or replace) the job that runs ``action`` at its due time."""
        if not self._aps.running:
            return
        # APScheduler counts wall-clock time; the bot's clock may run ahead of it (the sandbox's
        # time travel, tests), so the job fires after the delay the bot's clock sees.
        run_date = datetime.now(UTC) + max(action.due_at - self.ctx.now(), timedelta(0))
        self._aps.add_job(
            fire_action,
            DateTrigger(run_date=run_date),
            args=[self, action.id],
            id=job_id(action.id),
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    def disarm(self, action_ids: list[int]) -> None:
        for action_id in action_ids:
            job = self._aps.get_job(job_id(action_id))
            if job is not None:
                job.remove()

    async def rearm(self) -> RearmReport:
        now = self.ctx.now()
        armed = ran_late = skipped = resumed = 0
        for action in list_actions(self.ctx.db, statuses=[ActionStatus.RUNNING]):
            log.warning("resuming action %s (%s) interrupted by a stop", action.id, action.kind)
            await self._execute(action)
            resumed += 1
        for action in pending_actions(self.ctx.db):
            if action.due_at > now:
                self.arm(action)
                armed += 1
            elif is_too_late(action.kind, action.due_at, now):
                await self._skip(action, now)
                skipped += 1
            else:
                await self.run_action(action.id)
                ran_late += 1
        return RearmReport(armed, ran_late, skipped, resumed)

    async def _skip(self, action: ScheduledAction, now: datetime) -> None:
        if await self.ctx.write(claim_action, action.id, at=now):
            await self.ctx.write(finish_action, action.id, at=now, outcome="skipped: too late")
        log.info(
            "skipped %s %s for window #%s: due %s, now %s",
            action.kind,
            action.id,
            action.window_id,
            action.due_at,
            now,
        )

    async def run_action(self, action_id: int) -> str | None:
        """Claim and run one action; None when someone else already ran or claimed it."""
        if not await self.ctx.write(claim_action, action_id, at=self.ctx.now()):
            return None
        action = get_action(self.ctx.db, action_id)
        if action is None:
            return None
        return await self._execute(action)

    async def _execute(self, action: ScheduledAction) -> str:
        handler = self.handlers.get(handler_name(action.kind))
        self.ctx.track()
        if handler is None:
            outcome = f"error: no handler for {action.kind}"
        else:
            try:
                outcome = await handler(self.ctx, action)
            except Exception as error:  # a failed job must not kill the scheduler
                log.exception("action %s (%s) failed", action.id, action.kind)
                outcome = f"error: {type(error).__name__}"
        await self.ctx.write(finish_action, action.id, at=self.ctx.now(), outcome=outcome)
        return outcome

    async def run_due(self, *, rearm: bool = True) -> int:
        """Run every pending action whose time has come by the context's clock (the tick, the
        sandbox, tests); ``rearm`` re-arms the rest afterwards (after the clock jumped)."""
        count = 0
        while True:
            now = self.ctx.now()
            due = [a for a in pending_actions(self.ctx.db) if a.due_at <= now]
            if not due:
                if rearm:
                    self.rearm_future()
                return count
            action = due[0]
            self.disarm([action.id])
            if is_too_late(action.kind, action.due_at, now):
                await self._skip(action, now)
                continue
            if await self.run_action(action.id) is not None:
                count += 1

    def rearm_future(self) -> None:
        """Re-arm every pending action after the bot's clock jumped (the sandbox)."""
        for action in pending_actions(self.ctx.db):
            self.arm(action)

    def next_due(self, *, visible_only: bool = False) -> datetime | None:
        """When the next pending action is due; ``visible_only`` skips background health
        checks (the sandbox's "Next" travels to what a person sees)."""
        actions = pending_actions(self.ctx.db)
        if visible_only:
            actions = [a for a in actions if not is_background(a.kind)]
        return min((a.due_at for a in actions), default=None)
