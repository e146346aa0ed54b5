"""Wiring: from settings and config to a running context, HTTP server or Socket Mode client."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.agents import build_adapter
from bot.agents.base import AgentAdapter
from bot.app import build_app
from bot.context import BotContext, utc_now
from bot.flows.execute.flow import resume_all
from bot.flows.window.timed import HANDLERS, reconcile
from bot.ops.http import add_calendar_route, add_ops_routes, ops_app
from bot.ops.metrics import MeteredWebClient, Metrics, counted_retry_handlers
from bot.outbox import ensure_dispatcher
from bot.releases import load_catalog, load_known_issues
from bot.roles import RoleResolver
from bot.scheduler import Scheduler
from bot.settings import Config, Settings
from bot.slack.channels import join_channels
from bot.slack.intake import Refused, check_body, is_replayed
from storage.db import serve_from
from storage.health import open_usable

log = logging.getLogger(__name__)


def make_client(token: str, base_url: str, metrics: Metrics | None = None) -> MeteredWebClient:
    """A Web API client that waits out 429s (Retry-After) and retries 5xx and dropped links,
    counting its errors and retries by method."""
    metrics = metrics or Metrics()
    client = MeteredWebClient(token=token, base_url=base_url, timeout=15)
    client.metrics = metrics
    client.retry_handlers = counted_retry_handlers(metrics)
    return client


def build_context(
    settings: Settings,
    config: Config,
    *,
    clock: Callable[[], datetime] = utc_now,
    db_path: Path | None = None,
) -> BotContext:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    metrics = Metrics()
    client = make_client(token, settings.api_url, metrics)
    adapters: dict[str, AgentAdapter] = {
        name: build_adapter(system.adapter.kind, name, system.adapter.options(), clock)
        for name, system in config.systems.items()
    }
    # A read-only, full or foreign database stops the start with a sentence (issue 15, item 6).
    db = serve_from(open_usable(db_path or settings.upgradebot_db))
    metrics.watch_database(db)
    return BotContext(
        config=config,
        db=db,
        adapters=adapters,
        metrics=metrics,
        catalog=load_catalog(config.catalog),
        known_issues=load_known_issues(config.known_issues),
        client=client,
        roles=RoleResolver(config.roles, client),
        clock=clock,
        step_deadline_factor=config.schedule.step_deadline_factor,
    )


@dataclass
class Running:
    ctx: BotContext
    app: AsyncApp
    web_runner: web.AppRunner | None = None
    port: int | None = None
    socket_handler: Any = None

    async def stop(self) -> None:
        if self.ctx.scheduler is not None:
            await self.ctx.scheduler.shutdown()
        await self.ctx.drain()
        if self.socket_handler is not None:
            await self.socket_handler.close_async()
        if self.web_runner is not None:
            await self.web_runner.cleanup()
        for adapter in self.ctx.adapters.values():
            await adapter.close()
        self.ctx.db.close()


def http_app(bolt: AsyncApp, ctx: BotContext, calendar_token: str | None = None) -> web.Application:
    async def events(request: web.Request) -> web.Response:
        # Bolt answers a blank or non-numeric timestamp with a 500; it is simply unsigned.
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not stamp.isdigit() or not request.headers.get("X-Slack-Signature"):
            return web.Response(status=401, text="missing Slack signature")
        try:
            identity = check_body(request.content_type, await request.read())
        except Refused as refused:
            return web.Response(status=refused.status, text=refused.sentence)
        retry = request.headers.get("X-Slack-Retry-Num")
        if is_replayed(ctx, identity, retry, ctx.now()):
            # Slack retried a request the bot already took: answered, done once (issue 15).
            return web.Response(status=200, headers={"X-Slack-No-Retry": "1"})
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    application = web.Application(client_max_size=1024 * 1024)
    application.router.add_post("/slack/events", events)
    add_ops_routes(application, ctx)
    add_calendar_route(application, ctx, calendar_token)
    return application


async def start_scheduler(ctx: BotContext) -> None:
    """Arm the scheduler from the stored actions (missed ones run now, once)."""
    await join_channels(ctx)  # to read its own messages back (the outbox's lookups)
    scheduler = Scheduler(ctx, HANDLERS, tick_seconds=ctx.scheduler_tick_seconds)
    ctx.scheduler = scheduler
    report = await scheduler.start()
    log.info("scheduler armed: %s", report)

    await resume_all(ctx)
    repaired = await reconcile(ctx)
    if repaired:
        log.warning("repaired at start-up: %s", "; ".join(repaired))
        await scheduler.run_due()  # a proposal stored but never posted goes out now
    ensure_dispatcher(ctx)  # messages still owed from before the restart (issue 15)


async def start_http(
    ctx: BotContext,
    signing_secret: str,
    host: str = "127.0.0.1",
    port: int = 3000,
    *,
    calendar_token: str | None = None,
) -> Running:
    bolt = build_app(ctx, signing_secret)
    runner = web.AppRunner(http_app(bolt, ctx, calendar_token), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    await start_scheduler(ctx)
    log.info("upgradebot listening on http://%s:%s/slack/events", host, bound)
    return Running(ctx=ctx, app=bolt, web_runner=runner, port=bound)


async def serve_forever(running: Running) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        await running.stop()


async def start_socket_mode(
    ctx: BotContext,
    signing_secret: str,
    app_token: str,
    *,
    ops_host: str = "127.0.0.1",
    ops_port: int | None = None,
) -> Running:
    """Socket Mode; with ``ops_port`` (0: any free port) a small listener serves /healthz and
    /metrics for the service manager and Prometheus, since no Slack route listens here."""
    bolt = build_app(ctx, signing_secret)
    handler = AsyncSocketModeHandler(bolt, app_token, web_client=ctx.client)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    await start_scheduler(ctx)
    log.info("upgradebot connected through Socket Mode")
    running = Running(ctx=ctx, app=bolt)
    running.socket_handler = handler
    if ops_port is not None:
        runner = web.AppRunner(ops_app(ctx), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, ops_host, ops_port).start()
        running.web_runner = runner
        running.port = runner.addresses[0][1] if runner.addresses else ops_port
        log.info("health and metrics on http://%s:%s/healthz and /metrics", ops_host, running.port)
    return running
