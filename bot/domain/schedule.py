"""The timed actions of an approved window, as data: what is due when, and which late ones are
no longer worth running. The shell stores them as rows and arms the scheduler from the rows.

Kinds: ``precheck`` (``start - precheck_lead``, or at once when that has passed), ``reminder:<s>``
(``s`` seconds before the start, one per configured lead still ahead), ``start`` (the go prompt,
or expiry when a gate is still open) and ``end`` (a window still waiting for its go expires).
``post`` retries a proposal Slack did not take.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class ActionKind(StrEnum):
    PRECHECK = "precheck"
    REMINDER = "reminder"
    START = "start"
    END = "end"
    POST = "post"
    HEALTH = "health"  # between the accepted pre-check and the go: is it still true?
    DETAILS = "details"  # the G2 checklist an approval owes: stored with it, retried until posted


@dataclass(frozen=True)
class PlannedAction:
    kind: str
    due_at: datetime


def reminder_kind(lead: timedelta) -> str:
    """``reminder:7200`` for a reminder two hours before the start."""
    return f"{ActionKind.REMINDER}:{int(lead.total_seconds())}"


def reminder_lead(kind: str) -> timedelta | None:
    """The lead a reminder kind carries; None for every other kind."""
    name, _, seconds = kind.partition(":")
    if name != ActionKind.REMINDER or not seconds.isdigit():
        return None
    return timedelta(seconds=int(seconds))


def handler_name(kind: str) -> str:
    """The handler that runs an action of ``kind``: ``reminder:7200`` is run by ``reminder``."""
    return kind.split(":", 1)[0]


def plan_actions(
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    precheck_lead: timedelta,
    reminders: Sequence[timedelta],
) -> list[PlannedAction]:
    """Every timed action of a window approved at ``now``, pre-check first."""
    planned = [
        PlannedAction(ActionKind.PRECHECK, max(now, start - precheck_lead)),
        PlannedAction(ActionKind.START, start),
        PlannedAction(ActionKind.END, end),
    ]
    planned += [
        PlannedAction(reminder_kind(lead), start - lead) for lead in reminders if start - lead > now
    ]
    return planned


def next_health_check(*, now: datetime, start: datetime, every: timedelta) -> PlannedAction | None:
    """The next drift check between an accepted pre-check and the go, if one still fits before
    the start (none when ``every`` is zero)."""
    due = now + every
    if every <= timedelta(0) or due >= start:
        return None
    return PlannedAction(f"{ActionKind.HEALTH}:{int(due.timestamp())}", due)


def is_background(kind: str) -> bool:
    """Actions that usually say nothing (a health check that finds no change): the sandbox's
    "Next" travels past them to the next moment a person sees."""
    return handler_name(kind) == ActionKind.HEALTH


def is_too_late(kind: str, due_at: datetime, now: datetime) -> bool:
    """A reminder whose moment passed by more than its own lead would remind about something
    already over: it is skipped. Every other late action still runs (once)."""
    lead = reminder_lead(kind)
    return lead is not None and now - due_at > lead


def proposal_actions(
    *, start: datetime, now: datetime, reminders: Sequence[timedelta]
) -> list[PlannedAction]:
    """What a proposal needs before anyone decides on it: the start (by which it expires if
    still undecided) and the reminders still ahead, which go to the approvers while G1 is
    owed."""
    return [
        PlannedAction(ActionKind.START, start),
        *(
            PlannedAction(reminder_kind(lead), start - lead)
            for lead in reminders
            if start - lead > now
        ),
    ]
