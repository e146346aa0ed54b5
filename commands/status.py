"""/upgrade status <id> — gates, who acknowledged, what is owed."""

from __future__ import annotations

from bot import messages
from bot.context import BotContext
from bot.domain.errors import InputError, UnknownWindow
from bot.domain.proposal import ProposalDetails, window_estimate
from bot.flows.propose import blocks
from commands.base import Invocation, Reply, parse_window_id
from storage import get_window, list_acks, list_hotfixes
from storage.outbox import parent_row

NAME = "status"
QUICK = True


def parse(args: list[str]) -> int:
    if len(args) != 1:
        raise InputError(messages.missing_arguments(NAME), syntax=True)
    return parse_window_id(args[0])


async def run(ctx: BotContext, invocation: Invocation, window_id: int) -> Reply:
    window = get_window(ctx.db, window_id)
    if window is None:
        raise UnknownWindow(f"#{window_id}")
    estimate = None
    if window.plan:  # the one estimate, with the hotfixes attached at G2 counted
        details = ProposalDetails.model_validate(window.plan)
        system = ctx.config.systems.get(window.system)
        configured = system.startup_time if system else None
        estimate = window_estimate(details, len(list_hotfixes(ctx.db, window_id)), configured)
    parent = parent_row(ctx.db, window_id)
    refused = parent.last_error if parent is not None and parent.status == "refused" else None
    return Reply(
        blocks.status(window, list_acks(ctx.db, window_id), ctx.tz, estimate, refused=refused)
    )
