"""The log: one line per thing that happened to a window, the scheduler's bookkeeping at DEBUG,
a JSON form for log shippers, and no token or secret in either form."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.ids import Action
from bot.ops.logs import REDACTED, configure_logging
from tests.fakes.bot import APPROVER, BOT_TOKEN, SECRET, Harness
from tests.scenarios.test_propose_approve import propose

ROOT = Path(__file__).resolve().parents[2]
CALENDAR_SECRET = "cal-secret-9f8e7d6c"


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """The root logger writing text to one buffer and (after a switch) JSON to another; the
    test's own handlers come back afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    text, as_json = io.StringIO(), io.StringIO()
    yield text, as_json
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)
    logging.getLogger("apscheduler").setLevel(logging.NOTSET)


async def test_a_window_s_life_is_one_line_each_and_the_scheduler_stays_quiet(
    bot: Harness, captured: tuple[io.StringIO, io.StringIO]
) -> None:
    text, _ = captured
    configure_logging("text", secrets=[BOT_TOKEN, SECRET], stream=text)
    message = await propose(bot)
    await bot.click(Action.APPROVE, message, APPROVER)
    await bot.stub.wait_for("chat.update")
    await bot.ctx.drain()
    lines = text.getvalue().splitlines()
    window_lines = [line for line in lines if " upgradebot.windows: " in line]
    assert any(line.endswith("#1 proposed by U0OLGA") for line in window_lines), window_lines
    assert any(
        line.endswith(f"#1 G1 approve by {APPROVER}: proposed → approved") for line in window_lines
    ), window_lines
    assert not [line for line in lines if "apscheduler" in line]  # added/removed jobs: DEBUG
    assert BOT_TOKEN not in text.getvalue() and SECRET not in text.getvalue()


def test_the_json_form_is_one_object_per_line_with_the_window_s_fields(
    captured: tuple[io.StringIO, io.StringIO],
) -> None:
    _, as_json = captured
    configure_logging("json", secrets=[CALENDAR_SECRET], stream=as_json)
    logging.getLogger("upgradebot.windows").info(
        "#3 cancel by U0OLGA: planned → cancelled",
        extra={"window": 3, "actor": "U0OLGA", "action": "cancel", "after": "cancelled"},
    )
    logging.getLogger("slack_sdk").warning(
        "headers: Authorization: Bearer xoxb-1234-5678-abcdef, token %s", CALENDAR_SECRET
    )
    try:
        raise RuntimeError(f"failed with xapp-1-A0-secret and {CALENDAR_SECRET}")
    except RuntimeError:
        logging.getLogger("bot.guard").exception("unexpected error (ref ab12cd)")
    first, second, third = (json.loads(line) for line in as_json.getvalue().splitlines())
    assert first["window"] == 3 and first["actor"] == "U0OLGA" and first["after"] == "cancelled"
    assert first["level"] == "info" and first["logger"] == "upgradebot.windows"
    assert first["time"].endswith("+00:00")
    assert second["message"] == f"headers: Authorization: Bearer {REDACTED}, token {REDACTED}"
    assert "RuntimeError" in third["exc"] and "xapp-" not in third["exc"]
    assert CALENDAR_SECRET not in as_json.getvalue()


def test_debug_shows_the_scheduler_s_jobs(captured: tuple[io.StringIO, io.StringIO]) -> None:
    text, _ = captured
    configure_logging("text", level=logging.DEBUG, stream=text)
    logging.getLogger("apscheduler.scheduler").debug("Added job 'fire_action'")
    configure_logging("text", stream=text)
    logging.getLogger("apscheduler.scheduler").info("Removed job action-1")
    assert "Added job" in text.getvalue() and "Removed job" not in text.getvalue()


def test_the_command_line_takes_log_format_and_refuses_a_wrong_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "UPGRADEBOT_"))}
    env.update(
        UPGRADEBOT_CONFIG=str(ROOT / "examples" / "upgradebot.yml"),
        UPGRADEBOT_DB=str(tmp_path / "none.db"),
        SLACK_BOT_TOKEN="xoxb-9-9-secretvalue",
    )
    run = [sys.executable, "-m", "bot.cli"]
    done = subprocess.run(
        [*run, "--log-format", "json", "check-config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "SLACK_BOT_TOKEN: set" in done.stdout and "secretvalue" not in done.stdout
    wrong = subprocess.run(
        [*run, "serve", "--log-format", "xml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert wrong.returncode == 2 and "invalid choice: 'xml'" in wrong.stderr
