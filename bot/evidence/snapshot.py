"""Gathering a ``ClusterSnapshot`` from an agent adapter: the shell in front of ``checks/``.

The four reads run at once, each under its own timeout. A read that fails or times out leaves
its field None with a sentence in ``errors``, and the others still complete: the checks then
report that part as "could not check" instead of the whole pre-check falling over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bot.agents.base import AdapterError, AgentAdapter
from bot.agents.models import ManualStepRequired
from checks.models import ClusterSnapshot, PackageState

log = logging.getLogger(__name__)

_NOT_SCANNED = "The package store was not scanned for this snapshot."


async def take_snapshot(
    adapter: AgentAdapter,
    system: str,
    *,
    now: datetime,
    packages: list[PackageState] | None = None,
    packages_error: str | None = None,
    timeout_seconds: float = 10.0,
) -> ClusterSnapshot:
    """Read the cluster, its alarms, every Agent's installed software and latest backups
    concurrently. ``packages`` is the package store's state (``bot.packages.scan_packages``);
    when it is None, ``packages_error`` says why (the store could not be read)."""
    reads: dict[str, tuple[str, Callable[[], Awaitable[Any]]]] = {
        "cluster": ("reading the cluster", adapter.get_cluster),
        "alarms": ("reading active alarms", adapter.get_alarms),
        "requirements": ("reading installed software", adapter.get_requirements),
        "backups": ("looking for backups", adapter.get_latest_backups),
    }
    outcomes = await asyncio.gather(
        *(_read(system, operation, call, timeout_seconds) for operation, call in reads.values())
    )
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    manual: dict[str, str] = {}
    for part, (value, error, by_hand) in zip(reads, outcomes, strict=True):
        values[part] = value
        if error is not None:
            errors[part] = error
        if by_hand is not None:
            manual[part] = by_hand
    if packages is None:
        errors["packages"] = packages_error or _NOT_SCANNED
    return ClusterSnapshot(
        system=system, taken_at=now, packages=packages, errors=errors, manual=manual, **values
    )


async def _read(
    system: str,
    operation: str,
    call: Callable[[], Awaitable[Any]],
    timeout_seconds: float,
) -> tuple[Any, str | None, str | None]:
    """(value, None, None), or (None, the sentence saying why not, the instructions when a
    person must look by hand); never raises but on cancellation."""
    try:
        return await asyncio.wait_for(call(), timeout_seconds), None, None
    except TimeoutError:
        late = f"{system} gave no answer within {timeout_seconds:g} s while {operation}."
        return None, late, None
    except ManualStepRequired as manual:
        return None, str(manual), str(manual)
    except AdapterError as error:
        return None, str(error), None
    except Exception as error:  # an adapter bug must cost one part of the snapshot, not all
        log.exception("%s: %s failed unexpectedly", system, operation)
        return None, f"{operation.capitalize()} on {system} failed unexpectedly: {error}", None
