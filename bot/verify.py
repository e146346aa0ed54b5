"""After the last step: G5 verification against the day-before baseline, and the choices a
person makes on a halted run (retry, abort) or on the result (verified, problem)."""

from __future__ import annotations

from typing import Any

from bot import messages
from bot.checking import check_window
from bot.context import BotContext
from bot.domain.errors import NotAllowed, UpgradeBotError
from bot.domain.migration import post_migration_actions
from bot.domain.models import GateId, Window, WindowEvent, WindowState
from bot.execution_blocks import comparison_blocks
from bot.proposals import ProposalDetails, refresh_proposal
from bot.threads import post_keyed
from bot.transitions import move
from checks import CheckResult, CheckStatus, evidence_digest, worst_first
from storage import (
    latest_check_run,
    list_steps,
    record_check_run,
)

VERIFY_KEYS = ("agents_running", "failover", "key_functions")
_SEVERE = ("critical", "major")


def versions_result(ctx: BotContext, window: Window, versions: dict[str, str]) -> CheckResult:
    wrong = []
    for agent, raw in sorted(versions.items()):
        try:
            label = ctx.catalog.identify(raw).label
        except Exception:  # an unreadable version is simply not the target
            label = raw
        if label != window.target:
            wrong.append(f"{agent} runs {label}")
    return CheckResult(
        key="versions",
        title=f"Every agent on {window.target}",
        status=CheckStatus.FAIL if wrong or not versions else CheckStatus.PASS,
        summary="; ".join(wrong) if wrong else f"{len(versions)} agent(s) on {window.target}.",
    )


def version_labels(ctx: BotContext, *snapshots: dict[str, Any]) -> dict[str, str]:
    """Each raw version in the snapshots, named as the catalog knows it."""
    labels: dict[str, str] = {}
    for snapshot in snapshots:
        for raw in snapshot.get("versions", {}).values():
            try:
                labels[raw] = ctx.catalog.identify(raw).label
            except UpgradeBotError:
                labels[raw] = raw
    return labels


def alarms_result(before: dict[str, int], after: dict[str, int]) -> CheckResult:
    worse = [
        f"{s}: {before.get(s, 0)} → {after.get(s, 0)}"
        for s in _SEVERE
        if after.get(s, 0) > before.get(s, 0)
    ]
    return CheckResult(
        key="alarms_vs_baseline",
        title="Alarms not worse than the day before",
        status=CheckStatus.FAIL if worse else CheckStatus.PASS,
        summary=("More severe alarms than the day before: " + ", ".join(worse))
        if worse
        else "No more critical or major alarms than the day before.",
    )


async def finish_execution(ctx: BotContext, window: Window) -> None:
    try:
        window = move(ctx, window, WindowEvent.EXECUTION_FINISHED, actor="upgradebot")
    except NotAllowed:
        return
    await refresh_proposal(ctx, window, announce=False)
    await run_verification(ctx, window)


async def run_verification(ctx: BotContext, window: Window) -> None:
    baseline = latest_check_run(ctx.db, window.id, "precheck")
    run = await check_window(ctx, window, kind="postcheck", keys=VERIFY_KEYS)
    before: dict[str, Any] = baseline.detail if baseline else {}
    after: dict[str, Any] = run.detail
    results = [CheckResult.model_validate(r) for r in run.results]
    results.append(versions_result(ctx, window, after.get("versions", {})))
    results.append(alarms_result(before.get("alarm_counts", {}), after.get("alarm_counts", {})))
    actions = post_migration_actions(ProposalDetails.model_validate(window.plan).plan)
    if actions:  # issue #12: the guide's actions after the BrokerGateway migration, to read at G5
        summary = (
            "The cluster moved to BrokerGateway: check DMZ, Data Aggregator and Dashboard Gateway."
        )
        results.append(
            CheckResult(
                key="brokergateway_post_migration",
                title="BrokerGateway post-migration actions",
                status=CheckStatus.WARN,
                summary=summary,
                details=actions,
            )
        )
    results = worst_first(results)
    record_check_run(
        ctx.db,
        window_id=window.id,
        kind="verify",
        at=ctx.now(),
        digest=evidence_digest(results),
        results=[r.model_dump(mode="json") for r in results],
        detail={"before": before, "after": after},
    )
    await post_keyed(
        ctx,
        window,
        "verify",
        f"Verification of {window.label}: "
        f"{sum(r.status is CheckStatus.PASS for r in results)}/{len(results)} passed.",
        comparison_blocks(
            window, before, after, results, labels=version_labels(ctx, before, after)
        ),
    )


async def close_verified(
    ctx: BotContext, window: Window, user: str, slack_action: str, problem: str | None = None
) -> Window:
    if window.state is not WindowState.VERIFYING:
        raise NotAllowed(messages.gate_not_open(window.label, "G5", window.state.value))
    if not await ctx.roles.is_operator(user):
        raise NotAllowed(messages.not_an_operator(user))
    run = latest_check_run(ctx.db, window.id, "verify")
    event = WindowEvent.REPORT_PROBLEM if problem else WindowEvent.VERIFY
    window = move(
        ctx,
        window,
        event,
        actor=user,
        gate=GateId.G5,
        digest=run.digest if run else None,
        reason=problem,
        slack_action=slack_action,
    )
    if run is not None:
        results = [CheckResult.model_validate(r) for r in run.results]
        line = (
            f"⚠️ Problem reported by <@{user}>: {problem}"
            if problem
            else f"✅ Verified by <@{user}>: {window.label} is done."
        )
        await post_keyed(
            ctx,
            window,
            "verify",
            line,
            comparison_blocks(
                window,
                run.detail.get("before", {}),
                run.detail.get("after", {}),
                results,
                line,
                labels=version_labels(
                    ctx, run.detail.get("before", {}), run.detail.get("after", {})
                ),
            ),
        )
    await refresh_proposal(ctx, window, announce=False)
    return window


def halted_step(ctx: BotContext, window: Window, position: int) -> tuple[int, int]:
    """The failed step a Retry/Abort click refers to, and its latest attempt."""
    steps = [s for s in list_steps(ctx.db, window.id) if s.position == position]
    if (
        window.state is not WindowState.EXECUTING
        or not steps
        or steps[-1].status not in ("failed", "unknown")
    ):
        raise NotAllowed(f"{window.label} has no halted step {position}; nothing was changed.")
    return position, steps[-1].attempt


async def abort(ctx: BotContext, window: Window, position: int, user: str, action: str) -> Window:
    if not await ctx.roles.is_operator(user):
        raise NotAllowed(messages.not_an_operator(user))
    halted_step(ctx, window, position)
    reason = (
        f"aborted by <@{user}> after step {position} failed; follow the rollback plan "
        "(restore the VM snapshot or backup taken before the window)"
    )
    window = move(
        ctx,
        window,
        WindowEvent.EXECUTION_FAILED,
        actor=user,
        action="abort",
        reason=reason,
        slack_action=action,
    )
    await post_keyed(ctx, window, f"aborted:{position}", f"⏹ {window.label} {reason}.")
    await refresh_proposal(ctx, window, announce=False)
    return window
