"""Proposing a window: parse, read the cluster, plan, validate, store, post.

The cheap checks (system, version, time, length, blackout, overlap) run before Slack's ack so a
typo gets its answer at once; the cluster read and the plan run after it.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError

from bot import messages
from bot.agents.models import AdapterError, AgentInfo, Cluster
from bot.context import BotContext
from bot.domain.durations import format_duration
from bot.domain.errors import InputError, UpgradeBotError
from bot.domain.estimates import estimate_duration
from bot.domain.models import Blackout, Window
from bot.domain.paths import plan_upgrade
from bot.domain.proposal import (
    AgentLine,
    ProposalDetails,
    ProposalRequest,
    default_length,
)
from bot.domain.windows import describe as describe_dst
from bot.domain.windows import dst_transitions, parse_length, parse_start, validate_window
from bot.flows.propose import blocks
from bot.threads import post_keyed
from storage import create_window, measured_startups, open_windows, schedule_action, set_message_ref

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
    ctx: BotContext, request: ProposalRequest, length: timedelta, now: datetime
) -> list[str]:
    return validate_window(
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
    plan = plan_upgrade(ctx.catalog, versions, request.target, ctx.known_issues)
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
    window = create_window(
        ctx.db,
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
    return await post_proposal(ctx, window)


async def post_proposal(ctx: BotContext, window: Window) -> Window:
    """Post the stored proposal. A Slack failure leaves the window stored; status shows it."""
    details = ProposalDetails.model_validate(window.plan)
    try:
        response = await ctx.client.chat_postMessage(
            channel=window.channel or ctx.system(window.system).channel,
            text=blocks.proposal_text(window, details, ctx.tz),
            blocks=blocks.proposal(window, details, ctx.tz),
            unfurl_links=False,
        )
    except SlackApiError as error:
        log.error(
            "posting %s failed: %s; trying again in a minute",
            window.label,
            error.response.get("error"),
        )
        retry_post(ctx, window)
        return window
    return set_message_ref(
        ctx.db, window.id, channel=response["channel"], ts=response["ts"], at=ctx.now()
    )


async def refresh_proposal(
    ctx: BotContext, window: Window, actor: str | None = None, *, announce: bool = True
) -> None:
    """Re-render the proposal from the stored window (buttons → who decided), and say the
    decision once in the thread."""
    if not (window.channel and window.message_ts):
        return
    details = ProposalDetails.model_validate(window.plan)
    try:
        await ctx.client.chat_update(
            channel=window.channel,
            ts=window.message_ts,
            text=blocks.proposal_text(window, details, ctx.tz),
            blocks=blocks.proposal(window, details, ctx.tz, actor),
        )
    except SlackApiError as error:
        # The decision is stored; only its display is behind. /upgrade status shows the truth.
        log.error("updating %s in Slack failed: %s", window.label, error.response.get("error"))
    if announce:
        await post_keyed(
            ctx, window, f"state:{window.state.value}", blocks.decision_line(window, actor)
        )


REPOST_DELAY = timedelta(minutes=1)


def retry_post(ctx: BotContext, window: Window) -> None:
    """Slack did not take the proposal: a stored action posts it again, also after a restart."""
    row = schedule_action(
        ctx.db, window_id=window.id, kind="post", due_at=ctx.now() + REPOST_DELAY, at=ctx.now()
    )
    if ctx.scheduler is not None:
        ctx.scheduler.arm(row)
