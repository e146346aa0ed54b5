"""Pre- and post-upgrade checks: pure functions of a ``ClusterSnapshot`` (and the plan) that
return ``CheckResult``s. No I/O, no clock, no adapter: ``bot/snapshot.py`` gathers the snapshot,
``bot/packages.py`` scans the package store, and ``settings.now`` is the only time.

Each check has the signature ``(snapshot, plan, settings) -> CheckResult``. A check whose input
could not be read returns ``error`` with the snapshot's reason; ``fail`` and ``error`` both keep
a gate closed (``CheckStatus.blocks``).
"""

from checks.health import check_agents_running, check_alarms, check_backups, check_failover
from checks.key_functions import check_key_functions, evaluate_key_check
from checks.models import (
    GIB,
    CheckResult,
    CheckSettings,
    CheckStatus,
    ClusterSnapshot,
    KeyCheck,
    KeyCheckKind,
    PackageState,
)
from checks.packages import check_packages, needed_packages
from checks.requirements import (
    check_disk_space,
    check_known_issues,
    check_requirements,
    to_installed_software,
)
from checks.run import (
    PRECHECKS,
    RUNS,
    SNAPSHOT_PARTS,
    Check,
    RunKind,
    RunSpec,
    by_hand,
    describe_changes,
    evidence_digest,
    findings_differ,
    has_blocking,
    run_checks,
    summary_line,
    worst_first,
)

__all__ = [
    "GIB",
    "PRECHECKS",
    "RUNS",
    "SNAPSHOT_PARTS",
    "Check",
    "CheckResult",
    "CheckSettings",
    "CheckStatus",
    "ClusterSnapshot",
    "KeyCheck",
    "KeyCheckKind",
    "PackageState",
    "RunKind",
    "RunSpec",
    "by_hand",
    "check_agents_running",
    "check_alarms",
    "check_backups",
    "check_disk_space",
    "check_failover",
    "check_key_functions",
    "check_known_issues",
    "check_packages",
    "check_requirements",
    "describe_changes",
    "evaluate_key_check",
    "evidence_digest",
    "findings_differ",
    "has_blocking",
    "needed_packages",
    "run_checks",
    "summary_line",
    "to_installed_software",
    "worst_first",
]
