"""Publishing the Home tab: for whoever opens it, and again for everyone who has it open when
a window it shows changes (``BotContext.window_watchers``).

Who has opened the tab is kept in memory: after a restart a person's tab is refreshed the next
time they open it (Slack sends ``app_home_opened`` every time), which is also when it matters.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.context import BotContext
from bot.domain.gates import owed
from bot.domain.models import GateId, Window, WindowState
from bot.domain.permissions import Person, gate_refusal
from bot.home.view import SHOWN_FINISHED, Owed, home_view
from bot.record.build import to_thread_url
from commands.export import read_workspace_url
from storage import finished_windows, latest_check_run, open_windows

log = logging.getLogger(__name__)


class HomeTabs:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx
        self.viewers: set[str] = set()
        self._workspace_url: str | None = None
        self._refreshing = False
        self._again = False

    async def opened(self, user: str) -> None:
        self.viewers.add(user)
        await self.publish(user)

    async def refresh(self, window: Window) -> None:
        """A window changed: publish every open tab again. Changes that arrive while a refresh
        runs are folded into one more pass, not one pass each."""
        if self._refreshing:
            self._again = True
            return
        self._refreshing = True
        try:
            while True:
                self._again = False
                for user in sorted(self.viewers):
                    await self.publish(user)
                if not self._again:
                    return
        finally:
            self._refreshing = False

    async def publish(self, user: str) -> None:
        ctx = self.ctx
        if self._workspace_url is None:
            self._workspace_url = await read_workspace_url(ctx)
        upcoming = open_windows(ctx.db)
        finished = sorted(finished_windows(ctx.db), key=lambda w: w.start, reverse=True)
        shown = upcoming + finished[:SHOWN_FINISHED]
        links = {
            w.id: link
            for w in shown
            if (link := to_thread_url(w.channel, w.message_ts, self._workspace_url))
        }
        person = await ctx.roles.person(user)
        waiting = [
            Owed(w, gate, links.get(w.id))
            for w in upcoming
            if (gate := self.owed_now(person, w)) is not None
        ]
        view = home_view(user, waiting, upcoming, finished, links)
        try:
            await ctx.client.views_publish(user_id=user, view=view)
        except SlackApiError as error:
            log.warning(
                "could not publish the Home tab of %s: %s", user, error.response.get("error")
            )

    def owed_now(self, person: Person, window: Window) -> GateId | None:
        """The gate ``person`` may acknowledge on ``window`` now: G3 once the pre-check has
        results, G4 once the window has started (the go prompt), G1 not for its proposer under
        four eyes."""
        waiting = owed(window.state)
        if waiting is None:
            return None
        gate = waiting[0]
        refusal = gate_refusal(
            person, gate, proposer=window.proposer, four_eyes=self.ctx.config.four_eyes
        )
        if refusal is not None:
            return None
        if window.state is WindowState.PLANNED:
            return gate if latest_check_run(self.ctx.db, window.id, "precheck") else None
        if window.state is WindowState.READY and self.ctx.now() < window.start:
            return None
        return gate
