"""Does the estimate fit the window? The G2 item the shell adds to the details run."""

from __future__ import annotations

from datetime import timedelta

from checks.models import CheckResult, CheckStatus


def estimate_result(high: timedelta, length: timedelta) -> CheckResult:
    """Pass when the estimate's upper bound (hotfixes included) fits in the window's length."""
    fits = high <= length
    return CheckResult(
        key="estimate_fits",
        title="Estimated duration fits the window",
        status=CheckStatus.PASS if fits else CheckStatus.FAIL,
        summary=(
            f"Estimate up to {_minutes(high)} in a window of {_minutes(length)}."
            if fits
            else f"The estimate (up to {_minutes(high)}) is longer than the window "
            f"({_minutes(length)}): lengthen the window or waive with a reason."
        ),
    )


def _minutes(value: timedelta) -> str:
    return f"{int(value.total_seconds() // 60)} min"
