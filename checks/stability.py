"""The BrokerGateway migration's own prerequisite: the cluster stable for 15 minutes before it
runs (``dataminer/DataMiner_Tools/BrokerGateway_Migration.md``, "Prerequisites": the DMS must
be stable, every Agent started, for at least 15 minutes). The bot cannot ask an Agent how long
it has run; it knows when it saw every Agent Running at each health read it stored, and judges
that continuous run (``CheckSettings.running_since``, read by the shell)."""

from __future__ import annotations

from datetime import timedelta

from bot.agents.models import AgentState
from bot.domain.package_names import NATS_MIGRATION
from bot.domain.paths import UpgradePlan
from checks.common import result, to_time, unreadable
from checks.models import CheckResult, CheckSettings, CheckStatus, ClusterSnapshot

STABLE_FOR = timedelta(minutes=15)
SOURCE = "https://docs.dataminer.services/dataminer/DataMiner_Tools/BrokerGateway_Migration.html"


def migrates(plan: UpgradePlan | None) -> bool:
    """Whether the path runs the BrokerGateway migration (NATSMigration.dmupgrade)."""
    return plan is not None and any(
        NATS_MIGRATION in (step.package, *step.prerequisite_packages) for step in plan.steps
    )


def check_cluster_stable(
    snapshot: ClusterSnapshot, plan: UpgradePlan | None, settings: CheckSettings
) -> CheckResult:
    key, title = "cluster_stable", "Cluster stable for the BrokerGateway migration"
    if not migrates(plan):
        return result(
            key, title, CheckStatus.PASS, "Not needed: the path runs no BrokerGateway migration."
        )
    cluster = snapshot.cluster
    if cluster is None:
        return unreadable(key, title, snapshot, "cluster")
    down = sorted(a.name for a in cluster.agents if a.state is not AgentState.RUNNING)
    since = settings.running_since
    if down or since is None:
        who = ", ".join(down) or "not every agent"
        return result(
            key,
            title,
            CheckStatus.FAIL,
            f"The migration needs every Agent running for 15 minutes first; {who} is not "
            f"Running now. Wait until they are, then Re-run ({SOURCE}).",
        )
    stable = settings.now - since
    if stable < STABLE_FOR:
        minutes = int(stable.total_seconds() // 60)
        return result(
            key,
            title,
            CheckStatus.FAIL,
            f"Every Agent has been Running since {to_time(since)} ({minutes} min); the migration "
            f"needs 15 minutes of a stable cluster first. Re-run in a few minutes ({SOURCE}).",
        )
    return result(
        key,
        title,
        CheckStatus.PASS,
        f"Every Agent Running at each health read since {to_time(since)}: stable for the "
        "migration.",
    )
