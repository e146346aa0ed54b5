"""The gate state machine: a table of legal moves and one function that applies it."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.errors import IllegalTransition
from bot.domain.models import Acknowledgement, GateId, GateStatus, WindowEvent, WindowState
from bot.domain.permissions import GATE_ROLES

S = WindowState
E = WindowEvent

_CANCELLABLE = (S.PROPOSED, S.APPROVED, S.PLANNED, S.READY)

TRANSITIONS: dict[tuple[WindowState, WindowEvent], WindowState] = {
    (S.PROPOSED, E.APPROVE): S.APPROVED,
    (S.PROPOSED, E.REJECT): S.REJECTED,
    (S.APPROVED, E.CLOSE_DETAILS): S.PLANNED,
    (S.PLANNED, E.ACCEPT_PRECHECK): S.READY,
    (S.READY, E.REOPEN_PRECHECK): S.PLANNED,
    (S.READY, E.GO): S.EXECUTING,
    (S.EXECUTING, E.EXECUTION_FINISHED): S.VERIFYING,
    (S.EXECUTING, E.EXECUTION_FAILED): S.FAILED,
    (S.VERIFYING, E.VERIFY): S.DONE,
    (S.VERIFYING, E.REPORT_PROBLEM): S.FAILED,
    **{(state, E.CANCEL): S.CANCELLED for state in _CANCELLABLE},
    **{(state, E.EXPIRE): S.EXPIRED for state in _CANCELLABLE},
    **{(state, E.REPLAN): S.PROPOSED for state in _CANCELLABLE if state is not S.PROPOSED},
    # A proposal itself is postponed without a move: it is simply planned again at its new start.
    **{(state, E.POSTPONE): S.PROPOSED for state in _CANCELLABLE if state is not S.PROPOSED},
}

# How each event reads in a sentence: "Window #3 is done; it cannot be approved now."
_EVENT_WORDS: dict[WindowEvent, str] = {
    E.APPROVE: "approved",
    E.REJECT: "rejected",
    E.CANCEL: "cancelled",
    E.CLOSE_DETAILS: "moved past the details checklist",
    E.ACCEPT_PRECHECK: "given a pre-check acceptance",
    E.REOPEN_PRECHECK: "sent back to the pre-check",
    E.GO: "started",
    E.EXECUTION_FINISHED: "marked as executed",
    E.EXECUTION_FAILED: "marked as failed",
    E.VERIFY: "verified",
    E.REPORT_PROBLEM: "reported as a problem",
    E.EXPIRE: "expired",
    E.REPLAN: "sent back for approval of a new plan",
    E.POSTPONE: "postponed",
}


def next_state(window_id: int, state: WindowState, event: WindowEvent) -> WindowState:
    """The state after ``event``, or :class:`IllegalTransition` if the table has no such move."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(window_id, state.value, _EVENT_WORDS[event]) from None


def is_allowed(state: WindowState, event: WindowEvent) -> bool:
    return (state, event) in TRANSITIONS


def gate_statuses(state: WindowState) -> dict[GateId, GateStatus]:
    """What each gate shows at a glance, derived from the stored state alone."""
    order = [S.PROPOSED, S.APPROVED, S.PLANNED, S.READY, S.EXECUTING, S.VERIFYING, S.DONE]
    passed_from = {
        GateId.G1: S.APPROVED,
        GateId.G2: S.PLANNED,
        GateId.G3: S.READY,
        GateId.G4: S.EXECUTING,
        GateId.G5: S.DONE,
    }
    result = dict.fromkeys(GateId, GateStatus.OPEN)
    if state is S.REJECTED:
        result[GateId.G1] = GateStatus.REFUSED
        return result
    if state in order:
        position = order.index(state)
        for gate, first in passed_from.items():
            if position >= order.index(first):
                result[gate] = GateStatus.PASSED
    return result


# Which acknowledgement a window in each state waits for, and which role owes it.
_WAITS_FOR: dict[WindowState, GateId] = {
    S.PROPOSED: GateId.G1,
    S.APPROVED: GateId.G2,
    S.PLANNED: GateId.G3,
    S.READY: GateId.G4,
    S.VERIFYING: GateId.G5,
}
_OWED: dict[WindowState, tuple[GateId, str]] = {
    state: (gate, GATE_ROLES[gate].value) for state, gate in _WAITS_FOR.items()
}


def owed(state: WindowState) -> tuple[GateId, str] | None:
    """The gate a window waits for and the role that owes it; None while the bot works or
    once the window has ended."""
    return _OWED.get(state)


def approval_round(acks: Sequence[Acknowledgement]) -> int:
    """How many times the window was approved (a re-plan or a postponement asks again)."""
    return sum(1 for a in acks if a.gate is GateId.G1 and a.decision == E.APPROVE.value)


def since_approval(acks: Sequence[Acknowledgement]) -> list[Acknowledgement]:
    """The acknowledgements of the current round: those after the latest G1 approval. Evidence
    of an earlier round stays in the record but is never reused."""
    last = max(
        (i for i, a in enumerate(acks) if a.gate is GateId.G1 and a.decision == E.APPROVE.value),
        default=-1,
    )
    return list(acks[last + 1 :])
