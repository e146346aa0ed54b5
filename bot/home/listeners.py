"""The Home tab's listeners: ``app_home_opened`` publishes the tab; the link button to a thread
is acknowledged (Slack opens the link; the click still reaches the app and wants an ack)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from slack_bolt.async_app import AsyncAck

from bot.context import BotContext
from bot.home.flow import HomeTabs
from bot.ids import Event, HomeAction


class HomeOpened(BaseModel):
    """The ``event`` of an ``app_home_opened`` callback."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    user: str
    tab: str = "home"


class Listeners:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx
        self.tabs = HomeTabs(ctx)
        ctx.window_watchers.append(self.tabs.refresh)

    async def on_home_opened(self, body: dict[str, Any]) -> None:
        event = HomeOpened.model_validate(body.get("event") or {})
        if event.tab != "home":  # the Messages tab sends the same event
            return
        self.ctx.track()
        await self.tabs.opened(event.user)

    async def on_open_thread(self, ack: AsyncAck) -> None:
        await ack()


LISTENERS = (
    ("event", Event.APP_HOME_OPENED.value, Listeners.on_home_opened),
    ("action", HomeAction.OPEN_THREAD.value, Listeners.on_open_thread),
)
