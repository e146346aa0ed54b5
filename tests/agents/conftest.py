from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


class FakeClock:
    """A clock the test moves by hand; aware UTC like every time the adapters report."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 2, 21, 30, tzinfo=UTC))
