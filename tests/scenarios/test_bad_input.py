"""Bad input gets an ephemeral sentence with what was wrong and what is right; nothing is
stored and nothing is posted to a channel."""

from __future__ import annotations

import json
import time

import pytest

from bot.sandbox.signing import slash_command_body
from storage import list_audit, list_windows
from tests.fakes.bot import CHANNEL, PROPOSER, SECRET, Harness


async def assert_nothing_happened(bot: Harness) -> None:
    assert bot.stub.calls_to("chat.postMessage") == []
    assert list_windows(bot.ctx.db) == []
    assert list_audit(bot.ctx.db) == []


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("propose moon 10.5 2026-12-02T22:00 4h", ["no system called `moon`", "lab, night, prod"]),
        ("propose lab 10.5 2026-13-45T22:00 4h", ["2026-13-45T22:00", "2026-12-02T22:00"]),
        ("propose lab 10.5 2026-11-01T22:00 4h", ["in the past", "future"]),
        ("propose lab ten-five 2026-12-02T22:00 4h", ["not a DataMiner version", "10.5.0 CU3"]),
        ("propose lab 11.9 2026-12-02T22:00 4h", ["catalog does not know", "Known versions"]),
        ("propose lab 10.5 2026-12-22T22:00 4h", ["Year-end freeze", "2026-12-20"]),
        ("propose lab 10.5 2026-12-02T22:00 0m", ["not a usable window length", "4h"]),
        ("propose lab 10.5", ["needs more arguments", "propose &lt;system&gt;"]),
        ("frobnicate", ["not an `/upgrade` subcommand", "`propose`"]),
        ("status twelve", ["no window `twelve`", "#12"]),
        ("status 99", ["no window `#99`"]),
        ('propose lab 10.5 "2026-12-02 22:00 4h', ["quote is not closed"]),
        ("propose " + "x" * 5000, ["5,008 characters", "at most 500"]),
    ],
)
async def test_bad_input_is_explained_and_changes_nothing(
    bot: Harness, text: str, needles: list[str]
) -> None:
    answer = await bot.command(text)
    for needle in needles:
        assert needle in answer
    assert "Traceback" not in answer
    await assert_nothing_happened(bot)


@pytest.mark.parametrize(
    ("text", "usages"),
    [
        ("propose lab 10.5", 1),  # the words are not the grammar: the usage line, once
        ("propose lab 10.5 2026-13-45T22:00 4h", 1),
        ("frobnicate", 1),
        ("propose moon 10.5 2026-12-02T22:00 4h", 0),  # right words, unknown system
        ("propose lab 10.5 2026-11-01T22:00 4h", 0),
        ("status 99", 0),
    ],
)
async def test_the_usage_line_shows_only_when_the_syntax_was_wrong(
    bot: Harness, text: str, usages: int
) -> None:
    answer = await bot.command(text)
    assert answer.count("Usage:") == usages, answer
    await assert_nothing_happened(bot)


async def test_typed_markup_in_a_refusal_is_shown_as_text(bot: Harness) -> None:
    answer = await bot.command("propose <!channel> 10.5 2026-12-02T22:00 4h")
    assert "`&lt;!channel&gt;`" in answer and "<!channel>" not in answer
    await assert_nothing_happened(bot)


async def test_an_overlap_names_the_other_window_and_suggests_free_starts(bot: Harness) -> None:
    await bot.command("propose lab 10.5 2026-12-02T22:00 4h")
    await bot.stub.wait_for("chat.postMessage")
    answer = await bot.command("propose lab 10.5 2026-12-03T00:00 2h")
    assert "overlaps window #1" in answer
    assert "Next free starts: 2026-12-03 02:00" in answer
    assert len(list_windows(bot.ctx.db)) == 1
    assert len(bot.stub.calls_to("chat.postMessage")) == 1


async def test_a_downgrade_is_refused_after_reading_the_cluster(bot: Harness) -> None:
    answer = await bot.command("propose prod 10.3 2026-12-02T22:00 4h")
    assert "Reading the prod cluster" in answer
    (refusal,) = await bot.wait_ephemeral(PROPOSER)
    assert "not above the current version" in refusal
    await assert_nothing_happened(bot)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Slack-Signature": "v0=" + "0" * 64},  # forged
        {},  # placeholder: replaced by a stale timestamp below
        {"X-Slack-Signature": "", "X-Slack-Request-Timestamp": ""},  # missing
    ],
    ids=["forged", "stale", "missing"],
)
async def test_unsigned_or_badly_signed_requests_get_401_and_no_slack_call(
    bot: Harness, headers: dict[str, str]
) -> None:
    body = slash_command_body(
        "/upgrade", "propose lab 10.5 2026-12-02T22:00 4h", user_id=PROPOSER, channel_id=CHANNEL
    )
    at_start = list(bot.stub.calls)  # joining the configured channels
    if headers:
        status, _ = await bot.post(body, headers=headers)
    else:
        status, _ = await bot.post(body, timestamp=int(time.time()) - 600)
    assert status == 401
    assert bot.stub.calls == at_start
    assert list_windows(bot.ctx.db) == []


async def test_a_body_signed_with_another_secret_is_refused(bot: Harness) -> None:
    from bot.sandbox.signing import sign

    body = slash_command_body("/upgrade", "list", user_id=PROPOSER, channel_id=CHANNEL)
    status, _ = await bot.post(body, signed=False, headers=sign(SECRET + "x", body))
    assert status == 401


async def test_help_lists_every_subcommand(bot: Harness) -> None:
    answer = await bot.command("help")
    for word in ("propose", "list", "status", "cancel", "history", "systems"):
        assert f"/upgrade {word}" in answer
    empty = await bot.command("")
    assert empty == answer


async def test_ack_answers_are_json_for_slack(bot: Harness) -> None:
    status, body = await bot.post(
        slash_command_body("/upgrade", "list", user_id=PROPOSER, channel_id=CHANNEL)
    )
    assert status == 200
    assert json.loads(body)["text"] == "No open windows."


async def test_something_unexpected_gets_a_reference_that_is_also_in_the_log(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    bot.ctx.db.close()  # the database went away under the bot
    answer = await bot.command("list")
    assert answer.startswith("Something went wrong (ref `")
    ref = answer.split("`")[1]
    assert len(ref) == 6
    assert any(ref in record.getMessage() for record in caplog.records)
    assert "Traceback" not in answer
