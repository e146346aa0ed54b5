"""Listeners of G5: Verified (behind Slack's confirmation) and Problem… (what is wrong, in a
modal), which closes the window as failed."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.context import BotContext
from bot.domain.errors import UpgradeBotError
from bot.domain.models import GateId
from bot.flows.verify.flow import close_verified
from bot.flows.verify.modals import problem_modal
from bot.guard import form_metadata, guarded, open_modal
from bot.ids import Block, Input, RunAction, RunView
from bot.payloads import ActionPayload, ViewPayload, value_ids
from bot.transitions import load_window


class Listeners:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    async def on_verified(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        await guarded(
            self.ctx,
            payload.channel_id,
            payload.user.id,
            self._verified(payload),
            thread_ts=payload.thread_ts,
        )

    async def _verified(self, payload: ActionPayload) -> None:
        window = load_window(self.ctx, value_ids(payload.action.value)[0])
        await close_verified(self.ctx, window, payload.user.id, payload.slack_action)

    async def on_problem(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        channel = payload.channel_id
        await guarded(
            self.ctx,
            channel,
            payload.user.id,
            self._ask_problem(payload, channel),
            thread_ts=payload.thread_ts,
        )

    async def _ask_problem(self, payload: ActionPayload, channel: str) -> None:
        window = load_window(self.ctx, value_ids(payload.action.value)[0])
        await self.ctx.roles.require(GateId.G5, payload.user.id)
        await open_modal(
            self.ctx, payload.trigger_id, view=problem_modal(window.id, window.label, channel)
        )

    async def on_problem_form(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        payload = ViewPayload.model_validate(body)
        meta = await form_metadata(self.ctx, ack, payload.view.private_metadata, payload.user.id)
        if meta is None:
            return
        reason = (payload.view.value(Block.REASON, Input.REASON) or "").strip()
        if not reason:
            await ack(response_action="errors", errors={Block.REASON.value: "Say what is wrong."})
            return
        try:
            window = load_window(self.ctx, int(meta.get("window_id", 0)))
            await close_verified(
                self.ctx, window, payload.user.id, f"problem@{payload.view.id}", problem=reason
            )
        except UpgradeBotError as error:
            await ack(response_action="errors", errors={Block.REASON.value: error.message[:300]})
            return
        await ack()


LISTENERS = (
    ("action", RunAction.VERIFIED.value, Listeners.on_verified),
    ("action", RunAction.PROBLEM.value, Listeners.on_problem),
    ("view", RunView.PROBLEM.value, Listeners.on_problem_form),
)
