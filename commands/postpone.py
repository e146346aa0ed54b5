"""/upgrade postpone <id> <start> — a new start for the window; it goes back to G1."""

from __future__ import annotations

from dataclasses import dataclass

from bot import messages
from bot.context import BotContext
from bot.domain.errors import InputError
from bot.flows.window.flow import postpone
from commands.base import Invocation, Reply, parse_window_id

NAME = "postpone"
QUICK = False


@dataclass(frozen=True)
class PostponeArgs:
    window_id: int
    start: str


def parse(args: list[str]) -> PostponeArgs:
    if len(args) < 2:
        raise InputError(messages.missing_arguments(NAME))
    return PostponeArgs(parse_window_id(args[0]), " ".join(args[1:]))


async def run(ctx: BotContext, invocation: Invocation, parsed: PostponeArgs) -> Reply:
    window = await postpone(
        ctx, parsed.window_id, invocation.user, parsed.start, invocation.slack_action
    )
    return Reply(messages.postpone_done(window.label))
