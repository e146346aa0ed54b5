"""The gate table: every legal move, every illegal one refused with a sentence, and what each
gate shows at a glance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.errors import IllegalTransition, UnknownSystem, UnknownWindow
from bot.domain.gates import (
    TRANSITIONS,
    approval_round,
    gate_statuses,
    is_allowed,
    next_state,
    owed,
    since_approval,
)
from bot.domain.models import (
    Acknowledgement,
    GateId,
    GateStatus,
    Window,
    WindowEvent,
    WindowState,
)

S, E = WindowState, WindowEvent


@pytest.mark.parametrize(
    ("state", "event", "after"),
    [
        (S.PROPOSED, E.APPROVE, S.APPROVED),
        (S.PROPOSED, E.REJECT, S.REJECTED),
        (S.APPROVED, E.CLOSE_DETAILS, S.PLANNED),
        (S.PLANNED, E.ACCEPT_PRECHECK, S.READY),
        (S.READY, E.REOPEN_PRECHECK, S.PLANNED),
        (S.READY, E.GO, S.EXECUTING),
        (S.EXECUTING, E.EXECUTION_FINISHED, S.VERIFYING),
        (S.EXECUTING, E.EXECUTION_FAILED, S.FAILED),
        (S.VERIFYING, E.VERIFY, S.DONE),
        (S.VERIFYING, E.REPORT_PROBLEM, S.FAILED),
        (S.PROPOSED, E.CANCEL, S.CANCELLED),
        (S.READY, E.CANCEL, S.CANCELLED),
        (S.APPROVED, E.EXPIRE, S.EXPIRED),
        (S.PLANNED, E.EXPIRE, S.EXPIRED),
        (S.APPROVED, E.REPLAN, S.PROPOSED),
        (S.READY, E.REPLAN, S.PROPOSED),
        (S.PLANNED, E.POSTPONE, S.PROPOSED),
    ],
)
def test_legal_moves_lead_where_the_mop_says(
    state: WindowState, event: WindowEvent, after: WindowState
) -> None:
    assert is_allowed(state, event)
    assert next_state(7, state, event) is after


def test_every_move_not_in_the_table_is_refused_with_a_sentence() -> None:
    refused = 0
    for state in WindowState:
        for event in WindowEvent:
            if (state, event) in TRANSITIONS:
                continue
            refused += 1
            assert not is_allowed(state, event)
            with pytest.raises(IllegalTransition) as caught:
                next_state(3, state, event)
            assert caught.value.message.startswith(f"Window #3 is {state.value}; it cannot be")
    assert refused > 100


def test_a_running_upgrade_is_never_sent_back_nor_postponed() -> None:
    for state in (S.EXECUTING, S.VERIFYING):
        assert not is_allowed(state, E.REPLAN) and not is_allowed(state, E.POSTPONE)
    assert not is_allowed(S.PROPOSED, E.REPLAN)  # a proposal is simply planned again
    assert not is_allowed(S.PROPOSED, E.POSTPONE)


def test_the_round_counts_approvals_and_only_its_own_acks_count() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)

    def ack(i: int, gate: GateId, decision: str) -> Acknowledgement:
        return Acknowledgement(id=i, window_id=1, gate=gate, user="U1", decision=decision, at=at)

    first = [ack(1, GateId.G1, "approve"), ack(2, GateId.G2, "confirm:backup")]
    assert approval_round([]) == 0 and since_approval([]) == []
    assert approval_round(first) == 1
    assert since_approval(first) == [first[1]]
    again = [*first, ack(3, GateId.G1, "approve")]
    assert approval_round(again) == 2
    assert since_approval(again) == []


def test_terminal_states_accept_nothing_and_executing_cannot_be_cancelled() -> None:
    for state in (S.DONE, S.FAILED, S.CANCELLED, S.REJECTED, S.EXPIRED):
        assert state.is_terminal and not state.is_open
        assert not any(is_allowed(state, event) for event in WindowEvent)
    assert not is_allowed(S.EXECUTING, E.CANCEL)


@pytest.mark.parametrize(
    ("state", "passed"),
    [
        (S.PROPOSED, []),
        (S.APPROVED, [GateId.G1]),
        (S.PLANNED, [GateId.G1, GateId.G2]),
        (S.READY, [GateId.G1, GateId.G2, GateId.G3]),
        (S.EXECUTING, [GateId.G1, GateId.G2, GateId.G3, GateId.G4]),
        (S.DONE, list(GateId)),
    ],
)
def test_gate_statuses_follow_the_state(state: WindowState, passed: list[GateId]) -> None:
    statuses = gate_statuses(state)
    assert [g for g, s in statuses.items() if s is GateStatus.PASSED] == passed


def test_a_rejected_window_shows_g1_refused() -> None:
    assert gate_statuses(S.REJECTED)[GateId.G1] is GateStatus.REFUSED
    assert gate_statuses(S.CANCELLED)[GateId.G1] is GateStatus.OPEN


def test_a_window_knows_its_length_and_label() -> None:
    start = datetime(2026, 12, 2, 21, tzinfo=UTC)
    window = Window(
        id=12,
        system="lab",
        target="10.5.0 CU18",
        start=start,
        end=start + timedelta(hours=4),
        state=S.PROPOSED,
        proposer="U0OLGA",
        created_at=start - timedelta(days=7),
    )
    assert window.length == timedelta(hours=4)
    assert window.label == "#12"


def test_input_errors_name_what_was_wrong_and_what_is_right() -> None:
    error = UnknownSystem("moon", ["lab", "prod"])
    assert "moon" in error.message and error.hint == "Configured systems: lab, prod."
    assert UnknownSystem("x", []).hint == "Configured systems: (none)."
    missing = UnknownWindow("#99")
    assert "#99" in missing.message and "#12" in (missing.hint or "")


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (S.PROPOSED, (GateId.G1, "approvers")),
        (S.APPROVED, (GateId.G2, "operators")),
        (S.PLANNED, (GateId.G3, "operators")),
        (S.READY, (GateId.G4, "operators")),
        (S.VERIFYING, (GateId.G5, "operators")),
        (S.EXECUTING, None),
        (S.DONE, None),
        (S.EXPIRED, None),
    ],
)
def test_what_is_owed_and_by_whom(state: WindowState, expected: object) -> None:
    assert owed(state) == expected
