"""The window's own life: cancel, expire, and the timed actions stored at approval."""

from __future__ import annotations

import logging

from bot import messages
from bot.blocks import mention
from bot.context import BotContext
from bot.domain.errors import NotAllowed
from bot.domain.gates import owed
from bot.domain.models import GateId, Window, WindowEvent, WindowState
from bot.domain.proposal import ProposalDetails, ProposalRequest
from bot.domain.schedule import PlannedAction, plan_actions
from bot.domain.windows import format_local, parse_start, to_slack_date
from bot.flows.propose.flow import (
    build_details,
    check_slot,
    read_cluster,
    refresh_proposal,
    send_back,
    warnings_for,
)
from bot.scheduler import drop_window_actions
from bot.threads import post_keyed, retire
from bot.transitions import load_window, move

log = logging.getLogger(__name__)


async def cancel(
    ctx: BotContext, window_id: int, user: str, reason: str | None, slack_action: str | None
) -> Window:
    window = load_window(ctx, window_id)
    await ctx.roles.require_cancel(user, proposer=window.proposer, window_label=window.label)
    window = await move(
        ctx, window, WindowEvent.CANCEL, actor=user, reason=reason, slack_action=slack_action
    )
    await after_close(ctx, window)
    await refresh_proposal(ctx, window, user)
    note = f"{window.label} was cancelled by <@{user}>: nothing more to do here."
    await retire(ctx, window, note)
    return window


_WHAT = {
    GateId.G1: "G1, approval of the window",
    GateId.G2: "G2, the details checklist",
    GateId.G3: "G3, acceptance of the pre-check",
    GateId.G4: "G4, the go",
}


def planned_actions(ctx: BotContext, window: Window) -> list[PlannedAction]:
    """The approved window's timed actions (pre-check, reminders, the go prompt, expiry)."""
    schedule = ctx.config.schedule
    return plan_actions(
        start=window.start,
        end=window.end,
        now=ctx.now(),
        precheck_lead=schedule.precheck_lead,
        reminders=schedule.reminders,
    )


async def after_close(ctx: BotContext, window: Window) -> None:
    """A window that ended (cancelled, rejected, expired) needs none of its pending actions."""
    await drop_window_actions(ctx, window.id)


async def expire(ctx: BotContext, window: Window) -> str:
    waiting = owed(window.state)
    what = _WHAT[waiting[0]] if waiting else "a gate"
    moment = "the end" if window.state is WindowState.READY else "the start"
    reason = f"{what} was still open at {moment}; nothing ran"
    try:
        window = await move(ctx, window, WindowEvent.EXPIRE, actor="upgradebot", reason=reason)
    except NotAllowed:
        return "skipped: state moved"
    await after_close(ctx, window)
    await refresh_proposal(ctx, window)
    await retire(ctx, window, f"{window.label} expired: {reason}.")
    people = mention(getattr(ctx.config.roles, waiting[1])) if waiting else ""
    await post_keyed(ctx, window, "expired", f"⌛ {messages.expired(window.label, reason, people)}")
    log.info("%s expired: %s", window.label, reason)
    return "expired"


_POSTPONABLE = (WindowState.PROPOSED, WindowState.APPROVED, WindowState.PLANNED, WindowState.READY)


async def postpone(
    ctx: BotContext, window_id: int, user: str, start_text: str, slack_action: str | None
) -> Window:
    """A new start for the window, the same length: re-checked for conflicts and blackouts,
    planned again from what the agents run now, and back to G1 for a fresh approval. Evidence
    already gathered stays in the record and is not reused."""
    window = load_window(ctx, window_id)
    await ctx.roles.require_cancel(user, proposer=window.proposer, window_label=window.label)
    if window.state not in _POSTPONABLE:
        raise NotAllowed(messages.cannot_postpone(window.label, window.state.value))
    now = ctx.now()
    local = parse_start(start_text, now=now, tz=ctx.tz)
    stored = ProposalDetails.model_validate(window.plan)
    request = ProposalRequest(
        window.system, stored.plan.target, local.at, window.length, tuple(local.warnings)
    )
    check_slot(ctx, request, window.length, now, ignore_window_id=window.id)
    cluster = await read_cluster(ctx, window.system)
    details = build_details(ctx, request, cluster)
    details = details.model_copy(
        update={"warnings": warnings_for(ctx, request, details, window.length)}
    )
    check_slot(ctx, request, window.length, ctx.now(), ignore_window_id=window.id)
    when = to_slack_date(local.at, "{date_short_pretty} {time}")
    reason = f"postponed by <@{user}> to {format_local(local.at, ctx.tz)}"
    reopened = await send_back(
        ctx,
        window,
        WindowEvent.POSTPONE,
        reason,
        details=details,
        start=local.at,
        actor=user,
        slack_action=slack_action,
    )
    approvers = mention(ctx.config.roles.approvers)
    await post_keyed(
        ctx,
        reopened,
        f"postponed:{reopened.revision}",
        f"⏩ {messages.postponed_to(reopened.label, when, f'<@{user}>', approvers)}",
    )
    return reopened
