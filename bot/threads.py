"""Posting into a window's thread, once: each bot message in a thread has a key.

The key (``details``, ``precheck:7``, ``reminder:12``…) is stored with the message's ts, so a
second call edits instead of posting again. After a crash between Slack's answer and the
database write, the thread itself is searched for a message carrying the key in its metadata.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.context import BotContext
from bot.domain.models import Window
from storage import find_message, remember_message

log = logging.getLogger(__name__)

EVENT_TYPE = "upgradebot_message"


async def post_keyed(
    ctx: BotContext,
    window: Window,
    key: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    *,
    search_thread: bool = False,
) -> str | None:
    """Post (or edit) the window's ``key`` message in its thread; return its ts, None on failure."""
    if not (window.channel and window.message_ts):
        log.warning("%s has no Slack message to reply to; %s not posted", window.label, key)
        return None
    known = find_message(ctx.db, window.id, key)
    if known is None and search_thread:
        found = await _find_in_thread(ctx, window, key)
        if found is not None:
            remember_message(ctx.db, window_id=window.id, key=key, channel=window.channel, ts=found)
            known = find_message(ctx.db, window.id, key)
    try:
        if known is not None:
            await ctx.client.chat_update(
                channel=known.channel, ts=known.ts, text=text, blocks=blocks or []
            )
            return known.ts
        response = await ctx.client.chat_postMessage(
            channel=window.channel,
            thread_ts=window.message_ts,
            text=text,
            blocks=blocks,
            metadata={"event_type": EVENT_TYPE, "event_payload": {"window": window.id, "key": key}},
            unfurl_links=False,
        )
    except SlackApiError as error:
        log.error("posting %s of %s failed: %s", key, window.label, error.response.get("error"))
        return None
    ts = str(response["ts"])
    remember_message(ctx.db, window_id=window.id, key=key, channel=window.channel, ts=ts)
    # A new post in the thread can change what someone owes without the state moving (the
    # pre-check's results open G3, the go prompt G4): the Home tabs are published again.
    ctx.window_changed(window)
    return ts


async def _find_in_thread(ctx: BotContext, window: Window, key: str) -> str | None:
    try:
        response = await ctx.client.conversations_replies(
            channel=window.channel or "", ts=window.message_ts or "", include_all_metadata=True
        )
    except SlackApiError as error:
        log.warning("cannot read the thread of %s: %s", window.label, error.response.get("error"))
        return None
    for message in response.get("messages") or []:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == EVENT_TYPE and payload.get("key") == key:
            return str(message["ts"])
    return None


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
