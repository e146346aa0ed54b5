"""Delivering the outbox (``storage/outbox.py``): every message a window's thread is owed
reaches Slack once, whatever Slack does meanwhile (issue 15, item 1).

``post_keyed`` (``bot/threads.py``) writes the row first, then tries to deliver it at once.
What fails (a rate limit, a 5xx, a timeout, a dropped connection) stays due, and one dispatcher
task per bot delivers it again with backoff, honouring Slack's ``Retry-After``. Before posting a
message whose earlier attempt failed, the thread is searched for the message's key in its
metadata: a post Slack took but answered too late is found and edited, never posted twice. The
rows are in the database, so a restart carries on where the last process stopped.

The window's proposal is a row too (``PARENT_KEY``, at channel level): a post whose answer was
lost is looked for in the channel's history since a little before the window was stored, and
once Slack took it its ts becomes the window's message and the parent of the thread messages
held for it; every later re-render of the proposal is an edit of the same row.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.context import BotContext
from bot.outbox_slack import EVENT_TYPE as EVENT_TYPE  # where thread code has always found it
from bot.outbox_slack import (
    find_in_channel,
    find_in_thread,
    metadata_for,
    outbox_client,
)
from bot.slack.channels import join
from storage import find_message, get_window, remember_message
from storage.outbox import (
    OutboxMessage,
    get_message,
    mark_delivered,
    mark_failed,
    mark_refused,
    mark_sending,
    parent_row,
    pending_messages,
    record_parent,
)

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0
# How far before the window was stored the channel is searched for its proposal: the bot's and
# Slack's clocks may differ by this much.
SEARCH_MARGIN = timedelta(minutes=10)
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
        try:
            message = get_message(ctx.db, queued.id)
            if message is None or message.status != "pending":
                return _known_ts(ctx, queued)
        except Exception as error:  # the database unreadable for a moment: later
            raise Undelivered(f"cannot read the outbox: {error}") from None
        return await _deliver(ctx, message)


def _known_ts(ctx: BotContext, message: OutboxMessage) -> str | None:
    """The ts Slack gave the row's message, if it took it: the proposal's is the window's."""
    if message.is_parent:
        window = get_window(ctx.db, message.window_id)
        return window.message_ts if window is not None else None
    known = find_message(ctx.db, message.window_id, message.key)
    return known.ts if known else None


async def _deliver(ctx: BotContext, message: OutboxMessage) -> str:
    try:
        ts = await _send(ctx, message)
    except Undelivered:
        raise
    except SlackApiError as error:
        code = str(error.response.get("error") or "")
        headers = getattr(error.response, "headers", None) or {}
        raise Undelivered(code or "slack_error", _retry_after(headers)) from None
    except (TimeoutError, OSError) as error:
        raise Undelivered(type(error).__name__) from None
    except Exception as error:  # aiohttp's errors and anything slack_sdk lets through
        raise Undelivered(f"{type(error).__name__}: {error}") from None
    try:
        marked = await ctx.write(mark_delivered, message)
    except Exception as error:
        # Slack took it and its ts is stored (or the next attempt finds it by its key, as the
        # attempt was counted before posting): only the bookkeeping is owed, so try again.
        raise Undelivered(f"delivered, but not recorded: {error}") from None
    if not marked:
        log.info(
            "%s of #%s changed while it was sent; the newer is owed", message.key, message.window_id
        )
    return ts


async def _send(ctx: BotContext, message: OutboxMessage) -> str:
    if message.is_parent:
        return await _send_parent(ctx, message)
    if message.thread_ts is None:  # held: its proposal is not in Slack yet
        parent = parent_row(ctx.db, message.window_id)
        if parent is None or parent.status == "refused":
            raise Undelivered("thread_not_found")  # nor will it be: no thread to post in
        raise Undelivered("parent_not_posted")
    client = outbox_client(ctx)
    known = find_message(ctx.db, message.window_id, message.key)
    if known is None and (message.search_thread or message.attempts > 0):
        # An earlier attempt may have reached Slack with its answer lost: look before posting.
        thread_ts = message.thread_ts
        found = await _look(
            ctx,
            message,
            f"{message.key} of #{message.window_id}",
            lambda: find_in_thread(client, message.channel, thread_ts, message.key),
        )
        if found is not None:
            await remember(ctx, message, found)
            known = find_message(ctx.db, message.window_id, message.key)
    if known is not None:
        await client.chat_update(
            channel=known.channel, ts=known.ts, text=message.text, blocks=message.blocks or []
        )
        return known.ts
    await ctx.write(mark_sending, message)  # a crash before Slack's answer: look next time
    response = await client.chat_postMessage(
        channel=message.channel,
        thread_ts=message.thread_ts,
        text=message.text,
        blocks=message.blocks,
        metadata=metadata_for(message.window_id, message.key),
        unfurl_links=False,
        reply_broadcast=message.broadcast,
    )
    ts = str(response["ts"])
    await remember(ctx, message, ts)
    return ts


async def _send_parent(ctx: BotContext, message: OutboxMessage) -> str:
    """Post the window's proposal in its channel, or edit it once it is there."""
    client = outbox_client(ctx)
    window = get_window(ctx.db, message.window_id)
    known = window.message_ts if window is not None else None
    if known is None and window is not None and (message.search_thread or message.attempts > 0):
        # An earlier attempt may have reached Slack with its answer lost: look before posting.
        oldest = min(window.created_at, message.queued_at or window.created_at) - SEARCH_MARGIN
        found = await _look(
            ctx,
            message,
            f"the proposal of #{message.window_id}",
            lambda: find_in_channel(client, message.channel, message.window_id, oldest),
        )
        if found is not None:
            await _record_parent(ctx, message, message.channel, found)
            known = found
    if known is not None:
        channel = window.channel if window is not None and window.channel else message.channel
        await client.chat_update(
            channel=channel, ts=known, text=message.text, blocks=message.blocks or []
        )
        return known
    await ctx.write(mark_sending, message)  # a crash before Slack's answer: look next time
    response = await client.chat_postMessage(
        channel=message.channel,
        text=message.text,
        blocks=message.blocks,
        metadata=metadata_for(message.window_id, message.key),
        unfurl_links=False,
    )
    ts = str(response["ts"])
    await _record_parent(ctx, message, str(response.get("channel") or message.channel), ts)
    return ts


async def _record_parent(ctx: BotContext, message: OutboxMessage, channel: str, ts: str) -> None:
    await ctx.write(record_parent, message, channel=channel, ts=ts, at=ctx.now())
    window = get_window(ctx.db, message.window_id)
    if window is not None:
        ctx.window_changed(window)  # the Home tabs showing it
    if pending_messages(ctx.db, message.window_id):
        ensure_dispatcher(ctx)  # thread messages held for the proposal are due now


async def _look(
    ctx: BotContext, message: OutboxMessage, what: str, find: Callable[[], Awaitable[str | None]]
) -> str | None:
    """``find()``, the look-up by key before a post is sent again. When Slack will not let the
    bot read the channel (it posts with ``chat:write.public`` and need not be a member), it
    joins the channel and looks again; if it still cannot read there it posts without looking:
    a message shown twice is better than one never shown. Anything else Slack answers is
    raised, so the row is tried again later."""
    for last in (False, True):
        try:
            return await find()
        except SlackApiError as error:
            code = str(error.response.get("error") or "")
            if code not in _PERMANENT:
                raise
            if last or code != "not_in_channel" or await join(ctx, message.channel) is not None:
                log.warning("cannot look in %s for %s (%s); posting", message.channel, what, code)
                return None
    return None


async def remember(ctx: BotContext, message: OutboxMessage, ts: str) -> None:
    await ctx.write(
        remember_message,
        window_id=message.window_id,
        key=message.key,
        channel=message.channel,
        ts=ts,
    )


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
            except Exception as unexpected:  # the dispatcher never dies (issue 15, item 2)
                error = (
                    unexpected
                    if isinstance(unexpected, Undelivered)
                    else Undelivered(f"{type(unexpected).__name__}: {unexpected}")
                )
                if not isinstance(unexpected, Undelivered):
                    log.exception("delivering %s of #%s failed", row.key, row.window_id)
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
