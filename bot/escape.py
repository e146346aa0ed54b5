"""The one way text a person wrote (a reason, a name typed into a command or a modal, an error a
DMS returned) is put into Slack mrkdwn: it shows as the characters typed and never as markup.

Slack's formatting rules make ``&``, ``<`` and ``>`` control characters: escaped as ``&amp;``,
``&lt;`` and ``&gt;`` they cannot open a mention (``<!channel>``, ``<@U…>``,
``<!subteam^S…>``) or a link (``<https://…|click>``); ``&amp;`` typed by a person stays visible
as typed. Slack has no escape for ``*``, ``_`` and ``~``: a zero-width space after one that could
open bold, italic or strike keeps it literal, and one before a leading ``&gt;`` keeps a quote
from forming. Control characters and the invisible bidirectional marks (which can make text read
backwards) are dropped, line breaks become spaces, and the text is cut at ``limit`` characters
with an ellipsis. Only for mrkdwn: plain_text objects (headers, labels, options) are shown by
Slack as they are and must not be escaped.
"""

from __future__ import annotations

import re

ZERO_WIDTH_SPACE = "\u200b"
MAX_SHOWN = 1000
# Left-to-right/right-to-left marks, embeddings, overrides and isolates, the Arabic letter mark,
# and zero-width characters a person cannot see in what they pasted.
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# An emphasis marker at the start or after a non-word character could open formatting.
_OPENER = re.compile(r"(?<!\w)([*_~])")


def escape(text: object, limit: int = MAX_SHOWN) -> str:
    """``text`` as literal characters in Slack mrkdwn, at most ``limit`` characters of it."""
    value = _INVISIBLE.sub("", str(text))
    value = _CONTROL.sub(" ", value)
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    value = escape_entities(value)
    value = _OPENER.sub(lambda m: m[1] + ZERO_WIDTH_SPACE, value)
    if value.startswith("&gt;"):
        value = ZERO_WIDTH_SPACE + value
    return value


def escape_entities(text: str) -> str:
    """Only Slack's three control characters, for text inside a code block (where emphasis
    cannot form and a zero-width space would spoil what is copied out, e.g. JSON)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
