"""``PGBackend``: :class:`~agent_brain.protocol.StorageBackendProtocol` on PostgreSQL +
pgvector, through an asyncpg pool.

This module orchestrates: it validates every argument first (namespace, ``top_k``,
filters, chunks), opens the right transaction, and turns rows into results. The SQL lives in
one module per job: :mod:`.schema` (Alembic, store record), :mod:`.namespaces`,
:mod:`.writes` and :mod:`.stats` (upsert/delete and BM25 statistics), :mod:`.vectors`,
:mod:`.bm25`, :mod:`.filters`; the connection plumbing in :mod:`.pool` and
:mod:`.embedded`. Design notes and measurements: ``docs/postgres.md``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

import asyncpg

from agent_brain.backends.postgres import bm25, embedded, namespaces, schema, vectors, writes
from agent_brain.backends.postgres.codec import load_metadata, vector_to_list, without_surrogates
from agent_brain.backends.postgres.filters import Params, compile_filter
from agent_brain.backends.postgres.names import NAMESPACES, SCHEMA, VERSION_TABLE
from agent_brain.backends.postgres.pool import (
    RUNTIME_ERRORS,
    Target,
    create_pool,
    lost,
    target_for,
)
from agent_brain.config import AgentBrainConfig
from agent_brain.errors import BackendUnavailableError, InvalidInputError
from agent_brain.filters import parse_filter
from agent_brain.filters.tree import FilterNode
from agent_brain.protocol import Filters
from agent_brain.types import Capabilities, Chunk, NamespaceInfo, SearchResult, StoreInfo
from agent_brain.validation import (
    NOTHING_WRITTEN,
    check_delete,
    check_ids,
    check_limit_offset,
    check_namespace,
    check_query_embedding,
    check_query_text,
    check_top_k,
    validate_chunks,
)

CLOSE_TIMEOUT = 10.0
"""Seconds ``close()`` waits for connections in use before terminating them."""


NAMESPACE_TTL = 1.0
"""Seconds a vector search trusts a namespace's remembered state (see
:meth:`PGBackend._search_namespace`); bounds how long another process's writes can keep it
on a slower path."""


class PGBackend:
    """PostgreSQL + pgvector backend. Build it with :func:`agent_brain.create_backend`."""

    exact_scan_max_vectors: int = 2_000
    """Namespaces with at most this many vectors are searched exactly (no index)."""

    def __init__(self, config: AgentBrainConfig) -> None:
        self.config = config
        self._settings = config.storage.postgres
        self._pool: asyncpg.Pool | None = None
        self._target: Target | None = None
        self._embedded: embedded.EmbeddedServer | None = None
        self._open_lock = asyncio.Lock()
        self._iterative_scan = False
        self._versions: dict[str, str] = {}
        self._indexed: dict[str, tuple[float, namespaces.Namespace]] = {}
        """Namespaces big enough for index scans, as last seen, for vector searches to skip
        the lookup (see :meth:`_search_namespace`)."""
        self._capabilities = Capabilities(
            name="postgres",
            persistent=True,
            transactional_writes=True,
            concurrent_processes=True,
            vector_index=self._settings.index.kind,
        )

    # ------------------------------------------------------------------ lifecycle
    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    async def initialize(self) -> None:
        async with self._open_lock:
            if self._pool is not None:
                return
            server: embedded.EmbeddedServer | None = None
            pool: asyncpg.Pool | None = None
            try:
                if self._settings.embedded:
                    server = await embedded.acquire(self._settings.data_dir)
                    target = Target(dsn=server.dsn, label=server.label)
                else:
                    target = target_for(self._settings)
                vector_schema = await schema.ensure_schema(target)
                pool = await create_pool(target, self._settings, vector_schema)
                async with pool.acquire() as connection:
                    await self._check_store(connection, target)
            except BaseException:
                if pool is not None:
                    await pool.close()
                if server is not None:
                    await embedded.release(server)
                raise
            self._pool, self._target, self._embedded = pool, target, server

    async def _check_store(self, connection: asyncpg.Connection, target: Target) -> None:
        await schema.check_text_search_config(connection, self._settings.text_search_config)
        record = await schema.read_record(connection)
        schema.check_record(record, self.config, target.label)
        row = await connection.fetchrow(
            "SELECT current_setting('server_version'), "
            "(SELECT extversion FROM pg_extension WHERE extname = 'vector')"
        )
        assert row is not None
        self._versions = {"server": row[0], "pgvector": row[1]}
        self._iterative_scan = schema.version_tuple(row[1]) >= (0, 8, 0)

    async def close(self) -> None:
        async with self._open_lock:
            pool, server = self._pool, self._embedded
            self._pool, self._embedded = None, None
            self._indexed.clear()
            try:
                if pool is not None:
                    try:
                        await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT)
                    except TimeoutError:
                        pool.terminate()
            finally:
                if server is not None:
                    await embedded.release(server)

    async def __aenter__(self) -> Self:
        await self.initialize()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        pool, target = self._pool, self._target
        if pool is None or target is None:
            raise BackendUnavailableError(
                "the postgres backend is not open",
                hint="await backend.initialize() (or use 'async with backend:') first",
            )
        try:
            async with pool.acquire() as connection:
                yield connection
        except RUNTIME_ERRORS as exc:
            raise lost(exc, target) from exc

    def _search_namespace(self, name: str) -> namespaces.Namespace | None:
        """The remembered state of namespace ``name`` if seen within ``NAMESPACE_TTL``.

        Only namespaces searched through their vector index are remembered: a vector search
        then needs no lookup round trip (a tenth of its time at 10k chunks). What may be
        stale is harmless: this process forgets a namespace when it writes it; another
        process's writes can change the counts, which only choose between the index scan
        and the exact fallback (a short index scan still falls back), and a reset drops the
        tables (the search looks the namespace up again).
        """
        entry = self._indexed.get(name)
        if entry is None or time.monotonic() - entry[0] > NAMESPACE_TTL:
            return None
        return entry[1]

    def _remember(self, name: str, ns: namespaces.Namespace) -> None:
        if ns.vector_index is not None and ns.n_vectors > self.exact_scan_max_vectors:
            self._indexed[name] = (time.monotonic(), ns)
        else:
            self._indexed.pop(name, None)

    # ------------------------------------------------------------------ writes
    async def upsert(self, chunks: Sequence[Chunk], namespace: str = "default") -> int:
        check_namespace(namespace)
        batch = validate_chunks(chunks, self.config.embedding.dimension)
        rows = writes.records(batch)
        if not rows:
            return 0
        try:
            async with self._connection() as connection, connection.transaction():
                ns = await namespaces.lock_for_write(connection, namespace)
                await schema.record_first_write(connection, self.config, self._location())
                await writes.upsert(
                    connection, ns, rows, self._settings.text_search_config,
                    self.config.embedding.dimension, self._settings.index,
                )
        except asyncpg.ProgramLimitExceededError as exc:
            longest = max(range(len(rows)), key=lambda i: len(rows[i][1]))
            raise InvalidInputError(
                f"PostgreSQL cannot index a chunk of this batch: {exc} (the longest text is "
                f"chunks[{longest}], {len(rows[longest][1])} characters) {NOTHING_WRITTEN}",
                hint="split very long texts into smaller chunks; a tsvector holds at most "
                "1 MB of lexemes",
            ) from exc
        finally:
            self._indexed.pop(namespace, None)
        return len(rows)

    async def delete(
        self,
        ids: Sequence[str] | None = None,
        namespace: str = "default",
        filters: Filters | None = None,
    ) -> int:
        check_namespace(namespace)
        node, wanted = check_delete(ids, filters, namespace)
        if wanted is not None and not wanted:
            return 0
        params = Params(1)
        where = self._where(node, params, wanted)
        try:
            async with self._connection() as connection, connection.transaction():
                ns = await namespaces.lock_existing(connection, namespace)
                if ns is None or ns.n_docs == 0:
                    return 0
                return await writes.delete(connection, ns, where, params.values)
        finally:
            self._indexed.pop(namespace, None)

    async def reset(self, namespace: str = "default") -> None:
        check_namespace(namespace)
        try:
            async with self._connection() as connection, connection.transaction():
                ns = await namespaces.lock_existing(connection, namespace)
                if ns is not None:
                    await namespaces.delete(connection, ns)
        finally:
            self._indexed.pop(namespace, None)

    # ------------------------------------------------------------------ searches
    async def vector_search(
        self,
        embedding: Sequence[float],
        top_k: int = 10,
        namespace: str = "default",
        filters: Filters | None = None,
    ) -> list[SearchResult]:
        check_namespace(namespace)
        check_top_k(top_k, self._capabilities.max_top_k)
        node = parse_filter(filters)
        query = check_query_embedding(embedding, self.config.embedding.dimension)
        params = Params(3)
        where = compile_filter(node, params)
        settings = vectors.query_settings(self._settings.index, top_k, self._iterative_scan,
                                          node is not None)
        for attempt in range(2):
            known = self._search_namespace(namespace) if attempt == 0 else None
            async with self._connection() as connection, connection.transaction(readonly=True):
                if known is not None:
                    await vectors.apply_settings(connection, settings)
                    ns = known
                else:
                    found = await namespaces.find(connection, namespace, settings)
                    if found is None:
                        return []
                    ns = found
                    self._remember(namespace, ns)
                try:
                    rows = await vectors.search(
                        connection, ns, query, top_k, where, params.values,
                        dimension=self.config.embedding.dimension,
                        index=self._settings.index,
                        exact_below=self.exact_scan_max_vectors,
                        iterative=self._iterative_scan,
                        filtered=node is not None,
                    )
                except asyncpg.UndefinedTableError:
                    # The namespace was reset since we looked it up (or since it was
                    # remembered: look again).
                    self._indexed.pop(namespace, None)
                    if known is None:
                        return []
                    continue
            break
        results = []
        for rank, row in enumerate(rows, start=1):
            value = vectors.score(float(row["distance"]))
            results.append(SearchResult(
                id=row["id"], text=row["text"], metadata=load_metadata(row["metadata"]),
                score=value, rank=rank, vector_score=value, vector_rank=rank,
            ))
        return results

    async def keyword_search(
        self,
        query: str,
        top_k: int = 10,
        namespace: str = "default",
        filters: Filters | None = None,
    ) -> list[SearchResult]:
        check_namespace(namespace)
        check_top_k(top_k, self._capabilities.max_top_k)
        node = parse_filter(filters)
        text = without_surrogates(check_query_text(query))
        params = Params(9)
        where = None if node is None else compile_filter(node, params)
        keyword = self.config.keyword
        async with self._connection() as connection, connection.transaction(
            isolation="repeatable_read", readonly=True
        ):
            ns = await namespaces.find(connection, namespace)
            if ns is None or ns.n_docs == 0:
                return []
            terms = await bm25.analyze(connection, text, self._settings.text_search_config)
            if not terms:
                return []
            try:
                plan = await bm25.plan(connection, ns, terms, keyword)
                if plan is None:
                    return []
                rows = await bm25.search(connection, ns, plan, top_k, keyword, where,
                                         params.values)
            except asyncpg.UndefinedTableError:
                return []  # the namespace was reset while we looked it up
        results = []
        for rank, row in enumerate(rows, start=1):
            value = bm25.normalized(float(row["score"]), plan.max_score)
            results.append(SearchResult(
                id=row["id"], text=row["text"], metadata=load_metadata(row["metadata"]),
                score=value, rank=rank, keyword_score=value, keyword_rank=rank,
            ))
        return results

    # ------------------------------------------------------------------ reads
    async def get(
        self,
        ids: Sequence[str] | None = None,
        namespace: str = "default",
        filters: Filters | None = None,
        limit: int | None = None,
        offset: int = 0,
        include_embeddings: bool = True,
    ) -> list[Chunk]:
        check_namespace(namespace)
        node = parse_filter(filters)
        limit, offset = check_limit_offset(limit, offset)
        wanted = None if ids is None else list(dict.fromkeys(check_ids(ids)))
        if (wanted is not None and not wanted) or limit == 0:
            return []
        params = Params(1)
        where = self._where(node, params, wanted)
        columns = "c.id, c.text, c.metadata" + (", c.embedding" if include_embeddings else "")
        async with self._connection() as connection, connection.transaction(readonly=True):
            ns = await namespaces.find(connection, namespace)
            if ns is None:
                return []
            sql = (f"SELECT {columns} FROM {ns.table('chunks')} c "
                   f"WHERE c.namespace_id = {ns.id} AND {where}")
            if wanted is None:
                sql += " ORDER BY c.id"
                if limit is not None:
                    sql += f" LIMIT {params.add(limit)}"
                if offset:
                    sql += f" OFFSET {params.add(offset)}"
            try:
                rows = await connection.fetch(sql, *params.values)
            except asyncpg.UndefinedTableError:
                return []
        chunks = [
            Chunk(row["id"], row["text"],
                  vector_to_list(row["embedding"])
                  if include_embeddings and row["embedding"] is not None else None,
                  load_metadata(row["metadata"]))
            for row in rows
        ]
        if wanted is None:
            return chunks
        by_id = {c.id: c for c in chunks}
        ordered = [by_id[i] for i in wanted if i in by_id][offset:]
        return ordered if limit is None else ordered[:limit]

    async def count(self, namespace: str = "default", filters: Filters | None = None) -> int:
        check_namespace(namespace)
        node = parse_filter(filters)
        params = Params(1)
        where = compile_filter(node, params)
        async with self._connection() as connection, connection.transaction(readonly=True):
            ns = await namespaces.find(connection, namespace)
            if ns is None:
                return 0
            if node is None:
                return ns.n_docs
            try:
                counted: int = await connection.fetchval(
                    f"SELECT count(*) FROM {ns.table('chunks')} c "
                    f"WHERE c.namespace_id = {ns.id} AND {where}",
                    *params.values,
                )
            except asyncpg.UndefinedTableError:
                return 0
            return counted

    async def namespaces(self) -> list[str]:
        async with self._connection() as connection:
            rows = await connection.fetch(
                f"SELECT name FROM {NAMESPACES} WHERE n_docs > 0 ORDER BY name"
            )
        return [r[0] for r in rows]

    async def info(self) -> StoreInfo:
        async with self._connection() as connection, connection.transaction(readonly=True):
            record = await schema.read_record(connection)
            rows = await connection.fetch(
                f"SELECT name, n_docs, n_vectors, vector_index FROM {NAMESPACES} "
                "WHERE n_docs > 0 ORDER BY name"
            )
            revision = await connection.fetchval(
                f"SELECT version_num FROM {SCHEMA}.{VERSION_TABLE} LIMIT 1"
            )
            indexes = await connection.fetch(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n "
                "ON n.oid = t.relnamespace WHERE n.nspname = $1 AND t.relkind = 'p'",
                SCHEMA,
            )
        index = self._settings.index
        settings: dict[str, Any] = {
            "server_version": self._versions.get("server"),
            "pgvector_version": self._versions.get("pgvector"),
            "schema_revision": revision,
            "vector_index": writes.index_label(index),
            "index": index.model_dump(),
            "namespace_vector_indexes": {r["name"]: r["vector_index"] for r in rows},
            "indexes": {r[0]: True for r in indexes},
            "pool": self._settings.pool.model_dump(),
            "embedded": self._settings.embedded,
        }
        if self._settings.embedded:
            settings["data_dir"] = self._settings.data_dir
        return StoreInfo(
            backend="postgres",
            location=self._location(),
            embedding_model=record.embedding_model,
            embedding_dimension=record.embedding_dimension,
            distance=record.distance or self.config.embedding.distance,
            text_search_config=record.text_search_config or self._settings.text_search_config,
            namespaces=tuple(NamespaceInfo(r["name"], int(r["n_docs"]), int(r["n_vectors"]))
                             for r in rows),
            settings=settings,
        )

    # ------------------------------------------------------------------ helpers
    def _location(self) -> str:
        return self._target.label if self._target is not None else "(not open)"

    @staticmethod
    def _where(node: FilterNode | None, params: Params, ids: list[str] | None) -> str:
        where = compile_filter(node, params)
        if ids is not None:
            where = f"(c.id = ANY({params.add(ids)}::text[]) AND {where})"
        return where

    def __repr__(self) -> str:
        state = "open" if self._pool is not None else "closed"
        return f"<PGBackend {self._location()} {state}>"

