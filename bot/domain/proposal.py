"""What a proposal is: the request a person typed, and the details stored with the window so
every later message (G2, the go, the change record) shows the same agents, plan and estimate."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel

from bot.domain.catalog import Release
from bot.domain.estimates import DurationEstimate
from bot.domain.paths import UpgradePlan


class AgentLine(BaseModel):
    name: str
    version: str
    raw_version: str
    state: str
    failover_partner: str | None = None


class ProposalDetails(BaseModel):
    """What the proposal showed, stored with the window so every later message agrees."""

    agents: list[AgentLine]
    plan: UpgradePlan
    estimate: DurationEstimate
    warnings: list[str]
    startup_source: str = ""


@dataclass(frozen=True)
class ProposalRequest:
    system: str
    target: Release
    start: datetime
    length: timedelta | None
    warnings: tuple[str, ...] = ()


def default_length(estimate: DurationEstimate) -> timedelta:
    """The estimate's upper bound rounded up to the next half hour."""
    half_hours = math.ceil(estimate.high / timedelta(minutes=30))
    return timedelta(minutes=30) * max(half_hours, 1)
