"""States, gates and the records the bot keeps about an upgrade window."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WindowState(StrEnum):
    """Where a window stands in the MOP. The terminal states never change again."""

    PROPOSED = "proposed"  # waiting for G1 (an approver's decision)
    APPROVED = "approved"  # G1 passed; G2 (details established) open
    PLANNED = "planned"  # G2 closed; waiting for the day-before pre-check and G3
    READY = "ready"  # G3 accepted; waiting for G4 (go) at the window's start
    EXECUTING = "executing"  # the bot is running the package steps
    VERIFYING = "verifying"  # post-checks ran; waiting for G5
    DONE = "done"  # verified
    FAILED = "failed"  # a step failed or verification found a problem
    CANCELLED = "cancelled"  # someone cancelled it with /upgrade cancel
    REJECTED = "rejected"  # an approver turned the proposal down at G1
    EXPIRED = "expired"  # a gate was still open at its deadline; nothing ran

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def is_open(self) -> bool:
        return not self.is_terminal


TERMINAL_STATES = frozenset(
    {
        WindowState.DONE,
        WindowState.FAILED,
        WindowState.CANCELLED,
        WindowState.REJECTED,
        WindowState.EXPIRED,
    }
)


class GateId(StrEnum):
    """The five acknowledgements of the MOP."""

    G1 = "G1"  # window approved
    G2 = "G2"  # details established
    G3 = "G3"  # pre-check accepted
    G4 = "G4"  # go
    G5 = "G5"  # verified


GATE_TITLES: dict[GateId, str] = {
    GateId.G1: "Window approved",
    GateId.G2: "Details established",
    GateId.G3: "Pre-check accepted",
    GateId.G4: "Go",
    GateId.G5: "Verified",
}


class GateStatus(StrEnum):
    OPEN = "open"
    PASSED = "passed"
    REFUSED = "refused"  # G1 rejected, G5 problem


class WindowEvent(StrEnum):
    """What can happen to a window; the gate table in gates.py says where each leads."""

    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"
    CLOSE_DETAILS = "close_details"
    ACCEPT_PRECHECK = "accept_precheck"
    REOPEN_PRECHECK = "reopen_precheck"
    GO = "go"
    EXECUTION_FINISHED = "execution_finished"
    EXECUTION_FAILED = "execution_failed"
    VERIFY = "verify"
    REPORT_PROBLEM = "report_problem"
    EXPIRE = "expire"
    REPLAN = "replan"  # the agents moved: the new plan goes back to G1 for a fresh approval
    POSTPONE = "postpone"  # a new start: re-planned and back to G1 for a fresh approval


class Blackout(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    start: datetime
    end: datetime


class Window(BaseModel):
    """One proposed upgrade of one system. Times are aware UTC."""

    model_config = ConfigDict(frozen=True)

    id: int
    system: str
    target: str
    start: datetime
    end: datetime
    state: WindowState
    proposer: str
    created_at: datetime
    channel: str | None = None
    message_ts: str | None = None
    plan: dict[str, Any] = Field(default_factory=dict)
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    revision: int = 0  # bumped on every stored change; guards concurrent writers

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def label(self) -> str:
        return f"#{self.id}"


class Acknowledgement(BaseModel):
    """A named person's decision on a gate, with the evidence they saw."""

    model_config = ConfigDict(frozen=True)

    id: int
    window_id: int
    gate: GateId
    user: str
    decision: str  # approve, reject, accept, waive, go, verify, problem, ...
    at: datetime
    digest: str | None = None
    reason: str | None = None
    slack_action: str | None = None


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    at: datetime
    actor: str
    action: str
    window_id: int | None = None
    slack_action: str | None = None
    before_state: str | None = None
    after_state: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""
