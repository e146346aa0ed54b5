"""The outbox's side of Slack: a client that never re-sends a post blindly and counts what
it does, and looking for a message the bot posted by the key in its metadata (in a window's
thread, or the proposal in its channel), so a post whose answer was lost is found, not
posted twice (``bot/outbox.py``)."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.context import BotContext
from bot.ops.metrics import MeteredWebClient, Metrics, _CountsRetries
from bot.slack.retry import ConnectionRetry, ServerErrorRetry, retry_handlers
from storage.outbox import PARENT_KEY

EVENT_TYPE = "upgradebot_message"
HISTORY_PAGE = 200
HISTORY_PAGES = 10


def metadata_for(window_id: int, key: str) -> dict[str, object]:
    """The metadata every keyed message carries: how it is found again."""
    return {"event_type": EVENT_TYPE, "event_payload": {"window": window_id, "key": key}}


def outbox_client(ctx: BotContext) -> AsyncWebClient:
    """The bot's client, except that it never re-sends a post Slack may have taken: the outbox
    settles those by the key in the thread (``bot/slack/retry.py``). Its errors and retries
    are counted in the bot's metrics like every other Slack call."""
    client = MeteredWebClient(
        token=ctx.client.token, base_url=ctx.client.base_url, timeout=ctx.client.timeout
    )
    client.metrics = ctx.metrics
    client.retry_handlers = [_counted(handler, ctx.metrics) for handler in retry_handlers()]
    return client


class _CountedConnectionRetry(_CountsRetries, ConnectionRetry):
    reason = "connection"


class _CountedRateLimitRetry(_CountsRetries, AsyncRateLimitErrorRetryHandler):
    reason = "rate_limited"


class _CountedServerErrorRetry(_CountsRetries, ServerErrorRetry):
    reason = "server_error"


_COUNTED: dict[type[AsyncRetryHandler], type[AsyncRetryHandler]] = {
    ConnectionRetry: _CountedConnectionRetry,
    AsyncRateLimitErrorRetryHandler: _CountedRateLimitRetry,
    ServerErrorRetry: _CountedServerErrorRetry,
}


def _counted(handler: AsyncRetryHandler, metrics: Metrics) -> AsyncRetryHandler:
    """The same handler (same retry count), counting each retry by method and reason."""
    counted_type = _COUNTED.get(type(handler))
    if counted_type is None:
        return handler
    counted = counted_type(max_retry_count=handler.max_retry_count)
    counted.metrics = metrics  # type: ignore[attr-defined]
    return counted


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


async def find_in_channel(
    client: AsyncWebClient, channel: str, window_id: int, oldest: datetime
) -> str | None:
    """The ts of the bot's proposal of ``window_id`` posted in the channel since ``oldest``,
    found by its key in the message metadata; None when it is not there. Raises like any
    Slack call."""
    cursor: str | None = None
    for _ in range(HISTORY_PAGES):
        response = await client.conversations_history(
            channel=channel,
            oldest=f"{oldest.timestamp():.6f}",
            include_all_metadata=True,
            limit=HISTORY_PAGE,
            cursor=cursor,
        )
        for found in response.get("messages") or []:
            metadata = found.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if (
                metadata.get("event_type") == EVENT_TYPE
                and payload.get("key") == PARENT_KEY
                and payload.get("window") == window_id
            ):
                return str(found["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not response.get("has_more") or cursor is None:
            return None
    return None
