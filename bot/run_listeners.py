"""Listeners for the night: go (button, then a confirming modal), postpone, cancel, retry,
abort, verified and problem."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck

from bot import messages
from bot.context import BotContext
from bot.decisions import cancel, load
from bot.domain.errors import UpgradeBotError
from bot.domain.models import GateId
from bot.domain.windows import format_length, format_local
from bot.execution import confirm_by_hand, run_from
from bot.go import check_may_go, give_go, go_modal
from bot.ids import Block, Input, RunView
from bot.payloads import ActionPayload, ViewPayload
from bot.verify import abort, close_verified, halted_step


def _ids(value: str) -> list[int]:
    return [int(part) for part in value.split(":") if part.isdigit()]


def problem_modal(window_id: int, label: str, channel: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": RunView.PROBLEM.value,
        "private_metadata": json.dumps({"window_id": window_id, "channel": channel}),
        "title": {"type": "plain_text", "text": f"Problem with {label}"[:24]},
        "submit": {"type": "plain_text", "text": "Mark failed"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            {
                "type": "input",
                "block_id": Block.REASON.value,
                "label": {"type": "plain_text", "text": "What is wrong?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": Input.REASON.value,
                    "multiline": True,
                    "max_length": 1000,
                },
            }
        ],
    }


class RunListeners:
    def __init__(self, ctx: BotContext, guarded: Any) -> None:
        self.ctx = ctx
        self._guarded = guarded

    async def _click(self, ack: AsyncAck, body: dict[str, Any], work: Any) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        channel = payload.channel_id
        await self._guarded(channel, payload.user.id, work(payload, channel))

    async def on_go(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._click(ack, body, self._open_go)

    async def _open_go(self, payload: ActionPayload, channel: str) -> None:
        window = load(self.ctx, _ids(payload.action.value)[0])
        await check_may_go(self.ctx, window, payload.user.id)
        await self.ctx.client.views_open(
            trigger_id=payload.trigger_id, view=go_modal(window, channel)
        )

    async def on_go_form(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        payload = ViewPayload.model_validate(body)
        meta = json.loads(payload.view.private_metadata or "{}")
        element = payload.view.state.values.get(Block.BACKUP, {}).get(Input.BACKUP, {})
        if not element.get("selected_options"):
            await ack(
                response_action="errors", errors={Block.BACKUP.value: messages.backup_unconfirmed()}
            )
            return
        await ack()
        user = payload.user.id
        await self._guarded(
            str(meta.get("channel", "")),
            user,
            self._go(int(meta.get("window_id", 0)), user, payload.view.id),
        )

    async def _go(self, window_id: int, user: str, view_id: str) -> None:
        window = await give_go(self.ctx, load(self.ctx, window_id), user, f"go@{view_id}")
        await run_from(self.ctx, window, 1, 1, user)

    async def on_postpone(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._click(ack, body, self._postpone)

    async def _postpone(self, payload: ActionPayload, channel: str) -> str:
        window = load(self.ctx, _ids(payload.action.value)[0])
        await check_may_go(self.ctx, window, payload.user.id)
        window = await cancel(
            self.ctx, window.id, payload.user.id, "postponed at the go", payload.slack_action
        )
        again = (
            f"/upgrade propose {window.system} {window.target} "
            f'"{format_local(window.start, self.ctx.tz)[:16]}" {format_length(window.length)}'
        )
        return messages.postponed(window.label, again)

    async def on_cancel(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._click(ack, body, self._cancel)

    async def _cancel(self, payload: ActionPayload, channel: str) -> str:
        window = await cancel(
            self.ctx,
            _ids(payload.action.value)[0],
            payload.user.id,
            "cancelled at the go",
            payload.slack_action,
        )
        return messages.cancelled(window.label)

    async def on_retry(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._click(ack, body, self._retry)

    async def _retry(self, payload: ActionPayload, channel: str) -> None:
        window_id, position = _ids(payload.action.value)[:2]
        window = load(self.ctx, window_id)
        await self.ctx.roles.require(GateId.G4, payload.user.id)
        position, attempt = halted_step(self.ctx, window, position)
        await run_from(self.ctx, window, position, attempt + 1, payload.user.id)

    async def on_abort(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._click(ack, body, self._abort)

    async def _abort(self, payload: ActionPayload, channel: str) -> None:
        window_id, position = _ids(payload.action.value)[:2]
        await abort(
            self.ctx, load(self.ctx, window_id), position, payload.user.id, payload.slack_action
        )

    async def on_manual_done(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._click(ack, body, self._manual_done)

    async def _manual_done(self, payload: ActionPayload, channel: str) -> None:
        window_id, position = _ids(payload.action.value)[:2]
        await confirm_by_hand(
            self.ctx, load(self.ctx, window_id), position, payload.user.id, payload.slack_action
        )

    async def on_verified(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._click(ack, body, self._verified)

    async def _verified(self, payload: ActionPayload, channel: str) -> None:
        window = load(self.ctx, _ids(payload.action.value)[0])
        await close_verified(self.ctx, window, payload.user.id, payload.slack_action)

    async def on_problem(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._click(ack, body, self._ask_problem)

    async def _ask_problem(self, payload: ActionPayload, channel: str) -> None:
        window = load(self.ctx, _ids(payload.action.value)[0])
        await self.ctx.roles.require(GateId.G5, payload.user.id)
        await self.ctx.client.views_open(
            trigger_id=payload.trigger_id, view=problem_modal(window.id, window.label, channel)
        )

    async def on_problem_form(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        payload = ViewPayload.model_validate(body)
        meta = json.loads(payload.view.private_metadata or "{}")
        reason = (payload.view.value(Block.REASON, Input.REASON) or "").strip()
        if not reason:
            await ack(response_action="errors", errors={Block.REASON.value: "Say what is wrong."})
            return
        try:
            window = load(self.ctx, int(meta.get("window_id", 0)))
            await close_verified(
                self.ctx, window, payload.user.id, f"problem@{payload.view.id}", problem=reason
            )
        except UpgradeBotError as error:
            await ack(response_action="errors", errors={Block.REASON.value: error.message[:300]})
            return
        await ack()
