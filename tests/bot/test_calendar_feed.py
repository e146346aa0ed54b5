"""The iCalendar feed: written from a real database, parsed back with icalendar event by event,
through the function, the command line and ``GET /calendar.ics`` with its token."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from icalendar import Calendar

from bot.domain.models import WindowState
from bot.ops.calendar import to_ical, window_uid
from bot.runtime import start_http
from bot.sandbox.slack_stub import SlackStub
from storage import create_window, list_windows, open_database, set_message_ref, transition
from tests.fakes.bot import BOT_TOKEN, SECRET, FakeClock, fast, make_context

ROOT = Path(__file__).resolve().parents[2]
BRUSSELS = ZoneInfo("Europe/Brussels")
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
BLACKOUTS = [
    (
        "Year-end freeze",
        datetime(2026, 12, 20, tzinfo=BRUSSELS),
        datetime(2027, 1, 4, tzinfo=BRUSSELS),
    )
]
TOKEN = "cal-7f3a9c1e5b"


def fill(db_path: Path) -> None:
    """Three windows: one planned in winter, one across the night DST starts (28 March 2027,
    02:00 CET -> 03:00 CEST), one cancelled."""
    db = open_database(db_path)
    at = datetime(2026, 11, 1, tzinfo=UTC)
    common = {"proposer": "U0OLGA", "created_at": at, "plan": {}, "channel": "C0OPS"}
    winter = create_window(
        db,
        system="lab",
        target="10.5.0 CU3",
        start=datetime(2027, 1, 12, 21, 0, tzinfo=UTC),
        end=datetime(2027, 1, 13, 1, 0, tzinfo=UTC),
        **common,
    )
    set_message_ref(db, winter.id, channel="C0OPS", ts="1767000000.000100")
    for before, after in (
        (WindowState.PROPOSED, WindowState.APPROVED),
        (WindowState.APPROVED, WindowState.PLANNED),
    ):
        transition(db, winter.id, expected=before, to=after, actor="U0ANNA", action="t", at=at)
    create_window(
        db,
        system="prod",
        target="10.5.0 CU3",
        start=datetime(2027, 3, 28, 0, 30, tzinfo=UTC),  # 01:30 CET
        end=datetime(2027, 3, 28, 2, 30, tzinfo=UTC),  # 04:30 CEST
        **common,
    )
    off = create_window(
        db,
        system="lab",
        target="10.6.4",
        start=datetime(2027, 2, 2, 20, 0, tzinfo=UTC),
        end=datetime(2027, 2, 2, 22, 0, tzinfo=UTC),
        **common,
    )
    transition(
        db,
        off.id,
        expected=WindowState.PROPOSED,
        to=WindowState.CANCELLED,
        actor="U0OLGA",
        action="cancel",
        at=at,
        reason="vendor asked us to wait",
    )
    db.close()


def events(body: bytes) -> dict[str, object]:
    calendar = Calendar.from_ical(body)
    assert calendar["VERSION"] == "2.0"
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_every_window_and_blackout_is_an_event_in_the_config_zone(tmp_path: Path) -> None:
    fill(tmp_path / "feed.db")
    db = open_database(tmp_path / "feed.db")
    body = to_ical(
        list_windows(db),
        BLACKOUTS,
        tz=BRUSSELS,
        now=NOW,
        workspace_url="https://acme.slack.com/",
    )
    db.close()
    calendar = Calendar.from_ical(body)
    zones = [str(z["TZID"]) for z in calendar.walk("VTIMEZONE")]
    assert zones == ["Europe/Brussels"]
    found = events(body)
    assert len(found) == 4

    winter = found[window_uid(1)]
    assert winter["DTSTART"].params["TZID"] == "Europe/Brussels"  # type: ignore[index]
    assert winter["DTSTART"].dt == datetime(2027, 1, 12, 22, 0, tzinfo=BRUSSELS)  # type: ignore[index]
    assert winter["DTEND"].dt == datetime(2027, 1, 13, 2, 0, tzinfo=BRUSSELS)  # type: ignore[index]
    assert str(winter["STATUS"]) == "CONFIRMED"  # type: ignore[index]
    assert str(winter["SUMMARY"]) == "Upgrade #1 lab → 10.5.0 CU3"  # type: ignore[index]
    assert str(winter["URL"]) == "https://acme.slack.com/archives/C0OPS/p1767000000000100"  # type: ignore[index]
    description = str(winter["DESCRIPTION"])  # type: ignore[index]
    assert "State: planned" in description and "System: lab" in description
    assert int(winter["SEQUENCE"]) == 3  # type: ignore[index]

    dst = found[window_uid(2)]
    start, end = dst["DTSTART"].dt, dst["DTEND"].dt  # type: ignore[index]
    assert (start.hour, start.minute, start.utcoffset()) == (1, 30, timedelta(hours=1))
    assert (end.hour, end.minute, end.utcoffset()) == (4, 30, timedelta(hours=2))
    # three hours on the wall clock, two real ones
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=2)
    assert start.astimezone(UTC) == datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
    assert str(dst["STATUS"]) == "TENTATIVE"  # type: ignore[index]
    assert "URL" not in dst  # type: ignore[operator]

    cancelled = found[window_uid(3)]
    assert str(cancelled["STATUS"]) == "CANCELLED"  # type: ignore[index]
    assert "Reason: vendor asked us to wait" in str(cancelled["DESCRIPTION"])  # type: ignore[index]

    (blackout,) = [e for uid, e in found.items() if uid.startswith("blackout-")]
    assert str(blackout["SUMMARY"]) == "Blackout: Year-end freeze"  # type: ignore[index]
    assert blackout["DTSTART"].dt == datetime(2026, 12, 20, tzinfo=BRUSSELS)  # type: ignore[index]
    assert blackout["DTEND"].dt == datetime(2027, 1, 4, tzinfo=BRUSSELS)  # type: ignore[index]


def test_the_cli_writes_the_feed_to_a_file(tmp_path: Path) -> None:
    fill(tmp_path / "cli.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "UPGRADEBOT_"))}
    env.update(
        UPGRADEBOT_DB=str(tmp_path / "cli.db"),
        UPGRADEBOT_CONFIG=str(ROOT / "examples" / "upgradebot.yml"),
    )
    out = tmp_path / "upgrades.ics"
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "calendar", "--output", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote 3 window(s)" in done.stderr
    found = events(out.read_bytes())
    assert {window_uid(1), window_uid(2), window_uid(3)} <= set(found)
    assert str(found[window_uid(1)]["URL"]).startswith("slack://channel?id=C0OPS")  # type: ignore[index]


@pytest.mark.parametrize("configured", [True, False])
async def test_calendar_ics_is_served_only_with_its_token_and_never_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, configured: bool
) -> None:
    caplog.set_level(logging.DEBUG)
    stub = SlackStub(bot_token=BOT_TOKEN)
    api = await stub.start()
    ctx = fast(make_context(tmp_path, api, FakeClock(NOW)))
    ctx.db.close()
    fill(tmp_path / "upgradebot.db")
    ctx.db = open_database(tmp_path / "upgradebot.db")
    running = await start_http(
        ctx, SECRET, "127.0.0.1", 0, calendar_token=TOKEN if configured else None
    )
    url = f"http://127.0.0.1:{running.port}/calendar.ics"
    try:
        async with aiohttp.ClientSession() as session:
            for query, headers in (({}, {}), ({"token": "guess"}, {})):
                async with session.get(url, params=query, headers=headers) as answer:
                    assert answer.status == (401 if configured else 404)
                    assert "token" in (await answer.text()).lower()
            async with session.get(url, params={"token": TOKEN}) as answer:
                assert answer.status == (200 if configured else 404)
                body = await answer.read()
            if configured:
                assert answer.headers["Content-Type"].startswith("text/calendar")
                found = events(body)
                assert str(found[window_uid(3)]["STATUS"]) == "CANCELLED"  # type: ignore[index]
                link = str(found[window_uid(1)]["URL"])  # type: ignore[index]
                assert link.startswith("https://upgradebot-sandbox.slack.com/archives/C0OPS/")
                bearer = {"Authorization": f"Bearer {TOKEN}"}
                async with session.get(url, headers=bearer) as answer:
                    assert answer.status == 200
    finally:
        await running.stop()
        await stub.stop()
    assert TOKEN not in caplog.text
