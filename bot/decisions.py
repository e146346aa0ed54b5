"""G1 decisions and cancellation: who may, the compare-and-set, and re-rendering the proposal.

The decision is stored before Slack is told; a Slack failure after that never loses it.
"""

from __future__ import annotations

import logging

from bot import messages
from bot.context import BotContext
from bot.domain.errors import NotAllowed, UnknownWindow
from bot.domain.models import GateId, Window, WindowEvent, WindowState
from bot.lifecycle import after_approval, after_close, schedule_window
from bot.proposals import refresh_proposal
from bot.transitions import move
from storage import get_window

log = logging.getLogger(__name__)


def load(ctx: BotContext, window_id: int) -> Window:
    window = get_window(ctx.db, window_id)
    if window is None:
        raise UnknownWindow(f"#{window_id}")
    return window


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
    window = load(ctx, window_id)
    await check_approver(ctx, window, user)
    window = move(
        ctx, window, event, actor=user, gate=GateId.G1, reason=reason, slack_action=slack_action
    )
    # The timed actions are stored before Slack hears of the decision: a Slack outage now
    # loses nothing, and whoever sees "Approved" can rely on the schedule being there.
    rows = schedule_window(ctx, window) if window.state is WindowState.APPROVED else []
    if window.state is not WindowState.APPROVED:
        after_close(ctx, window)
    await refresh_proposal(ctx, window)
    if window.state is WindowState.APPROVED:
        await after_approval(ctx, window, rows)
    return window


async def cancel(
    ctx: BotContext, window_id: int, user: str, reason: str | None, slack_action: str | None
) -> Window:
    window = load(ctx, window_id)
    await ctx.roles.require_cancel(user, proposer=window.proposer, window_label=window.label)
    window = move(
        ctx, window, WindowEvent.CANCEL, actor=user, reason=reason, slack_action=slack_action
    )
    after_close(ctx, window)
    await refresh_proposal(ctx, window, user)
    return window
