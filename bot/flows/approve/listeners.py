"""Listeners of G1: Approve (behind Slack's confirmation), and Reject with a reason in a modal."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.context import BotContext
from bot.domain.errors import UpgradeBotError
from bot.domain.models import WindowEvent
from bot.flows.approve.flow import check_approver, decide
from bot.flows.approve.modals import reject_modal
from bot.guard import form_metadata, guarded, open_modal
from bot.ids import Action, Block, Input, View
from bot.payloads import ActionPayload, ViewPayload
from bot.transitions import load_window


class Listeners:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    async def on_approve(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        if payload.window_id is None:
            return
        work = self._decided(
            payload.window_id, payload.user.id, WindowEvent.APPROVE, None, payload.slack_action
        )
        await guarded(
            self.ctx, payload.channel_id, payload.user.id, work, thread_ts=payload.thread_ts
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
        work = self._ask_reason(payload.window_id, payload.user.id, channel, payload.trigger_id)
        await guarded(self.ctx, channel, payload.user.id, work, thread_ts=payload.thread_ts)

    async def _ask_reason(
        self, window_id: int, user: str, channel: str, trigger_id: str | None
    ) -> None:
        window = load_window(self.ctx, window_id)
        await check_approver(self.ctx, window, user)
        await open_modal(self.ctx, trigger_id, view=reject_modal(window.id, window.label, channel))

    async def on_reject_form(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        payload = ViewPayload.model_validate(body)
        meta = await form_metadata(self.ctx, ack, payload.view.private_metadata, payload.user.id)
        if meta is None:
            return
        reason = (payload.view.value(Block.REASON, Input.REASON) or "").strip()
        if not reason:
            await ack(response_action="errors", errors={Block.REASON.value: "Say why."})
            return
        try:
            window = load_window(self.ctx, int(meta.get("window_id", 0)))
            await check_approver(self.ctx, window, payload.user.id)
        except UpgradeBotError as error:
            await ack(response_action="errors", errors={Block.REASON.value: error.message})
            return
        await ack()
        work = self._decided(
            window.id,
            payload.user.id,
            WindowEvent.REJECT,
            reason,
            f"{View.REJECT.value}@{payload.view.id}",
        )
        await guarded(self.ctx, str(meta.get("channel", "")), payload.user.id, work)


LISTENERS = (
    ("action", Action.APPROVE.value, Listeners.on_approve),
    ("action", Action.REJECT.value, Listeners.on_reject),
    ("view", View.REJECT.value, Listeners.on_reject_form),
)
