"""The bot and its commands refuse a database they cannot use with one sentence, not a traceback
(issue 15, item 6): a read-only file or folder, a disk that takes no more bytes, a folder or a
file that is not SQLite at the database's path. Each case runs the real command line as a
process on a real file.

Permissions are real. Root ignores file modes only through its capabilities to override them
(CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER); as root the command is started without
them (dropped from the bounding set before exec), so the kernel refuses its writes to a
read-only file or folder exactly as it would for a bot's service user. The full disk is the
kernel's file-size limit set to 0 for the process: every write that would grow a file of the
database is refused, as on a disk with no room left (no small filesystem is needed).
"""

from __future__ import annotations

import ctypes
import os
import resource
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from storage import open_database

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "upgradebot.yml"
PR_CAPBSET_DROP = 24  # prctl(2)
ROOT_OVERRIDES = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: capability(7)
COMMANDS = [
    pytest.param(["run", "--port", "0"], id="run"),
    pytest.param(["serve", "--http", "--port", "0"], id="serve"),
    pytest.param(["export", "1"], id="export"),
    pytest.param(["calendar"], id="calendar"),
    pytest.param(["accept-package", "x.dmupgrade"], id="accept-package"),
]
WRITERS = COMMANDS[:2] + COMMANDS[4:]


@pytest.fixture(autouse=True)
def _writable_again(tmp_path: Path) -> object:
    """pytest must be able to empty tmp_path afterwards, also when not root."""
    yield None
    for path in [tmp_path, *tmp_path.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)


def _modes_bind_root_too() -> None:
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in ROOT_OVERRIDES:
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "root's file-mode overrides cannot be dropped")


def _no_file_growth() -> None:
    _modes_bind_root_too()
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def cli(
    place: Path, db: Path, *args: str, preexec: Callable[[], None] = _modes_bind_root_too
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "UPGRADEBOT_"))}
    env.update(
        UPGRADEBOT_CONFIG=str(EXAMPLE),
        UPGRADEBOT_DB=str(db),
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="test-signing-secret",
        SLACK_API_URL="http://127.0.0.1:9/api/",  # never reached: the start stops before
    )
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=place,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=preexec,
    )


def a_bot_database(path: Path) -> Path:
    open_database(path).close()
    return path


def refused_with(result: subprocess.CompletedProcess[str], sentence: str) -> None:
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr == f"upgradebot: {sentence}\n"
    assert result.returncode == 2


@pytest.mark.parametrize("args", WRITERS)
def test_a_read_only_database_file_is_refused_in_one_sentence(
    tmp_path: Path, args: list[str]
) -> None:
    (tmp_path / "data").mkdir()  # the folder may be written; only the file may not
    db = a_bot_database(tmp_path / "data" / "bot.db")
    db.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    refused_with(
        cli(tmp_path, db, *args),
        f"The database {db} is read-only; make it writable for the bot's user.",
    )


@pytest.mark.parametrize("args", COMMANDS)
def test_a_database_in_a_read_only_folder_is_refused_in_one_sentence(
    tmp_path: Path, args: list[str]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    db = a_bot_database(folder / "bot.db")
    folder.chmod(0o555)  # SQLite's WAL needs its -wal and -shm files next to the database
    refused_with(
        cli(tmp_path, db, *args),
        f"The folder {folder} of the database is read-only; the bot must write there.",
    )


@pytest.mark.parametrize("args", COMMANDS)
def test_a_disk_that_takes_no_more_bytes_is_refused_in_one_sentence(
    tmp_path: Path, args: list[str]
) -> None:
    """Even a reader needs room: SQLite's WAL index (-shm) is a file it must grow."""
    (tmp_path / "data").mkdir()
    db = a_bot_database(tmp_path / "data" / "bot.db")
    refused_with(
        cli(tmp_path, db, *args, preexec=_no_file_growth),
        f"The disk holding {db} refused to write (disk I/O error); free some space on it or "
        "check the disk.",
    )


@pytest.mark.parametrize("args", COMMANDS)
def test_a_folder_at_the_database_path_is_refused_in_one_sentence(
    tmp_path: Path, args: list[str]
) -> None:
    db = tmp_path / "bot.db"
    db.mkdir()
    refused_with(
        cli(tmp_path, db, *args),
        f"The database {db} is a folder, not a file; set UPGRADEBOT_DB to a file in it, like "
        f"{db / 'upgradebot.db'}.",
    )


@pytest.mark.parametrize("args", COMMANDS)
def test_a_file_that_is_not_sqlite_is_refused_in_one_sentence(
    tmp_path: Path, args: list[str]
) -> None:
    (tmp_path / "data").mkdir()
    db = tmp_path / "data" / "notes.db"
    db.write_text("minutes of the change board, not a database\n", encoding="utf-8")
    refused_with(
        cli(tmp_path, db, *args),
        f"{db} is not an upgradebot database (SQLite says: file is not a database); set "
        "UPGRADEBOT_DB to the bot's database, or to a new file name to start an empty one.",
    )
