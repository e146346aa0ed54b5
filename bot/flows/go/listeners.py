"""Listeners of G4: Go… opens a modal that asks to confirm the backup; its submission gives the go
and starts the run."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot import messages
from bot.context import BotContext
from bot.flows.go.flow import check_may_go, go_and_run
from bot.flows.go.modals import go_modal
from bot.guard import form_metadata, guarded, open_modal
from bot.ids import Block, Input, RunAction, RunView
from bot.payloads import ActionPayload, ViewPayload, value_ids
from bot.transitions import load_window


class Listeners:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    async def on_go(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        channel = payload.channel_id
        await guarded(
            self.ctx,
            channel,
            payload.user.id,
            self._open_go(payload, channel),
            thread_ts=payload.thread_ts,
        )

    async def _open_go(self, payload: ActionPayload, channel: str) -> None:
        window = load_window(self.ctx, value_ids(payload.action.value)[0])
        await check_may_go(self.ctx, window, payload.user.id)
        await open_modal(
            self.ctx, payload.trigger_id, view=go_modal(window, channel, payload.thread_ts)
        )

    async def on_go_form(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        payload = ViewPayload.model_validate(body)
        meta = await form_metadata(self.ctx, ack, payload.view.private_metadata, payload.user.id)
        if meta is None:
            return
        element = payload.view.state.values.get(Block.BACKUP, {}).get(Input.BACKUP, {})
        if not element.get("selected_options"):
            await ack(
                response_action="errors", errors={Block.BACKUP.value: messages.backup_unconfirmed()}
            )
            return
        await ack()
        user = payload.user.id
        work = self._go(int(meta.get("window_id", 0)), user, payload.view.id)
        thread = str(meta.get("thread_ts") or "") or None
        await guarded(self.ctx, str(meta.get("channel", "")), user, work, thread_ts=thread)

    async def _go(self, window_id: int, user: str, view_id: str) -> None:
        await go_and_run(self.ctx, load_window(self.ctx, window_id), user, f"go@{view_id}")


LISTENERS = (
    ("action", RunAction.GO.value, Listeners.on_go),
    ("view", RunView.GO.value, Listeners.on_go_form),
)
