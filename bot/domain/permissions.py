"""Who may act at which gate: G1 is an approver's (and, with four eyes, not the proposer's),
G2 to G5 are an operator's, and a window may be cancelled by its proposer, an approver or an
operator. The shell resolves who belongs to which role (Slack user groups); this decides."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.models import GateId


class Role(StrEnum):
    APPROVERS = "approvers"
    OPERATORS = "operators"


GATE_ROLES: dict[GateId, Role] = {
    GateId.G1: Role.APPROVERS,
    GateId.G2: Role.OPERATORS,
    GateId.G3: Role.OPERATORS,
    GateId.G4: Role.OPERATORS,
    GateId.G5: Role.OPERATORS,
}
"""The role that owes each gate's acknowledgement."""


class Refusal(StrEnum):
    NOT_AN_APPROVER = "not an approver"
    FOUR_EYES = "the proposer may not approve their own window"
    NOT_AN_OPERATOR = "not an operator"
    MAY_NOT_CANCEL = "neither the proposer, an approver nor an operator"


@dataclass(frozen=True)
class Person:
    """One Slack user and the roles the shell found them in."""

    user: str
    is_approver: bool
    is_operator: bool


def gate_refusal(person: Person, gate: GateId, *, proposer: str, four_eyes: bool) -> Refusal | None:
    """Why ``person`` may not acknowledge ``gate``; None when they may."""
    if GATE_ROLES[gate] is Role.APPROVERS:
        if not person.is_approver:
            return Refusal.NOT_AN_APPROVER
        if four_eyes and person.user == proposer:
            return Refusal.FOUR_EYES
        return None
    return None if person.is_operator else Refusal.NOT_AN_OPERATOR


def cancel_refusal(person: Person, *, proposer: str) -> Refusal | None:
    """Why ``person`` may not cancel (or postpone) a window; None when they may."""
    if person.user == proposer or person.is_approver or person.is_operator:
        return None
    return Refusal.MAY_NOT_CANCEL
