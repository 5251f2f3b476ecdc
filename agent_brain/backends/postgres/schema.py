"""The schema: Alembic revisions run without blocking the event loop, under an advisory lock,
and the store record (embedding model, dimension, distance, text-search configuration)
checked against the configuration.

``initialize()`` calls :func:`ensure_schema`; ``agent-brain db`` calls :func:`upgrade`,
:func:`current` and :func:`downgrade` (each takes the configuration). Revisions run through
SQLAlchemy's asyncpg driver (``AsyncConnection.run_sync``), on a connection of their own,
while a second connection holds ``pg_advisory_lock``: two processes initializing one empty
database at once migrate it once, and the second finds it at head.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from agent_brain.backends.postgres.names import SCHEMA, STORE, VERSION_TABLE
from agent_brain.backends.postgres.pool import Target, connect, open_target
from agent_brain.config import AgentBrainConfig
from agent_brain.errors import (
    BackendUnavailableError,
    ConfigError,
    DimensionMismatchError,
)

if TYPE_CHECKING:
    from alembic.config import Config

HEAD_REVISION = "0002"
"""The newest revision this version of the library ships (a test pins it to Alembic's)."""
LOCK_KEY = 0x61625F736368656D
"""``pg_advisory_lock`` key of schema changes (the bytes of ``ab_schem``)."""
MIN_PGVECTOR = (0, 5, 0)
"""HNSW arrived in pgvector 0.5.0; iterative index scans (used when present) in 0.8.0."""


# --------------------------------------------------------------------------- Alembic
def script_location() -> Path:
    """The Alembic scripts: ``agent_brain/_alembic`` in an installed wheel, else the
    repository's top-level ``alembic/``."""
    package = Path(__file__).resolve().parents[2]
    for candidate in (package / "_alembic", package.parent / "alembic"):
        if (candidate / "env.py").is_file():
            return candidate
    raise ConfigError(
        f"cannot find the Alembic scripts of the PostgreSQL schema near {package}",
        hint="reinstall agent-brain (the wheel ships them as agent_brain/_alembic)",
    )


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location()))
    return config


async def ensure_schema(target: Target) -> str:
    """Bring the database to :data:`HEAD_REVISION` (creating the ``vector`` extension if it
    is missing); return the schema holding the ``vector`` type. Cheap when already there."""
    connection = await connect(target)
    try:
        if await _revision(connection) == HEAD_REVISION:
            return await vector_schema(connection)
    finally:
        await connection.close()
    await _migrate(target, "upgrade", "head")
    connection = await connect(target)
    try:
        return await vector_schema(connection)
    finally:
        await connection.close()


async def upgrade(config: AgentBrainConfig, revision: str = "head") -> None:
    """Apply revisions up to ``revision`` (``agent-brain db upgrade``)."""
    async with open_target(config) as target:
        await _migrate(target, "upgrade", revision)


async def downgrade(config: AgentBrainConfig, revision: str) -> None:
    """Revert revisions down to ``revision`` (``-1``, ``base``...); dropping a table drops
    its data (``agent-brain db downgrade``)."""
    async with open_target(config) as target:
        await _migrate(target, "downgrade", revision)


async def current(config: AgentBrainConfig) -> str | None:
    """The revision the database is at (``None``: no revision applied)."""
    async with open_target(config) as target:
        connection = await connect(target)
        try:
            return await _revision(connection)
        finally:
            await connection.close()


async def _revision(connection: asyncpg.Connection) -> str | None:
    exists = await connection.fetchval(
        "SELECT to_regclass($1) IS NOT NULL", f"{SCHEMA}.{VERSION_TABLE}"
    )
    if not exists:
        return None
    revision: str | None = await connection.fetchval(
        f"SELECT version_num FROM {SCHEMA}.{VERSION_TABLE} LIMIT 1"
    )
    return revision


async def _migrate(target: Target, action: str, revision: str) -> None:
    from alembic.util import CommandError

    from alembic import command

    config = alembic_config()

    def run(sync_connection: Any) -> None:
        config.attributes["connection"] = sync_connection
        if action == "upgrade":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)

    try:
        await run_locked(target, run)
    except CommandError as exc:
        raise ConfigError(
            f"cannot {action} the PostgreSQL schema at {target.label} to {revision!r}: {exc}",
            hint=f"this agent-brain ships revisions up to {HEAD_REVISION}; a database at a "
            "newer revision needs a newer agent-brain",
        ) from exc


async def run_locked(target: Target, run: Callable[[Any], None]) -> None:
    """Run ``run(sync_connection)`` in one transaction on a SQLAlchemy connection, while the
    schema advisory lock is held and the ``vector`` extension and schema exist."""
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    async with _schema_lock(target):
        async def creator() -> asyncpg.Connection:
            return await connect(target)

        engine = create_async_engine("postgresql+asyncpg://", async_creator=creator,
                                     poolclass=NullPool)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(run)
        finally:
            await engine.dispose()


@asynccontextmanager
async def _schema_lock(target: Target) -> AsyncIterator[None]:
    connection = await connect(target)
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        try:
            await _ensure_extension(connection, target)
            await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            yield
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    finally:
        await connection.close()


async def _ensure_extension(connection: asyncpg.Connection, target: Target) -> None:
    installed = await connection.fetchval(
        "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
    )
    if installed is None:
        available = await connection.fetchval(
            "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'"
        )
        if available is None:
            raise BackendUnavailableError(
                f"PostgreSQL at {target.label} does not have the pgvector extension installed",
                hint="install pgvector on the server (or use the pgvector/pgvector Docker "
                "image, see docker/compose.yaml)",
            )
        try:
            await connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except asyncpg.InsufficientPrivilegeError as exc:
            raise BackendUnavailableError(
                f"the user of {target.label} may not create the pgvector extension: {exc}",
                hint="have a superuser run CREATE EXTENSION vector; in this database once",
            ) from exc
        installed = await connection.fetchval(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        )
    if version_tuple(installed) < MIN_PGVECTOR:
        raise BackendUnavailableError(
            f"PostgreSQL at {target.label} has pgvector {installed}; Agent Brain needs >= "
            + ".".join(map(str, MIN_PGVECTOR)),
            hint="ALTER EXTENSION vector UPDATE; after installing a newer pgvector",
        )


def version_tuple(version: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in version.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


async def vector_schema(connection: asyncpg.Connection) -> str:
    schema: str = await connection.fetchval(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'vector'"
    )
    return schema


def run_from_alembic_command(
    config: Config, x_arguments: Mapping[str, str], run: Callable[[Any], None]
) -> None:
    """The ``alembic`` command's way in (see alembic/env.py): same lock, same extension
    check, connection from ``-x dsn=``, ``AGENT_BRAIN_POSTGRES_DSN`` or the configuration
    (``-x config=path.yaml``)."""
    from agent_brain.config import load_config

    settings = load_config(x_arguments.get("config"))
    dsn = x_arguments.get("dsn") or os.environ.get("AGENT_BRAIN_POSTGRES_DSN")
    if dsn:
        settings.storage.postgres.dsn = dsn
        settings.storage.postgres.embedded = False

    async def main() -> None:
        async with open_target(settings) as target:
            await run_locked(target, run)

    asyncio.run(main())


# --------------------------------------------------------------------------- store record
@dataclass(frozen=True, slots=True)
class StoreRecord:
    """What the store recorded at its first write (all ``None`` before it)."""

    embedding_model: str | None
    embedding_dimension: int | None
    distance: str | None
    text_search_config: str | None

    @property
    def written(self) -> bool:
        return self.embedding_model is not None


async def read_record(connection: asyncpg.Connection) -> StoreRecord:
    row = await connection.fetchrow(
        f"SELECT embedding_model, embedding_dimension, distance, text_search_config "
        f"FROM {STORE} WHERE id = 1"
    )
    if row is None:
        return StoreRecord(None, None, None, None)
    return StoreRecord(row[0], row[1], row[2], row[3])


def check_record(record: StoreRecord, config: AgentBrainConfig, location: str) -> None:
    """Raise if the store was written with another model, dimension, distance or
    text-search configuration than ``config`` asks for."""
    if not record.written:
        return
    embedding = config.embedding
    ts_config = config.storage.postgres.text_search_config
    fresh = ("or point storage.postgres.dsn at a new database (or reset every namespace) to "
             "start over with the new setting")
    if record.embedding_dimension != embedding.dimension:
        raise DimensionMismatchError(
            f"the store at {location} holds embeddings of dimension "
            f"{record.embedding_dimension} (model {record.embedding_model!r}); the "
            f"configuration asks for dimension {embedding.dimension} "
            f"(model {embedding.model!r})",
            hint=f"set embedding.dimension: {record.embedding_dimension} and embedding.model: "
            f"{record.embedding_model} to use this store, {fresh}",
        )
    if record.embedding_model != embedding.model:
        raise ConfigError(
            f"the store at {location} was written with embedding model "
            f"{record.embedding_model!r}; the configuration names {embedding.model!r}",
            hint=f"set embedding.model: {record.embedding_model} to use this store (vectors of "
            f"two models are not comparable), {fresh}",
        )
    if record.distance != embedding.distance:
        raise ConfigError(
            f"the store at {location} ranks by {record.distance} distance; the configuration "
            f"asks for {embedding.distance}",
            hint=f"set embedding.distance: {record.distance}, {fresh}",
        )
    if record.text_search_config != ts_config:
        raise ConfigError(
            f"the store at {location} indexed text with text_search_config "
            f"{record.text_search_config!r}; the configuration says {ts_config!r}",
            hint=f"set storage.postgres.text_search_config: {record.text_search_config} "
            f"(queries must be analyzed like the stored text), {fresh}",
        )


async def record_first_write(
    connection: asyncpg.Connection, config: AgentBrainConfig, location: str
) -> None:
    """Inside a write transaction: record the configuration if the store has none yet,
    else check it (another process may have recorded a different one meanwhile)."""
    recorded = await connection.fetchval(
        f"UPDATE {STORE} SET embedding_model = $1, embedding_dimension = $2, distance = $3, "
        "text_search_config = $4, recorded_at = now() "
        "WHERE id = 1 AND embedding_model IS NULL RETURNING 1",
        config.embedding.model, config.embedding.dimension, config.embedding.distance,
        config.storage.postgres.text_search_config,
    )
    if not recorded:
        check_record(await read_record(connection), config, location)


async def check_text_search_config(connection: asyncpg.Connection, name: str) -> None:
    """``name`` must be a text-search configuration the server knows."""
    found = await connection.fetchval(
        "SELECT 1 FROM pg_ts_config c WHERE c.cfgname = $1 AND pg_ts_config_is_visible(c.oid)",
        name,
    )
    if not found:
        known = await connection.fetch(
            "SELECT cfgname FROM pg_ts_config c WHERE pg_ts_config_is_visible(c.oid) "
            "ORDER BY cfgname"
        )
        raise ConfigError(
            f"storage.postgres.text_search_config {name!r} is not a text-search configuration "
            "of this server",
            hint="use one of: " + ", ".join(r[0] for r in known),
        )
