"""The sentences a plan step carries to say why it exists (facts §1 and §2 for each rule).

Kept apart from ``paths.py`` so the planner reads as rules and this file as wording.
"""

from __future__ import annotations

VERIFY_CLUSTER_PORTS = "VerifyClusterPorts.dmupgrade"
NATS_MIGRATION = "NATSMigration - Prerequisite only.dmupgrade"

CU19 = (
    "10.0.0 CU19 is required before leaving {}: from 9.6.x or 10.0.0 before CU19 the next step "
    "must be 10.0.0 CU19."
)
PORTS = (
    "Before this step open ports 9090 (NAS), 4222 and 6222 (NATS) and 8222 (monitoring) between "
    "all agents, as the documented 9.6 → 10.3 path does."
)
LATEST = (
    "Latest CU of intermediate main release {}: when skipping main releases, go through the "
    "latest CU of each."
)
SKIP_101 = "Skips 10.1: from a version before 10.1, go directly to 10.2."
BROKER_STOP = (
    "Stops on 10.5 for the BrokerGateway migration, mandatory before 10.6 and only possible from "
    "10.5.0 CU2/10.5.5 (recommended: 10.5.0 CU11+ or 10.5.12 CU2)."
)
FR_SKIP = (
    "From feature release {} the path leaves the {} line without main release {}.0: from an FR "
    "the main release with the same minor is skipped."
)
VCP = (
    f"Run {VERIFY_CLUSTER_PORTS} on the whole cluster first (no restart, about 5 minutes): a "
    "10.0.x → 10.2.x upgrade fails without it."
)
NATS = (
    f"Migrate the cluster to BrokerGateway before this step: run `{NATS_MIGRATION}` on the whole "
    "cluster, then migrate (BrokerGateway_Migration.md). Without it the upgrade fails with "
    "“Prerequisite VerifyBrokerGatewayMigration.dll failed: BrokerGateway is not active”."
)
FULL_SAME = (
    "Full package: a CU package would be acceptable within one main release, but Update Center "
    "CU packages lack the BPA executor on 10.4.0+."
)
FULL_OLD = "Full package (within one main release the smaller CU package would also do)."
CU_PKG = (
    "CU package (same main release). On 10.4.0+ take it from Dojo, not from the Update Center: "
    "those lack the BPA executor."
)
NO_BUILD = (
    "The catalog has no build number for {}: the package name has * in its place; add the build "
    "to the release catalog."
)
SAME_MR = "Within one main release, intermediate CUs are not needed."
SAME_FR = "A later feature release of the same {} cycle."
TO_FR = (
    "Switches from the main-release track to the feature-release track; CU support on that track "
    "is time-limited, so plan consecutive FR upgrades."
)
TARGET = "Target of the upgrade."
