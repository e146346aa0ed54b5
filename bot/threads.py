"""Posting into a window's thread, once: each bot message in a thread has a key.

The key (``details``, ``precheck:7``, ``reminder:12``…) is stored with the message's ts, so a
second call edits instead of posting again. Every message is first written to the outbox
(``storage/outbox.py``), then delivered: at once when Slack answers, else by the dispatcher in
``bot/outbox.py`` until Slack took it, finding a post whose answer was lost by the key in its
metadata instead of posting it twice (issue 15).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.context import BotContext
from bot.domain.gates import approval_round
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
from storage import Database, find_message, list_acks
from storage.outbox import PARENT_KEY, OutboxMessage, pending_messages, queue_message, window_outbox

log = logging.getLogger(__name__)

__all__ = ["EVENT_TYPE", "post_keyed", "retire", "round_key", "tell"]


def round_key(ctx: BotContext, window: Window, key: str) -> str:
    """``key`` for a message that belongs to one approval round (the checklist, the go prompt,
    the decision line): a window approved again gets a fresh message, not an edit of the old."""
    rounds = approval_round(list_acks(ctx.db, window.id))
    return key if rounds <= 1 else f"{key}@{rounds}"


async def post_keyed(
    ctx: BotContext,
    window: Window,
    key: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    *,
    search_thread: bool = False,
    broadcast: bool = False,
    together: Callable[[Database], object] | None = None,
) -> str | None:
    """Post (or edit) the window's ``key`` message in its thread; its ts, or None while it is
    not delivered yet (it stays owed and the dispatcher delivers it). ``broadcast`` also shows
    a new message in the channel (Slack's "Also send to channel"). ``together`` is the state
    change that owes this message (a step halted, a verification recorded): it is written in
    the same transaction as the outbox row, so a crash can never leave one without the other
    (issue 15, item 4). Owed before the window's proposal is in Slack, the message is held and
    posted in its thread once it is."""
    if not window.channel:
        if together is not None:
            await ctx.write(together)
        log.warning("%s has no channel; %s not posted", window.label, key)
        return None
    channel = window.channel
    thread_ts = window.message_ts  # None: the stored proposal's, or held until it is posted

    def owe(db: Database) -> OutboxMessage:
        if together is not None:
            together(db)
        return queue_message(
            db,
            window_id=window.id,
            key=key,
            channel=channel,
            thread_ts=thread_ts,
            text=text,
            blocks=blocks,
            at=ctx.now(),
            search_thread=search_thread,
            broadcast=broadcast,
        )

    message = await ctx.write(owe)
    if message.thread_ts is None:
        log.info("%s of %s is held until its proposal is posted", key, window.label)
        ensure_dispatcher(ctx)
        return None
    if any(row.id != message.id and row.attempts for row in pending_messages(ctx.db, window.id)):
        ensure_dispatcher(ctx)  # an earlier message of this thread failed and is owed: in order
        return _known_ts(ctx, window, key)
    try:
        ts = await deliver(ctx, message)
    except Undelivered as error:
        if is_permanent(error):
            await give_up(ctx, message, error)
            return None
        await failed(ctx, message, error)
        log.warning("%s of %s not delivered yet (%s); retrying", key, window.label, error.reason)
        ensure_dispatcher(ctx)
        return _known_ts(ctx, window, key)
    # A new post in the thread can change what someone owes without the state moving (the
    # pre-check's results open G3, the go prompt G4): the Home tabs are published again.
    ctx.window_changed(window)
    return ts


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


async def retire(
    ctx: BotContext, window: Window, note: str, *, keys: Sequence[str] | None = None
) -> int:
    """Take the buttons off the window's thread messages that are no longer the way forward
    (all keyed messages, or only ``keys``), and say in their place what happened and where to
    act now: only the current message carries controls. Each edit is the message as the bot
    last wrote it (its outbox row) without its actions, queued through :func:`post_keyed`, so it
    is recorded first, retried until Slack takes it, and a second retire finds nothing to do.
    ``note`` is bot-made (mentions work). Returns how many were queued; a stale button stays
    refused by its handler anyway."""
    edited = 0
    for message in window_outbox(ctx.db, window.id):
        if message.key == PARENT_KEY or (keys is not None and message.key not in keys):
            continue  # the proposal is re-rendered by its own flow, never retired
        blocks = message.blocks or []
        if not any(block.get("type") == "actions" for block in blocks):
            continue
        kept = [block for block in blocks if block.get("type") != "actions"]
        kept.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
        await post_keyed(ctx, window, message.key, message.text, kept)
        edited += 1
    return edited
