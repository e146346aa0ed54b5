"""/upgrade list [system] — open windows."""

from __future__ import annotations

from bot.context import BotContext
from bot.flows.propose import blocks
from commands.base import Invocation, Reply
from storage import open_windows

NAME = "list"
QUICK = True


def parse(args: list[str]) -> str | None:
    return args[0].lower() if args else None


async def run(ctx: BotContext, invocation: Invocation, system: str | None) -> Reply:
    if system is not None:
        ctx.system(system)
    windows = open_windows(ctx.db, system)
    where = f" for {system}" if system else ""
    return Reply(
        blocks.window_list(f"Open windows{where}", windows, ctx.tz, f"No open windows{where}.")
    )
