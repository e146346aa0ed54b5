"""What a proposal is: the request a person typed, and the details stored with the window so
every later message (G2, the go, the change record) shows the same agents, plan and estimate."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel

from bot.domain.catalog import Release
from bot.domain.estimates import DurationEstimate, estimate_duration
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
    # The start-up the estimate used (measured or configured); None in windows stored before
    # it was kept, whose estimate is then recomputed with the configured one.
    startup: timedelta | None = None


@dataclass(frozen=True)
class ProposalRequest:
    system: str
    target: Release
    start: datetime
    length: timedelta | None
    warnings: tuple[str, ...] = ()


def window_estimate(
    details: ProposalDetails, hotfix_count: int = 0, configured_startup: timedelta | None = None
) -> DurationEstimate:
    """The one estimate of a window, shown alike in the proposal, at G2 and in `/upgrade
    status`: the proposal's own, or, once hotfixes are attached, the same plan, agents and
    start-up with the hotfixes counted."""
    if not hotfix_count:
        return details.estimate
    startup = details.startup or configured_startup or timedelta(0)
    agents = max(len(details.agents), 1)
    return estimate_duration(details.plan, agents, startup, hotfix_count=hotfix_count)


def default_length(estimate: DurationEstimate) -> timedelta:
    """The estimate's upper bound rounded up to the next half hour."""
    half_hours = math.ceil(estimate.high / timedelta(minutes=30))
    return timedelta(minutes=30) * max(half_hours, 1)
