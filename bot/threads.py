"""Posting into a window's thread, once: each bot message in a thread has a key.

The key (``details``, ``precheck:7``, ``reminder:12``…) is stored with the message's ts, so a
second call edits instead of posting again. Every message is first written to the outbox
(``storage/outbox.py``), then delivered: at once when Slack answers, else by the dispatcher in
``bot/outbox.py`` until Slack took it, finding a post whose answer was lost by the key in its
metadata instead of posting it twice (issue 15).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.context import BotContext
from bot.domain.models import Window
from bot.outbox import (
    EVENT_TYPE,
    Undelivered,
    deliver,
    ensure_dispatcher,
    failed,
    give_up,
    is_permanent,
)
from storage import find_message
from storage.outbox import pending_messages, queue_message

log = logging.getLogger(__name__)

__all__ = ["EVENT_TYPE", "post_keyed", "tell"]


async def post_keyed(
    ctx: BotContext,
    window: Window,
    key: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    *,
    search_thread: bool = False,
) -> str | None:
    """Post (or edit) the window's ``key`` message in its thread; its ts, or None while it is
    not delivered yet (it stays owed and the dispatcher delivers it)."""
    if not (window.channel and window.message_ts):
        log.warning("%s has no Slack message to reply to; %s not posted", window.label, key)
        return None
    message = queue_message(
        ctx.db,
        window_id=window.id,
        key=key,
        channel=window.channel,
        thread_ts=window.message_ts,
        text=text,
        blocks=blocks,
        at=ctx.now(),
        search_thread=search_thread,
    )
    if any(row.id != message.id and row.attempts for row in pending_messages(ctx.db, window.id)):
        ensure_dispatcher(ctx)  # an earlier message of this thread failed and is owed: in order
        return _known_ts(ctx, window, key)
    try:
        return await deliver(ctx, message)
    except Undelivered as error:
        if is_permanent(error):
            give_up(ctx, message, error)
            return None
        failed(ctx, message, error)
        log.warning("%s of %s not delivered yet (%s); retrying", key, window.label, error.reason)
        ensure_dispatcher(ctx)
        return _known_ts(ctx, window, key)


def _known_ts(ctx: BotContext, window: Window, key: str) -> str | None:
    known = find_message(ctx.db, window.id, key)
    return known.ts if known else None


async def tell(
    ctx: BotContext, channel: str, user: str, text: str, thread_ts: str | None = None
) -> None:
    """An ephemeral sentence for one person; a failure to deliver it is only logged."""
    try:
        await ctx.client.chat_postEphemeral(
            channel=channel, user=user, text=text, thread_ts=thread_ts
        )
    except SlackApiError as error:
        log.warning("could not tell %s: %s", user, error.response.get("error"))
    except Exception as error:  # a timeout or dropped link costs the sentence, not the caller
        log.warning("could not tell %s: %s", user, type(error).__name__)
