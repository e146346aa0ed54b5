"""The page's actions as Slack sends them: signed slash commands and interaction payloads.

A composer line becomes a slash command, a click a ``block_actions`` payload, a modal's Submit a
``view_submission``; each is signed with the sandbox's secret and POSTed to the bot's
``/slack/events``. What the bot answers in the HTTP response is then shown the way Slack shows
it: a command's ack text as an ephemeral, a modal's ``response_action`` (errors, update, push,
clear) on the modal. Slack's own client-side checks (a required field left empty) happen here.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bot.ids import COMMAND
from bot.sandbox import render
from bot.sandbox.run import Sandbox
from bot.sandbox.signing import (
    app_home_opened_body,
    block_action_payload,
    checkboxes_value,
    datepicker_value,
    interaction_body,
    new_trigger_id,
    plain_text_value,
    sign,
    slash_command_body,
    static_select_value,
    timepicker_value,
    users_select_value,
    view_submission_payload,
)
from bot.sandbox.slack_limits import SlackMethodError

ACK_TIMEOUT_SECONDS = 3.0  # Slack gives an app three seconds to acknowledge
REQUIRED = "Please complete this required field."


class PageError(Exception):
    """A request the page should not have made (a closed modal, a deleted message)."""


class Bridge:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.stub = sandbox.stub
        self.workspace = sandbox.stub.store.workspace
        # Who opened which modal: Slack shows a modal only to the person whose click opened it.
        self.trigger_users: dict[str, str] = {}
        self.view_owners: dict[str, str] = {}
        self.last_actor = sandbox.users[0].id
        self.session: aiohttp.ClientSession | None = None

    def opener(self, view_id: str) -> str:
        """Who a modal belongs to: the person whose trigger_id opened it."""
        if view_id in self.view_owners:
            return self.view_owners[view_id]
        owner = self.last_actor
        for call in reversed(self.stub.calls):
            opened = (call.response.get("view") or {}).get("id")
            if call.method in ("views.open", "views.push") and opened == view_id:
                trigger = str(call.args.get("trigger_id") or "")
                owner = self.trigger_users.get(trigger, self.last_actor)
                break
        self.view_owners[view_id] = owner
        return owner

    async def post_to_bot(
        self, body: str, content_type: str = "application/x-www-form-urlencoded"
    ) -> tuple[int, str]:
        assert self.session is not None
        headers = {"Content-Type": content_type}
        headers.update(sign(self.sandbox.secret, body))
        timeout = aiohttp.ClientTimeout(total=ACK_TIMEOUT_SECONDS)
        try:
            async with self.session.post(
                self.sandbox.bot_url, data=body, headers=headers, timeout=timeout
            ) as answer:
                return answer.status, await answer.text()
        except TimeoutError:
            return 0, "operation_timeout"
        except aiohttp.ClientError:
            return 0, "dispatch_failed"

    async def open_home(self, user: str) -> int:
        """The person opened the app's Home tab: Slack sends ``app_home_opened`` (with the tab
        it last published for them), and the bot answers with views.publish."""
        shown = self.stub.home(user)
        view = shown.to_slack(self.workspace) if shown is not None else None
        body = app_home_opened_body(user, view=view, workspace=self.workspace)
        status, _ = await self.post_to_bot(body, content_type="application/json")
        return status

    def new_trigger(self, user: str) -> str:
        trigger = new_trigger_id()
        self.trigger_users[trigger] = user
        self.last_actor = user
        return trigger

    async def command(self, user: str, channel: str, text: str, thread_ts: str | None) -> int:
        """The composer: a slash command goes to the bot, anything else is a plain message."""
        text = text.strip()
        if not text.startswith("/"):
            self.stub.post_as_user(channel, user, text, thread_ts)
            return 200
        name, _, rest = text.partition(" ")
        if name != COMMAND:
            note = f"`{name}` is not a valid command. In the sandbox only `{COMMAND}` works."
            self.stub.store.post_ephemeral(channel, user, text=note, thread_ts=thread_ts)
            return 404
        body = slash_command_body(
            name,
            rest.strip(),
            user_id=user,
            channel_id=channel,
            channel_name=self.sandbox.names.channels.get(channel, channel.lower()),
            user_name=self.sandbox.names.users.get(user, user).lower(),
            trigger_id=self.new_trigger(user),
            response_url=self.stub.response_url(channel, user, thread_ts=thread_ts),
            workspace=self.workspace,
        )
        status, answer = await self.post_to_bot(body)
        if status != 200:
            problem = answer if status == 0 else "dispatch_failed"
            failed = f'`{name}` failed with the error "{problem}"'
            self.stub.store.post_ephemeral(channel, user, text=failed, thread_ts=thread_ts)
        else:
            self.show_ack(channel, user, answer, thread_ts)
        return status

    def show_ack(self, channel: str, user: str, answer: str, thread_ts: str | None) -> None:
        """The HTTP answer to a slash command is shown as Slack shows it: to the caller only,
        unless it says ``response_type: in_channel``."""
        try:
            data = json.loads(answer) if answer.strip() else {}
        except ValueError:
            data = {"text": answer}
        if not isinstance(data, dict):
            data = {"text": answer}
        text, blocks = str(data.get("text") or ""), data.get("blocks")
        blocks = blocks if isinstance(blocks, list) and blocks else None
        if not text and not blocks:
            return
        store = self.stub.store
        if data.get("response_type") == "in_channel":
            bot = self.workspace
            store.post(
                channel,
                text=text,
                blocks=blocks,
                user=bot.bot_user_id,
                bot_id=bot.bot_id,
                thread_ts=thread_ts,
            )
        else:
            store.post_ephemeral(channel, user, text=text, blocks=blocks, thread_ts=thread_ts)

    async def action(self, user: str, request: dict[str, Any]) -> int:
        """A click (or a pick) on an element of a message, an ephemeral or a modal."""
        action_id, block_id = str(request.get("action_id")), str(request.get("block_id"))
        trigger = self.new_trigger(user)
        channel = str(request.get("channel") or "")
        if request.get("view_id"):
            stored = self.stub.views.get(str(request["view_id"]))
            if stored is None:
                raise PageError("that modal is closed")
            view = stored.to_slack(self.workspace)
            view["state"] = {"values": state_values(view, request.get("values") or {})}
            source = view
            payload = block_action_payload(
                action_id, user_id=user, view=view, trigger_id=trigger, workspace=self.workspace
            )
        else:
            message = self.find_message(user, channel, str(request.get("ts")), request)
            source = message
            payload = block_action_payload(
                action_id,
                user_id=user,
                channel_id=channel,
                channel_name=self.sandbox.names.channels.get(channel, channel.lower()),
                message=message,
                trigger_id=trigger,
                response_url=self.stub.response_url(
                    channel,
                    user,
                    message_ts=None if request.get("ephemeral") else message["ts"],
                    thread_ts=message.get("thread_ts"),
                ),
                workspace=self.workspace,
            )
            payload["container"]["is_ephemeral"] = bool(request.get("ephemeral"))
        element = find_element(source.get("blocks") or [], block_id, action_id)
        if element is None:
            raise PageError(f"no element {action_id} in block {block_id}")
        payload["actions"] = [
            {**payload["actions"][0], **action_state(element, request.get("value"), block_id)}
        ]
        status, _ = await self.post_to_bot(interaction_body(payload))
        if status != 200 and channel:
            note = f"⚠️ upgradebot did not answer this click (HTTP {status or 'timeout'})."
            self.stub.store.post_ephemeral(channel, user, text=note)
        return status

    def find_message(
        self, user: str, channel: str, ts: str, request: dict[str, Any]
    ) -> dict[str, Any]:
        if request.get("ephemeral"):
            for ephemeral in self.stub.ephemerals(user):
                if ephemeral.channel == channel and ephemeral.message_ts == ts:
                    blocks = ephemeral.blocks or []
                    message = {"type": "message", "ts": ts, "text": ephemeral.text}
                    return {**message, "blocks": blocks, "thread_ts": ephemeral.thread_ts}
            raise PageError("that message is gone")
        try:
            return self.stub.store.find(channel, ts).to_slack(self.workspace)
        except SlackMethodError:
            raise PageError("that message is gone") from None

    async def submit(self, user: str, view_id: str, raw: dict[str, Any]) -> dict[str, Any]:
        """Submit a modal; Slack's own checks first (required fields), then the bot's answer."""
        stored = self.stub.views.get(view_id)
        if stored is None:
            raise PageError("that modal is closed")
        view = stored.to_slack(self.workspace)
        missing = missing_inputs(view, raw)
        if missing:
            return {"ok": False, "errors": missing}
        payload = view_submission_payload(
            values=state_values(view, raw),
            view=view,
            user_id=user,
            trigger_id=self.new_trigger(user),
            workspace=self.workspace,
        )
        status, answer = await self.post_to_bot(interaction_body(payload))
        if status != 200:
            return {"ok": False, "problem": "We had some trouble connecting. Try again?"}
        try:
            data = json.loads(answer) if answer.strip() else {}
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        return self.apply_response(user, view_id, stored.root_view_id, data)

    def apply_response(
        self, user: str, view_id: str, root_view_id: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        action = data.get("response_action")
        if action == "errors":
            errors = data.get("errors")
            return {"ok": False, "errors": errors if isinstance(errors, dict) else {}}
        try:
            if action == "update" and isinstance(data.get("view"), dict):
                store = self.stub.store
                store.update_view(data["view"], view_id=view_id, external_id=None, hash=None)
            elif action == "push" and isinstance(data.get("view"), dict):
                pushed = self.stub.store.open_view(data["view"], push=True)
                self.view_owners[pushed.id] = user
            else:
                self.stub.close_view(root_view_id if action == "clear" else view_id)
        except SlackMethodError as error:
            return {"ok": False, "problem": f"Slack refused the modal: {error.error}"}
        return {"ok": True}


def find_element(blocks: list[Any], block_id: str, action_id: str) -> dict[str, Any] | None:
    for index, block in enumerate(blocks):
        if not isinstance(block, dict) or render.block_key(block, index) != block_id:
            continue
        children = list(block.get("elements") or [])
        children += [block[k] for k in ("accessory", "element") if isinstance(block.get(k), dict)]
        for child in children:
            if isinstance(child, dict) and str(child.get("action_id", "")) == action_id:
                return child
    return None


def action_state(element: dict[str, Any], value: Any, block_id: str) -> dict[str, Any]:
    """The ``actions[0]`` fields for a click on ``element`` (with what was picked, if any)."""
    kind = str(element.get("type"))
    action: dict[str, Any] = {
        "type": kind,
        "action_id": element.get("action_id"),
        "block_id": block_id,
    }
    if kind == "button":
        action.update({k: element[k] for k in ("text", "value", "style") if k in element})
        return action
    picked = element_state(element, None if value is None else str(value))
    return {**action, **picked}


def element_state(element: dict[str, Any], entered: str | None) -> dict[str, Any]:
    """What Slack reports for an input element given what the person typed or picked."""
    kind = str(element.get("type"))
    value = entered or None
    if kind == "plain_text_input":
        return plain_text_value(value)
    if kind in ("static_select", "overflow"):
        if value is None:
            return {"type": kind, "selected_option": None}
        text = next(
            (
                render.to_plain(o.get("text"))
                for o in render.options_of(element)
                if o.get("value") == value
            ),
            value,
        )
        return {**static_select_value(value, text), "type": kind}
    if kind == "datepicker":
        return datepicker_value(value)
    if kind == "timepicker":
        return timepicker_value(value)
    if kind == "users_select":
        return users_select_value(value)
    if kind == "checkboxes":
        ticked = [v for v in (value or "").split("\n") if v]
        return checkboxes_value(*ticked)
    return {"type": kind}


def _inputs(view: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = []
    for index, block in enumerate(view.get("blocks") or []):
        if isinstance(block, dict) and block.get("type") == "input":
            element = block.get("element")
            if isinstance(element, dict):
                found.append((render.block_key(block, index), block, element))
    return found


def _entered(raw: dict[str, Any], block_id: str, action_id: str) -> str | None:
    fields = raw.get(block_id)
    value = fields.get(action_id) if isinstance(fields, dict) else None
    return None if value is None else str(value)


def state_values(view: dict[str, Any], raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``view.state.values`` from the page's ``{block_id: {action_id: text}}``."""
    values: dict[str, dict[str, Any]] = {}
    for key, _block, element in _inputs(view):
        action_id = str(element.get("action_id", ""))
        values[key] = {action_id: element_state(element, _entered(raw, key, action_id))}
    return values


def missing_inputs(view: dict[str, Any], raw: dict[str, Any]) -> dict[str, str]:
    """Slack's client refuses to submit a required input left empty; so does the sandbox."""
    missing = {}
    for key, block, element in _inputs(view):
        entered = _entered(raw, key, str(element.get("action_id", ""))) or ""
        if not block.get("optional") and not entered.strip():
            missing[key] = REQUIRED
    return missing
