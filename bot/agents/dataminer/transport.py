"""The dataminer adapter's HTTP client: the URLs and TLS setting it accepts, the credentials it
reads from the environment, and the errors a request can end in.

``Transport`` is the one aiohttp session of an adapter (TLS checks on unless configured off);
it turns network failures into the port's errors and never puts a body, a header or a
credential into an exception.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from pydantic import SecretStr

from bot.agents.models import AdapterError, AdapterTimeout, AgentUnreachable

log = logging.getLogger(__name__)

# IIS answers 503 while DataMiner (or its web API) is stopped; a proxy in front answers 502/504.
NOT_ANSWERING_STATUSES = frozenset({502, 503, 504})
# Only IIS's own 503 proves the request never reached DataMiner; a proxy's 502/504 may come after
# the DMA received it.
NOT_TAKEN_STATUSES = frozenset({503})


class NotAnswering(AgentUnreachable):
    """One address gave no usable answer (refused, dropped, 502/503/504, a TLS failure, a web
    API that cannot reach its DataMiner): the caller may ask another Agent. ``reason`` says what
    failed and what to check; ``sent`` is False only when the request provably never reached
    the DMA (no connection was made, or IIS refused it), which is what makes it safe to send a
    non-idempotent request elsewhere. A DMS that answers "an Agent is unreachable" raises plain
    AgentUnreachable."""

    def __init__(
        self, where: str, operation: str, reason: str = "no answer", *, sent: bool = True
    ) -> None:
        super().__init__(where, operation)
        self.reason = reason
        self.sent = sent
        AdapterError.__init__(
            self, f"DataMiner Agent {where} did not answer while {operation}: {reason}."
        )


class UntrustedCertificate(NotAnswering):
    """The TLS handshake failed on the certificate: nothing was sent, another Agent may answer."""

    def __init__(self, where: str, reason: str, host: str = "", operation: str = "") -> None:
        self.where = where
        self.host = host
        if "mismatch" in reason.casefold() or "match" in reason.casefold():
            check = (
                f"the certificate must name the host the bot uses ({host or where}); set "
                f"agent_hosts.{where} to a name the certificate carries"
            )
        else:
            check = (
                "put the certificate of the CA that signed it in a PEM file and set ca_bundle "
                "to that path (verify_tls: false is for labs only)"
            )
        super().__init__(where, operation or "connecting", reason, sent=False)
        self.reason = f"its TLS certificate is not trusted ({reason}): {check}"
        AdapterError.__init__(
            self, f"The TLS certificate of {where} is not trusted ({reason}): {check}."
        )


class UnknownHost(NotAnswering):
    """The Agent's host name does not resolve: a setting to fix, not an Agent that is down."""


class NoAgentAnswered(AgentUnreachable):
    """Every address the adapter tried failed; the message gives each one's reason."""

    def __init__(self, operation: str, names: list[str], failures: list[NotAnswering]) -> None:
        super().__init__(names[0], operation, names[1:])
        self.failures = failures
        why = "; ".join(f"{failure.agent}: {failure.reason}" for failure in failures)
        AdapterError.__init__(
            self, f"{self}{' ' + why + '.' if why else ''}".replace(". ", ": ", 1)
        )


class AnswerLost(AdapterTimeout):
    """A request that starts something reached a DMA and its answer was lost: it may have been
    taken, so it is not sent again anywhere."""

    def __init__(self, operation: str, timeout_seconds: float, agent: str, reason: str) -> None:
        super().__init__(operation, timeout_seconds, agent)
        AdapterError.__init__(
            self,
            f"DataMiner Agent {agent} received the request while {operation}, but {reason} "
            "before it answered: it may have been taken. The bot does not send it again; check "
            "in Cube (System Center > Agents) before you retry.",
        )


@dataclass(frozen=True, repr=False)
class Credentials:
    """The bot's DataMiner account and UDAPI token, read from ``<env_prefix>_USER``,
    ``_PASSWORD`` and ``_ROUTES_TOKEN``. Its repr names the variables, never the values."""

    env_prefix: str
    user: SecretStr
    password: SecretStr
    routes_token: SecretStr | None = None

    def __repr__(self) -> str:
        return f"Credentials(from ${self.env_prefix}_USER, _PASSWORD, _ROUTES_TOKEN)"

    def redact(self, text: str) -> str:
        """Text from a server with every credential replaced by ***; the user name only as a
        whole word, so "robot" survives a user called "bot"."""
        for secret in (self.password, self.routes_token):
            if secret is not None and secret.get_secret_value():
                text = text.replace(secret.get_secret_value(), "***")
        if user := self.user.get_secret_value():
            text = re.sub(rf"(?<!\w){re.escape(user)}(?!\w)", "***", text)
        return text


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str
    retry_after_seconds: float | None = None

    def payload(self) -> Any:
        """The body as JSON; ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))

    def payload_or_none(self) -> Any:
        try:
            return self.payload()
        except ValueError:
            return None

    def describe(self) -> str:
        return f"{self.content_type or 'no content type'}, {len(self.body)} bytes"


def check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL such as https://dma01.example")
    return value.rstrip("/")


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def tls_setting(ca_bundle: str | None, verify_tls: bool) -> ssl.SSLContext | bool:
    """What aiohttp's ``ssl=`` gets: a context trusting only ``ca_bundle``, or the system's
    trust store (True), or no checks at all (False, labs only)."""
    if ca_bundle is not None:
        return ssl.create_default_context(cafile=ca_bundle)
    return verify_tls


def read_credentials(
    prefix: str, with_token: bool, environ: Mapping[str, str] | None = None
) -> Credentials:
    """The account (and token) from the environment; ValueError naming what is missing."""
    env = os.environ if environ is None else environ
    wanted = ["USER", "PASSWORD", *(["ROUTES_TOKEN"] if with_token else [])]
    if missing := [f"{prefix}_{key}" for key in wanted if not env.get(f"{prefix}_{key}")]:
        raise ValueError(f"set {' and '.join(missing)} in the environment (or .env)")
    token = env.get(f"{prefix}_ROUTES_TOKEN") if with_token else None
    return Credentials(
        env_prefix=prefix,
        user=SecretStr(env[f"{prefix}_USER"]),
        password=SecretStr(env[f"{prefix}_PASSWORD"]),
        routes_token=SecretStr(token) if token else None,
    )


class Transport:
    """The adapter's HTTP client. The aiohttp session is made on first use (inside the loop)
    and released by ``close``; a later request makes a new one."""

    def __init__(
        self,
        *,
        timeout_seconds: float,
        tls: ssl.SSLContext | bool,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self._tls = tls
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._tls, resolver=self._resolver),
                timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
            )
        return self._session

    async def send(
        self,
        method: str,
        url: str,
        *,
        where: str,
        operation: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        try:
            async with self._client().request(method, url, json=body, headers=headers) as answer:
                data = await answer.read()
                return Answer(
                    answer.status,
                    data,
                    answer.content_type,
                    _seconds(answer.headers.get("Retry-After")),
                )
        except TimeoutError:
            raise AdapterTimeout(operation, self.timeout_seconds, where) from None
        except aiohttp.ClientConnectorCertificateError as error:
            host = urlsplit(url).hostname or ""
            raise UntrustedCertificate(where, _certificate_reason(error), host, operation) from None
        except aiohttp.ClientSSLError as error:
            raise NotAnswering(
                where,
                operation,
                f"the TLS handshake with {urlsplit(url).netloc} failed ({type(error).__name__}); "
                "check that the URL uses the scheme and port DataMiner serves",
                sent=False,
            ) from None
        except aiohttp.ClientConnectorDNSError:
            host = urlsplit(url).hostname or url
            raise UnknownHost(
                where,
                operation,
                f"its host name {host} does not resolve; check DNS, or set agent_hosts (or "
                "agent_urls) to the name it has",
                sent=False,
            ) from None
        except aiohttp.ClientConnectorError as error:  # no connection was made: nothing sent
            log.debug("%s did not answer while %s: %s", where, operation, type(error).__name__)
            raise NotAnswering(
                where,
                operation,
                f"no connection to {urlsplit(url).netloc} ({_connect_reason(error)}); check the "
                "host name, the port and that IIS runs there",
                sent=False,
            ) from None
        except aiohttp.ClientConnectionError as error:  # dropped: the DMA may have the request
            log.debug("%s did not answer while %s: %s", where, operation, type(error).__name__)
            raise NotAnswering(
                where, operation, f"the connection to {urlsplit(url).netloc} was dropped"
            ) from None
        except aiohttp.ClientError as error:
            raise AdapterError(
                f"The request to {where} failed while {operation} ({type(error).__name__})."
            ) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _seconds(value: str | None) -> float | None:
    """Retry-After in seconds (its HTTP-date form is not used by UDAPI; ignored)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _connect_reason(error: aiohttp.ClientConnectorError) -> str:
    return error.strerror or type(error.os_error).__name__


def _certificate_reason(error: aiohttp.ClientConnectorCertificateError) -> str:
    reason = getattr(error.certificate_error, "verify_message", None)
    return str(reason or "certificate verify failed")
