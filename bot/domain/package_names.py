"""The one grammar of DataMiner package file names: what a file is, read from its name, and the
name a planned step needs.

Skyline's storage tool parses upgrade packages as ``DataMiner <a.b.c.d>[(CU<n>)]-<build>
<Full|Web> Upgrade[ (rc|internal)].dmupgrade`` (``SkylineCommunications/Skyline.DataMiner.CICD.
Tools.DmUpgradeStorage``: ``Models/PackageToUpload.cs``, ``Models/UpgradeType.cs``: only Full
and Web). The docs name two more formats (``dataminer/Administrator_guide/DataMiner_Agents/
DataMiner_packages.md``): a ``.dmupdate`` *update* package holds only the files changed since
its base version (the smaller CU package of the MOP), and hotfixes come as upgrade packages of
their own. Prerequisite-only packages (``VerifyClusterPorts.dmupgrade``, ``NATSMigration -
Prerequisite only.dmupgrade``) only run checks; ``NATSMigration.dmupgrade`` runs the
BrokerGateway migration on every Agent without a restart
(``dataminer/DataMiner_Tools/BrokerGateway_Migration.md``).

The planner writes names with :func:`upgrade_package_name`; the package store, the hotfix
picker, the adapters and the executor read them with :func:`parse_package`, so a name the
planner writes always reads back as the version it installs (issue #12).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

VERIFY_CLUSTER_PORTS = "VerifyClusterPorts.dmupgrade"
VERIFY_GRPC_CONNECTION = "VerifyGRPCConnection.dmupgrade"
NATS_MIGRATION_CHECKS = "NATSMigration - Prerequisite only.dmupgrade"
NATS_MIGRATION = "NATSMigration.dmupgrade"

StepPackage = Literal["full", "cu"]


class PackageKind(StrEnum):
    """What installing a package does to an Agent."""

    FULL = "full"  # a new DataMiner version (Full Upgrade); DataMiner restarts
    WEB = "web"  # web apps and web API only; no restart, version unchanged
    UPDATE = "update"  # .dmupdate: a new version from the changed files only; DataMiner restarts
    PREREQUISITE = "prerequisite"  # checks only (VerifyClusterPorts.dmupgrade); nothing changes
    MIGRATION = "migration"  # NATSMigration.dmupgrade: BrokerGateway migration, no restart
    OTHER = "other"  # a hotfix or partial package: DataMiner restarts, version unchanged
    NOT_AN_UPGRADE = "not_an_upgrade"  # not a .dmupgrade/.dmupdate file; DataMiner refuses it

    @property
    def restarts_dataminer(self) -> bool:
        return self in (PackageKind.FULL, PackageKind.UPDATE, PackageKind.OTHER)

    @property
    def changes_version(self) -> bool:
        return self in (PackageKind.FULL, PackageKind.UPDATE)


class PackageName(BaseModel):
    """A file name read by the grammar. ``version`` is the raw version the package installs, in
    the form agents report (``10.4.0.0-16001-CU21``); ``check`` the check a prerequisite-only
    package runs (``VerifyClusterPorts``)."""

    model_config = ConfigDict(frozen=True)

    kind: PackageKind
    version: str | None = None
    check: str | None = None


_STEM = (
    r"DataMiner (?P<version>\d{1,3}(?:\.\d{1,3}){3})(?:\(CU(?P<cu>\d{1,3})\))?-(?P<build>\d{1,7})"
)
_UPGRADE = re.compile(
    _STEM + r" (?P<type>Full|Web) Upgrade(?: \((?:rc|internal)\))?\.dmupgrade", re.IGNORECASE
)
_UPDATE = re.compile(_STEM + r"(?: Update)?(?: \((?:rc|internal)\))?\.dmupdate", re.IGNORECASE)
_PREREQUISITE_ONLY = re.compile(r"^Verify\w*\.dmupgrade$|prerequisite only", re.IGNORECASE)
_EXTENSIONS = (".dmupgrade", ".dmupdate")


def is_upgrade_package(name: str) -> bool:
    """Whether DataMiner would install the file at all (an upgrade or update package)."""
    folded = name.casefold()
    return any(folded.endswith(ext) and len(name) > len(ext) for ext in _EXTENSIONS)


def parse_package(name: str) -> PackageName:
    """Classify a file name; an unreadable name is a hotfix (``OTHER``), never an error."""
    if not is_upgrade_package(name):
        return PackageName(kind=PackageKind.NOT_AN_UPGRADE)
    if match := _UPGRADE.fullmatch(name):
        if match["type"].casefold() == "web":
            return PackageName(kind=PackageKind.WEB)
        return PackageName(kind=PackageKind.FULL, version=_raw(match))
    if match := _UPDATE.fullmatch(name):
        return PackageName(kind=PackageKind.UPDATE, version=_raw(match))
    if name.casefold() == NATS_MIGRATION.casefold():
        return PackageName(kind=PackageKind.MIGRATION)
    if _PREREQUISITE_ONLY.search(name):
        check = name.rsplit(".", 1)[0].split(" - ")[0].strip()
        return PackageName(kind=PackageKind.PREREQUISITE, check=check)
    return PackageName(kind=PackageKind.OTHER)


def is_hotfix(name: str) -> bool:
    """Whether a file can be attached at G2 to install after the path: a hotfix or a web
    upgrade (no version change), or an app package, which "can be installed in the same way as
    a .dmupgrade package" (DataMiner_packages.md). Full and update packages change the version,
    and prerequisite or migration packages belong to the path itself: never hotfixes."""
    if name.casefold().endswith(".dmapp") and len(name) > len(".dmapp"):
        return True
    return parse_package(name).kind in (PackageKind.OTHER, PackageKind.WEB)


_NAMED_VERSION = re.compile(
    r"(?<![\d.])(?P<major>\d{1,2})\.(?P<minor>\d{1,2})\.(?P<feature>\d{1,2})(?:\.\d{1,3})?"
    r"(?:\s*\(?CU\s?(?P<cu>\d{1,3})\)?)?",
    re.IGNORECASE,
)


def hotfix_refusal(name: str, target: tuple[int, int, int, int | None]) -> str | None:
    """Why ``name`` may not be attached at G2 as a hotfix for a window whose target is
    ``target`` (major, minor, feature, CU); None when it may. A package that changes the
    version, or belongs to the path itself, is never a hotfix: installing it after the last
    step would be an upgrade nobody approved."""
    kind = parse_package(name).kind
    if kind.changes_version:
        return (
            f"{name} is a {'full upgrade' if kind is PackageKind.FULL else 'update'} package: it "
            "changes the DataMiner version, which only a planned step of the window may do"
        )
    if kind in (PackageKind.PREREQUISITE, PackageKind.MIGRATION):
        return f"{name} belongs to the upgrade path itself (it is planned where it is needed)"
    if not is_hotfix(name):
        return f"{name} is not a package DataMiner installs (.dmupgrade or .dmapp)"
    if match := _NAMED_VERSION.search(name):
        number = (int(match["major"]), int(match["minor"]), int(match["feature"]))
        cu = int(match["cu"]) if match["cu"] is not None else None
        wrong_number = number != target[:3]
        wrong_cu = cu is not None and target[3] is not None and cu != target[3]
        if wrong_number or wrong_cu:
            shown = ".".join(map(str, target[:3])) + (
                f" CU{target[3]}" if target[3] is not None else ""
            )
            return f"{name} names another version than the window's target {shown}"
    return None


def hotfix_description(name: str) -> str:
    """What a hotfix-picker option is, in a few words."""
    if name.casefold().endswith(".dmapp"):
        return "App package, installed like an upgrade package"
    if parse_package(name).kind is PackageKind.WEB:
        return "Web upgrade: web apps and web API only, no restart"
    return "Hotfix: the version stays, DataMiner restarts"


def _raw(match: re.Match[str]) -> str:
    cu = f"-CU{int(match['cu'])}" if match["cu"] is not None else ""
    return f"{match['version']}-{match['build']}{cu}"


def upgrade_package_name(
    number: tuple[int, int, int], cu: int, build: int | None, step: StepPackage = "full"
) -> str:
    """The file a plan step needs for release ``number`` (``(10, 5, 0)``) CU ``cu``.

    The name always carries the ``(CU<n>)`` tag, CU0 included (as Skyline's own
    ``DataMiner 10.5.5.0(CU0)-15664 Full Upgrade (internal).dmupgrade`` does), because the CU
    cannot be read from ``x.y.0.0`` and so the name reads back as exactly its release. A
    build the catalog lacks is written ``*`` so the package store can match the file with a
    glob. ``step="cu"`` names the smaller update package of the same release: Skyline's stem
    with the documented ``.dmupdate`` extension.
    """
    major, minor, feature = number
    stem = f"DataMiner {major}.{minor}.{feature}.0(CU{cu})-{'*' if build is None else build}"
    return f"{stem}.dmupdate" if step == "cu" else f"{stem} Full Upgrade.dmupgrade"
