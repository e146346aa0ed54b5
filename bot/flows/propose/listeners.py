"""Listeners of the propose step: the propose form (the typed ``/upgrade propose`` goes through
``bot/slash.py`` and ``commands/propose``). Errors show next to the field they concern."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.context import BotContext
from bot.domain.errors import InputError, NotAllowed
from bot.guard import form_metadata, guarded, text_of
from bot.ids import Block, Input, View
from bot.payloads import ViewPayload
from commands import propose as propose_command
from commands.base import Invocation

_FIELD_BLOCKS = {
    "system": Block.SYSTEM,
    "target": Block.TARGET,
    "start": Block.START_TIME,
    "length": Block.LENGTH,
}


class Listeners:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    async def on_propose_form(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        payload = ViewPayload.model_validate(body)
        view = payload.view
        meta = await form_metadata(self.ctx, ack, view.private_metadata, payload.user.id)
        if meta is None:
            return
        user = payload.user.id
        channel = str(meta.get("channel", ""))
        date = view.value(Block.START_DATE, Input.START_DATE) or ""
        clock = view.value(Block.START_TIME, Input.START_TIME) or ""
        invocation = Invocation(
            user, channel, self.ctx.now(), slack_action=f"{View.PROPOSE}@{view.id}"
        )
        typed = propose_command.ProposeArgs(
            system=view.value(Block.SYSTEM, Input.SYSTEM) or "",
            target=view.value(Block.TARGET, Input.TARGET) or "",
            start=f"{date} {clock}".strip(),
            length=view.value(Block.LENGTH, Input.LENGTH),
        )
        try:
            request = await propose_command.prepare(self.ctx, invocation, typed)
        except NotAllowed as error:
            await ack(response_action="errors", errors={Block.SYSTEM.value: error.message[:300]})
            return
        except InputError as error:
            block = _FIELD_BLOCKS.get(error.field or "", Block.TARGET)
            text = error.message + (f" {error.hint}" if error.hint else "")
            await ack(response_action="errors", errors={block.value: text[:300]})
            return
        await ack()
        work = text_of(propose_command.run(self.ctx, invocation, request))
        await guarded(self.ctx, channel, user, work, command="propose")


LISTENERS = (("view", View.PROPOSE.value, Listeners.on_propose_form),)
