"""Slack message text (mrkdwn and plain_text objects) to HTML for the sandbox page: pure
functions, every text escaped.

Message text is escaped before any markup is added: control sequences (``<@U…>``, ``<#C…>``,
``<url|label>``, ``<!date^…>``) and code spans are cut out first and replaced by placeholders,
the rest is HTML-escaped, then bold/italic/strike wrap the escaped text and the placeholders get
their own escaped HTML back. Links keep only http, https and mailto targets. A date token
becomes ``<time class="slack-date">`` with its UTC fallback as text; the page's script rewrites
it in the browser's time zone (Slack does the same per reader).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_PH_OPEN, _PH_CLOSE = "\ue000", "\ue001"
_PLACEHOLDER = re.compile(f"{_PH_OPEN}(\\d+){_PH_CLOSE}")
_PRE = re.compile(r"```\n?(.*?)\n?```", re.DOTALL)
_CODE = re.compile(r"`([^`\n]+)`")
_CONTROL = re.compile(r"<([^<>\n]*)>")
_SAFE_URL = re.compile(r"^(?:https?://|mailto:)[^\s\"'<>\\`]+$", re.IGNORECASE)
# A marker followed by a space or a zero-width space opens nothing (bot/escape.py relies on it).
_FORMATS = (
    (re.compile(r"(?<![\w*])\*(?![\s\u200b])([^*\n]+?)(?<!\s)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?![\s\u200b])([^_\n]+?)(?<!\s)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?![\s\u200b])([^~\n]+?)(?<!\s)~(?![\w~])"), "s"),
)
_QUOTE = re.compile(r"^&gt; ?(.*)$", re.MULTILINE)
# The shortcodes bots commonly write; any other stays as typed.
EMOJI = {
    "white_check_mark": "✅", "heavy_check_mark": "✔️", "x": "❌", "warning": "⚠️",
    "no_entry": "⛔", "hourglass": "⌛", "hourglass_flowing_sand": "⏳", "rocket": "🚀",
    "tada": "🎉", "eyes": "👀", "thumbsup": "👍", "+1": "👍", "red_circle": "🔴",
    "large_green_circle": "🟢", "bell": "🔔", "lock": "🔒", "calendar": "📅", "wrench": "🔧",
}  # fmt: skip
_EMOJI_CODE = re.compile(r":([a-z0-9_+-]+):")


@dataclass(frozen=True)
class Names:
    """Display names for ids found in text: users (U…), channels (C…) and user groups (S…)."""

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, str] = field(default_factory=dict)


def escape(text: Any) -> str:
    return html.escape(str(text), quote=True)


def from_slack_entities(text: str) -> str:
    """Slack escapes &, < and > in message text; the reader sees the characters."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_emoji(name: str) -> str:
    return EMOJI.get(name, f":{name}:")


def to_html_mrkdwn(text: str, names: Names) -> str:
    """Slack mrkdwn as HTML; nothing in ``text`` can become markup of its own."""
    text = text.replace(_PH_OPEN, "").replace(_PH_CLOSE, "")
    kept: list[str] = []

    def keep(fragment: str) -> str:
        kept.append(fragment)
        return f"{_PH_OPEN}{len(kept) - 1}{_PH_CLOSE}"

    text = _PRE.sub(lambda m: keep(f"<pre>{_escaped_code(m[1])}</pre>"), text)
    text = _CODE.sub(lambda m: keep(f"<code>{_escaped_code(m[1])}</code>"), text)
    text = _CONTROL.sub(lambda m: keep(_control(m[1], names)), text)
    out = html.escape(from_slack_entities(text), quote=True)
    out = _EMOJI_CODE.sub(lambda m: EMOJI.get(m[1], m[0]), out)
    for pattern, tag in _FORMATS:
        out = pattern.sub(f"<{tag}>\\1</{tag}>", out)
    out = _QUOTE.sub(lambda m: f"<blockquote>{m[1]}</blockquote>", out)
    out = out.replace("\n", "<br>").replace("</blockquote><br>", "</blockquote>")
    return _PLACEHOLDER.sub(lambda m: kept[int(m[1])], out)


def to_html_plain(text: str, emoji: bool = True) -> str:
    out = html.escape(text, quote=True)
    if emoji:
        out = _EMOJI_CODE.sub(lambda m: EMOJI.get(m[1], m[0]), out)
    return out.replace("\n", "<br>")


def to_html_text(obj: Any, names: Names) -> str:
    """A text object (``{"type": "mrkdwn"|"plain_text", "text": …}``) or a bare string."""
    if isinstance(obj, str):
        return to_html_mrkdwn(obj, names)
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text") or "")
    if obj.get("type") == "plain_text":
        return to_html_plain(text, bool(obj.get("emoji", True)))
    return to_html_mrkdwn(text, names)


def to_plain(obj: Any) -> str:
    """The raw characters of a text object, for places that take text, not HTML."""
    if isinstance(obj, dict):
        return str(obj.get("text") or "")
    return str(obj or "")


def _escaped_code(code: str) -> str:
    return html.escape(from_slack_entities(code), quote=True)


def _control(inner: str, names: Names) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@") and len(target) > 1:
        user = target[1:]
        shown = names.users.get(user) or label or user
        return f'<span class="mention" data-user="{escape(user)}">@{escape(shown)}</span>'
    if target.startswith("#") and len(target) > 1:
        channel = target[1:]
        shown = names.channels.get(channel) or label or channel
        return f'<span class="channel-link">#{escape(shown)}</span>'
    if target.startswith("!"):
        return _special(target[1:], label, names)
    url = from_slack_entities(target).strip()
    if _SAFE_URL.match(url):
        shown = from_slack_entities(label) if label else url.removeprefix("mailto:")
        return _link(url, escape(shown))
    # Not a link we would follow (javascript:, data:, a stray tag…): show it as text.
    return escape(from_slack_entities(label if label else f"<{inner}>"))


def _special(command: str, label: str, names: Names) -> str:
    parts = command.split("^")
    head = parts[0]
    if head == "date" and len(parts) >= 3:
        return _date_token(parts[1], parts[2], parts[3] if len(parts) > 3 else "", label)
    if head == "subteam" and len(parts) >= 2:
        shown = names.groups.get(parts[1]) or label.lstrip("@") or parts[1]
        return f'<span class="mention">@{escape(shown)}</span>'
    if head in ("here", "channel", "everyone"):
        return f'<span class="mention">@{escape(head)}</span>'
    return escape(from_slack_entities(label or f"<!{command}>"))


def _date_token(stamp: str, fmt: str, link: str, fallback: str) -> str:
    fallback_text = escape(from_slack_entities(fallback) or stamp)
    if not stamp.isdigit():
        return fallback_text
    try:
        moment = datetime.fromtimestamp(int(stamp), UTC)
    except (ValueError, OverflowError, OSError):  # beyond what a datetime holds
        return fallback_text
    tag = (
        f'<time class="slack-date" datetime="{moment:%Y-%m-%dT%H:%M:%SZ}" '
        f'data-format="{escape(from_slack_entities(fmt))}">{fallback_text}</time>'
    )
    url = from_slack_entities(link)
    return _link(url, tag) if _SAFE_URL.match(url) else tag


def _link(url: str, inner_html: str) -> str:
    return f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer">{inner_html}</a>'


def is_safe_url(url: str) -> bool:
    """Whether a link target is one the page may follow: http, https or mailto."""
    return bool(_SAFE_URL.match(url))
