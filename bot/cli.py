"""upgradebot's command line: serve, sandbox, check-config, check-dms, run (what `make run`
starts), export, calendar, accept-package, catalog build."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.domain.errors import ConfigError, UnusableDatabase
from bot.ops.logs import FORMATS, configure_logging
from bot.settings import Config, Settings, load_config

EXIT_CONFIG = 2
EXIT_CANNOT_LISTEN = 1

NO_TOKENS = """\
upgradebot needs a Slack app to talk to. Set these (in the environment or in .env):

  SLACK_BOT_TOKEN       xoxb-…  OAuth & Permissions → Bot User OAuth Token
  SLACK_SIGNING_SECRET  …       Basic Information → App Credentials → Signing Secret
  SLACK_APP_TOKEN       xapp-…  Basic Information → App-Level Tokens (scope connections:write);
                                 set it for Socket Mode, leave it out for HTTP mode

To get them: api.slack.com/apps → Create New App → From an app manifest → paste manifest.yml
from this folder → Install to Workspace. Then run `make run` again.
Config file in use: {config}
"""

SANDBOX_INSTEAD = """\
No Slack tokens (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET) are set, so `run` starts the sandbox:
the real bot against a local stand-in for Slack, in your browser. To connect a real Slack
workspace instead, create the app from manifest.yml and set the tokens (see the README).
Config file in use: {config}
"""


def main(argv: Sequence[str] | None = None) -> int:
    logging_options = argparse.ArgumentParser(add_help=False)
    logging_options.add_argument(
        "--log-format",
        choices=FORMATS,
        default=argparse.SUPPRESS,
        help="text for people (default), json for log shippers: one object per line",
    )
    logging_options.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default=argparse.SUPPRESS,
        help="info (default): what happened to each window; debug adds the scheduler's jobs",
    )
    parser = argparse.ArgumentParser(
        prog="upgradebot", description=__doc__, parents=[logging_options]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve",
        parents=[logging_options],
        help="run the bot (Socket Mode if SLACK_APP_TOKEN is set)",
    )
    serve.add_argument("--http", action="store_true", help="HTTP mode even with an app token")
    serve.add_argument(
        "--port", type=int, default=3000, help="HTTP mode: Slack's events; Socket Mode: health"
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address --port listens on")
    sandbox = sub.add_parser(
        "sandbox",
        parents=[logging_options],
        help="the whole bot in a browser page, with a local stand-in for Slack",
    )
    sandbox.add_argument("--port", type=int, default=3000)
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument(
        "--db", type=Path, default=None, help="keep the sandbox's SQLite here (default: temporary)"
    )
    sub.add_parser("check-config", help="validate the config and print what it understood")
    dms = sub.add_parser(
        "check-dms", help="read a real DMS with the configured settings, per agent; changes nothing"
    )
    dms.add_argument("system", help="the system's name under systems: in the config")
    run = sub.add_parser(
        "run",
        parents=[logging_options],
        help="serve with Slack tokens; without them, start the sandbox",
    )
    run.add_argument("--port", type=int, default=3000, help="the sandbox's port, without tokens")
    run.add_argument("--host", default="127.0.0.1", help="the sandbox's address, without tokens")
    export = sub.add_parser("export", help="print a window's change record (markdown or JSON)")
    export.add_argument("window", metavar="id", help="the window's number, e.g. 12 or #12")
    export.add_argument("--json", action="store_true", help="JSON instead of markdown")
    export.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    calendar = sub.add_parser("calendar", help="print the windows and blackouts as iCalendar")
    calendar.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    accept = sub.add_parser(
        "accept-package",
        help="a package file was replaced on purpose: fingerprint it afresh at the next check",
    )
    accept.add_argument("name", help="the file name in packages.dir, as the pre-check shows it")
    catalog = sub.add_parser("catalog", help="maintain the release catalog")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    build = catalog_sub.add_parser(
        "build", help="regenerate bot/data/catalog.yml from a dataminer-docs checkout"
    )
    build.add_argument("--docs", type=Path, required=True, help="the dataminer-docs checkout")
    build.add_argument("--output", type=Path, default=None, help="default: bot/data/catalog.yml")
    build.add_argument("--facts", type=Path, default=None, help="default: catalog_facts.yml")
    build.add_argument("--commit", default=None, help="the docs commit (default: ask git)")
    build.add_argument("--date", default=None, help="the docs date YYYY-MM-DD (default: git)")
    args = parser.parse_args(argv)
    if args.command == "catalog":
        return build_catalog(args.docs, args.output, args.facts, args.commit, args.date)
    settings = Settings()
    configure_logging(
        getattr(args, "log_format", "text"),
        level=getattr(logging, getattr(args, "log_level", "info").upper()),
        secrets=settings.secret_values(),
    )
    try:
        config = load_config(settings.config_path())
        check_adapters(config)
    except ConfigError as error:
        print(f"upgradebot: {error.message}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return run_command(args, settings, config)
    except UnusableDatabase as error:  # read-only, full disk, not a database (issue 15)
        print(f"upgradebot: {error.message}", file=sys.stderr)
        return EXIT_CONFIG


def run_command(args: argparse.Namespace, settings: Settings, config: Config) -> int:
    """The subcommand, once the config is valid."""
    if args.command == "export":
        return export_record(settings, config, args.window, args.json, args.output)
    if args.command == "calendar":
        return write_calendar(settings, config, args.output)
    if args.command == "accept-package":
        return accept_package(settings, args.name)
    if args.command == "check-config":
        print(describe(settings, config))
        return 0
    if args.command == "check-dms":
        return check_dms(config, args.system)
    if args.command == "run" and not settings.has_slack_tokens:
        print(SANDBOX_INSTEAD.format(config=settings.config_path()), flush=True)
        return _sandbox(config, args.host, args.port, None)
    if args.command == "sandbox":
        print(f"Config file in use: {settings.config_path()}", flush=True)
        return _sandbox(config, args.host, args.port, args.db)
    if not settings.has_slack_tokens:
        print(NO_TOKENS.format(config=settings.config_path()), file=sys.stderr)
        return EXIT_CONFIG
    socket_mode = settings.slack_app_token is not None and not getattr(args, "http", False)
    port = getattr(args, "port", 3000)
    host = getattr(args, "host", "127.0.0.1")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(settings, config, socket_mode, host, port))
    return 0


def build_catalog(
    docs: Path, output: Path | None, facts: Path | None, commit: str | None, day: str | None
) -> int:
    """`upgradebot catalog build`: the shell is bot/catalog_build.py."""
    import time
    from datetime import date

    from bot.catalog_build import FACTS_FILE, build_catalog_file
    from bot.releases import CATALOG_FILE

    started = time.perf_counter()
    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        print(f"upgradebot: --date `{day}` is not a date like 2026-08-21.", file=sys.stderr)
        return EXIT_CONFIG
    try:
        result = build_catalog_file(
            docs, output or CATALOG_FILE, facts or FACTS_FILE, commit=commit, docs_date=when
        )
    except ConfigError as error:
        print(f"upgradebot: {error.message}", file=sys.stderr)
        return EXIT_CONFIG
    seconds = time.perf_counter() - started
    print(
        f"upgradebot: wrote {result.output}: {result.releases} releases ({result.previews} "
        f"previews) from docs {result.commit[:12]} of {result.docs_date} in {seconds:.2f} s."
    )
    return 0


def check_adapters(config: Config) -> None:
    """Each system's adapter block is checked by its adapter (and credentials are looked up in
    the environment) before anything starts, so a typo stops the bot with exit code 2."""
    from bot.agents import build_adapter

    for name, system in config.systems.items():
        try:
            build_adapter(system.adapter.kind, name, system.adapter.options())
        except ValueError as error:
            raise ConfigError(f"Invalid config: {error}") from None


def check_dms(config: Config, system: str) -> int:
    """``upgradebot check-dms``: exit 0 when everything configured could be read, 1 if not."""
    from bot.agents import build_adapter
    from bot.agents.dataminer import DataMinerAdapter
    from bot.agents.dataminer.check import check_dms as report

    if system not in config.systems:
        known = ", ".join(config.systems) or "none"
        print(
            f"upgradebot: no system {system!r} in the config (systems: {known}).", file=sys.stderr
        )
        return EXIT_CONFIG
    block = config.systems[system].adapter
    adapter = build_adapter(block.kind, system, block.options())
    if not isinstance(adapter, DataMinerAdapter):
        print(
            f"upgradebot: system {system!r} uses the {block.kind} adapter; nothing to connect to."
        )
        return 0
    text, healthy = asyncio.run(report(adapter))
    print(text)
    return 0 if healthy else 1


def _sandbox(config: Config, host: str, port: int, db: Path | None) -> int:
    """Serve the sandbox until Ctrl-C or SIGTERM; exit 0 then, 1 if the port is taken."""
    from bot.sandbox.start import serve_sandbox

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_sandbox(config, host, port, db))
    except OSError as error:
        print(
            f"upgradebot: cannot serve the sandbox on {host}:{port}: {error.strerror or error}. "
            "Pass --port to use another port.",
            file=sys.stderr,
        )
        return EXIT_CANNOT_LISTEN
    return 0


async def _serve(
    settings: Settings, config: Config, socket_mode: bool, host: str, port: int
) -> None:
    from bot.runtime import build_context, serve_forever, start_http, start_socket_mode

    ctx = build_context(settings, config)
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    )
    if socket_mode and settings.slack_app_token is not None:
        app_token = settings.slack_app_token.get_secret_value()
        running = await start_socket_mode(ctx, secret, app_token, ops_host=host, ops_port=port)
    else:
        token = settings.upgradebot_calendar_token
        calendar_token = token.get_secret_value() if token else None
        running = await start_http(ctx, secret, host, port, calendar_token=calendar_token)
    await serve_forever(running)


def export_record(
    settings: Settings, config: Config, window: str, as_json: bool, output: str | None
) -> int:
    """``upgradebot export``: the change record from the database, for auditors and archives."""
    from bot.domain.errors import UnknownWindow
    from bot.record import build_record, to_json, to_markdown
    from commands.base import parse_window_id
    from storage.health import open_usable

    path = settings.upgradebot_db
    if str(path) != ":memory:" and not path.exists():
        print(f"upgradebot: there is no database at {path} (set UPGRADEBOT_DB).", file=sys.stderr)
        return EXIT_CONFIG
    db = open_usable(path, writes=False)
    try:
        record = build_record(db, parse_window_id(window), tz=config.tz)
    except UnknownWindow:
        print(f"upgradebot: there is no window {window!r} in {path}.", file=sys.stderr)
        return EXIT_CONFIG
    finally:
        db.close()
    text = to_json(record) + "\n" if as_json else to_markdown(record)
    if output is None:
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")
        print(f"upgradebot: wrote the record of #{record.window.id} to {output}", file=sys.stderr)
    return 0


def write_calendar(settings: Settings, config: Config, output: str | None) -> int:
    """``upgradebot calendar``: every window and blackout as an .ics file, on the host."""
    from datetime import UTC, datetime

    from bot.ops.calendar import to_ical
    from storage import list_windows
    from storage.health import open_usable

    path = settings.upgradebot_db
    if str(path) != ":memory:" and not path.exists():
        print(f"upgradebot: there is no database at {path} (set UPGRADEBOT_DB).", file=sys.stderr)
        return EXIT_CONFIG
    db = open_usable(path, writes=False)
    try:
        windows = list_windows(db)
    finally:
        db.close()
    body = to_ical(windows, config.local_blackouts(), tz=config.tz, now=datetime.now(UTC))
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    else:
        Path(output).write_bytes(body)
        print(f"upgradebot: wrote {len(windows)} window(s) to {output}", file=sys.stderr)
    return 0


def accept_package(settings: Settings, name: str) -> int:
    """``upgradebot accept-package``: on the bot's host, by someone who replaced the file on
    purpose; the pre-check otherwise refuses a file that changed since it was first seen."""
    import getpass
    from datetime import UTC, datetime

    from storage import append_audit, forget_package
    from storage.health import open_usable

    path = settings.upgradebot_db
    if not path.exists():
        print(f"upgradebot: there is no database at {path} (set UPGRADEBOT_DB).", file=sys.stderr)
        return EXIT_CONFIG
    db = open_usable(path)
    try:
        if not forget_package(db, name):
            print(
                f"upgradebot: no package called {name!r} was ever fingerprinted.", file=sys.stderr
            )
            return EXIT_CONFIG
        append_audit(
            db,
            actor=f"host:{getpass.getuser()}",
            action="package_accepted",
            at=datetime.now(UTC),
            detail={"package": name},
        )
    finally:
        db.close()
    print(f"upgradebot: {name} will be fingerprinted afresh at the next pre-check.")
    return 0


def catalog_line(config: Config) -> str:
    """What check-config says of the release catalog: its docs date, and when it is stale."""
    from datetime import UTC, datetime

    from bot.domain.catalog import stale_catalog_sentence
    from bot.releases import CATALOG_FILE, load_catalog

    try:
        catalog = load_catalog(config.catalog)
    except ConfigError as error:
        return f"catalog: {error.message}"
    built = catalog.docs_date.isoformat() if catalog.docs_date else "an unknown date"
    line = f"catalog: {config.catalog or CATALOG_FILE} (docs of {built})"
    today = datetime.now(UTC).date()
    stale = stale_catalog_sentence(catalog, today, config.catalog_max_age)
    return f"{line}; {stale}" if stale else line


def describe(settings: Settings, config: Config) -> str:
    """What check-config prints: the understood config, and which secrets are set (never values)."""
    lines = [
        f"config: {settings.config_path()} (valid)",
        f"database: {settings.upgradebot_db}",
        f"time zone: {config.timezone}",
        f"approvers: {', '.join(config.roles.approvers) or '(none: nobody can approve!)'}",
        f"operators: {', '.join(config.roles.operators) or '(none)'}",
        f"proposers: {', '.join(config.roles.proposers) or 'anyone'}",
        f"four-eyes: {'on' if config.four_eyes else 'off'}",
        f"pre-check lead: {config.schedule.precheck_lead}; reminders: "
        + ", ".join(str(r) for r in config.schedule.reminders),
        f"step deadline: {config.schedule.step_deadline_factor:g} times the step's share of "
        "the estimate",
        f"packages: {config.packages.dir}; backup max age: {config.backup_max_age}",
        catalog_line(config),
    ]
    for blackout in config.blackouts:
        lines.append(f"blackout: {blackout.name} {blackout.start} → {blackout.end}")
    for name, system in config.systems.items():
        agents = system.adapter.options().get("agents") or []
        lines.append(
            f"system {name}: channel {system.channel}, adapter {system.adapter.kind}, "
            f"{len(agents)} agent(s) configured"
        )
    for key, value in (
        ("SLACK_BOT_TOKEN", settings.slack_bot_token),
        ("SLACK_SIGNING_SECRET", settings.slack_signing_secret),
        ("SLACK_APP_TOKEN", settings.slack_app_token),
    ):
        lines.append(f"{key}: {'set' if value else 'not set'}")
    lines.append(f"SLACK_API_URL: {settings.api_url}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
