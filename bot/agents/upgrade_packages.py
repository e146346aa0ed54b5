"""DataMiner upgrade packages: what a ``.dmupgrade`` file is, read from its name, and the
cluster's verdict on "Upload only" of such files."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

_FROZEN = ConfigDict(frozen=True)


class PackageKind(StrEnum):
    """What installing a ``.dmupgrade`` does to an Agent."""

    FULL = "full"  # new DataMiner version; DataMiner restarts
    WEB = "web"  # web apps and web API only; no restart, version unchanged
    PREREQUISITE = "prerequisite"  # checks only (VerifyClusterPorts.dmupgrade); nothing changes
    OTHER = "other"  # a hotfix or partial package: DataMiner restarts, version unchanged
    NOT_AN_UPGRADE = "not_an_upgrade"  # not a .dmupgrade file; DataMiner refuses it


# The DataMiner package file-name pattern, as Skyline's DmUpgradeStorage tool parses it:
# "DataMiner <a.b.c.d>[(CU<n>)]-<build> <Full|Web> Upgrade[ (rc|internal)].dmupgrade"
_PACKAGE_NAME = re.compile(
    r"^DataMiner (?P<version>\d+\.\d+\.\d+\.\d+)(?:\(CU(?P<cu>\d+)\))?-(?P<build>\d+) "
    r"(?P<type>Full|Web) Upgrade(?: \((?:rc|internal)\))?\.dmupgrade$",
    re.IGNORECASE,
)
_PREREQUISITE_ONLY = re.compile(r"^Verify\w*\.dmupgrade$|prerequisite only", re.IGNORECASE)


def is_upgrade_package(name: str) -> bool:
    return name.casefold().endswith(".dmupgrade") and len(name) > len(".dmupgrade")


def package_version(name: str) -> str | None:
    """The raw version a full upgrade package installs, or None for any other package.

    ``DataMiner 10.5.0.0-15230 Full Upgrade.dmupgrade`` -> ``10.5.0.0-15230``; a CU named in
    the file (``DataMiner 10.4.0.0(CU21)-16001 …``) is kept: ``10.4.0.0-16001-CU21``, the form
    agents report, since the CU cannot be derived from ``x.y.0.0`` (facts §1).
    """
    match = _PACKAGE_NAME.match(name)
    if match is None or match["type"].casefold() != "full":
        return None
    cu = f"-CU{match['cu']}" if match["cu"] and int(match["cu"]) else ""
    return f"{match['version']}-{match['build']}{cu}"


def package_kind(name: str) -> PackageKind:
    if not is_upgrade_package(name):
        return PackageKind.NOT_AN_UPGRADE
    match = _PACKAGE_NAME.match(name)
    if match is not None:
        return PackageKind.FULL if match["type"].casefold() == "full" else PackageKind.WEB
    if _PREREQUISITE_ONLY.search(name):
        return PackageKind.PREREQUISITE
    return PackageKind.OTHER


def prerequisite_check(name: str) -> str | None:
    """The check a prerequisite-only package runs: ``VerifyClusterPorts.dmupgrade`` ->
    ``VerifyClusterPorts``; ``NATSMigration - Prerequisite only.dmupgrade`` -> ``NATSMigration``.
    """
    if package_kind(name) is not PackageKind.PREREQUISITE:
        return None
    return name[: -len(".dmupgrade")].split(" - ")[0].strip()


class PackageFile(BaseModel):
    """A package in the bot's package store; ``size`` in bytes, ``sha256`` in hex."""

    model_config = _FROZEN

    name: str
    path: str
    size: int = Field(ge=0)
    sha256: str

    @property
    def kind(self) -> PackageKind:
        return package_kind(self.name)

    @property
    def version(self) -> str | None:
        return package_version(self.name)


class UploadResult(BaseModel):
    """One package on one Agent after "Upload only". ``prerequisite_failures`` names the checks
    that failed (``VerifyClusterPorts``); ``message`` is the sentence DataMiner gave."""

    model_config = _FROZEN

    agent: str
    package: str
    ok: bool
    message: str
    prerequisite_failures: list[str] = Field(default_factory=list)


class UploadReport(BaseModel):
    """The cluster's verdict on "Upload only": as in DataMiner, one Agent failing one package
    fails the whole upload. A report without results verified nothing and is not ok."""

    model_config = _FROZEN

    packages: list[str]
    results: list[UploadResult]

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(result.ok for result in self.results)

    @property
    def failures(self) -> list[UploadResult]:
        return [result for result in self.results if not result.ok]

    @property
    def failed_agents(self) -> list[str]:
        return list(dict.fromkeys(result.agent for result in self.failures))
