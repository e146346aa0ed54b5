"""G1 decisions and cancellation: who may, the compare-and-set, and re-rendering the proposal.

The decision is stored before Slack is told; a Slack failure after that never loses it.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot import blocks, messages
from bot.context import BotContext
from bot.domain.errors import NotAllowed, UnknownWindow
from bot.domain.gates import next_state
from bot.domain.models import GateId, Window, WindowEvent, WindowState
from bot.proposals import ProposalDetails
from storage import StaleState, get_window, transition

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
    if not await ctx.roles.is_approver(user):
        raise NotAllowed(messages.not_an_approver(user))
    if ctx.config.four_eyes and user == window.proposer:
        raise NotAllowed(messages.four_eyes(user))


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
    to = next_state(window.id, window.state, event)
    try:
        window = transition(
            ctx.db,
            window.id,
            expected=WindowState.PROPOSED,
            to=to,
            actor=user,
            action=event.value,
            at=ctx.now(),
            slack_action=slack_action,
            gate=GateId.G1,
            decision=event.value,
            reason=reason,
        )
    except StaleState as stale:
        current = stale.window
        raise NotAllowed(
            messages.already_decided(current.label, current.state.value, current.decided_by)
        ) from None
    await refresh_proposal(ctx, window)
    return window


async def cancel(
    ctx: BotContext, window_id: int, user: str, reason: str | None, slack_action: str | None
) -> Window:
    window = load(ctx, window_id)
    allowed = (
        user == window.proposer
        or await ctx.roles.is_approver(user)
        or await ctx.roles.is_operator(user)
    )
    if not allowed:
        raise NotAllowed(messages.may_not_cancel(user, window.label))
    to = next_state(window.id, window.state, WindowEvent.CANCEL)
    try:
        window = transition(
            ctx.db,
            window.id,
            expected=window.state,
            to=to,
            actor=user,
            action=WindowEvent.CANCEL.value,
            at=ctx.now(),
            slack_action=slack_action,
            reason=reason,
        )
    except StaleState as stale:
        current = stale.window
        raise NotAllowed(
            messages.already_decided(current.label, current.state.value, current.decided_by)
        ) from None
    await refresh_proposal(ctx, window)
    return window


async def refresh_proposal(ctx: BotContext, window: Window) -> None:
    """Re-render the proposal message from the stored window (buttons → who decided)."""
    if not (window.channel and window.message_ts):
        return
    details = ProposalDetails.model_validate(window.plan)
    try:
        await ctx.client.chat_update(
            channel=window.channel,
            ts=window.message_ts,
            text=blocks.proposal_text(window, details, ctx.tz),
            blocks=blocks.proposal(window, details, ctx.tz),
        )
        await ctx.client.chat_postMessage(
            channel=window.channel,
            thread_ts=window.message_ts,
            text=blocks.decision_line(window),
        )
    except SlackApiError as error:
        # The decision is stored; only its display is behind. /upgrade status shows the truth.
        log.error("updating %s in Slack failed: %s", window.label, error.response.get("error"))
