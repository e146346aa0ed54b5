"""G1 decisions: who may, the compare-and-set, and re-rendering the proposal; after an approval,
the timed actions and the details checklist.

The decision is stored before Slack is told; a Slack failure after that never loses it.
"""

from __future__ import annotations

import logging

from bot import messages
from bot.context import BotContext
from bot.domain.errors import NotAllowed
from bot.domain.models import GateId, Window, WindowEvent, WindowState
from bot.domain.schedule import ActionKind, PlannedAction
from bot.flows.details.flow import post_details
from bot.flows.propose.flow import refresh_proposal
from bot.flows.window.flow import after_close, planned_actions
from bot.scheduler import arm_all, store_planned
from bot.transitions import load_window, move
from storage import Database, ScheduledAction

log = logging.getLogger(__name__)


async def check_approver(ctx: BotContext, window: Window, user: str) -> None:
    """Raise NotAllowed with the sentence the clicker sees."""
    if window.state is not WindowState.PROPOSED:
        raise NotAllowed(
            messages.already_decided(window.label, window.state.value, window.decided_by)
        )
    await ctx.roles.require(
        GateId.G1, user, proposer=window.proposer, four_eyes=ctx.config.four_eyes
    )


async def decide(
    ctx: BotContext,
    window_id: int,
    user: str,
    event: WindowEvent,
    *,
    reason: str | None = None,
    slack_action: str | None = None,
) -> Window:
    window = load_window(ctx, window_id)
    await check_approver(ctx, window, user)
    rows: list[ScheduledAction] = []

    def schedule(db: Database, moved: Window) -> None:
        if moved.state is WindowState.APPROVED:
            now = ctx.now()
            # The checklist first: an action due now, so the approval owes it durably.
            owed = [PlannedAction(ActionKind.DETAILS, now), *planned_actions(ctx, moved)]
            rows.extend(store_planned(db, moved.id, owed, now))

    # The timed actions are stored in the same transaction as the approval, before Slack hears
    # of it: neither a crash nor a Slack outage can leave an approved window without its
    # pre-check, reminders and expiry.
    window = await move(
        ctx,
        window,
        event,
        actor=user,
        gate=GateId.G1,
        reason=reason,
        slack_action=slack_action,
        then=schedule,
    )
    arm_all(ctx, rows)
    if window.state is not WindowState.APPROVED:
        await after_close(ctx, window)
    await refresh_proposal(ctx, window)
    if window.state is WindowState.APPROVED:
        await after_approval(ctx, window, rows)
    return window


async def after_approval(ctx: BotContext, window: Window, rows: list[ScheduledAction]) -> None:
    """Post the details checklist (its action, stored with the approval, is due now and is
    tried again until the checklist is in the thread); the pre-check too when it is already
    due (approved less than precheck_lead before the start)."""
    scheduler = ctx.scheduler
    if scheduler is None:  # no scheduler (a tool, a test without one): post it directly
        await post_details(ctx, window)
        return
    now = ctx.now()
    for row in rows:  # this window's only: the others' due actions are the tick's to run
        if row.due_at <= now:
            scheduler.disarm([row.id])
            await scheduler.run_action(row.id)
