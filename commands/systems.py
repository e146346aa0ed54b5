"""/upgrade systems — each DMS, its agents, their versions and states."""

from __future__ import annotations

import asyncio

from bot.context import BotContext
from bot.domain.errors import UpgradeBotError
from bot.flows.propose.flow import read_cluster
from commands.base import Invocation, Reply

NAME = "systems"
QUICK = False


def parse(args: list[str]) -> None:
    return None


async def run(ctx: BotContext, invocation: Invocation, parsed: None) -> Reply:
    names = sorted(ctx.config.systems)
    results = await asyncio.gather(
        *(read_cluster(ctx, name) for name in names), return_exceptions=True
    )
    lines = []
    for name, result in zip(names, results, strict=True):
        channel = ctx.config.systems[name].channel
        if isinstance(result, UpgradeBotError):
            lines.append(f"*{name}* (<#{channel}>): ⚠️ {result.message}")
            continue
        if isinstance(result, BaseException):
            raise result
        lines.append(f"*{name}* (<#{channel}>), {len(result.agents)} agent(s):")
        for agent in result.agents:
            try:
                version = ctx.catalog.identify(agent.version).label
            except UpgradeBotError:
                version = agent.version
            pair = f", failover with {agent.failover_partner}" if agent.failover_partner else ""
            lines.append(f"  • `{agent.name}` {version} — {agent.state}{pair}")
    return Reply("\n".join(lines))
