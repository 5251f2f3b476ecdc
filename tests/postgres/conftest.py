"""Fixtures of the PostgreSQL backend's own tests: one server per session
(``AGENT_BRAIN_TEST_POSTGRES_DSN`` or a throwaway pgserver), one fresh database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from agent_brain.backends.postgres import PGBackend
from agent_brain.config import AgentBrainConfig
from agent_brain.testing.postgres import ThrowawayPostgres

DIM = 8


@pytest.fixture
async def pg_dsn(pg_server: ThrowawayPostgres) -> AsyncIterator[str]:
    """A fresh database with the schema at head."""
    dsn = await pg_server.create_database()
    yield dsn
    await pg_server.drop_database(dsn)


@pytest.fixture
async def empty_dsn(pg_server: ThrowawayPostgres) -> AsyncIterator[str]:
    """A fresh database without the schema (not even the extension)."""
    dsn = await pg_server.create_database(with_schema=False)
    yield dsn
    await pg_server.drop_database(dsn)


def make_config(dsn: str, dimension: int = DIM, **index: Any) -> AgentBrainConfig:
    config = AgentBrainConfig()
    config.storage.backend = "postgres"
    config.storage.postgres.dsn = dsn
    config.storage.postgres.pool.max_size = 4
    config.embedding.dimension = dimension
    config.embedding.model = "test-model"
    for key, value in index.items():
        setattr(config.storage.postgres.index, key, value)
    return config


@pytest.fixture
def pg_config(pg_dsn: str) -> AgentBrainConfig:
    return make_config(pg_dsn)


@pytest.fixture
async def backend(pg_config: AgentBrainConfig) -> AsyncIterator[PGBackend]:
    store = PGBackend(pg_config)
    await store.initialize()
    try:
        yield store
    finally:
        await store.close()




@pytest.fixture
async def sql(pg_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection to the test database, for looking behind the backend."""
    connection = await asyncpg.connect(pg_dsn)
    try:
        yield connection
    finally:
        await connection.close()
