"""The BrokerGateway migration needs the cluster stable for 15 minutes first
(dataminer/DataMiner_Tools/BrokerGateway_Migration.md, "Prerequisites")."""

from __future__ import annotations

from datetime import timedelta

from bot.agents.models import AgentState
from bot.domain.paths import plan_upgrade
from checks.models import CheckStatus
from checks.stability import check_cluster_stable, migrates
from tests.checks import CATALOG, NAMES, NOW, PLAN, healthy, lab_cluster, settings

MIGRATING = plan_upgrade(CATALOG, dict.fromkeys(NAMES, "10.3.0.0-13012"), CATALOG.resolve("10.6"))
MIN = timedelta(minutes=1)


def test_only_a_path_through_the_migration_needs_it() -> None:
    assert migrates(MIGRATING) and not migrates(PLAN) and not migrates(None)
    outcome = check_cluster_stable(healthy(), PLAN, settings(running_since=None))
    assert outcome.status is CheckStatus.PASS and "Not needed" in outcome.summary


def test_fifteen_minutes_of_every_agent_running_is_stable() -> None:
    outcome = check_cluster_stable(healthy(), MIGRATING, settings(running_since=NOW - 16 * MIN))
    assert outcome.status is CheckStatus.PASS


def test_less_than_fifteen_minutes_says_how_long_and_what_to_do() -> None:
    outcome = check_cluster_stable(healthy(), MIGRATING, settings(running_since=NOW - 4 * MIN))
    assert outcome.status is CheckStatus.FAIL
    assert "(4 min)" in outcome.summary and "BrokerGateway_Migration" in outcome.summary


def test_an_agent_not_running_now_is_not_stable() -> None:
    snapshot = healthy(cluster=lab_cluster(dma_lab_02=AgentState.STARTING))
    outcome = check_cluster_stable(snapshot, MIGRATING, settings(running_since=None))
    assert outcome.status is CheckStatus.FAIL and "dma-lab-02" in outcome.summary


def test_an_unread_cluster_is_an_error_never_a_pass() -> None:
    snapshot = healthy(cluster=None, errors={"cluster": "no answer"})
    outcome = check_cluster_stable(snapshot, MIGRATING, settings(running_since=NOW - 60 * MIN))
    assert outcome.status is CheckStatus.ERROR
