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
from pydantic import SecretStr

from bot.agents.models import AdapterError, AdapterTimeout, AgentUnreachable, AnswerLost

log = logging.getLogger(__name__)

# IIS answers 503 while DataMiner (or its web API) is stopped; a proxy in front answers 502/504.
NOT_ANSWERING_STATUSES = frozenset({502, 503, 504})


class NotAnswering(AgentUnreachable):
    """One address gave no answer at all (refused, dropped, or 502/503/504): the caller may ask
    another Agent. A DMS that answers "an Agent is unreachable" raises plain AgentUnreachable."""


class UntrustedCertificate(AdapterError):
    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        super().__init__(
            f"The TLS certificate of {where} is not trusted ({reason}). Put the certificate of "
            "the CA that signed it in a PEM file and set ca_bundle to that path "
            "(verify_tls: false is for labs only)."
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

    def __init__(self, *, timeout_seconds: float, tls: ssl.SSLContext | bool) -> None:
        self.timeout_seconds = timeout_seconds
        self._tls = tls
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._tls),
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
        idempotent: bool = True,
    ) -> Answer:
        """One request. ``idempotent=False`` (a start): a connection that drops or times out
        after the request went out raises ``AnswerLost``, never ``NotAnswering``, so the caller
        does not send it to another Agent (issue 15, D8). Only a connection that was never made
        proves the DMS did not get it."""
        try:
            async with self._client().request(method, url, json=body, headers=headers) as answer:
                data = await answer.read()
                return Answer(answer.status, data, answer.content_type)
        except TimeoutError:
            if not idempotent:
                raise AnswerLost(operation, self.timeout_seconds, where) from None
            raise AdapterTimeout(operation, self.timeout_seconds, where) from None
        except aiohttp.ClientConnectorCertificateError as error:
            raise UntrustedCertificate(where, _certificate_reason(error)) from None
        except aiohttp.ClientSSLError as error:
            raise AdapterError(
                f"The TLS handshake with {where} failed ({type(error).__name__}) while "
                f"{operation}; check that url uses the scheme and port DataMiner serves."
            ) from None
        except aiohttp.ClientConnectorError as error:  # never connected: nothing was sent
            log.debug("%s did not answer while %s: %s", where, operation, type(error).__name__)
            raise NotAnswering(where, operation) from None
        except aiohttp.ClientConnectionError as error:
            if not idempotent:
                raise AnswerLost(operation, self.timeout_seconds, where) from None
            log.debug("%s did not answer while %s: %s", where, operation, type(error).__name__)
            raise NotAnswering(where, operation) from None
        except aiohttp.ClientError as error:
            raise AdapterError(
                f"The request to {where} failed while {operation} ({type(error).__name__})."
            ) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _certificate_reason(error: aiohttp.ClientConnectorCertificateError) -> str:
    reason = getattr(error.certificate_error, "verify_message", None)
    return str(reason or "certificate verify failed")
