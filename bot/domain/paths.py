"""Upgrade paths: the package steps from what a cluster runs to the release people chose.

The rules are the docs' (facts §1, ``.../Upgrading_a_DMA/Preparing_to_upgrade_a_DataMiner_Agent.md``
and ``.../Upgrading_a_DataMiner_Agent.md``; the newer guidance wins over the MOP's 9.6 example):

1. 9.6.x, or 10.0.0 before CU19: the next step is 10.0.0 CU19.
2. When skipping main releases, stop on the latest CU of each intermediate one.
3. From before 10.1, skip 10.1 and go to 10.2; 10.0.x → 10.2.x runs ``VerifyClusterPorts.dmupgrade``
   first.
4. Into 10.6 or later only through a 10.5 at or above 10.5.0 CU2/10.5.5, with the BrokerGateway
   migration done there (``dataminer/DataMiner_Tools/BrokerGateway_Migration.md``).
5. From an FR, the MR with the same minor is skipped (10.4.12 → 10.5.0 is fine).
6. No downgrades; a cluster on mixed versions is reported, never guessed around.

Packages are full packages by default: Update Center CU packages lack the BPA executor on
10.4.0+ (facts §2, ``KI_Unable_to_perform_a_DataMiner_upgrade_via_Update_Center.md``), and the
smaller CU package is only acceptable within one main release (MOP), so ``allow_cu_packages``
opts into it for such steps. File names: see ``catalog.package_name``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

from bot.domain import path_notes as say
from bot.domain.catalog import Catalog, Release, package_name
from bot.domain.errors import DowngradeRefused, MixedVersionCluster, NoUpgradePath
from bot.domain.known_issues import KnownIssueMatch, KnownIssues, Transition
from bot.domain.path_notes import NATS_MIGRATION, VERIFY_CLUSTER_PORTS
from bot.domain.requirements import Requirements, attributed, requirements_for
from bot.domain.versions import ReleaseKind, Version

__all__ = [
    "NATS_MIGRATION",
    "VERIFY_CLUSTER_PORTS",
    "PlanStep",
    "UpgradePlan",
    "cluster_release",
    "plan_upgrade",
]

_MAIN, _FEATURE = ReleaseKind.MAIN, ReleaseKind.FEATURE
_CU19 = Version(kind=_MAIN, major=10, minor=0, cu=19)
_BROKER_MIN = {
    _MAIN: Version(kind=_MAIN, major=10, minor=5, cu=2),
    _FEATURE: Version(kind=_FEATURE, major=10, minor=5, feature=5),
}
_BROKER_TIP = {
    _MAIN: Version(kind=_MAIN, major=10, minor=5, cu=11),
    _FEATURE: Version(kind=_FEATURE, major=10, minor=5, feature=12, cu=2),
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
) -> UpgradePlan:
    """Plan the upgrade of a cluster whose agents report ``agent_versions`` (name → raw)."""
    current = cluster_release(catalog, agent_versions)
    path = _cached_path(catalog, current, target, allow_cu_packages)
    matches = known_issues.match(path.transitions, len(agent_versions)) if known_issues else []
    return UpgradePlan(
        current=current,
        target=target,
        steps=list(path.steps),
        warnings=[*path.warnings, *(m.message for m in matches)],
        known_issues=matches,
    )


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
    _check(current, target)
    steps: list[PlanStep] = []
    transitions: list[Transition] = []
    previous = current
    for number, stop in enumerate(_stops(catalog, current, target), start=1):
        step = _step(number, previous, stop, allow_cu)
        label = f"{step.from_label} → {step.to_label}"
        transitions.append(
            Transition(number, previous.version, stop.release.version, label, step.package_kind)
        )
        steps.append(step)
        previous = stop.release
    return _Path(tuple(steps), tuple(_warnings(catalog, current, steps)), tuple(transitions))


def _check(current: Release, target: Release) -> None:
    if target.preview:
        raise NoUpgradePath(
            f"{target.label} is a preview in the release catalog, not a released version; "
            "upgradebot only plans upgrades to released versions."
        )
    if target.version <= current.version:
        raise DowngradeRefused(current.label, target.label)


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
    """Rule 1 (10.0.0 CU19) and rule 4 when the cluster is on a 10.5 below 10.5.0 CU2/10.5.5."""
    start, goal = current.version, target.version
    stops: list[_Stop] = []
    if start < _CU19 and goal.line >= _L100:
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
        release = _require(latest, "released 10.5 at or above 10.5.0 CU2/10.5.5")
        if not _broker_ready(release.version):
            raise NoUpgradePath("The catalog has no 10.5 at or above 10.5.0 CU2/10.5.5.")
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
            "The catalog has no 10.5 CU at or above CU2 for the BrokerGateway migration."
        )
    return release


def _broker_ready(version: Version) -> bool:
    return version >= _BROKER_MIN[version.kind]


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
        prerequisites.append(NATS_MIGRATION)
        notes.append(say.NATS)
    if kind == "cu":
        notes.append(say.CU_PKG)
    elif same_main:
        notes.append(say.FULL_SAME if after.line >= _L104 else say.FULL_OLD)
    if release.build is None:
        notes.append(say.NO_BUILD.format(release.label))
    return PlanStep(
        number=number,
        from_label=previous.label,
        to_label=release.label,
        release=release,
        package=package_name(release, kind),
        package_kind=kind,
        prerequisite_packages=prerequisites,
        requirements=attributed(requirements_for(after), f"step {number}: {release.label}"),
        notes=notes,
    )


def _warnings(catalog: Catalog, current: Release, steps: list[PlanStep]) -> list[str]:
    """Plan-wide sentences: approximations, the BrokerGateway migration, tool choice."""
    out: list[str] = []
    if not current.exact:
        out.append(
            f"The release catalog cannot place {current.label} exactly; the plan assumes "
            f"{current.version.label}. Check the agents' version and add its build to the catalog."
        )
    for step in steps:
        if NATS_MIGRATION in step.prerequisite_packages:
            on = step.from_label
            out.append(
                f"This path crosses into {step.release.version.line_label}: migrate the cluster to "
                f"BrokerGateway on {on} before step {step.number} (mandatory)."
            )
            base = steps[step.number - 2].release.version if step.number > 1 else current.version
            if base < _BROKER_TIP[base.kind]:
                tip = (
                    catalog.latest_cu(_L105)
                    if base.kind is _MAIN
                    else catalog.latest_feature(_L105)
                )
                better = f" (e.g. {tip.label})" if tip else ""
                out.append(
                    f"The BrokerGateway migration guide recommends migrating on 10.5.0 CU11+ or "
                    f"10.5.12 CU2; {on} is older, so consider a 10.5 step up first{better}."
                )
    if len({current.version.line, *(s.release.version.line for s in steps)}) > 2:
        out.append(
            "This is a multi-major jump: install the packages through System Center or the "
            "Taskbar Utility, not the Update Center."
        )
    return out
