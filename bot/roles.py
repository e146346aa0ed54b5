"""Who may do what: approvers, operators and proposers, with Slack user groups expanded."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.blocks import mention
from bot.domain.errors import NotAllowed
from bot.domain.models import GateId
from bot.domain.permissions import Person, Refusal, cancel_refusal, gate_refusal
from bot.settings import Roles

log = logging.getLogger(__name__)


class RoleResolver:
    """Answers role questions; user groups are resolved through usergroups.users.list, cached."""

    def __init__(self, roles: Roles, client: AsyncWebClient, ttl_seconds: float = 300.0) -> None:
        self._roles = roles
        self._client = client
        self._ttl_seconds = ttl_seconds
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        # One lookup per group at a time: two clicks at once must not both ask Slack (issue 11).
        self._lookups: dict[str, asyncio.Lock] = {}

    async def is_approver(self, user: str) -> bool:
        return await self._member(user, self._roles.approvers)

    async def is_operator(self, user: str) -> bool:
        return await self._member(user, self._roles.operators)

    async def person(self, user: str) -> Person:
        return Person(user, await self.is_approver(user), await self.is_operator(user))

    async def require(
        self, gate: GateId, user: str, *, proposer: str = "", four_eyes: bool = False
    ) -> None:
        """Raise NotAllowed, with the sentence the person reads, unless ``user`` may act at
        ``gate`` (the rule is :func:`bot.domain.permissions.gate_refusal`)."""
        refusal = gate_refusal(
            await self.person(user), gate, proposer=proposer, four_eyes=four_eyes
        )
        if refusal is not None:
            raise NotAllowed(_sentence(refusal, user, "", self._roles))

    async def require_cancel(self, user: str, *, proposer: str, window_label: str) -> None:
        refusal = cancel_refusal(await self.person(user), proposer=proposer)
        if refusal is not None:
            raise NotAllowed(_sentence(refusal, user, window_label, self._roles))

    async def may_propose(self, user: str) -> bool:
        return not self._roles.proposers or await self._member(user, self._roles.proposers)

    async def _member(self, user: str, entries: Iterable[str]) -> bool:
        for entry in entries:
            if entry == user:
                return True
            if entry.startswith("S") and user in await self._group(entry):
                return True
        return False

    async def _group(self, group: str) -> frozenset[str]:
        async with self._lookups.setdefault(group, asyncio.Lock()):
            return await self._read_group(group)

    async def _read_group(self, group: str) -> frozenset[str]:
        cached = self._groups.get(group)
        if cached and time.monotonic() - cached[0] < self._ttl_seconds:
            return cached[1]
        try:
            response = await self._client.usergroups_users_list(usergroup=group)
            members = frozenset(response.get("users") or [])
        except SlackApiError as error:
            # A group we cannot read grants nobody anything; say so in the log, not in Slack.
            log.warning("cannot resolve user group %s: %s", group, error.response.get("error"))
            members = cached[1] if cached else frozenset()
        self._groups[group] = (time.monotonic(), members)
        return members


def _sentence(refusal: Refusal, user: str, window_label: str, roles: Roles) -> str:
    """The refusal, naming by mention the people who can act (the roles config)."""
    if refusal is Refusal.NOT_AN_APPROVER:
        return messages.not_an_approver(user, mention(roles.approvers))
    if refusal is Refusal.FOUR_EYES:
        return messages.four_eyes(user)
    if refusal is Refusal.NOT_AN_OPERATOR:
        return messages.not_an_operator(user, mention(roles.operators))
    who = mention(list(dict.fromkeys([*roles.approvers, *roles.operators])))
    return messages.may_not_cancel(user, window_label, who)
