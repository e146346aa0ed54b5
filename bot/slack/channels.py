"""Being a member of each system's channel, so the bot can read its own messages back.

The bot posts with ``chat:write.public``, which needs no membership, but Slack lets a bot
token read (``conversations.history``, ``conversations.replies``) only the conversations it is
a member of (docs.slack.dev/reference/methods/conversations.history). Reading is how the outbox
finds a message whose answer was lost instead of posting it twice (issue 15), so at start-up
the bot joins every configured public channel (``channels:join``). A private channel cannot be
joined: the bot must be invited to it, and the log says so once.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.context import BotContext

log = logging.getLogger(__name__)


async def join_channels(ctx: BotContext) -> dict[str, str]:
    """Join each system's channel; what could not be joined, channel -> why (also logged)."""
    problems: dict[str, str] = {}
    for channel in sorted({system.channel for system in ctx.config.systems.values()}):
        reason = await join(ctx, channel)
        if reason is not None:
            problems[channel] = reason
    return problems


async def join(ctx: BotContext, channel: str) -> str | None:
    """Join one channel (already a member is fine); None, or why not in a sentence."""
    try:
        await ctx.client.conversations_join(channel=channel)
    except SlackApiError as error:
        code = str(error.response.get("error") or "slack_error")
        reason = _REASONS.get(code, f"Slack answered {code}")
    except Exception as error:  # Slack unreachable at start: the next start tries again
        reason = f"Slack could not be reached ({type(error).__name__})"
    else:
        return None
    log.warning(
        "cannot join channel %s: %s. Until the bot is a member it cannot look up its own "
        "messages there, so a message whose answer Slack lost may be posted twice",
        channel,
        reason,
    )
    return reason


_REASONS = {
    "method_not_supported_for_channel_type": "it is a private channel: invite the bot to it",
    "missing_scope": "the app lacks the channels:join scope: reinstall it from manifest.yml",
    "channel_not_found": "there is no such channel, or it is private: invite the bot to it",
    "is_archived": "the channel is archived",
}
