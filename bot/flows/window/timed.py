"""What happens to a window over time: actions scheduled at approval, and their handlers.

At approval: the details checklist is posted, and rows are stored for the pre-check
(``start - precheck_lead``, or at once when that moment has passed), a reminder per configured
lead, and the window's start (which either expires the window, because a gate is still open, or
asks for the go). Cancellation cancels the rows.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.blocks import mention
from bot.context import BotContext
from bot.domain.durations import format_duration
from bot.domain.errors import NotAllowed
from bot.domain.gates import owed
from bot.domain.models import WindowState
from bot.domain.schedule import ActionKind
from bot.domain.windows import to_slack_date
from bot.flows.go.flow import prompt_go
from bot.flows.precheck.flow import run_precheck, schedule_health_check, watch_drift
from bot.flows.propose.flow import post_proposal
from bot.flows.window.flow import _WHAT, expire
from bot.scheduler import Handler
from bot.threads import post_keyed
from storage import (
    ScheduledAction,
    get_window,
)

log = logging.getLogger(__name__)


# -- handlers -----------------------------------------------------------------------------


async def handle_precheck(ctx: BotContext, action: ScheduledAction) -> str:
    window = get_window(ctx.db, action.window_id)
    if window is None or window.state.is_terminal or window.state is WindowState.PROPOSED:
        return f"skipped: window is {window.state.value if window else 'gone'}"
    resumed = action.started_at is not None and action.status.value == "running"
    try:
        run = await run_precheck(ctx, window, search_thread=resumed)
    except NotAllowed as refused:  # the plan no longer holds: the thread says why
        return f"skipped: {refused.message}"
    return f"ran: run {run.id}"


async def handle_health(ctx: BotContext, action: ScheduledAction) -> str:
    """The periodic drift check between an accepted pre-check and the go."""
    window = get_window(ctx.db, action.window_id)
    if window is None or window.state is not WindowState.READY or ctx.now() >= window.start:
        return f"skipped: window is {window.state.value if window else 'gone'}"
    if await watch_drift(ctx, window):
        return "health changed: G3 reopened"
    schedule_health_check(ctx, window)
    return "health unchanged"


async def handle_reminder(ctx: BotContext, action: ScheduledAction) -> str:
    window = get_window(ctx.db, action.window_id)
    if window is not None and window.state is WindowState.READY and ctx.now() < window.start:
        await watch_drift(ctx, window)  # the reminder says what is owed after this look
        window = get_window(ctx.db, action.window_id)
    waiting = owed(window.state) if window is not None else None
    if window is None or waiting is None or waiting[0] not in _WHAT:
        return "skipped: nothing owed"
    if ctx.now() >= window.start:
        return "skipped: the start has come"
    what, role = _WHAT[waiting[0]], waiting[1]
    people = getattr(ctx.config.roles, role)
    starts = to_slack_date(window.start, "{date_short_pretty} {time}")
    left = format_duration(max(window.start - ctx.now(), timedelta(0)))
    text = (
        f"⏰ {window.label} starts {starts} (in {left}). Still owed: {what}. "
        f"{mention(people) or '(no ' + role + ' configured)'}"
    )
    await post_keyed(ctx, window, f"reminder:{action.id}", text, search_thread=True)
    return f"reminded {role}"


async def handle_start(ctx: BotContext, action: ScheduledAction) -> str:
    window = get_window(ctx.db, action.window_id)
    if window is None or window.state.is_terminal:
        return "skipped: window already ended"
    if window.state in (WindowState.PROPOSED, WindowState.APPROVED, WindowState.PLANNED):
        return await expire(ctx, window)
    if window.state is WindowState.READY:
        await prompt_go(ctx, window)
        return "asked for the go"
    return f"skipped: window is {window.state.value}"


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
    ActionKind.HEALTH: handle_health,
}
