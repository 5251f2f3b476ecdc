"""The ``backend`` fixture: every contract test runs once per registered harness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent_brain import StorageBackendProtocol, create_backend
from agent_brain.config import AgentBrainConfig
from contract_tests.harness import HARNESSES, Harness

_started: dict[str, Harness] = {}


@pytest.fixture(scope="session")
def contract_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("contract")


async def _harness(name: str, workdir: Path) -> Harness:
    if name not in _started:
        harness = HARNESSES[name]()
        await harness.start(workdir)
        _started[name] = harness
    return _started[name]


@pytest.fixture(scope="session", autouse=True)
async def _stop_harnesses() -> AsyncIterator[None]:
    yield
    for harness in _started.values():
        await harness.stop()


@pytest.fixture(params=sorted(HARNESSES))
async def store_config(
    request: pytest.FixtureRequest, contract_workdir: Path
) -> AsyncIterator[AgentBrainConfig]:
    """A configuration naming a fresh, empty store of one registered backend."""
    harness = await _harness(request.param, contract_workdir)
    config = await harness.new_store(contract_workdir)
    yield config
    await harness.drop_store(config)


@pytest.fixture
async def backend(store_config: AgentBrainConfig) -> AsyncIterator[StorageBackendProtocol]:
    """An initialized backend over a fresh store, closed after the test."""
    store = create_backend(store_config)
    await store.initialize()
    try:
        yield store
    finally:
        await store.close()
