"""DataMiner Web Services v1 over JSON, as the dataminer adapter speaks it.

``POST <dma>/API/v1/Json.asmx/<Method>`` with the parameters as a JSON object; the answer is
``{"d": <result>}``. Every parameter is sent, named exactly as the method's page spells it
(ASP.NET binds them case-sensitively and requires all). A session (the connection GUID of
``ConnectAppAndInfo``) ends after 5 unused minutes, on ``LogOut`` or when IIS recycles;
DataMiner then answers HTTP 500 "No connection available" (``ExceptionType``
``Skyline.DataMiner.Web.Common.NoConnectionWebApiException``), and the client connects again
once. Facts: ``domain/dataminer-facts.md`` §4a; method and type pages:
``develop/webservices/WS_v1/`` in SkylineCommunications/dataminer-docs.

Requests go through ``transport``, the adapter's HTTP client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bot.agents.dataminer.transport import (
    NOT_ANSWERING_STATUSES,
    NOT_TAKEN_STATUSES,
    Answer,
    NotAnswering,
    Transport,
)
from bot.agents.dataminer.transport import Credentials as Credentials
from bot.agents.models import AdapterError, Alarm, Severity

log = logging.getLogger(__name__)

CLIENT_APP_NAME = "upgradebot"
NO_CONNECTION = "NoConnectionWebApiException"
_MAX_SERVER_TEXT = 300
LOGIN_BACKOFF_SECONDS = 60.0
MASKED_MESSAGE = "There was an error processing the request."

T = TypeVar("T")


# --- what DataMiner answers (DMAConnectAndInfo, DMAInfo, DMAAlarm), parsed at the edge -------


class _Dm(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ConnectInfo(_Dm):
    connection: str | None = Field(None, alias="Connection")
    version: str | None = Field(None, alias="DMAVersion")
    message: str | None = Field(None, alias="Message")
    message_type: str | None = Field(None, alias="MessageType")


class DmaInfo(_Dm):
    id: int = Field(alias="ID")
    name: str = Field(alias="Name")
    primary_ip: str = Field("", alias="PrimaryIP")
    status: str = Field("Unknown", alias="Status")
    is_failover: bool = Field(False, alias="IsFailOver")
    last_change_utc: int = Field(0, alias="LastChangeUTC")


class DmaAlarm(_Dm):
    dataminer_id: int = Field(alias="DataMinerID")
    hosting_agent_id: int = Field(0, alias="HostingAgentID")
    id: int = Field(alias="ID")
    element_name: str = Field("", alias="ElementName")
    parameter_name: str = Field("", alias="ParameterName")
    display_value: str | None = Field(None, alias="DisplayValue")
    alarm_state: str = Field("", alias="AlarmState")
    time_of_arrival_utc: int = Field(0, alias="TimeOfArrivalUTC")
    is_cleared: bool = Field(False, alias="IsCleared")


_SEVERITIES = {severity.value: severity for severity in Severity}


def to_alarm(alarm: DmaAlarm, names: Mapping[int, str]) -> Alarm:
    """DMAAlarm -> Alarm. ``AlarmState`` carries the severity (facts §4a, [I]); a state that is
    not one of ours (Undefined, Not monitored, Masked) counts as normal."""
    hosting = alarm.hosting_agent_id or alarm.dataminer_id
    return Alarm(
        id=f"{alarm.dataminer_id}/{alarm.id}",
        agent=names.get(hosting, str(hosting)),
        element=alarm.element_name,
        parameter=alarm.parameter_name,
        severity=_SEVERITIES.get(alarm.alarm_state.strip().casefold(), Severity.NORMAL),
        value=alarm.display_value or "",
        since=datetime.fromtimestamp(alarm.time_of_arrival_utc / 1000, UTC),
    )


class _Fault(_Dm):
    """How ASP.NET web services report an exception: HTTP 500 with this object."""

    message: str = Field("", alias="Message")
    exception_type: str = Field("", alias="ExceptionType")

    @classmethod
    def of(cls, payload: Any) -> _Fault:
        try:
            return cls.model_validate(payload)
        except ValidationError:
            return cls()

    @property
    def is_masked(self) -> bool:
        """ASP.NET with custom errors on hides the exception from remote callers."""
        return not self.exception_type and self.message.startswith(MASKED_MESSAGE)

    @property
    def is_no_connection(self) -> bool:
        return self.exception_type.endswith(NO_CONNECTION) or self.message.startswith(
            "No connection available"
        )


class _NoConnection(Exception):
    """The session GUID is no longer valid; never leaves this module."""


class _Masked(Exception):
    """An HTTP 500 whose exception ASP.NET hid (custom errors): maybe a removed session."""


# A login refused for the account, in words some DataMiner versions use [I]: "Login failed",
# "bad password", "unknown user name". Anything else on a login is the server's trouble.
_ABOUT_CREDENTIALS = re.compile(
    r"log ?in failed|log ?on failed|password|user ?name|credential|authenticat|unauthori[sz]ed"
    r"|access (is )?denied",
    re.IGNORECASE,
)


class BadCredentials(AdapterError):
    """The DMS refused the bot's account. Not retried and not tried on another Agent: wrong
    passwords in a row may lock the account."""


@dataclass
class LoginGuard:
    """Shared by every Agent of one adapter: after a refused login, every call for
    ``LOGIN_BACKOFF_SECONDS`` gets the same refusal without asking any DMA."""

    config_key: str
    refusal: tuple[float, BadCredentials] | None = None


def _client_version() -> str:
    try:
        return metadata.version("upgradebot")
    except metadata.PackageNotFoundError:
        return "0"


class WebApi:
    """One DMA's web API with its session (connection GUID). As ``Using_the_Web_Services_v1.md``
    recommends, the session is made once and reused for every call; it is renewed only when
    DataMiner says it is gone ("No connection available", or ``IsConnectionAlive`` false), and
    logged out by ``log_out``. ``label`` names the DMA in messages: the Agent's name once known,
    else the host."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        transport: Transport,
        *,
        label: str,
        guard: LoginGuard,
        clock: Callable[[], float] = time.monotonic,
        retry_delay_seconds: float = 1.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.label = label
        self._credentials = credentials
        self._transport = transport
        self._guard = guard
        self._clock = clock
        self._retry_delay = retry_delay_seconds
        self._connection: str | None = None
        self.version: str | None = None  # DMAVersion of the newest login
        self.connected_at = float("-inf")
        self.used_at = float("-inf")
        self.logins = 0  # ConnectAppAndInfo requests made, for check-dms and the benchmark
        self._connecting = asyncio.Lock()

    def __repr__(self) -> str:
        return f"WebApi({self.base_url!r})"

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, operation: str) -> ConnectInfo:
        """A new session (``ConnectAppAndInfo``); its ``version`` is this DMA's DMAVersion.
        A server error on the login (DataMiner starting or stopped there) is asked once more,
        then raised as ``NotAnswering`` so the adapter asks another Agent."""
        guard = self._guard
        if guard.refusal is not None and self._clock() - guard.refusal[0] < LOGIN_BACKOFF_SECONDS:
            raise guard.refusal[1]
        for attempt in (1, 2):
            try:
                return await self._login(operation)
            except _ServerTrouble as trouble:
                if attempt == 2:
                    raise NotAnswering(
                        self.label,
                        operation,
                        f"its web API answered the login with HTTP {trouble.status}"
                        f"{': ' + trouble.text if trouble.text else ''}; DataMiner may be "
                        "starting or stopped there (check its state in Cube or the "
                        "DataMiner Taskbar Utility)",
                    ) from None
                log.info("%s could not log in (HTTP %s); once more", self.label, trouble.status)
                await asyncio.sleep(self._retry_delay)
            except BadCredentials as error:
                guard.refusal = (self._clock(), error)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _login(self, operation: str) -> ConnectInfo:
        body = {
            "host": "",
            "login": self._credentials.user.get_secret_value(),
            "password": self._credentials.password.get_secret_value(),
            "clientAppName": CLIENT_APP_NAME,
            "clientAppVersion": _client_version(),
            "clientComputerName": socket.gethostname(),
        }
        self.logins += 1
        try:
            result = await self._post("ConnectAppAndInfo", body, operation, login=True)
        except _NoConnection:
            result = None
        except _Refused as refused:
            raise self._login_refused(refused.text) from None
        info = self._parse("ConnectAppAndInfo", ConnectInfo, result if result is not None else {})
        if info.message_type == "Challenge":
            raise BadCredentials(
                f"The DataMiner account in ${self._credentials.env_prefix}_USER needs two-step "
                f"authentication on {self.label}; give the bot an account without it "
                f"({self._guard.config_key})."
            )
        if not info.connection:
            raise self._login_refused(info.message or "no connection was returned")
        self._connection, self.used_at = info.connection, self._clock()
        self.version, self.connected_at = info.version, self.used_at
        self._guard.refusal = None
        return info

    async def call(self, method: str, operation: str, **params: Any) -> Any:
        """Calls a method with the session's ``connection`` (and ``params``); on "No connection
        available" logs in again once and retries."""
        for attempt in (1, 2):
            connection = await self._session(operation)
            try:
                result = await self._post(method, {"connection": connection, **params}, operation)
            except _NoConnection:
                self._forget(connection)
                if attempt == 1:
                    log.info("web API session on %s is gone; connecting again", self.label)
                    continue
                raise AdapterError(
                    f"DataMiner at {self.label} dropped a fresh web API session at once while "
                    f"{operation}; check the DataMiner web server (IIS) there."
                ) from None
            except _Masked:
                # The error is hidden, so ask DataMiner whether the session is gone.
                if attempt == 1 and not await self.is_alive(operation):
                    log.info("web API session on %s is gone (hidden error); again", self.label)
                    continue
                raise AdapterError(
                    f"DataMiner at {self.label} failed {method} while {operation} (HTTP 500, "
                    f'"{MASKED_MESSAGE}": the web server hides the cause; see the DataMiner '
                    "and IIS logs there)."
                ) from None
            self.used_at = self._clock()
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def is_alive(self, operation: str) -> bool:
        """``IsConnectionAlive`` on the session, which also counts as using it (so it does not
        expire while the bot watches). False, and the session forgotten, when it is gone."""
        if self._connection is None:
            return False
        connection = self._connection
        try:
            alive = await self._post("IsConnectionAlive", {"connection": connection}, operation)
        except _NoConnection:
            alive = False
        except _Masked:
            raise AdapterError(
                f"DataMiner at {self.label} failed IsConnectionAlive while {operation} (HTTP "
                f'500, "{MASKED_MESSAGE}": the web server hides the cause; see the DataMiner '
                "and IIS logs there)."
            ) from None
        if alive is not True:
            self._forget(connection)
            return False
        self.used_at = self._clock()
        return True

    async def log_out(self) -> None:
        """``LogOut``; the session is forgotten whatever the answer (it expires by itself)."""
        if (connection := self._connection) is None:
            return
        self._connection = None
        with contextlib.suppress(AdapterError, _NoConnection, _Refused, _ServerTrouble):
            await self._post("LogOut", {"connection": connection}, "logging out", retry=False)

    async def agents_info(self, operation: str) -> list[DmaInfo]:
        result = await self.call("GetDataMinerAgentsInfo", operation)
        return self._parse("GetDataMinerAgentsInfo", list[DmaInfo], result)

    async def active_alarms(self, operation: str) -> list[DmaAlarm]:
        # GetActiveAlarms.md: "connection", lower case like every input since docs ca1694a6aa
        result = await self.call("GetActiveAlarms", operation)
        return self._parse("GetActiveAlarms", list[DmaAlarm], result)

    def _forget(self, connection: str) -> None:
        if self._connection == connection:  # a concurrent call may have renewed it
            self._connection = None

    async def _session(self, operation: str) -> str:
        async with self._connecting:
            if self._connection is None:
                await self.connect(operation)
            assert self._connection is not None
            return self._connection

    async def _post(
        self,
        method: str,
        body: dict[str, Any],
        operation: str,
        *,
        retry: bool = True,
        login: bool = False,
    ) -> Any:
        url = f"{self.base_url}/API/v1/Json.asmx/{method}"
        for attempt in (1, 2):
            answer = await self._transport.send(
                "POST", url, where=self.label, operation=operation, body=body
            )
            if answer.status in NOT_ANSWERING_STATUSES:
                raise NotAnswering(
                    self.label,
                    operation,
                    f"its web server answered HTTP {answer.status}; DataMiner or its web API "
                    "is stopped there (expected while it upgrades)",
                    sent=answer.status in NOT_TAKEN_STATUSES,
                )
            if answer.status == 200:
                return self._unwrap(method, answer)
            fault = _Fault.of(answer.payload_or_none())
            if answer.status == 500 and fault.is_no_connection:
                raise _NoConnection
            if answer.status == 500 and fault.is_masked and not login and method != "LogOut":
                raise _Masked
            text = self._credentials.redact(fault.message)[:_MAX_SERVER_TEXT]
            if login:
                if answer.status in (401, 403) or _ABOUT_CREDENTIALS.search(fault.message):
                    raise _Refused(text or f"HTTP {answer.status}")
                raise _ServerTrouble(answer.status, text)
            if answer.status == 500 and attempt == 1 and retry:
                log.info("%s answered HTTP 500 to %s; trying once more", self.label, method)
                continue
            said = f": {text}" if text else ""
            raise AdapterError(
                f"DataMiner at {self.label} failed {method} while {operation} "
                f"(HTTP {answer.status}{', twice' if answer.status == 500 and retry else ''})"
                f"{said}."
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _unwrap(self, method: str, answer: Answer) -> Any:
        try:
            payload = answer.payload()
        except ValueError:
            raise AdapterError(
                f"DataMiner at {self.label} answered {method} with something that is not JSON "
                f"({answer.describe()}). Check that url points at the DataMiner web server "
                "and that no proxy or login page answers in its place."
            ) from None
        if not isinstance(payload, dict) or "d" not in payload:
            raise AdapterError(
                f"DataMiner at {self.label} answered {method} with JSON that is not wrapped in "
                '{"d": ...}; is this the Web Services v1 JSON endpoint?'
            )
        return payload["d"]

    def _parse(self, method: str, shape: type[T], result: Any) -> T:
        try:
            parsed: T = TypeAdapter(shape).validate_python(result)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the result"
            raise AdapterError(
                f"DataMiner at {self.label} answered {method} in a shape the adapter does not "
                f"know ({where}: {first['msg']})."
            ) from None
        return parsed

    def _login_refused(self, text: str) -> BadCredentials:
        prefix = self._credentials.env_prefix
        return BadCredentials(
            f"DataMiner at {self.label} refused the login of the account in ${prefix}_USER "
            f"(password in ${prefix}_PASSWORD, named by {self._guard.config_key}): "
            f"{self._credentials.redact(text)}. Check the account and its password; the bot "
            f"does not try again for {LOGIN_BACKOFF_SECONDS:g} s, so it cannot lock the account."
        )


class _Refused(Exception):
    def __init__(self, text: str) -> None:
        self.text = text


class _ServerTrouble(Exception):
    """A login answered with a server error that is not about the account."""

    def __init__(self, status: int, text: str) -> None:
        self.status = status
        self.text = text
