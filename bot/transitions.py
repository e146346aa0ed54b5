"""One way to move a window through the gate table: compute the next state, store it with
compare-and-set (with the acknowledgement and the audit entry), and turn a lost race into the
sentence the late clicker reads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot import messages
from bot.context import BotContext
from bot.domain.errors import NotAllowed, UnknownWindow
from bot.domain.gates import next_state
from bot.domain.models import GateId, Window, WindowEvent
from storage import Database, StaleState, get_window, transition


async def move(
    ctx: BotContext,
    window: Window,
    event: WindowEvent,
    *,
    actor: str,
    gate: GateId | None = None,
    decision: str | None = None,
    digest: str | None = None,
    reason: str | None = None,
    slack_action: str | None = None,
    detail: Mapping[str, Any] | None = None,
    action: str | None = None,
    then: Callable[[Database, Window], object] | None = None,
) -> Window:
    """``window`` after ``event``; NotAllowed when the move is illegal or someone moved it first.
    ``then(db, moved)`` is what the new state owes at once (its timed actions): written in the
    same transaction, so a crash never leaves the state without it (issue 15, item 4)."""
    to = next_state(window.id, window.state, event)
    at = ctx.now()

    def change(db: Database) -> Window:
        moved = transition(
            db,
            window.id,
            expected=window.state,
            to=to,
            actor=actor,
            action=action or event.value,
            at=at,
            slack_action=slack_action,
            gate=gate,
            decision=decision or (event.value if gate else None),
            digest=digest,
            reason=reason,
            detail=detail,
        )
        if then is not None:
            then(db, moved)
        return moved

    try:
        return await ctx.write(change)
    except StaleState as stale:
        raise lost_race(stale) from None


def lost_race(stale: StaleState) -> NotAllowed:
    """The sentence a late clicker reads: someone moved the window first, and who."""
    current = stale.window
    return NotAllowed(
        messages.already_decided(current.label, current.state.value, current.decided_by)
    )


def load_window(ctx: BotContext, window_id: int) -> Window:
    window = get_window(ctx.db, window_id)
    if window is None:
        raise UnknownWindow(f"#{window_id}")
    return window
