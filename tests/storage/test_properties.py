"""Property: any run of legal moves keeps the chain valid and the stored state current."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.gates import TRANSITIONS
from bot.domain.models import GateId, WindowEvent, WindowState
from storage import (
    StaleState,
    get_window,
    list_acks,
    list_audit,
    open_database,
    transition,
    verify_audit_chain,
)
from tests.storage.conftest import T0, new_window

E = WindowEvent
GATE_OF: dict[WindowEvent, GateId] = {
    E.APPROVE: GateId.G1,
    E.REJECT: GateId.G1,
    E.CLOSE_DETAILS: GateId.G2,
    E.ACCEPT_PRECHECK: GateId.G3,
    E.GO: GateId.G4,
    E.VERIFY: GateId.G5,
    E.REPORT_PROBLEM: GateId.G5,
}


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_legal_moves_keep_the_chain_valid_and_the_state_current(data: st.DataObject) -> None:
    db = open_database(":memory:")
    window = new_window(db)
    state = WindowState.PROPOSED
    moves: list[tuple[WindowState, WindowState]] = []
    gated = 0
    for step in range(data.draw(st.integers(min_value=0, max_value=12), label="steps")):
        legal = sorted(event for (source, event) in TRANSITIONS if source is state)
        if not legal:
            break
        replay = data.draw(st.booleans(), label=f"replay {step}") if moves else False
        if replay:
            # A late second click on the previous move: refused, nothing written.
            source, target = moves[-1]
            with pytest.raises(StaleState):
                transition(
                    db, window.id, expected=source, to=target, actor="U0LATE", action="x", at=T0
                )
            continue
        event = data.draw(st.sampled_from(legal), label=f"event {step}")
        target = TRANSITIONS[(state, event)]
        gate = GATE_OF.get(event)
        transition(
            db,
            window.id,
            expected=state,
            to=target,
            actor=f"U{step}",
            action=event.value,
            at=T0 + timedelta(minutes=step),
            gate=gate,
        )
        gated += gate is not None
        moves.append((state, target))
        state = target

    stored = get_window(db, window.id)
    assert stored is not None
    assert (stored.state, stored.revision) == (state, len(moves))
    audit = list_audit(db, window.id)
    assert [(e.before_state, e.after_state) for e in audit[1:]] == moves
    assert len(list_acks(db, window.id)) == gated
    report = verify_audit_chain(db)
    assert (report.ok, report.entries) == (True, len(moves) + 1)
    db.close()
