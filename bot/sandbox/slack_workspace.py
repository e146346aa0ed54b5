"""The pretend Slack workspace that the stub serves and the signed payloads come from.

One identity shared by ``slack_stub`` (what auth.test answers, who posted a message) and
``signing`` (which team and app a slash command or click claims to come from), so the bot
sees one consistent workspace whichever side it talks to.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Workspace:
    team_id: str = "T0SANDBOX"
    team_domain: str = "upgradebot-sandbox"
    team_name: str = "upgradebot sandbox"
    app_id: str = "A0UPGRADEBOT"
    bot_id: str = "B0UPGRADEBOT"
    bot_user_id: str = "U0UPGRADEBOT"
    bot_name: str = "upgradebot"
    # The legacy verification token Slack still puts in every payload; Bolt ignores it.
    verification_token: str = "sandbox-verification-token"

    @property
    def url(self) -> str:
        return f"https://{self.team_domain}.slack.com/"


DEFAULT_WORKSPACE = Workspace()
