"""/upgrade cancel <id> [reason]"""

from __future__ import annotations

from dataclasses import dataclass

from bot import messages
from bot.context import BotContext
from bot.domain.errors import InputError
from bot.flows.window.flow import cancel
from commands.base import Invocation, Reply, parse_window_id

NAME = "cancel"
QUICK = True


@dataclass(frozen=True)
class CancelArgs:
    window_id: int
    reason: str | None


def parse(args: list[str]) -> CancelArgs:
    if not args:
        raise InputError(messages.missing_arguments(NAME), syntax=True)
    reason = " ".join(args[1:]).strip() or None
    return CancelArgs(parse_window_id(args[0]), reason)


async def run(ctx: BotContext, invocation: Invocation, parsed: CancelArgs) -> Reply:
    window = await cancel(
        ctx, parsed.window_id, invocation.user, parsed.reason, invocation.slack_action
    )
    return Reply(messages.cancelled(window.label))
