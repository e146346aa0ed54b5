"""Listeners of G3: Accept (bound to the run it was shown with) and Re-run of the pre-check."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot import messages
from bot.context import BotContext
from bot.domain.errors import NotAllowed
from bot.domain.models import GateId, WindowState
from bot.flows.precheck.flow import accept_precheck, run_precheck
from bot.guard import guarded
from bot.ids import GateAction
from bot.payloads import ActionPayload, value_window_and_key
from bot.threads import tell
from bot.transitions import load_window


class Listeners:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    async def on_precheck_accept(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        window_id, run = value_window_and_key(payload.action.value)
        work = self._accept(window_id, int(run or 0), payload.user.id, payload.slack_action)
        await guarded(
            self.ctx, payload.channel_id, payload.user.id, work, thread_ts=payload.thread_ts
        )

    async def _accept(self, window_id: int, run_id: int, user: str, action: str) -> None:
        window = load_window(self.ctx, window_id)
        await accept_precheck(self.ctx, window, run_id, user, action)

    async def on_precheck_rerun(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        window_id, _ = value_window_and_key(payload.action.value)
        channel = payload.channel_id
        work = self._rerun(window_id, payload.user.id, channel)
        await guarded(self.ctx, channel, payload.user.id, work, thread_ts=payload.thread_ts)

    async def _rerun(self, window_id: int, user: str, channel: str) -> None:
        window = load_window(self.ctx, window_id)
        if window.state.is_terminal or window.state is WindowState.EXECUTING:
            raise NotAllowed(messages.gate_not_open(window.label, "G3", window.state.value))
        await self.ctx.roles.require(GateId.G3, user)
        await tell(
            self.ctx,
            channel,
            user,
            messages.precheck_started(window.label),
            thread_ts=window.message_ts,
        )
        await run_precheck(self.ctx, window)


LISTENERS = (
    ("action", GateAction.PRECHECK_ACCEPT.value, Listeners.on_precheck_accept),
    ("action", GateAction.PRECHECK_RERUN.value, Listeners.on_precheck_rerun),
)
