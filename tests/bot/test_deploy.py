"""deploy/: the systemd unit and the container file say what the bot really accepts, the health
check really passes against a running bot, and `make run` installs only what running needs."""

from __future__ import annotations

import asyncio
import configparser
import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.fakes.bot import Harness

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def cli_accepts(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the command line with ``args`` and ``--help``: 0 when argparse takes every option."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def unit() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "upgradebot.service", encoding="utf-8")
    return parser["Service"]


def containerfile() -> dict[str, str]:
    """Each instruction's last value (continuation lines joined)."""
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Z]+)\s+(.*)$", line.strip())
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def test_the_unit_runs_as_its_own_user_with_the_database_in_its_state_directory() -> None:
    service = unit()
    assert service["User"] == "upgradebot" and service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGINT"  # the bot drains on Ctrl-C
    environment = (DEPLOY / "upgradebot.service").read_text(encoding="utf-8")
    db = re.search(r"UPGRADEBOT_DB=(\S+)", environment)
    assert db and db.group(1).startswith(f"/var/lib/{service['StateDirectory']}/")
    binary, *args = shlex.split(service["ExecStart"])
    assert binary.endswith("/.venv/bin/upgradebot")
    done = cli_accepts(args)
    assert done.returncode == 0, done.stderr


def test_the_container_is_not_root_keeps_its_database_on_a_volume_and_checks_healthz() -> None:
    spec = containerfile()
    assert spec["USER"] not in ("root", "0")
    assert json.loads(spec["VOLUME"]) == ["/data"]
    assert "UPGRADEBOT_DB=/data/upgradebot.db" in spec["ENV"]
    assert "/healthz" in spec["HEALTHCHECK"]
    assert spec["STOPSIGNAL"] == "SIGINT"
    command = json.loads(spec["CMD"])
    assert command[0] == "upgradebot"
    done = cli_accepts(command[1:])
    assert done.returncode == 0, done.stderr


async def test_the_container_health_check_passes_against_a_running_bot_and_fails_without(
    bot: Harness,
) -> None:
    check = json.loads(containerfile()["HEALTHCHECK"].split(" CMD ", 1)[1])
    assert check[:2] == ["python", "-c"]
    port = bot.url.rsplit(":", 1)[1]
    code = check[2].replace("127.0.0.1:3000", f"127.0.0.1:{port}")
    assert await exit_code(code) == 0
    assert bot.ctx.scheduler is not None
    await bot.ctx.scheduler.shutdown()  # what /healthz reports as 503
    assert await exit_code(code) != 0


async def exit_code(code: str) -> int:
    """Run the check beside the bot (the bot's event loop keeps answering meanwhile)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode


def test_make_run_installs_what_running_needs_and_make_test_adds_the_test_tools() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    run_stamp = re.search(r"^\$\(RUN_STAMP\):.*?\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    test_stamp = re.search(r"^\$\(STAMP\):.*?\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert run_stamp and test_stamp
    assert "pip install --quiet -e .\n" in run_stamp.group(1) and "[test]" not in run_stamp.group(1)
    assert "'.[test]'" in test_stamp.group(1)
    assert re.search(r"^run: \$\(RUN_STAMP\)$", makefile, re.MULTILINE)
    assert re.search(r"^test: \$\(STAMP\) ", makefile, re.MULTILINE)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    needed = {re.split(r"[~<>=\[ ]", d)[0] for d in project["dependencies"]}
    tools = {re.split(r"[~<>=\[ ]", d)[0] for d in project["optional-dependencies"]["test"]}
    assert needed.isdisjoint(tools) and {"pytest", "ruff", "mypy"} <= tools
