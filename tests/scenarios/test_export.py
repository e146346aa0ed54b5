"""/upgrade export and `upgradebot export`: the change record through Slack and the shell."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.models import GateId, WindowState
from bot.ids import Action
from bot.record import build_record
from bot.sandbox.slack_files import StoredFile
from commands.export import people_in, to_files
from storage import (
    append_audit,
    create_window,
    list_audit,
    list_windows,
    open_database,
    transition,
)
from tests.fakes.bot import APPROVER, PROPOSER, Harness
from tests.scenarios.test_propose_approve import propose

ROOT = Path(__file__).resolve().parents[2]


async def next_line(bot: Harness, command: str) -> str:
    """Send the command; the one new ephemeral line it brings the person who typed it."""
    await bot.ctx.drain()  # earlier answers (the proposal's) are delivered by now
    before = len(bot.stub.ephemerals(PROPOSER))
    assert await bot.command(command, user=PROPOSER) == ""  # the ack says nothing
    lines = await bot.wait_ephemeral(PROPOSER, count=before + 1)
    assert len(lines) == before + 1
    return lines[-1]


def shared(bot: Harness, message: dict[str, object]) -> dict[str, StoredFile]:
    """The files shared in the proposal's thread, by name."""
    return {f.filename: f for f in bot.stub.shared_files("C0OPS", str(message["ts"]))}


async def test_export_puts_the_markdown_and_the_json_in_the_thread_with_names(
    bot: Harness,
) -> None:
    message = await propose(bot)
    await bot.click(Action.APPROVE, message, APPROVER)
    await bot.stub.wait_for("chat.update")
    await bot.ctx.drain()  # the approval's follow-up (details checklist) is written by now
    before = len(list_audit(bot.ctx.db))
    line = await next_line(bot, "export #1")
    assert line == (
        "The change record of #1 is in its thread: change-record-1.md and change-record-1.json."
    )
    files = shared(bot, message)
    assert sorted(files) == ["change-record-1.json", "change-record-1.md"]
    markdown = files["change-record-1.md"]
    assert markdown.title == "Change record #1" and markdown.length == len(markdown.content or b"")
    text = markdown.text
    assert "# Change record #1: lab → 10.5.0 CU" in text
    assert "**G1 Window approved:** passed" in text
    assert f"approve by Anna ({APPROVER}) at " in text  # users.info's real name, then the id
    assert "audit chain verifies" in text
    link = f"https://upgradebot-sandbox.slack.com/archives/C0OPS/p{message['ts'].replace('.', '')}"
    assert link in text
    data = json.loads(files["change-record-1.json"].text)
    assert data["schema_version"] == 1
    assert data["audit_chain"]["ok"] is True
    g1 = data["gates"][0]
    assert (g1["gate"], g1["acknowledgements"][0]["user"]) == ("G1", APPROVER)
    assert data["people"] == {APPROVER: "Anna", PROPOSER: "Olga"}
    (post,) = [m for m in bot.stub.thread("C0OPS", message["ts"]) if m.files]
    assert post.text == f"Change record of #1, exported by <@{PROPOSER}>."
    assert [f["name"] for f in post.files or []] == ["change-record-1.md", "change-record-1.json"]
    assert len(bot.stub.calls_to("upload")) == 2
    assert len(list_audit(bot.ctx.db)) == before  # exporting records nothing


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("export", ["needs more arguments", "export &lt;id&gt;"]),
        ("export abc", ["no window `abc`", "#12"]),
        ("export 1 2", ["needs more arguments"]),
    ],
)
async def test_bad_export_input_is_explained_and_changes_nothing(
    bot: Harness, text: str, needles: list[str]
) -> None:
    answer = await bot.command(text)
    for needle in needles:
        assert needle in answer
    assert "Traceback" not in answer
    assert bot.stub.calls_to("chat.postMessage") == []
    assert bot.stub.calls_to("files.getUploadURLExternal") == []
    assert list_windows(bot.ctx.db) == [] and list_audit(bot.ctx.db) == []


async def test_export_of_an_unknown_window_says_so_and_uploads_nothing(bot: Harness) -> None:
    assert await bot.command("export 99") == ""
    (line,) = await bot.wait_ephemeral(PROPOSER)
    assert "no window `#99`" in line
    assert bot.stub.calls_to("files.getUploadURLExternal") == []


async def test_a_refused_upload_is_told_in_a_sentence(bot: Harness) -> None:
    await propose(bot)
    bot.stub.fail("files.getUploadURLExternal", error="file_uploads_disabled")
    line = await next_line(bot, "export 1")
    assert "Slack did not take the change record of #1 (file_uploads_disabled)" in line
    assert "upgradebot export 1" in line
    assert bot.stub.calls_to("files.completeUploadExternal") == []


async def test_a_long_record_goes_up_whole(bot: Harness) -> None:
    message = await propose(bot)
    for number in range(300):
        await bot.ctx.write(
            append_audit,
            actor="upgradebot",
            action="progress",
            window_id=1,
            at=bot.clock.now,
            detail={"step": 1, "note": "x" * 200, "n": number},
        )
    assert "is in its thread" in await next_line(bot, "export 1")
    files = shared(bot, message)
    assert len(files["change-record-1.json"].text) > 40_000  # past one message's limit
    data = json.loads(files["change-record-1.json"].text)
    assert len(data["timeline"]) == 302
    assert "audit chain verifies (302 entries)" in files["change-record-1.md"].text


def test_slack_markup_in_a_reason_stays_as_typed_in_the_files(tmp_path: Path) -> None:
    db = open_database(tmp_path / "x.db")
    start = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)
    window = create_window(
        db,
        system="lab",
        target="10.5.0 CU18",
        start=start,
        end=start + timedelta(hours=4),
        proposer=PROPOSER,
        created_at=start - timedelta(days=7),
        plan={},
        channel="C0OPS",
    )
    reason = "<!channel> R&D says ```no``` <@U0EVE>"
    transition(
        db,
        window.id,
        expected=WindowState.PROPOSED,
        to=WindowState.REJECTED,
        actor=APPROVER,
        action="reject",
        at=start - timedelta(days=6),
        gate=GateId.G1,
        decision="reject",
        reason=reason,
    )
    record = build_record(db, window.id, tz=ZoneInfo("UTC"))
    db.close()
    assert people_in(record) == [PROPOSER, APPROVER]
    markdown, data = to_files(record, {APPROVER: "Anna"})
    assert reason in markdown  # a file is not mrkdwn: nothing to escape
    assert f"Anna ({APPROVER})" in markdown and "<@U0EVE>" in markdown
    assert json.loads(data)["window"]["reason"] == reason


def prepare_database(path: Path) -> None:
    db = open_database(path)
    start = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)
    window = create_window(
        db,
        system="lab",
        target="10.5.0 CU18",
        start=start,
        end=start + timedelta(hours=4),
        proposer=PROPOSER,
        created_at=start - timedelta(days=7),
        plan={},
        channel="C0OPS",
    )
    transition(
        db,
        window.id,
        expected=WindowState.PROPOSED,
        to=WindowState.APPROVED,
        actor=APPROVER,
        action="approve",
        at=start - timedelta(days=6),
        gate=GateId.G1,
        decision="approve",
    )
    db.close()


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "UPGRADEBOT_"))}
    env.update(
        UPGRADEBOT_DB=str(tmp_path / "cli.db"),
        UPGRADEBOT_CONFIG=str(ROOT / "examples" / "upgradebot.yml"),
    )
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "export", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_cli_prints_the_record_as_json(tmp_path: Path) -> None:
    prepare_database(tmp_path / "cli.db")
    done = run_cli(tmp_path, "1", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["schema_version"] == 1 and data["window"]["id"] == 1
    assert data["gates"][0]["acknowledgements"][0]["user"] == APPROVER
    assert data["audit_chain"]["summary"] == "the audit chain verifies (2 entries)"


def test_the_cli_writes_markdown_to_a_file_and_refuses_an_unknown_id(tmp_path: Path) -> None:
    prepare_database(tmp_path / "cli.db")
    out = tmp_path / "record.md"
    done = run_cli(tmp_path, "#1", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert "**G1 Window approved:** passed" in out.read_text(encoding="utf-8")
    missing = run_cli(tmp_path, "99")
    assert missing.returncode == 2
    assert "there is no window '99'" in missing.stderr and missing.stdout == ""
