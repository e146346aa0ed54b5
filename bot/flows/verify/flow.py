"""After the last step: G5 verification against the day-before baseline, and the choices a
person makes on a halted run (retry, abort) or on the result (verified, problem)."""

from __future__ import annotations

from typing import Any

from bot import messages
from bot.context import BotContext
from bot.domain.errors import NotAllowed, UpgradeBotError
from bot.domain.migration import post_migration_actions
from bot.domain.models import GateId, Window, WindowEvent, WindowState
from bot.domain.proposal import ProposalDetails
from bot.evidence.runs import check_window
from bot.flows.propose.flow import refresh_proposal
from bot.flows.verify.blocks import comparison_blocks
from bot.threads import post_keyed
from bot.transitions import move
from checks import CheckResult, CheckStatus, RunKind, evidence_digest, worst_first
from checks.verify import alarms_result, versions_result
from storage import (
    Database,
    latest_check_run,
    record_check_run,
)


def _labels(ctx: BotContext, versions: dict[str, str]) -> dict[str, str]:
    """Each agent's version as the catalog names it; an unreadable one keeps its raw text (and
    so is simply not the target)."""
    named = version_labels(ctx, {"versions": versions})
    return {agent: named[raw] for agent, raw in versions.items()}


def version_labels(ctx: BotContext, *snapshots: dict[str, Any]) -> dict[str, str]:
    """Each raw version in the snapshots, named as the catalog knows it."""
    labels: dict[str, str] = {}
    for snapshot in snapshots:
        for raw in snapshot.get("versions", {}).values():
            try:
                labels[raw] = ctx.catalog.identify(raw).label
            except (UpgradeBotError, ValueError):  # unreadable: shown as the agent said it
                labels[raw] = raw
    return labels


async def finish_execution(ctx: BotContext, window: Window) -> None:
    try:
        window = await move(ctx, window, WindowEvent.EXECUTION_FINISHED, actor="upgradebot")
    except NotAllowed:
        return
    await refresh_proposal(ctx, window, announce=False)
    await run_verification(ctx, window)


async def run_verification(ctx: BotContext, window: Window) -> None:
    baseline = latest_check_run(ctx.db, window.id, "precheck")
    run = await check_window(ctx, window, kind=RunKind.POSTCHECK)
    before: dict[str, Any] = baseline.detail if baseline else {}
    after: dict[str, Any] = run.detail
    results = [CheckResult.model_validate(r) for r in run.results]
    results.append(versions_result(window.target, _labels(ctx, after.get("versions", {}))))
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
    now = ctx.now()

    def record(db: Database) -> None:
        record_check_run(
            db,
            window_id=window.id,
            kind="verify",
            at=now,
            digest=evidence_digest(results),
            results=[r.model_dump(mode="json") for r in results],
            detail={"before": before, "after": after},
        )

    # The verification and its G5 message are one transaction: never evidence without buttons.
    await post_keyed(
        ctx,
        window,
        "verify",
        f"Verification of {window.label}: "
        f"{sum(r.status is CheckStatus.PASS for r in results)}/{len(results)} passed.",
        comparison_blocks(
            window, before, after, results, labels=version_labels(ctx, before, after)
        ),
        together=record,
    )


async def close_verified(
    ctx: BotContext, window: Window, user: str, slack_action: str, problem: str | None = None
) -> Window:
    if window.state is not WindowState.VERIFYING:
        raise NotAllowed(messages.gate_not_open(window.label, "G5", window.state.value))
    await ctx.roles.require(GateId.G5, user)
    run = latest_check_run(ctx.db, window.id, "verify")
    event = WindowEvent.REPORT_PROBLEM if problem else WindowEvent.VERIFY
    window = await move(
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
