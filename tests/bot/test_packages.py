"""The package store on real files and a real SQLite database: missing, present, changed after
first seen (refused), glob names, and the files handed to "Upload only"."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.agents.models import PackageKind
from bot.evidence.packages import (
    CHUNK_BYTES,
    PackageNotFound,
    PackageStoreUnavailable,
    file_sha256,
    package_files,
    read_packages,
    scan_packages,
)
from checks import CheckSettings, CheckStatus, check_packages, needed_packages
from storage import Database, get_package, open_database
from tests.checks import PLAN, healthy

NOW = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
FULL = "DataMiner 10.5.0.0(CU18)-15999 Full Upgrade.dmupgrade"
GLOB = "DataMiner 10.5.0.0(CU18)-* Full Upgrade.dmupgrade"
PORTS = "VerifyClusterPorts.dmupgrade"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "x.db")
    yield database
    database.close()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    folder = tmp_path / "packages"
    folder.mkdir()
    return folder


def put(store: Path, name: str, content: bytes) -> Path:
    path = store / name
    path.write_bytes(content)
    return path


def test_the_checksum_is_sha256_of_the_whole_file_read_in_chunks(store: Path) -> None:
    content = bytes(range(256)) * (CHUNK_BYTES // 128 + 3)  # more than two chunks
    path = put(store, FULL, content)
    assert file_sha256(path) == hashlib.sha256(content).hexdigest()
    assert file_sha256(put(store, "empty.dmupgrade", b"")) == hashlib.sha256(b"").hexdigest()


def test_a_present_file_is_recorded_on_first_sight(db: Database, store: Path) -> None:
    put(store, FULL, b"package one")
    [state] = scan_packages(db, store, [FULL], now=NOW)
    assert state.present and not state.changed_since_first_seen
    assert state.size == len(b"package one")
    assert state.sha256 == hashlib.sha256(b"package one").hexdigest()
    assert (state.first_seen, state.file, state.directory) == (NOW, FULL, str(store))
    record = get_package(db, FULL)
    assert record is not None and record.sha256 == state.sha256


def test_a_missing_file_is_not_present_and_not_recorded(db: Database, store: Path) -> None:
    [state] = scan_packages(db, store, [FULL], now=NOW)
    assert not state.present and state.size is None and state.sha256 is None
    assert state.directory == str(store)
    assert get_package(db, FULL) is None


def test_a_file_changed_after_first_seen_is_refused(db: Database, store: Path) -> None:
    put(store, FULL, b"package one")
    scan_packages(db, store, [FULL], now=NOW - timedelta(days=2))
    put(store, FULL, b"package one, tampered")
    [state] = scan_packages(db, store, [FULL], now=NOW)
    assert state.present and state.changed_since_first_seen
    assert state.first_seen == NOW - timedelta(days=2)
    assert state.first_seen_sha256 == hashlib.sha256(b"package one").hexdigest()
    assert state.sha256 == hashlib.sha256(b"package one, tampered").hexdigest()

    snapshot = healthy(packages=[state])
    only_step = PLAN.steps[1].model_copy(update={"package": FULL, "number": 1})
    plan = PLAN.model_copy(update={"steps": [only_step]})
    result = check_packages(snapshot, plan, CheckSettings(now=NOW))
    assert result.status is CheckStatus.FAIL
    assert result.summary.startswith(f"Refused: {FULL} changed since first seen on 2026-11-29 (")


def test_an_unchanged_file_stays_accepted_on_later_scans(db: Database, store: Path) -> None:
    put(store, FULL, b"package one")
    scan_packages(db, store, [FULL], now=NOW - timedelta(days=2))
    [state] = scan_packages(db, store, [FULL], now=NOW)
    assert state.present and not state.changed_since_first_seen
    assert state.first_seen == NOW - timedelta(days=2)


def test_a_glob_name_matches_the_one_file_with_a_build(db: Database, store: Path) -> None:
    put(store, FULL, b"x")
    put(store, "DataMiner 10.4.0.0(CU21)-15000 Full Upgrade.dmupgrade", b"y")
    [state] = scan_packages(db, store, [GLOB], now=NOW)
    assert (state.name, state.file, state.present) == (GLOB, FULL, True)
    assert get_package(db, FULL) is not None


def test_a_glob_matching_several_files_is_ambiguous(db: Database, store: Path) -> None:
    put(store, FULL, b"x")
    other = "DataMiner 10.5.0.0(CU18)-16000 Full Upgrade.dmupgrade"
    put(store, other, b"y")
    [state] = scan_packages(db, store, [GLOB], now=NOW)
    assert not state.present
    assert state.candidates == [FULL, other]
    with pytest.raises(PackageNotFound, match="keep exactly one"):
        package_files(store, [GLOB])


def test_names_cannot_reach_outside_the_store(store: Path) -> None:
    put(store.parent, "outside.dmupgrade", b"secret")
    found = read_packages(store, ["../outside.dmupgrade"])
    assert found[0].file is None


def test_a_folder_in_the_store_is_not_a_package(store: Path) -> None:
    (store / "sub.dmupgrade").mkdir()
    assert read_packages(store, ["sub.dmupgrade"])[0].file is None
    assert read_packages(store, ["*"])[0].candidates == []


def test_a_missing_store_says_so(db: Database, tmp_path: Path) -> None:
    with pytest.raises(PackageStoreUnavailable, match="does not exist"):
        scan_packages(db, tmp_path / "nowhere", [FULL], now=NOW)
    a_file = put(tmp_path, "not-a-folder", b"")
    with pytest.raises(PackageStoreUnavailable, match="not a folder"):
        scan_packages(db, a_file, [FULL], now=NOW)


def test_every_needed_package_of_a_plan_is_scanned_in_order(db: Database, store: Path) -> None:
    names = needed_packages(PLAN, ["Hotfix 1.dmupgrade"])
    put(store, names[0].replace("*", "15000"), b"step one")
    put(store, "Hotfix 1.dmupgrade", b"hotfix")
    states = scan_packages(db, store, names, now=NOW)
    assert [s.name for s in states] == names
    assert [s.present for s in states] == [True, False, True]
    result = check_packages(
        healthy(packages=states), PLAN, CheckSettings(now=NOW, hotfixes=["Hotfix 1.dmupgrade"])
    )
    assert result.status is CheckStatus.FAIL
    assert result.summary == f"Missing: {names[1]} (not in {store})."


def test_upload_files_carry_the_real_name_path_size_and_checksum(store: Path) -> None:
    path = put(store, FULL, b"package one")
    put(store, PORTS, b"ports")
    files = package_files(store, [GLOB, PORTS])
    assert [f.name for f in files] == [FULL, PORTS]
    assert files[0].path == str(path)
    assert files[0].size == len(b"package one")
    assert files[0].sha256 == hashlib.sha256(b"package one").hexdigest()
    assert files[0].kind is PackageKind.FULL
    assert files[1].kind is PackageKind.PREREQUISITE


def test_an_upload_of_a_missing_file_names_it_and_the_store(store: Path) -> None:
    with pytest.raises(PackageNotFound) as caught:
        package_files(store, [FULL])
    assert str(caught.value) == f"{FULL} is not in the package store {store}."


def test_a_replaced_package_is_refused_until_someone_accepts_it_on_the_host(
    tmp_path: Path,
) -> None:
    import os
    import subprocess
    import sys
    from datetime import UTC, datetime

    from bot.evidence.packages import scan_packages
    from storage import list_audit, open_database

    store = tmp_path / "packages"
    store.mkdir()
    name = "DataMiner 10.5.0.0(CU18)-0 Full Upgrade.dmupgrade"
    (store / name).write_bytes(b"first")
    now = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
    db = open_database(tmp_path / "bot.db")
    assert not scan_packages(db, store, [name], now=now)[0].changed_since_first_seen
    (store / name).write_bytes(b"second, replaced")
    assert scan_packages(db, store, [name], now=now)[0].changed_since_first_seen
    db.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "UPGRADEBOT_"))}
    env["UPGRADEBOT_DB"] = str(tmp_path / "bot.db")
    env["UPGRADEBOT_CONFIG"] = str(Path(__file__).resolve().parents[2] / "examples/upgradebot.yml")
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli", "accept-package", name],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    unknown = subprocess.run(
        [sys.executable, "-m", "bot.cli", "accept-package", "nope"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert unknown.returncode == 2 and "was ever fingerprinted" in unknown.stderr
    db = open_database(tmp_path / "bot.db")
    assert not scan_packages(db, store, [name], now=now)[0].changed_since_first_seen
    assert [e.action for e in list_audit(db)] == ["package_accepted"]
    db.close()
