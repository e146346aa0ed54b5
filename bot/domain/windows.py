"""Proposing upgrade windows: reading a start and a length, and checking a window fits.

All instants are aware datetimes; the functions convert to UTC before comparing, and nothing
here reads the clock: whoever needs "now" passes it in. Wall-clock times are read and shown in
the config's zone, where daylight saving time makes some local times skipped (spring) and some
repeated (autumn). Windows and blackouts are half-open intervals ``[start, end)``, so a window
may begin the minute another one ends.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from bot.domain.durations import InvalidDuration, format_duration, parse_duration
from bot.domain.errors import InBlackout, InvalidLength, InvalidTime, StartInPast, WindowConflict
from bot.domain.models import Blackout, Window

MAX_LENGTH = timedelta(hours=72)
_MAX_INPUT = 64  # longer text is refused before any regex sees it
_QUOTES = "\"'`“”‘’„«»"
_TICK = timedelta(microseconds=1)
_SCAN_STEP = timedelta(hours=1)  # offsets never change twice within an hour

_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:t| )(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r" ?(z|utc|[+-]\d{2}(?::?\d{2})?)?"
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_WORDS = (
    {name: i for i, name in enumerate(_WEEKDAYS)}
    | {name[:3]: i for i, name in enumerate(_WEEKDAYS)}
    | {"tues": 1, "weds": 2, "thur": 3, "thurs": 3}
)
_RELATIVE = re.compile(r"(today|tomorrow|[a-z]{3,9}) (?:at )?(\d{1,2}):(\d{2})")


@dataclass(frozen=True, slots=True)
class LocalStart:
    """A parsed start: the instant (``at``, UTC), how it reads in the config zone, and notes
    for the person (e.g. which of two repeated wall-clock times was taken)."""

    at: datetime
    local: datetime
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DstChange:
    """A UTC offset change: from ``at`` (UTC) on, the zone is ``offset_after`` from UTC."""

    at: datetime
    offset_before: timedelta
    offset_after: timedelta


def _clean(text: str) -> str | None:
    """The text without surrounding quotes and with single spaces, or None if too long."""
    if len(text) > 4 * _MAX_INPUT:
        return None
    cleaned = " ".join(text.strip().strip(_QUOTES).split())
    return cleaned if len(cleaned) <= _MAX_INPUT else None


def _zone_name(tz: tzinfo) -> str:
    return getattr(tz, "key", None) or str(tz)


def _offset_text(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_local(dt: datetime, tz: ZoneInfo) -> str:
    """``2026-12-02 22:00 CET``: an instant as the config zone's wall clock shows it."""
    _require_aware(dt)
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def to_slack_date(dt: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """A Slack date token: each reader sees the instant in their own zone; clients that cannot
    render it show the UTC fallback."""
    _require_aware(dt)
    utc = dt.astimezone(UTC)
    return f"<!date^{int(utc.timestamp())}^{fmt}|{utc:%Y-%m-%d %H:%M} UTC>"


def _require_aware(dt: datetime) -> None:
    # A naive datetime would silently take the host's zone: a hidden dependency on the machine.
    if dt.utcoffset() is None:
        raise ValueError(f"{dt!r} has no time zone; pass an aware datetime")


def _offset_at(instant: datetime, tz: tzinfo) -> timedelta:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None  # an aware conversion always has an offset
    return offset


def dst_transitions(start: datetime, end: datetime, tz: ZoneInfo) -> list[DstChange]:
    """Every change of ``tz``'s UTC offset at an instant ``t`` with ``start < t < end``.

    A change exactly at ``start`` or ``end`` does not change the clock *during* the window, so
    it is left out. The zone is probed hourly and each change is pinned down by bisection.
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    changes: list[DstChange] = []
    cursor, offset = start, _offset_at(start, tz)
    while cursor < end:
        probe = min(cursor + _SCAN_STEP, end)
        if _offset_at(probe, tz) == offset:
            cursor = probe
            continue
        at = _bisect_change(cursor, probe, offset, tz)
        after = _offset_at(at, tz)
        if at < end:
            changes.append(DstChange(at=at, offset_before=offset, offset_after=after))
        cursor, offset = at, after
    return changes


def _bisect_change(lo: datetime, hi: datetime, offset: timedelta, tz: tzinfo) -> datetime:
    """The first instant in ``(lo, hi]`` whose offset differs from ``offset`` (at ``lo``)."""
    while hi - lo > _TICK:
        mid = lo + (hi - lo) // 2
        lo, hi = (mid, hi) if _offset_at(mid, tz) == offset else (lo, mid)
    return hi


def describe(change: DstChange, tz: ZoneInfo) -> str:
    """What a clock change inside a window means to the person running it."""
    wall = (change.at - _TICK).astimezone(tz).replace(tzinfo=None) + _TICK
    shift = change.offset_after - change.offset_before
    amount = "one hour" if abs(shift) == timedelta(hours=1) else format_duration(abs(shift))
    way, effect = ("forward", "shorter") if shift > timedelta(0) else ("back", "longer")
    return (
        f"clocks go {way} {amount} at {wall:%H:%M} local ({wall:%Y-%m-%d}); "
        f"the window is {format_duration(abs(shift))} {effect} than its wall-clock times suggest"
    )


def _change_around(a: datetime, b: datetime, tz: ZoneInfo) -> DstChange:
    """The offset change that lies between two readings of the same wall-clock time."""
    lo, hi = min(a, b), max(a, b)
    return dst_transitions(lo, hi + _TICK, tz)[0]


def localize(naive: datetime, tz: ZoneInfo, *, text: str | None = None) -> LocalStart:
    """A wall-clock time in ``tz`` as an instant.

    A time that the clocks skip raises :class:`InvalidTime`; a time they show twice takes the
    first occurrence and says, in a warning, how to write the second one.
    """
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    at, at_second = first.astimezone(UTC), second.astimezone(UTC)
    if at == at_second:
        return LocalStart(at=at, local=at.astimezone(tz))
    change = _change_around(at, at_second, tz)
    before = (change.at + change.offset_before).replace(tzinfo=None)
    after = (change.at + change.offset_after).replace(tzinfo=None)
    if at.astimezone(tz).replace(tzinfo=None) != naive:
        reason = (
            f"does not exist in {_zone_name(tz)}: clocks jump from {before:%H:%M} "
            f"to {after:%H:%M} that night"
        )
        raise InvalidTime(text or f"{naive:%Y-%m-%d %H:%M}", reason=reason)
    local = at.astimezone(tz)
    warning = (
        f"{naive:%Y-%m-%d %H:%M} happens twice in {_zone_name(tz)} (clocks go back from "
        f"{before:%H:%M} to {after:%H:%M}); I took the first one, {local:%H:%M %Z} "
        f"(UTC{_offset_text(change.offset_before)}). For the second one, write "
        f"`{naive:%Y-%m-%dT%H:%M}{_offset_text(change.offset_after)}`."
    )
    return LocalStart(at=at, local=local, warnings=[warning])


def parse_start(text: str, *, now: datetime, tz: ZoneInfo) -> LocalStart:
    """Read a window start as people type it in Slack.

    Accepted: ``2026-12-02T22:00``, ``2026-12-02 22:00[:00]``, either with ``Z``, ``UTC`` or
    an offset like ``+01:00`` (then ``tz`` is not used to read it), ``today 22:00``,
    ``tomorrow 9:30`` and weekday names (``friday 22:00``, ``fri 22:00``: the first such day
    whose time is still ahead of ``now``, so possibly today). Case and surrounding quotes do
    not matter. "Today" and "tomorrow" are calendar days in ``tz``. A start in the past is not
    refused here; :func:`validate_window` does that.
    """
    cleaned = _clean(text)
    if cleaned is None:
        raise InvalidTime(text)
    try:
        if iso := _ISO.fullmatch(cleaned.lower()):
            return _from_iso(iso, cleaned, tz)
        if rel := _RELATIVE.fullmatch(cleaned.lower()):
            return _from_relative(rel, cleaned, now, tz)
    except (ValueError, OverflowError):
        raise InvalidTime(cleaned) from None
    raise InvalidTime(cleaned)


def _from_iso(match: re.Match[str], text: str, tz: ZoneInfo) -> LocalStart:
    year, month, day, hour, minute = (int(g) for g in match.groups()[:5])
    naive = datetime(year, month, day, hour, minute, int(match[6] or 0))
    if match[7] is None:
        return localize(naive, tz, text=text)
    at = naive.replace(tzinfo=_fixed_zone(match[7])).astimezone(UTC)
    return LocalStart(at=at, local=at.astimezone(tz))


def _fixed_zone(text: str) -> tzinfo:
    if text in ("z", "utc"):
        return UTC
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if minutes >= 60:
        raise ValueError(f"offset minutes out of range: {text}")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if text[0] == "-" else offset)


def _from_relative(match: re.Match[str], text: str, now: datetime, tz: ZoneInfo) -> LocalStart:
    word, clock = match[1], time(int(match[2]), int(match[3]))
    local_now = now.astimezone(tz)
    if word == "today":
        ahead = 0
    elif word == "tomorrow":
        ahead = 1
    elif word in _DAY_WORDS:
        ahead = (_DAY_WORDS[word] - local_now.weekday()) % 7
        if ahead == 0 and clock <= local_now.time():
            ahead = 7  # that weekday is today, but its time has gone: next week
    else:
        raise InvalidTime(text)
    day = local_now.date() + timedelta(days=ahead)
    return localize(datetime.combine(day, clock), tz, text=f"{text} ({day:%Y-%m-%d})")


def parse_length(text: str) -> timedelta:
    """Read a window length in the one duration grammar (bot/domain/durations.py): ``4h``,
    ``90m``, ``1h30``, ``1h30m``, ``1.5h``, ``2d``.

    The length is elapsed time, not wall-clock time, rounded to the minute. Unreadable, zero,
    negative and over 72 h are refused with :class:`InvalidLength`.
    """
    cleaned = _clean(text) or ""
    try:
        read = parse_duration(cleaned)
    except InvalidDuration:
        raise InvalidLength(text) from None
    length = timedelta(minutes=round(read / timedelta(minutes=1)))
    if not timedelta(0) < length <= MAX_LENGTH:
        raise InvalidLength(cleaned)
    return length


def _overlaps(start: datetime, end: datetime, other_start: datetime, other_end: datetime) -> bool:
    return other_start < end and start < other_end


def _rivals(system: str, windows: Sequence[Window], ignore_id: int | None) -> list[Window]:
    """The windows a new window of ``system`` may not overlap: open ones of the same system."""
    return [w for w in windows if w.system == system and w.state.is_open and w.id != ignore_id]


def next_free_starts(
    *,
    system: str,
    length: timedelta,
    after: datetime,
    windows: Sequence[Window],
    blackouts: Sequence[Blackout],
    count: int = 3,
    step: timedelta = timedelta(minutes=30),
    horizon: timedelta = timedelta(days=60),
) -> list[datetime]:
    """The earliest ``count`` starts at or after ``after`` where a window of ``length`` fits.

    Candidates lie on a grid of ``step`` anchored at ``after`` (rounded up to the minute), so
    a requested 22:15 yields 22:15, 22:45, ...; no start is later than ``after + horizon``.
    A candidate that collides jumps to the end of what it collides with, so the work grows
    with the number of windows and blackouts, not with the horizon. Returned in UTC.
    """
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    anchor = _ceil_minute(after.astimezone(UTC))
    busy = [(w.start, w.end) for w in _rivals(system, windows, None)]
    busy += [(b.start, b.end) for b in blackouts]
    starts: list[datetime] = []
    candidate, last = anchor, anchor + horizon
    while len(starts) < count and candidate <= last:
        clash_ends = [e for s, e in busy if _overlaps(candidate, candidate + length, s, e)]
        if clash_ends:
            candidate = _ceil_grid(max(clash_ends), anchor, step)
        else:
            starts.append(candidate)
            candidate += step
    return starts


def _ceil_minute(instant: datetime) -> datetime:
    floor = instant.replace(second=0, microsecond=0)
    return floor if floor == instant else floor + timedelta(minutes=1)


def _ceil_grid(instant: datetime, anchor: datetime, step: timedelta) -> datetime:
    return anchor + step * -((anchor - instant) // step)


def validate_window(
    *,
    system: str,
    start: datetime,
    end: datetime,
    now: datetime,
    tz: ZoneInfo,
    windows: Sequence[Window],
    blackouts: Sequence[Blackout],
    ignore_window_id: int | None = None,
) -> list[str]:
    """Check a proposed window ``[start, end)``; return warnings or raise the first problem.

    Order: a start not after ``now`` (:class:`StartInPast`), a length not in (0, 72 h]
    (:class:`InvalidLength`), any overlap with a blackout (:class:`InBlackout`; policy comes
    before scheduling, since moving another window cannot clear it), then an overlap with an
    open window of the same system (:class:`WindowConflict`). ``ignore_window_id`` is the
    window being rescheduled. Times in errors are in ``tz``; warnings name clock changes.
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start <= now:
        raise StartInPast(start.astimezone(tz))
    if not timedelta(0) < end - start <= MAX_LENGTH:
        raise InvalidLength(format_duration(end - start))
    rivals = _rivals(system, windows, ignore_window_id)

    def suggest() -> list[datetime]:
        found = next_free_starts(
            system=system, length=end - start, after=start, windows=rivals, blackouts=blackouts
        )
        return [s.astimezone(tz) for s in found]

    hit = sorted((b for b in blackouts if _overlaps(start, end, b.start, b.end)), key=_by_start)
    if hit:
        b = hit[0]
        raise InBlackout(b.name, b.start.astimezone(tz), b.end.astimezone(tz), suggest())
    clash = sorted((w for w in rivals if _overlaps(start, end, w.start, w.end)), key=_by_start)
    if clash:
        w = clash[0]
        raise WindowConflict(w.id, w.start.astimezone(tz), w.end.astimezone(tz), suggest())
    return [describe(change, tz) for change in dst_transitions(start, end, tz)]


def _by_start(item: Window | Blackout) -> datetime:
    return item.start
