"""The dataminer adapter against a loopback DataMiner (``tests/fakes/dataminer.py``)."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
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
from bot.agents.dm_webapi import Credentials
from bot.agents.models import AnswerLost
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
            agent_urls=fake.agent_urls,
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


@pytest.fixture
async def fake() -> AsyncIterator[FakeDataMiner]:
    dms = await FakeDataMiner(LAB, idle_seconds=0.2).start()
    yield dms
    await dms.stop()


@pytest.fixture
async def connect(fake: FakeDataMiner) -> AsyncIterator[Connect]:
    """Adapters on the fake: no routes unless ``routes=`` is given."""
    made: list[DataMinerAdapter] = []

    def make(credentials: Credentials = CREDENTIALS, **options: Any) -> DataMinerAdapter:
        options.setdefault("agent_urls", fake.agent_urls)
        adapter = DataMinerAdapter("lab", fake.agent_url("dma-01"), credentials, **options)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        await adapter.close()


async def test_the_session_is_reused_and_renewed_once_when_dataminer_drops_it(
    fake: FakeDataMiner, connect: Connect
) -> None:
    adapter = connect()
    for _ in range(3):
        await adapter.get_alarms()
    assert fake.count("ConnectAppAndInfo") == 1

    await asyncio.sleep(0.3)  # the fake drops sessions idle for 0.2 s
    summary = await adapter.get_alarms()

    assert summary.total > 0
    assert fake.count("ConnectAppAndInfo") == 2  # one new login, though two calls were refused
    assert fake.no_connection_answers == 2  # GetDataMinerAgentsInfo and GetActiveAlarms
    assert fake.count("GetActiveAlarms") == 5  # four answers and the one refused


async def test_an_idle_session_is_replaced_before_dataminer_would_drop_it(
    fake: FakeDataMiner, connect: Connect
) -> None:
    adapter = connect(session_idle_seconds=0.1)
    await adapter.get_alarms()

    await asyncio.sleep(0.15)
    await adapter.get_alarms()

    assert (fake.count("ConnectAppAndInfo"), fake.no_connection_answers) == (2, 0)


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
    # one login per change DataMiner reported, none while nothing changed
    assert fake.count("ConnectAppAndInfo", "dma-02") == logins + 2


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
    fake.set_unreachable("dma-01")

    cluster = await connect().get_cluster()

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


async def test_a_start_whose_connection_drops_after_the_dms_took_it_is_never_sent_again(
    fake: FakeDataMiner, connect: Connect, tmp_path: Path
) -> None:
    """Issue 15 (D8): the DMA starts the run, then drops the connection. The adapter must not
    send the start to the next Agent; it asks the DMS and finds the run the start began."""
    adapter = connect(routes=RouteOptions())
    fake.drop_after_start = 1

    run_id = await adapter.start_upgrade(package_file(tmp_path, FULL_UPGRADE), UpgradeOptions())

    assert fake.count("POST upgradebot/upgrades") == 1, "the start was sent once"
    runs = await adapter.find_runs()
    assert [(run.run_id, run.package) for run in runs] == [(run_id, FULL_UPGRADE)]


async def test_a_start_whose_answer_is_lost_while_the_dms_cannot_be_asked_is_not_resent(
    fake: FakeDataMiner, connect: Connect, tmp_path: Path
) -> None:
    """With no list of runs to settle it, a lost answer stays unknown: raised, never resent."""
    adapter = connect(routes=RouteOptions())
    fake.drop_after_start = 1
    fake.failures["GET upgradebot/upgrades"] = 10

    with pytest.raises(AnswerLost) as raised:
        await adapter.start_upgrade(package_file(tmp_path, FULL_UPGRADE), UpgradeOptions())

    assert fake.count("POST upgradebot/upgrades") == 1, "the start was sent once"
    assert "may have done it" in str(raised.value)


async def test_an_upload_nobody_answers_fails_on_every_agent_instead_of_raising(
    fake: FakeDataMiner, connect: Connect, tmp_path: Path
) -> None:
    adapter = connect(routes=RouteOptions())
    await adapter.get_cluster()
    for agent in LAB:
        fake.set_unreachable(agent.name)

    report = await adapter.upload_only([package_file(tmp_path, FULL_UPGRADE)])

    assert report.failed_agents == ["dma-01", "dma-02", "dma-03"]
    assert "did not answer while uploading packages" in report.failures[0].message


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
        "POST upgradebot/upload-only": ("UploadRequest", "UploadReport"),
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
    fake: FakeDataMiner, connect: Connect, caplog: pytest.LogCaptureFixture
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
    await asyncio.sleep(0.3)
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
        "System Center > Agents",
        "Upgrade…",
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
    assert "only these Agents: dma-02, dma-03" in message
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


# --- HTTPS ---------------------------------------------------------------------------------------


def _make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a certificate for 127.0.0.1 it signed, with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.fail(
            "the openssl command is needed to make a test certificate: apt-get install openssl"
        )
    ca_key, ca, key, csr, cert = (
        directory / n for n in ("ca.key", "ca.pem", "k.pem", "c.csr", "c.pem")
    )
    ext = directory / "ext.cnf"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    commands = [
        [
            "req",
            "-x509",
            *ec,
            "-keyout",
            ca_key,
            "-out",
            ca,
            "-days",
            "2",
            "-subj",
            "/CN=upgradebot test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        ["req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        [
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-out",
            cert,
            "-days",
            "2",
            "-extfile",
            ext,
        ],
    ]
    for command in commands:
        subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True)
    return ca, cert, key


async def test_https_checks_certificates_and_trusts_the_configured_ca(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ca, cert, key = _make_certificates(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    dms = await FakeDataMiner(LAB).start(ssl_context=server_tls)
    url = dms.agent_url("dma-01")
    strict = DataMinerAdapter("lab", url, CREDENTIALS, agent_urls=dms.agent_urls)
    trusting = DataMinerAdapter(
        "lab", url, CREDENTIALS, agent_urls=dms.agent_urls, ca_bundle=str(ca)
    )
    with caplog.at_level(logging.WARNING):
        lab = DataMinerAdapter("lab", url, CREDENTIALS, agent_urls=dms.agent_urls, verify_tls=False)
    try:
        with pytest.raises(AdapterError, match=r"certificate of dma-01 is not trusted.*ca_bundle"):
            await strict.get_alarms()
        summary = await trusting.get_alarms()
        cluster = await trusting.get_cluster()
        await lab.get_alarms()
    finally:
        for adapter in (strict, trusting, lab):
            await adapter.close()
        await dms.stop()

    assert url.startswith("https://") and summary.total > 0
    assert {agent.version for agent in cluster.agents} == {OLD_VERSION}
    assert "TLS CERTIFICATE CHECKS ARE OFF" in caplog.text
