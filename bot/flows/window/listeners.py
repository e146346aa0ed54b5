"""Listeners of the window's own life that sit on the go prompt: Postpone and Cancel window."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot import messages
from bot.context import BotContext
from bot.domain.durations import format_duration
from bot.domain.models import GateId
from bot.domain.windows import format_local
from bot.flows.window.flow import cancel
from bot.guard import guarded
from bot.ids import RunAction
from bot.payloads import ActionPayload
from bot.transitions import load_window


def _ids(value: str) -> list[int]:
    return [int(part) for part in value.split(":") if part.isdigit()]


class Listeners:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    async def on_postpone(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        await guarded(
            self.ctx,
            payload.channel_id,
            payload.user.id,
            self._postpone(payload),
            thread_ts=payload.thread_ts,
        )

    async def _postpone(self, payload: ActionPayload) -> str:
        window = load_window(self.ctx, _ids(payload.action.value)[0])
        await self.ctx.roles.require(GateId.G4, payload.user.id)
        window = await cancel(
            self.ctx, window.id, payload.user.id, "postponed at the go", payload.slack_action
        )
        again = (
            f"/upgrade propose {window.system} {window.target} "
            f'"{format_local(window.start, self.ctx.tz)[:16]}" {format_duration(window.length)}'
        )
        return messages.postponed(window.label, again)

    async def on_cancel(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        await guarded(
            self.ctx,
            payload.channel_id,
            payload.user.id,
            self._cancel(payload),
            thread_ts=payload.thread_ts,
        )

    async def _cancel(self, payload: ActionPayload) -> str:
        window = await cancel(
            self.ctx,
            _ids(payload.action.value)[0],
            payload.user.id,
            "cancelled at the go",
            payload.slack_action,
        )
        return messages.cancelled(window.label)


LISTENERS = (
    ("action", RunAction.POSTPONE.value, Listeners.on_postpone),
    ("action", RunAction.CANCEL.value, Listeners.on_cancel),
)
