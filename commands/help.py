"""/upgrade help"""

from __future__ import annotations

from bot import messages
from bot.context import BotContext
from commands.base import Invocation, Reply

NAME = "help"
QUICK = True


def parse(args: list[str]) -> None:
    return None


async def run(ctx: BotContext, invocation: Invocation, parsed: None) -> Reply:
    return Reply(messages.HELP)
