"""Upgrade paths: the package steps from what a cluster runs to the release people chose.

The rules are the docs' (facts §1, ``.../Upgrading_a_DMA/Preparing_to_upgrade_a_DataMiner_Agent.md``
and ``.../Upgrading_a_DataMiner_Agent.md``; the newer guidance wins over the MOP's 9.6 example):

1. 9.6.x, or 10.0.0 before CU19: the next major version is 10.0.0 CU19 (within 10.0 no
   intermediate CU is needed, so 10.0.0 CU5 → CU20 is one step).
2. When skipping main releases, stop on the latest CU of each intermediate one.
3. From before 10.1, skip 10.1 and go to 10.2; 10.0.x → 10.2.x runs ``VerifyClusterPorts.dmupgrade``
   first; a step into 10.5.10+/10.6.0+ runs ``VerifyGRPCConnection.dmupgrade`` first.
4. Into 10.6 or later only through a 10.5 at or above 10.5.0 CU11/10.5.12 CU2, where the renewed
   migration guide says to migrate (``dataminer/DataMiner_Tools/BrokerGateway_Migration.md``:
   "Avoid migrating … lower than 10.5.0 [CU11]/10.5.12 [CU2]"); a cluster on a lower 10.5 first
   stops on the latest 10.5. The step into 10.6 runs the prerequisite-only package, then
   ``NATSMigration.dmupgrade`` itself, as items of their own.
5. From an FR, the MR with the same minor is skipped (10.4.12 → 10.5.0 is fine).
6. No downgrades, not even possible ones: an agent build the catalog cannot place could be any
   CU of its release, so only a plan that is above all of them, and the same from each, is
   made; a cluster on mixed versions is reported, never guessed around.

Packages are full packages by default: Update Center CU packages lack the BPA executor on
10.4.0+ (facts §2, ``KI_Unable_to_perform_a_DataMiner_upgrade_via_Update_Center.md``), and the
smaller CU package is only acceptable within one main release (MOP), so ``allow_cu_packages``
opts into it for such steps. File names: see ``catalog.package_name``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

from bot.domain import path_notes as say
from bot.domain.catalog import Catalog, Release, package_name
from bot.domain.errors import DowngradeRefused, MixedVersionCluster, NoUpgradePath, UnplacedBuild
from bot.domain.known_issues import KnownIssueMatch, KnownIssues, Transition
from bot.domain.path_notes import (
    NATS_MIGRATION,
    NATS_MIGRATION_CHECKS,
    VERIFY_CLUSTER_PORTS,
    VERIFY_GRPC_CONNECTION,
)
from bot.domain.prerequisite_checks import new_checks
from bot.domain.requirements import Requirements, attributed, requirements_for
from bot.domain.versions import ReleaseKind, Version, parse_version

__all__ = [
    "NATS_MIGRATION",
    "NATS_MIGRATION_CHECKS",
    "VERIFY_CLUSTER_PORTS",
    "VERIFY_GRPC_CONNECTION",
    "PlanStep",
    "UpgradePlan",
    "cluster_release",
    "plan_upgrade",
]

_MAIN, _FEATURE = ReleaseKind.MAIN, ReleaseKind.FEATURE
_CU19 = Version(kind=_MAIN, major=10, minor=0, cu=19)
# Where the BrokerGateway migration should run (BrokerGateway_Migration.md, renewed July 2026).
_BROKER_HOST = {
    _MAIN: Version(kind=_MAIN, major=10, minor=5, cu=11),
    _FEATURE: Version(kind=_FEATURE, major=10, minor=5, feature=12, cu=2),
}
# From 10.5.10 (FR) and 10.6.0 (MR) every upgrade runs the VerifyGRPCConnection check.
_GRPC_FROM = {
    _MAIN: Version(kind=_MAIN, major=10, minor=6, cu=0),
    _FEATURE: Version(kind=_FEATURE, major=10, minor=5, feature=10),
}
_L100, _L101, _L102, _L104, _L105, _L106 = (10, 0), (10, 1), (10, 2), (10, 4), (10, 5), (10, 6)


class PlanStep(BaseModel):
    """One package installed on every agent of the cluster at once."""

    model_config = ConfigDict(frozen=True)

    number: int
    from_label: str
    to_label: str
    release: Release
    package: str
    package_kind: Literal["full", "cu"]
    prerequisite_packages: list[str]
    requirements: Requirements
    notes: list[str]


class UpgradePlan(BaseModel):
    """The whole path; JSON-safe through ``model_dump(mode="json")`` and ``model_validate``."""

    model_config = ConfigDict(frozen=True)

    current: Release
    target: Release
    steps: list[PlanStep]
    warnings: list[str]
    known_issues: list[KnownIssueMatch]


class _Stop(NamedTuple):
    release: Release
    notes: list[str]


class _Path(NamedTuple):
    steps: tuple[PlanStep, ...]
    warnings: tuple[str, ...]
    transitions: tuple[Transition, ...]


def plan_upgrade(
    catalog: Catalog,
    agent_versions: Mapping[str, str],
    target: Release,
    known_issues: KnownIssues | None = None,
    *,
    allow_cu_packages: bool = False,
    today: date | None = None,
    stated: str | None = None,
) -> UpgradePlan:
    """Plan the upgrade of a cluster whose agents report ``agent_versions`` (name → raw).
    With ``today`` the plan also warns when the target is out of support. ``stated`` is the
    release a person says the agents run (config ``current_release``), used only when the
    catalog cannot place their build."""
    current = cluster_release(catalog, agent_versions)
    if stated is not None and current.lowest is not None:
        current = _stated_release(catalog, current, stated)
    path = _cached_path(catalog, current, target, allow_cu_packages)
    matches = known_issues.match(path.transitions, len(agent_versions)) if known_issues else []
    support = _support_warning(catalog, target, today) if today else []
    return UpgradePlan(
        current=current,
        target=target,
        steps=list(path.steps),
        warnings=[*path.warnings, *support, *(m.message for m in matches)],
        known_issues=matches,
    )


def _stated_release(catalog: Catalog, current: Release, stated: str) -> Release:
    """The configured release in place of an unplaced build, if it is a release of that number."""
    version = parse_version(stated)
    if (version.major, version.minor, version.feature) != current.number:
        raise NoUpgradePath(
            f"The config's current_release {version.label} is not a release of "
            f"{_number(current)}, which the agents run ({current.label}); correct it."
        )
    known = catalog.find(version)
    label = f"{version.without_build.label} (build {current.build}, per the config)"
    return Release(
        version=version.without_build,
        label=label,
        build=current.build,
        builds=known.builds if known else (),
        exact=False,
    )


def _support_warning(catalog: Catalog, target: Release, today: date) -> list[str]:
    """D20: the lifecycle dates of the target's main release, when it is past them."""
    life = catalog.lifecycles.get(target.version.line)
    if target.kind is not _MAIN or life is None or today <= life.supported_until:
        return []
    line = target.version.line_label
    if today > life.limited_support_until:
        return [say.UNSUPPORTED_LIMITED.format(line=line, limited=life.limited_support_until)]
    until, limited = life.supported_until, life.limited_support_until
    return [say.UNSUPPORTED.format(line=line, until=until, limited=limited)]


def cluster_release(catalog: Catalog, agent_versions: Mapping[str, str]) -> Release:
    """The one release all agents run; MixedVersionCluster when they disagree (facts §1: mixed
    versions "can potentially cause severe data corruption")."""
    if not agent_versions:
        raise NoUpgradePath("No agent reported a version, so there is nothing to plan from.")
    found = {catalog.identify(raw) for raw in agent_versions.values()}
    if len(found) > 1:
        raise MixedVersionCluster({name: raw.strip() for name, raw in agent_versions.items()})
    return found.pop()


@lru_cache(maxsize=16384)
def _cached_path(catalog: Catalog, current: Release, target: Release, allow_cu: bool) -> _Path:
    """Everything about a path that does not depend on the agents' names or the issue list."""
    if current.lowest is not None and target.number == current.number:
        reason = f"{target.label} could be at or below the CU it runs"
        raise UnplacedBuild(_unplaced_label(current), _number(current), reason)
    _check(current, target)
    stops = _stops(catalog, current, target)
    if current.lowest is not None:
        _check_unplaced(catalog, current, target, stops)
    steps: list[PlanStep] = []
    transitions: list[Transition] = []
    previous = current
    for number, stop in enumerate(stops, start=1):
        step = _step(number, previous, stop, allow_cu)
        label = f"{step.from_label} → {step.to_label}"
        transitions.append(
            Transition(number, previous.version, stop.release.version, label, step.package_kind)
        )
        steps.append(step)
        previous = stop.release
    return _Path(tuple(steps), tuple(_warnings(current, steps)), tuple(transitions))


def _check(current: Release, target: Release) -> None:
    if target.preview:
        raise NoUpgradePath(
            f"{target.label} is a preview in the release catalog, not a released version; "
            "upgradebot only plans upgrades to released versions."
        )
    if target.version <= current.version:
        raise DowngradeRefused(current.label, target.label)


def _check_unplaced(
    catalog: Catalog, current: Release, target: Release, stops: list[_Stop]
) -> None:
    """An unplaced build runs some release from ``current.lowest`` to ``current.version`` (or a
    CU newer than the catalog): plan only when the path from its lowest possible release stops
    on the same releases as the path from its highest."""
    low = current.model_copy(update={"version": current.lowest, "lowest": None})
    from_low = [s.release.version for s in _stops(catalog, low, target)]
    if from_low != [s.release.version for s in stops]:
        needed = ", ".join(v.label for v in from_low if v <= current.version) or "other stops"
        reason = f"from a lower CU the path would need {needed}, which could be a downgrade"
        raise UnplacedBuild(_unplaced_label(current), _number(current), reason)


def _number(release: Release) -> str:
    return ".".join(str(part) for part in release.number)


def _unplaced_label(release: Release) -> str:
    return release.label


def _stops(catalog: Catalog, current: Release, target: Release) -> list[_Stop]:
    """The releases the path stops on, each with the reasons it is there."""
    start, goal = current.version, target.version
    stops = _early_stops(catalog, current, target)
    position = stops[-1].release.version if stops else start
    pending: list[str] = []
    for line in _between(catalog, position.line, goal.line):
        if line == _L101 and start.line < _L101:
            pending.append(say.SKIP_101)
            continue
        notes = [say.LATEST.format(_label(line))]
        if line == _L105 and goal.line >= _L106:
            notes.append(say.BROKER_STOP)
        stops.append(_Stop(_latest_cu(catalog, line, goal), [*pending, *notes]))
        pending = []
    last = stops[-1].release.version if stops else start
    stops.append(_Stop(target, [*pending, _target_note(last, goal)]))
    if start.kind is _FEATURE:  # rule 5: say so on the step that leaves the FR's line
        leaving = [i for i, s in enumerate(stops) if s.release.version.line > start.line][:1]
        for i in leaving:
            fr = stops[i - 1].release.label if i else current.label
            skip = say.FR_SKIP.format(fr, start.line_label, start.line_label)
            stops[i] = _Stop(stops[i].release, [skip, *stops[i].notes])
    return stops


def _early_stops(catalog: Catalog, current: Release, target: Release) -> list[_Stop]:
    """Rule 1 (10.0.0 CU19) and rule 4 when the cluster is on a 10.5 below 10.5.0 CU11/10.5.12
    CU2."""
    start, goal = current.version, target.version
    stops: list[_Stop] = []
    if start < _CU19 and (goal.line > _L100 or (goal.line == _L100 and start.line < _L100)):
        if goal < _CU19 and start.line < _L100:
            raise NoUpgradePath(
                f"From {current.label} the next step must be 10.0.0 CU19; choose 10.0.0 CU19 "
                "or later as the target."
            )
        if goal > _CU19:
            notes = [say.CU19.format(current.label)]
            notes += [say.PORTS] if start.line < _L100 else []
            stops.append(_Stop(_require(catalog.find(_CU19), "10.0.0 CU19"), notes))
    if start.line == _L105 and goal.line >= _L106 and not _broker_ready(start):
        latest = catalog.latest_cu(_L105) if start.kind is _MAIN else catalog.latest_feature(_L105)
        release = _require(latest, "released 10.5 at or above 10.5.0 CU11/10.5.12 CU2")
        if not _broker_ready(release.version):
            raise NoUpgradePath("The catalog has no 10.5 at or above 10.5.0 CU11/10.5.12 CU2.")
        stops.append(_Stop(release, [say.BROKER_STOP]))
    return stops


def _between(
    catalog: Catalog, low: tuple[int, int], high: tuple[int, int]
) -> list[tuple[int, int]]:
    """Main-release numbers strictly between two; a gap in the catalog is an error, never a skip."""
    lines = [line for line in catalog.lines() if low < line < high]
    for a, b in zip([low, *lines], [*lines, high], strict=True):
        if a[0] == b[0] and b[1] - a[1] > 1:
            raise NoUpgradePath(
                f"The release catalog lists nothing for main release {a[0]}.{a[1] + 1}, which a "
                "path from "
                f"{_label(low)} to {_label(high)} must pass; add it to the catalog first."
            )
    return lines


def _latest_cu(catalog: Catalog, line: tuple[int, int], goal: Version) -> Release:
    release = _require(catalog.latest_cu(line), f"released CU of main release {_label(line)}")
    if line == _L105 and goal.line >= _L106 and not _broker_ready(release.version):
        raise NoUpgradePath(
            "The catalog has no 10.5 CU at or above CU11 for the BrokerGateway migration."
        )
    return release


def _broker_ready(version: Version) -> bool:
    return version >= _BROKER_HOST[version.kind]


def _grpc_checked(version: Version) -> bool:
    return version >= _GRPC_FROM[version.kind] and version.line >= _L105


def _require(release: Release | None, what: str) -> Release:
    if release is None:
        raise NoUpgradePath(f"The release catalog has no {what}, which this path needs.")
    return release


def _label(line: tuple[int, int]) -> str:
    return f"{line[0]}.{line[1]}"


def _target_note(last: Version, goal: Version) -> str:
    if last.line != goal.line:
        return say.TARGET
    if last.kind is _MAIN and goal.kind is _MAIN:
        return say.SAME_MR
    if last.kind is _FEATURE:
        return say.SAME_FR.format(goal.line_label)
    return say.TO_FR


def _step(number: int, previous: Release, stop: _Stop, allow_cu: bool) -> PlanStep:
    release = stop.release
    before, after = previous.version, release.version
    same_main = before.kind is _MAIN and after.kind is _MAIN and before.line == after.line
    kind: Literal["full", "cu"] = "cu" if allow_cu and same_main else "full"
    notes = list(stop.notes)
    prerequisites: list[str] = []
    if before.line == _L100 and after.line >= _L102:
        prerequisites.append(VERIFY_CLUSTER_PORTS)
        notes.append(say.VCP)
    if before.line <= _L105 and after.line >= _L106:
        prerequisites += [NATS_MIGRATION_CHECKS, NATS_MIGRATION]
        notes.append(say.NATS)
    if not _grpc_checked(before) and _grpc_checked(after):
        prerequisites.append(VERIFY_GRPC_CONNECTION)
        notes.append(say.GRPC)
    if kind == "cu":
        notes.append(say.CU_PKG)
    elif same_main:
        notes.append(say.FULL_SAME if after.line >= _L104 else say.FULL_OLD)
    if checks := new_checks(before, after):
        notes.append(say.NEW_CHECKS.format(", ".join(checks)))
    if release.build is None:
        notes.append(say.NO_BUILD.format(release.label))
    requirements = attributed(requirements_for(after), f"step {number}: {release.label}")
    if NATS_MIGRATION in prerequisites:  # the automatic migration needs ASP.NET Core 10 itself
        migration = f"step {number}: the BrokerGateway migration before {release.label}"
        needed_by = {**requirements.needed_by, "aspnet_core:10": migration}
        requirements = requirements.model_copy(update={"needed_by": needed_by})
    return PlanStep(
        number=number,
        from_label=previous.label,
        to_label=release.label,
        release=release,
        package=package_name(release, kind),
        package_kind=kind,
        prerequisite_packages=prerequisites,
        requirements=requirements,
        notes=notes,
    )


def _warnings(current: Release, steps: list[PlanStep]) -> list[str]:
    """Plan-wide sentences: an unplaced or unlisted current version, the migration, tool choice."""
    out: list[str] = []
    if current.lowest is not None:
        v = current.version
        out.append(
            say.UNPLACED.format(
                build=current.build or "?",
                number=f"{v.major}.{v.minor}.{v.feature}",
                low=current.lowest.label,
                high=v.label,
            )
        )
    elif current.label.endswith("per the config)"):
        out.append(say.STATED.format(label=current.label))
    elif not current.exact:
        out.append(say.APPROXIMATE.format(label=current.label))
    for step in steps:
        if NATS_MIGRATION in step.prerequisite_packages:
            out.append(
                f"This path crosses into {step.release.version.line_label}: migrate the cluster to "
                f"BrokerGateway on {step.from_label} before step {step.number} (mandatory)."
            )
    if len({current.version.line, *(s.release.version.line for s in steps)}) > 2:
        out.append(say.MULTI_MAJOR)
    return out
