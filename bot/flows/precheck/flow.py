"""G3, the day-before pre-check: health again, upload only, results in the thread, acceptance
bound to the evidence it accepted."""

from __future__ import annotations

import logging

from bot import messages
from bot.blocks import mention
from bot.context import BotContext
from bot.domain.errors import NotAllowed
from bot.domain.models import GateId, Window, WindowEvent, WindowState
from bot.domain.schedule import next_health_check
from bot.evidence.runs import check_window
from bot.flows.precheck.blocks import precheck_blocks, precheck_text
from bot.flows.propose.flow import recheck, refresh_proposal
from bot.scheduler import arm_all
from bot.threads import post_keyed, retire, round_key
from bot.transitions import load_window, move
from checks import RUNS, CheckResult, RunKind, describe_changes, findings_differ
from storage import (
    CheckRun,
    get_window,
    latest_check_run,
    list_acks,
    list_check_runs,
    list_messages,
    schedule_action,
)

log = logging.getLogger(__name__)


def _results(run: CheckRun) -> list[CheckResult]:
    return [CheckResult.model_validate(r) for r in run.results]


def accepted_run(ctx: BotContext, window: Window) -> CheckRun | None:
    """The pre-check run the standing G3 acknowledgement accepted, if the gate is passed."""
    if window.state is not WindowState.READY:
        return None
    for ack in reversed(list_acks(ctx.db, window.id)):
        if ack.gate is GateId.G3 and ack.decision == WindowEvent.ACCEPT_PRECHECK.value:
            runs = [r for r in list_check_runs(ctx.db, window.id) if r.kind == "precheck"]
            return next((r for r in reversed(runs) if r.digest == ack.digest), None)
    return None


async def run_precheck(ctx: BotContext, window: Window, *, search_thread: bool = False) -> CheckRun:
    """Run every check plus the upload, post the summary; reopen G3 if the evidence changed.
    First the plan is derived again from the agents: nothing is uploaded for a stale plan."""
    await recheck(ctx, window, "G3", strict=False)
    previous = accepted_run(ctx, window)
    run = await check_window(ctx, window, kind=RunKind.PRECHECK)
    return await publish_precheck(ctx, window, run, previous, search_thread=search_thread)


async def publish_precheck(
    ctx: BotContext,
    window: Window,
    run: CheckRun,
    previous: CheckRun | None,
    *,
    search_thread: bool = False,
) -> CheckRun:
    """What follows a recorded pre-check run: G3 reopened when it differs from the accepted
    one (``previous``), its results posted with Accept / Re-run, older runs superseded. Also
    what a restart does with a run recorded before the process stopped (from the database
    alone: nothing is run or uploaded again)."""
    window = get_window(ctx.db, window.id) or window
    changes: list[str] = []
    if previous is not None and previous.digest != run.digest:
        changes = describe_changes(_results(previous), _results(run))
        window = await reopen_precheck(ctx, window, run, changes)
    window = get_window(ctx.db, window.id) or window  # what the buttons offer is decided now
    await post_keyed(
        ctx,
        window,
        f"precheck:{run.id}",
        precheck_text(window, _results(run)),
        precheck_blocks(window, run.id, _results(run), None, changes),
        search_thread=search_thread,
    )
    older = [k for k in list_messages(ctx.db, window.id) if k.startswith("precheck:")]
    older = [k for k in older if k != f"precheck:{run.id}"]
    await retire(ctx, window, "Superseded by a newer pre-check below: act on that one.", keys=older)
    if changes:
        owed = mention(ctx.config.roles.operators)
        await post_keyed(
            ctx,
            window,
            f"reopened:{run.id}",
            f"⚠️ The pre-check of {window.label} changed since it was accepted, so G3 is open "
            f"again: {'; '.join(changes[:5])}. {owed} please review and accept the new results.",
        )
    return run


async def reopen_precheck(
    ctx: BotContext, window: Window, run: CheckRun, changes: list[str]
) -> Window:
    """G3 opens again: the evidence it accepted is no longer what the system shows."""
    try:
        reopened = await move(
            ctx,
            window,
            WindowEvent.REOPEN_PRECHECK,
            actor="upgradebot",
            digest=run.digest,
            detail={"run": run.id, "changes": changes},
        )
    except NotAllowed:
        return load_window(ctx, window.id)
    ctx.spawn(refresh_proposal(ctx, reopened, announce=False))  # the parent shows ○G3 again
    go_prompt = round_key(ctx, reopened, "go")
    note = "G3 is open again: the go waits until the new pre-check below is accepted."
    ctx.spawn(retire(ctx, reopened, note, keys=[go_prompt]))
    return reopened


async def accept_precheck(
    ctx: BotContext, window: Window, run_id: int, user: str, slack_action: str
) -> Window:
    if window.state is WindowState.APPROVED:
        raise NotAllowed(messages.details_first(window.label))
    if window.state is not WindowState.PLANNED:
        raise NotAllowed(messages.gate_not_open(window.label, "G3", window.state.value))
    await ctx.roles.require(GateId.G3, user)
    latest = latest_check_run(ctx.db, window.id, "precheck")
    if latest is None:
        raise NotAllowed(messages.no_precheck(window.label))
    approved = [a.at for a in list_acks(ctx.db, window.id) if a.gate is GateId.G1]
    if latest.id != run_id or (approved and latest.at < approved[-1]):
        # a later run, or a run of an earlier round (before the window was approved again)
        raise NotAllowed(messages.stale_evidence(window.label))
    blocking = [r for r in _results(latest) if r.status.blocks]
    if blocking:
        raise NotAllowed(messages.precheck_blocked(window.label, len(blocking)))
    window = await move(
        ctx,
        window,
        WindowEvent.ACCEPT_PRECHECK,
        actor=user,
        gate=GateId.G3,
        digest=latest.digest,
        slack_action=slack_action,
    )
    await refresh_proposal(ctx, window, announce=False)
    await post_keyed(
        ctx,
        window,
        f"precheck:{latest.id}",
        precheck_text(window, _results(latest)),
        precheck_blocks(window, latest.id, _results(latest), user),
    )
    await schedule_health_check(ctx, window)
    return window


async def schedule_health_check(ctx: BotContext, window: Window) -> None:
    """The next drift check of an accepted pre-check, if one fits before the start."""
    planned = next_health_check(
        now=ctx.now(), start=window.start, every=ctx.config.schedule.health_every
    )
    if planned is not None:
        row = await ctx.write(
            schedule_action,
            window_id=window.id,
            kind=planned.kind,
            due_at=planned.due_at,
            at=ctx.now(),
        )
        arm_all(ctx, [row])


async def watch_drift(ctx: BotContext, window: Window) -> bool:
    """Drift is watched, not sampled: between the accepted pre-check and the go, a quick health
    check is compared with what was accepted. A change that would fail the go runs the pre-check
    again at once, which reopens G3, posts the new results with Accept / Re-run and names the
    operators. True when G3 reopened."""
    accepted = accepted_run(ctx, window)
    if window.state is not WindowState.READY or accepted is None:
        return False
    quick = await check_window(ctx, window, kind=RunKind.QUICK)
    keys = RUNS[RunKind.QUICK].keys
    before = [CheckResult.model_validate(r) for r in accepted.results if r["key"] in keys]
    if not findings_differ(before, _results(quick)):
        return False
    log.warning("%s: health changed since the pre-check was accepted", window.label)
    await run_precheck(ctx, window)
    current = get_window(ctx.db, window.id)
    return current is not None and current.state is WindowState.PLANNED
