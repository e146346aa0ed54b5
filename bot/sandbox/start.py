"""Starting the sandbox: the Slack stand-in, the bot in HTTP mode against it, and the page; and
the CLI's serve loop. Apart from ``run`` so the page (``server``) can import ``run``'s Sandbox
without a cycle."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import signal
import tempfile
from pathlib import Path

from bot.context import BotContext
from bot.runtime import build_context, start_http
from bot.sandbox.render import Names
from bot.sandbox.run import (
    ADMIN_GROUP,
    Sandbox,
    SandboxClock,
    channel_names,
    sandbox_users,
)
from bot.sandbox.server import start_page
from bot.sandbox.slack_stub import SlackStub
from bot.settings import Config, Settings


async def start_sandbox(
    config: Config,
    host: str = "127.0.0.1",
    port: int = 3000,
    db_path: Path | None = None,
    tick_seconds: float = 5.0,
) -> Sandbox:
    """Stub, bot and page, all on loopback except the page (``host``). The database is
    ``db_path``, or a fresh one in a temporary directory removed at stop."""

    users = sandbox_users(config)
    channels = channel_names(config)
    stub = SlackStub(
        bot_token=f"xoxb-sandbox-{secrets.token_hex(8)}",
        usergroups={ADMIN_GROUP: [u.id for u in users if ADMIN_GROUP in u.role]},
        users={
            u.id: {"real_name": u.name, "name": u.name.lower(), "tz": config.timezone}
            for u in users
        },
        channels=channels,
    )
    temp_dir = None if db_path is not None else Path(tempfile.mkdtemp(prefix="upgradebot-sandbox-"))
    database = db_path if db_path is not None else Path(str(temp_dir)) / "sandbox.db"
    clock = SandboxClock()
    secret = secrets.token_hex(16)
    ctx: BotContext | None = None
    try:
        api_url = await stub.start()
        settings = Settings(
            _env_file=None,
            slack_bot_token=stub.bot_token,
            slack_signing_secret=secret,
            slack_api_url=api_url,
        )
        ctx = build_context(settings, config, clock=clock, db_path=database)
        running = await start_http(ctx, secret, "127.0.0.1", 0)
    except BaseException:
        if ctx is not None:
            ctx.db.close()
        await stub.stop()
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    names = Names(
        users={u.id: u.name for u in users} | {stub.store.workspace.bot_user_id: "upgradebot"},
        channels=channels,
        groups={ADMIN_GROUP: "admins"},
    )
    sandbox = Sandbox(config, stub, running, clock, secret, users, names, temp_dir=temp_dir)
    try:
        sandbox.page, sandbox.page_runner, sandbox.url = await start_page(
            sandbox, host, port, tick_seconds
        )
    except BaseException:
        await sandbox.stop()
        raise
    return sandbox


async def serve_sandbox(
    config: Config, host: str = "127.0.0.1", port: int = 3000, db_path: Path | None = None
) -> None:
    """The CLI's sandbox: print the address, serve until SIGINT or SIGTERM, then stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    sandbox = await start_sandbox(config, host, port, db_path)
    print(f"upgradebot sandbox: open {sandbox.url} (Ctrl-C stops it)", flush=True)
    try:
        await stop.wait()
    finally:
        print("upgradebot sandbox: stopping", flush=True)
        await sandbox.stop()
