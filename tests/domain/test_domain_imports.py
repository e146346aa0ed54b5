"""The functional core stays pure: no Slack, HTTP, scheduler, database, YAML or clock in
``bot/domain`` (STYLE §1, "Guard the border with a test")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bot.domain

FORBIDDEN_MODULES = {"slack_bolt", "slack_sdk", "aiohttp", "apscheduler", "sqlite_utils", "yaml"}
CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("time", "time"), ("date", "today")}
DOMAIN = Path(bot.domain.__file__).parent
MODULES = sorted(DOMAIN.glob("*.py"))


def border_violations(source: str) -> list[str]:
    """Each forbidden import or clock call in ``source``, as "line: what"."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                names = [node.module or ""]
            found += [
                f"{node.lineno}: import {name}"
                for name in names
                if name.split(".")[0] in FORBIDDEN_MODULES
            ]
            if isinstance(node, ast.ImportFrom) and node.module == "time":
                clocks = [a.name for a in node.names if a.name in {"time", "time_ns"}]
                found += [f"{node.lineno}: from time import {name}" for name in clocks]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = (
                owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            )
            if (owner_name, node.func.attr) in CLOCK_CALLS:
                found.append(f"{node.lineno}: {owner_name}.{node.func.attr}()")
    return sorted(found, key=lambda line: int(line.split(":")[0]))


def test_the_checker_catches_what_it_must() -> None:
    sample = (
        "import yaml\n"
        "from slack_sdk.web import WebClient\n"
        "import aiohttp.web\n"
        "import datetime\n"
        "datetime.datetime.now()\n"
        "from datetime import date, datetime\n"
        "datetime.utcnow()\n"
        "date.today()\n"
        "import time\n"
        "time.time()\n"
        "time.monotonic()\n"
        "now = lambda at: at\n"
        "from time import time, sleep\n"
    )
    assert border_violations(sample) == [
        "1: import yaml",
        "2: import slack_sdk.web",
        "3: import aiohttp.web",
        "5: datetime.now()",
        "7: datetime.utcnow()",
        "8: date.today()",
        "10: time.time()",
        "13: from time import time",
    ]


def test_the_domain_package_has_modules() -> None:
    names = {m.name for m in MODULES}
    assert {"versions.py", "catalog.py", "paths.py", "requirements.py"} <= names


@pytest.mark.parametrize("module", MODULES, ids=[m.name for m in MODULES])
def test_domain_modules_import_nothing_impure_and_read_no_clock(module: Path) -> None:
    assert border_violations(module.read_text(encoding="utf-8")) == []
