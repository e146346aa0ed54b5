"""Listeners of the night: Retry and Abort on a halted step, and "Done in Cube" on a step a person
runs by hand."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.context import BotContext
from bot.domain.models import GateId
from bot.flows.execute.flow import abort, confirm_by_hand, halted_step, run_from
from bot.guard import guarded
from bot.ids import RunAction
from bot.payloads import ActionPayload
from bot.transitions import load_window


def _ids(value: str) -> list[int]:
    return [int(part) for part in value.split(":") if part.isdigit()]


class Listeners:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    async def _click(self, ack: AsyncAck, body: dict[str, Any], work: Any) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        await guarded(
            self.ctx,
            payload.channel_id,
            payload.user.id,
            work(payload),
            thread_ts=payload.thread_ts,
        )

    async def on_retry(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._click(ack, body, self._retry)

    async def _retry(self, payload: ActionPayload) -> None:
        window_id, position = _ids(payload.action.value)[:2]
        window = load_window(self.ctx, window_id)
        await self.ctx.roles.require(GateId.G4, payload.user.id)
        position, attempt = halted_step(self.ctx, window, position)
        await run_from(self.ctx, window, position, attempt + 1, payload.user.id)

    async def on_abort(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._click(ack, body, self._abort)

    async def _abort(self, payload: ActionPayload) -> None:
        window_id, position = _ids(payload.action.value)[:2]
        window = load_window(self.ctx, window_id)
        await abort(self.ctx, window, position, payload.user.id, payload.slack_action)

    async def on_manual_done(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._click(ack, body, self._manual_done)

    async def _manual_done(self, payload: ActionPayload) -> None:
        window_id, position = _ids(payload.action.value)[:2]
        window = load_window(self.ctx, window_id)
        await confirm_by_hand(self.ctx, window, position, payload.user.id, payload.slack_action)


LISTENERS = (
    ("action", RunAction.RETRY.value, Listeners.on_retry),
    ("action", RunAction.ABORT.value, Listeners.on_abort),
    ("action", RunAction.MANUAL_DONE.value, Listeners.on_manual_done),
)
