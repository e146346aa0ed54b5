"""The Bolt app: gathers each flow's listeners into one table and registers them.

Each ``bot/flows/<step>/listeners.py`` (and ``bot/slash.py`` for ``/upgrade``) has a
``Listeners`` class built with the context and a ``LISTENERS`` table of (Bolt decorator, name,
method). ``listener_table`` reads them in one order; the manifest test reads it too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import guard, slash
from bot.context import BotContext
from bot.flows.approve import listeners as approve
from bot.flows.details import listeners as details
from bot.flows.execute import listeners as execute
from bot.flows.go import listeners as go
from bot.flows.precheck import listeners as precheck
from bot.flows.propose import listeners as propose
from bot.flows.verify import listeners as verify
from bot.flows.window import listeners as window
from bot.home import listeners as home
from bot.slack.belongs import only_its_own_window

Handler = Callable[..., Awaitable[None]]

# Bolt tries the listeners in this order on every request: the slash command first.
SOURCES: tuple[Any, ...] = (
    slash,
    go,
    window,
    execute,
    verify,
    details,
    precheck,
    approve,
    propose,
    home,
)


def build_app(ctx: BotContext, signing_secret: str) -> AsyncApp:
    app = AsyncApp(
        client=ctx.client,
        signing_secret=signing_secret,
        raise_error_for_unhandled_request=False,
    )
    app.use(only_its_own_window(ctx))
    for kind, name, handler in listener_table(ctx):
        getattr(app, kind)(name)(handler)

    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        await guard.on_error(ctx, error, body)

    app.error(on_error)
    return app


def listener_table(ctx: BotContext | None = None) -> list[tuple[str, str, Handler | None]]:
    """(Bolt decorator, name, handler) for every listener; without a context, the handlers are
    None (the manifest test needs only the names)."""
    table: list[tuple[str, str, Handler | None]] = []
    for source in SOURCES:
        bound = source.Listeners(ctx) if ctx is not None else None
        for kind, name, method in source.LISTENERS:
            table.append((kind, name, getattr(bound, method.__name__) if bound else None))
    return table
