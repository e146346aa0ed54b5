"""Where a fact comes from: a page of Skyline's public docs, as a link a person can open.

A page at ``X.md`` in ``SkylineCommunications/dataminer-docs`` is published at
``https://docs.dataminer.services/X.html`` (release-audit §0); every path note, requirement and
known issue a proposal shows names one, so an operator can check the bot (issue #12, item 6).
"""

from __future__ import annotations

DOCS_SITE = "https://docs.dataminer.services/"

_AGENTS = "dataminer/Administrator_guide/DataMiner_Agents/"
PREPARING = _AGENTS + "Upgrading_a_DMA/Preparing_to_upgrade_a_DataMiner_Agent.md"
UPGRADING = _AGENTS + "Upgrading_a_DataMiner_Agent.md"
UPDATE_CENTER = _AGENTS + "Upgrading_a_DMA/Upgrading_a_DataMiner_Agent_in_the_Update_Center.md"
MR_VS_FR = _AGENTS + "Upgrading_a_DMA/DataMiner_MR_vs_FR.md"
BROKER_MIGRATION = "dataminer/DataMiner_Tools/BrokerGateway_Migration.md"
VERIFY_CLUSTER_PORTS = "dataminer/DataMiner_Tools/VerifyClusterPorts.dmupgrade.md"
VERIFY_GRPC = "dataminer/DataMiner_Tools/VerifyGRPCConnection.dmupgrade.md"
UPDATE_CENTER_KI = (
    "dataminer/Troubleshooting/Known_issues/"
    "KI_Unable_to_perform_a_DataMiner_upgrade_via_Update_Center.md"
)
PACKAGES = "dataminer/Administrator_guide/DataMiner_Agents/DataMiner_packages.md"
REQUIREMENTS = "dataminer/Reference/DataMiner_Compute_Requirements.md"
DOTNET_CHECK = "dataminer/DataMiner_Tools/Verify_Dot_Net_Version.md"
OS_CHECK = "dataminer/DataMiner_Tools/Verify_OS_Version.md"
LIFECYCLE = "dataminer/Reference/Software_support_life_cycles.md"
FW48_INSTALL = (
    "release-notes/General/General_Feature_Release_10.1/General_Feature_Release_10.1.11.md"
)


def docs_url(path: str) -> str:
    """The published page of a docs path (``X.md`` → ``…/X.html``); a URL stays as it is."""
    if path.startswith(("https://", "http://")):
        return path
    stem = path.removesuffix(".md").lstrip("/")
    return f"{DOCS_SITE}{stem}.html"


def cite(sentence: str, path: str) -> str:
    """A sentence with its source appended as a plain link (Slack, HTML and markdown all show
    a bare URL as a link)."""
    return f"{sentence} Source: {docs_url(path)}"
