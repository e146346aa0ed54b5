"""Reading starts and lengths, DST, conflicts and blackouts. Fixed instants only; no clock."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.durations import format_duration
from bot.domain.errors import InBlackout, InvalidLength, InvalidTime, StartInPast, WindowConflict
from bot.domain.models import Blackout, Window, WindowState
from bot.domain.windows import (
    DstChange,
    LocalStart,
    describe,
    dst_transitions,
    format_local,
    localize,
    next_free_starts,
    parse_length,
    parse_start,
    to_slack_date,
    validate_window,
)

BRUSSELS = ZoneInfo("Europe/Brussels")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # half-hour DST
NOW = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)  # Friday 11:00 CET
H = timedelta(hours=1)
M = timedelta(minutes=1)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def window(
    id_: int,
    start: datetime,
    end: datetime,
    *,
    system: str = "lab",
    state: WindowState = WindowState.PROPOSED,
) -> Window:
    return Window(
        id=id_,
        system=system,
        target="10.5",
        start=start,
        end=end,
        state=state,
        proposer="U0OLGA",
        created_at=utc(2026, 1, 1),
    )


FREEZE = Blackout(name="Year-end freeze", start=utc(2026, 12, 19, 23), end=utc(2027, 1, 3, 23))


# --- parse_start ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tz", "at"),
    [
        ("2026-12-02T22:00", BRUSSELS, utc(2026, 12, 2, 21)),
        ("2026-12-02 22:00", BRUSSELS, utc(2026, 12, 2, 21)),
        ("2026-12-02T22:00:00", BRUSSELS, utc(2026, 12, 2, 21)),
        ("2026-12-02T22:00:30", BRUSSELS, utc(2026, 12, 2, 21, 0, 30)),
        ("2026-7-2 9:05", BRUSSELS, utc(2026, 7, 2, 7, 5)),
        ('"2026-12-02 22:00"', BRUSSELS, utc(2026, 12, 2, 21)),
        ("'2026-12-02 22:00'", BRUSSELS, utc(2026, 12, 2, 21)),
        ("“2026-12-02 22:00”", BRUSSELS, utc(2026, 12, 2, 21)),
        ("  `2026-12-02   22:00`  ", BRUSSELS, utc(2026, 12, 2, 21)),
        ("2026-12-02T22:00" + " " * 70, BRUSSELS, utc(2026, 12, 2, 21)),
        ("2026-12-02\u00a022:00", BRUSSELS, utc(2026, 12, 2, 21)),  # Slack's no-break space
        ("2026-12-02T22:00", NEW_YORK, utc(2026, 12, 3, 3)),
        ("2026-07-02T22:00", NEW_YORK, utc(2026, 7, 3, 2)),
        # an explicit offset or Z wins over the config zone
        ("2026-12-02T22:00+01:00", NEW_YORK, utc(2026, 12, 2, 21)),
        ("2026-12-02T22:00+0530", BRUSSELS, utc(2026, 12, 2, 16, 30)),
        ("2026-12-02T22:00-05", BRUSSELS, utc(2026, 12, 3, 3)),
        ("2026-12-02 22:00 +01:00", BRUSSELS, utc(2026, 12, 2, 21)),
        ("2026-12-02T22:00Z", BRUSSELS, utc(2026, 12, 2, 22)),
        ("2026-12-02t22:00z", BRUSSELS, utc(2026, 12, 2, 22)),
        ("2026-12-02 22:00 UTC", NEW_YORK, utc(2026, 12, 2, 22)),
        # relative forms; NOW is Friday 2026-03-06 11:00 in Brussels, 05:00 in New York
        ("today 22:00", BRUSSELS, utc(2026, 3, 6, 21)),
        ("TODAY 22:00", BRUSSELS, utc(2026, 3, 6, 21)),
        ("tomorrow 22:00", BRUSSELS, utc(2026, 3, 7, 21)),
        ("Tomorrow 9:30", BRUSSELS, utc(2026, 3, 7, 8, 30)),
        ("tomorrow at 09:30", BRUSSELS, utc(2026, 3, 7, 8, 30)),
        ('"tomorrow 22:00"', NEW_YORK, utc(2026, 3, 8, 3)),
        ("monday 22:00", BRUSSELS, utc(2026, 3, 9, 21)),
        ("Mon 22:00", BRUSSELS, utc(2026, 3, 9, 21)),
        ("thurs 6:00", BRUSSELS, utc(2026, 3, 12, 5)),
        ("friday 22:00", BRUSSELS, utc(2026, 3, 6, 21)),  # today, still ahead
        ("fri 09:00", BRUSSELS, utc(2026, 3, 13, 8)),  # today's 09:00 has gone: next week
        ("friday 11:00", BRUSSELS, utc(2026, 3, 13, 10)),  # exactly now is not ahead
    ],
)
def test_parse_start_reads_every_form(text: str, tz: ZoneInfo, at: datetime) -> None:
    start = parse_start(text, now=NOW, tz=tz)
    assert start.at == at
    assert start.at.tzinfo is UTC
    assert start.local == at
    assert start.local.tzinfo is tz
    assert start.warnings == []


def test_an_explicit_offset_is_shown_back_in_the_config_zone() -> None:
    start = parse_start("2026-07-01T22:00Z", now=NOW, tz=BRUSSELS)
    assert format_local(start.local, BRUSSELS) == "2026-07-02 00:00 CEST"


@pytest.mark.parametrize(
    ("now", "text", "tz", "at"),
    [
        # Saturday before the spring change: tomorrow 22:00 is already CEST (+2)
        (utc(2026, 3, 28, 12), "tomorrow 22:00", BRUSSELS, utc(2026, 3, 29, 20)),
        # Saturday before the autumn change: tomorrow 22:00 is CET (+1)
        (utc(2026, 10, 24, 12), "tomorrow 22:00", BRUSSELS, utc(2026, 10, 25, 21)),
        (utc(2026, 3, 7, 17), "tomorrow 22:00", NEW_YORK, utc(2026, 3, 9, 2)),
        (utc(2026, 10, 31, 17), "tomorrow 22:00", NEW_YORK, utc(2026, 11, 2, 3)),
        # 23:30 UTC is already the next day in Brussels: today and tomorrow follow the zone
        (utc(2026, 3, 28, 23, 30), "today 22:00", BRUSSELS, utc(2026, 3, 29, 20)),
        (utc(2026, 3, 28, 23, 30), "tomorrow 22:00", BRUSSELS, utc(2026, 3, 30, 20)),
        # 03:00 UTC is still the previous evening in New York
        (utc(2026, 3, 8, 3), "today 23:00", NEW_YORK, utc(2026, 3, 8, 4)),
    ],
)
def test_today_and_tomorrow_are_calendar_days_in_the_zone_across_dst(
    now: datetime, text: str, tz: ZoneInfo, at: datetime
) -> None:
    assert parse_start(text, now=now, tz=tz).at == at


@pytest.mark.parametrize(
    ("text", "tz", "now", "jump"),
    [
        ("2027-03-28 02:30", BRUSSELS, NOW, "from 02:00 to 03:00"),
        ("2026-03-29T02:00", BRUSSELS, NOW, "from 02:00 to 03:00"),
        ("2026-03-29 02:59", BRUSSELS, NOW, "from 02:00 to 03:00"),
        ("2026-03-08 02:30", NEW_YORK, NOW, "from 02:00 to 03:00"),
        ("tomorrow 02:30", BRUSSELS, utc(2026, 3, 28, 12), "from 02:00 to 03:00"),
        ("sunday 2:15", NEW_YORK, NOW, "from 02:00 to 03:00"),
    ],
)
def test_a_skipped_local_time_is_refused_with_the_jump(
    text: str, tz: ZoneInfo, now: datetime, jump: str
) -> None:
    with pytest.raises(InvalidTime) as caught:
        parse_start(text, now=now, tz=tz)
    assert f"does not exist in {tz.key}: clocks jump {jump} that night" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("2027-03-28T02:30", "`2027-03-28T02:30` does not exist"),  # as typed, not lowercased
        ("Tomorrow 02:30", "`Tomorrow 02:30 (2026-03-29)` does not exist"),  # with its date
    ],
)
def test_a_skipped_time_is_quoted_as_typed(text: str, shown: str) -> None:
    with pytest.raises(InvalidTime, match=re.escape(shown)):
        parse_start(text, now=utc(2026, 3, 28, 12), tz=BRUSSELS)


@pytest.mark.parametrize(
    ("text", "tz", "first", "second"),
    [
        ("2026-10-25 02:30", BRUSSELS, utc(2026, 10, 25, 0, 30), "`2026-10-25T02:30+01:00`"),
        ("2026-10-25T02:00", BRUSSELS, utc(2026, 10, 25, 0, 0), "`2026-10-25T02:00+01:00`"),
        ("2026-11-01 01:30", NEW_YORK, utc(2026, 11, 1, 5, 30), "`2026-11-01T01:30-05:00`"),
    ],
)
def test_a_repeated_local_time_takes_the_first_and_says_how_to_write_the_second(
    text: str, tz: ZoneInfo, first: datetime, second: str
) -> None:
    start = parse_start(text, now=NOW, tz=tz)
    assert start.at == first
    [warning] = start.warnings
    assert "happens twice" in warning
    assert "I took the first one" in warning
    assert second in warning
    # and the written-out second one is one hour later, with no warning
    other = parse_start(second.strip("`"), now=NOW, tz=tz)
    assert other.at == first + H
    assert other.warnings == []


def test_the_repeated_hour_warning_names_both_offsets() -> None:
    [warning] = parse_start("2026-11-01 01:30", now=NOW, tz=NEW_YORK).warnings
    assert warning == (
        "2026-11-01 01:30 happens twice in America/New_York (clocks go back from 02:00 to "
        "01:00); I took the first one, 01:30 EDT (UTC-04:00). For the second one, write "
        "`2026-11-01T01:30-05:00`."
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        '""',
        "soon",
        "2026-12-02",
        "22:00",
        "2026-12-02T25:00",
        "2026-12-02T22:60",
        "2026-13-02T22:00",
        "2026-02-30 22:00",
        "0000-01-01 00:00",
        "9999-12-31T23:59-01:00",
        "2026-12-02T22:00+25:00",
        "2026-12-02T22:00+01:75",
        "2026-12-02T22:00 CET",
        "funday 22:00",
        "tomorrow",
        "tomorrow 24:00",
        "next monday 22:00",
        "2026-12-02 22:00 " * 5,  # short enough to read, too long once cleaned
        "x" * 5000,
        "2026-12-02 22:00 " * 300,
        "1" * 5000 + ":00",
    ],
)
def test_unreadable_starts_are_refused(text: str) -> None:
    with pytest.raises(InvalidTime) as caught:
        parse_start(text, now=NOW, tz=BRUSSELS)
    assert caught.value.field == "start"
    assert len(caught.value.message) < 200


def test_localize_without_text_names_the_wall_time() -> None:
    with pytest.raises(InvalidTime, match="`2026-03-29 02:30` does not exist"):
        localize(datetime(2026, 3, 29, 2, 30), BRUSSELS)
    assert localize(datetime(2026, 12, 2, 22), BRUSSELS) == LocalStart(
        at=utc(2026, 12, 2, 21), local=datetime(2026, 12, 2, 22, tzinfo=BRUSSELS)
    )


# --- parse_length --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("4h", 4 * H),
        ("90m", 90 * M),
        ("1h30m", 90 * M),
        ("2h 15m", 135 * M),
        ("1.5h", 90 * M),
        ("1,5h", 90 * M),
        ("0.25h", 15 * M),
        ("1.33h", 80 * M),  # rounded to the minute
        ("1h30", 90 * M),
        ("4H", 4 * H),
        ("2 hours", 2 * H),
        ("1 hr 20 min", 80 * M),
        ("45 minutes", 45 * M),
        ('"3h"', 3 * H),
        ("72h", 72 * H),
        ("71h60m", 72 * H),
        ("1m", M),
        ("2d", 48 * H),
    ],
)
def test_parse_length_reads_every_form(text: str, length: timedelta) -> None:
    assert parse_length(text) == length


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0h",
        "0m",
        "0h 0m",
        "0.00h",
        "-4h",
        "4",
        "90",
        "72h1m",
        "73h",
        "999h",
        "h",
        "4d",
        "x" * 5000,
    ],
)
def test_unusable_lengths_are_refused(text: str) -> None:
    with pytest.raises(InvalidLength) as caught:
        parse_length(text)
    assert caught.value.field == "length"


@pytest.mark.parametrize(
    ("length", "text"),
    [(4 * H, "4h"), (90 * M, "1h30m"), (45 * M, "45m"), (-2 * H, "-2h"), (timedelta(0), "0m")],
)
def test_format_length_writes_lengths_as_people_type_them(length: timedelta, text: str) -> None:
    assert format_duration(length) == text
    if length > timedelta(0):
        assert parse_length(text) == length


# --- DST inside a window -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "tz", "expected"),
    [
        (utc(2026, 3, 28, 22), utc(2026, 3, 29, 4), BRUSSELS, [(utc(2026, 3, 29, 1), 1, 2)]),
        (utc(2026, 10, 24, 22), utc(2026, 10, 25, 4), BRUSSELS, [(utc(2026, 10, 25, 1), 2, 1)]),
        (utc(2026, 3, 8, 4), utc(2026, 3, 8, 10), NEW_YORK, [(utc(2026, 3, 8, 7), -5, -4)]),
        (utc(2026, 11, 1, 4), utc(2026, 11, 1, 10), NEW_YORK, [(utc(2026, 11, 1, 6), -4, -5)]),
        # a window that crosses no change
        (utc(2026, 12, 2, 21), utc(2026, 12, 3, 1), BRUSSELS, []),
        (utc(2026, 7, 1), utc(2026, 7, 4), NEW_YORK, []),
        # a change exactly at an edge does not move the clock during the window
        (utc(2026, 3, 29, 1), utc(2026, 3, 29, 4), BRUSSELS, []),
        (utc(2026, 3, 28, 22), utc(2026, 3, 29, 1), BRUSSELS, []),
        # a window one microsecond past the change does contain it
        (
            utc(2026, 3, 28, 22),
            utc(2026, 3, 29, 1, 0, 0, 1),
            BRUSSELS,
            [(utc(2026, 3, 29, 1), 1, 2)],
        ),
        (utc(2026, 3, 29, 4), utc(2026, 3, 29, 1), BRUSSELS, []),  # empty interval
        # a long span finds both changes of the year, in order
        (
            utc(2026, 1, 1),
            utc(2026, 12, 31),
            BRUSSELS,
            [(utc(2026, 3, 29, 1), 1, 2), (utc(2026, 10, 25, 1), 2, 1)],
        ),
    ],
)
def test_dst_transitions_finds_every_offset_change_inside_the_window(
    start: datetime, end: datetime, tz: ZoneInfo, expected: list[tuple[datetime, int, int]]
) -> None:
    assert dst_transitions(start, end, tz) == [
        DstChange(at=at, offset_before=before * H, offset_after=after * H)
        for at, before, after in expected
    ]


def test_dst_transitions_accepts_bounds_in_any_zone() -> None:
    start = datetime(2026, 10, 25, 1, 0, tzinfo=BRUSSELS)
    [change] = dst_transitions(start, start + 4 * H, BRUSSELS)
    assert change.at == utc(2026, 10, 25, 1)
    assert change.at.tzinfo is UTC


@pytest.mark.parametrize(
    ("change", "tz", "text"),
    [
        (
            DstChange(at=utc(2026, 10, 25, 1), offset_before=2 * H, offset_after=H),
            BRUSSELS,
            "clocks go back one hour at 03:00 local (2026-10-25); "
            "the window is 1h longer than its wall-clock times suggest",
        ),
        (
            DstChange(at=utc(2026, 3, 29, 1), offset_before=H, offset_after=2 * H),
            BRUSSELS,
            "clocks go forward one hour at 02:00 local (2026-03-29); "
            "the window is 1h shorter than its wall-clock times suggest",
        ),
        (
            DstChange(at=utc(2026, 3, 8, 7), offset_before=-5 * H, offset_after=-4 * H),
            NEW_YORK,
            "clocks go forward one hour at 02:00 local (2026-03-08); "
            "the window is 1h shorter than its wall-clock times suggest",
        ),
    ],
)
def test_describe_says_what_a_clock_change_means(
    change: DstChange, tz: ZoneInfo, text: str
) -> None:
    assert describe(change, tz) == text


def test_describe_handles_a_half_hour_change() -> None:
    # Lord Howe Island goes back 30 minutes at 02:00 local on the first Sunday of April
    [change] = dst_transitions(utc(2026, 4, 4, 12), utc(2026, 4, 4, 18), LORD_HOWE)
    assert change.offset_before - change.offset_after == 30 * M
    assert describe(change, LORD_HOWE) == (
        "clocks go back 30m at 02:00 local (2026-04-05); "
        "the window is 30m longer than its wall-clock times suggest"
    )


# --- formatting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dt", "tz", "text"),
    [
        (utc(2026, 12, 2, 21), BRUSSELS, "2026-12-02 22:00 CET"),
        (utc(2026, 7, 2, 20), BRUSSELS, "2026-07-02 22:00 CEST"),
        (utc(2026, 12, 3, 3), NEW_YORK, "2026-12-02 22:00 EST"),
        (datetime(2026, 12, 2, 22, tzinfo=BRUSSELS), NEW_YORK, "2026-12-02 16:00 EST"),
    ],
)
def test_format_local_shows_the_zone_abbreviation(dt: datetime, tz: ZoneInfo, text: str) -> None:
    assert format_local(dt, tz) == text


def test_to_slack_date_carries_the_instant_and_a_utc_fallback() -> None:
    dt = datetime(2026, 12, 2, 22, tzinfo=BRUSSELS)
    assert to_slack_date(dt) == (
        f"<!date^{int(utc(2026, 12, 2, 21).timestamp())}^{{date_short_pretty}} {{time}}"
        "|2026-12-02 21:00 UTC>"
    )
    assert to_slack_date(utc(2026, 12, 2, 21), "{time}") == (
        "<!date^1796245200^{time}|2026-12-02 21:00 UTC>"
    )


@pytest.mark.parametrize("call", [to_slack_date, lambda dt: format_local(dt, BRUSSELS)])
def test_formatting_refuses_naive_datetimes(call: Callable[[datetime], str]) -> None:
    with pytest.raises(ValueError, match="no time zone"):
        call(datetime(2026, 12, 2, 22))


# --- validate_window -----------------------------------------------------------------------

OTHER = window(7, utc(2026, 12, 2, 21), utc(2026, 12, 3, 1))  # 22:00–02:00 CET


def check(
    start: datetime,
    end: datetime,
    *,
    windows: list[Window] | None = None,
    blackouts: list[Blackout] | None = None,
    system: str = "lab",
    tz: ZoneInfo = BRUSSELS,
    ignore_window_id: int | None = None,
) -> list[str]:
    return validate_window(
        system=system,
        start=start,
        end=end,
        now=NOW,
        tz=tz,
        windows=[OTHER] if windows is None else windows,
        blackouts=[FREEZE] if blackouts is None else blackouts,
        ignore_window_id=ignore_window_id,
    )


def test_a_free_window_passes_without_warnings() -> None:
    assert check(utc(2026, 12, 3, 2), utc(2026, 12, 3, 6)) == []


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (utc(2026, 12, 3, 1), utc(2026, 12, 3, 5)),  # starts as the other ends
        (utc(2026, 12, 2, 17), utc(2026, 12, 2, 21)),  # ends as the other starts
        (utc(2026, 12, 19, 19), utc(2026, 12, 19, 23)),  # ends as the blackout starts
        (utc(2027, 1, 3, 23), utc(2027, 1, 4, 3)),  # starts as the blackout ends
    ],
)
def test_back_to_back_windows_are_allowed(start: datetime, end: datetime) -> None:
    assert check(start, end) == []


@pytest.mark.parametrize(
    "other",
    [
        window(7, OTHER.start, OTHER.end, system="prod"),
        window(7, OTHER.start, OTHER.end, state=WindowState.CANCELLED),
        window(7, OTHER.start, OTHER.end, state=WindowState.DONE),
        window(7, OTHER.start, OTHER.end, state=WindowState.FAILED),
        window(7, OTHER.start, OTHER.end, state=WindowState.REJECTED),
        window(7, OTHER.start, OTHER.end, state=WindowState.EXPIRED),
    ],
)
def test_windows_of_other_systems_and_finished_windows_do_not_conflict(other: Window) -> None:
    assert check(utc(2026, 12, 2, 22), utc(2026, 12, 3, 2), windows=[other]) == []


@pytest.mark.parametrize("state", [s for s in WindowState if s.is_open])
@pytest.mark.parametrize(
    ("start", "end"),
    [
        (utc(2026, 12, 2, 22), utc(2026, 12, 3, 2)),  # overlaps the end
        (utc(2026, 12, 2, 20), utc(2026, 12, 2, 22)),  # overlaps the start
        (utc(2026, 12, 2, 22), utc(2026, 12, 2, 23)),  # inside
        (utc(2026, 12, 2, 20), utc(2026, 12, 3, 2)),  # around
        (OTHER.start, OTHER.end),  # the same
    ],
)
def test_an_overlap_with_an_open_window_of_the_same_system_conflicts(
    state: WindowState, start: datetime, end: datetime
) -> None:
    other = window(7, OTHER.start, OTHER.end, state=state)
    with pytest.raises(WindowConflict) as caught:
        check(start, end, windows=[other])
    assert caught.value.other_id == 7
    assert caught.value.other_start.tzinfo is BRUSSELS


def test_a_conflict_names_the_window_in_the_config_zone_and_suggests_free_starts() -> None:
    later = window(8, utc(2026, 12, 3, 2), utc(2026, 12, 3, 3))  # 03:00–04:00 CET
    with pytest.raises(WindowConflict) as caught:
        check(utc(2026, 12, 2, 22), utc(2026, 12, 3, 0), windows=[later, OTHER])  # 23:00–01:00
    error = caught.value
    assert "#7" in str(error)
    assert "(2026-12-02 22:00–2026-12-03 02:00 CET)" in str(error)
    # 2 h fit from 04:00 local, after #7 and #8; the requested minute (:00) is kept
    assert [f"{s:%Y-%m-%d %H:%M %Z}" for s in error.suggestions] == [
        "2026-12-03 04:00 CET",
        "2026-12-03 04:30 CET",
        "2026-12-03 05:00 CET",
    ]
    assert error.hint == "Next free starts: 2026-12-03 04:00, 2026-12-03 04:30, 2026-12-03 05:00."


def test_a_conflict_in_new_york_is_shown_in_new_york_time() -> None:
    with pytest.raises(WindowConflict, match=r"#7 \(2026-12-02 16:00–2026-12-02 20:00 EST\)"):
        check(utc(2026, 12, 2, 22), utc(2026, 12, 3, 2), tz=NEW_YORK)


def test_a_window_being_rescheduled_does_not_conflict_with_itself() -> None:
    assert check(OTHER.start + H, OTHER.end + H, ignore_window_id=7) == []
    with pytest.raises(WindowConflict):
        check(OTHER.start + H, OTHER.end + H, ignore_window_id=8)


def test_the_rescheduled_window_is_left_out_of_the_suggestions_too() -> None:
    blocker = window(8, utc(2026, 12, 2, 21), utc(2026, 12, 2, 23))
    with pytest.raises(WindowConflict) as caught:
        check(
            utc(2026, 12, 2, 22), utc(2026, 12, 3, 0), windows=[OTHER, blocker], ignore_window_id=7
        )
    assert caught.value.other_id == 8
    assert caught.value.suggestions[0] == utc(2026, 12, 2, 23)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (utc(2026, 12, 19, 21), utc(2026, 12, 20, 1)),  # runs into the freeze
        (utc(2027, 1, 3, 21), utc(2027, 1, 4, 1)),  # runs out of the freeze
        (utc(2026, 12, 24, 21), utc(2026, 12, 25, 1)),  # wholly inside
        (utc(2026, 12, 18), utc(2026, 12, 21)),  # contains the freeze start
    ],
)
def test_any_overlap_with_a_blackout_is_refused(start: datetime, end: datetime) -> None:
    with pytest.raises(InBlackout) as caught:
        check(start, end, windows=[])
    error = caught.value
    assert error.name == "Year-end freeze"
    assert "“Year-end freeze” (2026-12-20 00:00–2027-01-04 00:00 CET)" in str(error)
    assert error.suggestions[0] == datetime(2027, 1, 4, 0, tzinfo=BRUSSELS) + (start.minute * M)


def test_a_blackout_containing_a_window_wholly_is_refused_with_suggestions_after_it() -> None:
    short = Blackout(name="Audit", start=utc(2026, 12, 2), end=utc(2026, 12, 2, 6))
    with pytest.raises(InBlackout) as caught:
        check(utc(2026, 12, 1, 23), utc(2026, 12, 2, 8), blackouts=[short, FREEZE], windows=[])
    assert "“Audit” (2026-12-02 01:00–2026-12-02 07:00 CET)" in str(caught.value)
    assert [s.astimezone(UTC) for s in caught.value.suggestions] == [
        utc(2026, 12, 2, 6),
        utc(2026, 12, 2, 6, 30),
        utc(2026, 12, 2, 7),
    ]


def test_the_earliest_blackout_is_named_when_several_overlap() -> None:
    early = Blackout(name="Early", start=utc(2026, 12, 2, 1), end=utc(2026, 12, 2, 2))
    late = Blackout(name="Late", start=utc(2026, 12, 2, 3), end=utc(2026, 12, 2, 4))
    with pytest.raises(InBlackout, match="Early"):
        check(utc(2026, 12, 2), utc(2026, 12, 2, 5), blackouts=[late, early], windows=[])


def test_a_blackout_is_reported_before_a_window_conflict() -> None:
    inside = window(9, utc(2026, 12, 24), utc(2026, 12, 24, 4))
    with pytest.raises(InBlackout):
        check(utc(2026, 12, 24, 1), utc(2026, 12, 24, 3), windows=[inside])


def test_the_earliest_conflicting_window_is_named() -> None:
    first = window(3, utc(2026, 12, 2, 1), utc(2026, 12, 2, 2))
    second = window(4, utc(2026, 12, 2, 3), utc(2026, 12, 2, 4))
    with pytest.raises(WindowConflict, match="#3"):
        check(utc(2026, 12, 2), utc(2026, 12, 2, 5), windows=[second, first])


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (NOW, NOW + H),  # now is not in the future
        (NOW - H, NOW + H),
        (utc(2025, 12, 2, 21), utc(2025, 12, 2, 23)),
    ],
)
def test_a_start_not_after_now_is_refused_first(start: datetime, end: datetime) -> None:
    # even a start that also conflicts or has a bad length reports the past first
    with pytest.raises(StartInPast) as caught:
        check(start, start - H, windows=[window(1, start, end)])
    assert caught.value.start.tzinfo is BRUSSELS


def test_start_in_past_is_shown_in_the_config_zone() -> None:
    with pytest.raises(StartInPast, match="2026-03-06 10:00 CET"):
        check(utc(2026, 3, 6, 9), utc(2026, 3, 6, 12))


@pytest.mark.parametrize(
    ("length", "shown"),
    [(timedelta(0), "`0m`"), (-2 * H, "`-2h`"), (72 * H + M, "`72h01m`"), (100 * H, "`100h`")],
)
def test_an_empty_negative_or_too_long_window_is_refused(length: timedelta, shown: str) -> None:
    start = utc(2026, 6, 1)
    with pytest.raises(InvalidLength, match=shown):
        check(start, start + length, windows=[window(1, start, start + H)])


def test_a_72_hour_window_is_allowed() -> None:
    assert check(utc(2026, 6, 1), utc(2026, 6, 4)) == []


@pytest.mark.parametrize(
    ("start", "end", "tz", "warning"),
    [
        (utc(2026, 10, 24, 22), utc(2026, 10, 25, 4), BRUSSELS, "go back one hour at 03:00"),
        (utc(2026, 3, 28, 22), utc(2026, 3, 29, 4), BRUSSELS, "go forward one hour at 02:00"),
        (utc(2026, 11, 1, 4), utc(2026, 11, 1, 10), NEW_YORK, "go back one hour at 02:00"),
        (utc(2026, 3, 8, 4), utc(2026, 3, 8, 10), NEW_YORK, "go forward one hour at 02:00"),
    ],
)
def test_a_clock_change_inside_the_window_is_a_warning(
    start: datetime, end: datetime, tz: ZoneInfo, warning: str
) -> None:
    [text] = check(start, end, tz=tz)
    assert warning in text


# --- next_free_starts ----------------------------------------------------------------------


def free(
    after: datetime,
    length: timedelta = 2 * H,
    *,
    windows: list[Window] | None = None,
    blackouts: list[Blackout] | None = None,
    **kwargs: Any,
) -> list[datetime]:
    return next_free_starts(
        system="lab",
        length=length,
        after=after,
        windows=windows or [],
        blackouts=blackouts or [],
        **kwargs,
    )


def test_with_nothing_in_the_way_the_requested_start_comes_first() -> None:
    assert free(utc(2026, 12, 2, 21, 15)) == [
        utc(2026, 12, 2, 21, 15),
        utc(2026, 12, 2, 21, 45),
        utc(2026, 12, 2, 22, 15),
    ]


def test_suggestions_skip_windows_and_blackouts_and_keep_the_minute() -> None:
    windows = [
        window(1, utc(2026, 12, 2, 21), utc(2026, 12, 3, 1)),
        window(2, utc(2026, 12, 3, 2), utc(2026, 12, 3, 4)),  # 1 h gap before it: too short
        window(3, utc(2026, 12, 3, 6, 10), utc(2026, 12, 3, 9), state=WindowState.DONE),
        window(4, utc(2026, 12, 3, 6, 10), utc(2026, 12, 3, 9), system="prod"),
    ]
    blackouts = [Blackout(name="Patch", start=utc(2026, 12, 3, 4), end=utc(2026, 12, 3, 5, 50))]
    assert free(utc(2026, 12, 2, 22, 15), windows=windows, blackouts=blackouts) == [
        utc(2026, 12, 3, 6, 15),
        utc(2026, 12, 3, 6, 45),
        utc(2026, 12, 3, 7, 15),
    ]


def test_suggestions_jump_over_a_long_blackout() -> None:
    assert free(utc(2026, 12, 22, 9), blackouts=[FREEZE], count=2) == [
        utc(2027, 1, 3, 23),
        utc(2027, 1, 3, 23, 30),
    ]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"count": 1}, [utc(2026, 12, 2, 21, 0)]),
        ({"count": 0}, []),
        ({"count": 4, "step": H}, [utc(2026, 12, 2, 21) + i * H for i in range(4)]),
        ({"horizon": timedelta(0)}, [utc(2026, 12, 2, 21)]),
    ],
)
def test_count_step_and_horizon_shape_the_answer(
    kwargs: dict[str, Any], expected: list[datetime]
) -> None:
    assert free(utc(2026, 12, 2, 21), **kwargs) == expected


def test_nothing_is_suggested_past_the_horizon() -> None:
    blocked = Blackout(name="Long", start=utc(2026, 1, 1), end=utc(2027, 1, 1))
    assert free(utc(2026, 6, 1), blackouts=[blocked], horizon=timedelta(days=60)) == []
    assert free(utc(2026, 12, 1), blackouts=[blocked], horizon=timedelta(days=31), count=1) == [
        utc(2027, 1, 1)
    ]


def test_a_start_between_minutes_is_rounded_up_to_the_next_minute() -> None:
    after = datetime(2026, 12, 2, 21, 14, 30, 5, tzinfo=UTC)
    assert free(after, count=2) == [utc(2026, 12, 2, 21, 15), utc(2026, 12, 2, 21, 45)]


def test_suggestions_are_in_utc_whatever_zone_after_is_in() -> None:
    [start] = free(datetime(2026, 12, 2, 22, tzinfo=BRUSSELS), count=1)
    assert start == utc(2026, 12, 2, 21)
    assert start.tzinfo is UTC


def test_a_non_positive_step_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="step"):
        free(utc(2026, 12, 2, 21), step=timedelta(0))


# --- property: every suggestion is a valid window ------------------------------------------

BASE = utc(2026, 10, 20)  # the week of the autumn change in Brussels
HYPO_NOW = BASE - H


@st.composite
def schedules(draw: st.DrawFn) -> tuple[list[Window], list[Blackout]]:
    quarter = st.integers(min_value=0, max_value=7 * 96)
    windows = [
        window(
            i,
            BASE + draw(quarter) * 15 * M,
            BASE + draw(quarter) * 15 * M,
            system=draw(st.sampled_from(["lab", "prod"])),
            state=draw(st.sampled_from(list(WindowState))),
        )
        for i in range(draw(st.integers(min_value=0, max_value=12)))
    ]
    windows = [w for w in windows if w.start < w.end]
    blackouts = []
    for i in range(draw(st.integers(min_value=0, max_value=3))):
        start = BASE + draw(quarter) * 15 * M
        blackouts.append(Blackout(name=f"b{i}", start=start, end=start + draw(quarter) * 5 * M))
    return windows, [b for b in blackouts if b.start < b.end]


@settings(max_examples=150, deadline=None, database=None)
@given(
    schedule=schedules(),
    after_minutes=st.integers(min_value=1, max_value=6 * 24 * 60),
    length_minutes=st.integers(min_value=1, max_value=72 * 60),
)
def test_every_suggestion_passes_validation_and_none_earlier_was_free(
    schedule: tuple[list[Window], list[Blackout]], after_minutes: int, length_minutes: int
) -> None:
    windows, blackouts = schedule
    after, length = HYPO_NOW + after_minutes * M, length_minutes * M
    starts = next_free_starts(
        system="lab", length=length, after=after, windows=windows, blackouts=blackouts
    )
    assert len(starts) == 3  # the horizon (60 days) is far beyond the busy week
    assert starts == sorted(set(starts))
    assert starts[0] >= after
    for start in starts:
        validate_window(
            system="lab",
            start=start,
            end=start + length,
            now=HYPO_NOW,
            tz=BRUSSELS,
            windows=windows,
            blackouts=blackouts,
        )
    busy = [(w.start, w.end) for w in windows if w.system == "lab" and w.state.is_open]
    busy += [(b.start, b.end) for b in blackouts]
    grid = [after + i * 30 * M for i in range((starts[-1] - after) // (30 * M) + 1)]
    for candidate in grid:
        clashes = any(s < candidate + length and candidate < e for s, e in busy)
        assert clashes == (candidate not in starts)
