"""G4, the go: asked for at the window's start, given by a named operator in two deliberate
steps (the button, then a modal confirming the backup), refused when a last health check no
longer matches the accepted pre-check."""

from __future__ import annotations

import json
from typing import Any

from bot import messages
from bot.blocks import button
from bot.checking import check_window
from bot.context import BotContext
from bot.domain.errors import NotAllowed
from bot.domain.gates import gate_statuses
from bot.domain.models import GateId, Window, WindowEvent, WindowState
from bot.domain.windows import format_length, format_local, to_slack_date
from bot.gate_blocks import mention
from bot.ids import Block, Input, RunAction, RunView
from bot.precheck import accepted_run, reopen_precheck
from bot.proposals import refresh_proposal
from bot.threads import post_keyed
from bot.transitions import move
from checks import RUNS, CheckResult, RunKind, describe_changes


def go_blocks(window: Window) -> list[dict[str, Any]]:
    gates = " ".join(
        f"{g.value} {s.value}"
        for g, s in gate_statuses(window.state).items()
        if g in (GateId.G1, GateId.G2, GateId.G3)
    )
    value = str(window.id)
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f"*G4 · Go* for {window.label}: {window.system} → *{window.target}*, "
                    f"{to_slack_date(window.start)} ({format_length(window.length)}).\n"
                    f"Gates: {gates}. A person must give the go; the bot checks health once more "
                    "and asks you to confirm the backup."
                ),
            },
        },
        {
            "type": "actions",
            "block_id": f"go_{window.id}",
            "elements": [
                button("Go…", RunAction.GO, value, "primary"),
                button("Postpone", RunAction.POSTPONE, value),
                button("Cancel window", RunAction.CANCEL, value, "danger"),
            ],
        },
    ]


async def prompt_go(ctx: BotContext, window: Window) -> None:
    who = mention(ctx.config.roles.operators)
    await post_keyed(
        ctx, window, "go", f"G4: {window.label} may start now. {who}", go_blocks(window)
    )


def go_modal(window: Window, channel: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": RunView.GO.value,
        "private_metadata": json.dumps({"window_id": window.id, "channel": channel}),
        "title": {"type": "plain_text", "text": f"Start {window.label}?"},
        "submit": {"type": "plain_text", "text": "Start the upgrade"},
        "close": {"type": "plain_text", "text": "Not now"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        f"This starts the upgrade of *{window.system}* to *{window.target}* "
                        "on every agent of the cluster, failover pairs simultaneously. It "
                        "cannot be undone from here."
                    ),
                },
            },
            {
                "type": "input",
                "block_id": Block.BACKUP.value,
                "label": {"type": "plain_text", "text": "Backup"},
                "element": {
                    "type": "checkboxes",
                    "action_id": Input.BACKUP.value,
                    "options": [
                        {
                            "text": {
                                "type": "plain_text",
                                "text": "A backup or VM snapshot of every agent was taken",
                            },
                            "value": "taken",
                        }
                    ],
                },
            },
        ],
    }


async def check_may_go(ctx: BotContext, window: Window, user: str) -> None:
    if window.state is not WindowState.READY:
        raise NotAllowed(messages.gate_not_open(window.label, "G4", window.state.value))
    await ctx.roles.require(GateId.G4, user)


async def give_go(ctx: BotContext, window: Window, user: str, slack_action: str) -> Window:
    """Quick health check, then READY -> EXECUTING exactly once; the caller starts the run."""
    await check_may_go(ctx, window, user)
    accepted = accepted_run(ctx, window)
    quick = await check_window(ctx, window, kind=RunKind.QUICK)
    before = [
        CheckResult.model_validate(r)
        for r in (accepted.results if accepted else [])
        if r["key"] in RUNS[RunKind.QUICK].keys
    ]
    now = [CheckResult.model_validate(r) for r in quick.results]
    changes = describe_changes(before, now) if _differs(before, now) else []
    if changes:
        window = reopen_precheck(ctx, window, quick, changes)
        text = messages.go_changed(window.label, "; ".join(changes[:5]))
        await post_keyed(ctx, window, f"go_refused:{quick.id}", f"⚠️ {text}")
        raise NotAllowed(text)
    window = move(
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
        "go",
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


def _differs(before: list[CheckResult], now: list[CheckResult]) -> bool:
    """A different verdict or different findings on any quick check (alarms that came or went,
    an agent in another state)."""
    old = {r.key: (r.status, tuple(r.details)) for r in before}
    return any(old.get(r.key) != (r.status, tuple(r.details)) for r in now)
