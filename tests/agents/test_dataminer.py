"""The dataminer adapter against a loopback DataMiner (``tests/fakes/dataminer.py``)."""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
import yaml
from jsonschema import Draft7Validator
from pydantic import SecretStr

from bot.agents import (
    AdapterError,
    AdapterTimeout,
    AgentState,
    AgentUnreachable,
    Severity,
    SimAgent,
    UpgradeOptions,
    build_adapter,
)
from bot.agents.dataminer import DataMinerAdapter, ManualStepRequired, RouteOptions
from bot.agents.dataminer.webapi import Credentials
from tests.agents.contract import (
    CHECK_ONLY,
    FULL_UPGRADE,
    NEW_VERSION,
    OLD_VERSION,
    AdapterContract,
    AdapterEnv,
    AdapterFactory,
    Scenario,
    package_file,
    wait_for_run,
)
from tests.fakes.dataminer import PASSWORD, TOKEN, USER, FakeDataMiner

ENV_PREFIX = "UPGRADEBOT_DM_TEST"
CREDENTIALS = Credentials(
    env_prefix=ENV_PREFIX,
    user=SecretStr(USER),
    password=SecretStr(PASSWORD),
    routes_token=SecretStr(TOKEN),
)


@pytest.fixture
async def adapter_factory() -> AsyncIterator[AdapterFactory]:
    made: list[tuple[DataMinerAdapter, FakeDataMiner]] = []

    async def make(scenario: Scenario) -> AdapterEnv:
        agents = [SimAgent(a.name, a.version, a.failover_of) for a in scenario.agents]
        fake = FakeDataMiner(
            agents,
            name=scenario.name,
            step_seconds=scenario.step_seconds,
            latency_seconds=scenario.latency_seconds,
        )
        await fake.start()
        adapter = DataMinerAdapter(
            scenario.name,
            fake.agent_url(agents[0].name),
            CREDENTIALS,
            routes=RouteOptions(),
            agent_hosts={agent.name: fake.host(agent.name) for agent in agents},
            resolver=fake.resolver,
            retry_delay_seconds=0.01,
            requests_per_minute=6000,
        )
        made.append((adapter, fake))
        return AdapterEnv(adapter=adapter, control=fake, scenario=scenario)

    yield make
    for adapter, fake in made:
        await adapter.close()
        await fake.stop()


class TestDataMinerAdapterKeepsTheContract(AdapterContract):
    pass


# --- the dataminer adapter's own behaviour ---------------------------------------------------

LAB = [
    SimAgent("dma-01", OLD_VERSION),
    SimAgent("dma-02", OLD_VERSION),
    SimAgent("dma-03", OLD_VERSION, failover_of="dma-02"),
]
Connect = Callable[..., DataMinerAdapter]


class Ticks:
    """Monotonic seconds a test moves by hand: the fake's session expiry and the adapter's
    session checks and polling see the same time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
async def fake(ticks: Ticks) -> AsyncIterator[FakeDataMiner]:
    dms = await FakeDataMiner(LAB, clock=ticks).start()
    yield dms
    await dms.stop()


@pytest.fixture
async def connect(fake: FakeDataMiner) -> AsyncIterator[Connect]:
    """Adapters on the fake: no routes unless ``routes=`` is given."""
    made: list[DataMinerAdapter] = []

    def make(credentials: Credentials = CREDENTIALS, **options: Any) -> DataMinerAdapter:
        options.setdefault("agent_hosts", {agent.name: fake.host(agent.name) for agent in LAB})
        options.setdefault("resolver", fake.resolver)
        options.setdefault("retry_delay_seconds", 0.01)
        options.setdefault("requests_per_minute", 6000)
        adapter = DataMinerAdapter("lab", fake.agent_url("dma-01"), credentials, **options)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        await adapter.close()


async def test_the_session_is_reused_and_renewed_once_when_dataminer_drops_it(
    fake: FakeDataMiner, connect: Connect, ticks: Ticks
) -> None:
    adapter = connect()
    for _ in range(3):
        await adapter.get_alarms()
    assert fake.count("ConnectAppAndInfo") == 1

    ticks.advance(301)  # unused for 5 minutes: DataMiner removes it
    summary = await adapter.get_alarms()

    assert summary.total > 0
    assert fake.count("ConnectAppAndInfo") == 2  # one new login, though two calls were refused
    assert fake.no_connection_answers == 2  # GetDataMinerAgentsInfo and GetActiveAlarms
    assert fake.count("GetActiveAlarms") == 5  # four answers and the one refused


async def test_a_removed_session_is_renewed_though_the_web_server_hides_the_error(
    fake: FakeDataMiner, connect: Connect, ticks: Ticks
) -> None:
    fake.custom_errors = True  # "There was an error processing the request.", no type
    adapter = connect()
    await adapter.get_alarms()

    ticks.advance(301)
    summary = await adapter.get_alarms()

    assert summary.total > 0
    assert fake.count("ConnectAppAndInfo") == 2
    assert fake.count("IsConnectionAlive") >= 1  # asked, since the error did not say


async def test_a_hidden_error_on_a_live_session_is_reported_as_hidden(
    fake: FakeDataMiner, connect: Connect
) -> None:
    fake.custom_errors = True
    fake.failures["GetActiveAlarms"] = 1

    with pytest.raises(AdapterError, match="hides the cause"):
        await connect().get_alarms()

    assert fake.count("ConnectAppAndInfo") == 1


async def test_an_hour_of_polling_keeps_one_session_per_agent(
    fake: FakeDataMiner, connect: Connect, ticks: Ticks
) -> None:
    """Each Agent's session is checked (IsConnectionAlive) often enough never to expire, and
    is not replaced while it lives: one login per Agent per hour."""
    adapter = connect(clock=ticks)
    for _ in range(360):
        await adapter.get_cluster()
        ticks.advance(10)

    assert {a.name: fake.count("ConnectAppAndInfo", a.name) for a in LAB} == {
        "dma-01": 1,
        "dma-02": 1,
        "dma-03": 1,
    }
    assert fake.no_connection_answers == 0
    assert fake.count("IsConnectionAlive", "dma-02") >= 3600 // 120 - 1


async def test_an_iis_recycle_costs_one_new_login_per_agent(
    fake: FakeDataMiner, connect: Connect, ticks: Ticks
) -> None:
    adapter = connect(clock=ticks)
    await adapter.get_cluster()

    fake.recycle()
    ticks.advance(121)
    cluster = await adapter.get_cluster()

    assert {agent.version for agent in cluster.agents} == {OLD_VERSION}
    assert fake.count("ConnectAppAndInfo") == 6


async def test_close_logs_out_of_every_agent(fake: FakeDataMiner, connect: Connect) -> None:
    adapter = connect()
    await adapter.get_cluster()

    await adapter.close()
    await adapter.close()

    assert sorted(fake.logouts) == ["dma-01", "dma-02", "dma-03"]
    assert [fake.live_sessions(a.name) for a in LAB] == [0, 0, 0]


async def test_an_agent_going_starting_then_running_is_read_with_its_new_version(
    fake: FakeDataMiner, connect: Connect
) -> None:
    adapter = connect()
    assert (await adapter.get_cluster()).agent("dma-02").state is AgentState.RUNNING
    logins = fake.count("ConnectAppAndInfo", "dma-02")

    fake.sim.set_agent("dma-02", state=AgentState.STARTING, version=NEW_VERSION)
    starting = (await adapter.get_cluster()).agent("dma-02")
    fake.sim.set_agent("dma-02", state=AgentState.RUNNING)
    running = (await adapter.get_cluster()).agent("dma-02")
    again = (await adapter.get_cluster()).agent("dma-02")

    assert (starting.state, starting.version) == (AgentState.STARTING, NEW_VERSION)
    assert (running.state, again.state) == (AgentState.RUNNING, AgentState.RUNNING)
    # the restart removed its session: one new login, which read the new version
    assert fake.count("ConnectAppAndInfo", "dma-02") == logins + 1


async def test_one_http_500_is_retried(fake: FakeDataMiner, connect: Connect) -> None:
    fake.failures["GetActiveAlarms"] = 1

    summary = await connect().get_alarms()

    assert summary.total > 0
    assert fake.count("GetActiveAlarms") == 2


async def test_a_second_http_500_is_an_adapter_error_without_a_stack_trace(
    fake: FakeDataMiner, connect: Connect
) -> None:
    fake.failures["GetActiveAlarms"] = 2

    with pytest.raises(AdapterError) as raised:
        await connect().get_alarms()

    message = str(raised.value)
    assert "GetActiveAlarms" in message and "HTTP 500" in message
    assert "Object reference not set" in message
    assert "StackTrace" not in message and " at Skyline" not in message
    assert fake.count("GetActiveAlarms") == 2


async def test_a_slow_answer_is_a_timeout_naming_the_agent(
    fake: FakeDataMiner, connect: Connect
) -> None:
    fake.slow["dma-01"] = 0.5

    with pytest.raises(AdapterTimeout) as raised:
        await connect(timeout_seconds=0.1).get_alarms()

    assert raised.value.agent == "dma-01"
    assert "0.1 s" in str(raised.value)


async def test_a_slow_agent_is_disconnected_in_the_cluster_read(
    fake: FakeDataMiner, connect: Connect
) -> None:
    adapter = connect(timeout_seconds=0.2)
    fake.slow["dma-02"] = 0.5

    cluster = await adapter.get_cluster()

    assert cluster.agent("dma-02").state is AgentState.DISCONNECTED
    assert cluster.agent("dma-01").state is AgentState.RUNNING


async def test_an_answer_that_is_not_json_is_a_clear_sentence(
    fake: FakeDataMiner, connect: Connect
) -> None:
    fake.bad_json["GetActiveAlarms"] = 1

    with pytest.raises(AdapterError) as raised:
        await connect().get_alarms()

    message = str(raised.value)
    assert "not JSON" in message and "text/html" in message
    assert "<html" not in message and "Traceback" not in message


async def test_another_agent_answers_when_the_dma_at_url_is_off_the_network(
    fake: FakeDataMiner, connect: Connect
) -> None:
    adapter = connect(agent_hosts={})  # the other Agents are known from the first read
    await adapter.get_cluster()
    fake.set_unreachable("dma-01")

    cluster = await adapter.get_cluster()

    assert cluster.agent("dma-01").state is AgentState.DISCONNECTED
    assert fake.count("GetDataMinerAgentsInfo", "dma-02") == 1


async def test_no_agent_answering_outside_a_run_is_unreachable(
    fake: FakeDataMiner, connect: Connect
) -> None:
    adapter = connect()
    await adapter.get_cluster()
    for agent in LAB:
        fake.set_unreachable(agent.name)

    with pytest.raises(AgentUnreachable) as raised:
        await adapter.get_cluster()

    assert (raised.value.agent, raised.value.others) == ("dma-01", ["dma-02", "dma-03"])


async def test_an_agent_whose_install_failed_is_stopped_on_its_old_version(
    fake: FakeDataMiner, connect: Connect, tmp_path: Path
) -> None:
    adapter = connect(routes=RouteOptions())
    fake.fail_upgrade("dma-02")

    run_id = await adapter.start_upgrade(package_file(tmp_path, FULL_UPGRADE), UpgradeOptions())
    await wait_for_run(adapter, run_id)
    failed = (await adapter.get_cluster()).agent("dma-02")

    assert (failed.state, failed.version) == (AgentState.STOPPED, OLD_VERSION)


async def test_an_upload_nobody_answers_fails_on_every_agent_instead_of_raising(
    fake: FakeDataMiner, connect: Connect, tmp_path: Path
) -> None:
    adapter = connect(routes=RouteOptions())
    await adapter.get_cluster()
    for agent in LAB:
        fake.set_unreachable(agent.name)

    report = await adapter.upload_only([package_file(tmp_path, FULL_UPGRADE)])

    assert report.failed_agents == ["dma-01", "dma-02", "dma-03"]
    assert "while uploading packages" in report.failures[0].message


async def test_alarms_carry_agent_names_and_dataminer_severities(
    fake: FakeDataMiner, connect: Connect
) -> None:
    fake.raise_critical_alarm()

    summary = await connect().get_alarms()

    critical = summary.worst(1)[0]
    assert (critical.severity, critical.agent, critical.element) == (
        Severity.CRITICAL,
        "dma-01",
        "Core Router 01",
    )
    assert critical.since.tzinfo is not None
    assert {alarm.agent for alarm in summary.alarms} == {"dma-01", "dma-02", "dma-03"}


async def test_a_dynamic_progress_route_is_used_when_configured(
    fake: FakeDataMiner, connect: Connect, tmp_path: Path
) -> None:
    routes = RouteOptions(progress="upgradebot/upgrades/{runId}")
    adapter = connect(routes=routes)

    run_id = await adapter.start_upgrade(package_file(tmp_path, CHECK_ONLY), UpgradeOptions())
    final = (await wait_for_run(adapter, run_id))[-1]

    assert final.finished and not final.failed
    assert fake.count(f"GET upgradebot/upgrades/{run_id}") >= 1


async def test_a_package_missing_from_the_dma_share_fails_the_upload(
    fake: FakeDataMiner, connect: Connect, tmp_path: Path
) -> None:
    fake.missing_packages.add(FULL_UPGRADE)

    report = await connect(routes=RouteOptions()).upload_only(
        [package_file(tmp_path, FULL_UPGRADE)]
    )

    assert report.failed_agents == ["dma-01", "dma-02", "dma-03"]
    assert "is not in" in report.failures[0].message


async def test_a_route_without_an_api_definition_says_to_install_the_scripts(
    connect: Connect,
) -> None:
    adapter = connect(routes=RouteOptions(backups="upgradebot/nothing-here"))

    with pytest.raises(AdapterError, match="install the upgradebot scripts"):
        await adapter.get_latest_backups()


async def test_a_route_left_out_keeps_only_its_step_manual(
    fake: FakeDataMiner, connect: Connect, tmp_path: Path
) -> None:
    adapter = connect(routes=RouteOptions(upload_only=None, failover=None))

    with pytest.raises(ManualStepRequired, match=r"Click \*Upload only\*"):
        await adapter.upload_only([package_file(tmp_path, FULL_UPGRADE)])
    cluster = await adapter.get_cluster()
    requirements = await adapter.get_requirements()

    assert {agent.failover_partner for agent in cluster.agents} == {None}
    assert len(requirements) == 3


# --- the documented route contract ----------------------------------------------------------

OPENAPI = Path(__file__).parents[2] / "docs" / "udapi-routes.openapi.yaml"


def _route_schema(name: str) -> Draft7Validator:
    """A validator for one schema of the OpenAPI document (3.0's ``nullable`` made JSON
    Schema's ``type: [..., "null"]``)."""

    def plain(node: Any) -> Any:
        if isinstance(node, dict):
            node = {key: plain(value) for key, value in node.items()}
            if node.pop("nullable", False):
                node["type"] = [node["type"], "null"]
            return node
        return [plain(item) for item in node] if isinstance(node, list) else node

    components = plain(yaml.safe_load(OPENAPI.read_text())["components"])
    return Draft7Validator({"$ref": f"#/components/schemas/{name}", "components": components})


def test_the_openapi_document_is_valid_yaml_naming_every_default_route() -> None:
    document = yaml.safe_load(OPENAPI.read_text())
    defaults = RouteOptions().model_dump().values()

    assert document["openapi"].startswith("3.0")
    assert {f"/{path}" for path in defaults if path} <= set(document["paths"])
    assert "/upgradebot/upgrades/{runId}" in document["paths"]


async def test_requests_and_answers_follow_the_openapi_document(
    fake: FakeDataMiner, connect: Connect, tmp_path: Path
) -> None:
    adapter = connect(routes=RouteOptions(progress="upgradebot/upgrades/{runId}"))
    await adapter.get_cluster()
    await adapter.get_requirements()
    await adapter.get_latest_backups()
    await adapter.upload_only([package_file(tmp_path, FULL_UPGRADE)])
    run_id = await adapter.start_upgrade(package_file(tmp_path, CHECK_ONLY), UpgradeOptions())
    with pytest.raises(AdapterError):
        await adapter.start_upgrade(package_file(tmp_path, CHECK_ONLY), UpgradeOptions())
    await wait_for_run(adapter, run_id)
    await adapter.find_runs()
    await adapter.get_history()
    schemas = {
        "GET upgradebot/requirements": (None, "RequirementsAnswer"),
        "GET upgradebot/backups": (None, "BackupsAnswer"),
        "GET upgradebot/history": (None, "HistoryAnswer"),
        "GET upgradebot/failover": (None, "FailoverAnswer"),
        "POST upgradebot/upload-only": ("UploadRequest", "UploadStarted"),
        "GET upgradebot/upload-only": (None, "UploadJobsAnswer"),
        "POST upgradebot/upgrades": ("StartRequest", "StartAnswer"),
        "GET upgradebot/upgrades": (None, "RunsAnswer"),
        f"GET upgradebot/upgrades/{run_id}": (None, "UpgradeRun"),
    }

    assert {name for name, *_ in fake.exchanges} == set(schemas)
    assert 409 in {status for *_, status, _ in fake.exchanges}
    for name, request, status, answer in fake.exchanges:
        request_schema, answer_schema = schemas[name]
        if request_schema:
            _route_schema(request_schema).validate(request)
        _route_schema(answer_schema if status < 300 else "ErrorAnswer").validate(answer)


# --- credentials -------------------------------------------------------------------------------


async def test_credentials_never_reach_logs_errors_or_reprs(
    fake: FakeDataMiner, connect: Connect, caplog: pytest.LogCaptureFixture, ticks: Ticks
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = Credentials(
        env_prefix=ENV_PREFIX,
        user=SecretStr(USER),
        password=SecretStr("Wr0ng-pa55word-zz"),
        routes_token=SecretStr("wrong-token-0123456789-abcdefghij=="),
    )
    errors: list[AdapterError] = []
    for call in (connect(wrong).get_alarms, connect(wrong, routes=RouteOptions()).get_history):
        with pytest.raises(AdapterError) as raised:
            await call()
        errors.append(raised.value)
    good = connect(routes=RouteOptions())
    await good.get_cluster()
    ticks.advance(301)
    await good.get_alarms()  # a dropped session and a new login

    shown = [caplog.text, *(str(e) for e in errors), *(repr(e) for e in errors)]
    shown += [repr(good), repr(CREDENTIALS), repr(wrong)]
    for secret in (USER, PASSWORD, TOKEN, "Wr0ng-pa55word-zz", "wrong-token-0123456789"):
        assert all(secret not in text for text in shown), secret
    assert f"${ENV_PREFIX}_USER" in str(errors[0])
    assert f"${ENV_PREFIX}_ROUTES_TOKEN" in str(errors[1])
    # one refused login (never retried), then 3 for the cluster read, 1 after the drop
    assert fake.count("ConnectAppAndInfo") == 1 + 3 + 1


# --- without routes: manual steps ------------------------------------------------------------


async def test_without_routes_upload_only_says_what_to_click_in_cube(
    connect: Connect, tmp_path: Path
) -> None:
    packages = [package_file(tmp_path, FULL_UPGRADE), package_file(tmp_path, CHECK_ONLY)]

    with pytest.raises(ManualStepRequired) as raised:
        await connect().upload_only(packages)

    message = str(raised.value)
    assert raised.value.step == "upload_only"
    for words in (
        "*Apps* > *System Center* > *Agents*",
        "*Manage* tab",
        "click *Upgrade*",
        "*New package*",
        "not `localhost`",
        "*Advanced Failover options*",
        FULL_UPGRADE,
        CHECK_ONLY,
        "*All Agents in cluster*",
        "*Upgrade main and backup Agent simultaneously*",
        "*Upload only*",
        '"Upload has been completed successfully"',
    ):
        assert words in message
    assert "**" not in message  # Slack mrkdwn bolds with one asterisk


async def test_without_routes_the_upgrade_is_clicked_in_cube_with_its_options(
    connect: Connect, tmp_path: Path
) -> None:
    options = UpgradeOptions(all_agents=False, agents=["dma-02", "dma-03"])

    with pytest.raises(ManualStepRequired) as raised:
        await connect().start_upgrade(package_file(tmp_path, FULL_UPGRADE), options)

    message = str(raised.value)
    assert "Click *Upgrade*." in message and "Upload only" not in message
    assert "*Individual Agents*, expand *DataMiner Agents* and tick dma-02, dma-03" in message
    assert "watches every Agent's state and version" in message


async def test_without_routes_reads_say_what_to_check_by_hand_and_the_web_api_still_works(
    connect: Connect,
) -> None:
    adapter = connect()
    reads = {
        "requirements": adapter.get_requirements,
        "backups": adapter.get_latest_backups,
        "history": adapter.get_history,
        "progress": adapter.find_runs,
    }

    for step, read in reads.items():
        with pytest.raises(ManualStepRequired) as raised:
            await read()
        assert raised.value.step == step
    with pytest.raises(ManualStepRequired, match="Attach"):
        await adapter.get_progress("0" * 32)
    cluster = await adapter.get_cluster()

    assert {agent.failover_partner for agent in cluster.agents} == {None}
    assert {agent.version for agent in cluster.agents} == {OLD_VERSION}


# --- the factory ---------------------------------------------------------------------------------

LAB_OPTIONS = {
    "kind": "dataminer",
    "url": "https://dma01.example",
    "credentials_env": "UPGRADEBOT_DM_LAB",
}


def test_build_adapter_reads_credentials_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UPGRADEBOT_DM_LAB_USER", USER)
    monkeypatch.setenv("UPGRADEBOT_DM_LAB_PASSWORD", PASSWORD)
    monkeypatch.setenv("UPGRADEBOT_DM_LAB_ROUTES_TOKEN", TOKEN)

    adapter = build_adapter("dataminer", "lab", {**LAB_OPTIONS, "routes": True})

    assert isinstance(adapter, DataMinerAdapter)
    assert repr(adapter) == "DataMinerAdapter('lab', 'https://dma01.example', with routes)"


@pytest.mark.parametrize(
    ("options", "env", "message"),
    [
        ({}, {}, "set UPGRADEBOT_DM_LAB_USER and UPGRADEBOT_DM_LAB_PASSWORD in the environment"),
        ({"routes": True}, {"USER": "u", "PASSWORD": "p"}, "set UPGRADEBOT_DM_LAB_ROUTES_TOKEN"),
        ({"password": "hunter2"}, {}, "credentials never go in the config file"),
        ({"url": "dma01.example"}, {}, "systems.lab.adapter.url"),
        ({"ca_bundle": "/nowhere/ca.pem"}, {}, "no file at /nowhere/ca.pem"),
        ({"routes": {"progres": "x"}}, {}, "routes"),
        ({"agent_hosts": {"dma02": "https://dma02"}}, {}, "is not a host name"),
        ({"requests_per_minute": 0}, {}, "requests_per_minute"),
    ],
)
def test_build_adapter_refuses_clearly(
    monkeypatch: pytest.MonkeyPatch, options: dict[str, Any], env: dict[str, str], message: str
) -> None:
    for key in ("USER", "PASSWORD", "ROUTES_TOKEN"):
        monkeypatch.delenv(f"UPGRADEBOT_DM_LAB_{key}", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(f"UPGRADEBOT_DM_LAB_{key}", value)

    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        build_adapter("dataminer", "lab", {**LAB_OPTIONS, **options})

    assert "hunter2" not in str(raised.value)


# --- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "hosts", "expected"),
    [
        ("https://dma01.corp.example", {}, "https://dma02.corp.example"),
        ("https://dma01.corp.example:8443", {}, "https://dma02.corp.example:8443"),
        ("https://dma01:8443", {}, "https://dma02:8443"),
        ("https://10.0.0.1:8443", {}, "https://10.0.0.2:8443"),
        (
            "https://dma01.corp.example",
            {"DMA02": "new-02.corp.example"},
            "https://new-02.corp.example",
        ),
    ],
)
def test_an_agent_is_addressed_by_host_name_with_the_scheme_and_port_of_url(
    url: str, hosts: dict[str, str], expected: str
) -> None:
    adapter = DataMinerAdapter("lab", url, CREDENTIALS, agent_hosts=hosts)

    assert adapter.agent_url("DMA02", "10.0.0.2") == expected


async def test_an_agent_whose_host_name_does_not_resolve_keeps_its_state_and_says_what_to_set(
    fake: FakeDataMiner, connect: Connect
) -> None:
    hosts = {agent.name: fake.host(agent.name) for agent in LAB}
    adapter = connect(agent_hosts={**hosts, "dma-02": "dma-02.elsewhere.test"})

    cluster = await adapter.get_cluster()

    assert (cluster.agent("dma-02").state, cluster.agent("dma-02").version) == (
        AgentState.RUNNING,
        "unknown",
    )
    problem = adapter.agent_problems["dma-02"]
    assert "dma-02.elsewhere.test does not resolve" in problem and "agent_hosts" in problem


# --- HTTPS: certificates that name the hosts ------------------------------------------------


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


async def _https_dms(ca: trustme.CA, named: list[str]) -> FakeDataMiner:
    """The fake over HTTPS with one certificate, signed by ``ca``, that names these hosts."""
    dms = FakeDataMiner(LAB)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*(dms.host(agent) for agent in named)).configure_cert(server_tls)
    return await dms.start(ssl_context=server_tls)


def _trusting(ca: trustme.CA, dms: FakeDataMiner, tmp_path: Path, **options: Any) -> Any:
    bundle = tmp_path / "dms-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return DataMinerAdapter(
        "lab",
        dms.agent_url("dma-01"),
        CREDENTIALS,
        ca_bundle=str(bundle),
        resolver=dms.resolver,
        retry_delay_seconds=0.01,
        **options,
    )


async def test_agents_are_reached_by_host_name_on_the_configured_port_with_tls_checked(
    ca: trustme.CA, tmp_path: Path
) -> None:
    """Only url is configured (https://dma-01.dms.test:<port>); the other Agents are asked at
    their names in its domain, on its port, and each certificate is checked by name."""
    dms = await _https_dms(ca, [agent.name for agent in LAB])
    adapter = _trusting(ca, dms, tmp_path)
    try:
        cluster = await adapter.get_cluster()
        summary = await adapter.get_alarms()
    finally:
        await adapter.close()
        await dms.stop()

    assert {agent.version for agent in cluster.agents} == {OLD_VERSION}
    assert {dms.count("ConnectAppAndInfo", a.name) for a in LAB} == {1}
    assert summary.total > 0 and adapter.agent_problems == {}


async def test_a_certificate_not_naming_the_agent_at_url_moves_on_to_the_next_agent(
    ca: trustme.CA, tmp_path: Path
) -> None:
    dms = await _https_dms(ca, ["dma-02", "dma-03"])  # dma-01's certificate names others
    hosts = {agent.name: dms.host(agent.name) for agent in LAB}
    adapter = _trusting(ca, dms, tmp_path, agent_hosts=hosts)
    try:
        cluster = await adapter.get_cluster()
    finally:
        await adapter.close()
        await dms.stop()

    assert cluster.agent("dma-02").version == OLD_VERSION
    assert cluster.agent("dma-01").version == "unknown"
    problem = adapter.agent_problems["dma-01"]
    assert "certificate" in problem and "agent_hosts.dma-01" in problem


async def test_an_untrusted_ca_is_named_with_what_to_set(ca: trustme.CA) -> None:
    dms = await _https_dms(ca, [agent.name for agent in LAB])
    strict = DataMinerAdapter("lab", dms.agent_url("dma-01"), CREDENTIALS, resolver=dms.resolver)
    try:
        with pytest.raises(AgentUnreachable) as raised:
            await strict.get_alarms()
    finally:
        await strict.close()
        await dms.stop()

    assert re.search(r"dma-01.*certificate is not trusted.*set ca_bundle", str(raised.value))


async def test_tls_checks_can_be_turned_off_for_a_lab_with_a_loud_warning(
    ca: trustme.CA, caplog: pytest.LogCaptureFixture
) -> None:
    dms = await _https_dms(ca, ["somebody-else"])
    with caplog.at_level(logging.WARNING):
        lab = DataMinerAdapter(
            "lab", dms.agent_url("dma-01"), CREDENTIALS, resolver=dms.resolver, verify_tls=False
        )
    try:
        summary = await lab.get_alarms()
    finally:
        await lab.close()
        await dms.stop()

    assert summary.total > 0
    assert "TLS CERTIFICATE CHECKS ARE OFF" in caplog.text


# --- logins: bad credentials are not a server error -------------------------------------------


async def test_a_server_error_on_login_is_retried_then_the_next_agent_answers(
    fake: FakeDataMiner, connect: Connect
) -> None:
    fake.login_errors["dma-01"] = 2  # "Cannot connect to DataMiner." (starting, say)

    cluster = await connect().get_cluster()

    assert cluster.agent("dma-02").state is AgentState.RUNNING
    assert fake.count("ConnectAppAndInfo", "dma-01") >= 2
    assert fake.count("GetDataMinerAgentsInfo", "dma-02") == 1


async def test_bad_credentials_name_the_config_key_and_ask_no_other_agent(
    fake: FakeDataMiner, connect: Connect
) -> None:
    wrong = Credentials(
        env_prefix=ENV_PREFIX, user=SecretStr(USER), password=SecretStr("Wr0ng-pa55word-zz")
    )
    adapter = connect(wrong)

    with pytest.raises(AdapterError) as first:
        await adapter.get_cluster()
    with pytest.raises(AdapterError) as second:
        await adapter.get_alarms()

    assert "systems.lab.adapter.credentials_env" in str(first.value)
    assert "refused the login" in str(first.value)
    assert str(second.value) == str(first.value)
    assert fake.count("ConnectAppAndInfo") == 1  # never retried, never elsewhere


# --- the strict fake answers as ASP.NET does ----------------------------------------------------


async def test_a_missing_or_miscased_parameter_is_http_500_with_the_documented_body(
    fake: FakeDataMiner,
) -> None:
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=fake.resolver)
    ) as http:
        url = f"{fake.agent_url('dma-01')}/API/v1/Json.asmx/GetActiveAlarms"
        async with http.post(url, json={"Connection": "x"}) as answer:
            body = await answer.json()
            status, header = answer.status, answer.headers.get("jsonerror")

    assert (status, header) == (500, "true")
    assert set(body) == {"Message", "StackTrace", "ExceptionType"}
    assert body["Message"] == (
        "Invalid web service call, missing value for parameter: 'connection'."
    )


# --- routes never break reads; jobs; rate limits -------------------------------------------------


@pytest.mark.parametrize(
    ("routes", "fault"),
    [
        (RouteOptions(failover="upgradebot/not-installed"), None),
        (RouteOptions(), "rate_limited"),
        (RouteOptions(), "nats_failures"),
    ],
)
async def test_a_failing_failover_route_leaves_the_web_api_answer_standing(
    fake: FakeDataMiner, connect: Connect, routes: RouteOptions, fault: str | None
) -> None:
    if fault is not None:
        getattr(fake, fault)["GET upgradebot/failover"] = 100

    cluster = await connect(routes=routes).get_cluster()

    assert [agent.state for agent in cluster.agents] == [AgentState.RUNNING] * 3
    assert {agent.version for agent in cluster.agents} == {OLD_VERSION}


async def test_the_failing_route_is_named(fake: FakeDataMiner, connect: Connect) -> None:
    adapter = connect(routes=RouteOptions(failover="upgradebot/not-installed"))

    await adapter.get_cluster()

    assert "upgradebot/not-installed" in adapter.route_problems["failover"]


async def test_a_rate_limited_request_is_waited_out_and_sent_again(
    fake: FakeDataMiner, connect: Connect, tmp_path: Path
) -> None:
    fake.retry_after_seconds = 0
    fake.rate_limited["GET upgradebot/backups"] = 2
    fake.rate_limited["POST upgradebot/upgrades"] = 1
    adapter = connect(routes=RouteOptions())

    backups = await adapter.get_latest_backups()
    run_id = await adapter.start_upgrade(package_file(tmp_path, CHECK_ONLY), UpgradeOptions())

    assert set(backups) == {"dma-01", "dma-02", "dma-03"}
    assert fake.count("GET upgradebot/backups") == 3
    assert [run.run_id for run in await fake.sim.find_runs()] == [run_id]


async def test_a_rate_limit_that_does_not_lift_says_what_to_change(
    fake: FakeDataMiner, connect: Connect
) -> None:
    fake.retry_after_seconds = 0
    fake.rate_limited["GET upgradebot/backups"] = 100

    with pytest.raises(AdapterError, match=r"RateLimit of the token.*requests_per_minute"):
        await connect(routes=RouteOptions()).get_latest_backups()

    assert fake.count("GET upgradebot/backups") == 4


async def test_progress_is_asked_no_faster_than_the_configured_rate(
    fake: FakeDataMiner, connect: Connect, ticks: Ticks, tmp_path: Path
) -> None:
    adapter = connect(routes=RouteOptions(), requests_per_minute=20, clock=ticks)
    run_id = await adapter.start_upgrade(package_file(tmp_path, CHECK_ONLY), UpgradeOptions())
    asked = fake.count("GET upgradebot/upgrades")

    for _ in range(30):  # the bot's watcher: every 2 s for a minute
        await adapter.get_progress(run_id)
        ticks.advance(2)

    assert fake.count("GET upgradebot/upgrades") - asked <= 20


async def test_upload_only_is_a_job_started_once_and_then_polled(
    fake: FakeDataMiner, connect: Connect, tmp_path: Path
) -> None:
    report = await connect(routes=RouteOptions()).upload_only(
        [package_file(tmp_path, FULL_UPGRADE)]
    )

    assert report.ok
    assert fake.count("POST upgradebot/upload-only") == 1
    assert fake.count("GET upgradebot/upload-only") >= 1


async def test_an_upload_job_outlives_a_poll_that_no_agent_answers(
    fake: FakeDataMiner, connect: Connect, tmp_path: Path
) -> None:
    fake.nats_failures["GET upgradebot/upload-only"] = 6  # twice on each of the three Agents

    report = await connect(routes=RouteOptions()).upload_only(
        [package_file(tmp_path, FULL_UPGRADE)]
    )

    assert report.ok
    assert fake.count("POST upgradebot/upload-only") == 1


async def test_a_start_whose_answer_was_lost_is_never_sent_to_another_agent(
    fake: FakeDataMiner, connect: Connect, tmp_path: Path
) -> None:
    fake.lost_answers["POST upgradebot/upgrades"] = 1

    with pytest.raises(AdapterTimeout, match="may have been taken"):
        await connect(routes=RouteOptions()).start_upgrade(
            package_file(tmp_path, CHECK_ONLY), UpgradeOptions()
        )

    assert fake.count("POST upgradebot/upgrades") == 1
    assert len(await fake.sim.find_runs()) == 1


async def test_a_start_the_endpoint_could_not_deliver_goes_to_the_next_agent(
    fake: FakeDataMiner, connect: Connect, tmp_path: Path
) -> None:
    fake.nats_failures["POST upgradebot/upgrades"] = 1  # 500 / 1001: never reached a script

    run_id = await connect(routes=RouteOptions()).start_upgrade(
        package_file(tmp_path, CHECK_ONLY), UpgradeOptions()
    )

    assert fake.count("POST upgradebot/upgrades") == 2
    assert [run.run_id for run in await fake.sim.find_runs()] == [run_id]
