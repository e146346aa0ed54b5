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
from bot.domain.errors import NotAllowed, UpgradeBotError
from bot.domain.gates import owed
from bot.domain.models import Window, WindowState
from bot.domain.schedule import ActionKind
from bot.domain.windows import to_slack_date
from bot.escape import escape
from bot.flows.details.flow import post_details
from bot.flows.go.flow import prompt_go
from bot.flows.precheck.flow import (
    accepted_run,
    publish_precheck,
    run_precheck,
    schedule_health_check,
    watch_drift,
)
from bot.flows.propose.flow import post_proposal, queue_proposal
from bot.flows.window.flow import _WHAT, expire
from bot.scheduler import Handler
from bot.threads import post_keyed, round_key
from storage import (
    ScheduledAction,
    get_window,
    latest_check_run,
    list_actions,
    list_windows,
    schedule_action,
)
from storage.outbox import is_owed_or_sent, parent_row

log = logging.getLogger(__name__)


# -- handlers -----------------------------------------------------------------------------


async def handle_precheck(ctx: BotContext, action: ScheduledAction) -> str:
    window = get_window(ctx.db, action.window_id)
    if window is None or window.state.is_terminal or window.state is WindowState.PROPOSED:
        return f"skipped: window is {window.state.value if window else 'gone'}"
    resumed = action.started_at is not None and action.status.value == "running"
    if resumed and action.started_at is not None:
        # Stopped after the pre-check was posted but before its action was marked done: it
        # ran, so it does not run (and upload to every agent) again (issue 15, D10).
        done = latest_check_run(ctx.db, window.id, "precheck")
        if done is not None and done.at >= action.started_at:
            if is_owed_or_sent(ctx.db, window.id, f"precheck:{done.id}"):
                return f"ran: run {done.id} (before the restart)"
            # It ran, and stopped before its results were owed to the thread: they are posted
            # now from what was recorded, without running (and uploading) again.
            await publish_precheck(ctx, window, done, accepted_run(ctx, window), search_thread=True)
            return f"posted: run {done.id} (ran before the restart)"
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
    await schedule_health_check(ctx, window)
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
    """Post a proposal Slack did not take the first time (an action stored before the
    proposal went through the outbox): its outbox row is written if missing and delivered;
    what Slack refuses the dispatcher keeps trying."""
    window = get_window(ctx.db, action.window_id)
    if window is None or window.message_ts is not None or window.state.is_terminal:
        return "skipped: already posted or ended"
    window = await post_proposal(ctx, window)
    return "posted" if window.message_ts else "owed: the outbox keeps trying"


async def handle_end(ctx: BotContext, action: ScheduledAction) -> str:
    """A window still waiting for its go when it ends never runs: it expires."""
    window = get_window(ctx.db, action.window_id)
    if window is None or window.state is not WindowState.READY:
        return f"skipped: window is {window.state.value if window else 'gone'}"
    return await expire(ctx, window)


DETAILS_RETRY = timedelta(minutes=1)


async def handle_details(ctx: BotContext, action: ScheduledAction) -> str:
    """Post the G2 checklist an approval owes. When the cluster cannot be read (or anything
    else fails), the thread says so once and the action is stored again a minute later, until
    the checklist is there; nobody has to notice it is missing (issue 15)."""
    window = get_window(ctx.db, action.window_id)
    if window is None or window.state is not WindowState.APPROVED:
        return f"skipped: window is {window.state.value if window else 'gone'}"
    try:
        await post_details(ctx, window)
    except NotAllowed as refused:  # the plan no longer holds: the thread already says why
        return f"skipped: {refused.message}"
    except Exception as error:
        reason = error.message if isinstance(error, UpgradeBotError) else type(error).__name__
        log.warning("%s: the checklist could not be made (%s); again soon", window.label, reason)
        due = ctx.now() + DETAILS_RETRY
        row = await ctx.write(
            schedule_action, window_id=window.id, kind=ActionKind.DETAILS, due_at=due, at=ctx.now()
        )
        if ctx.scheduler is not None:
            ctx.scheduler.arm(row)
        await post_keyed(
            ctx,
            window,
            round_key(ctx, window, "details_pending"),
            f"⚠️ The details checklist of {window.label} cannot be made yet: {escape(reason)}. "
            "The bot tries again every minute and posts it here.",
        )
        return f"retry: {reason}"
    return "posted"


HANDLERS: dict[str, Handler] = {
    ActionKind.DETAILS: handle_details,
    ActionKind.PRECHECK: handle_precheck,
    ActionKind.REMINDER: handle_reminder,
    ActionKind.START: handle_start,
    ActionKind.END: handle_end,
    ActionKind.POST: handle_post,
    ActionKind.HEALTH: handle_health,
}


async def reconcile(ctx: BotContext) -> list[str]:
    """At start-up, from the database alone: what a crash between two writes could strand
    (issue 15, item 4). A proposal stored but never posted is posted (and keeps trying); an
    approved window whose checklist was never attempted gets it. Returns what it repaired.
    A proposal stored with its outbox row is the dispatcher's; one stored before the outbox
    carried proposals (no row, no ts, no "post" action left) gets its row here."""
    repaired: list[str] = []
    for window in list_windows(ctx.db, states=[WindowState.PROPOSED]):
        pending = [a for a in list_actions(ctx.db, window_id=window.id) if a.kind == "post"]
        waiting = any(a.status.value in ("pending", "running") for a in pending)
        if window.message_ts is None and not waiting and parent_row(ctx.db, window.id) is None:
            log.warning("%s was stored but never posted; posting it", window.label)
            try:
                await queue_proposal(ctx, window)
            except Exception:  # one window that cannot be shown must not stop the start
                log.exception("%s: its proposal cannot be made", window.label)
                continue
            repaired.append(f"{window.label}: proposal")
    for window in list_windows(ctx.db, states=[WindowState.APPROVED]):
        owing = [
            a
            for a in list_actions(ctx.db, window_id=window.id)
            if a.kind == ActionKind.DETAILS and a.status.value in ("pending", "running")
        ]
        if owing:
            continue  # its checklist action runs (it was stored with the approval)
        if not is_owed_or_sent(ctx.db, window.id, round_key(ctx, window, "details")):
            log.warning("%s was approved without its checklist; posting it", window.label)
            ctx.spawn(_post_details(ctx, window))
            repaired.append(f"{window.label}: checklist")
    return repaired


async def _post_details(ctx: BotContext, window: Window) -> None:
    try:
        await post_details(ctx, window)
    except NotAllowed as refused:  # the plan no longer holds: the thread already says why
        log.info("%s: checklist not posted: %s", window.label, refused.message)
