"""The timed actions of a window (DESIGN "Scheduling and restarts")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.schedule import (
    ActionKind,
    PlannedAction,
    handler_name,
    is_background,
    is_too_late,
    next_health_check,
    plan_actions,
    proposal_actions,
    reminder_kind,
    reminder_lead,
)

START = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)
END = START + timedelta(hours=4)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def test_a_window_approved_days_ahead_gets_every_action() -> None:
    now = START - 72 * H
    planned = plan_actions(
        start=START, end=END, now=now, precheck_lead=24 * H, reminders=[2 * H, 15 * M]
    )
    assert planned == [
        PlannedAction("precheck", START - 24 * H),
        PlannedAction("start", START),
        PlannedAction("end", END),
        PlannedAction("reminder:7200", START - 2 * H),
        PlannedAction("reminder:900", START - 15 * M),
    ]


def test_approved_late_the_precheck_is_due_at_once_and_past_reminders_are_left_out() -> None:
    now = START - 1 * H
    planned = plan_actions(
        start=START, end=END, now=now, precheck_lead=24 * H, reminders=[2 * H, 15 * M]
    )
    assert planned[0] == PlannedAction("precheck", now)
    assert [p.kind for p in planned] == ["precheck", "start", "end", "reminder:900"]


def test_reminder_kinds_carry_their_lead_and_run_under_one_handler() -> None:
    assert reminder_kind(2 * H) == "reminder:7200"
    assert reminder_lead("reminder:7200") == 2 * H
    assert reminder_lead("precheck") is None
    assert reminder_lead("reminder:soon") is None
    assert handler_name("reminder:900") == ActionKind.REMINDER
    assert handler_name("start") == ActionKind.START


def test_health_checks_repeat_until_the_start_and_can_be_turned_off() -> None:
    now = START - 1 * H
    first = next_health_check(now=now, start=START, every=30 * M)
    assert first is not None and first.due_at == now + 30 * M
    assert handler_name(first.kind) == ActionKind.HEALTH
    assert next_health_check(now=START - 20 * M, start=START, every=30 * M) is None
    assert next_health_check(now=now, start=START, every=0 * M) is None
    assert is_background(first.kind) and not is_background("reminder:900")


def test_only_a_reminder_late_by_more_than_its_lead_is_skipped() -> None:
    due = START - 15 * M
    assert not is_too_late("reminder:900", due, due + 15 * M)
    assert is_too_late("reminder:900", due, due + 16 * M)
    assert not is_too_late("precheck", due, due + 48 * H)  # late, but it still runs


def test_a_proposal_has_its_start_and_the_reminders_still_ahead() -> None:
    now = START - 1 * H
    planned = proposal_actions(start=START, now=now, reminders=[2 * H, 15 * M])
    assert planned == [PlannedAction("start", START), PlannedAction("reminder:900", START - 15 * M)]
