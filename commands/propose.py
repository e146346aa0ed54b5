"""/upgrade propose [<system> <target> <start> [<length>]] — with no arguments, a form."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot import messages
from bot.context import BotContext
from bot.domain.durations import InvalidDuration, parse_duration
from bot.domain.errors import InputError, NotAllowed
from bot.domain.proposal import ProposalRequest
from bot.flows.propose.flow import proposal_reply, propose, read_request
from commands.base import Invocation, Reply

NAME = "propose"
QUICK = False  # reads the cluster; acks first

_CU = re.compile(r"^\[?cu\d{1,3}\]?$", re.IGNORECASE)


@dataclass(frozen=True)
class ProposeArgs:
    system: str
    target: str
    start: str
    length: str | None


@dataclass(frozen=True)
class OpenForm:
    """No arguments: the listener opens the propose modal."""


def parse(args: list[str]) -> ProposeArgs | OpenForm:
    if not args:
        return OpenForm()
    if len(args) < 3:
        raise InputError(messages.missing_arguments(NAME), syntax=True)
    system, rest = args[0].lower(), args[1:]
    target = rest.pop(0)
    if rest and _CU.match(rest[0]):
        target = f"{target} {rest.pop(0)}"
    length = None
    if len(rest) > 1 and is_duration(rest[-1]):
        length = rest.pop()
    if not rest:
        raise InputError(messages.missing_arguments(NAME), syntax=True)
    return ProposeArgs(system, target, " ".join(rest), length)


def is_duration(word: str) -> bool:
    """Whether the last word is the length (in the one duration grammar) or part of the start."""
    try:
        parse_duration(word)
    except InvalidDuration:
        return False
    return True


async def prepare(ctx: BotContext, invocation: Invocation, parsed: ProposeArgs) -> ProposalRequest:
    """The checks that answer within Slack's ack: who may propose, system, version, time,
    length, blackouts and overlaps. The form and the typed command both go through here."""
    if not await ctx.roles.may_propose(invocation.user):
        raise NotAllowed(messages.not_a_proposer(invocation.user))
    return read_request(
        ctx, parsed.system, parsed.target, parsed.start, parsed.length, invocation.now
    )


async def run(ctx: BotContext, invocation: Invocation, request: ProposalRequest) -> Reply:
    """After the ack: read the cluster, plan, store and post; the reply says where it went."""
    window = await propose(ctx, request, invocation.user, invocation.slack_action or NAME)
    return Reply(proposal_reply(ctx, window))
