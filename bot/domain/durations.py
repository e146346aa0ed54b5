"""Durations as people write them, read and written one way everywhere: a window's length in
``/upgrade propose`` and in the form, the config's leads and ages, and every length the bot shows.

The grammar: amounts with units, largest first, each unit at most once: ``2d``, ``4h``,
``90m``, ``1h30m``, ``2h 15m``, ``45s``; ``1h30`` (minutes after hours may drop their unit);
``1.5h`` or ``1,5h`` (a fraction on a lone amount, rounded to the second). Units may be
spelled out (``4 hours``, ``90 min``). A bare number is refused: hours or minutes, we do not
guess.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from bot.domain.errors import InputError

ACCEPTED = "`4h`, `90m`, `1h30`, `1h30m`, `1.5h` or `2d`"
_MAX_TEXT = 40
_UNITS = (
    ("d", r"d|days?", 86400),
    ("h", r"h|hrs?|hours?", 3600),
    ("m", r"m|mins?|minutes?", 60),
    ("s", r"s|secs?|seconds?", 1),
)
_AMOUNT = r"\d{1,6}(?:[.,]\d{1,3})?"
_GRAMMAR = re.compile(
    "".join(f"(?:(?P<{key}>{_AMOUNT}) ?(?:{words}) ?)?" for key, words, _ in _UNITS)
    + r"(?P<bare>\d{1,2})?"
)


class InvalidDuration(InputError):
    def __init__(self, text: str, field: str | None = None) -> None:
        self.text = text
        super().__init__(
            f"`{text[:_MAX_TEXT]}` is not a duration I can read.",
            hint=f"Write it like {ACCEPTED}.",
            field=field,
            syntax=True,
        )


def parse_duration(text: str) -> timedelta:
    """Read a duration in the grammar above, to the second; :class:`InvalidDuration` if not."""
    cleaned = " ".join(text.strip().strip("\"'").lower().split())
    match = _GRAMMAR.fullmatch(cleaned) if 0 < len(cleaned) <= _MAX_TEXT else None
    if match is None or not any(match.groupdict().values()):
        raise InvalidDuration(text)
    amounts = [(match[key], seconds) for key, _, seconds in _UNITS if match[key] is not None]
    if match["bare"] is not None:
        if match["h"] is None or match["m"] is not None or match["s"] is not None:
            raise InvalidDuration(text)  # only minutes may follow hours without a unit
        amounts.append((match["bare"], 60))
    if len(amounts) > 1 and any(("." in a or "," in a) for a, _ in amounts):
        raise InvalidDuration(text)  # a fraction stands alone: 1.5h, not 1.5h30 or 1h0.5m
    total = sum((Decimal(a.replace(",", ".")) * seconds for a, seconds in amounts), Decimal(0))
    return timedelta(seconds=int(total.to_integral_value()))


def format_duration(value: timedelta) -> str:
    """A duration the way people type it: ``4h``, ``1h30m``, ``45m``, ``30s``, ``-2h``, ``7d``;
    whole minutes from one minute up, days only for two or more whole days (``24h`` stays)."""
    seconds = int(value.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    if seconds < 60:
        return f"{sign}{seconds}s" if seconds else "0m"
    if seconds % 86400 == 0 and seconds >= 2 * 86400:
        return f"{sign}{seconds // 86400}d"
    hours, minutes = divmod(seconds // 60, 60)
    if not hours:
        return f"{sign}{minutes}m"
    return f"{sign}{hours}h{minutes:02d}m" if minutes else f"{sign}{hours}h"
