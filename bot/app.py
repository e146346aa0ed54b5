"""The Bolt app: listeners that parse, call the domain, save, render and send.

Errors reach people: our own errors become their sentence, anything else "something went wrong
(ref abc123)" with the same ref in the log. Nothing here posts to a channel on bad input.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from bot import messages, modals
from bot.context import BotContext
from bot.decisions import check_approver, decide, load
from bot.domain.errors import InputError, NotAllowed, UpgradeBotError
from bot.domain.models import WindowEvent
from bot.domain.proposal import ProposalRequest
from bot.gate_listeners import GateListeners
from bot.ids import (
    COMMAND,
    Action,
    Block,
    GateAction,
    GateView,
    Input,
    RunAction,
    RunView,
    View,
)
from bot.payloads import ActionPayload, CommandPayload, ViewPayload
from bot.run_listeners import RunListeners
from commands import SUBCOMMANDS
from commands import propose as propose_command
from commands.base import Invocation, split_command

log = logging.getLogger(__name__)

_FIELD_BLOCKS = {
    "system": Block.SYSTEM,
    "target": Block.TARGET,
    "start": Block.START_TIME,
    "length": Block.LENGTH,
}


def build_app(ctx: BotContext, signing_secret: str) -> AsyncApp:
    app = AsyncApp(
        client=ctx.client,
        signing_secret=signing_secret,
        raise_error_for_unhandled_request=False,
    )
    listeners = Listeners(ctx)
    for kind, name, handler in listener_table(listeners):
        getattr(app, kind)(name)(handler)
    app.error(listeners.on_error)
    return app


def listener_table(listeners: Listeners | None = None) -> list[tuple[str, str, Handler | None]]:
    """(Bolt decorator, name, handler) for every listener; the manifest test reads it too."""
    known = listeners
    gates = known.gates if known else None
    runs = known.runs if known else None
    # Bolt tries the listeners in this order on every request: the slash command first.
    return [
        ("command", COMMAND, known.on_command if known else None),
        ("action", RunAction.GO.value, runs.on_go if runs else None),
        ("action", RunAction.POSTPONE.value, runs.on_postpone if runs else None),
        ("action", RunAction.CANCEL.value, runs.on_cancel if runs else None),
        ("action", RunAction.RETRY.value, runs.on_retry if runs else None),
        ("action", RunAction.ABORT.value, runs.on_abort if runs else None),
        ("action", RunAction.MANUAL_DONE.value, runs.on_manual_done if runs else None),
        ("action", RunAction.VERIFIED.value, runs.on_verified if runs else None),
        ("action", RunAction.PROBLEM.value, runs.on_problem if runs else None),
        ("view", RunView.GO.value, runs.on_go_form if runs else None),
        ("view", RunView.PROBLEM.value, runs.on_problem_form if runs else None),
        ("action", GateAction.DETAIL_CONFIRM.value, gates.on_detail_confirm if gates else None),
        ("action", GateAction.DETAIL_WAIVE.value, gates.on_detail_waive if gates else None),
        ("action", GateAction.PRECHECK_ACCEPT.value, gates.on_precheck_accept if gates else None),
        ("action", GateAction.PRECHECK_RERUN.value, gates.on_precheck_rerun if gates else None),
        ("view", GateView.WAIVE.value, gates.on_waive_form if gates else None),
        ("view", GateView.HOTFIXES.value, gates.on_hotfix_form if gates else None),
        ("action", Action.APPROVE.value, known.on_approve if known else None),
        ("action", Action.REJECT.value, known.on_reject if known else None),
        ("view", View.PROPOSE.value, known.on_propose_form if known else None),
        ("view", View.REJECT.value, known.on_reject_form if known else None),
    ]


class Listeners:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx
        self.gates = GateListeners(ctx, self._guarded)
        self.runs = RunListeners(ctx, self._guarded)

    # -- /upgrade -------------------------------------------------------------------------
    async def on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        payload = CommandPayload.model_validate(body)
        invocation = Invocation(
            user=payload.user_id,
            channel=payload.channel_id,
            now=self.ctx.now(),
            trigger_id=payload.trigger_id,
            slack_action=f"command@{payload.trigger_id or ''}",
        )
        name = "help"
        try:
            name, args = split_command(payload.text)
            module = SUBCOMMANDS.get(name)
            if module is None:
                raise InputError(messages.unknown_subcommand(name))
            parsed = module.parse(args)
            if isinstance(parsed, propose_command.OpenForm):
                await ack()
                await self._open_propose_form(invocation)
                return
            if module.QUICK:
                reply = await module.run(self.ctx, invocation, parsed)
                await ack(text=reply.text, response_type="ephemeral")
                return
            if module is propose_command:
                await self._propose(ack, invocation, parsed)
                return
            await ack()
        except UpgradeBotError as error:
            await self._answer_error(ack, invocation, error, name)
            return
        except Exception:
            ref = secrets.token_hex(3)
            log.exception("unexpected error in %s %s (ref %s)", COMMAND, name, ref)
            await ack(text=messages.unexpected(ref), response_type="ephemeral")
            return
        await self._guarded(
            invocation.channel,
            invocation.user,
            self._text_of(module.run(self.ctx, invocation, parsed)),
            command=name,
        )

    @staticmethod
    async def _text_of(reply: Awaitable[Any]) -> str:
        return str((await reply).text)

    async def _propose(
        self, ack: AsyncAck, invocation: Invocation, parsed: propose_command.ProposeArgs
    ) -> None:
        request = await propose_command.prepare(self.ctx, invocation, parsed)
        await ack(
            text=messages.working_on(request.system, request.target.label),
            response_type="ephemeral",
        )
        await self._proposed(invocation, request)

    async def _proposed(self, invocation: Invocation, request: ProposalRequest) -> None:
        work = self._text_of(propose_command.run(self.ctx, invocation, request))
        await self._guarded(invocation.channel, invocation.user, work, command="propose")

    async def _open_propose_form(self, invocation: Invocation) -> None:
        view = modals.propose_modal(
            sorted(self.ctx.config.systems), invocation.channel, self.ctx.config.timezone
        )
        await self.ctx.client.views_open(trigger_id=invocation.trigger_id, view=view)

    # -- G1 buttons -----------------------------------------------------------------------
    async def on_approve(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        channel = payload.channel_id
        if payload.window_id is None:
            return
        await self._guarded(
            channel,
            payload.user.id,
            self._decided(
                payload.window_id, payload.user.id, WindowEvent.APPROVE, None, payload.slack_action
            ),
        )

    async def _decided(
        self, window_id: int, user: str, event: WindowEvent, reason: str | None, action: str
    ) -> None:
        await decide(self.ctx, window_id, user, event, reason=reason, slack_action=action)

    async def on_reject(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        channel = payload.channel_id
        if payload.window_id is None:
            return
        await self._guarded(
            channel,
            payload.user.id,
            self._ask_reason(payload.window_id, payload.user.id, channel, payload.trigger_id),
        )

    async def _ask_reason(
        self, window_id: int, user: str, channel: str, trigger_id: str | None
    ) -> None:
        window = load(self.ctx, window_id)
        await check_approver(self.ctx, window, user)
        await self.ctx.client.views_open(
            trigger_id=trigger_id, view=modals.reject_modal(window.id, window.label, channel)
        )

    # -- modals ---------------------------------------------------------------------------
    async def on_reject_form(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        payload = ViewPayload.model_validate(body)
        meta = _metadata(payload.view.private_metadata)
        reason = (payload.view.value(Block.REASON, Input.REASON) or "").strip()
        if not reason:
            await ack(response_action="errors", errors={Block.REASON.value: "Say why."})
            return
        try:
            window = load(self.ctx, int(meta.get("window_id", 0)))
            await check_approver(self.ctx, window, payload.user.id)
        except UpgradeBotError as error:
            await ack(response_action="errors", errors={Block.REASON.value: error.message})
            return
        await ack()
        await self._guarded(
            str(meta.get("channel", "")),
            payload.user.id,
            self._decided(
                window.id,
                payload.user.id,
                WindowEvent.REJECT,
                reason,
                f"{View.REJECT.value}@{payload.view.id}",
            ),
        )

    async def on_propose_form(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        payload = ViewPayload.model_validate(body)
        view = payload.view
        meta = _metadata(view.private_metadata)
        user = payload.user.id
        channel = str(meta.get("channel", ""))
        date = view.value(Block.START_DATE, Input.START_DATE) or ""
        clock = view.value(Block.START_TIME, Input.START_TIME) or ""
        invocation = Invocation(
            user, channel, self.ctx.now(), slack_action=f"{View.PROPOSE}@{view.id}"
        )
        typed = propose_command.ProposeArgs(
            system=view.value(Block.SYSTEM, Input.SYSTEM) or "",
            target=view.value(Block.TARGET, Input.TARGET) or "",
            start=f"{date} {clock}".strip(),
            length=view.value(Block.LENGTH, Input.LENGTH),
        )
        try:
            request = await propose_command.prepare(self.ctx, invocation, typed)
        except NotAllowed as error:
            await ack(response_action="errors", errors={Block.SYSTEM.value: error.message[:300]})
            return
        except InputError as error:
            block = _FIELD_BLOCKS.get(error.field or "", Block.TARGET)
            text = error.message + (f" {error.hint}" if error.hint else "")
            await ack(response_action="errors", errors={block.value: text[:300]})
            return
        await ack()
        await self._proposed(invocation, request)

    # -- errors ---------------------------------------------------------------------------
    async def _guarded(
        self,
        channel: str,
        user: str,
        work: Awaitable[str | None],
        command: str | None = None,
    ) -> None:
        """Run work after the ack; tell the user its result or what went wrong."""
        self.ctx.track()
        try:
            result = await work
        except InputError as error:
            result = messages.with_usage(error.message, error.hint, command or "help")
        except UpgradeBotError as error:
            result = error.message
        except Exception:
            ref = secrets.token_hex(3)
            log.exception("unexpected error (ref %s)", ref)
            result = messages.unexpected(ref)
        if result:
            await self._tell(channel, user, result)

    async def _answer_error(
        self, ack: AsyncAck, invocation: Invocation, error: UpgradeBotError, command: str
    ) -> None:
        if isinstance(error, InputError):
            text = messages.with_usage(error.message, error.hint, command)
        else:
            text = error.message
        await ack(text=text, response_type="ephemeral")

    async def _tell(self, channel: str, user: str, text: str) -> None:
        try:
            await self.ctx.client.chat_postEphemeral(channel=channel, user=user, text=text)
        except SlackApiError as error:
            log.warning("could not tell %s: %s", user, error.response.get("error"))

    async def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        ref = secrets.token_hex(3)
        log.error("unexpected error (ref %s)", ref, exc_info=error)
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
        if isinstance(error, ValidationError) or not (user and channel):
            return
        await self._tell(channel, user, messages.unexpected(ref))


def _metadata(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


Handler = Callable[..., Awaitable[None]]
