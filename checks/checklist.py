"""G2, details established: the MOP's checklist as data, and where each item stands.

Automatic items are the results of the details run (:data:`checks.run.RUNS`); the items a person
must confirm are :data:`MANUAL_ITEMS`. Each item is settled (passed, confirmed, or waived with a
reason) or not; when every item is, the gate closes. Item state is derived from the stored check
run and the G2 acknowledgements, never from Slack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.gates import since_approval
from bot.domain.models import Acknowledgement, GateId
from checks.models import CheckResult, CheckStatus
from checks.run import RUNS, RunKind

MANUAL_ITEMS: dict[str, str] = {
    "key_functions": "Key functionalities identified (what to check after the upgrade)",
    "hotfixes": "Hotfixes identified (none, or attached to the window)",
    "backup": "Backup or VM snapshot planned before the start",
}
AUTOMATIC_KEYS: tuple[str, ...] = RUNS[RunKind.DETAILS].keys


class ItemStatus(StrEnum):
    OK = "ok"  # passed or confirmed
    WARN = "warn"  # passed with a warning: settled, but read it
    OPEN = "open"  # a person has not answered yet
    WAIVED = "waived"  # not met, waived by a named person with a reason
    BLOCKED = "blocked"  # failed or could not be checked: waive it or fix it

    @property
    def is_settled(self) -> bool:
        return self in (ItemStatus.OK, ItemStatus.WARN, ItemStatus.WAIVED)


@dataclass(frozen=True)
class Item:
    key: str
    title: str
    automatic: bool
    status: ItemStatus
    summary: str = ""
    by: str | None = None
    reason: str | None = None

    @property
    def is_settled(self) -> bool:
        return self.status.is_settled


def _automatic_status(result: CheckResult, waiver: Acknowledgement | None) -> ItemStatus:
    if waiver is not None and waiver.decision.startswith("waive:"):
        return ItemStatus.WAIVED
    if result.status.blocks:
        return ItemStatus.BLOCKED
    return ItemStatus.WARN if result.status is CheckStatus.WARN else ItemStatus.OK


def checklist(results: Sequence[CheckResult], acks: Sequence[Acknowledgement]) -> list[Item]:
    """The items and where each stands, from the latest details run and the G2 acks of the
    current round (a window sent back to G1 and approved again starts a fresh checklist)."""
    decided: dict[str, Acknowledgement] = {}
    for ack in since_approval(acks):
        if ack.gate is GateId.G2 and ":" in ack.decision:
            decided[ack.decision.split(":", 1)[1]] = ack
    items: list[Item] = []
    by_key = {r.key: r for r in results}
    for key in AUTOMATIC_KEYS:
        result = by_key.get(key)
        if result is None:
            continue
        waiver = decided.get(key)
        items.append(
            Item(
                key,
                result.title,
                True,
                _automatic_status(result, waiver),
                result.summary,
                waiver.user if waiver else None,
                waiver.reason if waiver else None,
            )
        )
    for key, title in MANUAL_ITEMS.items():
        manual = decided.get(key)
        if manual is None:
            status = ItemStatus.OPEN
        else:
            status = ItemStatus.WAIVED if manual.decision.startswith("waive:") else ItemStatus.OK
        items.append(
            Item(
                key,
                title,
                False,
                status,
                "",
                manual.user if manual else None,
                manual.reason if manual else None,
            )
        )
    return items


def is_complete(items: Sequence[Item]) -> bool:
    return bool(items) and all(item.is_settled for item in items)
