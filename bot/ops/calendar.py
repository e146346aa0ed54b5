"""The windows and blackouts as an iCalendar feed (RFC 5545), for a team calendar to subscribe.

One VEVENT per window (every state: a cancelled, rejected or expired window stays in the feed,
marked ``STATUS:CANCELLED``, so a calendar that had it drops it rather than keeping a ghost) and
one per blackout. Times are written in the config's zone with its VTIMEZONE, so a reader in
another zone sees the right moment across a DST change. ``SEQUENCE`` is the window's revision:
a postponed window replaces the old slot in the subscriber's calendar.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from bot.domain.models import Window, WindowState
from bot.record.build import to_thread_url

PRODID = "-//upgradebot//upgrade windows//EN"
UID_DOMAIN = "upgradebot"

# What a calendar should make of each state: will it happen, might it, or is it off.
_TENTATIVE = frozenset({WindowState.PROPOSED, WindowState.APPROVED})
_CANCELLED = frozenset({WindowState.CANCELLED, WindowState.REJECTED, WindowState.EXPIRED})


def ical_status(state: WindowState) -> str:
    if state in _CANCELLED:
        return "CANCELLED"
    return "TENTATIVE" if state in _TENTATIVE else "CONFIRMED"


def window_uid(window_id: int) -> str:
    return f"window-{window_id}@{UID_DOMAIN}"


def blackout_uid(name: str, start: datetime) -> str:
    digest = hashlib.sha256(f"{name}|{start.isoformat()}".encode()).hexdigest()[:16]
    return f"blackout-{digest}@{UID_DOMAIN}"


def to_calendar(
    windows: Iterable[Window],
    blackouts: Iterable[tuple[str, datetime, datetime]],
    *,
    tz: ZoneInfo,
    now: datetime,
    workspace_url: str | None = None,
) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Upgrade windows")
    calendar.add("x-wr-timezone", str(tz))
    for window in windows:
        calendar.add_component(window_event(window, tz=tz, now=now, workspace_url=workspace_url))
    for name, start, end in blackouts:
        calendar.add_component(blackout_event(name, start, end, tz=tz, now=now))
    calendar.add_missing_timezones()
    return calendar


def to_ical(
    windows: Iterable[Window],
    blackouts: Iterable[tuple[str, datetime, datetime]],
    *,
    tz: ZoneInfo,
    now: datetime,
    workspace_url: str | None = None,
) -> bytes:
    """The feed as the bytes of a ``.ics`` file (CRLF line ends, folded lines)."""
    calendar = to_calendar(windows, blackouts, tz=tz, now=now, workspace_url=workspace_url)
    data: bytes = calendar.to_ical()
    return data


def window_event(
    window: Window, *, tz: ZoneInfo, now: datetime, workspace_url: str | None
) -> Event:
    event = Event()
    event.add("uid", window_uid(window.id))
    event.add("dtstamp", now)
    event.add("dtstart", window.start.astimezone(tz))
    event.add("dtend", window.end.astimezone(tz))
    event.add("sequence", window.revision)
    event.add("summary", f"Upgrade {window.label} {window.system} → {window.target}")
    event.add("status", ical_status(window.state))
    event.add("categories", ["upgrade", window.state.value])
    event.add("x-upgradebot-state", window.state.value)
    event.add("x-upgradebot-system", window.system)
    event.add("x-upgradebot-target", window.target)
    link = to_thread_url(window.channel, window.message_ts, workspace_url)
    lines = [
        f"State: {window.state.value}",
        f"System: {window.system}",
        f"Target: {window.target}",
        f"Proposed by: {window.proposer}",
    ]
    if window.reason:
        lines.append(f"Reason: {window.reason}")
    if link:
        lines.append(f"Thread: {link}")
        event.add("url", link)
    event.add("description", "\n".join(lines))
    return event


def blackout_event(
    name: str, start: datetime, end: datetime, *, tz: ZoneInfo, now: datetime
) -> Event:
    event = Event()
    event.add("uid", blackout_uid(name, start))
    event.add("dtstamp", now)
    event.add("dtstart", start.astimezone(tz))
    event.add("dtend", end.astimezone(tz))
    event.add("summary", f"Blackout: {name}")
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("categories", ["blackout"])
    event.add("description", f"No upgrade window may overlap this blackout ({name}).")
    return event
