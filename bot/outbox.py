"""Delivering the outbox (``storage/outbox.py``): every message a window's thread is owed
reaches Slack once, whatever Slack does meanwhile (issue 15, item 1).

``post_keyed`` (``bot/threads.py``) writes the row first, then tries to deliver it at once.
What fails (a rate limit, a 5xx, a timeout, a dropped connection) stays due, and one dispatcher
task per bot delivers it again with backoff, honouring Slack's ``Retry-After``. Before posting a
message whose earlier attempt failed, the thread is searched for the message's key in its
metadata: a post Slack took but answered too late is found and edited, never posted twice. The
rows are in the database, so a restart carries on where the last process stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.context import BotContext
from bot.slack.retry import retry_handlers
from storage import find_message, remember_message
from storage.outbox import (
    OutboxMessage,
    get_message,
    mark_delivered,
    mark_failed,
    mark_refused,
    pending_messages,
)

log = logging.getLogger(__name__)

EVENT_TYPE = "upgradebot_message"
MAX_BACKOFF_SECONDS = 60.0
# Slack answers these when the request itself is wrong: retrying changes nothing.
_PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_blocks",
    "invalid_auth",
    "account_inactive",
    "msg_too_long",
    "thread_not_found",
    "message_not_found",
    "cant_update_message",
}


class Undelivered(Exception):
    """Slack did not (provably) take the message; ``retry_after`` seconds from Slack, if said."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        self.reason = reason
        self.retry_after = retry_after
        super().__init__(reason)


async def deliver(ctx: BotContext, queued: OutboxMessage) -> str | None:
    """Post or edit one outbox row as it now stands; its ts (None: nothing was owed any more).
    Raises ``Undelivered`` when it must be tried again. One delivery per row at a time, so an
    inline post and the dispatcher never both post the same key."""
    lock = ctx.outbox_locks.setdefault(queued.id, asyncio.Lock())
    async with lock:
        message = get_message(ctx.db, queued.id)
        if message is None or message.status != "pending":
            known = find_message(ctx.db, queued.window_id, queued.key)
            return known.ts if known else None
        return await _deliver(ctx, message)


async def _deliver(ctx: BotContext, message: OutboxMessage) -> str:
    try:
        ts = await _send(ctx, message)
    except SlackApiError as error:
        code = str(error.response.get("error") or "")
        headers = getattr(error.response, "headers", None) or {}
        raise Undelivered(code or "slack_error", _retry_after(headers)) from None
    except (TimeoutError, OSError) as error:
        raise Undelivered(type(error).__name__) from None
    except Exception as error:  # aiohttp's errors and anything slack_sdk lets through
        raise Undelivered(f"{type(error).__name__}: {error}") from None
    if not await ctx.write(mark_delivered, message):
        log.info(
            "%s of #%s changed while it was sent; the newer is owed", message.key, message.window_id
        )
    return ts


def _client(ctx: BotContext) -> AsyncWebClient:
    """The bot's client, except that it never re-sends a post Slack may have taken: the outbox
    settles those by the key in the thread (``bot/slack/retry.py``)."""
    client = AsyncWebClient(
        token=ctx.client.token, base_url=ctx.client.base_url, timeout=ctx.client.timeout
    )
    client.retry_handlers = retry_handlers()
    return client


async def _send(ctx: BotContext, message: OutboxMessage) -> str:
    client = _client(ctx)
    known = find_message(ctx.db, message.window_id, message.key)
    if known is None and (message.search_thread or message.attempts > 0):
        # An earlier attempt may have reached Slack with its answer lost: look before posting.
        found = await find_in_thread(client, message.channel, message.thread_ts, message.key)
        if found is not None:
            await remember(ctx, message, found)
            known = find_message(ctx.db, message.window_id, message.key)
    if known is not None:
        await client.chat_update(
            channel=known.channel, ts=known.ts, text=message.text, blocks=message.blocks or []
        )
        return known.ts
    response = await client.chat_postMessage(
        channel=message.channel,
        thread_ts=message.thread_ts,
        text=message.text,
        blocks=message.blocks,
        metadata={
            "event_type": EVENT_TYPE,
            "event_payload": {"window": message.window_id, "key": message.key},
        },
        unfurl_links=False,
        reply_broadcast=message.broadcast,
    )
    ts = str(response["ts"])
    await remember(ctx, message, ts)
    return ts


async def remember(ctx: BotContext, message: OutboxMessage, ts: str) -> None:
    await ctx.write(
        remember_message,
        window_id=message.window_id,
        key=message.key,
        channel=message.channel,
        ts=ts,
    )


async def find_in_thread(
    client: AsyncWebClient, channel: str, thread_ts: str, key: str
) -> str | None:
    """The ts of the bot's message carrying ``key`` in its metadata in that thread, if any.
    Raises like any Slack call (the caller decides whether not knowing means waiting)."""
    response = await client.conversations_replies(
        channel=channel, ts=thread_ts, include_all_metadata=True
    )
    for found in response.get("messages") or []:
        metadata = found.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == EVENT_TYPE and payload.get("key") == key:
            return str(found["ts"])
    return None


def _retry_after(headers: Any) -> float | None:
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name) if hasattr(headers, "get") else None
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def is_permanent(error: Undelivered) -> bool:
    return error.reason in _PERMANENT


def ensure_dispatcher(ctx: BotContext) -> None:
    """Start the dispatcher unless it runs; it stops by itself once nothing is owed."""
    task = ctx.outbox_task
    if task is None or task.done():
        ctx.outbox_task = ctx.spawn(dispatch(ctx))


async def dispatch(ctx: BotContext) -> None:
    """Deliver every due row, each window's in the order owed, until none is left."""
    due: dict[int, tuple[float, float]] = {}  # row id -> (monotonic due time, last backoff)
    while True:
        try:
            rows = pending_messages(ctx.db)
        except Exception:
            log.exception("cannot read the outbox; trying again")
            await asyncio.sleep(ctx.outbox_tick_seconds)
            continue
        if not rows:
            return
        blocked: set[int] = set()  # windows with an earlier row still owed
        for row in rows:
            if row.window_id in blocked:
                continue
            wait = due.get(row.id)
            if wait is not None and wait[0] > time.monotonic():
                blocked.add(row.window_id)
                continue
            try:
                await deliver(ctx, row)
                due.pop(row.id, None)
            except Undelivered as error:
                if is_permanent(error):
                    await give_up(ctx, row, error)
                    continue
                backoff = _next_backoff(wait, error, ctx.outbox_backoff_seconds)
                due[row.id] = (time.monotonic() + backoff, backoff)
                await failed(ctx, row, error)
                blocked.add(row.window_id)
                log.warning(
                    "%s of #%s not delivered (%s); again in %.1f s",
                    row.key,
                    row.window_id,
                    error.reason,
                    backoff,
                )
        soonest = min((when for when, _ in due.values()), default=time.monotonic())
        await asyncio.sleep(max(ctx.outbox_tick_seconds, soonest - time.monotonic()))


def _next_backoff(previous: tuple[float, float] | None, error: Undelivered, first: float) -> float:
    """Slack's Retry-After when it says one; else doubling from ``first`` up to a minute."""
    if error.retry_after is not None:
        return error.retry_after
    if previous is None:
        return first
    return min(previous[1] * 2, MAX_BACKOFF_SECONDS)


async def failed(ctx: BotContext, row: OutboxMessage, error: Undelivered) -> None:
    try:
        await ctx.write(mark_failed, row, error.reason)
    except Exception:
        log.exception("cannot record a failed delivery of %s", row.key)


async def give_up(ctx: BotContext, row: OutboxMessage, error: Undelivered) -> None:
    log.error("%s of #%s refused by Slack for good: %s", row.key, row.window_id, error.reason)
    try:
        await ctx.write(mark_refused, row, error.reason)
    except Exception:
        log.exception("cannot close the outbox row %s", row.key)
