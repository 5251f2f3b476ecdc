"""Where the server is and how to talk to it: DSN handling (password from the environment,
redaction), one-off connections, the asyncpg pool, and connection errors as
:class:`~agent_brain.errors.BackendUnavailableError`."""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from pgvector.asyncpg import register_vector

from agent_brain.config import AgentBrainConfig, PostgresSettings
from agent_brain.errors import BackendUnavailableError, ConfigError

CONNECT_TIMEOUT = 15.0
"""Seconds to wait for a connection before calling the server unavailable."""

_HINT = (
    "check that the server is running and that storage.postgres.dsn (host, port, database, "
    "user) is right; to try Agent Brain without a server set storage.postgres.embedded: true, "
    "or start one with `docker compose -f docker/compose.yaml up -d`"
)


@dataclass(frozen=True, slots=True)
class Target:
    """A server to connect to: the DSN, a password from the environment, and a label with
    no secret in it for messages and ``info()``."""

    dsn: str
    password: str | None = None
    label: str = ""

    def connect_kwargs(self) -> dict[str, Any]:
        return {"password": self.password} if self.password is not None else {}


def redact(dsn: str) -> str:
    """``dsn`` without its password (in the authority part or a ``password=`` parameter)."""
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return re.sub(r"(?i)password=\S*", "password=***", dsn)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{hostinfo}" if user else hostinfo
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
         if k.lower() != "password"],
        safe="/",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def with_database(dsn: str, database: str) -> str:
    """``dsn`` pointing at another database of the same server."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def database_of(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


def target_for(settings: PostgresSettings, dsn: str | None = None) -> Target:
    """The server ``settings`` name (``dsn`` overrides, e.g. an embedded server's)."""
    dsn = dsn if dsn is not None else settings.dsn
    if not dsn:
        raise ConfigError(
            "storage.postgres.dsn is not set, and storage.postgres.embedded is false",
            hint="set storage.postgres.dsn (or AGENT_BRAIN_POSTGRES_DSN) to a libpq URI such "
            "as postgresql://user@localhost:5432/agent_brain, or set "
            "storage.postgres.embedded: true to start a local server",
        )
    if not dsn.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f"storage.postgres.dsn must be a postgresql:// URI, got {redact(dsn)!r}",
            hint="write it as postgresql://user@host:5432/database?sslmode=require",
        )
    password = None
    if settings.password_env and not urlsplit(dsn).password:
        password = os.environ.get(settings.password_env) or None
    return Target(dsn=dsn, password=password, label=redact(dsn))


def unavailable(exc: BaseException, target: Target, doing: str = "connect to") -> Exception:
    """The typed error for a failure to reach or log in to the server."""
    if isinstance(exc, asyncpg.InvalidPasswordError
                  | asyncpg.InvalidAuthorizationSpecificationError):
        return BackendUnavailableError(
            f"PostgreSQL at {target.label} refused the login: {exc}",
            hint="check the user in storage.postgres.dsn and export the password in the "
            "variable named by storage.postgres.password_env (PGPASSWORD by default)",
        )
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return BackendUnavailableError(
            f"cannot {doing} PostgreSQL at {target.label}: {exc}",
            hint=f"create the database first (createdb {database_of(target.dsn) or '<name>'}),"
            " or point storage.postgres.dsn at an existing one",
        )
    if isinstance(exc, asyncpg.ClientConfigurationError | ValueError):
        return ConfigError(
            f"storage.postgres.dsn {target.label!r} is not a usable DSN: {exc}",
            hint="write it as postgresql://user@host:5432/database?sslmode=require",
        )
    reason = str(exc) or type(exc).__name__
    return BackendUnavailableError(f"cannot {doing} PostgreSQL at {target.label}: {reason}",
                                   hint=_HINT)


CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InvalidPasswordError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ClientConfigurationError,
    asyncpg.InterfaceError,
    ValueError,
)


RUNTIME_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InterfaceError,
)
"""Failures of an open pool that mean the server went away, refused more clients, or did
not answer within ``storage.postgres.pool.command_timeout``."""


def lost(exc: BaseException, target: Target) -> BackendUnavailableError:
    """The typed error for a failure of an open pool (see :data:`RUNTIME_ERRORS`)."""
    if isinstance(exc, TimeoutError):
        return BackendUnavailableError(
            f"PostgreSQL at {target.label} did not answer within the command timeout",
            hint="raise storage.postgres.pool.command_timeout, or check the server's load",
        )
    reason = str(exc) or type(exc).__name__
    return BackendUnavailableError(f"lost PostgreSQL at {target.label}: {reason}", hint=_HINT)


async def connect(target: Target, **kwargs: Any) -> asyncpg.Connection:
    """One connection (for schema work and checks), or a BackendUnavailableError."""
    try:
        connection: asyncpg.Connection = await asyncpg.connect(
            target.dsn, timeout=CONNECT_TIMEOUT, **target.connect_kwargs(), **kwargs
        )
    except CONNECTION_ERRORS as exc:
        raise unavailable(exc, target) from exc
    return connection


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]
    """A pool connection released without asyncpg's reset query.

    The default reset (``CLOSE ALL; UNLISTEN *; RESET ALL; pg_advisory_unlock_all()``) is one
    more round trip on every release: a fifth of a vector search at 10k chunks. Nothing here
    leaves session state to reset: settings are ``SET LOCAL``, temporary tables are
    ``ON COMMIT DROP``, the schema's advisory lock is taken on a connection of its own, and
    nothing listens or keeps cursors. An open transaction is still rolled back on release
    (asyncpg does that before asking for the reset query).
    """

    def get_reset_query(self) -> str:
        return ""


async def create_pool(target: Target, settings: PostgresSettings, vector_schema: str
                      ) -> asyncpg.Pool:
    """The backend's pool: every connection decodes ``vector`` with pgvector's codec and
    ``jsonb`` with ``json.loads``, and sees the schema holding the ``vector`` type."""

    async def init(connection: asyncpg.Connection) -> None:
        await register_vector(connection, schema=vector_schema)
        await connection.set_type_codec(
            "jsonb", schema="pg_catalog", encoder=_jsonb_encode, decoder=_jsonb_decode,
            format="binary",
        )

    search_path = "public" if vector_schema == "public" else (
        'public, "' + vector_schema.replace('"', '""') + '"'
    )
    try:
        pool: asyncpg.Pool = await asyncpg.create_pool(
            target.dsn,
            min_size=min(settings.pool.min_size, settings.pool.max_size),
            max_size=settings.pool.max_size,
            command_timeout=settings.pool.command_timeout,
            timeout=CONNECT_TIMEOUT,
            init=init,
            connection_class=PooledConnection,
            server_settings={"application_name": "agent-brain", "search_path": search_path},
            **target.connect_kwargs(),
        )
    except CONNECTION_ERRORS as exc:
        raise unavailable(exc, target) from exc
    return pool


def _jsonb_encode(value: str) -> bytes:
    """JSON text (see :mod:`.codec`) in ``jsonb``'s binary format (version byte 1)."""
    return b"\x01" + value.encode("utf-8")


def _jsonb_decode(data: bytes) -> Any:
    return json.loads(data[1:])


@asynccontextmanager
async def open_target(config: AgentBrainConfig) -> AsyncIterator[Target]:
    """The configured server for a one-off job (``agent-brain db ...``): the DSN, or the
    embedded server started for the duration of the block."""
    settings = config.storage.postgres
    if not settings.embedded:
        yield target_for(settings)
        return
    from agent_brain.backends.postgres import embedded

    server = await embedded.acquire(settings.data_dir)
    try:
        yield Target(dsn=server.dsn, label=server.label)
    finally:
        await embedded.release(server)
