"""Listeners for the buttons in a window's thread (G2 checklist, G3 pre-check)."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck

from bot import details, modals
from bot.context import BotContext
from bot.decisions import load
from bot.domain.errors import NotAllowed, UpgradeBotError
from bot.domain.models import GateId, WindowState
from bot.ids import Block, Input
from bot.payloads import ActionPayload, ViewPayload
from bot.precheck import accept_precheck, run_precheck
from bot.threads import tell
from checks.checklist import MANUAL_ITEMS


def _split(value: str) -> tuple[int, str]:
    head, _, tail = value.partition(":")
    return (int(head) if head.isdigit() else 0), tail


class GateListeners:
    def __init__(self, ctx: BotContext, guarded: Any) -> None:
        self.ctx = ctx
        self._guarded = guarded

    async def on_detail_confirm(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        window_id, item = _split(payload.action.value)
        await self._guarded(
            payload.channel_id,
            payload.user.id,
            self._confirm(
                window_id,
                item,
                payload.user.id,
                payload.slack_action,
                payload.trigger_id,
                payload.channel_id,
            ),
        )

    async def _confirm(
        self,
        window_id: int,
        item: str,
        user: str,
        action: str,
        trigger_id: str | None = None,
        channel: str = "",
    ) -> None:
        window = load(self.ctx, window_id)
        if item == "hotfixes":
            # Which hotfixes (or none) is the answer; a modal asks for it.
            if window.state is not WindowState.APPROVED:
                raise NotAllowed(f"The details checklist of {window.label} is closed.")
            await self.ctx.roles.require(GateId.G2, user)
            candidates = details.hotfix_candidates(self.ctx, window)
            await self.ctx.client.views_open(
                trigger_id=trigger_id,
                view=modals.hotfix_modal(window.id, window.label, candidates, channel),
            )
            return
        await details.settle_item(self.ctx, window, item, user, slack_action=action)

    async def on_hotfix_form(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        payload = ViewPayload.model_validate(body)
        meta = json.loads(payload.view.private_metadata or "{}")
        element = payload.view.state.values.get(Block.HOTFIXES, {}).get(Input.HOTFIXES, {})
        names = [str(o.get("value")) for o in element.get("selected_options") or []]
        await ack()
        await self._guarded(
            str(meta.get("channel", "")),
            payload.user.id,
            self._hotfixes(int(meta.get("window_id", 0)), names, payload.user.id, payload.view.id),
        )

    async def _hotfixes(self, window_id: int, names: list[str], user: str, view_id: str) -> None:
        window = load(self.ctx, window_id)
        await details.choose_hotfixes(self.ctx, window, names, user, f"hotfixes@{view_id}")

    async def on_detail_waive(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        window_id, item = _split(payload.action.value)
        channel = payload.channel_id
        await self._guarded(
            channel, payload.user.id, self._ask_waiver(window_id, item, payload, channel)
        )

    async def _ask_waiver(
        self, window_id: int, item: str, payload: ActionPayload, channel: str
    ) -> None:
        window = load(self.ctx, window_id)
        if window.state is not WindowState.APPROVED:
            raise NotAllowed(f"The details checklist of {window.label} is closed.")
        await self.ctx.roles.require(GateId.G2, payload.user.id)
        title = MANUAL_ITEMS.get(item, item.replace("_", " "))
        await self.ctx.client.views_open(
            trigger_id=payload.trigger_id,
            view=modals.waive_modal(window.id, item, title, channel, window.message_ts or ""),
        )

    async def on_waive_form(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        payload = ViewPayload.model_validate(body)
        meta = json.loads(payload.view.private_metadata or "{}")
        reason = (payload.view.value(Block.REASON, Input.REASON) or "").strip()
        if not reason:
            await ack(response_action="errors", errors={Block.REASON.value: "Say why."})
            return
        try:
            window = load(self.ctx, int(meta.get("window_id", 0)))
            window = await details.settle_item(
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

    async def on_precheck_accept(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        window_id, run = _split(payload.action.value)
        await self._guarded(
            payload.channel_id,
            payload.user.id,
            self._accept(window_id, int(run or 0), payload.user.id, payload.slack_action),
        )

    async def _accept(self, window_id: int, run_id: int, user: str, action: str) -> None:
        await accept_precheck(self.ctx, load(self.ctx, window_id), run_id, user, action)

    async def on_precheck_rerun(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ActionPayload.model_validate(body)
        window_id, _ = _split(payload.action.value)
        channel = payload.channel_id
        await self._guarded(
            channel, payload.user.id, self._rerun(window_id, payload.user.id, channel)
        )

    async def _rerun(self, window_id: int, user: str, channel: str) -> None:
        from bot import messages

        window = load(self.ctx, window_id)
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
