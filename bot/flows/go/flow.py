"""G4, the go: asked for at the window's start, given by a named operator in two deliberate
steps (the button, then a modal confirming the backup), refused when a last health check no
longer matches the accepted pre-check."""

from __future__ import annotations

from bot import messages
from bot.blocks import mention
from bot.context import BotContext
from bot.domain.errors import NotAllowed
from bot.domain.models import GateId, Window, WindowEvent, WindowState
from bot.domain.windows import format_local, to_slack_date
from bot.evidence.runs import check_window
from bot.flows.execute.flow import run_from, supervised
from bot.flows.go.blocks import go_blocks
from bot.flows.precheck.flow import accepted_run, reopen_precheck
from bot.flows.propose.flow import recheck, refresh_proposal
from bot.threads import post_keyed, round_key
from bot.transitions import move
from checks import RUNS, CheckResult, RunKind, describe_changes, findings_differ


async def prompt_go(ctx: BotContext, window: Window) -> None:
    who = mention(ctx.config.roles.operators)
    await post_keyed(
        ctx,
        window,
        round_key(ctx, window, "go"),
        f"G4: {window.label} may start now. {who}",
        go_blocks(window),
        broadcast=True,  # the go is announced in the channel, not only in the thread
    )


async def check_may_go(ctx: BotContext, window: Window, user: str) -> None:
    if window.state is not WindowState.READY:
        raise NotAllowed(messages.gate_not_open(window.label, "G4", window.state.value))
    await ctx.roles.require(GateId.G4, user)


async def give_go(ctx: BotContext, window: Window, user: str, slack_action: str) -> Window:
    """Quick health check, then READY -> EXECUTING exactly once; the caller starts the run."""
    await check_may_go(ctx, window, user)
    await recheck(ctx, window, "G4")
    accepted = accepted_run(ctx, window)
    quick = await check_window(ctx, window, kind=RunKind.QUICK)
    before = [
        CheckResult.model_validate(r)
        for r in (accepted.results if accepted else [])
        if r["key"] in RUNS[RunKind.QUICK].keys
    ]
    now = [CheckResult.model_validate(r) for r in quick.results]
    changes = describe_changes(before, now) if findings_differ(before, now) else []
    if changes:
        window = await reopen_precheck(ctx, window, quick, changes)
        text = messages.go_changed(window.label, "; ".join(changes[:5]))
        await post_keyed(ctx, window, f"go_refused:{quick.id}", f"⚠️ {text}")
        raise NotAllowed(text)
    window = await move(
        ctx,
        window,
        WindowEvent.GO,
        actor=user,
        gate=GateId.G4,
        digest=quick.digest,
        reason="backup confirmed",
        slack_action=slack_action,
    )
    await post_keyed(
        ctx,
        window,
        round_key(ctx, window, "go"),
        f"🚀 Go given by <@{user}> for {window.label}.",
        [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        f"🚀 *Go* given by <@{user}> at {to_slack_date(ctx.now())} "
                        f"({format_local(ctx.now(), ctx.tz)}); backup confirmed."
                    ),
                },
            }
        ],
    )
    await refresh_proposal(ctx, window, announce=False)
    return window


async def go_and_run(ctx: BotContext, window: Window, user: str, slack_action: str) -> None:
    """Give the go (:func:`give_go`), then run the plan from its first step."""
    window = await give_go(ctx, window, user, slack_action)
    await supervised(ctx, window.id, run_from(ctx, window, 1, 1, user))
