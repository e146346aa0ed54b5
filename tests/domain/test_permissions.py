"""Who may act at which gate (DESIGN "The procedure as gates": four eyes at G1)."""

from __future__ import annotations

import pytest

from bot.domain.gates import owed
from bot.domain.models import GateId, WindowState
from bot.domain.permissions import (
    GATE_ROLES,
    Person,
    Refusal,
    Role,
    cancel_refusal,
    gate_refusal,
)

ANNA = Person("U0ANNA", is_approver=True, is_operator=False)
OLGA = Person("U0OLGA", is_approver=False, is_operator=True)
EVE = Person("U0EVE", is_approver=False, is_operator=False)


def test_g1_is_an_approvers_and_four_eyes_keeps_the_proposer_out() -> None:
    assert gate_refusal(ANNA, GateId.G1, proposer="U0OLGA", four_eyes=True) is None
    assert gate_refusal(OLGA, GateId.G1, proposer="U0EVE", four_eyes=True) is (
        Refusal.NOT_AN_APPROVER
    )
    assert gate_refusal(ANNA, GateId.G1, proposer="U0ANNA", four_eyes=True) is Refusal.FOUR_EYES
    assert gate_refusal(ANNA, GateId.G1, proposer="U0ANNA", four_eyes=False) is None


@pytest.mark.parametrize("gate", [GateId.G2, GateId.G3, GateId.G4, GateId.G5])
def test_the_other_gates_are_an_operators(gate: GateId) -> None:
    assert gate_refusal(OLGA, gate, proposer="U0OLGA", four_eyes=True) is None
    assert gate_refusal(ANNA, gate, proposer="U0OLGA", four_eyes=True) is Refusal.NOT_AN_OPERATOR


def test_the_proposer_an_approver_or_an_operator_may_cancel() -> None:
    assert cancel_refusal(EVE, proposer="U0EVE") is None
    assert cancel_refusal(ANNA, proposer="U0EVE") is None
    assert cancel_refusal(OLGA, proposer="U0EVE") is None
    assert cancel_refusal(EVE, proposer="U0OLGA") is Refusal.MAY_NOT_CANCEL


def test_who_owes_a_gate_agrees_with_who_may_act_on_it() -> None:
    for state in WindowState:
        waiting = owed(state)
        if waiting is not None:
            assert GATE_ROLES[waiting[0]] is Role(waiting[1])
