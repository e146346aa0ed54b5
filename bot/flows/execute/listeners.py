"""Listeners of the night: Retry and Abort on a halted step, and "Done in Cube" on a step a person
runs by hand."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.context import BotContext
from bot.flows.execute.flow import abort, confirm_by_hand, halt_keys, retry
from bot.guard import guarded
from bot.ids import RunAction
from bot.payloads import ActionPayload, value_ids
from bot.threads import retire
from bot.transitions import load_window


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
        window_id, position = value_ids(payload.action.value)[:2]
        window = load_window(self.ctx, window_id)
        await retry(self.ctx, window, position, payload.user.id)

    async def on_abort(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._click(ack, body, self._abort)

    async def _abort(self, payload: ActionPayload) -> None:
        window_id, position = value_ids(payload.action.value)[:2]
        window = load_window(self.ctx, window_id)
        window = await abort(self.ctx, window, position, payload.user.id, payload.slack_action)
        note = f"Aborted by <@{payload.user.id}>: follow the rollback plan."
        await retire(self.ctx, window, note, keys=halt_keys(self.ctx, window))

    async def on_manual_done(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._click(ack, body, self._manual_done)

    async def _manual_done(self, payload: ActionPayload) -> None:
        window_id, position = value_ids(payload.action.value)[:2]
        window = load_window(self.ctx, window_id)
        await confirm_by_hand(self.ctx, window, position, payload.user.id, payload.slack_action)


LISTENERS = (
    ("action", RunAction.RETRY.value, Listeners.on_retry),
    ("action", RunAction.ABORT.value, Listeners.on_abort),
    ("action", RunAction.MANUAL_DONE.value, Listeners.on_manual_done),
)
