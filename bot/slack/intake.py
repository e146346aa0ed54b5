"""What reaches ``POST /slack/events`` before Bolt sees it (issue 15, item 6): the content type
Slack sends, an interactivity ``payload`` that is a JSON object, and each request taking effect
once however often Slack retries it.

Slack retries a request it thinks went unanswered, with ``X-Slack-Retry-Num``; the body is the
same, so its identity is the ``trigger_id`` Slack puts in every command and interaction (the
Events API's ``event_id``), or the body's digest when it has neither. The first delivery claims
that identity (``storage/idempotency.py``); a retry of a claimed one is answered at once with
``X-Slack-No-Retry`` and does nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from bot.context import BotContext
from storage import WriteBusy, claim_request, write_now

log = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class Refused(Exception):
    """The request is answered with ``status`` and this sentence, and goes no further."""

    def __init__(self, status: int, sentence: str) -> None:
        self.status = status
        self.sentence = sentence
        super().__init__(sentence)


def check_body(content_type: str, body: bytes) -> str:
    """The request's identity; ``Refused`` for a body Slack never sends."""
    if content_type == FORM:
        fields = parse_qs(body.decode("utf-8", "replace"))
        if "payload" in fields:
            payload = _json_object(fields["payload"][0])
            if payload is None:
                raise Refused(400, "The payload field is not a JSON object; nothing was done.")
            return str(payload.get("trigger_id") or payload.get("action_ts") or _digest(body))
        return str((fields.get("trigger_id") or [""])[0] or _digest(body))
    if content_type == JSON:
        event = _json_object(body.decode("utf-8", "replace"))
        if event is None:
            raise Refused(400, "The body is not a JSON object; nothing was done.")
        return str(event.get("event_id") or _digest(body))
    raise Refused(
        415,
        f"Slack sends {FORM} or {JSON} here, not {content_type or 'an untyped body'}; "
        "nothing was done.",
    )


SEEN_IN_MEMORY = 10_000  # recent identities kept in the process: Slack retries within minutes


def is_replayed(ctx: BotContext, identity: str, retry_num: str | None, at: datetime) -> bool:
    """True for a Slack retry of a request already taken; claims the identity otherwise.

    The claim never waits for the database (this runs before the ack, issue 15 item 5): the
    process remembers what it took, and the durable claim (which a restarted bot reads) is
    written at once when the write lock is free, else in the background as soon as it is. A
    database that cannot record the claim lets the request through: its listener says what
    went wrong, in a sentence."""
    key = f"slack:{identity}"
    seen = ctx.seen_requests
    if key in seen:
        return retry_num is not None
    seen[key] = None
    while len(seen) > SEEN_IN_MEMORY:
        seen.pop(next(iter(seen)))
    try:
        first = write_now(ctx.db, claim_request, key, at)
    except WriteBusy:
        ctx.spawn(_claim_later(ctx, key, at))
        return False
    except Exception:
        log.exception("cannot record Slack request %s; handling it anyway", identity[:16])
        return False
    return not first and retry_num is not None


async def _claim_later(ctx: BotContext, key: str, at: datetime) -> None:
    try:
        await ctx.write(claim_request, key, at)
    except Exception:
        log.exception("cannot record Slack request %s", key[:22])


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
