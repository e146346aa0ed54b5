"""/upgrade export and `upgradebot export`: the change record through Slack and the shell."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.models import GateId, WindowState
from bot.ids import Action
from bot.record import build_record
from commands.export import MESSAGE_TEXT_LIMIT, to_slack_text
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


def json_block(text: str) -> dict[str, object]:
    """The JSON of the reply, as a person copying it out of Slack gets it."""
    match = re.search(r"```json\n(.*)\n```", text, re.DOTALL)
    assert match, "no ```json block in the reply"
    return dict(json.loads(html.unescape(match.group(1))))


async def test_export_shows_the_gate_acknowledgement_and_a_verifying_chain(bot: Harness) -> None:
    message = await propose(bot)
    await bot.click(Action.APPROVE, message, APPROVER)
    await bot.stub.wait_for("chat.update")
    await bot.ctx.drain()  # the approval's follow-up (details checklist) is written by now
    before = len(list_audit(bot.ctx.db))
    answer = await bot.command("export #1", user=PROPOSER)
    assert "# Change record #1: lab → 10.5.0 CU" in answer
    assert "**G1 Window approved:** passed" in answer
    assert f"approve by {APPROVER} at " in answer
    assert "audit chain verifies" in answer
    link = f"https://upgradebot-sandbox.slack.com/archives/C0OPS/p{message['ts'].replace('.', '')}"
    assert link in answer
    data = json_block(answer)
    assert data["schema_version"] == 1
    assert data["audit_chain"]["ok"] is True  # type: ignore[index]
    g1 = data["gates"][0]  # type: ignore[index]
    assert (g1["gate"], g1["acknowledgements"][0]["user"]) == ("G1", APPROVER)
    assert len(answer) <= MESSAGE_TEXT_LIMIT
    assert len(list_audit(bot.ctx.db)) == before  # exporting records nothing


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("export", ["needs more arguments", "export &lt;id&gt;"]),
        ("export abc", ["no window `abc`", "#12"]),
        ("export 99", ["no window `#99`"]),
        ("export 1 2", ["needs more arguments"]),
    ],
)
async def test_bad_export_input_is_explained_and_changes_nothing(
    bot: Harness, text: str, needles: list[str]
) -> None:
    answer = await bot.command(text)
    for needle in needles:
        assert needle in answer
    assert "Traceback" not in answer and "```json" not in answer
    assert bot.stub.calls_to("chat.postMessage") == []
    assert bot.stub.calls_to("chat.postEphemeral") == []
    assert list_windows(bot.ctx.db) == [] and list_audit(bot.ctx.db) == []


async def test_a_record_too_long_for_slack_leaves_the_json_out_and_says_where_to_get_it(
    bot: Harness,
) -> None:
    await propose(bot)
    for number in range(150):
        append_audit(
            bot.ctx.db,
            actor="upgradebot",
            action="progress",
            window_id=1,
            at=bot.clock.now,
            detail={"step": 1, "note": "x" * 200, "n": number},
        )
    answer = await bot.command("export 1")
    assert len(answer) <= MESSAGE_TEXT_LIMIT
    assert "```json" not in answer
    assert "Run `upgradebot export 1 --json` on the bot's host" in answer
    assert "audit chain verifies (152 entries)" in answer


async def test_a_record_too_long_even_as_markdown_is_cut_with_the_chain_still_shown(
    bot: Harness,
) -> None:
    await propose(bot)
    record_text = await bot.command("export 1")
    record = build_record(bot.ctx.db, 1, tz=bot.ctx.tz)
    cut = to_slack_text(record, limit=1200)
    assert len(cut) <= 1200
    assert "The record is cut here" in cut and "audit chain verifies" in cut
    assert "## Timeline" in record_text and "## Timeline" not in cut


def test_slack_markup_in_a_reason_is_escaped_and_the_json_still_parses(tmp_path: Path) -> None:
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
    text = to_slack_text(build_record(db, window.id, tz=ZoneInfo("UTC")))
    db.close()
    assert "<!channel>" not in text and "&lt;!channel&gt; R&amp;D" in text
    assert json_block(text)["window"]["reason"] == reason  # type: ignore[index]


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
