"""Known issues that bite during an upgrade, and matching them against a path.

Skyline publishes known issues as rows of "Affected versions | Resolved in" with free-text
ranges such as "10.5.0 [CU4]/10.5.7" (facts §7, ``dataminer/Troubleshooting/Known_issues/
Known_issues.md``). Our data file (``bot/data/known_issues.yml``) writes those ranges as explicit
bounds. An issue matches a step of a path when the step's destination is in ``affected`` and,
if given, its starting point is in ``upgrading_from``; conditions narrow it to small clusters
(``max_agents``), to clusters of several agents (``min_agents``) or to a package kind.
Failover-only issues carry ``scope: failover`` so a caller
that knows the system has no Failover pairs can drop them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.domain.errors import ConfigError, InvalidVersion
from bot.domain.sources import docs_url
from bot.domain.versions import ReleaseKind, Version, VersionRange

Scope = Literal["all", "failover"]


class Transition(NamedTuple):
    """One step of a path as the matcher sees it."""

    number: int
    source: Version
    target: Version
    label: str  # "10.4.2 → 10.5.0 CU3"
    package_kind: str


class _RangeEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    low: str | None = Field(default=None, alias="from")
    to: str | None = None
    before: str | None = None
    track: Literal["main", "feature", "any", "derive"] = "derive"

    def build(self) -> VersionRange:
        kind: ReleaseKind | Literal["any", "derive"]
        if self.track == "main":
            kind = ReleaseKind.MAIN
        elif self.track == "feature":
            kind = ReleaseKind.FEATURE
        else:
            kind = self.track
        return VersionRange.of(self.low, self.to, before=self.before, kind=kind)


class KnownIssue(BaseModel):
    """One published issue with the versions it concerns and what to do about it."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    affected: tuple[VersionRange, ...] = ()  # where a step lands
    upgrading_from: tuple[VersionRange, ...] = ()  # where a step starts; empty: anywhere
    resolved_in: tuple[str, ...] = ()
    advice: str
    source: str
    scope: Scope = "all"
    max_agents: int | None = None
    min_agents: int | None = None
    package_kind: Literal["full", "cu"] | None = None

    @property
    def url(self) -> str:
        """The published page of ``source`` on docs.dataminer.services."""
        return docs_url(self.source)

    def fits(self, agent_count: int) -> bool:
        """Whether a cluster of ``agent_count`` agents meets the size conditions."""
        if self.max_agents is not None and agent_count > self.max_agents:
            return False
        return self.min_agents is None or agent_count >= self.min_agents

    def concerns(self, step: Transition) -> bool:
        """Whether the step's versions and package kind are affected (cluster size aside)."""
        if self.affected and not any(step.target in r for r in self.affected):
            return False
        if self.upgrading_from and not any(step.source in r for r in self.upgrading_from):
            return False
        return self.package_kind is None or self.package_kind == step.package_kind


class KnownIssueMatch(BaseModel):
    """A known issue found on a plan, with the steps it concerns and a sentence to show."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    steps: list[int]
    transitions: list[str]
    advice: str
    resolved_in: list[str]
    source: str
    scope: Scope
    message: str


class _IssueEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    affected: list[_RangeEntry] = []
    upgrading_from: list[_RangeEntry] = []
    resolved_in: list[str] = []
    advice: str
    source: str
    scope: Scope = "all"
    max_agents: int | None = None
    min_agents: int | None = None
    package_kind: Literal["full", "cu"] | None = None

    @field_validator("resolved_in", mode="before")
    @classmethod
    def _texts(cls, value: object) -> object:
        return [str(v) for v in value] if isinstance(value, list) else value


class KnownIssues:
    """The known-issue list, matched per plan; results are memoised per path."""

    def __init__(self, issues: Sequence[KnownIssue]) -> None:
        self.issues = tuple(issues)
        self._memo: dict[tuple[tuple[Transition, ...], int], list[KnownIssueMatch]] = {}
        self._by_step: dict[tuple[Version, Version, str], tuple[KnownIssue, ...]] = {}
        # Agent counts above every size condition all match alike: one memo entry.
        sizes = [n for i in self.issues for n in (i.max_agents, i.min_agents) if n is not None]
        self._size_cap = max(sizes, default=0) + 1

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "known issues") -> KnownIssues:
        """Build from ``{"issues": [{id, title, affected: [{from, to|before, track}], ...}]}``."""
        entries = data.get("issues")
        if not isinstance(entries, list):
            raise ConfigError(f"{source}: `issues` must be a list.")
        issues = [_issue(entry, i, source) for i, entry in enumerate(entries)]
        ids = [issue.id for issue in issues]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ConfigError(f"{source}: issue id `{duplicates[0]}` is used twice.")
        return cls(issues)

    def match(self, steps: Sequence[Transition], agent_count: int) -> list[KnownIssueMatch]:
        """Every issue that concerns at least one step, in file order."""
        key = (tuple(steps), min(agent_count, self._size_cap))
        found = self._memo.get(key)
        if found is None:
            hits: dict[str, list[Transition]] = {}
            for step in steps:
                for issue in self._concerning(step):
                    if issue.fits(agent_count):
                        hits.setdefault(issue.id, []).append(step)
            found = [_match(issue, hits[issue.id]) for issue in self.issues if issue.id in hits]
            self._memo[key] = found
        return list(found)

    def _concerning(self, step: Transition) -> tuple[KnownIssue, ...]:
        """Issues concerning one transition; paths share steps, so this is memoised too."""
        key = (step.source, step.target, step.package_kind)
        found = self._by_step.get(key)
        if found is None:
            found = tuple(issue for issue in self.issues if issue.concerns(step))
            self._by_step[key] = found
        return found


def _match(issue: KnownIssue, hits: Sequence[Transition]) -> KnownIssueMatch:
    numbers = [s.number for s in hits]
    where = ", ".join(f"step {s.number} ({s.label})" for s in hits)
    prefix = "If the system has Failover pairs: " if issue.scope == "failover" else ""
    resolved = f" Resolved in {'/'.join(issue.resolved_in)}." if issue.resolved_in else ""
    message = (
        f"{prefix}known issue “{issue.title}” concerns {where}. {issue.advice}{resolved} "
        f"Source: {issue.url}"
    )
    return KnownIssueMatch(
        id=issue.id,
        title=issue.title,
        steps=numbers,
        transitions=[s.label for s in hits],
        advice=issue.advice,
        resolved_in=list(issue.resolved_in),
        source=issue.source,
        scope=issue.scope,
        message=message[0].upper() + message[1:],
    )


def _issue(entry: object, index: int, source: str) -> KnownIssue:
    where = f"{source}: issues[{index}]"
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where} must be a mapping with id, title, affected, advice, source.")
    where += f" (`{entry.get('id', '?')}`)"
    try:
        parsed = _IssueEntry.model_validate(dict(entry))
        affected = tuple(r.build() for r in parsed.affected)
        upgrading_from = tuple(r.build() for r in parsed.upgrading_from)
    except ValidationError as exc:
        problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{where}: {problem}.") from None
    except (InvalidVersion, ValueError) as exc:
        raise ConfigError(f"{where}: a range is wrong: {exc}") from None
    if not affected and not upgrading_from:
        raise ConfigError(f"{where}: give `affected` or `upgrading_from` versions.")
    return KnownIssue(
        id=parsed.id,
        title=parsed.title,
        affected=affected,
        upgrading_from=upgrading_from,
        resolved_in=tuple(parsed.resolved_in),
        advice=parsed.advice,
        source=parsed.source,
        scope=parsed.scope,
        max_agents=parsed.max_agents,
        min_agents=parsed.min_agents,
        package_kind=parsed.package_kind,
    )
