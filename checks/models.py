"""What a pre- or post-check looks at (a ``ClusterSnapshot``), how it is tuned (``CheckSettings``)
and what it says (``CheckResult``). Everything here is frozen data: the shell gathers a snapshot
once, and every check is a function of it, so a re-run over the same snapshot says the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.agents.models import AgentRequirements, AlarmSummary, Cluster, Severity

_FROZEN = ConfigDict(frozen=True)

GIB = 1024**3
"""Windows shows free disk in binary units and labels them "GB"; so do we."""


class CheckStatus(StrEnum):
    """How a check came out. ``fail`` and ``error`` both block a gate: ``error`` means the check
    could not run (an input could not be read), and an unknown is never taken for a pass.

    Worst first is ``error``, ``fail``, ``warn``, ``pass``: an error can hide any number of
    failures, and its input has to be repaired before the check means anything.
    """

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """0 for the worst (``error``); a higher number is better."""
        return _RANKS[self]

    @property
    def blocks(self) -> bool:
        """Whether this outcome keeps a gate closed until someone fixes or waives it."""
        return self in (CheckStatus.FAIL, CheckStatus.ERROR)


_RANKS = {CheckStatus.ERROR: 0, CheckStatus.FAIL: 1, CheckStatus.WARN: 2, CheckStatus.PASS: 3}


class CheckResult(BaseModel):
    """One check's verdict. ``key`` is stable across runs (``agents_running``), so two runs can be
    compared; ``summary`` is the one line a person reads; ``details`` the lines behind it.

    ``facts`` is the state of each thing the check looked at (agent name -> ``running``), which
    ``describe_changes`` compares between two runs. It is not part of the evidence digest: the
    details say the same in words.
    """

    model_config = _FROZEN

    key: str
    title: str
    status: CheckStatus
    summary: str
    details: list[str] = Field(default_factory=list)
    facts: dict[str, str] = Field(default_factory=dict)


class PackageState(BaseModel):
    """One needed package as found in the package store.

    ``name`` is the name the plan asks for; it may be a glob (``DataMiner 10.2.0.0(CU21)-* Full
    Upgrade.dmupgrade``) when the catalog lacks the build, and ``file`` is then the file that
    matched. ``candidates`` lists the files when several match, which counts as not present.
    ``first_seen*`` come from the record made the first time that file was seen.
    """

    model_config = _FROZEN

    name: str
    present: bool
    size: int | None = None
    sha256: str | None = None
    changed_since_first_seen: bool = False
    first_seen_sha256: str | None = None
    first_seen_size: int | None = None
    first_seen: datetime | None = None
    file: str | None = None
    directory: str | None = None
    candidates: list[str] = Field(default_factory=list)


class ClusterSnapshot(BaseModel):
    """Everything the checks read, gathered at ``taken_at``. A field is None when its read failed,
    and ``errors`` says why, keyed by the field name (``{"requirements": "No answer within 5 s on
    DataMiner Agent dma-lab-02 while reading installed software."}``)."""

    model_config = _FROZEN

    system: str
    taken_at: datetime
    cluster: Cluster | None = None
    alarms: AlarmSummary | None = None
    requirements: list[AgentRequirements] | None = None
    backups: dict[str, datetime | None] | None = None
    packages: list[PackageState] | None = None
    errors: dict[str, str] = Field(default_factory=dict)
    manual: dict[str, str] = Field(default_factory=dict)  # part -> what a person checks by hand

    def reason(self, part: str) -> str:
        """Why ``part`` is missing, as a sentence."""
        what = _PARTS.get(part, f"{part} was")
        return self.errors.get(part) or f"{self.system}: {what} not read."


_PARTS = {
    "cluster": "the cluster's agents were",
    "alarms": "active alarms were",
    "requirements": "installed software was",
    "backups": "backup times were",
    "packages": "the package store was",
}


class KeyCheckKind(StrEnum):
    """What a key-functionality check can ask of a snapshot."""

    AGENT_RUNNING = "agent_running"  # agent: that Agent is present and Running
    NO_ALARMS_ON_ELEMENT = "no_alarms_on_element"  # element, severity_at_least (default major)
    MAX_ACTIVE_ALARMS = "max_active_alarms"  # severity (this severity or worse), max


_KIND_FIELDS: dict[KeyCheckKind, tuple[set[str], set[str]]] = {
    # kind: (required fields, allowed optional fields)
    KeyCheckKind.AGENT_RUNNING: ({"agent"}, set()),
    KeyCheckKind.NO_ALARMS_ON_ELEMENT: ({"element"}, {"severity_at_least"}),
    KeyCheckKind.MAX_ACTIVE_ALARMS: ({"severity", "max"}, set()),
}
_OPTIONAL_FIELDS = {"agent", "element", "severity_at_least", "severity", "max"}


class KeyCheck(BaseModel):
    """A key functionality a team wants confirmed before and after an upgrade, from the system's
    ``key_checks`` in the config file::

        - {name: Encoder A has no major alarm, kind: no_alarms_on_element, element: Encoder A,
           severity_at_least: major}
        - {name: Main agent runs, kind: agent_running, agent: dma-lab-01}
        - {name: No critical alarms, kind: max_active_alarms, severity: critical, max: 0}

    ``max_active_alarms`` counts alarms of ``severity`` *or worse*. Each kind takes exactly its
    own fields; anything else is a config error that names the field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    kind: KeyCheckKind
    agent: str | None = None
    element: str | None = None
    severity_at_least: Severity | None = None
    severity: Severity | None = None
    max: int | None = Field(default=None, ge=0)

    @field_validator("kind", mode="before")
    @classmethod
    def _known_kind(cls, value: Any) -> Any:
        known = [kind.value for kind in KeyCheckKind]
        if value not in known:
            raise ValueError(f"unknown key check kind {value!r}; use one of: {', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> KeyCheck:
        required, optional = _KIND_FIELDS[self.kind]
        given = {field for field in _OPTIONAL_FIELDS if getattr(self, field) is not None}
        if missing := sorted(required - given):
            raise ValueError(
                f"key check {self.name!r} of kind {self.kind.value} needs {', '.join(missing)}"
            )
        if extra := sorted(given - required - optional):
            raise ValueError(
                f"key check {self.name!r} of kind {self.kind.value} does not take "
                f"{', '.join(extra)}"
            )
        return self

    @property
    def threshold(self) -> Severity:
        """The least severe alarm that counts against this check."""
        return self.severity_at_least or self.severity or Severity.MAJOR


class CheckSettings(BaseModel):
    """How strict the checks are, and the time they judge ages against (the shell's clock).

    Disk thresholds follow DataMiner's health guidelines (free disk: warning below 10 GB,
    critical below 5 GB, facts §8), applied to what is left *after* the packages are copied and
    extracted. ``package_bytes_needed`` overrides that need; by default it is twice the size of
    the packages in the store (the upload, then its extraction [I]).
    """

    model_config = ConfigDict(frozen=True)

    now: datetime
    backup_max_age: timedelta = timedelta(days=7)
    key_checks: list[KeyCheck] = Field(default_factory=list)
    disk_warn_bytes: int = Field(default=10 * GIB, ge=0)
    disk_fail_bytes: int = Field(default=5 * GIB, ge=0)
    package_bytes_needed: int | None = Field(default=None, ge=0)
    hotfixes: list[str] = Field(default_factory=list)
    # Since when every Agent was Running at every stored health read, up to now (the shell
    # reads it from the window's check runs); None when they are not all Running now.
    running_since: datetime | None = None

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("now must be an aware datetime")
        return value

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> CheckSettings:
        if self.disk_fail_bytes > self.disk_warn_bytes:
            raise ValueError("disk_fail_bytes must not exceed disk_warn_bytes")
        return self
