"""Who may do what: approvers, operators and proposers, with Slack user groups expanded."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Roles

log = logging.getLogger(__name__)


class RoleResolver:
    """Answers role questions; user groups are resolved through usergroups.users.list, cached."""

    def __init__(self, roles: Roles, client: AsyncWebClient, ttl_seconds: float = 300.0) -> None:
        self._roles = roles
        self._client = client
        self._ttl_seconds = ttl_seconds
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}

    async def is_approver(self, user: str) -> bool:
        return await self._member(user, self._roles.approvers)

    async def is_operator(self, user: str) -> bool:
        return await self._member(user, self._roles.operators)

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
