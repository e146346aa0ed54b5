"""The sentences a plan step carries to say why it exists, each ending with its documented source
(facts §1 and §2, release-audit for each rule; issue #12, item 6).

Kept apart from ``paths.py`` so the planner reads as rules and this file as wording.
"""

from __future__ import annotations

from bot.domain import sources as src
from bot.domain.package_names import (
    NATS_MIGRATION,
    NATS_MIGRATION_CHECKS,
    VERIFY_CLUSTER_PORTS,
    VERIFY_GRPC_CONNECTION,
)
from bot.domain.sources import cite

__all__ = [
    "NATS_MIGRATION",
    "NATS_MIGRATION_CHECKS",
    "VERIFY_CLUSTER_PORTS",
    "VERIFY_GRPC_CONNECTION",
]

CU19 = cite(
    "10.0.0 CU19 is required before leaving {}: from 9.6.x or 10.0.0 before CU19 the next major "
    "version must be 10.0.0 CU19.",
    src.PREPARING,
)
PORTS = cite(
    "Before this step open ports 9090 (NAS), 4222 and 6222 (NATS) and 8222 (monitoring) between "
    "all agents, as the documented 9.6 → 10.3 path does.",
    src.PREPARING,
)
LATEST = cite(
    "Latest CU of intermediate main release {}: when skipping main releases, go through the "
    "latest CU of each.",
    src.PREPARING,
)
SKIP_101 = cite("Skips 10.1: from a version before 10.1, go directly to 10.2.", src.PREPARING)
BROKER_STOP = cite(
    "Stops on 10.5 for the BrokerGateway migration, mandatory before 10.6: the guide says to "
    "migrate on 10.5.0 CU11+ or 10.5.12 CU2 and to avoid anything lower (the automatic migration "
    "package only works from 10.5.0 CU4/10.5.7).",
    src.BROKER_MIGRATION,
)
FR_SKIP = cite(
    "From feature release {} the path leaves the {} line without main release {}.0: from an FR "
    "the main release with the same minor is skipped.",
    src.PREPARING,
)
VCP = cite(
    f"Run {VERIFY_CLUSTER_PORTS} on the whole cluster first (no restart, about 5 minutes): a "
    "10.0.x → 10.2.x upgrade fails without it.",
    src.VERIFY_CLUSTER_PORTS,
)
GRPC = cite(
    f"Run {VERIFY_GRPC_CONNECTION} on the whole cluster first (no restart, about one minute): "
    "from 10.5.10/10.6.0 the upgrade itself blocks when the agents cannot talk gRPC over HTTPS "
    "port 443 or a network setting is not the default.",
    src.VERIFY_GRPC,
)
NATS = cite(
    f"Migrate the cluster to BrokerGateway before this step: run `{NATS_MIGRATION_CHECKS}` on "
    f"the whole cluster, then `{NATS_MIGRATION}` (it runs NATSMigration.exe on every agent, no "
    "restart) once the cluster has been online together for 15 minutes and the ASP.NET Core 10 "
    "Hosting Bundle is on every agent. Also needed: TLS 1.2 with the ECDHE cipher suites, no "
    "Schannel errors, no DataMinerMessageBroker.API.dll below 3.0.0 in ProtocolScripts, "
    "ClusterEndpointsManager not disabled, and NATSForceManualConfig the same on every agent "
    "(checked by hand: the prerequisite-only package does not). Without the migration the "
    "upgrade fails with “Prerequisite VerifyBrokerGatewayMigration.dll failed: BrokerGateway is "
    "not active”.",
    src.BROKER_MIGRATION,
)
FULL_SAME = cite(
    "Full package: an update package would be acceptable within one main release, but Update "
    "Center CU packages lack the BPA executor on 10.4.0+.",
    src.UPDATE_CENTER_KI,
)
FULL_OLD = cite(
    "Full package (within one main release the smaller update package would also do).",
    src.PACKAGES,
)
CU_PKG = cite(
    "Update package (.dmupdate, same main release). On 10.4.0+ take it from Dojo, not from the "
    "Update Center: those lack the BPA executor.",
    src.UPDATE_CENTER_KI,
)
NO_BUILD = (
    "The catalog has no build number for {}: the package name has * in its place; add the build "
    "to the release catalog."
)
NEW_CHECKS = cite(
    "From this step the upgrade runs these prerequisite checks by default: {}; the day-before "
    "upload runs them, so prepare for them now.",
    src.PREPARING,
)
SAME_MR = cite("Within one main release, intermediate CUs are not needed.", src.PREPARING)
SAME_FR = cite("A later feature release of the same {} cycle.", src.MR_VS_FR)
TO_FR = cite(
    "Switches from the main-release track to the feature-release track; CU support on that track "
    "is time-limited, so plan consecutive FR upgrades.",
    src.MR_VS_FR,
)
TARGET = "Target of the upgrade."
MULTI_MAJOR = cite(
    "This is a multi-major jump: install the packages through System Center or the Taskbar "
    "Utility, not the Update Center.",
    src.UPGRADING,
)
UNPLACED = (
    "The release catalog does not know build {build} of {number}, so the cluster runs some "
    "{number} release ({low} to {high}, or one newer than the catalog); every step of this plan "
    "is above all of them, so it is safe, but add the build to the catalog to see the exact "
    "version."
)
APPROXIMATE = (
    "The release catalog does not list {label} yet; the plan uses the CU the agents report. "
    "Rebuild the catalog to see its builds and notes."
)
STATED = (
    "The release catalog cannot place the agents' build, so the plan starts from the release the "
    "config's current_release names: {label}. Add the build to the catalog to make it certain."
)
UNSUPPORTED = cite(
    "The target's main release {line} is out of support since {until}; Skyline only gives "
    "limited support for it until {limited}.",
    src.LIFECYCLE,
)
UNSUPPORTED_LIMITED = cite(
    "The target's main release {line} is past its end of limited support ({limited}); Skyline "
    "no longer supports it.",
    src.LIFECYCLE,
)
