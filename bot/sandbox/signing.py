"""Requests as Slack sends them to the bot: signed bodies of slash commands and interactions.

``sign`` follows https://docs.slack.dev/authentication/verifying-requests-from-slack/:
HMAC-SHA256 over ``v0:<timestamp>:<raw body>`` with the signing secret, sent as
``X-Slack-Signature: v0=<hex>`` next to ``X-Slack-Request-Timestamp``. The builders produce
the fields and payload shapes Slack documents, so Bolt parses them as it would real ones.

Trigger ids carry the moment they were issued (milliseconds, first segment) so the stub can
answer ``trigger_expired`` after 3 seconds, as Slack does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from bot.sandbox.slack_workspace import DEFAULT_WORKSPACE, Workspace

# Loopback port 9 (discard) refuses connections: a forgotten response_url fails loudly
# instead of reaching hooks.slack.com. Pass ``stub.response_url(...)`` to get a working one.
UNSET_RESPONSE_URL = "http://127.0.0.1:9/response-url-not-set"


def sign(secret: str, body: bytes | str, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack adds to every request it sends to an app."""
    stamp = int(time.time()) if timestamp is None else timestamp
    raw = body.decode() if isinstance(body, bytes) else body
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{raw}".encode(), hashlib.sha256)
    return {
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }


def new_trigger_id(issued_at: float | None = None) -> str:
    issued = time.time() if issued_at is None else issued_at
    return f"{int(issued * 1000)}.{secrets.randbelow(10**9):09d}.{secrets.token_hex(16)}"


def trigger_issued_at(trigger_id: str) -> float | None:
    """When ``new_trigger_id`` made it, or None for a trigger id from elsewhere."""
    first = trigger_id.split(".", 1)[0]
    return int(first) / 1000 if first.isdigit() and len(first) == 13 else None


def slash_command_payload(
    command: str = "/upgrade",
    text: str = "",
    user_id: str = "U0ANNA",
    channel_id: str = "C0UPGRADES",
    *,
    trigger_id: str | None = None,
    user_name: str | None = None,
    channel_name: str = "upgrades",
    response_url: str = UNSET_RESPONSE_URL,
    workspace: Workspace = DEFAULT_WORKSPACE,
) -> dict[str, str]:
    """The fields of a slash command: form fields over HTTP, the payload in Socket Mode."""
    return {
        "token": workspace.verification_token,
        "team_id": workspace.team_id,
        "team_domain": workspace.team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or _user_name(user_id),
        "command": command,
        "text": text,
        "api_app_id": workspace.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }


def slash_command_body(
    command: str = "/upgrade",
    text: str = "",
    user_id: str = "U0ANNA",
    channel_id: str = "C0UPGRADES",
    *,
    trigger_id: str | None = None,
    user_name: str | None = None,
    channel_name: str = "upgrades",
    response_url: str = UNSET_RESPONSE_URL,
    workspace: Workspace = DEFAULT_WORKSPACE,
) -> str:
    """The form-urlencoded body Slack POSTs for a slash command."""
    payload = slash_command_payload(
        command,
        text,
        user_id,
        channel_id,
        trigger_id=trigger_id,
        user_name=user_name,
        channel_name=channel_name,
        response_url=response_url,
        workspace=workspace,
    )
    return urlencode(payload)


def interaction_body(payload: dict[str, Any]) -> str:
    """Interactions arrive form-urlencoded with one field, ``payload``, holding JSON."""
    return urlencode({"payload": json.dumps(payload)})


def app_home_opened_body(
    user_id: str,
    tab: str = "home",
    *,
    view: dict[str, Any] | None = None,
    workspace: Workspace = DEFAULT_WORKSPACE,
    event_time: int | None = None,
) -> str:
    """The JSON body of an Events API ``event_callback`` for ``app_home_opened``: sent every
    time the person opens the app's Home (or Messages) tab; ``view`` is the Home tab last
    published for them, absent the first time."""
    stamp = int(time.time()) if event_time is None else event_time
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": "D" + user_id[1:],
        "tab": tab,
        "event_ts": f"{stamp}.000100",
    }
    if view is not None:
        event["view"] = view
    return json.dumps(
        {
            "token": "unused-verification-token",
            "team_id": workspace.team_id,
            "api_app_id": workspace.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{secrets.token_hex(5).upper()}",
            "event_time": stamp,
            "authorizations": [
                {
                    "team_id": workspace.team_id,
                    "user_id": workspace.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
        }
    )


def block_action_payload(
    action_id: str,
    *,
    value: str | None = None,
    element: dict[str, Any] | None = None,
    block_id: str | None = None,
    user_id: str = "U0ANNA",
    channel_id: str = "C0UPGRADES",
    channel_name: str = "upgrades",
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    trigger_id: str | None = None,
    response_url: str = UNSET_RESPONSE_URL,
    workspace: Workspace = DEFAULT_WORKSPACE,
) -> dict[str, Any]:
    """A ``block_actions`` payload: a click on ``action_id`` in ``message`` or in ``view``.

    ``message``/``view`` are the Slack objects the element sits in (e.g. a stored message's
    ``to_slack()``); the button's block_id, text, value and style are read from there. For
    other elements pass ``element``, e.g. ``static_select_value("10.5")``.
    """
    source = (view or message or {}).get("blocks") or []
    found_block_id, found = _find_element(source, action_id)
    action: dict[str, Any] = {"type": "button", **found, **(element or {})}
    if value is not None:
        action["value"] = value
    action.update(action_id=action_id, block_id=block_id or found_block_id or "block")
    action["action_ts"] = f"{time.time():.6f}"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, workspace),
        "api_app_id": workspace.app_id,
        "token": workspace.verification_token,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": workspace.team_id, "domain": workspace.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [action],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V0000000001")}
        payload["view"] = view
        payload["state"] = view.get("state", {"values": {}})
        return payload
    message = message or {"type": "message", "ts": f"{time.time():.6f}", "text": ""}
    payload["container"] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel_id,
        "is_ephemeral": False,
    }
    payload.update(
        channel={"id": channel_id, "name": channel_name},
        message=message,
        state={"values": {}},
        response_url=response_url,
    )
    if message.get("thread_ts"):
        payload["container"]["thread_ts"] = message["thread_ts"]
    return payload


def view_submission_payload(
    callback_id: str | None = None,
    values: dict[str, dict[str, dict[str, Any]]] | None = None,
    *,
    view: dict[str, Any] | None = None,
    private_metadata: str | None = None,
    user_id: str = "U0ANNA",
    trigger_id: str | None = None,
    workspace: Workspace = DEFAULT_WORKSPACE,
) -> dict[str, Any]:
    """A ``view_submission`` payload for the modal ``view`` (as views.open answered it).

    ``values`` is ``{block_id: {action_id: <element state>}}``; build element states with
    ``plain_text_value``, ``static_select_value``, ``datepicker_value`` and friends.
    """
    submitted: dict[str, Any] = {
        "id": "V0000000001",
        "team_id": workspace.team_id,
        "type": "modal",
        "blocks": [],
        "private_metadata": "",
        "callback_id": "",
        "title": {"type": "plain_text", "text": "Modal"},
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "clear_on_close": False,
        "notify_on_close": False,
        "root_view_id": None,
        "previous_view_id": None,
        "app_id": workspace.app_id,
        "external_id": "",
        "app_installed_team_id": workspace.team_id,
        "bot_id": workspace.bot_id,
        **(view or {}),
    }
    submitted["root_view_id"] = submitted["root_view_id"] or submitted["id"]
    if callback_id is not None:
        submitted["callback_id"] = callback_id
    if private_metadata is not None:
        submitted["private_metadata"] = private_metadata
    submitted["state"] = {"values": values or {}}
    return {
        "type": "view_submission",
        "team": {"id": workspace.team_id, "domain": workspace.team_domain},
        "user": _user(user_id, workspace),
        "api_app_id": workspace.app_id,
        "token": workspace.verification_token,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


# ---- element states, as they appear in view.state.values and in block_actions


def plain_text_value(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def static_select_value(value: str, text: str | None = None) -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}
    return {"type": "static_select", "selected_option": option}


def radio_buttons_value(value: str, text: str | None = None) -> dict[str, Any]:
    return {**static_select_value(value, text), "type": "radio_buttons"}


def checkboxes_value(*values: str) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": v}, "value": v} for v in values]
    return {"type": "checkboxes", "selected_options": options}


def datepicker_value(date: str | None) -> dict[str, Any]:
    """``date`` as Slack sends it: ``YYYY-MM-DD``."""
    return {"type": "datepicker", "selected_date": date}


def timepicker_value(time_of_day: str | None, timezone: str | None = None) -> dict[str, Any]:
    """``time_of_day`` as Slack sends it: ``HH:mm``, in the clicker's zone unless given."""
    state: dict[str, Any] = {"type": "timepicker", "selected_time": time_of_day}
    if timezone is not None:
        state["timezone"] = timezone
    return state


def users_select_value(user_id: str | None) -> dict[str, Any]:
    return {"type": "users_select", "selected_user": user_id}


def _user(user_id: str, workspace: Workspace) -> dict[str, str]:
    name = _user_name(user_id)
    return {"id": user_id, "username": name, "name": name, "team_id": workspace.team_id}


def _user_name(user_id: str) -> str:
    return user_id.removeprefix("U0").lower() or user_id.lower()


def _find_element(
    blocks: list[dict[str, Any]], action_id: str
) -> tuple[str | None, dict[str, Any]]:
    for block_id, element in _elements(blocks):
        if element.get("action_id") == action_id:
            keep = ("type", "text", "value", "style")
            return block_id, {k: v for k, v in element.items() if k in keep}
    return None, {}


def _elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    for block in blocks:
        children = list(block.get("elements") or [])
        children += [block[k] for k in ("accessory", "element") if k in block]
        for child in children:
            if isinstance(child, dict):
                yield block.get("block_id"), child
