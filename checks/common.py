"""Small shared pieces of the checks: the result for an input that could not be read, the
worst of several statuses, and how sizes, times and ages are written for people."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from checks.models import GIB, CheckResult, CheckStatus, ClusterSnapshot


def unreadable(key: str, title: str, snapshot: ClusterSnapshot, part: str) -> CheckResult:
    """The check could not run because the snapshot lacks ``part``; never a pass."""
    reason = snapshot.reason(part)
    return CheckResult(
        key=key,
        title=title,
        status=CheckStatus.ERROR,
        summary=f"Could not check: {reason}",
        details=[reason],
    )


def result(
    key: str,
    title: str,
    status: CheckStatus,
    summary: str,
    details: list[str] | None = None,
    facts: dict[str, str] | None = None,
) -> CheckResult:
    return CheckResult(
        key=key,
        title=title,
        status=status,
        summary=summary,
        details=details or [],
        facts=facts or {},
    )


def without_plan(key: str, title: str) -> CheckResult:
    return CheckResult(
        key=key,
        title=title,
        status=CheckStatus.ERROR,
        summary="Could not check: there is no upgrade plan to check against.",
    )


def worst(statuses: Iterable[CheckStatus]) -> CheckStatus:
    """The worst of ``statuses``; ``pass`` when there are none."""
    return min(statuses, key=lambda status: status.rank, default=CheckStatus.PASS)


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 agent``, ``2 agents``; ``many`` for irregular plurals."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def to_size(size_bytes: int) -> str:
    """Bytes as Windows writes them: binary units labelled GB/MB."""
    if size_bytes >= GIB:
        return f"{size_bytes / GIB:.1f} GB"
    if size_bytes >= 1024**2:
        return f"{size_bytes / 1024**2:.1f} MB"
    if size_bytes >= 1024:
        return f"{size_bytes / 1024:.1f} KB"
    return plural(size_bytes, "byte")


def to_time(moment: datetime) -> str:
    """``2026-12-02 21:30 UTC``: the same for every reader, whatever their zone."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def to_date(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d}"


def to_age(age: timedelta) -> str:
    """``45 min``, ``19 h``, ``30 days``: rounded down to the unit a person would use."""
    minutes = max(int(age.total_seconds() // 60), 0)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return plural(hours // 24, "day")
