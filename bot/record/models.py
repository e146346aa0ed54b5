"""The change record's shape: what ``bot.record`` builds and renders, and the JSON it exports.

``ChangeRecord.schema_version`` changes whenever a field is renamed, removed or changes meaning;
new fields may appear without a bump.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.models import GateId

SCHEMA_VERSION = 1


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True)


class WindowPart(_Part):
    id: int
    system: str
    target: str
    state: str
    proposer: str
    created_at: datetime
    start_local: datetime
    start_utc: datetime
    end_local: datetime
    end_utc: datetime
    reason: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    channel: str | None = None
    message_ts: str | None = None


class AgentPart(_Part):
    name: str
    version: str = ""
    state: str = ""
    failover_partner: str | None = None


class StepPart(_Part):
    number: int
    from_label: str = ""
    to_label: str = ""
    package: str = ""
    package_kind: str | None = None
    prerequisite_packages: list[str] = Field(default_factory=list)


class PlanPart(_Part):
    current: str | None = None
    target: str | None = None
    agents: list[AgentPart] = Field(default_factory=list)
    steps: list[StepPart] = Field(default_factory=list)
    estimate_low_minutes: int | None = None
    estimate_high_minutes: int | None = None
    warnings: list[str] = Field(default_factory=list)


class AckPart(_Part):
    user: str
    decision: str
    at: datetime
    digest: str | None = None
    reason: str | None = None
    slack_action: str | None = None


class GatePart(_Part):
    gate: GateId
    title: str
    status: str  # open | passed | refused | not reached
    acknowledgements: list[AckPart]


class ResultPart(_Part):
    key: str = ""
    status: str = ""
    title: str = ""
    summary: str = ""


class CheckRunPart(_Part):
    id: int
    kind: str
    at: datetime
    digest: str
    results: list[ResultPart]


class UpgradeRunPart(_Part):
    """One adapter run (a triggered package step), gathered from the audit entries naming it."""

    run_id: str
    step: int | None = None
    package: str | None = None
    started_at: datetime
    last_action: str
    last_at: datetime
    actions: list[str]


class TimelinePart(_Part):
    id: int
    at: datetime
    actor: str
    action: str
    before_state: str | None = None
    after_state: str | None = None
    slack_action: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    hash: str = ""


class ChainPart(_Part):
    """The whole audit log's hash chain (all windows share one chain)."""

    ok: bool
    entries: int
    first_bad_id: int | None = None
    summary: str


class ChangeRecord(_Part):
    schema_version: int = SCHEMA_VERSION
    time_zone: str
    window: WindowPart
    thread_url: str | None = None
    audit_chain: ChainPart
    plan: PlanPart
    gates: list[GatePart]
    check_runs: list[CheckRunPart]
    upgrade_runs: list[UpgradeRunPart]
    timeline: list[TimelinePart]
