"""The ``adapter:`` block of a dataminer system, checked as the config file is read."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.agents.dataminer.routes import RouteOptions
from bot.agents.dataminer.transport import check_url

_SECRET_KEYS = {"user", "login", "password", "token", "routes_token", "credentials"}


class DataMinerOptions(BaseModel):
    """The ``adapter:`` block of a system with ``kind: dataminer``. Credentials are never in
    it: ``credentials_env: UPGRADEBOT_DM_LAB`` reads ``UPGRADEBOT_DM_LAB_USER``, ``_PASSWORD``
    and (with routes) ``_ROUTES_TOKEN`` from the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="the DMA the bot talks to first, e.g. https://dma01.example")
    credentials_env: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$", description="env variable prefix")
    routes: bool | RouteOptions = Field(False, description="true: the default upgradebot routes")
    timeout_seconds: float = Field(30.0, gt=0, description="slower answers fail with a timeout")
    agent_hosts: dict[str, str] = Field(
        default_factory=dict,
        description="Agent name -> its host name (the scheme and port of url are kept); by "
        "default the Agent's name in url's domain, or its PrimaryIP when url is an IP address",
    )
    agent_urls: dict[str, str] = Field(
        default_factory=dict, description="Agent name -> its whole URL, when the port differs"
    )
    ca_bundle: str | None = Field(None, description="PEM file of the CA that signed the DMAs")
    verify_tls: bool = Field(True, description="false only in a lab: certificates go unchecked")
    requests_per_minute: int = Field(
        20,
        gt=0,
        description="most route requests a minute, per route (the UDAPI token's rate limit is "
        "60 a minute by default on 10.6.7+; keep below it)",
    )
    session_check_seconds: float = Field(
        120.0,
        gt=0,
        lt=300,
        description="how often each Agent's web API session is checked while the bot reads "
        "(keeps it from expiring after 5 unused minutes; notices a restart)",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_credentials_here(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and (found := sorted(_SECRET_KEYS & set(data))):
            raise ValueError(
                f"{', '.join(found)}: credentials never go in the config file; set "
                "credentials_env and put <PREFIX>_USER, <PREFIX>_PASSWORD and "
                "<PREFIX>_ROUTES_TOKEN in the environment"
            )
        return data

    @field_validator("url")
    @classmethod
    def _is_http_url(cls, value: str) -> str:
        return check_url(value)

    @field_validator("agent_hosts")
    @classmethod
    def _are_host_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, host in value.items():
            if not re.fullmatch(r"[A-Za-z0-9.-]+", host) or host.startswith(("-", ".")):
                raise ValueError(
                    f"{name}: {host!r} is not a host name such as dma02.example (no scheme, "
                    "no port: they come from url)"
                )
        return value

    @field_validator("agent_urls")
    @classmethod
    def _are_http_urls(cls, value: dict[str, str]) -> dict[str, str]:
        return {name: check_url(url) for name, url in value.items()}

    @model_validator(mode="after")
    def _tls_is_consistent(self) -> DataMinerOptions:
        if self.ca_bundle is not None and not self.verify_tls:
            raise ValueError("ca_bundle and verify_tls: false contradict each other; pick one")
        if self.ca_bundle is not None and not os.path.isfile(self.ca_bundle):
            raise ValueError(f"ca_bundle: no file at {self.ca_bundle}")
        return self

    @property
    def route_options(self) -> RouteOptions | None:
        if self.routes is True:
            return RouteOptions()
        return self.routes or None
