"""The dataminer adapter, a real DMS over HTTPS: ``adapter`` (the port's implementation),
``webapi`` (Web Services v1), ``transport`` (HTTP, sessions, TLS, moving on to the next Agent),
``routes`` (the User-Defined API routes, or the manual steps in Cube's words), ``options`` (the
config block), ``known`` (what it knows of each Agent), ``check`` (``upgradebot check-dms``)."""

from bot.agents.dataminer.adapter import (
    DataMinerAdapter,
    DataMinerOptions,
    ManualStepRequired,
    RouteOptions,
)

__all__ = ["DataMinerAdapter", "DataMinerOptions", "ManualStepRequired", "RouteOptions"]
