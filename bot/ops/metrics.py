"""What the bot tells a dashboard, in Prometheus' text format (``GET /metrics``).

Two kinds of figures (docs/operations.md lists each one):

- read from the database at every scrape, so they survive a restart and never drift from the
  truth: windows by state, time spent waiting at each gate, scheduler lag, upgrades by outcome;
- counted as they happen, in this process: adapter calls by method and outcome with their
  latency (``MeteredAdapter``), Slack Web API errors and retries by method (``MeteredWebClient``
  and the counting retry handlers).

Every figure lives in the ``Metrics`` object's own registry, never the library's global one, so
two bots in one process (the tests) do not count into each other.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.agents.base import AgentAdapter
from bot.agents.models import (
    AgentRequirements,
    AlarmSummary,
    Cluster,
    HistoryEntry,
    PackageFile,
    UpgradeOptions,
    UpgradeRun,
    UploadReport,
)
from bot.domain.gates import owed
from bot.domain.models import GateId, WindowState
from storage import Database, StateChange, list_actions, list_state_changes, list_windows

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Waiting at a gate is counted in hours (G1 can take days); the scheduler's lag in seconds.
GATE_WAIT_BUCKETS_SECONDS = (60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400)
LAG_BUCKETS_SECONDS = (0.1, 0.5, 1, 5, 30, 60, 300, 3600)
ADAPTER_BUCKETS_SECONDS = (0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 20, 60)
UPGRADE_OUTCOMES = (WindowState.DONE, WindowState.FAILED, WindowState.CANCELLED)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.adapter_calls = Counter(
            "upgradebot_adapter_calls",
            "Calls to a system's agent adapter, by method and outcome (ok or the error's type)",
            ["system", "method", "outcome"],
            registry=self.registry,
        )
        self.adapter_latency = Histogram(
            "upgradebot_adapter_call_seconds",
            "How long a call to the agent adapter took, by method",
            ["system", "method"],
            buckets=ADAPTER_BUCKETS_SECONDS,
            registry=self.registry,
        )
        self.slack_errors = Counter(
            "upgradebot_slack_api_errors",
            "Slack Web API calls that ended in an error, by method and Slack's error code",
            ["method", "error"],
            registry=self.registry,
        )
        self.slack_retries = Counter(
            "upgradebot_slack_api_retries",
            "Slack Web API calls tried again (rate limit, server error, dropped connection)",
            ["method", "reason"],
            registry=self.registry,
        )

        self.watcher_restarts = Counter(
            "upgradebot_watcher_restarts",
            "Times following an upgrade failed unexpectedly and carried on from the database, "
            "by the error's type",
            ["error"],
            registry=self.registry,
        )

    def watch_database(self, db: Database) -> None:
        """Read the stored figures from ``db`` at every scrape."""
        self.registry.register(DatabaseCollector(db))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class DatabaseCollector(Collector):
    """The figures the database holds, computed when Prometheus asks."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        windows = list_windows(self.db)
        by_state = GaugeMetricFamily(
            "upgradebot_windows", "Upgrade windows by state", labels=["state"]
        )
        for state in WindowState:
            count = sum(1 for w in windows if w.state is state)
            by_state.add_metric([state.value], count)
        yield by_state

        changes = list_state_changes(self.db)
        executed = {c.window_id for c in changes if c.after == WindowState.EXECUTING.value}
        upgrades = CounterMetricFamily(
            "upgradebot_upgrades",
            "Windows whose upgrade ran, by how they ended (done, failed, cancelled)",
            labels=["outcome"],
        )
        for outcome in UPGRADE_OUTCOMES:
            count = sum(1 for w in windows if w.id in executed and w.state is outcome)
            upgrades.add_metric([outcome.value], count)
        yield upgrades

        yield gate_waits({w.id: w.created_at for w in windows}, changes)

        lags = [
            (a.started_at - a.due_at).total_seconds()
            for a in list_actions(self.db)
            if a.started_at is not None
        ]
        yield histogram(
            "upgradebot_scheduler_lag_seconds",
            "How late each timed action started (started minus due)",
            [([], lags)],
            LAG_BUCKETS_SECONDS,
        )


def gate_waits(windows_created: dict[int, datetime], changes: Iterable[StateChange]) -> Metric:
    """Per gate: from the moment the window entered the gate's state to the moment it left it
    (acknowledged, rejected, cancelled or expired)."""
    entered: dict[tuple[int, str], datetime] = {
        (wid, WindowState.PROPOSED.value): at for wid, at in windows_created.items()
    }
    waits: dict[str, list[float]] = {gate.value: [] for gate in GateId}
    for change in changes:
        since = entered.get((change.window_id, change.before))
        waiting = owed(WindowState(change.before))
        if since is not None and waiting is not None:
            waits[waiting[0].value].append(max((change.at - since).total_seconds(), 0.0))
        entered[(change.window_id, change.after)] = change.at
    return histogram(
        "upgradebot_gate_wait_seconds",
        "Time a window spent waiting at a gate before it was left, by gate",
        [([gate], values) for gate, values in waits.items()],
        GATE_WAIT_BUCKETS_SECONDS,
        labels=["gate"],
    )


def histogram(
    name: str,
    documentation: str,
    series: list[tuple[list[str], list[float]]],
    buckets: tuple[float, ...],
    labels: list[str] | None = None,
) -> Metric:
    family = HistogramMetricFamily(name, documentation, labels=labels or [])
    for label_values, values in series:
        cumulative = [
            (str(float(bound)), float(sum(1 for v in values if v <= bound))) for bound in buckets
        ]
        cumulative.append(("+Inf", float(len(values))))
        family.add_metric(label_values, cumulative, sum_value=sum(values))
    return family


class MeteredAdapter:
    """An agent adapter that counts and times every call to the one it wraps."""

    def __init__(self, system: str, inner: AgentAdapter, metrics: Metrics) -> None:
        self.system, self.inner, self.metrics = system, inner, metrics

    async def _call(self, method: str, call: Any) -> Any:
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await call
        except Exception as error:
            outcome = type(error).__name__
            raise
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.adapter_calls.labels(self.system, method, outcome).inc()
            self.metrics.adapter_latency.labels(self.system, method).observe(elapsed)

    async def get_cluster(self) -> Cluster:
        result: Cluster = await self._call("get_cluster", self.inner.get_cluster())
        return result

    async def get_alarms(self) -> AlarmSummary:
        result: AlarmSummary = await self._call("get_alarms", self.inner.get_alarms())
        return result

    async def get_requirements(self) -> list[AgentRequirements]:
        result: list[AgentRequirements] = await self._call(
            "get_requirements", self.inner.get_requirements()
        )
        return result

    async def get_latest_backups(self) -> dict[str, datetime | None]:
        result: dict[str, datetime | None] = await self._call(
            "get_latest_backups", self.inner.get_latest_backups()
        )
        return result

    async def upload_only(self, packages: list[PackageFile]) -> UploadReport:
        result: UploadReport = await self._call("upload_only", self.inner.upload_only(packages))
        return result

    async def start_upgrade(self, package: PackageFile, options: UpgradeOptions) -> str:
        result: str = await self._call("start_upgrade", self.inner.start_upgrade(package, options))
        return result

    async def get_progress(self, run_id: str) -> UpgradeRun:
        result: UpgradeRun = await self._call("get_progress", self.inner.get_progress(run_id))
        return result

    async def find_runs(self) -> list[UpgradeRun]:
        result: list[UpgradeRun] = await self._call("find_runs", self.inner.find_runs())
        return result

    async def get_history(self) -> list[HistoryEntry]:
        result: list[HistoryEntry] = await self._call("get_history", self.inner.get_history())
        return result

    async def close(self) -> None:
        await self.inner.close()


def method_of(url: str) -> str:
    """``https://slack.com/api/chat.postMessage?x=1`` -> ``chat.postMessage``."""
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


class MeteredWebClient(AsyncWebClient):
    """slack_sdk's client, counting the calls that end in an error (after any retries)."""

    metrics: Metrics | None = None

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            if self.metrics is not None:
                code = str(error.response.get("error") or f"http_{error.response.status_code}")
                self.metrics.slack_errors.labels(api_method, code).inc()
            raise
        except Exception as error:
            if self.metrics is not None:
                self.metrics.slack_errors.labels(api_method, type(error).__name__).inc()
            raise


class _CountsRetries:
    """Mixed into slack_sdk's retry handlers: a retry about to happen is counted by method."""

    metrics: Metrics
    reason: str

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        self.metrics.slack_retries.labels(method_of(request.url), self.reason).inc()
        await super().prepare_for_next_attempt_async(  # type: ignore[misc]
            state=state, request=request, response=response, error=error
        )


class CountedConnectionRetries(_CountsRetries, AsyncConnectionErrorRetryHandler):
    reason = "connection"


class CountedRateLimitRetries(_CountsRetries, AsyncRateLimitErrorRetryHandler):
    reason = "rate_limited"


class CountedServerErrorRetries(_CountsRetries, AsyncServerErrorRetryHandler):
    reason = "server_error"


def counted_retry_handlers(metrics: Metrics) -> list[Any]:
    """The retries ``make_client`` always had, each now counted."""
    handlers: list[Any] = [
        CountedConnectionRetries(max_retry_count=2),
        CountedRateLimitRetries(max_retry_count=3),
        CountedServerErrorRetries(max_retry_count=3),
    ]
    for handler in handlers:
        handler.metrics = metrics
    return handlers
