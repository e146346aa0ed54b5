"""DataMiner upgrade packages: what a ``.dmupgrade`` file is, read from its name with the one
grammar of ``bot.domain.package_names``, and the cluster's verdict on "Upload only" of such
files."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.package_names import PackageKind, is_upgrade_package, parse_package

__all__ = [
    "PackageFile",
    "PackageKind",
    "UploadReport",
    "UploadResult",
    "is_upgrade_package",
    "package_kind",
    "package_version",
    "prerequisite_check",
]

_FROZEN = ConfigDict(frozen=True)


def package_version(name: str) -> str | None:
    """The raw version a full or update package installs, or None for any other package.

    ``DataMiner 10.5.0.0-15230 Full Upgrade.dmupgrade`` -> ``10.5.0.0-15230``; a CU named in
    the file (``DataMiner 10.4.0.0(CU21)-16001 …``) is kept: ``10.4.0.0-16001-CU21``, the form
    agents report, since the CU cannot be derived from ``x.y.0.0`` (facts §1). The grammar is
    ``bot.domain.package_names``, shared with the planner.
    """
    return parse_package(name).version


def package_kind(name: str) -> PackageKind:
    return parse_package(name).kind


def prerequisite_check(name: str) -> str | None:
    """The check a prerequisite-only package runs: ``VerifyClusterPorts.dmupgrade`` ->
    ``VerifyClusterPorts``; ``NATSMigration - Prerequisite only.dmupgrade`` -> ``NATSMigration``.
    """
    return parse_package(name).check


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
