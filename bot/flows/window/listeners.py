"""Listeners of the window's own life that sit on the go prompt: Postpone… (a new start in a
modal, then back to G1) and Cancel window."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot import messages
from bot.context import BotContext
from bot.flows.window.flow import cancel, postpone
from bot.flows.window.modals import postpone_modal
from bot.guard import form_metadata, guarded, open_modal
from bot.ids import Block, Input, RunAction, RunView
from bot.payloads import ActionPayload, ViewPayload, value_ids
from bot.transitions import load_window


class Listeners:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    async def on_postpone(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        channel = payload.channel_id
        work = self._ask_start(payload, channel)
        await guarded(self.ctx, channel, payload.user.id, work, thread_ts=payload.thread_ts)

    async def _ask_start(self, payload: ActionPayload, channel: str) -> None:
        window = load_window(self.ctx, value_ids(payload.action.value)[0])
        await self.ctx.roles.require_cancel(
            payload.user.id, proposer=window.proposer, window_label=window.label
        )
        await open_modal(
            self.ctx,
            payload.trigger_id,
            view=postpone_modal(window, channel, self.ctx.tz, payload.thread_ts),
        )

    async def on_postpone_form(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        payload = ViewPayload.model_validate(body)
        meta = await form_metadata(self.ctx, ack, payload.view.private_metadata, payload.user.id)
        if meta is None:
            return
        date = payload.view.value(Block.START_DATE, Input.START_DATE) or ""
        clock = payload.view.value(Block.START_TIME, Input.START_TIME) or ""
        if not (date and clock):
            await ack(
                response_action="errors",
                errors={Block.START_TIME.value: "Pick the new start date and time."},
            )
            return
        await ack()
        work = self._postpone(
            int(meta.get("window_id", 0)), payload.user.id, f"{date} {clock}", payload.view.id
        )
        thread = str(meta.get("thread_ts") or "") or None
        await guarded(
            self.ctx, str(meta.get("channel", "")), payload.user.id, work, thread_ts=thread
        )

    async def _postpone(self, window_id: int, user: str, start: str, view_id: str) -> str:
        window = await postpone(self.ctx, window_id, user, start, f"postpone@{view_id}")
        return messages.postpone_done(window.label)

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
            value_ids(payload.action.value)[0],
            payload.user.id,
            "cancelled at the go",
            payload.slack_action,
        )
        return messages.cancelled(window.label)


LISTENERS = (
    ("action", RunAction.POSTPONE.value, Listeners.on_postpone),
    ("view", RunView.POSTPONE.value, Listeners.on_postpone_form),
    ("action", RunAction.CANCEL.value, Listeners.on_cancel),
)
