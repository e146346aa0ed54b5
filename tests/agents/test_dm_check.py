"""``upgradebot check-dms``: per Agent what could be read and what failed and why; nothing
on the DMS changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.agents.dataminer import DataMinerAdapter, RouteOptions
from bot.agents.dataminer.check import check_dms
from tests.agents.test_dataminer import CREDENTIALS, LAB
from tests.bot.test_settings import BASE, _cli, write
from tests.fakes.dataminer import FakeDataMiner


@pytest.fixture
async def fake() -> AsyncIterator[FakeDataMiner]:
    dms = await FakeDataMiner(LAB).start()
    yield dms
    await dms.stop()


def _adapter(fake: FakeDataMiner, routes: RouteOptions | None = None) -> DataMinerAdapter:
    return DataMinerAdapter(
        "lab", fake.agent_url("dma-01"), CREDENTIALS, routes=routes, resolver=fake.resolver
    )


async def test_a_healthy_dms_without_routes_lists_every_agent_and_the_manual_reads(
    fake: FakeDataMiner,
) -> None:
    text, healthy = await check_dms(_adapter(fake))

    assert healthy
    for agent in LAB:
        assert f"✓ {agent.name} (ID" in text and "Running, version 10.3.0.0-13012" in text
    assert "✓ alarms (GetActiveAlarms)" in text
    assert "– backups (route backups): no route configured" in text
    assert sorted(fake.logouts) == ["dma-01", "dma-02", "dma-03"]


async def test_what_failed_is_named_with_why_and_nothing_is_changed(
    fake: FakeDataMiner,
) -> None:
    fake.set_unreachable("dma-03")
    routes = RouteOptions(backups="upgradebot/not-installed")

    text, healthy = await check_dms(_adapter(fake, routes))

    assert not healthy
    assert "✗ dma-03" in text and "DataMiner reports it Disconnected" in text
    assert "✗ backups (route backups)" in text and "install the upgradebot scripts" in text
    assert not [name for _, name in fake.calls if name.startswith("POST")]
    assert await fake.sim.find_runs() == []


def test_the_cli_says_which_systems_exist(tmp_path: Path) -> None:
    result = _cli(tmp_path, "check-dms", "prod", config=write(tmp_path, BASE))

    assert result.returncode == 2
    assert "no system 'prod' in the config (systems: lab)" in result.stderr


def test_the_cli_prints_why_the_dms_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DM_LAB_USER", "svc-bot")
    monkeypatch.setenv("DM_LAB_PASSWORD", "not-printed-anywhere")
    config = BASE.replace(
        'adapter: {kind: simulated, agents: [{name: a, version: "10.3.0.0-13012"}]}',
        'adapter: {kind: dataminer, url: "https://127.0.0.1:9", credentials_env: DM_LAB}',
    )

    result = _cli(tmp_path, "check-dms", "lab", config=write(tmp_path, config))

    assert result.returncode == 1, result.stderr
    assert "✗ cluster (GetDataMinerAgentsInfo)" in result.stdout
    assert "no connection to 127.0.0.1:9" in result.stdout
    assert "not-printed-anywhere" not in result.stdout + result.stderr
