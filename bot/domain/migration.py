"""What the BrokerGateway migration leaves for people to do afterwards (G5).

From ``dataminer/DataMiner_Tools/BrokerGateway_Migration.md``, "Post-migration actions": a DMZ,
Data Aggregator and Dashboard Gateway each need their configuration updated once the cluster
runs BrokerGateway. The bot cannot see whether a system has them, so G5 lists the actions for
the operator to read whenever the plan migrated (issue #12, item 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.domain import sources as src
from bot.domain.package_names import NATS_MIGRATION

POST_MIGRATION_ACTIONS = (
    "DMZ: if the number of NATS endpoints was limited or some were customised (see SLCloud.xml), "
    "add a ForcedEndpoints array, then reconnect the DMZ to dataminer.services with a "
    "BrokerGateway client secret (from 10.5.0 CU13).",
    "Data Aggregator: update its configuration to the BrokerGateway-managed NATS.",
    "Dashboard Gateway: update its web.config for BrokerGateway.",
)


class _HasPrerequisites(Protocol):
    @property
    def prerequisite_packages(self) -> Sequence[str]: ...


class _HasSteps(Protocol):
    @property
    def steps(self) -> Sequence[_HasPrerequisites]: ...


def post_migration_actions(plan: _HasSteps) -> list[str]:
    """The guide's post-migration actions, with its link, when ``plan`` runs the migration."""
    if not any(NATS_MIGRATION in step.prerequisite_packages for step in plan.steps):
        return []
    return [*POST_MIGRATION_ACTIONS, f"Source: {src.docs_url(src.BROKER_MIGRATION)}"]
