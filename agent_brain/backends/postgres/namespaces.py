"""Namespaces: the ``namespaces`` row (id, counters) and the per-namespace partitions.

A namespace's row is its lock: every write takes ``FOR NO KEY UPDATE`` on it first, so
writers to one namespace serialize (its BM25 statistics stay exact) while writers to
different namespaces never wait for each other. Partitions are created by a namespace's
first write (standalone tables, filled, indexed, then attached; see
:mod:`~agent_brain.backends.postgres.writes`) and dropped by ``reset``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from agent_brain.backends.postgres.local_settings import set_config_args, set_config_sql
from agent_brain.backends.postgres.names import NAMESPACES, PARTITIONED, partition


@dataclass(frozen=True, slots=True)
class Namespace:
    id: int
    name: str
    n_docs: int
    n_vectors: int
    total_length: int
    vector_index: str | None
    has_partitions: bool = True
    """False for a namespace created by the current transaction (no partitions yet)."""

    def table(self, name: str) -> str:
        return partition(name, self.id)


_COLUMNS = "id, name, n_docs, n_vectors, total_length, vector_index"


def _namespace(row: asyncpg.Record, has_partitions: bool = True) -> Namespace:
    return Namespace(row["id"], row["name"], row["n_docs"], row["n_vectors"],
                     row["total_length"], row["vector_index"], has_partitions)


async def find(connection: asyncpg.Connection, name: str,
               settings: Sequence[tuple[str, str]] = ()) -> Namespace | None:
    """The committed namespace called ``name`` (``None`` if it has never been written).

    ``settings``: ``(name, value)`` pairs to ``SET LOCAL`` in the same round trip (a search
    needs both before its query; one statement instead of two saves ~0.1 ms a search, a
    tenth of a vector search at 10k chunks). They are applied only when the namespace
    exists, which is the only case in which a query follows.
    """
    applied = f", {set_config_sql(settings, 2)}" if settings else ""
    row = await connection.fetchrow(
        f"SELECT {_COLUMNS}{applied} FROM {NAMESPACES} WHERE name = $1",
        name, *set_config_args(settings),
    )
    return None if row is None else _namespace(row)


async def lock_for_write(connection: asyncpg.Connection, name: str) -> Namespace:
    """Inside a transaction: lock ``name``'s row, creating it if needed. A reset that
    deletes the row while we wait makes us create a fresh one."""
    while True:
        row = await connection.fetchrow(
            f"SELECT {_COLUMNS} FROM {NAMESPACES} WHERE name = $1 FOR NO KEY UPDATE", name
        )
        if row is not None:
            return _namespace(row)
        row = await connection.fetchrow(
            f"INSERT INTO {NAMESPACES} (name) VALUES ($1) ON CONFLICT (name) DO NOTHING "
            f"RETURNING {_COLUMNS}",
            name,
        )
        if row is not None:
            return _namespace(row, has_partitions=False)


async def lock_existing(connection: asyncpg.Connection, name: str) -> Namespace | None:
    """Inside a transaction: lock ``name``'s row if it exists (deletes, resets)."""
    row = await connection.fetchrow(
        f"SELECT {_COLUMNS} FROM {NAMESPACES} WHERE name = $1 FOR UPDATE", name
    )
    return None if row is None else _namespace(row)


async def drop_partitions(connection: asyncpg.Connection, namespace: Namespace) -> None:
    """Drop the namespace's partitions (its chunks, postings and term statistics)."""
    for table in PARTITIONED:
        await connection.execute(f"DROP TABLE IF EXISTS {namespace.table(table)}")


async def delete(connection: asyncpg.Connection, namespace: Namespace) -> None:
    """Drop everything of ``namespace`` (its row, statistics and partitions)."""
    await drop_partitions(connection, namespace)
    await connection.execute(f"DELETE FROM {NAMESPACES} WHERE id = $1", namespace.id)

