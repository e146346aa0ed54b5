"""/upgrade precheck <id> — run the day-before pre-check now; results go into the thread."""

from __future__ import annotations

from bot import messages
from bot.context import BotContext
from bot.domain.errors import InputError, NotAllowed
from bot.domain.models import GateId, WindowState
from bot.flows.precheck.flow import run_precheck
from bot.transitions import load_window
from commands.base import Invocation, Reply, parse_window_id

NAME = "precheck"
QUICK = False

_RUNNABLE = (WindowState.APPROVED, WindowState.PLANNED, WindowState.READY)


def parse(args: list[str]) -> int:
    if len(args) != 1:
        raise InputError(messages.missing_arguments(NAME), syntax=True)
    return parse_window_id(args[0])


async def run(ctx: BotContext, invocation: Invocation, window_id: int) -> Reply:
    window = load_window(ctx, window_id)
    if window.state not in _RUNNABLE:
        raise NotAllowed(messages.gate_not_open(window.label, "G3", window.state.value))
    await ctx.roles.require(GateId.G3, invocation.user)
    run_ = await run_precheck(ctx, window)
    return Reply(
        f"Pre-check of {window.label} done (run {run_.id}); the results are in its thread."
    )
