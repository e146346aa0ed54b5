"""Does the estimate fit the window? The G2 item the shell adds to the details run."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.durations import format_duration
from checks.models import CheckResult, CheckStatus


def estimate_result(high: timedelta, length: timedelta) -> CheckResult:
    """Pass when the estimate's upper bound (hotfixes included) fits in the window's length."""
    fits = high <= length
    return CheckResult(
        key="estimate_fits",
        title="Estimated duration fits the window",
        status=CheckStatus.PASS if fits else CheckStatus.FAIL,
        summary=(
            f"Estimate up to {format_duration(high)} in a window of {format_duration(length)}."
            if fits
            else f"The estimate (up to {format_duration(high)}) is longer than the window "
            f"({format_duration(length)}): lengthen the window or waive with a reason."
        ),
    )
