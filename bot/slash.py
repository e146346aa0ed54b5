"""The ``/upgrade`` listener: split the text, let the subcommand in ``commands/`` parse it, and
answer. Quick subcommands answer in the ack; the rest run after it, through ``guard``."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from slack_bolt.async_app import AsyncAck

from bot import messages
from bot.context import BotContext
from bot.domain.errors import InputError, UpgradeBotError
from bot.flows.propose.modals import propose_modal
from bot.guard import error_text, guarded, open_modal, text_of
from bot.ids import COMMAND
from bot.payloads import CommandPayload
from commands import SUBCOMMANDS
from commands import propose as propose_command
from commands.base import Invocation, split_command

log = logging.getLogger(__name__)


class Listeners:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    async def on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        payload = CommandPayload.model_validate(body)
        invocation = Invocation(
            user=payload.user_id,
            channel=payload.channel_id,
            now=self.ctx.now(),
            trigger_id=payload.trigger_id,
            slack_action=f"command@{payload.trigger_id or ''}",
        )
        name = "help"
        try:
            name, args = split_command(payload.text)
            module = SUBCOMMANDS.get(name)
            if module is None:
                raise InputError(messages.unknown_subcommand(name), syntax=True)
            parsed = module.parse(args)
            if isinstance(parsed, propose_command.OpenForm):
                await ack()
                await self._open_propose_form(invocation)
                return
            if module.QUICK:
                reply = await module.run(self.ctx, invocation, parsed)
                await ack(text=reply.text, response_type="ephemeral")
                return
            if module is propose_command:
                await self._propose(ack, invocation, parsed)
                return
            await ack()
        except UpgradeBotError as error:
            await ack(text=error_text(error, name), response_type="ephemeral")
            return
        except Exception:
            ref = secrets.token_hex(3)
            log.exception("unexpected error in %s %s (ref %s)", COMMAND, name, ref)
            await ack(text=messages.unexpected(ref), response_type="ephemeral")
            return
        work = text_of(module.run(self.ctx, invocation, parsed))
        await guarded(self.ctx, invocation.channel, invocation.user, work, command=name)

    async def _propose(
        self, ack: AsyncAck, invocation: Invocation, parsed: propose_command.ProposeArgs
    ) -> None:
        request = await propose_command.prepare(self.ctx, invocation, parsed)
        await ack(
            text=messages.working_on(request.system, request.target.label),
            response_type="ephemeral",
        )
        work = text_of(propose_command.run(self.ctx, invocation, request))
        await guarded(self.ctx, invocation.channel, invocation.user, work, command="propose")

    async def _open_propose_form(self, invocation: Invocation) -> None:
        view = propose_modal(
            sorted(self.ctx.config.systems), invocation.channel, self.ctx.config.timezone
        )
        await open_modal(self.ctx, invocation.trigger_id, view=view)


LISTENERS = (("command", COMMAND, Listeners.on_command),)
