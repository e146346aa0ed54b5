"""A button acts only for the window its message belongs to (issue 15, D19): a click whose
value names window #2 on the message (or thread) of window #1, or in another channel, is
refused with a sentence before any listener runs. Ephemeral messages, which Slack sends without
the message itself, are left to the listeners."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from slack_bolt.response import BoltResponse

from bot.context import BotContext
from bot.domain.models import Window
from bot.payloads import ActionPayload
from bot.threads import tell
from storage import get_window

ELSEWHERE = (
    "That button belongs to another window's message, so nothing was done; use the buttons "
    "in the window's own thread."
)


def belongs(window: Window, payload: ActionPayload) -> bool:
    """True when the clicked message is the window's proposal or a reply in its thread."""
    message = payload.message
    if message is None or not window.message_ts:
        return True
    if window.channel and payload.channel_id and payload.channel_id != window.channel:
        return False
    return window.message_ts in (message.ts, message.thread_ts)


def only_its_own_window(ctx: BotContext) -> Callable[..., Awaitable[BoltResponse | None]]:
    """Bolt middleware: refused clicks are answered 200 at once and told why, ephemerally."""

    async def middleware(
        body: dict[str, Any], next_: Callable[[], Awaitable[Any]]
    ) -> BoltResponse | None:
        if body.get("type") == "block_actions" and not (body.get("container") or {}).get(
            "is_ephemeral"
        ):
            try:
                payload = ActionPayload.model_validate(body)
            except ValidationError:
                payload = None
            window_id = payload.window_id if payload else None
            window = get_window(ctx.db, window_id) if window_id else None
            if payload is not None and window is not None and not belongs(window, payload):
                ctx.spawn(tell(ctx, payload.channel_id, payload.user.id, ELSEWHERE))
                return BoltResponse(status=200, body="")
        await next_()
        return None

    return middleware
