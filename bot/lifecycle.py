"""What happens to a window over time: actions scheduled at approval, and their handlers.

At approval: the details checklist is posted, and rows are stored for the pre-check
(``start - precheck_lead``, or at once when that moment has passed), a reminder per configured
lead, and the window's start (which either expires the window, because a gate is still open, or
asks for the go). Cancellation cancels the rows.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot import details
from bot.context import BotContext
from bot.domain.errors import NotAllowed
from bot.domain.gates import owed
from bot.domain.models import GateId, Window, WindowEvent, WindowState
from bot.domain.schedule import ActionKind, plan_actions
from bot.domain.windows import to_slack_date
from bot.gate_blocks import mention
from bot.precheck import run_precheck
from bot.proposals import post_proposal, refresh_proposal
from bot.scheduler import Handler
from bot.threads import post_keyed
from bot.transitions import move
from storage import (
    ScheduledAction,
    cancel_actions,
    get_window,
    list_actions,
    schedule_action,
)

log = logging.getLogger(__name__)

_WHAT = {
    GateId.G1: "G1, approval of the window",
    GateId.G2: "G2, the details checklist",
    GateId.G3: "G3, acceptance of the pre-check",
    GateId.G4: "G4, the go",
}


def store_actions(ctx: BotContext, window: Window) -> list[ScheduledAction]:
    """Store the window's timed actions (idempotent: the same rows come back)."""
    now = ctx.now()
    schedule = ctx.config.schedule
    planned = plan_actions(
        start=window.start,
        end=window.end,
        now=now,
        precheck_lead=schedule.precheck_lead,
        reminders=schedule.reminders,
    )
    return [
        schedule_action(ctx.db, window_id=window.id, kind=p.kind, due_at=p.due_at, at=now)
        for p in planned
    ]


def schedule_window(ctx: BotContext, window: Window) -> list[ScheduledAction]:
    """Store the approved window's timed actions and arm them."""
    rows = store_actions(ctx, window)
    if ctx.scheduler is not None:
        for row in rows:
            ctx.scheduler.arm(row)
    return rows


async def after_approval(ctx: BotContext, window: Window, rows: list[ScheduledAction]) -> None:
    """Post the details checklist; run the pre-check at once when it is already due."""
    scheduler = ctx.scheduler
    await details.post_details(ctx, window)
    if scheduler is not None and any(r.due_at <= ctx.now() for r in rows):
        # Approved less than precheck_lead before the start: the pre-check runs at once.
        await scheduler.run_due()


def after_close(ctx: BotContext, window: Window) -> None:
    """A window that ended (cancelled, rejected, expired) needs none of its pending actions."""
    cancel_actions(ctx.db, window.id, at=ctx.now())
    if ctx.scheduler is not None:
        ctx.scheduler.disarm([a.id for a in list_actions(ctx.db, window_id=window.id)])


# -- handlers -----------------------------------------------------------------------------


async def handle_precheck(ctx: BotContext, action: ScheduledAction) -> str:
    window = get_window(ctx.db, action.window_id)
    if window is None or window.state.is_terminal or window.state is WindowState.PROPOSED:
        return f"skipped: window is {window.state.value if window else 'gone'}"
    resumed = action.started_at is not None and action.status.value == "running"
    run = await run_precheck(ctx, window, search_thread=resumed)
    return f"ran: run {run.id}"


async def handle_reminder(ctx: BotContext, action: ScheduledAction) -> str:
    window = get_window(ctx.db, action.window_id)
    waiting = owed(window.state) if window is not None else None
    if window is None or waiting is None or waiting[0] not in _WHAT:
        return "skipped: nothing owed"
    if ctx.now() >= window.start:
        return "skipped: the start has come"
    what, role = _WHAT[waiting[0]], waiting[1]
    people = getattr(ctx.config.roles, role)
    starts = to_slack_date(window.start, "{date_short_pretty} {time}")
    left = _left(window.start - ctx.now())
    text = (
        f"⏰ {window.label} starts {starts} (in {left}). Still owed: {what}. "
        f"{mention(people) or '(no ' + role + ' configured)'}"
    )
    await post_keyed(ctx, window, f"reminder:{action.id}", text, search_thread=True)
    return f"reminded {role}"


def _left(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


async def handle_start(ctx: BotContext, action: ScheduledAction) -> str:
    window = get_window(ctx.db, action.window_id)
    if window is None or window.state.is_terminal:
        return "skipped: window already ended"
    if window.state in (WindowState.PROPOSED, WindowState.APPROVED, WindowState.PLANNED):
        return await expire(ctx, window)
    if window.state is WindowState.READY:
        from bot.go import prompt_go

        await prompt_go(ctx, window)
        return "asked for the go"
    return f"skipped: window is {window.state.value}"


async def expire(ctx: BotContext, window: Window) -> str:
    waiting = owed(window.state)
    what = _WHAT[waiting[0]] if waiting else "a gate"
    moment = "the end" if window.state is WindowState.READY else "the start"
    reason = f"{what} was still open at {moment}; nothing ran"
    try:
        window = move(ctx, window, WindowEvent.EXPIRE, actor="upgradebot", reason=reason)
    except NotAllowed:
        return "skipped: state moved"
    after_close(ctx, window)
    await refresh_proposal(ctx, window)
    log.info("%s expired: %s", window.label, reason)
    return "expired"


async def handle_post(ctx: BotContext, action: ScheduledAction) -> str:
    """Post a proposal Slack did not take the first time."""
    window = get_window(ctx.db, action.window_id)
    if window is None or window.message_ts is not None or window.state.is_terminal:
        return "skipped: already posted or ended"
    window = await post_proposal(ctx, window)
    return "posted" if window.message_ts else "failed again: retrying"


async def handle_end(ctx: BotContext, action: ScheduledAction) -> str:
    """A window still waiting for its go when it ends never runs: it expires."""
    window = get_window(ctx.db, action.window_id)
    if window is None or window.state is not WindowState.READY:
        return f"skipped: window is {window.state.value if window else 'gone'}"
    return await expire(ctx, window)


HANDLERS: dict[str, Handler] = {
    ActionKind.PRECHECK: handle_precheck,
    ActionKind.REMINDER: handle_reminder,
    ActionKind.START: handle_start,
    ActionKind.END: handle_end,
    ActionKind.POST: handle_post,
}
