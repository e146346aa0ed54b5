"""manifest.yml is valid for Slack and declares exactly what the app handles."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from bot import ids
from bot.app import build_app, listener_table
from bot.context import BotContext
from commands import SUBCOMMANDS

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT.parent / "shared" / "slack-specs" / "manifest-schema" / "schemas"
VENDORED = ROOT / "tests" / "data" / "manifest.schema.1.0.0.json"


def manifest() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8")))


def schema() -> dict[str, Any]:
    # The shared copy is beside the clone in CI and in sessions; the vendored one keeps a
    # plain clone testable on its own.
    path = SCHEMAS / "manifest.schema.1.0.0.json"
    return dict(json.loads((path if path.exists() else VENDORED).read_text(encoding="utf-8")))


def test_manifest_validates_against_slacks_schema() -> None:
    errors = [e.message for e in jsonschema.Draft7Validator(schema()).iter_errors(manifest())]
    assert errors == []


def test_vendored_schema_is_the_shared_one() -> None:
    shared = SCHEMAS / "manifest.schema.1.0.0.json"
    if shared.exists():
        assert json.loads(shared.read_text()) == json.loads(VENDORED.read_text())
    assert VENDORED.exists()


def test_every_command_and_action_the_app_handles_is_declared_and_vice_versa(
    bot_context_factory: Callable[[], BotContext],
) -> None:
    ctx = bot_context_factory()
    app = build_app(ctx, "secret")
    table = listener_table()
    assert len(app._async_listeners) == len(table)
    commands = {name for kind, name, _ in table if kind == "command"}
    actions = {name for kind, name, _ in table if kind == "action"}
    views = {name for kind, name, _ in table if kind == "view"}
    events = {name for kind, name, _ in table if kind == "event"}
    declared = {c["command"] for c in manifest()["features"]["slash_commands"]}
    assert commands == declared == {ids.COMMAND}
    assert actions == set(ids.ACTIONS)
    assert views == set(ids.VIEWS)
    subscribed = manifest()["settings"].get("event_subscriptions", {}).get("bot_events", [])
    assert events == set(subscribed) == set(ids.EVENTS)
    # The Home tab is published on app_home_opened, so the manifest must turn it on.
    home_tab = manifest()["features"].get("app_home", {}).get("home_tab_enabled", False)
    assert home_tab is (ids.Event.APP_HOME_OPENED in events)
    # Buttons and modals need interactivity; Socket Mode is how `upgradebot serve` connects.
    settings = manifest()["settings"]
    assert settings["interactivity"]["is_enabled"] is (bool(actions) or bool(views))
    assert settings["socket_mode_enabled"] is True


def test_the_usage_hint_lists_every_subcommand_and_nothing_else() -> None:
    hint = manifest()["features"]["slash_commands"][0]["usage_hint"]
    named = set(re.findall(r"(?:^|\| )([a-z-]+)", hint))
    assert named == set(SUBCOMMANDS)


# Every Web API method the bot calls, with the bot scopes Slack requires for it.
METHOD_SCOPES: dict[str, set[str]] = {
    "auth_test": set(),
    "chat_postMessage": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "chat_update": {"chat:write"},
    "conversations_history": {"channels:history", "groups:history"},
    "conversations_join": {"channels:join"},
    "conversations_replies": {"channels:history", "groups:history"},
    "files_upload_v2": {"files:write"},
    "users_info": {"users:read"},
    "usergroups_users_list": {"usergroups:read"},
    "views_open": set(),
    "views_publish": set(),
}


def test_scopes_cover_the_web_api_methods_the_bot_calls_and_no_more() -> None:
    called: set[str] = set()
    for folder in ("bot", "commands"):
        for path in (ROOT / folder).rglob("*.py"):
            if "sandbox" in path.parts:
                continue  # the stand-in for Slack, not a caller of it
            called |= set(re.findall(r"client\.(\w+)\(", path.read_text(encoding="utf-8")))
    assert called == set(METHOD_SCOPES), "add new Web API calls (and their scopes) to the table"
    needed = set().union(*METHOD_SCOPES.values()) | {"commands", "chat:write.public"}
    assert set(manifest()["oauth_config"]["scopes"]["bot"]) == needed
