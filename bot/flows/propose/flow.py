"""Proposing a window: parse, read the cluster, plan, validate, store, post.

The cheap checks (system, version, time, length, blackout, overlap) run before Slack's ack so a
typo gets its answer at once; the cluster read and the plan run after it.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
from datetime import datetime, timedelta
from typing import Any

from bot import messages
from bot.agents.models import AdapterError, AgentInfo, Cluster
from bot.blocks import mention
from bot.context import BotContext
from bot.domain.catalog import stale_catalog_sentence
from bot.domain.durations import format_duration
from bot.domain.errors import InputError, NotAllowed, UpgradeBotError
from bot.domain.estimates import estimate_duration
from bot.domain.models import Blackout, Window, WindowEvent, WindowState
from bot.domain.paths import plan_upgrade
from bot.domain.proposal import (
    AgentLine,
    ProposalDetails,
    ProposalRequest,
    default_length,
)
from bot.domain.replan import PlanVerdict, recheck_plan
from bot.domain.schedule import proposal_actions
from bot.domain.windows import describe as describe_dst
from bot.domain.windows import dst_transitions, parse_length, parse_start, validate_window
from bot.escape import escape
from bot.flows.propose import blocks
from bot.outbox import Undelivered, deliver, ensure_dispatcher, failed, give_up, is_permanent
from bot.scheduler import arm_all, drop_window_actions, rearm_window, store_planned
from bot.threads import post_keyed, retire, round_key
from bot.transitions import lost_race, move
from storage import (
    Database,
    ScheduledAction,
    StaleState,
    cancel_actions,
    create_window,
    get_window,
    list_steps,
    measured_startups,
    open_windows,
    reopen_for_approval,
)
from storage.outbox import PARENT_KEY, OutboxMessage, parent_row, queue_message

log = logging.getLogger(__name__)


def read_request(
    ctx: BotContext, system: str, target: str, start: str, length: str | None, now: datetime
) -> ProposalRequest:
    """Turn the typed words into a request, or raise the InputError that says what is wrong."""
    ctx.system(system)
    release = ctx.catalog.resolve(target)
    local = parse_start(start, now=now, tz=ctx.tz)
    duration = parse_length(length) if length else None
    request = ProposalRequest(system, release, local.at, duration, tuple(local.warnings))
    if duration is not None:
        check_slot(ctx, request, duration, now)
    return request


def check_slot(
    ctx: BotContext,
    request: ProposalRequest,
    length: timedelta,
    now: datetime,
    ignore_window_id: int | None = None,
) -> list[str]:
    return validate_window(
        ignore_window_id=ignore_window_id,
        system=request.system,
        start=request.start,
        end=request.start + length,
        now=now,
        tz=ctx.tz,
        windows=open_windows(ctx.db, request.system),
        blackouts=blackouts(ctx),
    )


def blackouts(ctx: BotContext) -> list[Blackout]:
    return [
        Blackout(name=name, start=start, end=end)
        for name, start, end in ctx.config.local_blackouts()
    ]


async def read_cluster(ctx: BotContext, system: str) -> Cluster:
    adapter = ctx.adapter(system)
    try:
        return await asyncio.wait_for(adapter.get_cluster(), ctx.adapter_timeout_seconds)
    except TimeoutError:
        raise UpgradeBotError(messages.adapter_unreachable(system, "no answer in time")) from None
    except AdapterError as error:
        raise UpgradeBotError(messages.adapter_unreachable(system, str(error))) from None


def build_details(ctx: BotContext, request: ProposalRequest, cluster: Cluster) -> ProposalDetails:
    versions = {agent.name: agent.version for agent in cluster.agents}
    today = ctx.now().date()
    stated = ctx.system(request.system).current_release
    plan = plan_upgrade(
        ctx.catalog, versions, request.target, ctx.known_issues, today=today, stated=stated
    )
    if not any(agent.failover_partner for agent in cluster.agents):
        # Issues that only concern Failover pairs do not apply to a cluster without any.
        only_pairs = {m.message for m in plan.known_issues if m.scope == "failover"}
        plan = plan.model_copy(
            update={
                "warnings": [w for w in plan.warnings if w not in only_pairs],
                "known_issues": [m for m in plan.known_issues if m.scope != "failover"],
            }
        )
    startup, source = startup_time(ctx, request.system)
    estimate = estimate_duration(plan, len(cluster.agents), startup)
    return ProposalDetails(
        agents=[_agent_line(ctx, agent) for agent in cluster.agents],
        plan=plan,
        estimate=estimate,
        warnings=[],
        startup_source=source,
        startup=startup,
    )


def startup_time(ctx: BotContext, system: str) -> tuple[timedelta, str]:
    """The slowest agent's start-up for the estimate: the median of what earlier upgrades of
    this system measured, or the configured ``startup_time`` until there is such history."""
    measured = measured_startups(ctx.db, system)
    if measured:
        seconds = statistics.median(measured)
        return timedelta(seconds=seconds), (
            f"start-up {format_duration(timedelta(seconds=seconds))}, measured "
            f"(median of {len(measured)} earlier step(s))"
        )
    configured = ctx.system(system).startup_time
    return (
        configured,
        f"start-up {format_duration(configured)}, from the config (nothing measured yet)",
    )


def _agent_line(ctx: BotContext, agent: AgentInfo) -> AgentLine:
    try:
        label = ctx.catalog.identify(agent.version).label
    except InputError:
        label = agent.version
    return AgentLine(
        name=agent.name,
        version=label,
        raw_version=agent.version,
        state=str(agent.state),
        failover_partner=agent.failover_partner,
    )


def warnings_for(
    ctx: BotContext, request: ProposalRequest, details: ProposalDetails, length: timedelta
) -> list[str]:
    found = list(request.warnings)
    for change in dst_transitions(request.start, request.start + length, ctx.tz):
        found.append("Daylight-saving change inside the window: " + describe_dst(change, ctx.tz))
    if details.estimate.high > length:
        found.append(
            f"The estimate (up to {format_duration(details.estimate.high)}) is longer than the "
            f"window ({format_duration(length)})."
        )
    pairs = sorted({a.name for a in details.agents if a.failover_partner})
    if pairs:
        found.append(
            "Failover pair (" + ", ".join(pairs) + "): upgrade with *Upgrade main and backup "
            "Agent simultaneously*."
        )
    found.extend(details.plan.warnings)
    stale = stale_catalog_sentence(ctx.catalog, ctx.now().date(), ctx.config.catalog_max_age)
    if stale:
        found.append(stale)
    return found


async def propose(
    ctx: BotContext, request: ProposalRequest, user: str, slack_action: str
) -> Window:
    """Plan, store and post a proposal. Raises before storing anything if it is not valid."""
    cluster = await read_cluster(ctx, request.system)
    details = build_details(ctx, request, cluster)
    length = request.length or default_length(details.estimate)
    now = ctx.now()
    # No await between this check and the insert: two proposals cannot both pass it.
    check_slot(ctx, request, length, now)
    details = details.model_copy(update={"warnings": warnings_for(ctx, request, details, length)})
    system = ctx.system(request.system)
    window, actions = await ctx.write(
        _store_proposal,
        ctx,
        system=request.system,
        target=request.target.label,
        start=request.start,
        end=request.start + length,
        proposer=user,
        created_at=now,
        plan=details.model_dump(mode="json"),
        channel=system.channel,
        slack_action=slack_action,
    )
    arm_all(ctx, actions)
    return await post_proposal(ctx, window)


def _store_proposal(
    db: Database, ctx: BotContext, /, **fields: Any
) -> tuple[Window, list[ScheduledAction]]:
    """One transaction (``ctx.write``): the window, its proposal message owed to the channel
    (an outbox row) and the proposal's own timed actions. A crash leaves all or none."""
    window = create_window(db, **fields)
    _queue_parent(db, ctx, window)
    planned = proposal_actions(
        start=window.start, now=window.created_at, reminders=ctx.config.schedule.reminders
    )
    return window, store_planned(db, window.id, planned, window.created_at)


def _queue_parent(
    db: Database,
    ctx: BotContext,
    window: Window,
    actor: str | None = None,
    halted_at: int | None = None,
) -> OutboxMessage:
    """Record what the window's proposal must show now (its outbox row, ``PARENT_KEY``): the
    first post, or an edit of it; the newest content is what Slack gets."""
    details = ProposalDetails.model_validate(window.plan)
    return queue_message(
        db,
        window_id=window.id,
        key=PARENT_KEY,
        channel=window.channel or ctx.system(window.system).channel,
        thread_ts=None,
        text=blocks.proposal_text(window, details, ctx.tz),
        blocks=blocks.proposal(window, details, ctx.tz, actor, halted_at),
        at=ctx.now(),
    )


async def post_proposal(ctx: BotContext, window: Window) -> Window:
    """Deliver the stored proposal (its outbox row, written now if the window was stored
    before the proposal went through the outbox). When Slack does not take it at once, the
    dispatcher keeps trying, first looking in the channel for a post whose answer was lost;
    the window stays stored either way, and the returned window says whether it is posted."""
    row = parent_row(ctx.db, window.id)
    if row is None or row.status == "refused":
        row = await ctx.write(_queue_parent, ctx, window)
    await _deliver_parent(ctx, window, row)
    return get_window(ctx.db, window.id) or window


def proposal_reply(ctx: BotContext, window: Window) -> str:
    """What the proposer is told: where it was posted, that it is stored and being posted, or
    that Slack refuses it for good (and what to check)."""
    row = parent_row(ctx.db, window.id)
    if window.message_ts is None and row is not None and row.status == "refused":
        return messages.proposal_refused(window.label, row.channel, row.last_error or "refused")
    return messages.proposal_outcome(window.label, window.channel, window.message_ts)


async def queue_proposal(ctx: BotContext, window: Window) -> None:
    """Owe the window's proposal to its channel (start-up repair of a window stored before the
    proposal went through the outbox): the dispatcher posts it."""
    if parent_row(ctx.db, window.id) is None:
        await ctx.write(_queue_parent, ctx, window)
    ensure_dispatcher(ctx)


async def _deliver_parent(ctx: BotContext, window: Window, row: OutboxMessage) -> None:
    if row.status != "pending":
        return
    if row.attempts:
        ensure_dispatcher(ctx)  # an earlier attempt failed: the dispatcher looks first
        return
    try:
        await deliver(ctx, row)
    except Undelivered as error:
        if is_permanent(error):
            await give_up(ctx, row, error)
            return
        await failed(ctx, row, error)
        log.warning("the proposal of %s is not in Slack yet (%s); retrying", window.label, error)
        ensure_dispatcher(ctx)


async def refresh_proposal(
    ctx: BotContext, window: Window, actor: str | None = None, *, announce: bool = True
) -> None:
    """Re-render the proposal from the stored window (buttons → who decided), and say the
    decision once in the thread. The edit is recorded first (the proposal's outbox row) and
    retried until Slack takes it, the newest content winning; a proposal not posted yet is
    posted with it."""
    if not window.channel:
        return
    halted_at = halted_step_number(ctx, window)
    row = await ctx.write(_queue_parent, ctx, window, actor, halted_at)
    await _deliver_parent(ctx, window, row)
    ctx.window_changed(window)  # the Home tabs showing it
    if announce:
        await post_keyed(
            ctx,
            window,
            round_key(ctx, window, f"state:{window.state.value}"),
            blocks.decision_line(window, actor),
        )


def halted_step_number(ctx: BotContext, window: Window) -> int | None:
    """The step a running upgrade stopped at (failed or unknown), waiting for a person."""
    if window.state is not WindowState.EXECUTING:
        return None
    steps = list_steps(ctx.db, window.id)
    last = steps[-1] if steps else None
    return last.position if last is not None and last.status in ("failed", "unknown") else None


async def recheck(ctx: BotContext, window: Window, gate: str, *, strict: bool = True) -> None:
    """Before ``gate`` acts: derive the plan again from the agents' versions now. When it no
    longer holds, the window goes back to G1 with the new plan (or is closed when there is
    nothing left to do, or stays where it is when no plan can be made), the thread says why,
    and NotAllowed tells the caller not to act. When the cluster cannot be read, ``strict``
    refuses (the gate cannot confirm the plan); otherwise the caller's own checks say so."""
    stored = ProposalDetails.model_validate(window.plan)
    try:
        cluster = await read_cluster(ctx, window.system)
    except UpgradeBotError:
        if strict:
            raise
        return
    versions = {agent.name: agent.version for agent in cluster.agents}
    check = recheck_plan(ctx.catalog, stored.plan, versions, ctx.known_issues)
    if check.holds:
        return
    said = escape(check.reason)  # it may quote what the DMS reported
    if check.verdict is PlanVerdict.CHANGED:
        request = ProposalRequest(window.system, stored.plan.target, window.start, window.length)
        details = build_details(ctx, request, cluster)
        details = details.model_copy(
            update={"warnings": warnings_for(ctx, request, details, window.length)}
        )
        text = messages.plan_changed(window.label, gate, said, _approvers(ctx))
        await send_back(ctx, window, WindowEvent.REPLAN, check.reason, details=details)
        await post_keyed(ctx, window, f"replan:{window.revision}", f"⚠️ {text}")
        raise NotAllowed(messages.plan_changed(window.label, gate, said, ""))
    if check.verdict is PlanVerdict.DONE:
        try:
            closed = await move(
                ctx, window, WindowEvent.CANCEL, actor="upgradebot", reason=check.reason
            )
        except NotAllowed:
            closed = window
        else:
            await drop_window_actions(ctx, window.id)
            await refresh_proposal(ctx, closed, announce=False)
            await retire(ctx, closed, f"{closed.label} is closed: nothing more to do here.")
        text = messages.nothing_to_do(window.label, said)
        await post_keyed(ctx, closed, f"nothing_to_do:{window.revision}", f"✅ {text}")
        raise NotAllowed(text)
    text = messages.plan_blocked(window.label, gate, said)
    await post_keyed(ctx, window, f"plan_blocked:{gate}:{window.revision}", f"⚠️ {text}")
    raise NotAllowed(text)


async def send_back(
    ctx: BotContext,
    window: Window,
    event: WindowEvent,
    reason: str,
    *,
    details: ProposalDetails | None = None,
    start: datetime | None = None,
    actor: str = "upgradebot",
    slack_action: str | None = None,
) -> Window:
    """Back to G1 (a re-plan or a postponement): stored with the new plan or start, the timed
    actions of the earlier round dropped and the proposal's own stored again, the parent
    message re-rendered with Approve / Reject. Evidence of the earlier round stays in the
    record and is not reused."""
    end = start + window.length if start is not None else None
    now = ctx.now()
    stored: list[ScheduledAction] = []

    def reopen(db: Database) -> Window:
        # One transaction: back at G1 with the earlier round's timed actions cancelled and the
        # proposal's own deadline and reminders stored (issue 15, item 4).
        reopened = reopen_for_approval(
            db,
            window.id,
            expected=window.state,
            actor=actor,
            action=event.value,
            at=now,
            reason=reason,
            plan=details.model_dump(mode="json") if details is not None else None,
            start=start,
            end=end,
            slack_action=slack_action,
        )
        cancel_actions(db, window.id, at=now)
        planned = proposal_actions(
            start=reopened.start, now=now, reminders=ctx.config.schedule.reminders
        )
        stored.extend(store_planned(db, reopened.id, planned, now))
        return reopened

    try:
        reopened = await ctx.write(reopen)
    except StaleState as stale:
        raise lost_race(stale) from None
    rearm_window(ctx, window.id, stored)
    await refresh_proposal(ctx, reopened, announce=False)
    ended = f"This round ended: {reason.rstrip('.')}. The proposal above asks again."
    await retire(ctx, reopened, ended)
    return reopened


def _approvers(ctx: BotContext) -> str:
    return mention(ctx.config.roles.approvers)
