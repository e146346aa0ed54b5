"""What every subcommand module shares: the invocation, the reply, and argument helpers.

Each subcommand module has the same three parts: ``parse(args) -> parsed`` (pure, raises
InputError), ``async run(ctx, invocation, parsed) -> Reply`` and the module constants ``NAME``
and ``QUICK`` (a quick command answers inside Slack's 3-second ack; a slow one acks first and
answers with an ephemeral message).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot import messages
from bot.domain.errors import InputError, UnknownWindow

_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


@dataclass(frozen=True)
class Invocation:
    user: str
    channel: str
    now: datetime
    trigger_id: str | None = None
    slack_action: str | None = None


@dataclass
class Reply:
    """An answer for the person who typed the command (ephemeral)."""

    text: str
    blocks: list[dict[str, Any]] | None = field(default=None)


def tokenize(text: str) -> list[str]:
    """Split like a shell, tolerating the curly quotes Slack clients type."""
    if len(text) > messages.MAX_INPUT:
        raise InputError(messages.too_long(len(text)), syntax=True)
    try:
        return shlex.split(text.translate(_SMART_QUOTES))
    except ValueError:
        raise InputError(messages.unbalanced_quotes(), syntax=True) from None


def parse_window_id(text: str) -> int:
    match = re.fullmatch(r"#?(\d{1,9})", text.strip())
    if not match:
        raise UnknownWindow(text)
    return int(match.group(1))


def split_command(text: str) -> tuple[str, list[str]]:
    tokens = tokenize(text)
    if not tokens:
        return "help", []
    return tokens[0].lower(), tokens[1:]
