"""The package store (``packages.dir``): the ``.dmupgrade`` files a path needs, read from disk and
compared with what the bot recorded when it first saw each one.

A needed name may be a glob (``DataMiner 10.2.0.0(CU21)-* Full Upgrade.dmupgrade``) when the
catalog lacks the build; exactly one file must match it. Names are matched against the store's
listing, never joined onto a path, so a name cannot reach outside the store.

Hashing a multi-gigabyte package takes seconds. To keep the event loop free, run
:func:`read_packages` in a thread (it touches no database) and hand its result to
:func:`compare_with_records` on the thread that owns the database; :func:`scan_packages` does
both in one call for callers that may block.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from fnmatch import fnmatchcase
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from bot.agents.models import PackageFile
from bot.domain.errors import UpgradeBotError
from checks.models import PackageState
from checks.packages import needed_packages
from storage import Database, record_package

__all__ = [
    "FoundPackage",
    "PackageNotFound",
    "PackageStoreUnavailable",
    "compare_with_records",
    "file_sha256",
    "needed_packages",
    "package_files",
    "read_packages",
    "scan_packages",
]

CHUNK_BYTES = 1024 * 1024
_GLOB_CHARACTERS = ("*", "?")


class PackageStoreUnavailable(UpgradeBotError):
    def __init__(self, directory: Path, reason: str) -> None:
        self.directory = directory
        self.reason = reason
        super().__init__(f"The package store {directory} cannot be read: {reason}.")


class PackageNotFound(UpgradeBotError):
    def __init__(self, name: str, directory: Path, candidates: Sequence[str] = ()) -> None:
        self.name = name
        self.directory = directory
        self.candidates = list(candidates)
        if self.candidates:
            message = (
                f"Several files in {directory} match {name}: {', '.join(self.candidates)}; "
                "keep exactly one."
            )
        else:
            message = f"{name} is not in the package store {directory}."
        super().__init__(message)


class FoundPackage(BaseModel):
    """A needed name as found on disk: the one matching ``file`` with its size and SHA-256, or
    no file (``candidates`` lists them when several match)."""

    model_config = ConfigDict(frozen=True)

    name: str
    file: str | None = None
    size: int | None = None
    sha256: str | None = None
    candidates: list[str] = Field(default_factory=list)


def file_sha256(path: Path) -> str:
    """SHA-256 in hex, read in chunks so a 4 GB package never sits in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def read_packages(directory: Path, names: Sequence[str]) -> list[FoundPackage]:
    """Each needed name as found in the store. Touches the disk only; safe in a thread."""
    listing = _listing(directory)
    found: list[FoundPackage] = []
    for name in names:
        matches = _matching(name, listing)
        if len(matches) != 1:
            found.append(FoundPackage(name=name, candidates=matches if matches else []))
            continue
        path = directory / matches[0]
        size = path.stat().st_size
        found.append(FoundPackage(name=name, file=matches[0], size=size, sha256=file_sha256(path)))
    return found


def compare_with_records(
    db: Database, found: Sequence[FoundPackage], directory: Path, *, now: datetime
) -> list[PackageState]:
    """Each found file against its first-seen record, recording files seen for the first time."""
    states: list[PackageState] = []
    for item in found:
        if item.file is None or item.size is None or item.sha256 is None:
            states.append(
                PackageState(
                    name=item.name,
                    present=False,
                    directory=str(directory),
                    candidates=item.candidates,
                )
            )
            continue
        first = record_package(db, name=item.file, size=item.size, sha256=item.sha256, at=now)
        states.append(
            PackageState(
                name=item.name,
                present=True,
                size=item.size,
                sha256=item.sha256,
                changed_since_first_seen=(first.size, first.sha256) != (item.size, item.sha256),
                first_seen_sha256=first.sha256,
                first_seen_size=first.size,
                first_seen=first.first_seen,
                file=item.file,
                directory=str(directory),
            )
        )
    return states


def scan_packages(
    db: Database, directory: Path, names: list[str], *, now: datetime
) -> list[PackageState]:
    """Every needed package: present? its size and SHA-256, and whether it changed since the bot
    first saw it (recording it now if it never did). Raises ``PackageStoreUnavailable`` when the
    store itself cannot be listed."""
    return compare_with_records(db, read_packages(directory, names), directory, now=now)


def package_files(directory: Path, names: Sequence[str]) -> list[PackageFile]:
    """The files to hand to the adapter's "Upload only", in the order given. Raises
    ``PackageNotFound`` for a name that matches no file or several."""
    files: list[PackageFile] = []
    for item in read_packages(directory, names):
        if item.file is None or item.size is None or item.sha256 is None:
            raise PackageNotFound(item.name, directory, item.candidates)
        files.append(
            PackageFile(
                name=item.file,
                path=str(directory / item.file),
                size=item.size,
                sha256=item.sha256,
            )
        )
    return files


def _listing(directory: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in directory.iterdir() if entry.is_file())
    except FileNotFoundError:
        raise PackageStoreUnavailable(directory, "the folder does not exist") from None
    except NotADirectoryError:
        raise PackageStoreUnavailable(directory, "it is a file, not a folder") from None
    except OSError as error:
        raise PackageStoreUnavailable(directory, error.strerror or str(error)) from None


def _matching(name: str, listing: list[str]) -> list[str]:
    if any(character in name for character in _GLOB_CHARACTERS):
        return [entry for entry in listing if fnmatchcase(entry, name)]
    return [name] if name in listing else []
