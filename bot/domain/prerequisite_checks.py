"""The prerequisite checks an upgrade package runs by default, from which version on.

From ``Preparing_to_upgrade_a_DataMiner_Agent.md``, "Prerequisite checks" (release-audit D58):
each check "is available by default and runs automatically when you upgrade" from a main-release
and a feature-release version. A plan step names the checks that first run on it, so the team can
prepare for them before the day-before upload reports them.
"""

from __future__ import annotations

from functools import lru_cache

from bot.domain.versions import ReleaseKind, Version, parse_version

# (check, from on the main-release track, from on the feature-release track)
_CHECKS: tuple[tuple[str, str, str], ...] = (
    ("Verify Cloud DxM Version", "10.2.0 CU6", "10.2.8"),
    ("Verify Cluster Ports", "10.2.0 CU2", "10.2.5"),
    ("Service Automatic Properties", "10.3.0", "10.2.3"),
    ("Validate Connectors", "10.4.0", "10.3.4"),
    ("Verify .NET Version", "10.3.0 CU12", "10.4.3"),
    ("Verify Elastic Storage Type", "10.4.0", "10.4.1"),
    ("Verify No Legacy Reports Dashboards", "10.4.0", "10.4.1"),
    ("Verify No Obsolete API Deployed", "10.4.0", "10.4.1"),  # "from 10.4.0": first FR 10.4.1 [I]
    ("Verify No Amazon Keyspaces", "10.5.0", "10.5.3"),
    ("Verify NATS Cluster", "10.5.0 CU3", "10.5.6"),  # Prep; VerifyNatsCluster.md says later (D59)
    ("Verify No Legacy Correlation", "10.6.0", "10.5.1"),
    ("Verify gRPC Connection", "10.6.0", "10.5.10"),
    ("Verify OS Version", "10.6.0", "10.5.12"),
    ("Verify No Annotations", "10.6.0", "10.6.1"),
    ("Verify BrokerGateway Migration", "10.6.0", "10.6.1"),
)
CHECKS: tuple[tuple[str, dict[ReleaseKind, Version]], ...] = tuple(
    (name, {ReleaseKind.MAIN: parse_version(mr), ReleaseKind.FEATURE: parse_version(fr)})
    for name, mr, fr in _CHECKS
)


@lru_cache(maxsize=1024)
def default_checks(version: Version) -> tuple[str, ...]:
    """The checks every upgrade to ``version`` runs by default (an unknown CU counts as CU0)."""
    if version.cu is None:
        version = version.model_copy(update={"cu": 0, "build": None})
    return tuple(name for name, starts in CHECKS if version >= starts[version.kind])


@lru_cache(maxsize=4096)
def new_checks(before: Version, after: Version) -> tuple[str, ...]:
    """The checks a step from ``before`` to ``after`` runs that the previous release did not."""
    earlier = set(default_checks(before))
    return tuple(name for name in default_checks(after) if name not in earlier)
