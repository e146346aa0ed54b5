"""Listeners of G2, the details checklist in the window's thread: Confirm, Waive… (a reason in a
modal) and the hotfixes item (a modal to choose them, or none)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot import messages
from bot.context import BotContext
from bot.domain.errors import NotAllowed, UpgradeBotError
from bot.domain.models import GateId, WindowState
from bot.flows.details.flow import choose_hotfixes, hotfix_choices, settle_item
from bot.flows.details.modals import NO_HOTFIXES, hotfix_modal, waive_modal
from bot.guard import form_metadata, guarded, open_modal
from bot.ids import Block, GateAction, GateView, Input
from bot.payloads import ActionPayload, ViewPayload, value_window_and_key
from bot.transitions import load_window
from checks.checklist import MANUAL_ITEMS


class Listeners:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    async def on_detail_confirm(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        window_id, item = value_window_and_key(payload.action.value)
        work = self._confirm(
            window_id,
            item,
            payload.user.id,
            payload.slack_action,
            payload.trigger_id,
            payload.channel_id,
            payload.thread_ts,
        )
        await guarded(
            self.ctx, payload.channel_id, payload.user.id, work, thread_ts=payload.thread_ts
        )

    async def _confirm(
        self,
        window_id: int,
        item: str,
        user: str,
        action: str,
        trigger_id: str | None = None,
        channel: str = "",
        thread_ts: str | None = None,
    ) -> None:
        window = load_window(self.ctx, window_id)
        if item == "hotfixes":
            # Which hotfixes (or none) is the answer; a modal asks for it.
            if window.state is not WindowState.APPROVED:
                raise NotAllowed(f"The details checklist of {window.label} is closed.")
            await self.ctx.roles.require(GateId.G2, user)
            candidates = hotfix_choices(self.ctx, window)
            await open_modal(
                self.ctx,
                trigger_id,
                view=hotfix_modal(
                    window.id, window.label, candidates, channel, thread_ts, window.target
                ),
            )
            return
        await settle_item(self.ctx, window, item, user, slack_action=action)

    async def on_hotfix_form(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        payload = ViewPayload.model_validate(body)
        meta = await form_metadata(self.ctx, ack, payload.view.private_metadata, payload.user.id)
        if meta is None:
            return
        element = payload.view.state.values.get(Block.HOTFIXES, {}).get(Input.HOTFIXES, {})
        names = [str(o.get("value")) for o in element.get("selected_options") or []]
        if not names or (NO_HOTFIXES in names and len(names) > 1):
            error = (
                "Tick the hotfixes to install, or “No hotfixes for this window”."
                if not names
                else "Tick either hotfixes or “No hotfixes for this window”, not both."
            )
            await ack(response_action="errors", errors={Block.HOTFIXES.value: error})
            return
        await ack()
        chosen = [] if names == [NO_HOTFIXES] else names
        work = self._hotfixes(
            int(meta.get("window_id", 0)), chosen, payload.user.id, payload.view.id
        )
        thread = str(meta.get("thread_ts") or "") or None
        await guarded(
            self.ctx, str(meta.get("channel", "")), payload.user.id, work, thread_ts=thread
        )

    async def _hotfixes(self, window_id: int, names: list[str], user: str, view_id: str) -> None:
        window = load_window(self.ctx, window_id)
        await choose_hotfixes(self.ctx, window, names, user, f"hotfixes@{view_id}")

    async def on_detail_waive(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        window_id, item = value_window_and_key(payload.action.value)
        channel = payload.channel_id
        work = self._ask_waiver(window_id, item, payload, channel)
        await guarded(self.ctx, channel, payload.user.id, work, thread_ts=payload.thread_ts)

    async def _ask_waiver(
        self, window_id: int, item: str, payload: ActionPayload, channel: str
    ) -> None:
        window = load_window(self.ctx, window_id)
        if window.state is not WindowState.APPROVED:
            raise NotAllowed(f"The details checklist of {window.label} is closed.")
        await self.ctx.roles.require(GateId.G2, payload.user.id)
        title = MANUAL_ITEMS.get(item, item.replace("_", " "))
        await open_modal(
            self.ctx,
            payload.trigger_id,
            view=waive_modal(window.id, item, title, channel, window.message_ts or ""),
        )

    async def on_waive_form(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        payload = ViewPayload.model_validate(body)
        meta = await form_metadata(self.ctx, ack, payload.view.private_metadata, payload.user.id)
        if meta is None:
            return
        reason = (payload.view.value(Block.REASON, Input.REASON) or "").strip()
        if len(reason) < messages.MIN_WAIVER_REASON:
            too_short = messages.waiver_too_short(len(reason))
            await ack(response_action="errors", errors={Block.REASON.value: too_short})
            return
        try:
            window = load_window(self.ctx, int(meta.get("window_id", 0)))
            await settle_item(
                self.ctx,
                window,
                str(meta.get("item", "")),
                payload.user.id,
                waive_reason=reason,
                slack_action=f"waive@{payload.view.id}",
            )
        except UpgradeBotError as error:
            await ack(response_action="errors", errors={Block.REASON.value: error.message[:300]})
            return
        await ack()


LISTENERS = (
    ("action", GateAction.DETAIL_CONFIRM.value, Listeners.on_detail_confirm),
    ("action", GateAction.DETAIL_WAIVE.value, Listeners.on_detail_waive),
    ("view", GateView.WAIVE.value, Listeners.on_waive_form),
    ("view", GateView.HOTFIXES.value, Listeners.on_hotfix_form),
)
