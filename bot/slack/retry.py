"""Which failed Slack calls slack_sdk may send again by itself (issue 15).

A rate limit (429) is always safe to retry: Slack did nothing. A server error or a connection
that dropped after the request went out may have posted the message: for ``chat.postMessage``
only a connection that was never made is retried here, and everything else is left to the
outbox (``bot/outbox.py``), which looks for the message's key in the thread before posting
again. Other methods edit or read, where a second attempt changes nothing. The outbox's client
uses these handlers; the bot's general client keeps slack_sdk's own.
"""

from __future__ import annotations

from aiohttp import ClientConnectorError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

NOT_REPEATABLE = ("chat.postMessage",)


def _posts(request: HttpRequest) -> bool:
    return request.url.rstrip("/").endswith(NOT_REPEATABLE)


class ConnectionRetry(AsyncConnectionErrorRetryHandler):
    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if _posts(request):
            return isinstance(error, ClientConnectorError)  # never connected: nothing posted
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


class ServerErrorRetry(AsyncServerErrorRetryHandler):
    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if _posts(request):
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


def retry_handlers() -> list[AsyncRetryHandler]:
    return [
        ConnectionRetry(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetry(max_retry_count=3),
    ]
