"""The routes for the people and tools around the bot: ``/healthz``, ``/metrics`` and
``/calendar.ics``. HTTP mode serves them beside ``/slack/events``; Socket Mode serves the first
two on a small listener of their own (``ops_app``).

The calendar is private (window names, systems, who proposed): it is served only with the
secret token of ``UPGRADEBOT_CALENDAR_TOKEN``, given as ``?token=`` (what a calendar
subscription can carry) or ``Authorization: Bearer``. No access log is kept, and nothing here
logs a request's URL, so the token never lands in a log.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackClientError

from bot.context import BotContext
from bot.ops.calendar import to_ical
from bot.ops.metrics import CONTENT_TYPE
from storage import list_windows
from storage.health import write_problem

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.Response]]

AUTH_TEST_TIMEOUT_SECONDS = 1.0
CALENDAR_OFF = "The calendar feed is off: set UPGRADEBOT_CALENDAR_TOKEN to serve it."
CALENDAR_REFUSED = "This calendar needs its token: add ?token=… as the bot's admin gave it to you."


def add_ops_routes(application: web.Application, ctx: BotContext) -> None:
    application.router.add_get("/healthz", _healthz(ctx))
    application.router.add_get("/metrics", _metrics(ctx))


def add_calendar_route(
    application: web.Application, ctx: BotContext, calendar_token: str | None
) -> None:
    """``/calendar.ics``; without a configured token it answers 404 with how to turn it on."""
    application.router.add_get("/calendar.ics", _calendar(ctx, calendar_token or ""))


def ops_app(ctx: BotContext) -> web.Application:
    """What Socket Mode listens with: no Slack route, no calendar, just health and metrics."""
    application = web.Application(client_max_size=64 * 1024)
    add_ops_routes(application, ctx)
    return application


def _healthz(ctx: BotContext) -> Handler:
    async def healthz(request: web.Request) -> web.Response:
        ctx.db.execute("select 1").fetchone()
        if problem := write_problem(ctx.db):
            return web.json_response({"ok": False, "database": problem}, status=503)
        scheduler = ctx.scheduler
        if scheduler is None or not scheduler.running:
            return web.json_response({"ok": False, "scheduler": "not running"}, status=503)
        return web.json_response({"ok": True, "next_action": str(scheduler.next_due() or "")})

    return healthz


def _metrics(ctx: BotContext) -> Handler:
    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=ctx.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    return metrics


def _calendar(ctx: BotContext, token: str) -> Handler:
    workspace: dict[str, str | None] = {}

    async def calendar(request: web.Request) -> web.Response:
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        given = request.query.get("token", "") or bearer
        if not token:
            return web.Response(status=404, text=CALENDAR_OFF)
        if not hmac.compare_digest(given.encode(), token.encode()):
            return web.Response(status=401, text=CALENDAR_REFUSED)
        if "url" not in workspace:
            workspace["url"] = await _workspace_url(ctx)
        body = to_ical(
            list_windows(ctx.db),
            ctx.config.local_blackouts(),
            tz=ctx.tz,
            now=ctx.now(),
            workspace_url=workspace["url"],
        )
        return web.Response(
            body=body,
            headers={
                "Content-Type": "text/calendar; charset=utf-8",
                "Content-Disposition": 'inline; filename="upgrades.ics"',
                "Cache-Control": "private, max-age=300",
            },
        )

    return calendar


async def _workspace_url(ctx: BotContext) -> str | None:
    """The workspace's address for links to the threads; None (slack:// links) if Slack is slow
    or says no."""
    try:
        answer = await asyncio.wait_for(ctx.client.auth_test(), AUTH_TEST_TIMEOUT_SECONDS)
    except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as error:
        log.warning("auth.test failed, the calendar links threads with slack://: %s", error)
        return None
    url = answer.get("url")
    return url if isinstance(url, str) and url else None
